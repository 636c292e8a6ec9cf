package rules

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/ticket"
)

// The rules of the package documentation's examples, as central writes them.
const (
	concertRule  = `{"windows": [{"from": "admission", "until": "event_end"}]}`
	festivalRule = `{"reentry": true, "max_days": 3, "dates": ["2026-07-10", "2026-07-11", "2026-07-12"]}`
	museumRule   = `{"weekdays": ["mon", "tue", "wed", "thu", "fri"], "windows": [{"from": "09:00", "until": "17:00"}]}`
)

func TestExamples(t *testing.T) {
	type scan struct {
		history []Passage
		scan    Context
		want    ticket.Reason
	}
	d1in, d1out := entry("2026-07-10T14:00:00+02:00"), exit("2026-07-10T16:00:00+02:00")
	d1again, d1end := entry("2026-07-10T18:00:00+02:00"), exit("2026-07-10T23:50:00+02:00")
	cases := []struct {
		name  string
		rule  string
		scans map[string]scan
	}{
		{"concert", concertRule, map[string]scan{
			"doors open":         {nil, scanIn("2026-06-12T18:00:00+02:00"), ok},
			"before the doors":   {nil, scanIn("2026-06-12T17:59:00+02:00"), ticket.ReasonOutsideHours},
			"second entry":       {hist(entry("2026-06-12T18:30:00+02:00")), scanIn("2026-06-12T19:00:00+02:00"), alreadyUsed},
			"exit":               {hist(entry("2026-06-12T18:30:00+02:00")), scanOut("2026-06-12T21:00:00+02:00"), ok},
			"back in after exit": {hist(entry("2026-06-12T18:30:00+02:00"), exit("2026-06-12T21:00:00+02:00")), scanIn("2026-06-12T21:10:00+02:00"), alreadyUsed},
		}},
		{"festival", festivalRule, map[string]scan{
			"day 1":                     {nil, scanIn("2026-07-10T14:00:00+02:00"), ok},
			"day 1, back in after exit": {hist(d1in, d1out), scanIn("2026-07-10T18:00:00+02:00"), ok},
			"day 1, in while inside":    {hist(d1in), scanIn("2026-07-10T15:00:00+02:00"), alreadyUsed},
			"day 2":                     {hist(d1in, d1out, d1again, d1end), scanIn("2026-07-11T12:00:00+02:00"), ok},
			"the day after":             {hist(d1in, d1out), scanIn("2026-07-13T12:00:00+02:00"), ticket.ReasonWrongDay},
		}},
		{"museum", museumRule, map[string]scan{
			"friday 09:00":        {nil, scanIn("2026-06-12T09:00:00+02:00"), ok},
			"friday 17:00":        {nil, scanIn("2026-06-12T17:00:00+02:00"), ticket.ReasonOutsideHours},
			"saturday 10:00":      {nil, scanIn("2026-06-13T10:00:00+02:00"), ticket.ReasonWrongDay},
			"monday, used friday": {hist(entry("2026-06-12T10:00:00+02:00")), scanIn("2026-06-15T10:00:00+02:00"), alreadyUsed},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRule([]byte(tc.rule))
			if err != nil {
				t.Fatal(err)
			}
			for name, s := range tc.scans {
				if got := Evaluate(r, s.history, s.scan); got.Reason != s.want {
					t.Errorf("%s: got %s (%s), want %s", name, got.Reason, got.Detail, s.want)
				}
			}
		})
	}
}

func ExampleEvaluate() {
	rule, err := ParseRule([]byte(`{}`)) // a single-entry ticket
	if err != nil {
		panic(err)
	}
	history := []Passage{{At: at("2026-06-12T19:31:04+02:00"), Gate: "G2", Origin: "gate-2"}}
	v := Evaluate(rule, history, Context{At: at("2026-06-12T19:40:00+02:00"), Location: berlin, Gate: "G1"})
	fmt.Println(v.Reason)
	fmt.Println(v.Detail)
	// Output:
	// already_used
	// already entered at gate G2 (device gate-2) at 19:31:04 CEST (1 entry allowed)
}

