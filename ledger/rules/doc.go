// Package rules holds the entry rules of ticket types and decides, for one
// scan, whether a ticket's rule lets it pass given the ticket's earlier
// passages. A gate's ledger calls Evaluate inside its scan transaction;
// central calls Replay over merged logs to find the passages that a rule
// broken only by the merge let through (one ticket entering at two gates
// that could not see each other).
//
// It is pure code: no I/O, no storage, no clock reads (the scan's time is
// in the Context), and it imports nothing of tixgate but ticket. A gate and
// central run the very same code, so they agree on every decision. It must
// never panic, whatever the rule or the history: what Validate would reject
// is evaluated fail-closed (a window or condition that cannot be read never
// holds).
//
// # Order of the checks
//
// Evaluate answers with the first check that fails, in an order chosen so a
// gate shows the most useful reason:
//
//  1. gates: the scan's gate is not among Gates → wrong_gate
//  2. dates, then weekdays, local to the venue → wrong_day
//  3. windows: the scan is in none of them → outside_hours
//  4. max_minutes_after_first: the first entry is too long ago → expired
//  5. state and counts: an entry while inside (reentry), a single-entry
//     ticket used before, max_entries, max_entries_per_day, max_days
//     → already_used
//  6. min_minutes_between: the last entry is too recent → too_soon
//  7. when: the condition does not hold → not_allowed
//
// An exit (Direction out) is checked against gates and then only against the
// inside state: it is refused not_inside unless the ticket's latest passage
// is an entry. Exits count nothing and are not bound to days or windows.
//
// # Modes
//
// The zero Rule is a single-entry ticket: one entry ever; an exit is allowed
// after that entry but does not allow another entry. Reentry allows an entry
// after each exit (an entry while inside is already_used). MultiEntry allows
// entries without exits. MaxEntries, MaxEntriesPerDay and MaxDays bound the
// entries of the last two modes; 0 leaves that bound out.
//
// # Time
//
// Days, weekdays, dates and times of day are those of the venue's wall clock
// (Context.Location), so a day may last 23 or 25 hours at a DST change.
// Every interval is closed at its start and open at its end, like a ticket's
// valid-from and valid-until: a window 09:00–17:00 admits 09:00:00 and
// refuses 17:00:00; min_minutes_between 10 admits exactly 10 minutes after
// the last entry; max_minutes_after_first 240 refuses from exactly 240
// minutes after the first entry.
//
// History may arrive in any order and may hold passages stamped later than
// the scan (a peer's clock running ahead): they count as earlier passages,
// and the time since them is taken as zero. "Latest", "first" and "last"
// use one total order: time, then gate, then origin device, then entries
// before exits. Overrides count like any other passage.
//
// # Minutes since an entry, when there is none
//
// As in pretix, minutes_since_last_entry and minutes_since_first_entry are
// -1 when the ticket has no entry yet, and compare as that number: with a
// value of 0 or more, <, <= and != hold, and ==, >=, > and in fail. So
// "minutes_since_last_entry >= 60" refuses a first entry (write it as any of
// that and "entries_number == 0"), while "minutes_since_first_entry < 180"
// admits one. Minutes are whole minutes, rounded down.
//
// # Examples
//
// A single-entry concert ticket, valid from the doors to the end:
//
//	{"windows": [{"from": "admission", "until": "event_end"}]}
//
// A 3-day festival pass: in and out as often as wanted on each festival day
// (an exit scan before each re-entry), on at most 3 days:
//
//	{"reentry": true, "max_days": 3, "dates": ["2026-07-10", "2026-07-11", "2026-07-12"]}
//
// A museum ticket, one entry on a weekday between 09:00 and 17:00:
//
//	{"weekdays": ["mon", "tue", "wed", "thu", "fri"], "windows": [{"from": "09:00", "until": "17:00"}]}
//
// Condition documents the "when" tree; ParseRule reads a rule strictly.
package rules
