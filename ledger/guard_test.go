package ledger

import (
	"errors"
	"sync"
	"testing"

	"github.com/tixgate/tixgate/ticket"
)

// A gate shutting down while its mesh still hands it records from peers:
// the calls racing Close either finish or get ErrClosed, never touch the
// closed store (Badger's reads then crash the process), and the records
// acknowledged before Close are there when the ledger opens again.
func TestCloseWhileIngesting(t *testing.T) {
	v := newTestVenue(t, 10)
	src := v.open("gate-2")
	for s := range 50 {
		if d := scan(t, src, v.code(ticket.Ticket{Serial: uint64(30_000 + s)}), "G2", ""); !d.OK() {
			t.Fatal(d.Detail)
		}
	}
	vv, err := src.VersionVector()
	if err != nil {
		t.Fatal(err)
	}
	var recs [][]byte
	for origin, seq := range vv {
		r, err := src.Records(origin, 1, int(seq))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r...)
	}
	cfg := v.loaded("gate-1")
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range src.trust.Devices() {
		if err := l.AddDeviceCert(c); err != nil {
			t.Fatal(err)
		}
	}
	// Acknowledged before the race: these must survive it.
	acked, errs := l.Ingest(recs)
	if len(errs) > 0 || acked.Stored == 0 {
		t.Fatalf("ingest before Close: %+v, %v", acked, errs)
	}
	var wg sync.WaitGroup
	var closedSeen sync.Once
	sawClosed := false
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				var err error
				if g%2 == 0 {
					_, errs := l.Ingest(recs[i%len(recs) : i%len(recs)+1])
					if len(errs) > 0 {
						err = errs[0]
					}
				} else {
					_, err = l.Stats()
				}
				if errors.Is(err, ErrClosed) {
					closedSeen.Do(func() { sawClosed = true })
					return
				}
				if err != nil {
					t.Errorf("before Close: %v", err)
					return
				}
			}
		}()
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if !sawClosed {
		t.Fatal("no call saw the ledger closed")
	}
	l, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	st, err := l.Stats()
	if err != nil || st.Records < acked.Stored {
		t.Fatalf("after reopening: %d records, %v; %d were acknowledged before Close", st.Records, err, acked.Stored)
	}
}
