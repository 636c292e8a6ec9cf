package reconcile

import (
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
)

// fuzzRecords reads one ticket's records from data, 4 bytes a record:
// origin, kind, minute, and type or annulled sequence. Revocations come
// from the first two bytes.
func fuzzRecords(data []byte) (Facts, []record.Record) {
	f := facts()
	if len(data) >= 2 {
		f.RevokedTickets = map[manifest.TicketRef]Revocation{{Event: event, Serial: 7}: {At: doors.Add(time.Duration(data[0]) * time.Minute)}}
		f.RevokedDevices = map[ticket.KeyID]Revocation{{data[1] % 4, 1, 1, 1}: {At: doors.Add(time.Duration(data[1]) * time.Minute)}}
		data = data[2:]
	}
	origins := []ticket.KeyID{gate1, gate2, gate3, seller}
	kinds := []record.Kind{record.KindEntry, record.KindExit, record.KindOverride, record.KindVoid, record.KindSale, record.KindAnnul}
	seq := map[ticket.KeyID]uint64{}
	var out []record.Record
	for len(data) >= 4 && len(out) < 64 {
		o := origins[data[0]%4]
		seq[o] += uint64(data[0]/4%2) + 1 // gaps, and places held twice below
		b := at(o, seq[o], kinds[data[1]%6], int(data[2])-60).typ(uint64(data[3] % 5))
		if b.r.Kind == record.KindAnnul {
			if seq[o] < 2 {
				b.r.Kind = record.KindEntry
			} else {
				b.note(strconv.FormatUint(1+uint64(data[3])%(seq[o]-1), 10))
			}
		}
		out = append(out, b.r)
		if data[0]&0x80 != 0 {
			dup := b.r
			if data[0]&0x40 != 0 {
				dup.Gate = "G9" // a fork
			}
			out = append(out, dup)
		}
		data = data[4:]
	}
	return f, out
}

// FuzzTicket: whatever the records, Ticket does not fail, finds the same
// conflicts in reverse order and with every record twice, and gives each
// conflict an ID of its own, its ticket and its records.
func FuzzTicket(f *testing.F) {
	f.Add([]byte{30, 2, 0, 0, 10, 1, 1, 0, 20, 2, 1, 0})
	f.Add([]byte{0, 0, 0x80, 0, 5, 3, 0xc1, 1, 6, 3, 3, 5, 90, 0})
	f.Add([]byte{200, 7, 2, 5, 0, 0, 3, 3, 10, 0, 0, 4, 20, 3, 1, 2, 30, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		facts, recs := fuzzRecords(data)
		r := New(facts, DefaultConfig())
		got, err := r.Ticket(recs)
		if err != nil {
			t.Fatal(err)
		}
		rev := slices.Clone(recs)
		slices.Reverse(rev)
		twice := append(slices.Clone(recs), rev...)
		for _, other := range [][]record.Record{rev, twice} {
			again, err := r.Ticket(other)
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("order or repetition changed the conflicts:\n%v\n%v (%v)", summary(got), summary(again), err)
			}
		}
		ids := map[string]bool{}
		for _, c := range got {
			if ids[c.ID] || c.Event != event || c.Serial != 7 || len(c.Records) == 0 || c.Detail == "" {
				t.Fatalf("bad conflict %+v", c)
			}
			ids[c.ID] = true
		}
	})
}
