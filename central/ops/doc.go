// Package ops serves the ops screens under /ops/ on central/web's layout:
// login; the venue live (devices, entries per gate per minute as an inline
// SVG chart, occupancy by zone, refusals by reason, conflicts), refreshed
// by a poll of /ops/live.json; events, zones and gates, ticket types with
// their entry rules; tickets (search, issue, revoke); devices (enroll with
// the setup QR, revoke); conflicts with their resolve actions; the audit
// log. One file per screen.
//
// It changes nothing itself: every change goes through central/catalog or
// central/devices, which check it, store it, sign it into the venue's
// manifest and write the audit log in one transaction. Every route names
// the staff roles that may use it (Routes lists them for the test that
// walks them), every form checks its session's CSRF token, and the auditor
// sees everything and changes nothing. It imports no device package: the
// setup QR's renderer is handed in (Config.QR).
package ops
