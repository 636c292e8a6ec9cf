package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
)

var (
	gate1  = ticket.KeyID{0x01, 1, 1, 1}
	gate2  = ticket.KeyID{0x02, 2, 2, 2}
	gate3  = ticket.KeyID{0x03, 3, 3, 3}
	seller = ticket.KeyID{0x05, 5, 5, 5}
	doors  = time.Date(2026, 6, 12, 17, 0, 0, 0, time.UTC)
)

const (
	event      = 1042
	single     = 1 // single entry
	reentry    = 3
	multiSoon  = 4 // multi entry, 30 minutes apart
	unknownTyp = 9
)

// facts is a venue with gates gate-1 to gate-3 and a seller's handheld.
func facts() Facts {
	return Facts{
		Events: map[uint64]manifest.Event{event: {ID: event, Starts: doors.Add(time.Hour), Ends: doors.Add(6 * time.Hour)}},
		Types: map[TypeRef]manifest.TicketType{
			{event, single}:    {Event: event, ID: single},
			{event, reentry}:   {Event: event, ID: reentry, Rule: rules.Rule{Reentry: true}},
			{event, multiSoon}: {Event: event, ID: multiSoon, Rule: rules.Rule{MultiEntry: true, MinMinutesBetween: 30}},
		},
		Names: func(id ticket.KeyID, _ time.Time) string {
			switch id {
			case gate1, gate2, gate3:
				return fmt.Sprintf("gate-%d", id[0])
			case seller:
				return "till-1"
			}
			return id.String()
		},
	}
}

// rb builds records of serial 7.
type rb struct{ r record.Record }

func at(origin ticket.KeyID, seq uint64, kind record.Kind, minute int) *rb {
	gate := "T1"
	if origin != seller {
		gate = fmt.Sprintf("G%d", origin[0])
	}
	prev := record.Hash{}
	if seq > 1 {
		prev[0] = byte(seq)
	}
	return &rb{record.Record{Origin: origin, Seq: seq, Prev: prev, Kind: kind, Event: event, Serial: 7, Type: single, Gate: gate,
		HLC: record.NewHLC(doors.Add(time.Duration(minute)*time.Minute), uint16(seq))}}
}

func (b *rb) typ(t uint64) *rb                         { b.r.Type = t; return b }
func (b *rb) note(n string) *rb                        { b.r.Note = n; return b }
func (b *rb) rec() record.Record                       { return b.r }
func entry(o ticket.KeyID, seq uint64, minute int) *rb { return at(o, seq, record.KindEntry, minute) }
func exit(o ticket.KeyID, seq uint64, minute int) *rb  { return at(o, seq, record.KindExit, minute) }

func annul(o ticket.KeyID, seq, of uint64, minute int) *rb {
	return at(o, seq, record.KindAnnul, minute).note(strconv.FormatUint(of, 10))
}

func recs(bs ...*rb) []record.Record {
	out := make([]record.Record, len(bs))
	for i, b := range bs {
		out[i] = b.r
	}
	return out
}

// found is what a test checks of a conflict: its kind, reason and the
// records it names.
type found struct {
	kind    Kind
	reason  ticket.Reason
	records string // origin/seq, comma-separated
}

func (f found) String() string { return fmt.Sprintf("%s/%s[%s]", f.kind, f.reason, f.records) }

func summary(cs []Conflict) []found {
	var out []found
	for _, c := range cs {
		var ids []string
		for _, r := range c.Records {
			ids = append(ids, r.Record)
		}
		out = append(out, found{c.Kind, c.Reason, strings.Join(ids, ",")})
	}
	return out
}

func id(o ticket.KeyID, seq uint64) string { return fmt.Sprintf("%s/%d", o, seq) }

func ids(parts ...string) string { return strings.Join(parts, ",") }

