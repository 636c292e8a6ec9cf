package ledger

import (
	"context"
	"github.com/tixgate/tixgate/ledger/decision"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
)

func TestDecide(t *testing.T) {
	v := newTestVenue(t, 20)
	l := v.open("gate-1")
	stranger, err := ticket.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := ticket.Issue(ticket.Ticket{Event: 1042, Serial: 1, Type: 1}, stranger)
	otherEvent := v.code(ticket.Ticket{Event: 9, Serial: 1})
	tests := []struct {
		name, text, gate string
		dir              rules.Direction
		want             ticket.Reason
	}{
		{"standing ticket at a floor gate", v.code(ticket.Ticket{Serial: 1}), "G1", "", ticket.ReasonOK},
		{"same ticket again, other gate", v.code(ticket.Ticket{Serial: 1}), "G2", "", ticket.ReasonAlreadyUsed},
		{"standing ticket at the balcony", v.code(ticket.Ticket{Serial: 2}), "B1", "", ticket.ReasonWrongZone},
		{"balcony ticket at the balcony", v.code(ticket.Ticket{Serial: 4, Type: 2}), "B1", "", ticket.ReasonOK},
		{"zones in the code win over the type", v.code(ticket.Ticket{Serial: 3, Zones: 0b10}), "B1", "", ticket.ReasonOK},
		{"unknown gate", v.code(ticket.Ticket{Serial: 6}), "Z9", "", ticket.ReasonUnknownGate},
		{"other event", otherEvent, "G1", "", ticket.ReasonWrongEvent},
		{"forged", forged, "G1", "", ticket.ReasonUnknownIssuer},
		{"garbage", "hello world", "G1", "", ticket.ReasonMalformed},
		{"sold after the last sync", v.code(ticket.Ticket{Serial: 5000}), "G1", "", ticket.ReasonOK},
		{"exit without entry", v.code(ticket.Ticket{Serial: 7}), "G1", rules.Out, ticket.ReasonNotInside},
		{"bad direction", v.code(ticket.Ticket{Serial: 7}), "G1", "sideways", ticket.ReasonMalformed},
	}
	for _, tt := range tests {
		d := scan(t, l, tt.text, tt.gate, tt.dir)
		if d.Reason != tt.want {
			t.Errorf("%s: reason %s (%s), want %s", tt.name, d.Reason, d.Detail, tt.want)
		}
		if (d.Reason == ticket.ReasonOK) != d.OK() || (d.OK() && d.Record == "") {
			t.Errorf("%s: result %s record %q for reason %s", tt.name, d.Result, d.Record, d.Reason)
		}
	}
	// A refusal for the wrong zone names the zones, as staff know them.
	if d := scan(t, l, v.code(ticket.Ticket{Serial: 2}), "B1", ""); !strings.Contains(d.Detail, "opens Balcony") || !strings.Contains(d.Detail, "ticket opens Floor") {
		t.Errorf("wrong zone said as %q", d.Detail)
	}
	d := scan(t, l, v.code(ticket.Ticket{Serial: 1}), "G2", "")
	if d.Previous == nil || d.Previous.Gate != "G1" || d.Previous.Device != "gate-1" {
		t.Errorf("already_used names %+v, want gate G1 on gate-1", d.Previous)
	}
	if !d.Known || d.Holder != "Guest 0000001" || d.TypeName != "Standing" {
		t.Errorf("ticket details %+v", d.Ticket)
	}
	if d := scan(t, l, v.code(ticket.Ticket{Serial: 5000}), "G1", ""); d.Known {
		t.Error("a ticket missing from the manifest is reported known")
	}
}

func TestReentryAndExit(t *testing.T) {
	v := newTestVenue(t, 10)
	l := v.open("gate-1")
	code := v.code(ticket.Ticket{Serial: 5, Type: 3})
	steps := []struct {
		dir  rules.Direction
		want ticket.Reason
	}{
		{rules.In, ticket.ReasonOK},
		{rules.In, ticket.ReasonAlreadyUsed},
		{rules.Out, ticket.ReasonOK},
		{rules.Out, ticket.ReasonNotInside},
		{rules.In, ticket.ReasonOK},
	}
	for i, s := range steps {
		v.clock.Advance(time.Minute)
		if d := scan(t, l, code, "G1", s.dir); d.Reason != s.want {
			t.Errorf("step %d (%s): %s (%s), want %s", i, s.dir, d.Reason, d.Detail, s.want)
		}
	}
}

func TestRevocations(t *testing.T) {
	v := newTestVenue(t, 10)
	l := v.open("gate-1")
	// A ticket revoked after the manifest was loaded, then the issuer key.
	if _, err := l.ApplyChange(v.sign(manifest.KindRevoke, &manifest.Revoke{Tickets: []manifest.TicketRef{{Event: 1042, Serial: 2}}, Reason: "refunded"})); err != nil {
		t.Fatal(err)
	}
	if d := scan(t, l, v.code(ticket.Ticket{Serial: 2}), "G1", ""); d.Reason != ticket.ReasonRevoked || !strings.Contains(d.Detail, "refunded") {
		t.Errorf("revoked ticket: %s (%s)", d.Reason, d.Detail)
	}
	if _, err := l.ApplyChange(v.sign(manifest.KindTickets, &manifest.Tickets{Event: 1042, Tickets: []manifest.Ticket{{Serial: 3, Type: 1, Status: manifest.StatusRevoked}}})); err != nil {
		t.Fatal(err)
	}
	if d := scan(t, l, v.code(ticket.Ticket{Serial: 3}), "G1", ""); d.Reason != ticket.ReasonRevoked {
		t.Errorf("ticket listed revoked: %s (%s)", d.Reason, d.Detail)
	}
	if _, err := l.ApplyChange(v.sign(manifest.KindRevoke, &manifest.Revoke{Issuers: []ticket.KeyID{v.keys.IssuerCert.ID()}})); err != nil {
		t.Fatal(err)
	}
	if d := scan(t, l, v.code(ticket.Ticket{Serial: 6}), "G1", ""); d.Reason != ticket.ReasonRevoked {
		t.Errorf("code of a revoked issuer: %s (%s)", d.Reason, d.Detail)
	}
}

