package manifest

// ExampleVenue is a small arena, as a venue description for ParseSpec: a
// floor (gates G1-G3) and a balcony (B1), one concert (event 1042), and
// three ticket types: 1 standing, single entry; 2 balcony; 3 standing with
// re-entry. The demo runs it, and tests build on it; its event's times are
// placeholders that both move to the time they run.
const ExampleVenue = `
venue: arena
time_zone: Europe/Berlin
zones:
  - {id: 0, name: Floor}
  - {id: 1, name: Balcony}
gates:
  - {name: G1, zone: 0}
  - {name: G2, zone: 0}
  - {name: G3, zone: 0}
  - {name: B1, zone: 1}
events:
  - {id: 1042, name: Summer Concert, starts: 2026-06-12T18:00:00Z, ends: 2026-06-12T23:30:00Z}
ticket_types:
  - {event: 1042, id: 1, name: Standing, zones: [0], share: 3}
  - {event: 1042, id: 2, name: Balcony, zones: [1]}
  - {event: 1042, id: 3, name: Standing with re-entry, zones: [0], rule: {reentry: true}}
`
