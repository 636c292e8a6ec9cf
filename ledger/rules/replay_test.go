package rules

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/ticket"
)

func TestReplayTwoGates(t *testing.T) {
	g1 := entry("2026-06-12T19:31:04.000+02:00").gate("G1", "gate-1")
	g2 := entry("2026-06-12T19:31:04.050+02:00").gate("G2", "gate-2")
	base := scanIn("2026-06-12T19:00:00+02:00")
	for _, order := range [][]Passage{{g1, g2}, {g2, g1}} {
		got := Replay(Rule{}, order, base)
		if len(got) != 1 {
			t.Fatalf("Replay = %d violations, want 1: %+v", len(got), got)
		}
		v := got[0]
		if v.Passage != g2 || v.Previous == nil || *v.Previous != g1 || v.Reason != ticket.ReasonAlreadyUsed {
			t.Fatalf("violation = %+v, want the entry at G2 against the one at G1", v)
		}
		for _, w := range []string{"entry at gate G2 (device gate-2) at 19:31:04.050", "at gate G1 (device gate-1) at 19:31:04 "} {
			if !strings.Contains(v.Detail, w) {
				t.Errorf("detail %q does not contain %q", v.Detail, w)
			}
		}
	}
}

// TestReplayTies orders passages of the same instant by gate, then origin.
func TestReplayTies(t *testing.T) {
	a := entry("2026-06-12T19:31:04+02:00").gate("G1", "gate-9")
	b := entry("2026-06-12T19:31:04+02:00").gate("G2", "gate-1")
	c := entry("2026-06-12T19:31:04+02:00").gate("G2", "gate-2")
	got := Replay(Rule{}, hist(c, b, a), scanIn("2026-06-12T19:00:00+02:00"))
	if len(got) != 2 || got[0].Passage != b || got[1].Passage != c || *got[0].Previous != a || *got[1].Previous != b {
		t.Fatalf("Replay = %+v, want b then c refused", got)
	}
}

func TestReplay(t *testing.T) {
	base := scanIn("2026-06-12T12:00:00+02:00")
	cases := []struct {
		name    string
		rule    Rule
		history []Passage
		want    []Passage // the passages found in violation, in order
		reasons []ticket.Reason
	}{
		{"a clean log", Rule{Reentry: true}, hist(
			entry("2026-06-12T19:00:00+02:00"), exit("2026-06-12T20:00:00+02:00"), entry("2026-06-12T21:00:00+02:00"),
		), nil, nil},
		{"overrides are never violations, but count", Rule{}, hist(
			entry("2026-06-12T19:00:00+02:00"),
			entry("2026-06-12T19:10:00+02:00").gate("G2", "gate-2").override(),
			entry("2026-06-12T19:20:00+02:00").gate("G3", "gate-3"),
		), hist(entry("2026-06-12T19:20:00+02:00").gate("G3", "gate-3")), []ticket.Reason{ticket.ReasonAlreadyUsed}},
		{"an exit nobody entered for", Rule{Reentry: true}, hist(
			exit("2026-06-12T19:00:00+02:00"),
		), hist(exit("2026-06-12T19:00:00+02:00")), []ticket.Reason{ticket.ReasonNotInside}},
		{"a refused passage still counts", Rule{Reentry: true}, hist(
			entry("2026-06-12T19:00:00+02:00"),
			entry("2026-06-12T19:00:01+02:00").gate("G2", "gate-2"), // in while inside
			exit("2026-06-12T20:00:00+02:00"),
			exit("2026-06-12T20:00:02+02:00").gate("G2", "gate-2"), // out while outside
		), hist(
			entry("2026-06-12T19:00:01+02:00").gate("G2", "gate-2"),
			exit("2026-06-12T20:00:02+02:00").gate("G2", "gate-2"),
		), []ticket.Reason{ticket.ReasonAlreadyUsed, ticket.ReasonNotInside}},
		{"too soon across a partition", Rule{MultiEntry: true, MinMinutesBetween: 30}, hist(
			entry("2026-06-12T19:00:00+02:00"),
			entry("2026-06-12T19:10:00+02:00").gate("G2", "gate-2"),
		), hist(entry("2026-06-12T19:10:00+02:00").gate("G2", "gate-2")), []ticket.Reason{ticket.ReasonTooSoon}},
		{"the event times come from base", Rule{Windows: []Window{{From: "admission"}}}, hist(
			entry("2026-06-12T17:00:00+02:00"),
		), hist(entry("2026-06-12T17:00:00+02:00")), []ticket.Reason{ticket.ReasonOutsideHours}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.history)
			got := Replay(tc.rule, tc.history, base)
			if !slices.Equal(before, tc.history) {
				t.Fatal("Replay modified the history")
			}
			var gotP []Passage
			var gotR []ticket.Reason
			for _, v := range got {
				gotP, gotR = append(gotP, v.Passage), append(gotR, v.Reason)
			}
			if !slices.Equal(gotP, tc.want) || !slices.Equal(gotR, tc.reasons) {
				t.Fatalf("Replay = %+v, want %v %v", got, tc.want, tc.reasons)
			}
		})
	}
}

