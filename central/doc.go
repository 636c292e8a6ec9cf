// Package central is the ops server: it wires the store, the catalog,
// device enrollment and record intake behind one HTTP handler — /healthz
// open, the ops API and the device uplink (package uplink's protocol) under
// /api/v1/, every request but enrollment and health authenticated — and
// runs it until its context ends, then drains and stops.
//
// Central keeps no state outside the database, so several processes may
// serve one PostgreSQL behind a load balancer. It never imports device code:
// it meets devices only through package uplink's wire types.
package central
