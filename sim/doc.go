// Package sim runs a venue on one machine to see what a gate rush does
// while the network fails: a real central (SQLite) that issues the
// tickets, gates enrolled with it that pull its manifest and upload their
// records through the uplink, real ledgers on disk and a real mesh on
// loopback, attendees arriving on a curve, a share of bad tickets, and
// faults on a schedule (packet loss, mesh delay, a partition, a gate crash,
// a gate's ledger damaged and repaired from its peers, the uplink to
// central down). It reports what passed and what was refused, the double
// entries let through and when, the propagation and decision latencies,
// the queues at each gate, the conflicts the gates and central found, the
// records central holds and how long they took to get there, and anything
// lost.
//
// The clock is accelerated but honest: only the crowd runs on the
// scenario's time (arrivals, queues, the lanes' pace, the fault schedule),
// speed times faster than the wall clock. The gates, their ledgers and the
// mesh run on the wall clock, as they would at the venue, so propagation
// and decision latencies are real; a screenshot shown again 30 s later in
// the scenario reaches a gate 30/speed s later on the wall clock, so keep
// speed low enough that this stays well above the propagation time.
//
// The package also holds the demo's venue (StartDemo, `tixgate demo`):
// central, four gates and a seller on one machine, enrolled and synced the
// way real devices are, with a crowd (Demo.Crowd) and a story (Demo.Story)
// that drive them through their HTTP APIs. It never fakes a component:
// what the demo shows is what a venue runs.
package sim
