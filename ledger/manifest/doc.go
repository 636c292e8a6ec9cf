// Package manifest is what central tells the devices of a venue: the venue's
// zones and gates, its events, ticket types and their entry rules, known
// tickets, certificates and revocations, as a numbered stream of changes,
// each signed by central.
//
// Changes are numbered 1, 2, 3, … by central and applied in that order; each
// is signed with a key certified for the central role, and may carry that
// certificate, so a change relayed by an untrusted peer can still be checked
// by anyone who trusts the organizer's root key. The signature covers the
// change's body bytes exactly as they travel.
//
// It is pure code: no I/O, no storage. Central imports it to write changes,
// devices to check and read them.
package manifest
