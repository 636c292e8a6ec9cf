package ledger

import (
	"fmt"
	"sort"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ledger/replay"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
)

// Conflict is a rule broken only by merging logs: one ticket admitted at two
// gates that could not see each other. It names both records. Every device
// that holds both records finds the same conflict.
type Conflict struct {
	Event  uint64        `json:"event"`
	Serial uint64        `json:"serial"`
	Reason ticket.Reason `json:"reason"` // what the later passage broke, e.g. already_used
	Detail string        `json:"detail"`
	// First is the passage that came first; Second the one the rule would
	// have refused had its gate known of First.
	First  ConflictPassage `json:"first"`
	Second ConflictPassage `json:"second"`
}

// ConflictPassage is one side of a conflict.
type ConflictPassage struct {
	Record string    `json:"record"` // origin/seq
	Device string    `json:"device"`
	Gate   string    `json:"gate"`
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"`
}

type ticketID struct{ event, serial uint64 }

// passageTickets is the set of tickets whose passages the records touch.
func passageTickets(recs []verified) map[ticketID]bool {
	touched := map[ticketID]bool{}
	for _, v := range recs {
		switch v.rec.Kind {
		case record.KindEntry, record.KindExit, record.KindOverride:
			touched[ticketID{v.rec.Event, v.rec.Serial}] = true
		}
	}
	return touched
}

// detectConflicts replays the rule of each ticket, each in a transaction of
// its own, and returns how many conflicts are new.
func (l *Ledger) detectConflicts(tickets map[ticketID]bool) int {
	fresh := 0
	for t := range tickets {
		err := l.update(func(txn *badger.Txn) error {
			n, err := l.checkTicket(txn, t.event, t.serial)
			fresh += n
			return err
		})
		if err != nil {
			l.log.Error("conflict check failed", "event", t.event, "serial", t.serial, "err", err)
		}
	}
	l.stats.conflicts.Add(uint64(fresh))
	return fresh
}

// checkTicket replays one ticket's merged records under its type's rule
// within txn and stores the conflicts found; it returns how many are new.
func (l *Ledger) checkTicket(txn *badger.Txn, event, serial uint64) (int, error) {
	recs, err := ticketRecords(txn, event, serial)
	if err != nil || len(recs) < 2 {
		return 0, err
	}
	rule, base := l.ruleFor(event, recs[0].Type)
	fresh := 0
	for _, v := range replay.Ticket(rule, base, recs, l.deviceName) {
		second := &recs[v.Record]
		c := Conflict{Event: event, Serial: serial, Reason: v.Reason, Detail: v.Detail, Second: l.conflictSide(second)}
		firstID := ""
		if v.Previous >= 0 {
			first := &recs[v.Previous]
			c.First = l.conflictSide(first)
			firstID = first.ID()
		}
		k := conflictKey(event, serial, firstID, second.ID())
		if _, err := txn.Get(k); err == nil {
			continue
		}
		if err := txn.Set(k, mustJSON(c)); err != nil {
			return fresh, err
		}
		fresh++
	}
	return fresh, nil
}

func (l *Ledger) conflictSide(r *record.Record) ConflictPassage {
	return ConflictPassage{Record: r.ID(), Device: l.deviceName(r.Origin, r.HLC.Time()), Gate: r.Gate, At: r.HLC.Time(), Kind: r.Kind.String()}
}

// ruleFor returns a ticket type's rule and the context shared by the
// replay of its passages.
func (l *Ledger) ruleFor(event, typ uint64) (rules.Rule, rules.Context) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	base := rules.Context{Location: l.loc}
	if e := l.events[event]; e != nil {
		base.EventStart, base.EventEnd, base.Admission = e.Starts, e.Ends, e.Admission
	}
	if t := l.types[[2]uint64{event, typ}]; t != nil {
		return t.Rule, base
	}
	return rules.Rule{}, base
}

// Conflicts lists the conflicts found, by ticket.
func (l *Ledger) Conflicts() ([]Conflict, error) {
	var out []Conflict
	err := l.db.View(func(txn *badger.Txn) error {
		return eachJSON(txn, []byte{tConflict}, func(c *Conflict) { out = append(out, *c) })
	})
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Event != out[j].Event {
			return out[i].Event < out[j].Event
		}
		return out[i].Serial < out[j].Serial
	})
	return out, err
}

// Fork is a second, different record signed by one device at one place in
// its log: a cloned or restored device, or a stolen key.
type Fork struct {
	Record string `json:"record"`
	Held   string `json:"held"`   // hash of the record in the log
	Second string `json:"second"` // hash of the other one
}

// Forks lists the forks seen.
func (l *Ledger) Forks() ([]Fork, error) {
	var out []Fork
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tFork}, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != 13 {
				continue
			}
			origin, seq := ticket.KeyID(k[1:5]), decodeU64(k[5:])
			second, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			held, err := getValue(txn, logKey(origin, seq))
			if err != nil {
				return err
			}
			out = append(out, Fork{Record: fmt.Sprintf("%s/%d", origin, seq), Held: record.HashOf(held).String(), Second: record.HashOf(second).String()})
		}
		return nil
	})
	return out, err
}

// Passage is a recorded passage of a ticket, for people and APIs.
type Passage struct {
	Record string    `json:"record"`
	Kind   string    `json:"kind"`
	Device string    `json:"device"`
	Gate   string    `json:"gate"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor,omitempty"`
	Reason string    `json:"reason,omitempty"`
	Note   string    `json:"note,omitempty"`
}

// TicketHistory is what the ledger knows of one ticket: its manifest entry
// and every record of it, from every device, in order.
type TicketHistory struct {
	Event    uint64    `json:"event"`
	Serial   uint64    `json:"serial"`
	Known    bool      `json:"known"`
	Type     uint64    `json:"type,omitempty"`
	Holder   string    `json:"holder,omitempty"`
	Seat     string    `json:"seat,omitempty"`
	Revoked  string    `json:"revoked,omitempty"`
	Passages []Passage `json:"passages"`
}

// History returns a ticket's manifest entry and records.
func (l *Ledger) History(event, serial uint64) (TicketHistory, error) {
	h := TicketHistory{Event: event, Serial: serial, Passages: []Passage{}}
	err := l.db.View(func(txn *badger.Txn) error {
		known, revoked, err := knownTicket(txn, event, serial)
		if err != nil {
			return err
		}
		if known != nil {
			h.Known, h.Type, h.Holder, h.Seat = true, known.Type, known.Holder, known.Seat
		}
		h.Revoked = revoked
		recs, err := ticketRecords(txn, event, serial)
		for i := range recs {
			r := &recs[i]
			h.Passages = append(h.Passages, Passage{Record: r.ID(), Kind: r.Kind.String(), Device: l.deviceName(r.Origin, r.HLC.Time()),
				Gate: r.Gate, At: r.HLC.Time(), Actor: r.Actor, Reason: r.Reason, Note: r.Note})
		}
		return err
	})
	return h, err
}