func TestTicket(t *testing.T) {
	revokedAt := func(min int) func(*Facts) {
		return func(f *Facts) {
			f.RevokedTickets = map[manifest.TicketRef]Revocation{{Event: event, Serial: 7}: {At: doors.Add(time.Duration(min) * time.Minute), Reason: "refunded"}}
		}
	}
	deviceRevokedAt := func(o ticket.KeyID, min int) func(*Facts) {
		return func(f *Facts) {
			f.RevokedDevices = map[ticket.KeyID]Revocation{o: {At: doors.Add(time.Duration(min) * time.Minute), Reason: "lost"}}
		}
	}
	cases := []struct {
		name  string
		facts func(*Facts)
		recs  []record.Record
		want  []found
	}{
		// Not conflicts.
		{"one entry", nil, recs(entry(gate1, 1, 0)), nil},
		{"entry and exit, single entry", nil, recs(entry(gate1, 1, 0), exit(gate2, 1, 30)), nil},
		{"re-entry the rule allows", nil, recs(
			entry(gate1, 1, 0).typ(reentry), exit(gate1, 2, 30).typ(reentry), entry(gate2, 1, 60).typ(reentry)), nil},
		{"an annulled entry, then an entry elsewhere", nil, recs(
			entry(gate1, 1, 0), annul(gate1, 2, 1, 1), entry(gate2, 1, 5)), nil},
		{"an override after an entry", nil, recs(
			entry(gate1, 1, 0), at(gate2, 1, record.KindOverride, 5)), nil},
		{"entries far enough apart", nil, recs(
			entry(gate1, 1, 0).typ(multiSoon), entry(gate2, 1, 30).typ(multiSoon)), nil},
		{"the same record uploaded twice", nil, recs(entry(gate1, 1, 0), entry(gate1, 1, 0)), nil},
		{"a sale and an entry", nil, recs(at(seller, 1, record.KindSale, -60), entry(gate1, 1, 0)), nil},

		// Serials sold twice.
		{"one serial sold twice by one seller key (a clone)", nil, recs(
			at(seller, 1, record.KindSale, -60), at(seller, 3, record.KindSale, -50)),
			[]found{{DoubleSale, "", ids(id(seller, 1), id(seller, 3))}}},
		{"one serial sold by two devices", nil, recs(
			at(gate2, 4, record.KindSale, -40), at(seller, 1, record.KindSale, -60)),
			[]found{{DoubleSale, "", ids(id(seller, 1), id(gate2, 4))}}},
		{"a sale uploaded twice", nil, recs(at(seller, 1, record.KindSale, -60), at(seller, 1, record.KindSale, -60)), nil},

		// The rules across a partition.
		{"double entry across a partition", nil, recs(entry(gate2, 1, 1), entry(gate1, 1, 0)),
			[]found{{DoubleEntry, ticket.ReasonAlreadyUsed, ids(id(gate2, 1), id(gate1, 1))}}},
		{"three gates, one ticket", nil, recs(entry(gate1, 1, 0), entry(gate2, 1, 1), entry(gate3, 1, 2)),
			[]found{
				{DoubleEntry, ticket.ReasonAlreadyUsed, ids(id(gate2, 1), id(gate1, 1))},
				{DoubleEntry, ticket.ReasonAlreadyUsed, ids(id(gate3, 1), id(gate2, 1))},
			}},
		{"in twice while inside, re-entry ticket", nil, recs(entry(gate1, 1, 0).typ(reentry), entry(gate2, 1, 3).typ(reentry)),
			[]found{{DoubleEntry, ticket.ReasonAlreadyUsed, ids(id(gate2, 1), id(gate1, 1))}}},
		{"an entry after an override counts it", nil, recs(at(gate1, 1, record.KindOverride, 0), entry(gate2, 1, 5)),
			[]found{{DoubleEntry, ticket.ReasonAlreadyUsed, ids(id(gate2, 1), id(gate1, 1))}}},
		{"an annul takes back only its own origin's entry", nil, recs(
			entry(gate1, 1, 0), entry(gate2, 1, 5), annul(gate2, 2, 1, 6)), nil},
		{"too soon across a partition", nil, recs(entry(gate1, 1, 0).typ(multiSoon), entry(gate2, 1, 10).typ(multiSoon)),
			[]found{{RuleBroken, ticket.ReasonTooSoon, ids(id(gate2, 1), id(gate1, 1))}}},
		{"an exit nobody entered for", nil, recs(exit(gate1, 1, 0).typ(reentry)),
			[]found{{RuleBroken, ticket.ReasonNotInside, id(gate1, 1)}}},
		{"a type the manifest lacks is single entry", nil, recs(entry(gate1, 1, 0).typ(unknownTyp), entry(gate2, 1, 1).typ(unknownTyp)),
			[]found{{DoubleEntry, ticket.ReasonAlreadyUsed, ids(id(gate2, 1), id(gate1, 1))}}},

		// Revoked tickets.
		{"an entry after the revocation", revokedAt(30), recs(entry(gate1, 1, 45)),
			[]found{{RevokedTicket, ticket.ReasonRevoked, id(gate1, 1)}}},
		{"an entry before the revocation", revokedAt(30), recs(entry(gate1, 1, 10)), nil},
		{"an entry at the very time of the revocation", revokedAt(30), recs(entry(gate1, 1, 30)),
			[]found{{RevokedTicket, ticket.ReasonRevoked, id(gate1, 1)}}},
		{"revoked from the beginning", func(f *Facts) {
			f.RevokedTickets = map[manifest.TicketRef]Revocation{{Event: event, Serial: 7}: {}}
		}, recs(entry(gate1, 1, -600).typ(reentry), exit(gate1, 2, -590).typ(reentry), entry(gate2, 1, 10).typ(reentry)),
			[]found{{RevokedTicket, ticket.ReasonRevoked, ids(id(gate1, 1), id(gate2, 1))}}},
		{"an override, an exit and an annulled entry on a revoked ticket", revokedAt(0), recs(
			at(gate1, 1, record.KindOverride, 10), exit(gate1, 2, 20), entry(gate2, 1, 30), annul(gate2, 2, 1, 31)), nil},
		{"a revoked ticket entered twice", revokedAt(0), recs(entry(gate1, 1, 10), entry(gate2, 1, 11)),
			[]found{
				{DoubleEntry, ticket.ReasonAlreadyUsed, ids(id(gate2, 1), id(gate1, 1))},
				{RevokedTicket, ticket.ReasonRevoked, ids(id(gate1, 1), id(gate2, 1))},
			}},

		// Voided sales.
		{"an entry after the sale was voided", nil, recs(
			at(seller, 1, record.KindSale, -60), at(seller, 2, record.KindVoid, -30), entry(gate1, 1, 0)),
			[]found{{VoidedTicket, ticket.ReasonRevoked, ids(id(gate1, 1), id(seller, 2))}}},
		{"a void from a device that did not make the sale", nil, recs(
			at(seller, 1, record.KindSale, -60), at(gate2, 1, record.KindVoid, -30), entry(gate1, 1, 0)), nil},
		{"an entry before the sale was voided", nil, recs(
			at(seller, 1, record.KindSale, -60), entry(gate1, 1, 0), at(seller, 2, record.KindVoid, 30)), nil},

		// Revoked devices.
		{"records of a device after its revocation", deviceRevokedAt(gate2, 0), recs(
			entry(gate2, 1, 5), exit(gate2, 2, 10), entry(gate1, 1, 20)),
			[]found{{RevokedDevice, ticket.ReasonRevoked, ids(id(gate2, 1), id(gate2, 2))}}},
		{"records of a device before its revocation count", deviceRevokedAt(gate2, 10), recs(
			entry(gate2, 1, 5), entry(gate1, 1, 20), exit(gate2, 2, 30)),
			[]found{
				{RevokedDevice, ticket.ReasonRevoked, id(gate2, 2)},
				{DoubleEntry, ticket.ReasonAlreadyUsed, ids(id(gate1, 1), id(gate2, 1))},
			}},
		{"a revoked device's annul takes nothing back", deviceRevokedAt(gate1, 3), recs(
			entry(gate1, 1, 0), annul(gate1, 2, 1, 5), entry(gate2, 1, 10)),
			[]found{
				{RevokedDevice, ticket.ReasonRevoked, id(gate1, 2)},
				{DoubleEntry, ticket.ReasonAlreadyUsed, ids(id(gate2, 1), id(gate1, 1))},
			}},
		{"every record of a revoked device", deviceRevokedAt(gate1, -1000), recs(entry(gate1, 1, 0)),
			[]found{{RevokedDevice, ticket.ReasonRevoked, id(gate1, 1)}}},

		// Forks.
		{"two records at one place", nil, recs(entry(gate1, 1, 0), entry(gate1, 1, 0).typ(reentry)),
			// The lower hash stands; which one it is is fixed by the bytes.
			[]found{{Fork, "", ids(id(gate1, 1), id(gate1, 1))}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := facts()
			if tc.facts != nil {
				tc.facts(&f)
			}
			before := slices.Clone(tc.recs)
			got, err := New(f, DefaultConfig()).Ticket(tc.recs)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(before, tc.recs) {
				t.Fatal("Ticket modified its records")
			}
			if s := summary(got); !slices.Equal(s, tc.want) {
				t.Fatalf("conflicts:\n got %v\nwant %v", s, tc.want)
			}
			for _, c := range got {
				if len(c.ID) != 33 || c.Event != event || c.Serial != 7 || c.Detail == "" {
					t.Errorf("conflict %+v: want an id, the ticket and a detail", c)
				}
				t.Logf("%s %s: %s", c.ID, c.Kind, c.Detail)
			}
		})
	}
}

