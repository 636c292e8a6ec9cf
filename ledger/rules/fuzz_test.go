package rules

import (
	"encoding/binary"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"
)

// fuzzHistory turns bytes into at most 48 passages, 4 bytes each: minutes
// after a base time (2 bytes), a flags byte (exit, override, zone, gate) and
// an origin byte. The scan is one more such record.
func fuzzHistory(data []byte) (history []Passage, scan Context) {
	base := at("2026-06-12T16:00:00Z")
	gates := []string{"G1", "G2", "VIP", ""}
	decode := func(b []byte) Passage {
		minutes := int(binary.LittleEndian.Uint16(b))
		flags := b[2]
		return Passage{
			Exit:     flags&1 != 0,
			Override: flags&2 != 0,
			Zone:     int(flags>>2) & 3,
			Gate:     gates[int(flags>>4)&3],
			At:       base.Add(time.Duration(minutes)*time.Minute + time.Duration(b[3])*time.Millisecond),
			Origin:   string(rune('a' + b[3]%4)),
		}
	}
	var last [4]byte
	copy(last[:], data)
	p := decode(last[:])
	locs := []*time.Location{nil, time.UTC, berlin, tokyo}
	scan = Context{
		At: p.At, Gate: p.Gate, Zone: p.Zone, Location: locs[int(last[3]>>6)],
		EventStart: base.Add(3 * time.Hour), EventEnd: base.Add(7 * time.Hour),
	}
	if p.Exit {
		scan.Direction = Out
	} else if p.Override {
		scan.Direction = "sideways" // not a direction: an entry
	}
	for i := 4; i+4 <= len(data) && len(history) < 48; i += 4 {
		history = append(history, decode(data[i:i+4]))
	}
	return history, scan
}

func FuzzEvaluate(f *testing.F) {
	seeds := []string{
		`{}`, concertRule, festivalRule, museumRule,
		`{"reentry": true, "max_entries": 2, "max_entries_per_day": 1, "min_minutes_between": 5, "per_zone": true}`,
		`{"multi_entry": true, "max_days": 2, "max_minutes_after_first": 90, "gates": ["G1", "VIP"]}`,
		`{"windows": [{"from": "22:00", "until": "02:00"}, {"from": "event_start-60", "until": "event_end+30"}]}`,
		`{"when": {"any": [{"all": [{"var": "gate", "op": "in", "value": ["VIP"]}, {"var": "entries_today", "op": "<", "value": 2}]},
		                   {"not": {"var": "now", "op": "<", "value": "18:00"}}, {"var": "weekday", "op": "in", "value": ["sat", 7]},
		                   {"var": "minutes_since_last_entry", "op": ">=", "value": 30}, {"var": "zone", "op": "==", "value": 1}]}}`,
		`{"when": {"var": "now", "op": ">", "value": "2026-06-12T18:00:00+02:00"}}`,
		`{"when": {"var": "now", "op": "<", "value": {"nested": true}}}`,
		`{"when": {"all": [{}, {"any": []}, {"var": "gate", "op": "in", "value": [1, null, "G1"]}]}}`,
		`{"windows": [{"from": "24:00", "until": "00:00"}, {"from": "admission+9999999"}]}`,
	}
	for i, s := range seeds {
		f.Add(s, []byte{byte(i), 1, 0, 0, 0, 0, 0, 0, 30, 0, 1, 1, 40, 0, 0x14, 2, 200, 1, 0, 3})
	}
	f.Fuzz(func(t *testing.T, ruleJSON string, data []byte) {
		var r Rule
		if err := json.Unmarshal([]byte(ruleJSON), &r); err != nil {
			return
		}
		_ = r.Validate()
		if r.When != nil {
			_ = r.When.String()
		}
		history, scan := fuzzHistory(data)
		before := slices.Clone(history)

		v := Evaluate(r, history, scan)
		checkVerdict(t, v)
		if !slices.Equal(before, history) {
			t.Fatal("Evaluate modified the history")
		}
		rev := slices.Clone(history)
		slices.Reverse(rev)
		if w := Evaluate(r, rev, scan); w.Reason != v.Reason || w.Detail != v.Detail {
			t.Fatalf("reversed history: %s (%s), want %s (%s)", w.Reason, w.Detail, v.Reason, v.Detail)
		}

		got := Replay(r, history, scan)
		if !slices.Equal(before, history) {
			t.Fatal("Replay modified the history")
		}
		if again := withoutIndexes(t, rev, Replay(r, rev, scan)); !reflect.DeepEqual(withoutIndexes(t, history, got), again) {
			t.Fatalf("Replay depends on the order of the history")
		}
		for _, x := range got {
			if x.Passage.Override || x.Reason == "" || x.Reason == "ok" || x.Detail == "" {
				t.Fatalf("bad violation %+v", x)
			}
		}
	})
}
