// Package cluster is the venue mesh: every device of a venue joins one
// memberlist cluster, encrypted with the venue's keyring, and passes on what
// its ledger learns, so one ticket cannot pass two gates.
//
// Dissemination: each new ledger record is pushed at once to every peer
// (eager push, one UDP packet each) and queued for memberlist's gossip,
// which piggybacks several records on a packet; receivers relay what is new
// to them (epidemic), so a packet lost on the way is made up by another
// path. Anti-entropy: push/pull exchanges version vectors (per origin, the
// highest record held without gaps) and manifest numbers; a node that lacks
// a range fetches it from a peer over a reliable stream. Nothing is lost to
// dropped packets, restarts or partitions.
//
// Trust: the keyring only keeps strangers off the wire. Every record and
// manifest change is verified by the ledger before it is stored, so a member
// with the keyring but without a certificate from the organizer's root
// cannot inject anything.
//
// It is the only package that imports memberlist. It never decides a scan
// and never stores anything itself: the ledger does.
package cluster