func TestTicketDetail(t *testing.T) {
	f := facts()
	f.Location, _ = time.LoadLocation("Europe/Berlin")
	f.RevokedTickets = map[manifest.TicketRef]Revocation{{Event: event, Serial: 7}: {At: doors, Reason: "refunded"}}
	got, err := New(f, DefaultConfig()).Ticket(recs(entry(gate1, 1, 0), entry(gate2, 1, 1)))
	if err != nil || len(got) != 2 {
		t.Fatalf("Ticket = %+v, %v", got, err)
	}
	for i, want := range []string{
		"entry at gate G2 (device gate-2) at 19:01:00 CEST: already entered at gate G1 (device gate-1) at 19:00:00 CEST (1 entry allowed)",
		"entry at gate G1 (device gate-1) at 2026-06-12 19:00:00.000 CEST; entry at gate G2 (device gate-2) at 2026-06-12 19:01:00.000 CEST, after the ticket was revoked at 2026-06-12 19:00:00.000 CEST: refunded",
	} {
		if got[i].Detail != want {
			t.Errorf("detail %d:\n got %q\nwant %q", i, got[i].Detail, want)
		}
	}
	r := got[0].Records[1]
	if r.Device != "gate-1" || r.Gate != "G1" || r.Kind != record.KindEntry || !r.At.Equal(doors) || r.Origin != gate1 || r.Seq != 1 {
		t.Errorf("involved record %+v", r)
	}
}