// TestReplayOrderIndependent shuffles one history 100 times: the
// violations never change.
func TestReplayOrderIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h []Passage
	gates := []string{"G1", "G2", "G3"}
	base := at("2026-06-12T18:00:00+02:00")
	for i := range 30 {
		g := gates[rng.IntN(len(gates))]
		p := Passage{
			Exit: rng.IntN(3) == 0,
			// Few distinct instants, so ties on time are common.
			At:       base.Add(timeMinutes(rng.IntN(20) * 7)),
			Gate:     g,
			Origin:   "gate-" + g[1:],
			Zone:     rng.IntN(2),
			Override: rng.IntN(8) == 0,
		}
		h = append(h, p)
		if i%5 == 0 {
			h = append(h, p) // an exact duplicate
		}
	}
	rule := Rule{Reentry: true, MaxEntriesPerDay: 3, MinMinutesBetween: 10, PerZone: true}
	want := withoutIndexes(t, h, Replay(rule, h, scanIn("2026-06-12T18:00:00+02:00")))
	if len(want) == 0 {
		t.Fatal("the history breaks nothing: the test shows nothing")
	}
	for i := range 100 {
		s := slices.Clone(h)
		rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
		got := withoutIndexes(t, s, Replay(rule, s, scanIn("2026-06-12T18:00:00+02:00")))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("shuffle %d: %d violations differ from the first %d", i, len(got), len(want))
		}
	}
	for _, v := range want {
		if v.Passage.Override {
			t.Fatalf("override reported: %+v", v)
		}
	}
}

// withoutIndexes checks that each violation's indexes name its passages in
// history, and returns the violations with the indexes cleared: they are
// all that depends on the order of history.
func withoutIndexes(t *testing.T, history []Passage, vs []Violation) []Violation {
	t.Helper()
	out := slices.Clone(vs)
	seen := map[int]bool{}
	for i := range out {
		v := &out[i]
		if history[v.Index] != v.Passage {
			t.Fatalf("violation %d: index %d holds %+v, not its passage %+v", i, v.Index, history[v.Index], v.Passage)
		}
		if seen[v.Index] {
			t.Fatalf("violation %d: index %d named twice", i, v.Index)
		}
		seen[v.Index] = true
		switch {
		case v.Previous == nil && v.PreviousIndex != -1:
			t.Fatalf("violation %d: no previous passage, but index %d", i, v.PreviousIndex)
		case v.Previous != nil && (v.PreviousIndex < 0 || history[v.PreviousIndex] != *v.Previous):
			t.Fatalf("violation %d: previous index %d does not hold %+v", i, v.PreviousIndex, *v.Previous)
		case v.PreviousIndex == v.Index:
			t.Fatalf("violation %d: its own previous passage", i)
		}
		v.Index, v.PreviousIndex = 0, 0
	}
	return out
}

// TestReplayIndexesOfEqualPassages: two records that read as the same
// passage are still told apart by their indexes.
func TestReplayIndexesOfEqualPassages(t *testing.T) {
	p := entry("2026-06-12T19:31:04+02:00").gate("G1", "gate-1")
	h := hist(exit("2026-06-12T19:00:00+02:00"), p, p)
	got := Replay(Rule{}, h, scanIn("2026-06-12T19:00:00+02:00"))
	withoutIndexes(t, h, got)
	if len(got) != 2 {
		t.Fatalf("Replay = %+v, want the exit and the second entry", got)
	}
	if v := got[1]; v.Index != 2 || v.PreviousIndex != 1 || v.Reason != ticket.ReasonAlreadyUsed {
		t.Fatalf("second entry: index %d previous %d reason %s, want 2, 1, already_used", v.Index, v.PreviousIndex, v.Reason)
	}
	if v := got[0]; v.Index != 0 || v.PreviousIndex != -1 {
		t.Fatalf("exit: index %d previous %d, want 0, -1", v.Index, v.PreviousIndex)
	}
}
