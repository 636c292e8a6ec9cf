package cluster

import (
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	f := NewFaults(3)
	for _, n := range []string{"a", "b", "c"} {
		f.Name(n+":1", n)
	}
	drops := func(from, to string, stream bool) bool {
		drop, _ := f.Filter(from)(to+":1", stream)
		return drop
	}
	f.Isolate("c")
	for _, tc := range []struct {
		from, to string
		want     bool
	}{{"a", "b", false}, {"a", "c", true}, {"c", "b", true}, {"b", "a", false}} {
		if got := drops(tc.from, tc.to, false); got != tc.want {
			t.Errorf("isolated c: %s→%s dropped %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
	f.PacketsOnly(true)
	if drops("a", "c", true) || !drops("a", "c", false) {
		t.Error("packets only: streams pass, packets do not")
	}
	f.Heal()
	f.CutLink("a", "b")
	if !drops("a", "b", false) || drops("b", "a", false) {
		t.Error("a one-way cut")
	}
	f.Heal()
	f.Delay("a", []string{"b", "c"}, 40*time.Millisecond)
	if _, d := f.Filter("a")("b:1", true); d != 40*time.Millisecond {
		t.Errorf("delay %v", d)
	}
	f.SetLoss(0.25)
	lost := 0
	for range 10000 {
		if drops("b", "c", false) {
			lost++
		}
		if drops("b", "c", true) {
			t.Fatal("loss drops streams")
		}
	}
	if lost < 2300 || lost > 2700 {
		t.Errorf("lost %d of 10000 packets at 25%%", lost)
	}
}