func TestTicketRefuses(t *testing.T) {
	other := entry(gate2, 1, 0)
	other.r.Serial = 8
	_, err := New(facts(), DefaultConfig()).Ticket(recs(entry(gate1, 1, 0), other))
	if !errors.Is(err, ErrMixedTickets) {
		t.Fatalf("records of two tickets: %v", err)
	}
}

func TestTicketTooManyRecords(t *testing.T) {
	var bs []*rb
	for i := range 11 {
		bs = append(bs, entry(gate1, uint64(i+1), i))
	}
	got, err := New(facts(), Config{MaxRecords: 10}).Ticket(recs(bs...))
	if err != nil || len(got) != 1 || got[0].Kind != TooManyRecords || !strings.Contains(got[0].Detail, "11 records") {
		t.Fatalf("Ticket = %+v, %v", got, err)
	}
}

// TestIDs: reconciling again, with records arriving later, keeps the IDs
// of the conflicts already found.
func TestIDs(t *testing.T) {
	r := New(facts(), DefaultConfig())
	first, _ := r.Ticket(recs(entry(gate1, 1, 10), entry(gate2, 1, 11)))
	// A third gate's entry, earlier than both, arrives later: the entry at
	// gate 2 is still a double entry (now of the one at gate 1, now itself
	// refused), and keeps its ID.
	later, _ := r.Ticket(recs(entry(gate1, 1, 10), entry(gate2, 1, 11), entry(gate3, 1, 5)))
	if len(first) != 1 || len(later) != 2 {
		t.Fatalf("conflicts %v then %v", summary(first), summary(later))
	}
	if later[1].ID != first[0].ID || later[1].Records[0] != first[0].Records[0] {
		t.Errorf("the conflict of %s changed its id: %s → %s", first[0].Records[0].Record, first[0].ID, later[1].ID)
	}
	if later[0].ID == later[1].ID {
		t.Error("two conflicts share an id")
	}
	seen := map[string]bool{}
	for _, f := range []func(*Facts){
		nil,
		func(f *Facts) { f.RevokedTickets = map[manifest.TicketRef]Revocation{{Event: event, Serial: 7}: {}} },
		func(f *Facts) { f.RevokedDevices = map[ticket.KeyID]Revocation{gate2: {}} },
	} {
		fs := facts()
		if f != nil {
			f(&fs)
		}
		cs, _ := New(fs, DefaultConfig()).Ticket(recs(entry(gate1, 1, 10), entry(gate2, 1, 11)))
		for _, c := range cs {
			if seen[c.ID] && c.Kind != DoubleEntry {
				t.Errorf("%s: id %s taken", c.Kind, c.ID)
			}
			seen[c.ID] = true
		}
	}
}

