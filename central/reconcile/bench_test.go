package reconcile

import (
	"context"
	"encoding/binary"
	"fmt"
	"iter"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
)

// benchVenue is a festival's stored records, as central's store holds
// them: each record's bytes, sorted by ticket.
type benchVenue struct {
	facts   Facts
	arena   []byte
	ends    []int // ends[i] is where record i ends in arena
	records int
	planted map[Kind]int // conflicts made on purpose, at least
}

// newBenchVenue makes tickets×perTicket records: a two-day festival at 20
// gates; tickets of three types (in and out with re-entry; 4 entries a day
// on 2 days; single entry with an exit) go in and out, with some annulled
// entries and overrides. On purpose, 1% of the tickets enter at a second
// gate while inside, 0.5% are revoked before their last entry, and one
// gate is revoked halfway. Signatures are left zero: reconciliation reads
// records central's intake verified.
func newBenchVenue(tickets, perTicket int) *benchVenue {
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 7, 10, 8, 0, 0, 0, time.UTC)
	const (
		festival = 1
		daily    = 2
		once     = 3
	)
	v := &benchVenue{planted: map[Kind]int{}}
	v.facts = Facts{
		Location: time.UTC,
		Events:   map[uint64]manifest.Event{event: {ID: event, Starts: start, Ends: start.Add(48 * time.Hour)}},
		Types: map[TypeRef]manifest.TicketType{
			{event, festival}: {Event: event, ID: festival, Rule: rules.Rule{Reentry: true}},
			{event, daily}:    {Event: event, ID: daily, Rule: rules.Rule{Reentry: true, MaxEntriesPerDay: 4, MaxDays: 2}},
			{event, once}:     {Event: event, ID: once},
		},
		RevokedTickets: map[manifest.TicketRef]Revocation{},
		RevokedDevices: map[ticket.KeyID]Revocation{},
	}
	gates := make([]ticket.KeyID, 20)
	for i := range gates {
		binary.BigEndian.PutUint32(gates[i][:], uint32(0x10000+i))
	}
	v.facts.RevokedDevices[gates[19]] = Revocation{At: start.Add(24 * time.Hour), Reason: "stolen"}
	names := map[ticket.KeyID]string{}
	for i, g := range gates {
		names[g] = fmt.Sprintf("gate-%d", i+1)
	}
	v.facts.Names = func(id ticket.KeyID, _ time.Time) string { return names[id] } // as central's trust store does
	seq := make([]uint64, len(gates))
	prev := make([]record.Hash, len(gates))
	var buf []byte
	add := func(r *record.Record, g int) {
		seq[g]++
		r.Origin, r.Seq, r.Prev = gates[g], seq[g], prev[g]
		r.Gate = "G" + strconv.Itoa(g+1)
		b := r.Marshal()
		prev[g] = record.HashOf(b)
		buf = append(buf, b...)
		v.ends = append(v.ends, len(buf))
		v.records++
	}
	for s := range tickets {
		serial := uint64(s + 1)
		typ := []uint64{festival, festival, daily, once}[s%4]
		at := start.Add(time.Duration(rng.IntN(600)) * time.Minute)
		double, revoked := s%100 == 5, s%200 == 10 // of types festival and daily
		for k := 0; k < perTicket; k++ {
			r := record.Record{Kind: record.KindEntry, Event: event, Serial: serial, Type: typ}
			g := rng.IntN(len(gates))
			planted := k == perTicket-1 && double || k == perTicket-2 && revoked
			if planted {
				g = rng.IntN(len(gates) - 1) // not the revoked gate, whose records do not count
			}
			switch {
			case planted:
				r.Kind = record.KindEntry // for double: in again, elsewhere, while inside
				if double && k == perTicket-1 {
					v.planted[DoubleEntry]++
				}
			case k%2 == 1:
				r.Kind = record.KindExit
			case typ == once && k > 0:
				r.Kind = record.KindOverride // let in again by a supervisor
			case rng.IntN(50) == 0:
				r.Kind = record.KindOverride
			}
			if revoked && k == perTicket-2 {
				v.facts.RevokedTickets[manifest.TicketRef{Event: event, Serial: serial}] = Revocation{At: at, Reason: "refunded"}
				v.planted[RevokedTicket]++
			}
			r.HLC = record.NewHLC(at, 0)
			add(&r, g)
			if r.Kind == record.KindEntry && rng.IntN(100) == 0 && k < perTicket-2 {
				// The turnstile opened and nobody passed: the gate annuls
				// its entry, and the holder enters again.
				a := record.Record{Kind: record.KindAnnul, Event: event, Serial: serial, Type: typ,
					Note: strconv.FormatUint(seq[g], 10), HLC: record.NewHLC(at.Add(5*time.Second), 0)}
				add(&a, g)
				k++
			}
			at = at.Add(time.Duration(20+rng.IntN(200)) * time.Minute)
		}
	}
	v.arena = buf
	return v
}

// stored reads the records back, ticket by ticket, as a store would.
func (v *benchVenue) stored() iter.Seq2[record.Record, error] {
	return func(yield func(record.Record, error) bool) {
		from := 0
		for _, end := range v.ends {
			r, err := record.Unmarshal(v.arena[from:end])
			from = end
			if !yield(r, err) {
				return
			}
		}
	}
}

// BenchmarkSystemReconcile reconciles 1,000,000 stored records over
// 100,000 tickets, decoding included, five times, and reports the median
// run and the bytes allocated per record (garbage: Run keeps one ticket).
func BenchmarkSystemReconcile(b *testing.B) {
	const tickets, perTicket, runs = 100_000, 10, 5
	v := newBenchVenue(tickets, perTicket)
	r := New(v.facts, DefaultConfig())
	b.ResetTimer()
	for range b.N {
		var secs []float64
		var alloc uint64
		for range runs {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			st, err := r.Run(context.Background(), ByTicket(v.stored()), func(manifest.TicketRef, []Conflict) error { return nil })
			secs = append(secs, time.Since(start).Seconds())
			runtime.ReadMemStats(&after)
			alloc = after.TotalAlloc - before.TotalAlloc
			if err != nil {
				b.Fatal(err)
			}
			if st.Tickets != tickets || st.Records != v.records || v.records != tickets*perTicket {
				b.Fatalf("reconciled %d tickets, %d records; want %d, %d", st.Tickets, st.Records, tickets, v.records)
			}
			for k, n := range v.planted {
				if st.Conflicts[k] < n {
					b.Fatalf("found %d %s, planted %d: %v", st.Conflicts[k], k, n, st.Conflicts)
				}
			}
			if st.Conflicts[RevokedDevice] == 0 {
				b.Fatalf("no records of the revoked gate found: %v", st.Conflicts)
			}
			b.Logf("%.2f s: %v", secs[len(secs)-1], st.Conflicts)
		}
		slices.Sort(secs)
		b.ReportMetric(secs[len(secs)/2]*1e9, "ns/op") // one op is one run: the median
		b.ReportMetric(secs[len(secs)/2], "median-s")
		b.ReportMetric(float64(v.records)/secs[len(secs)/2], "records/s")
		b.ReportMetric(float64(alloc)/float64(v.records), "alloc-B/record")
	}
}

func BenchmarkTicket(b *testing.B) {
	v := newBenchVenue(1_000, 10)
	r := New(v.facts, DefaultConfig())
	var tickets [][]record.Record
	for rs, err := range ByTicket(v.stored()) {
		if err != nil {
			b.Fatal(err)
		}
		tickets = append(tickets, slices.Clone(rs))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := r.Ticket(tickets[i%len(tickets)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10, "ns/record")
}
