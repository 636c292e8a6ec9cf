// Package catalog is what central sells and admits: venues with their
// zones and gates, events, ticket types with their entry rules, tickets and
// revocations. Every change a device needs becomes a change of its venue's
// manifest, numbered by the store and signed here with central's key; a
// change that would repeat what the venue's manifest already says is not
// made, so importing one venue description twice signs nothing new.
//
// It never holds the organizer's root key for anything but what keyfile
// does with it, and never speaks to a device: the uplink serves what it
// signed.
package catalog