// venue makes tickets with random histories: entries, exits, overrides
// and annuls at three gates, sales and voids, on types of every rule, some
// tickets and one gate revoked.
func venue(rng *rand.Rand, tickets int) (Facts, [][]record.Record) {
	f := facts()
	f.RevokedTickets = map[manifest.TicketRef]Revocation{}
	f.RevokedDevices = map[ticket.KeyID]Revocation{gate3: {At: doors.Add(40 * time.Minute)}}
	seq := map[ticket.KeyID]uint64{}
	var all [][]record.Record
	for s := range tickets {
		serial := uint64(s + 1)
		typ := []uint64{single, reentry, multiSoon, unknownTyp}[rng.IntN(4)]
		if rng.IntN(10) == 0 {
			f.RevokedTickets[manifest.TicketRef{Event: event, Serial: serial}] = Revocation{At: doors.Add(time.Duration(rng.IntN(60)) * time.Minute)}
		}
		var rs []record.Record
		for range 1 + rng.IntN(8) {
			o := []ticket.KeyID{gate1, gate2, gate3, seller}[rng.IntN(4)]
			seq[o]++
			kind := []record.Kind{record.KindEntry, record.KindEntry, record.KindExit, record.KindOverride, record.KindAnnul}[rng.IntN(5)]
			if o == seller {
				kind = []record.Kind{record.KindSale, record.KindVoid}[rng.IntN(2)]
			}
			b := at(o, seq[o], kind, rng.IntN(60)).typ(typ)
			if kind == record.KindAnnul {
				if seq[o] == 1 {
					b = entry(o, seq[o], rng.IntN(60)).typ(typ)
				} else {
					b.note(strconv.FormatUint(seq[o]-1-uint64(rng.IntN(int(seq[o]-1))), 10))
				}
			}
			b.r.Serial = serial
			rs = append(rs, b.r)
		}
		all = append(all, rs)
	}
	return f, all
}

