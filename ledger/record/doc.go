// Package record is the wire format of the ledger's event log: the signed,
// hash-chained records a device appends when it admits, lets out, overrides,
// voids or sells, and the hybrid logical clock that stamps them.
//
// Each record names its origin device's key, its place in that origin's log
// (1, 2, 3, … without gaps), the hash of the origin's previous record and a
// timestamp, and is signed with the origin's device key. Anyone can check a
// record with the origin's certificate alone, so records may be relayed by
// peers that are not trusted.
//
// It is pure code: no I/O, no clock reads (the clock is passed in), no
// storage. Central imports it to verify what devices upload.
package record
