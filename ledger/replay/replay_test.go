package replay

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
)

var (
	gate1 = ticket.KeyID{1, 1, 1, 1}
	gate2 = ticket.KeyID{2, 2, 2, 2}
	doors = time.Date(2026, 6, 12, 17, 0, 0, 0, time.UTC)
)

func rec(origin ticket.KeyID, seq uint64, kind record.Kind, minute int, gate string) record.Record {
	return record.Record{Origin: origin, Seq: seq, HLC: record.NewHLC(doors.Add(time.Duration(minute)*time.Minute), 0),
		Kind: kind, Event: 1, Serial: 7, Gate: gate}
}

func annul(origin ticket.KeyID, seq, of uint64, minute int) record.Record {
	r := rec(origin, seq, record.KindAnnul, minute, "G1")
	r.Note = strconv.FormatUint(of, 10)
	return r
}

func names(origin ticket.KeyID, _ time.Time) string {
	switch origin {
	case gate1:
		return "gate-1"
	case gate2:
		return "gate-2"
	}
	return origin.String()
}

func TestPassage(t *testing.T) {
	r := rec(gate1, 3, record.KindOverride, 5, "G1")
	r.HLC = record.NewHLC(doors, 7)
	r.Zone = 2
	p, ok := Passage(&r, names)
	want := rules.Passage{At: doors.Add(7), Gate: "G1", Zone: 2, Origin: "gate-1", Override: true}
	if !ok || p != want {
		t.Fatalf("Passage = %+v %v, want %+v", p, ok, want)
	}
	for _, k := range []record.Kind{record.KindSale, record.KindVoid, record.KindAnnul} {
		r := rec(gate1, 3, k, 0, "G1")
		if _, ok := Passage(&r, names); ok {
			t.Errorf("a %s is a passage", k)
		}
	}
	if r := rec(ticket.KeyID{9, 9, 9, 9}, 1, record.KindExit, 0, "G1"); true {
		if p, _ := Passage(&r, KeyNames); p.Origin != "09090909" || !p.Exit {
			t.Errorf("unnamed exit = %+v", p)
		}
	}
}

func TestTicket(t *testing.T) {
	cases := []struct {
		name    string
		rule    rules.Rule
		recs    []record.Record
		want    [][2]int // record, previous
		reasons []ticket.Reason
	}{
		{"one entry", rules.Rule{}, []record.Record{rec(gate1, 1, record.KindEntry, 0, "G1")}, nil, nil},
		{"two gates, one ticket", rules.Rule{}, []record.Record{
			rec(gate2, 4, record.KindEntry, 1, "G2"),
			rec(gate1, 1, record.KindEntry, 0, "G1"),
		}, [][2]int{{0, 1}}, []ticket.Reason{ticket.ReasonAlreadyUsed}},
		{"an annulled entry is no passage", rules.Rule{}, []record.Record{
			rec(gate1, 1, record.KindEntry, 0, "G1"),
			rec(gate2, 1, record.KindEntry, 1, "G2"),
			annul(gate1, 2, 1, 0),
		}, nil, nil},
		{"an annul names its own origin's record only", rules.Rule{}, []record.Record{
			rec(gate1, 1, record.KindEntry, 0, "G1"),
			rec(gate2, 1, record.KindEntry, 1, "G2"),
			annul(gate2, 2, 1, 0), // takes back gate-2's entry, not gate-1's
		}, nil, nil},
		{"re-entry after an exit", rules.Rule{Reentry: true}, []record.Record{
			rec(gate1, 1, record.KindEntry, 0, "G1"),
			rec(gate1, 2, record.KindExit, 30, "G1"),
			rec(gate2, 1, record.KindEntry, 60, "G2"),
		}, nil, nil},
		{"an override counts but is never refused", rules.Rule{}, []record.Record{
			rec(gate1, 1, record.KindEntry, 0, "G1"),
			rec(gate2, 1, record.KindOverride, 10, "G2"),
			rec(gate2, 2, record.KindEntry, 20, "G2"),
		}, [][2]int{{2, 1}}, []ticket.Reason{ticket.ReasonAlreadyUsed}},
		{"sales and voids are no passages", rules.Rule{}, []record.Record{
			rec(gate1, 1, record.KindSale, 0, "T1"),
			rec(gate1, 2, record.KindVoid, 1, "T1"),
			rec(gate2, 1, record.KindEntry, 2, "G2"),
		}, nil, nil},
		{"an exit nobody entered for", rules.Rule{Reentry: true}, []record.Record{
			rec(gate1, 1, record.KindExit, 0, "G1"),
		}, [][2]int{{0, -1}}, []ticket.Reason{ticket.ReasonNotInside}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Ticket(tc.rule, rules.Context{}, tc.recs, names)
			var gotIdx [][2]int
			var gotR []ticket.Reason
			for _, v := range got {
				gotIdx, gotR = append(gotIdx, [2]int{v.Record, v.Previous}), append(gotR, v.Reason)
				if v.Detail == "" {
					t.Errorf("violation %+v without detail", v)
				}
			}
			if !slices.Equal(gotIdx, tc.want) || !slices.Equal(gotR, tc.reasons) {
				t.Fatalf("Ticket = %v %v, want %v %v", gotIdx, gotR, tc.want, tc.reasons)
			}
		})
	}
}

// TestTicketEqualPassages: two keys named alike (a device enrolled twice)
// record the same passage at the same instant; the violation still names
// two different records.
func TestTicketEqualPassages(t *testing.T) {
	same := func(ticket.KeyID, time.Time) string { return "gate-1" }
	recs := []record.Record{rec(gate2, 1, record.KindEntry, 0, "G1"), rec(gate1, 1, record.KindEntry, 0, "G1")}
	got := Ticket(rules.Rule{}, rules.Context{}, recs, same)
	if len(got) != 1 || got[0].Record == got[0].Previous || got[0].Previous < 0 {
		t.Fatalf("Ticket = %+v, want one violation naming both records", got)
	}
}

// TestTicketOrderIndependent shuffles one ticket's records: the violations
// name the same records, for the same reasons, every time.
func TestTicketOrderIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var recs []record.Record
	seq := map[ticket.KeyID]uint64{}
	for range 40 {
		o := []ticket.KeyID{gate1, gate2}[rng.IntN(2)]
		seq[o]++
		k := []record.Kind{record.KindEntry, record.KindEntry, record.KindExit, record.KindOverride}[rng.IntN(4)]
		r := rec(o, seq[o], k, rng.IntN(30), "G"+o.String()[:1])
		// One origin's clock never stamps two records alike.
		r.HLC = record.NewHLC(r.HLC.Time(), uint16(seq[o]))
		recs = append(recs, r)
	}
	recs = append(recs, annul(gate1, seq[gate1]+1, 1, 40))
	rule := rules.Rule{Reentry: true, MinMinutesBetween: 5}
	type found struct {
		rec, prev string
		reason    ticket.Reason
		detail    string
	}
	named := func(recs []record.Record) []found {
		var out []found
		for _, v := range Ticket(rule, rules.Context{}, recs, names) {
			f := found{rec: recs[v.Record].ID(), reason: v.Reason, detail: v.Detail}
			if v.Previous >= 0 {
				f.prev = recs[v.Previous].ID()
			}
			out = append(out, f)
		}
		return out
	}
	want := named(recs)
	if len(want) < 3 {
		t.Fatalf("only %d violations: the test shows little", len(want))
	}
	for i := range 50 {
		s := slices.Clone(recs)
		rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
		if got := named(s); !slices.Equal(got, want) {
			t.Fatalf("shuffle %d: %v, want %v", i, got, want)
		}
	}
}
