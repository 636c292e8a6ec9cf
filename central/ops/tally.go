package ops

import (
	"context"
	"sync"
	"time"

	"github.com/tixgate/tixgate/central/store"
)

// Settle is how long after a record's arrival the tally takes it as
// final: longer than an upload's transaction can take to commit in any
// central process, so no record arrives later with an earlier arrival
// time.
const Settle = 2 * time.Minute

// tally keeps the passage counts of the records that arrived before a
// moment, so a dashboard's refresh reads only the records that arrived
// since (through the arrivals' index) instead of every record. Records
// never change once stored, so what it counted stays true; it is a cache
// of the database, which stays the one truth: another central process
// keeps its own.
type tally struct {
	mu     sync.Mutex
	upTo   time.Time // the records that arrived before it are counted
	counts map[passageKey]store.PassageCount
}

type passageKey struct {
	event      uint64
	gate       string
	zone, kind int
}

func add(into map[passageKey]store.PassageCount, cs []store.PassageCount) {
	for _, c := range cs {
		k := passageKey{c.Event, c.Gate, c.Zone, c.Kind}
		have, ok := into[k]
		if !ok {
			into[k] = c
			continue
		}
		have.Count += c.Count
		if c.Last.After(have.Last) {
			have.Last = c.Last
		}
		into[k] = have
	}
}

// passages counts the records by event, gate, zone and kind as of now.
func (t *tally) passages(ctx context.Context, db *store.DB, now time.Time) ([]store.PassageCount, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.counts == nil {
		t.counts = map[passageKey]store.PassageCount{}
	}
	if settled := now.Add(-Settle); settled.After(t.upTo) {
		cs, err := db.PassageCounts(ctx, t.upTo, settled)
		if err != nil {
			return nil, err
		}
		add(t.counts, cs)
		t.upTo = settled
	}
	fresh, err := db.PassageCounts(ctx, t.upTo, time.Time{})
	if err != nil {
		return nil, err
	}
	all := make(map[passageKey]store.PassageCount, len(t.counts)+len(fresh))
	for k, c := range t.counts {
		all[k] = c
	}
	add(all, fresh)
	out := make([]store.PassageCount, 0, len(all))
	for _, c := range all {
		out = append(out, c)
	}
	return out, nil
}
