// Package replay reads one ticket's merged records — from every origin
// device — the way the entry rules see them, and finds the records a rule
// would have refused had their gate known every other record: one ticket
// admitted at two gates that could not see each other.
//
// A gate's ledger turns a ticket's records into passages with Passages
// before it evaluates a scan, and runs Ticket when logs merge; central runs
// Ticket over the records devices upload. Both read records through this one
// package, so they agree on what a record means:
//
//   - entries, exits and overrides are passages; sales, voids and annuls
//     are not;
//   - an entry an annul takes back (the turnstile opened, nobody passed) is
//     no passage at all;
//   - a passage's time is the record's hybrid logical clock: its wall clock
//     in milliseconds plus its counter as nanoseconds, so two passages of
//     one millisecond stay apart and in order;
//   - a passage's origin is the device name of the certificate valid at the
//     record's time (the key id when there is none): the rules break ties of
//     time and gate by it.
//
// It is pure code: no I/O, no storage, no clock reads.
package replay
