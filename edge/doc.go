// Package edge is the appliance runtime: one Node ties a device's ledger to
// the venue mesh and serves the device's local API, so a gate decides scans
// from its own ledger and tells its peers at once.
//
// The local API needs a bearer token, made at first start in the device
// directory (api.token, mode 0600). Every request body is bounded and
// parsed strictly; the ledger verifies every code before anything is
// recorded. It must never let a scan through when the ledger could not
// record it.
//
// The node also serves the gate staff's web UI (web.go, live.go, web/):
// embedded pages behind a staff session, in Chinese and English; the scan
// screen sends camera frames to the same decision path every other input
// takes, and the status screen is fed by that path through a hub that
// never makes a scan wait for a screen. The UI shows a holder's name only
// on the answer to that holder's scan, never in logs or on the status
// screen.
package edge
