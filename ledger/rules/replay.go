package rules

import (
	"slices"
	"time"
)

// Replay walks a ticket's merged passages in order (time, then gate, then
// origin device; see the package documentation) and evaluates each as a
// scan against the passages before it. The scan's time, gate, zone and
// direction come from the passage; its time zone and event times from base.
// Every passage the rule would have refused, overrides excepted, is a
// Violation; a refused passage still happened, so it counts for the ones
// after it.
//
// The same set of passages gives the same violations, in the same order,
// whatever the order of history. Replay does not modify history.
//
// Each Violation names its passages by their index in history too, so a
// caller maps them back to its records. Equal passages are taken in the
// order history holds them.
func Replay(r Rule, history []Passage, base Context) []Violation {
	order := make([]int, len(history))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return comparePassages(&history[a], &history[b]) })
	sorted := make([]Passage, len(history))
	for i, k := range order {
		sorted[i] = history[k]
	}
	var out []Violation
	for i := range sorted {
		p := &sorted[i]
		if p.Override {
			continue
		}
		c := base
		c.At, c.Gate, c.Zone, c.Direction = p.At, p.Gate, p.Zone, In
		if p.Exit {
			c.Direction = Out
		}
		v := Evaluate(r, sorted[:i], c)
		if v.OK {
			continue
		}
		prev := -1
		if v.Previous != nil {
			// Evaluate keeps the first of equal passages it meets, so the
			// first equal one before i is the one it named.
			if j := slices.Index(sorted[:i], *v.Previous); j >= 0 {
				prev = order[j]
			}
		}
		kind := "entry"
		if p.Exit {
			kind = "exit"
		}
		e := eval{loc: base.Location}
		if e.loc == nil {
			e.loc = time.UTC
		}
		e.local = p.At.In(e.loc)
		out = append(out, Violation{
			Passage:       *p,
			Reason:        v.Reason,
			Detail:        kind + " " + e.where(p) + ": " + v.Detail,
			Previous:      v.Previous,
			Index:         order[i],
			PreviousIndex: prev,
		})
	}
	return out
}
