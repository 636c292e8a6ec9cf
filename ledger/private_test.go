package ledger

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tixgate/tixgate/ticket"
)

// A seller keeps no holder's name and no rotation secret, even when handed
// the whole manifest; a gate refuses a change without the private part it
// needs, and takes the whole one after.
func TestPrivatePartByRole(t *testing.T) {
	v := newTestVenue(t, 300)
	seller := v.openSeller("seller-1")
	v.load(seller)
	stored, err := seller.ManifestChanges(1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(v.changes) {
		t.Fatalf("the seller holds %d of %d changes", len(stored), len(v.changes))
	}
	for _, raw := range stored {
		if bytes.Contains(raw, []byte("Guest 0")) || bytes.Contains(raw, []byte(`"private"`)) {
			t.Fatalf("the seller stored private data: %.200s", raw)
		}
	}

	gate, err := Open(v.device("gate-1"))
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()
	incomplete := 0
	for i, raw := range v.changes {
		if !bytes.Equal(raw, stored[i]) {
			if _, err := gate.ApplyChange(stored[i]); !errors.Is(err, ErrIncomplete) {
				t.Fatalf("change %d without its private part: %v, want ErrIncomplete", i+1, err)
			}
			if gate.ManifestSeq() != uint64(i) {
				t.Fatalf("the gate moved to %d on an incomplete change", gate.ManifestSeq())
			}
			incomplete++
		}
		if _, err := gate.ApplyChange(raw); err != nil {
			t.Fatalf("change %d: %v", i+1, err)
		}
	}
	if incomplete < 2 { // the event's secret, and each ticket batch
		t.Fatalf("%d changes had a private part", incomplete)
	}
	// A redacted copy of a change already applied is a duplicate, not a fork.
	if st, err := gate.ApplyChange(stored[len(stored)-1]); err != nil || st != Duplicate {
		t.Errorf("a redacted copy of an applied change: %v %v", st, err)
	}
	d := scan(t, gate, v.code(ticket.Ticket{Serial: 7}), "G1", "")
	if d.Ticket == nil || d.Ticket.Holder != "Guest 0000007" {
		t.Errorf("the gate shows holder %+v", d.Ticket)
	}
	d = scan(t, seller, v.code(ticket.Ticket{Serial: 8}), "G1", "")
	if d.Ticket != nil && d.Ticket.Holder != "" {
		t.Errorf("the seller knows the holder: %q", d.Ticket.Holder)
	}
}

// The version vector kept in memory is the one in Badger, through own
// decisions, records held behind a gap, the gap filled, and a reindex.
func TestVersionVectorInMemory(t *testing.T) {
	v := newTestVenue(t, 10)
	g1, g2 := v.open("gate-1"), v.open("gate-2")
	same := func(when string, l *Ledger) {
		t.Helper()
		got, err := l.VersionVector()
		if err != nil {
			t.Fatal(err)
		}
		want, err := l.readVersionVector()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: in memory %v, in Badger %v", when, got, want)
		}
		for o, s := range want {
			if got[o] != s {
				t.Fatalf("%s: in memory %v, in Badger %v", when, got, want)
			}
		}
	}
	same("fresh", g1)
	for s := uint64(1); s <= 5; s++ {
		if d := scan(t, g1, v.code(ticket.Ticket{Serial: s + 100}), "G1", ""); !d.OK() {
			t.Fatal(d.Detail)
		}
	}
	same("after decisions", g1)
	recs, err := g1.Records(g1.Identity().ID(), 1, 100)
	if err != nil || len(recs) != 5 {
		t.Fatalf("records: %d, %v", len(recs), err)
	}
	if err := g2.AddDeviceCert(g1.Identity().Cert); err != nil {
		t.Fatal(err)
	}
	if _, errs := g2.Ingest(recs[3:]); len(errs) > 0 {
		t.Fatal(errs)
	}
	same("records held behind a gap", g2)
	if vv, _ := g2.VersionVector(); vv[g1.Identity().ID()] != 0 {
		t.Fatalf("held records counted in the head: %v", vv)
	}
	if _, errs := g2.Ingest(recs[:3]); len(errs) > 0 {
		t.Fatal(errs)
	}
	same("gap filled", g2)
	if vv, _ := g2.VersionVector(); vv[g1.Identity().ID()] != 5 {
		t.Fatalf("after the gap filled: %v", vv)
	}
	if err := g2.Reindex(t.Context()); err != nil {
		t.Fatal(err)
	}
	same("after reindex", g2)
}
