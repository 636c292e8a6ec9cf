package rules

import (
	"strings"
	"testing"

	"github.com/tixgate/tixgate/ticket"
)

// TestPretixVariables shows, for each variable and construct of pretix's
// check-in rules, the rule that says the same here, and scans it admits and
// refuses. The test event (scanIn) runs 2026-06-12 19:00–23:00 in Berlin,
// admission at 18:00; 2026-06-12 is a Friday.
func TestPretixVariables(t *testing.T) {
	type scan struct {
		name    string
		history []Passage
		scan    Context
		want    ticket.Reason
	}
	notAllowed := ticket.ReasonNotAllowed
	day1 := hist(entry("2026-06-12T18:00:00+02:00"), exit("2026-06-12T23:00:00+02:00"))
	day2 := append(day1[:2:2], entry("2026-06-13T18:00:00+02:00"), exit("2026-06-13T23:00:00+02:00"))
	cases := []struct {
		name   string
		pretix string // the pretix rule, in its JSON logic
		rule   string // the same here
		scans  []scan
	}{
		{
			name:   "entries_number",
			pretix: `{"<": [{"var": "entries_number"}, 3]}`,
			rule:   `{"multi_entry": true, "when": {"var": "entries_number", "op": "<", "value": 3}}`,
			scans: []scan{
				{"2 entries before", hist(entry("2026-06-12T18:00:00+02:00"), entry("2026-06-12T19:00:00+02:00")), scanIn("2026-06-12T20:00:00+02:00"), ok},
				{"3 entries before", hist(entry("2026-06-12T18:00:00+02:00"), entry("2026-06-12T19:00:00+02:00"), entry("2026-06-12T19:30:00+02:00")), scanIn("2026-06-12T20:00:00+02:00"), notAllowed},
			},
		},
		{
			name:   "entries_today",
			pretix: `{"<": [{"var": "entries_today"}, 1]}`,
			rule:   `{"multi_entry": true, "when": {"var": "entries_today", "op": "<", "value": 1}}`,
			scans: []scan{
				{"entered yesterday", hist(entry("2026-06-11T20:00:00+02:00")), scanIn("2026-06-12T18:00:00+02:00"), ok},
				{"entered today", hist(entry("2026-06-12T00:00:00+02:00")), scanIn("2026-06-12T18:00:00+02:00"), notAllowed},
			},
		},
		{
			name:   "entries_days: a 2-day pass",
			pretix: `{"or": [{"<": [{"var": "entries_days"}, 2]}, {">": [{"var": "entries_today"}, 0]}]}`,
			rule:   `{"reentry": true, "when": {"any": [{"var": "entries_days", "op": "<", "value": 2}, {"var": "entries_today", "op": ">", "value": 0}]}}`,
			scans: []scan{
				{"second day", day1, scanIn("2026-06-13T18:00:00+02:00"), ok},
				{"second day, again", day2, scanIn("2026-06-13T23:30:00+02:00"), ok},
				{"third day", day2, scanIn("2026-06-14T18:00:00+02:00"), notAllowed},
			},
		},
		{
			name:   "minutes_since_last_entry: 30 minutes between entries",
			pretix: `{"or": [{"==": [{"var": "minutes_since_last_entry"}, -1]}, {">=": [{"var": "minutes_since_last_entry"}, 30]}]}`,
			rule:   `{"multi_entry": true, "when": {"any": [{"var": "minutes_since_last_entry", "op": "==", "value": -1}, {"var": "minutes_since_last_entry", "op": ">=", "value": 30}]}}`,
			scans: []scan{
				{"first entry: -1", nil, scanIn("2026-06-12T19:00:00+02:00"), ok},
				{"29m59s after", hist(entry("2026-06-12T19:00:00+02:00")), scanIn("2026-06-12T19:29:59+02:00"), notAllowed},
				{"30m after", hist(entry("2026-06-12T19:00:00+02:00")), scanIn("2026-06-12T19:30:00+02:00"), ok},
			},
		},
		{
			name:   "minutes_since_last_entry: without an entry, >= fails",
			pretix: `{">=": [{"var": "minutes_since_last_entry"}, 30]}`,
			rule:   `{"multi_entry": true, "when": {"var": "minutes_since_last_entry", "op": ">=", "value": 30}}`,
			scans: []scan{
				{"first entry: -1 >= 30 fails", nil, scanIn("2026-06-12T19:00:00+02:00"), notAllowed},
				{"an exit is no entry", hist(exit("2026-06-12T18:00:00+02:00")), scanIn("2026-06-12T19:00:00+02:00"), notAllowed},
				{"30m after", hist(entry("2026-06-12T18:30:00+02:00")), scanIn("2026-06-12T19:00:00+02:00"), ok},
			},
		},
		{
			name:   "minutes_since_last_entry: without an entry, < and != hold",
			pretix: `{"and": [{"<": [{"var": "minutes_since_last_entry"}, 5]}, {"!=": [{"var": "minutes_since_last_entry"}, 2]}]}`,
			rule:   `{"multi_entry": true, "when": {"all": [{"var": "minutes_since_last_entry", "op": "<", "value": 5}, {"var": "minutes_since_last_entry", "op": "!=", "value": 2}]}}`,
			scans: []scan{
				{"first entry: -1 < 5 and -1 != 2", nil, scanIn("2026-06-12T19:00:00+02:00"), ok},
				{"2 minutes after", hist(entry("2026-06-12T18:58:00+02:00")), scanIn("2026-06-12T19:00:00+02:00"), notAllowed},
				{"5 minutes after", hist(entry("2026-06-12T18:55:00+02:00")), scanIn("2026-06-12T19:00:00+02:00"), notAllowed},
			},
		},
		{
			name:   "minutes_since_first_entry: valid 3 hours after the first entry",
			pretix: `{"<": [{"var": "minutes_since_first_entry"}, 180]}`,
			rule:   `{"multi_entry": true, "when": {"var": "minutes_since_first_entry", "op": "<", "value": 180}}`,
			scans: []scan{
				{"first entry: -1 < 180", nil, scanIn("2026-06-12T19:00:00+02:00"), ok},
				{"179m59s after", hist(entry("2026-06-12T18:00:00+02:00"), entry("2026-06-12T20:00:00+02:00")), scanIn("2026-06-12T20:59:59+02:00"), ok},
				{"180m after", hist(entry("2026-06-12T18:00:00+02:00"), entry("2026-06-12T20:00:00+02:00")), scanIn("2026-06-12T21:00:00+02:00"), notAllowed},
			},
		},
		{
			name:   "isAfter admission, tolerance 10 minutes",
			pretix: `{"isAfter": [{"var": "now"}, {"buildTime": ["date_admission"]}, 10]}`,
			rule:   `{"when": {"var": "now", "op": ">", "value": "admission-10"}}`,
			scans: []scan{
				{"17:50:00 is not after", nil, scanIn("2026-06-12T17:50:00+02:00"), notAllowed},
				{"17:50:01", nil, scanIn("2026-06-12T17:50:01+02:00"), ok},
			},
		},
		{
			name:   "isBefore date_to, tolerance 30 minutes",
			pretix: `{"isBefore": [{"var": "now"}, {"buildTime": ["date_to"]}, 30]}`,
			rule:   `{"when": {"var": "now", "op": "<", "value": "event_end+30"}}`,
			scans: []scan{
				{"23:29:59", nil, scanIn("2026-06-12T23:29:59+02:00"), ok},
				{"23:30:00 is not before", nil, scanIn("2026-06-12T23:30:00+02:00"), notAllowed},
			},
		},
		{
			name:   "isAfter date_from, no tolerance",
			pretix: `{"isAfter": [{"var": "now"}, {"buildTime": ["date_from"]}, null]}`,
			rule:   `{"when": {"var": "now", "op": ">", "value": "event_start"}}`,
			scans: []scan{
				{"at the start", nil, scanIn("2026-06-12T19:00:00+02:00"), notAllowed},
				{"after the start", nil, scanIn("2026-06-12T19:00:01+02:00"), ok},
			},
		},
		{
			name:   "isBefore a custom date and time",
			pretix: `{"isBefore": [{"var": "now"}, {"buildTime": ["custom", "2026-06-12T20:00:00+02:00"]}, null]}`,
			rule:   `{"when": {"var": "now", "op": "<", "value": "2026-06-12T20:00:00+02:00"}}`,
			scans: []scan{
				{"19:59:59", nil, scanIn("2026-06-12T19:59:59+02:00"), ok},
				{"20:00:00", nil, scanIn("2026-06-12T18:00:00Z"), notAllowed},
			},
		},
		{
			name:   "isAfter a custom time of day",
			pretix: `{"isAfter": [{"var": "now"}, {"buildTime": ["customtime", "14:00:00"]}, null]}`,
			rule:   `{"when": {"var": "now", "op": ">", "value": "14:00"}}`,
			scans: []scan{
				{"14:00:00 local", nil, scanIn("2026-06-13T14:00:00+02:00"), notAllowed},
				{"14:00:00.001 local", nil, scanIn("2026-06-13T14:00:00.001+02:00"), ok},
				{"13:00 local, 11:00 UTC", nil, scanIn("2026-06-13T11:00:00Z"), notAllowed},
			},
		},
		{
			name:   "weekday: weekends only",
			pretix: `{"inList": [{"var": "now_isoweekday"}, {"objectList": [6, 7]}]}`,
			rule:   `{"when": {"var": "weekday", "op": "in", "value": ["sat", "sun"]}}`,
			scans: []scan{
				{"friday", nil, scanIn("2026-06-12T19:00:00+02:00"), notAllowed},
				{"saturday", nil, scanIn("2026-06-13T19:00:00+02:00"), ok},
				{"saturday 00:30 in Berlin, friday in UTC", nil, scanIn("2026-06-12T22:30:00Z"), ok},
			},
		},
		{
			name:   "weekday: by number",
			pretix: `{"<=": [{"var": "now_isoweekday"}, 5]}`,
			rule:   `{"when": {"var": "weekday", "op": "<=", "value": 5}}`,
			scans: []scan{
				{"friday", nil, scanIn("2026-06-12T19:00:00+02:00"), ok},
				{"saturday", nil, scanIn("2026-06-13T19:00:00+02:00"), notAllowed},
			},
		},
		{
			name:   "gate in a list",
			pretix: `{"inList": [{"var": "gate"}, {"objectList": [{"lookup": ["gate", "3", "G3"]}, {"lookup": ["gate", "4", "G4"]}]}]}`,
			rule:   `{"when": {"var": "gate", "op": "in", "value": ["G3", "G4"]}}`,
			scans: []scan{
				{"G3", nil, scanIn("2026-06-12T19:00:00+02:00").at("G3"), ok},
				{"G1", nil, scanIn("2026-06-12T19:00:00+02:00").at("G1"), notAllowed},
			},
		},
		{
			name:   "gate equal",
			pretix: `{"inList": [{"var": "gate"}, {"objectList": [{"lookup": ["gate", "3", "G3"]}]}]}`,
			rule:   `{"when": {"var": "gate", "op": "==", "value": "G3"}}`,
			scans: []scan{
				{"G3", nil, scanIn("2026-06-12T19:00:00+02:00").at("G3"), ok},
				{"G4", nil, scanIn("2026-06-12T19:00:00+02:00").at("G4"), notAllowed},
			},
		},
		{
			name:   "zone, which pretix has as check-in lists",
			pretix: `(one check-in list per zone)`,
			rule:   `{"multi_entry": true, "when": {"var": "zone", "op": "in", "value": [0, 2]}}`,
			scans: []scan{
				{"zone 2", nil, scanIn("2026-06-12T19:00:00+02:00").inZone(2), ok},
				{"zone 1", nil, scanIn("2026-06-12T19:00:00+02:00").inZone(1), notAllowed},
			},
		},
		{
			name: "and, or, not: the VIP gate twice a day at any time, other gates from 18:00",
			pretix: `{"or": [{"and": [{"inList": [{"var": "gate"}, {"objectList": [{"lookup": ["gate", "9", "VIP"]}]}]}, {"<": [{"var": "entries_today"}, 2]}]},
			                   {"and": [{"!": {"inList": [...VIP...]}}, {"isAfter": [{"var": "now"}, {"buildTime": ["customtime", "18:00"]}, null]}]}]}`,
			rule: `{"multi_entry": true, "when": {"any": [
				{"all": [{"var": "gate", "op": "==", "value": "VIP"}, {"var": "entries_today", "op": "<", "value": 2}]},
				{"all": [{"not": {"var": "gate", "op": "==", "value": "VIP"}}, {"var": "now", "op": ">=", "value": "18:00"}]}
			]}}`,
			scans: []scan{
				{"VIP at 17:00", nil, scanIn("2026-06-12T17:00:00+02:00").at("VIP"), ok},
				{"VIP a third time", hist(entry("2026-06-12T10:00:00+02:00"), entry("2026-06-12T12:00:00+02:00")), scanIn("2026-06-12T17:00:00+02:00").at("VIP"), notAllowed},
				{"G1 at 17:00", nil, scanIn("2026-06-12T17:00:00+02:00"), notAllowed},
				{"G1 at 18:00", nil, scanIn("2026-06-12T18:00:00+02:00"), ok},
				{"G1 at 18:00, the third time", hist(entry("2026-06-12T10:00:00+02:00"), entry("2026-06-12T12:00:00+02:00")), scanIn("2026-06-12T18:00:00+02:00"), ok},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rule, err := ParseRule([]byte(tc.rule))
			if err != nil {
				t.Fatalf("rule for pretix's %s: %v", tc.pretix, err)
			}
			for _, s := range tc.scans {
				got := Evaluate(rule, s.history, s.scan)
				checkVerdict(t, got)
				if got.Reason != s.want {
					t.Errorf("%s: got %s (%s), want %s", s.name, got.Reason, got.Detail, s.want)
				}
				if got.Reason == notAllowed && !strings.HasPrefix(got.Detail, "condition not met: ") {
					t.Errorf("%s: detail %q does not name the condition", s.name, got.Detail)
				}
			}
		})
	}
}
