// Package ledger is a device's signed ticket ledger on Badger, and the scan
// decision made from it.
//
// A ledger holds the manifest central signed (venue, events, ticket types
// and their rules, known tickets, certificates, revocations), the event log
// (per origin device: records numbered 1, 2, 3, … without gaps, each
// hash-chained to its predecessor and signed by its origin), and indexes
// derived from the log: the records of each ticket, each origin's head (the
// version vector) and the conflicts found when logs merge. The log and the
// manifest changes are the truth; Reindex rebuilds everything else from them.
//
// Decide turns a scanned text into a decision and, when it admits, records
// it, in one transaction: a hundred goroutines scanning one ticket at one gate
// get exactly one ok. Ingest takes records from other devices, verifies them
// before storing anything, and holds out-of-order arrivals until their gap
// fills.
//
// It is the only package that imports Badger. It never reads the network;
// it never trusts a byte it did not verify.
package ledger
