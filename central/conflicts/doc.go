// Package conflicts runs reconciliation at central and keeps its findings:
// it builds each venue's facts from the manifest central signed, feeds
// central/reconcile the records the store holds of a ticket, stores the
// conflicts found (one row per conflict ID, replaced as records arrive,
// closed when no longer found) and records ops' resolutions with who and
// when, in the audit log too.
//
// It runs when records arrive (the intake hands it the tickets it stored
// records of) and in a pass over every ticket (after a revocation, on a
// timer, on request). It keeps nothing in memory that the database does not
// say: a venue's facts are a cache of its manifest, read again from the
// last change applied whenever the manifest grew, so any number of central
// processes may reconcile the same tickets and agree. The store serializes
// the passes over one ticket, and each reads the ticket's records inside its
// own transaction, so the last pass sees every record.
//
// It never decides a gate's answer and never changes a record: the log is
// the truth of what the gates did, a resolution what ops made of it.
package conflicts