// A hundred goroutines scanning one ticket at one gate: exactly one ok.
func TestConcurrentScansOneOK(t *testing.T) {
	v := newTestVenue(t, 10)
	l := v.open("gate-1")
	for round := range 5 {
		code := v.code(ticket.Ticket{Serial: uint64(100 + round)})
		var wg sync.WaitGroup
		results := make(chan decision.Decision, 100)
		for range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := l.Decide(context.Background(), Scan{Text: code, Gate: "G1"})
				if err != nil {
					t.Error(err)
					return
				}
				results <- d
			}()
		}
		wg.Wait()
		close(results)
		ok := 0
		for d := range results {
			if d.OK() {
				ok++
			} else if d.Reason != ticket.ReasonAlreadyUsed {
				t.Errorf("refused for %s, want already_used", d.Reason)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d scans admitted, want exactly 1", round, ok)
		}
	}
}

func TestOverride(t *testing.T) {
	v := newTestVenue(t, 10)
	l := v.open("gate-1")
	code := v.code(ticket.Ticket{Serial: 1})
	scan(t, l, code, "G1", "")
	if _, err := l.OverrideScan(context.Background(), Override{Scan: Scan{Text: code, Gate: "G1"}}); err == nil {
		t.Error("override without supervisor or note accepted")
	}
	d, err := l.OverrideScan(context.Background(), Override{Scan: Scan{Text: code, Gate: "G1"}, Supervisor: "ana", Note: "wristband checked"})
	if err != nil {
		t.Fatal(err)
	}
	if !d.OK() || d.Reason != ticket.ReasonOverride || d.Record == "" {
		t.Fatalf("override: %+v", d)
	}
	recs, err := l.Records(l.Identity().ID(), 2, 1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("records: %v %d", err, len(recs))
	}
	r := mustRecord(t, recs[0])
	if r.Actor != "ana" || r.Note != "wristband checked" || r.Reason != string(ticket.ReasonAlreadyUsed) {
		t.Errorf("override record: actor %q note %q reason %q", r.Actor, r.Note, r.Reason)
	}
	// An unreadable code cannot be overridden: there is no ticket to name.
	if d, _ := l.OverrideScan(context.Background(), Override{Scan: Scan{Text: "junk", Gate: "G1"}, Supervisor: "ana", Note: "x"}); d.OK() {
		t.Error("override of junk admitted")
	}
}

func TestRotatingCodes(t *testing.T) {
	v := newTestVenue(t, 0)
	l := v.open("gate-1")
	static := v.code(ticket.Ticket{Serial: 77, Rotating: true})
	secret := ticket.EventRotationSecret(v.keys.RotationMaster, 1042)
	if d := scan(t, l, static, "G1", ""); d.Reason != ticket.ReasonStaleCode {
		t.Errorf("static part of a rotating ticket: %s", d.Reason)
	}
	old := ticket.WithRotation(static, secret, 77, concertNight.Add(-time.Minute))
	if d := scan(t, l, old, "G1", ""); d.Reason != ticket.ReasonStaleCode {
		t.Errorf("a minute-old screenshot: %s", d.Reason)
	}
	live := ticket.WithRotation(static, secret, 77, concertNight)
	if d := scan(t, l, live, "G1", ""); !d.OK() {
		t.Errorf("live code: %s (%s)", d.Reason, d.Detail)
	}
}

// A type without entry windows admits until its event ends; after, entries
// are refused outside_hours with the end in the detail, exits still pass,
// and a code with its own validity is judged by that.
func TestEventOver(t *testing.T) {
	v := newTestVenue(t, 100)
	l := v.open("gate-1")
	inside := v.code(ticket.Ticket{Serial: 1})
	if d := scan(t, l, inside, "G1", ""); !d.OK() {
		t.Fatalf("during the event: %s %s", d.Reason, d.Detail)
	}
	v.clock.Set(time.Date(2026, 6, 13, 1, 0, 0, 0, time.UTC)) // the example event ends 23:30 UTC
	d := scan(t, l, v.code(ticket.Ticket{Serial: 2}), "G1", "")
	if d.OK() || d.Reason != ticket.ReasonOutsideHours || !strings.Contains(d.Detail, "ended 2026-06-13 01:30 CEST") {
		t.Errorf("after the event: %s %q", d.Reason, d.Detail)
	}
	if d := scan(t, l, inside, "G1", rules.Out); !d.OK() {
		t.Errorf("an exit after the event: %s %s", d.Reason, d.Detail)
	}
	own := v.code(ticket.Ticket{Serial: 3, ValidUntil: time.Date(2026, 6, 14, 0, 0, 0, 0, time.UTC)})
	if d := scan(t, l, own, "G1", ""); !d.OK() {
		t.Errorf("a code valid until the 14th: %s %s", d.Reason, d.Detail)
	}
}
