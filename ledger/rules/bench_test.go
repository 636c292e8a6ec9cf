package rules

import (
	"testing"
)

// BenchmarkEvaluate measures the decision a gate makes on every scan. The
// aim is under 2 µs for a few passages, and no allocation when the scan
// passes.
func BenchmarkEvaluate(b *testing.B) {
	festival, err := ParseRule([]byte(`{"reentry": true, "max_days": 3, "max_entries_per_day": 4,
		"dates": ["2026-07-10", "2026-07-11", "2026-07-12"], "windows": [{"from": "10:00", "until": "24:00"}],
		"when": {"any": [
			{"all": [{"var": "gate", "op": "in", "value": ["VIP", "VIP2"]}, {"var": "entries_today", "op": "<", "value": 3}]},
			{"all": [{"not": {"var": "minutes_since_last_entry", "op": "<", "value": 15}}, {"var": "now", "op": ">=", "value": "event_start-60"},
			         {"var": "entries_days", "op": "<=", "value": 3}, {"var": "weekday", "op": "in", "value": ["fri", "sat", "sun"]}]}
		]}}`))
	if err != nil {
		b.Fatal(err)
	}
	festivalDays := hist(
		entry("2026-07-10T14:00:00+02:00"), exit("2026-07-10T16:00:00+02:00"),
		entry("2026-07-10T18:00:00+02:00"), exit("2026-07-10T23:50:00+02:00"),
		entry("2026-07-11T12:00:00+02:00").gate("G2", "gate-2"), exit("2026-07-11T23:00:00+02:00"),
	)
	festivalScan := scanIn("2026-07-12T11:00:00+02:00")
	festivalScan.EventStart = at("2026-07-12T11:30:00+02:00")

	benchmarks := []struct {
		name    string
		rule    Rule
		history []Passage
		scan    Context
		ok      bool
	}{
		{"single/0-passages", Rule{}, nil, scanIn("2026-06-12T19:00:00+02:00"), true},
		{"single/3-passages/exit", Rule{}, hist(
			entry("2026-06-12T19:00:00+02:00"), exit("2026-06-12T20:00:00+02:00"),
			entry("2026-06-12T20:10:00+02:00").gate("G2", "gate-2").override(),
		), scanOut("2026-06-12T21:00:00+02:00"), true},
		{"single/3-passages/refused", Rule{}, hist(
			entry("2026-06-12T19:00:00+02:00"), exit("2026-06-12T20:00:00+02:00"),
			entry("2026-06-12T20:10:00+02:00").gate("G2", "gate-2").override(),
		), scanIn("2026-06-12T21:00:00+02:00"), false},
		{"festival-when/6-passages", festival, festivalDays, festivalScan, true},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			if v := Evaluate(bm.rule, bm.history, bm.scan); v.OK != bm.ok {
				b.Fatalf("Evaluate = %s (%s), want ok %v", v.Reason, v.Detail, bm.ok)
			}
			b.ReportAllocs()
			for b.Loop() {
				Evaluate(bm.rule, bm.history, bm.scan)
			}
		})
	}
}

func BenchmarkReplay(b *testing.B) {
	var h []Passage
	for i := range 20 {
		p := entry("2026-06-12T19:00:00+02:00").gate("G1", "gate-1")
		p.At = p.At.Add(timeMinutes(i * 7))
		p.Exit = i%2 == 1
		h = append(h, p)
	}
	b.ReportAllocs()
	for b.Loop() {
		Replay(Rule{Reentry: true, MinMinutesBetween: 10}, h, scanIn("2026-06-12T19:00:00+02:00"))
	}
}