// TestOrderIndependent shuffles the records of every ticket and the order
// of the tickets, and repeats records: the conflicts never change.
func TestOrderIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	f, tickets := venue(rng, 400)
	r := New(f, DefaultConfig())
	run := func(tickets [][]record.Record) map[string]Conflict {
		out := map[string]Conflict{}
		for _, rs := range tickets {
			cs, err := r.Ticket(rs)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				if _, dup := out[c.ID]; dup {
					t.Fatalf("id %s found twice", c.ID)
				}
				out[c.ID] = c
			}
		}
		return out
	}
	want := run(tickets)
	kinds := map[Kind]int{}
	for _, c := range want {
		kinds[c.Kind]++
	}
	for _, k := range []Kind{DoubleEntry, RuleBroken, RevokedTicket, VoidedTicket, RevokedDevice} {
		if kinds[k] == 0 {
			t.Fatalf("no %s among %v: the test shows little", k, kinds)
		}
	}
	for i := range 20 {
		shuffled := slices.Clone(tickets)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		for k, rs := range shuffled {
			rs = slices.Clone(rs)
			if i%2 == 1 {
				rs = append(rs, rs[rng.IntN(len(rs))])
			}
			rng.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
			shuffled[k] = rs
		}
		got := run(shuffled)
		if !maps.EqualFunc(got, want, func(a, b Conflict) bool { return reflect.DeepEqual(a, b) }) {
			t.Fatalf("shuffle %d: %d conflicts differ from the first %d", i, len(got), len(want))
		}
	}
}

// stream is a store's answer to "every record, by ticket": the records of
// each ticket in a random order.
func stream(rng *rand.Rand, tickets [][]record.Record) func(yield func(record.Record, error) bool) {
	return func(yield func(record.Record, error) bool) {
		for _, rs := range tickets {
			rs = slices.Clone(rs)
			rng.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
			for _, r := range rs {
				if !yield(r, nil) {
					return
				}
			}
		}
	}
}

func TestRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	f, tickets := venue(rng, 300)
	r := New(f, DefaultConfig())
	var want []Conflict
	records := 0
	for _, rs := range tickets {
		cs, _ := r.Ticket(rs)
		want = append(want, cs...)
		records += len(rs)
	}
	var got []Conflict
	var refs []manifest.TicketRef
	st, err := r.Run(context.Background(), ByTicket(stream(rng, tickets)), func(ref manifest.TicketRef, cs []Conflict) error {
		refs = append(refs, ref)
		got = append(got, cs...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Run found %d conflicts, Ticket by ticket %d", len(got), len(want))
	}
	if st.Tickets != len(tickets) || len(refs) != len(tickets) || st.Records != records || refs[0] != (manifest.TicketRef{Event: event, Serial: 1}) {
		t.Fatalf("stats %+v, %d calls, first %v; want %d tickets, %d records", st, len(refs), refs[0], len(tickets), records)
	}
	total := 0
	for _, n := range st.Conflicts {
		total += n
	}
	if total != len(want) {
		t.Fatalf("stats count %d conflicts, want %d", total, len(want))
	}
}

func TestRunStops(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	f, tickets := venue(rng, 50)
	r := New(f, DefaultConfig())
	boom := errors.New("disk full")
	calls := 0
	_, err := r.Run(context.Background(), ByTicket(stream(rng, tickets)), func(manifest.TicketRef, []Conflict) error {
		calls++
		if calls == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || calls != 3 {
		t.Errorf("a failing store: %v after %d calls", err, calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Run(ctx, ByTicket(stream(rng, tickets)), func(manifest.TicketRef, []Conflict) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled run: %v", err)
	}

	backwards := slices.Clone(tickets)
	backwards[10], backwards[20] = backwards[20], backwards[10]
	if _, err := r.Run(context.Background(), ByTicket(stream(rng, backwards)), func(manifest.TicketRef, []Conflict) error { return nil }); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("records out of ticket order: %v", err)
	}

	bad := errors.New("connection reset")
	failing := func(yield func(record.Record, error) bool) {
		if yield(entry(gate1, 1, 0).rec(), nil) {
			yield(record.Record{}, bad)
		}
	}
	if _, err := r.Run(context.Background(), ByTicket(failing), func(manifest.TicketRef, []Conflict) error { return nil }); !errors.Is(err, bad) {
		t.Errorf("a failing read: %v", err)
	}
}

func TestResolutionValidate(t *testing.T) {
	good := Resolution{Conflict: "c" + strings.Repeat("0a", 16), Action: Refund, By: "ops@arena", At: doors, Note: "holder's code was copied"}
	if err := good.Validate(); err != nil {
		t.Fatalf("good resolution: %v", err)
	}
	for name, change := range map[string]func(*Resolution){
		"no conflict":       func(r *Resolution) { r.Conflict = "" },
		"not hex":           func(r *Resolution) { r.Conflict = "c" + strings.Repeat("zz", 16) },
		"unknown action":    func(r *Resolution) { r.Action = "ignore" },
		"no user":           func(r *Resolution) { r.By = "" },
		"no time":           func(r *Resolution) { r.At = time.Time{} },
		"a note too long":   func(r *Resolution) { r.Note = strings.Repeat("x", MaxNoteLen+1) },
		"a note not UTF-8":  func(r *Resolution) { r.Note = "\xff" },
		"a user too long":   func(r *Resolution) { r.By = strings.Repeat("x", 129) },
		"a user not UTF-8":  func(r *Resolution) { r.By = "\xfe" },
		"upper-case digits": func(r *Resolution) { r.Conflict = strings.ToUpper(r.Conflict) },
	} {
		r := good
		change(&r)
		if err := r.Validate(); !errors.Is(err, ErrBadResolution) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestFactsApply(t *testing.T) {
	var f Facts
	lost := doors.Add(time.Hour)
	for _, body := range []any{
		&manifest.Venue{Name: "arena", TimeZone: "Europe/Berlin"},
		&manifest.Event{ID: event, Starts: doors, Ends: lost},
		&manifest.TicketType{Event: event, ID: reentry, Rule: rules.Rule{Reentry: true}},
		&manifest.Tickets{Event: event, Tickets: []manifest.Ticket{{Serial: 1}, {Serial: 2, Status: manifest.StatusRevoked}}},
		&manifest.Revoke{Tickets: []manifest.TicketRef{{Event: event, Serial: 3}}, Devices: []ticket.KeyID{gate2}, At: lost, Reason: "lost"},
		&manifest.Revoke{Devices: []ticket.KeyID{gate2}, At: lost.Add(time.Hour)},             // later: the first stands
		&manifest.Revoke{Tickets: []manifest.TicketRef{{Event: event, Serial: 3}}, At: doors}, // earlier: it stands
		&ticket.DeviceCert{Device: "gate-9"},
	} {
		f.Apply(body)
	}
	switch {
	case f.Location == nil || f.Location.String() != "Europe/Berlin":
		t.Errorf("location %v", f.Location)
	case !f.Events[event].Ends.Equal(lost) || !f.Types[TypeRef{event, reentry}].Rule.Reentry:
		t.Errorf("events %v types %v", f.Events, f.Types)
	case len(f.RevokedTickets) != 2 || !f.RevokedTickets[manifest.TicketRef{Event: event, Serial: 2}].At.IsZero():
		t.Errorf("revoked tickets %v", f.RevokedTickets)
	case !f.RevokedTickets[manifest.TicketRef{Event: event, Serial: 3}].At.Equal(doors):
		t.Errorf("ticket 3 revoked %v, want the earlier time", f.RevokedTickets[manifest.TicketRef{Event: event, Serial: 3}])
	case f.RevokedDevices[gate2] != (Revocation{At: lost, Reason: "lost"}):
		t.Errorf("revoked devices %v", f.RevokedDevices)
	}
}

// TestConflictJSON: a conflict a store writes as JSON reads back the same.
func TestConflictJSON(t *testing.T) {
	cs, err := New(facts(), DefaultConfig()).Ticket(recs(entry(gate1, 1, 0), entry(gate2, 1, 1)))
	if err != nil || len(cs) != 1 {
		t.Fatalf("Ticket = %v, %v", cs, err)
	}
	b, err := json.Marshal(cs[0])
	if err != nil {
		t.Fatal(err)
	}
	var back Conflict
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("read back %s: %v", b, err)
	}
	if !reflect.DeepEqual(back, cs[0]) {
		t.Fatalf("read back\n%+v\nwant\n%+v", back, cs[0])
	}
	for _, want := range []string{`"kind":"double_entry"`, `"reason":"already_used"`, `"kind":"entry"`, `"origin":"02020202"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	if err := json.Unmarshal([]byte(`{"records":[{"kind":"teleport"}]}`), &back); err == nil {
		t.Error("an unknown record kind read back")
	}
}