// TestJSONShape pins the manifest format: field names and the zero Rule.
func TestJSONShape(t *testing.T) {
	cases := []struct {
		name string
		rule Rule
		want string
	}{
		{"zero", Rule{}, `{}`},
		{"every field", Rule{
			Reentry: true, MultiEntry: true, MaxEntries: 1, MaxEntriesPerDay: 2, MaxDays: 3,
			MinMinutesBetween: 4, MaxMinutesAfterFirst: 5,
			Windows:  []Window{{From: "09:00", Until: "17:00"}, {From: "event_start-60"}},
			Weekdays: []string{"mon"}, Dates: []string{"2026-06-12"}, Gates: []string{"G1"}, PerZone: true,
			When: &Condition{Any: []Condition{
				{All: []Condition{Compare(VarEntriesToday, OpLess, 1)}},
				Not(Compare(VarGate, OpIn, []string{"G1", "G2"})),
			}},
		}, `{"reentry":true,"multi_entry":true,"max_entries":1,"max_entries_per_day":2,"max_days":3,` +
			`"min_minutes_between":4,"max_minutes_after_first":5,` +
			`"windows":[{"from":"09:00","until":"17:00"},{"from":"event_start-60"}],` +
			`"weekdays":["mon"],"dates":["2026-06-12"],"gates":["G1"],"per_zone":true,` +
			`"when":{"any":[{"all":[{"var":"entries_today","op":"\u003c","value":1}]},{"not":{"var":"gate","op":"in","value":["G1","G2"]}}]}}`},
		{"a zero value is written", Rule{When: ptr(Compare(VarEntriesNumber, OpEqual, 0))},
			`{"when":{"var":"entries_number","op":"==","value":0}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(tc.rule)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestJSONRoundTrip(t *testing.T) {
	texts := []string{
		`{}`, concertRule, festivalRule, museumRule,
		`{"multi_entry": true, "max_entries_per_day": 1, "min_minutes_between": 30, "max_minutes_after_first": 600,
		  "windows": [{"from": "2026-06-12T18:00:00+02:00", "until": "2026-06-13T02:00:00.5+02:00"}, {"from": "22:00", "until": "02:00"}],
		  "gates": ["G1", "G 2"], "per_zone": true,
		  "when": {"all": [{"any": [{"var": "minutes_since_last_entry", "op": "==", "value": -1}, {"var": "zone", "op": "in", "value": [0, 2]}]},
		                   {"not": {"var": "weekday", "op": "in", "value": ["sat", 7]}},
		                   {"var": "now", "op": "<", "value": "event_end+30"}, {"var": "entries_today", "op": "<", "value": 1.5}]}}`,
	}
	for _, text := range texts {
		r1, err := ParseRule([]byte(text))
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		b1, err := json.Marshal(r1)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := ParseRule(b1)
		if err != nil {
			t.Fatalf("%s: %v", b1, err)
		}
		if !reflect.DeepEqual(r1, r2) {
			t.Fatalf("round trip of %s:\n got %#v\nwant %#v", text, r2, r1)
		}
		b2, _ := json.Marshal(r2)
		if string(b1) != string(b2) {
			t.Fatalf("encoding is not stable:\n%s\n%s", b1, b2)
		}
	}
}

// TestGoValues checks that a rule built in Go, with Go's number and slice
// types, decides as its JSON does.
func TestGoValues(t *testing.T) {
	goRule := Rule{MultiEntry: true, When: ptr(All(
		Compare(VarEntriesToday, OpLess, 2),
		Compare(VarGate, OpIn, []string{"G1", "G2"}),
		Compare(VarZone, OpIn, []int{0, 1}),
		Compare(VarWeekday, OpIn, []any{"fri", 6}),
		Not(Compare(VarMinutesSinceLastEntry, OpIn, []float64{1, 2})),
	))}
	text, err := json.Marshal(goRule)
	if err != nil {
		t.Fatal(err)
	}
	jsonRule, err := ParseRule(text)
	if err != nil {
		t.Fatal(err)
	}
	if err := goRule.Validate(); err != nil {
		t.Fatal(err)
	}
	scans := []struct {
		h []Passage
		c Context
	}{
		{nil, scanIn("2026-06-12T19:00:00+02:00")},
		{hist(entry("2026-06-12T18:59:00+02:00")), scanIn("2026-06-12T19:00:00+02:00")},
		{hist(entry("2026-06-12T18:58:00+02:00")), scanIn("2026-06-12T19:00:00+02:00")},
		{hist(entry("2026-06-12T18:57:00+02:00")), scanIn("2026-06-12T19:00:00+02:00")},
		{hist(entry("2026-06-12T18:57:00+02:00"), entry("2026-06-12T18:00:00+02:00")), scanIn("2026-06-12T19:00:00+02:00")},
		{nil, scanIn("2026-06-12T19:00:00+02:00").at("G3")},
		{nil, scanIn("2026-06-12T19:00:00+02:00").inZone(2)},
		{nil, scanIn("2026-06-13T19:00:00+02:00")},
		{nil, scanIn("2026-06-14T19:00:00+02:00")},
	}
	var oks int
	for i, s := range scans {
		g, j := Evaluate(goRule, s.h, s.c), Evaluate(jsonRule, s.h, s.c)
		if g != j && (g.Reason != j.Reason || g.Detail != j.Detail) {
			t.Errorf("scan %d: Go %s (%s), JSON %s (%s)", i, g.Reason, g.Detail, j.Reason, j.Detail)
		}
		if g.OK {
			oks++
		}
	}
	if oks != 3 {
		t.Errorf("%d scans passed, want 3 (no entry, 3 minutes after one entry, saturday)", oks)
	}
}

func TestValidate(t *testing.T) {
	valid := []string{`{}`, concertRule, festivalRule, museumRule,
		`{"max_entries": 1, "max_entries_per_day": 1, "max_days": 1}`,
		`{"windows": [{"from": "22:00", "until": "02:00"}, {"until": "24:00"}, {"from": "event_start-60", "until": "2026-06-12T23:00:00Z"}]}`,
		`{"when": {"all": []}}`,
		`{"when": {"var": "minutes_since_first_entry", "op": "==", "value": -1}}`,
		`{"when": {"var": "weekday", "op": "in", "value": ["mon", 7]}}`,
		`{"when": {"var": "gate", "op": "in", "value": "G1"}}`,
		`{"when": {"var": "now", "op": ">=", "value": "2026-06-12T18:00:00.123456789-05:30"}}`,
	}
	for _, text := range valid {
		if _, err := ParseRule([]byte(text)); err != nil {
			t.Errorf("%s: %v", text, err)
		}
	}
	invalid := []struct {
		rule string
		want []string // in the error
	}{
		{`{"max_entries": -1}`, []string{"max_entries: -1 is negative"}},
		{`{"min_minutes_between": -5, "max_minutes_after_first": -1}`, []string{"min_minutes_between: -5 is negative", "max_minutes_after_first: -1 is negative"}},
		{`{"reentry": true, "multi_entry": true}`, []string{"choose one"}},
		{`{"multi_entry": true, "max_minutes_after_first": 9223372036854775807}`, []string{"more than a century"}},
		{`{"max_entries": 3}`, []string{"max_entries: 3 needs reentry or multi_entry"}},
		{`{"max_entries_per_day": 2}`, []string{"max_entries_per_day: 2 needs reentry"}},
		{`{"weekdays": ["mon", "Monday"]}`, []string{`weekdays[1]: unknown weekday "Monday"`}},
		{`{"dates": ["2026-02-29"]}`, []string{`dates[0]: bad date "2026-02-29"`}},
		{`{"dates": ["12.06.2026"]}`, []string{`dates[0]: bad date`}},
		{`{"gates": ["G1", ""]}`, []string{"gates[1]: empty gate name"}},
		{`{"windows": [{}]}`, []string{"windows[0]: neither from nor until"}},
		{`{"windows": [{"from": "25:00"}]}`, []string{`windows[0].from: bad time "25:00"`}},
		{`{"windows": [{"from": "9:00"}]}`, []string{`bad time "9:00"`}},
		{`{"windows": [{"until": "24:01"}]}`, []string{`windows[0].until: bad time "24:01"`}},
		{`{"windows": [{"from": "event_start+"}]}`, []string{`bad time "event_start+"`}},
		{`{"windows": [{"from": "event_begin"}]}`, []string{`bad time "event_begin"`}},
		{`{"windows": [{"from": "2026-06-12T18:00:00"}]}`, []string{`bad time "2026-06-12T18:00:00"`}},
		{`{"windows": [{"from": "09:00", "until": "event_end"}]}`, []string{"mix a time of day with an instant"}},
		{`{"windows": [{"from": "09:00", "until": "09:00"}]}`, []string{"the window is empty"}},
		{`{"windows": [{"from": "2026-06-12T20:00:00Z", "until": "2026-06-12T19:00:00Z"}]}`, []string{"is not after"}},
		{`{"windows": [{"from": "event_end+10", "until": "event_end"}]}`, []string{"is not after"}},
		{`{"when": {}}`, []string{"when: empty condition"}},
		{`{"when": {"any": []}}`, []string{"when.any: empty"}},
		{`{"when": {"all": [{"var": "entries", "op": "<", "value": 1}]}}`, []string{`when.all[0]: unknown var "entries"`}},
		{`{"when": {"var": "entries_number", "op": "=", "value": 1}}`, []string{`unknown op "="`}},
		{`{"when": {"var": "entries_number", "op": "<"}}`, []string{"no value"}},
		{`{"when": {"var": "entries_number", "op": "<", "value": "1"}}`, []string{"entries_number compares with numbers"}},
		{`{"when": {"var": "entries_number", "op": "<", "value": [1, 2]}}`, []string{`a list needs op "in"`}},
		{`{"when": {"var": "zone", "op": "in", "value": []}}`, []string{"empty list"}},
		{`{"when": {"var": "zone", "op": "==", "value": 64}}`, []string{"zones 0 to 63"}},
		{`{"when": {"var": "weekday", "op": "==", "value": "xyz"}}`, []string{"weekday compares with mon"}},
		{`{"when": {"var": "weekday", "op": "==", "value": 8}}`, []string{"weekday compares with mon"}},
		{`{"when": {"var": "gate", "op": "<", "value": "G1"}}`, []string{"gate takes ==, != or in"}},
		{`{"when": {"var": "gate", "op": "==", "value": 1}}`, []string{"gate compares with gate names"}},
		{`{"when": {"var": "now", "op": "in", "value": ["18:00"]}}`, []string{"now takes"}},
		{`{"when": {"var": "now", "op": ">", "value": 1800}}`, []string{"now compares with a time"}},
		{`{"when": {"var": "now", "op": ">", "value": "6pm"}}`, []string{`bad time "6pm"`}},
		{`{"when": {"not": {"var": "gate", "op": "==", "value": "G1"}, "var": "zone", "op": "==", "value": 1}}`, []string{"more than one of"}},
		{`{"max_days": -1, "weekdays": ["xyz"]}`, []string{"max_days: -1", "weekdays[0]"}},
	}
	for _, tc := range invalid {
		var r Rule
		if err := json.Unmarshal([]byte(tc.rule), &r); err != nil {
			t.Fatalf("%s: %v", tc.rule, err)
		}
		err := r.Validate()
		if err == nil {
			t.Errorf("%s: no error", tc.rule)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", tc.rule, err, w)
			}
		}
		if _, perr := ParseRule([]byte(tc.rule)); perr == nil {
			t.Errorf("%s: ParseRule accepted what Validate rejects", tc.rule)
		}
	}
}

func TestValidateDeep(t *testing.T) {
	c := Compare(VarZone, OpEqual, 1)
	for range maxDepth + 2 {
		c = Not(c)
	}
	if err := (Rule{When: &c}).Validate(); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Fatalf("Validate = %v, want nested deeper", err)
	}
}

func TestParseRuleStrict(t *testing.T) {
	for _, text := range []string{
		`{"max_entry": 1}`,
		`{"windows": [{"form": "09:00"}]}`,
		`{"when": {"variable": "zone", "op": "==", "value": 1}}`,
		`{} {}`,
		`{"max_entries": 1.5}`,
		`[]`,
		``,
	} {
		if _, err := ParseRule([]byte(text)); err == nil {
			t.Errorf("ParseRule(%s) = nil error", text)
		}
	}
}
