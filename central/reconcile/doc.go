// Package reconcile finds, in the merged records of each ticket, what the
// venue's gates could not see while they were cut off from each other and
// from central: the conflicts ops must resolve.
//
// Central feeds it the records devices uploaded, one ticket at a time (a
// store reads them ticket by ticket, so memory holds one ticket's records
// however many there are), and the manifest's facts: ticket types and their
// rules, events, the venue's time zone, and revoked tickets and devices with
// the time each revocation takes effect. Out come Conflict values:
//
//   - double_entry: the rule refuses a passage given the others (one ticket
//     entered at two gates that could not see each other); rule_broken: the
//     same for another rule (too_soon, not_inside, expired, …). Both come
//     from ledger/replay, the very code a gate runs when logs merge, so
//     central and the gates find the same conflicts;
//   - revoked_ticket: an entry on a ticket at or after its revocation;
//   - voided_ticket: an entry at or after a seller voided the ticket's sale;
//   - revoked_device: records a device stamped at or after its revocation;
//     they are left out of everything else, as a peer refuses them;
//   - fork: two different records at one place of an origin's log.
//
// Each Conflict names its records and has an ID that depends only on what
// it is about, so reconciling again finds the same IDs and a store records
// each conflict once. Resolution is what ops decided (confirm, flag,
// refund), by whom and when; this package checks it and leaves storing it
// and acting on it to central.
//
// The same records give the same conflicts, in the same order, whatever
// order they arrive in. Overrides and annulled entries are never conflicts
// (see docs/reconciliation.md).
//
// It is pure code: no I/O, no storage, no network, no clock reads. It does
// not verify signatures: records reach it from central's intake, which
// verified them.
package reconcile
