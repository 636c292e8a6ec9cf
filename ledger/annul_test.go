package ledger

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/ticket"
)

func TestAnnul(t *testing.T) {
	v := newTestVenue(t, 20)
	a, b := v.open("gate-1"), v.open("gate-2")
	code := v.code(ticket.Ticket{Serial: 3})
	d := scan(t, a, code, "G1", "")
	if !d.OK() {
		t.Fatalf("first scan: %s", d.Reason)
	}
	seq, _ := strconv.ParseUint(d.Record[strings.IndexByte(d.Record, '/')+1:], 10, 64)
	id, err := a.Annul(context.Background(), seq, "no_passage")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Annul(context.Background(), seq, "no_passage"); !errors.Is(err, ErrNotAnnullable) {
		t.Errorf("second annul of one entry: %v, want ErrNotAnnullable", err)
	}
	if _, err := a.Annul(context.Background(), seq+1, "no_passage"); !errors.Is(err, ErrNotAnnullable) {
		t.Errorf("annul of the annul itself: %v, want ErrNotAnnullable", err)
	}
	// The annul travels like any record: a peer that holds both lets the
	// ticket in again.
	if st := exchange(t, a, b); st.Stored != 2 {
		t.Fatalf("peer stored %d records, want the entry and its annul", st.Stored)
	}
	if d := scan(t, b, code, "G2", ""); !d.OK() {
		t.Errorf("after annul %s, at another gate: %s, want ok", id, d.Reason)
	}
	exchange(t, b, a)
	if d := scan(t, a, code, "G1", ""); d.Reason != ticket.ReasonAlreadyUsed {
		t.Errorf("after the peer's entry: %s, want already_used", d.Reason)
	}
}
