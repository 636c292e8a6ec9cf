package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
)

// The ops screens' edits sign what a gate's ledger accepts: a gate added,
// a new event and its ticket type with re-entry, tickets issued for it;
// the gate admits one at the new gate, lets it back in after an exit, and
// refuses it at a gate of another zone. Refused edits sign nothing; an
// edit that changes nothing signs nothing; each edit is in the audit log.
func TestEditsSignWhatGatesAccept(t *testing.T) {
	c, db, keys := newCatalog(t)
	ctx := context.Background()
	if _, err := c.ImportVenue(ctx, readSpec(t), ""); err != nil {
		t.Fatal(err)
	}
	head := func() uint64 {
		h, err := db.ManifestHead(ctx, "arena")
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	v, err := db.Venue(ctx, "arena")
	if err != nil {
		t.Fatal(err)
	}
	v.Gates = append(v.Gates, store.Gate{Name: "B9", Zone: 1})
	if err := c.PutVenue(ctx, "mei", v); err != nil {
		t.Fatal(err)
	}
	before := head()
	for name, bad := range map[string]store.Venue{
		"gate of no zone": {Name: "arena", TimeZone: v.TimeZone, Zones: v.Zones, Gates: []store.Gate{{Name: "X", Zone: 9}}},
		"bad time zone":   {Name: "arena", TimeZone: "Mars/Olympus", Zones: v.Zones},
		"repeated zone":   {Name: "arena", TimeZone: v.TimeZone, Zones: []store.Zone{{ID: 1, Name: "a"}, {ID: 1, Name: "b"}}},
		"unknown venue":   {Name: "stadium", TimeZone: v.TimeZone},
	} {
		if err := c.PutVenue(ctx, "mei", bad); err == nil {
			t.Errorf("%s: saved", name)
		}
	}
	if err := c.PutVenue(ctx, "mei", v); err != nil || head() != before {
		t.Errorf("the same venue again: %v, head %d, was %d", err, head(), before)
	}

	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	starts := time.Date(2026, 6, 13, 1, 0, 0, 0, shanghai) // the concert's evening in Berlin
	e, err := c.PutEvent(ctx, "mei", EventEdit{Create: true, Venue: "arena", Name: "Late show", TimeZone: "Asia/Shanghai",
		Starts: starts, Ends: starts.Add(3 * time.Hour), Admission: starts.Add(-3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != 1043 || len(e.Days) != 1 || e.Days[0] != "2026-06-13" {
		t.Errorf("new event: %+v", e)
	}
	before = head()
	for name, bad := range map[string]EventEdit{
		"taken id":        {ID: 1042, Create: true, Venue: "arena", Name: "x", TimeZone: "UTC", Starts: starts, Ends: starts.Add(time.Hour)},
		"ends before":     {Create: true, Venue: "arena", Name: "x", TimeZone: "UTC", Starts: starts, Ends: starts.Add(-time.Hour)},
		"doors after end": {Create: true, Venue: "arena", Name: "x", TimeZone: "UTC", Starts: starts, Ends: starts.Add(time.Hour), Admission: starts.Add(2 * time.Hour)},
		"no name":         {Create: true, Venue: "arena", TimeZone: "UTC", Starts: starts, Ends: starts.Add(time.Hour)},
		"bad zone":        {Create: true, Venue: "arena", Name: "x", TimeZone: "Asia/Shanghia", Starts: starts, Ends: starts.Add(time.Hour)},
		"unknown event":   {ID: 7, Venue: "arena", Name: "x", TimeZone: "UTC", Starts: starts, Ends: starts.Add(time.Hour)},
	} {
		if _, err := c.PutEvent(ctx, "mei", bad); err == nil {
			t.Errorf("%s: saved", name)
		} else if name == "taken id" && !errors.Is(err, ErrExists) {
			t.Errorf("taken id: %v, want ErrExists", err)
		}
	}
	if head() != before {
		t.Errorf("refused events signed changes: head %d, was %d", head(), before)
	}

	tt, err := c.PutTicketType(ctx, "mei", manifest.TicketType{Event: e.ID, Name: "Balcony, re-entry", Zones: []int{1}, Rule: rules.Rule{Reentry: true}}, true)
	if err != nil || tt.ID != 1 {
		t.Fatalf("new type: %+v, %v", tt, err)
	}
	if _, err := c.PutTicketType(ctx, "mei", manifest.TicketType{Event: e.ID, ID: 1, Name: "again"}, true); !errors.Is(err, ErrExists) {
		t.Errorf("a type over another: %v, want ErrExists", err)
	}
	if _, err := c.PutTicketType(ctx, "mei", manifest.TicketType{Event: e.ID, ID: 5, Name: "nope"}, false); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("editing a type that is not there: %v, want not found", err)
	}
	if _, err := c.PutTicketType(ctx, "mei", manifest.TicketType{Event: e.ID, Name: "bad", Rule: rules.Rule{Weekdays: []string{"someday"}}}, true); err == nil {
		t.Error("a rule that does not validate was saved")
	}
	issued, err := c.IssueTickets(ctx, Issue{Event: e.ID, Type: tt.ID, Count: 2, Holder: "Li Wei", By: "mei"})
	if err != nil {
		t.Fatal(err)
	}
	one, err := c.IssueTickets(ctx, Issue{Event: e.ID, Type: tt.ID, Count: 1, By: "mei"})
	if err != nil {
		t.Fatal(err)
	}
	if audit, _ := db.AuditLog(ctx, 2); len(audit) != 2 || audit[0].Detail != fmt.Sprintf("1 ticket, serial %d, holder \"\"", one[0].Serial) ||
		audit[1].Detail != fmt.Sprintf("2 tickets, serials %d-%d, holder \"Li Wei\"", issued[0].Serial, issued[1].Serial) {
		t.Errorf("the audit of the issues: %+v", audit)
	}

	dir := filepath.Join(t.TempDir(), "gate")
	clock := ticket.NewManualClock(starts.Add(-time.Hour))
	lcfg := ledger.TestConfig(dir)
	lcfg.Clock = clock
	lcfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := ledger.Init(ledger.Provision{Dir: dir, Keys: keys, Device: "gate-9", Venue: "arena", Now: concert.Add(-time.Hour)}, lcfg); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(lcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if st, err := l.Import(ctx, bytes.NewReader(manifestOf(t, db, "arena")), nil); err != nil {
		t.Fatalf("gate import: %v (%+v)", err, st)
	}
	for _, step := range []struct {
		gate string
		dir  rules.Direction
		want ticket.Reason
	}{
		{"B9", rules.In, ticket.ReasonOK},
		{"B9", rules.Out, ticket.ReasonOK},
		{"B9", rules.In, ticket.ReasonOK}, // re-entry
		{"G1", rules.In, "wrong_zone"},
	} {
		d, err := l.Decide(ctx, ledger.Scan{Text: issued[0].Code, Gate: step.gate, Direction: step.dir})
		if err != nil {
			t.Fatal(err)
		}
		if d.Reason != step.want {
			t.Errorf("%s %v: %s (%s), want %s", step.gate, step.dir, d.Reason, d.Detail, step.want)
		}
		clock.Advance(time.Minute)
	}
	audit, err := db.AuditLog(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range audit {
		got = append(got, a.Action)
	}
	if want := "tickets.issue tickets.issue ticket_type.put event.put venue.put venue.put"; strings.Join(got, " ") != want {
		t.Errorf("audit log %q, want %q", strings.Join(got, " "), want)
	}
}
