package reconcile

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ledger/replay"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
)

// TooManyRecords is a ticket with more records than Config.MaxRecords: it
// is not replayed, and ops looks at it by hand.
const TooManyRecords Kind = "too_many_records"

// Config bounds a reconciliation.
type Config struct {
	// MaxRecords is the most records of one ticket that are replayed. The
	// replay costs the square of a ticket's records (each passage is judged
	// against those before it): 10,000 take about a second, and no real
	// ticket comes near (a season pass of 100 days in and out 10 times a
	// day has 2,000). A ticket above it is one TooManyRecords conflict.
	MaxRecords int
}

// DefaultConfig is the configuration central runs with.
func DefaultConfig() Config { return Config{MaxRecords: 10_000} }

// Reconciler judges tickets' records against one set of facts. It holds
// nothing between tickets and is safe for concurrent use.
type Reconciler struct {
	cfg   Config
	facts Facts
	names replay.Namer
}

// New returns a Reconciler for the facts, which it reads and never changes;
// the caller must not change them while it runs.
func New(f Facts, cfg Config) *Reconciler {
	r := &Reconciler{cfg: cfg, facts: f, names: f.Names}
	if r.names == nil {
		r.names = replay.KeyNames
	}
	if r.cfg.MaxRecords <= 0 {
		r.cfg.MaxRecords = DefaultConfig().MaxRecords
	}
	if r.facts.Location == nil {
		r.facts.Location = time.UTC
	}
	return r
}

// ErrMixedTickets is returned by Ticket for records of several tickets.
var ErrMixedTickets = errors.New("records of more than one ticket")

// Ticket reconciles the merged records of one ticket, in any order, and
// returns every conflict they hold, in an order that depends only on the
// set of records. A record held twice (the same origin and sequence, the
// same bytes) counts once. It does not keep or modify recs.
func (r *Reconciler) Ticket(recs []record.Record) ([]Conflict, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	event, serial := recs[0].Event, recs[0].Serial
	for i := range recs {
		if recs[i].Event != event || recs[i].Serial != serial {
			return nil, fmt.Errorf("reconcile ticket %d/%d: record %s is of ticket %d/%d: %w",
				event, serial, recs[i].ID(), recs[i].Event, recs[i].Serial, ErrMixedTickets)
		}
	}
	t := ticketRun{r: r, event: event, serial: serial}
	if len(recs) > r.cfg.MaxRecords {
		t.add(Conflict{Kind: TooManyRecords, Detail: fmt.Sprintf("%d records, more than the %d reconciliation replays: look at them by hand",
			len(recs), r.cfg.MaxRecords)}, nil)
		return t.out, nil
	}
	// The ledger's own order of a ticket's records: time, origin, sequence.
	// The first record's type is the ticket's, as at the gates.
	held := t.onePerPlace(recs)
	trusted := t.revokedDevices(held)
	if len(trusted) == 0 {
		return t.out, nil
	}
	t.doubleSale(trusted)
	t.rules(trusted)
	gone := replay.Annulled(trusted)
	var entries []*record.Record // admitted by a gate's rules, not annulled
	for i := range trusted {
		if trusted[i].Kind == record.KindEntry && !gone[replay.RefOf(&trusted[i])] {
			entries = append(entries, &trusted[i])
		}
	}
	t.revokedTicket(entries)
	t.voided(trusted, entries)
	return t.out, nil
}

// doubleSale reports a ticket sold by more than one sale record, one
// conflict per ticket naming the sales in time order.
func (t *ticketRun) doubleSale(recs []record.Record) {
	var sales []*record.Record
	for i := range recs {
		if recs[i].Kind == record.KindSale {
			sales = append(sales, &recs[i])
		}
	}
	if len(sales) < 2 {
		return
	}
	names := make([]string, len(sales))
	for i, s := range sales {
		names[i] = t.describe(s) + " receipt " + fmt.Sprint(s.Money.Receipt)
	}
	t.add(Conflict{Kind: DoubleSale, Records: t.involved(sales...),
		Detail: fmt.Sprintf("sold %d times: %s; a cloned seller device or overlapping quotas", len(sales), strings.Join(names, "; "))}, nil)
}

