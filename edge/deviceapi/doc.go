// Package deviceapi is the wire vocabulary of a device's local API: the
// bodies scripts, turnstile controllers, the simulator and the on-device UI
// send and read. It is pure data on top of ledger/decision: no storage, no
// I/O, no clock, so a client imports it without the ledger or Badger.
package deviceapi
