// Package edge is the appliance runtime: one Node ties a device's ledger to
// the venue mesh and serves the device's local API, so a gate decides scans
// from its own ledger and tells its peers at once.
//
// The local API needs a bearer token, made at first start in the device
// directory (api.token, mode 0600). Every request body is bounded and
// parsed strictly; the ledger verifies every code before anything is
// recorded. It must never let a scan through when the ledger could not
// record it.
package edge