// ticketRun is the reconciliation of one ticket.
type ticketRun struct {
	r             *Reconciler
	event, serial uint64
	out           []Conflict
}

// add completes c with the ticket and its ID and appends it; subject is
// what the ID names beside the kind and ticket.
func (t *ticketRun) add(c Conflict, subject []byte) {
	c.Event, c.Serial = t.event, t.serial
	c.ID = conflictID(c.Kind, t.event, t.serial, subject)
	t.out = append(t.out, c)
}

func (t *ticketRun) involved(recs ...*record.Record) []Involved {
	out := make([]Involved, len(recs))
	for i, rec := range recs {
		at := rec.HLC.Time()
		out[i] = Involved{Record: rec.ID(), Origin: rec.Origin, Seq: rec.Seq, Device: t.r.names(rec.Origin, at),
			Kind: rec.Kind, Gate: rec.Gate, At: at}
	}
	return out
}

func (t *ticketRun) when(at time.Time) string {
	return at.In(t.r.facts.Location).Format("2006-01-02 15:04:05.000 MST")
}

func (t *ticketRun) describe(rec *record.Record) string {
	s := rec.Kind.String()
	if rec.Gate != "" {
		s += " at gate " + rec.Gate
	}
	return s + " (device " + t.r.names(rec.Origin, rec.HLC.Time()) + ") at " + t.when(rec.HLC.Time())
}

// place is where a record sits in its origin's log, and when it was made:
// what records are sorted by, without moving the records themselves.
type place struct {
	origin ticket.KeyID
	seq    uint64
	hlc    record.HLC
	i      int // index in the records given
}

// onePerPlace returns copies of the records, one per origin and sequence,
// in the order of time, origin and sequence. Copies of one record are one;
// different records at one place are a Fork, and the one with the lowest
// hash stands for the place, so every run picks the same.
func (t *ticketRun) onePerPlace(recs []record.Record) []record.Record {
	places := make([]place, len(recs))
	for i := range recs {
		places[i] = place{recs[i].Origin, recs[i].Seq, recs[i].HLC, i}
	}
	slices.SortFunc(places, func(a, b place) int {
		return cmp.Or(bytes.Compare(a.origin[:], b.origin[:]), cmp.Compare(a.seq, b.seq), cmp.Compare(a.i, b.i))
	})
	kept := places[:0]
	for i := 0; i < len(places); {
		j := i + 1
		for j < len(places) && places[j].origin == places[i].origin && places[j].seq == places[i].seq {
			j++
		}
		if j > i+1 {
			places[i] = t.fork(recs, places[i:j])
		}
		kept = append(kept, places[i])
		i = j
	}
	slices.SortFunc(kept, func(a, b place) int {
		return cmp.Or(cmp.Compare(a.hlc, b.hlc), bytes.Compare(a.origin[:], b.origin[:]), cmp.Compare(a.seq, b.seq))
	})
	held := make([]record.Record, len(kept))
	for k, p := range kept {
		held[k] = recs[p.i]
	}
	return held
}

// fork picks the record that stands for one place held several times and
// reports a Fork when they differ.
func (t *ticketRun) fork(recs []record.Record, same []place) place {
	var distinct []*record.Record
	var at []place
	for _, p := range same {
		if !slices.ContainsFunc(distinct, func(r *record.Record) bool { return *r == recs[p.i] }) {
			distinct, at = append(distinct, &recs[p.i]), append(at, p)
		}
	}
	if len(distinct) == 1 {
		return same[0]
	}
	hashes := make([]record.Hash, len(distinct))
	order := make([]int, len(distinct))
	for k, r := range distinct {
		hashes[k], order[k] = r.Hash(), k
	}
	slices.SortFunc(order, func(a, b int) int { return bytes.Compare(hashes[a][:], hashes[b][:]) })
	sorted := make([]*record.Record, len(order))
	for k, o := range order {
		sorted[k] = distinct[o]
	}
	t.add(Conflict{Kind: Fork, Records: t.involved(sorted...),
		Detail: fmt.Sprintf("%d different records signed as %s: a cloned or restored device, or a stolen key", len(sorted), sorted[0].ID())},
		refSubject(sorted[0]))
	return at[order[0]]
}

