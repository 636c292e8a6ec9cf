// Package ops serves the ops screens under /ops/ on central/web's layout:
// login, the venue's dashboard (devices with their last sync, records per
// gate, admissions, open conflicts), the conflicts with their resolve
// actions, and the devices. One file per screen. Every form checks its
// session's CSRF token, every change is in the audit log, and only the ops
// and admin roles resolve conflicts.
package ops
