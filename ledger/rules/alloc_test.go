//go:build !race

package rules

import "testing"

// TestNoAllocations checks that an accepted scan allocates nothing. The
// race detector's instrumentation changes allocations, so it is left out.
func TestNoAllocations(t *testing.T) {
	rule, err := ParseRule([]byte(`{"multi_entry": true, "max_entries_per_day": 5, "max_days": 3, "min_minutes_between": 5,
		"max_minutes_after_first": 6000, "weekdays": ["fri"], "dates": ["2026-06-12"], "gates": ["G1"],
		"windows": [{"from": "2026-06-12T10:00:00+02:00", "until": "event_end+30"}, {"from": "09:00", "until": "17:00"}],
		"when": {"all": [{"var": "gate", "op": "in", "value": ["G1"]}, {"not": {"var": "now", "op": "<", "value": "admission"}},
		                 {"var": "weekday", "op": "==", "value": "fri"}, {"var": "entries_days", "op": "<", "value": 2},
		                 {"var": "minutes_since_first_entry", "op": "<", "value": 600}, {"var": "zone", "op": "in", "value": [0]}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	h := hist(entry("2026-06-12T18:00:00+02:00"), exit("2026-06-12T18:30:00+02:00"), entry("2026-06-12T18:40:00+02:00"))
	goRule := Rule{MultiEntry: true, When: ptr(All(Compare(VarGate, OpIn, []string{"G1"}), Compare(VarZone, OpIn, []int{0})))}
	for name, r := range map[string]Rule{"json": rule, "go": goRule} {
		scan := scanIn("2026-06-12T19:00:00+02:00")
		if v := Evaluate(r, h, scan); !v.OK {
			t.Fatalf("%s: Evaluate = %s (%s)", name, v.Reason, v.Detail)
		}
		if n := testing.AllocsPerRun(100, func() { Evaluate(r, h, scan) }); n != 0 {
			t.Errorf("%s: %v allocations per accepted scan, want 0", name, n)
		}
	}
}