// revokedDevices reports what revoked devices recorded after their
// revocation, one conflict per device, and returns the other records.
func (t *ticketRun) revokedDevices(held []record.Record) []record.Record {
	revoked := func(r *record.Record) bool {
		rev, ok := t.r.facts.RevokedDevices[r.Origin]
		return ok && rev.covers(r.HLC.Time())
	}
	some := false
	for i := 0; i < len(held) && !some && len(t.r.facts.RevokedDevices) > 0; i++ {
		some = revoked(&held[i])
	}
	if !some {
		return held
	}
	trusted := make([]record.Record, 0, len(held))
	by := map[ticket.KeyID][]*record.Record{}
	var origins []ticket.KeyID
	for i := range held {
		if !revoked(&held[i]) {
			trusted = append(trusted, held[i])
			continue
		}
		if by[held[i].Origin] == nil {
			origins = append(origins, held[i].Origin)
		}
		by[held[i].Origin] = append(by[held[i].Origin], &held[i])
	}
	slices.SortFunc(origins, func(a, b ticket.KeyID) int { return bytes.Compare(a[:], b[:]) })
	for _, o := range origins {
		recs, rev := by[o], t.r.facts.RevokedDevices[o]
		first := recs[0].HLC.Time()
		n := "1 record"
		if len(recs) > 1 {
			n = fmt.Sprintf("%d records", len(recs))
		}
		d := fmt.Sprintf("%s by device %s (key %s) from %s, after its revocation", n, t.r.names(o, first), o, t.when(first))
		if !rev.At.IsZero() {
			d += " at " + t.when(rev.At)
		}
		t.add(Conflict{Kind: RevokedDevice, Reason: ticket.ReasonRevoked, Records: t.involved(recs...), Detail: d + because(rev.Reason)}, o[:])
	}
	return trusted
}

// rules replays the ticket type's rule over the trusted records.
func (t *ticketRun) rules(trusted []record.Record) {
	f := &t.r.facts
	rule := f.Types[TypeRef{t.event, trusted[0].Type}].Rule // none: single entry, as at the gates
	base := rules.Context{Location: f.Location}
	if e, ok := f.Events[t.event]; ok {
		base.EventStart, base.EventEnd, base.Admission = e.Starts, e.Ends, e.Admission
	}
	for _, v := range replay.Ticket(rule, base, trusted, t.r.names) {
		c := Conflict{Kind: RuleBroken, Reason: v.Reason, Detail: v.Detail}
		if v.Reason == ticket.ReasonAlreadyUsed {
			c.Kind = DoubleEntry
		}
		c.Records = t.involved(&trusted[v.Record])
		if v.Previous >= 0 {
			c.Records = append(c.Records, t.involved(&trusted[v.Previous])...)
		}
		t.add(c, refSubject(&trusted[v.Record]))
	}
}

// revokedTicket reports the entries at or after the ticket's revocation.
func (t *ticketRun) revokedTicket(entries []*record.Record) {
	rev, ok := t.r.facts.RevokedTickets[manifest.TicketRef{Event: t.event, Serial: t.serial}]
	if !ok {
		return
	}
	var after []*record.Record
	for _, e := range entries {
		if rev.covers(e.HLC.Time()) {
			after = append(after, e)
		}
	}
	if len(after) == 0 {
		return
	}
	d := t.list(after) + ", after the ticket was revoked"
	if !rev.At.IsZero() {
		d += " at " + t.when(rev.At)
	}
	t.add(Conflict{Kind: RevokedTicket, Reason: ticket.ReasonRevoked, Records: t.involved(after...), Detail: d + because(rev.Reason)}, nil)
}

