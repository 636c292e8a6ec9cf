// Package decision is the answer a gate gives to a scan, as the device API
// serves it and as scripts, the simulator, central and the on-device UI read
// it: the result, the reason, the ticket as the screen shows it, and the
// passage that made a scan fail.
//
// It is pure data: no storage, no I/O, no clock. A client of the device API
// imports it without dragging the ledger (and Badger) along.
package decision
