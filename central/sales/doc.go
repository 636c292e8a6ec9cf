// Package sales turns what seller handhelds recorded offline into central's
// accounts, once their records arrive through intake: each sale receipt
// becomes an order (channel "seller") with its payment, each ticket sold a
// row of central's ticket table, each void a refund and a signed revoke
// change (so a gate that never saw the void refuses the ticket), and each
// shift a cash report per seller and day, recomputed from its records with
// package pricing's shift arithmetic, the same as the handheld's.
//
// Every money record is read once: its (origin, sequence) is kept, so an
// upload repeated, or read by two central processes at once, changes
// nothing. A serial sold twice (a cloned handheld, overlapping blocks) is a
// double_sale conflict, found by package reconcile over the ticket's
// records and naming the devices.
//
// It reads records only from the store, verified already; it signs nothing
// but revocations and never talks to a device.
package sales