// voided reports the entries at or after the first void of the sale. As
// at the gates, a void counts only from the seller that made the sale: a
// gate checks that the void's origin signed the code, and a seller signs
// the codes it sells with its own key and records their sale, so here the
// void's origin must hold a sale record of the ticket.
func (t *ticketRun) voided(trusted []record.Record, entries []*record.Record) {
	var void *record.Record
	for i := range trusted {
		v := &trusted[i]
		if v.Kind != record.KindVoid {
			continue
		}
		sold := slices.ContainsFunc(trusted, func(r record.Record) bool { return r.Kind == record.KindSale && r.Origin == v.Origin })
		if sold {
			void = v
			break
		}
	}
	if void == nil {
		return
	}
	var after []*record.Record
	for _, e := range entries {
		if e.HLC >= void.HLC {
			after = append(after, e)
		}
	}
	if len(after) == 0 {
		return
	}
	d := t.list(after) + ", after the sale was voided: " + t.describe(void)
	t.add(Conflict{Kind: VoidedTicket, Reason: ticket.ReasonRevoked, Records: t.involved(append(after, void)...), Detail: d + because(void.Reason)}, nil)
}

func (t *ticketRun) list(recs []*record.Record) string {
	parts := make([]string, len(recs))
	for i, r := range recs {
		parts[i] = t.describe(r)
	}
	return strings.Join(parts, "; ")
}

func because(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

// Stats counts what a Run read and found.
type Stats struct {
	Tickets   int
	Records   int
	Conflicts map[Kind]int
}

// Run reconciles ticket after ticket: tickets yields the merged records of
// one ticket at a time (ByTicket groups a stream sorted by ticket), and
// each is called for every ticket with all its conflicts, none included, so
// a store can replace what it holds of the ticket (a conflict that an annul
// arriving later took back is not found again). Run stops at the first
// error of tickets, of each, or of ctx.
func (r *Reconciler) Run(ctx context.Context, tickets iter.Seq2[[]record.Record, error], each func(manifest.TicketRef, []Conflict) error) (Stats, error) {
	st := Stats{Conflicts: map[Kind]int{}}
	for recs, err := range tickets {
		if err != nil {
			return st, fmt.Errorf("reconcile: read records: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return st, fmt.Errorf("reconcile: %w", err)
		}
		if len(recs) == 0 {
			continue
		}
		cs, err := r.Ticket(recs)
		if err != nil {
			return st, fmt.Errorf("reconcile: %w", err)
		}
		st.Tickets++
		st.Records += len(recs)
		for _, c := range cs {
			st.Conflicts[c.Kind]++
		}
		ref := manifest.TicketRef{Event: recs[0].Event, Serial: recs[0].Serial}
		if err := each(ref, cs); err != nil {
			return st, fmt.Errorf("reconcile: ticket %d/%d: %w", ref.Event, ref.Serial, err)
		}
	}
	return st, nil
}

// ErrOutOfOrder is returned through ByTicket for a stream that is not
// sorted by ticket.
var ErrOutOfOrder = errors.New("records are not sorted by ticket")

// ByTicket groups a stream of records sorted by event and serial (in any
// order within a ticket) into one slice per ticket. A slice is valid until
// the next one is asked for: memory holds one ticket. A ticket that comes
// back after another is an error wrapping ErrOutOfOrder, since its records
// would be judged in two halves.
func ByTicket(recs iter.Seq2[record.Record, error]) iter.Seq2[[]record.Record, error] {
	return func(yield func([]record.Record, error) bool) {
		var buf []record.Record
		for rec, err := range recs {
			if err != nil {
				yield(nil, err)
				return
			}
			if len(buf) > 0 && (rec.Event != buf[0].Event || rec.Serial != buf[0].Serial) {
				if c := cmp.Or(cmp.Compare(rec.Event, buf[0].Event), cmp.Compare(rec.Serial, buf[0].Serial)); c < 0 {
					yield(nil, fmt.Errorf("record %s of ticket %d/%d after ticket %d/%d: %w",
						rec.ID(), rec.Event, rec.Serial, buf[0].Event, buf[0].Serial, ErrOutOfOrder))
					return
				}
				if !yield(buf, nil) {
					return
				}
				buf = buf[:0]
			}
			buf = append(buf, rec)
		}
		if len(buf) > 0 {
			yield(buf, nil)
		}
	}
}
