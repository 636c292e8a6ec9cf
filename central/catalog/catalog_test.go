package catalog

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// concert is inside the event of testdata/venue.yaml.
var concert = time.Date(2026, 6, 12, 19, 0, 0, 0, time.UTC)

func newCatalog(t *testing.T) (*Catalog, *store.DB, *keyfile.Keys) {
	t.Helper()
	dir := t.TempDir()
	keys, err := keyfile.Init(filepath.Join(dir, "keys"), keyfile.InitOptions{Now: concert.Add(-30 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	scfg := store.DefaultConfig("", dir)
	scfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(context.Background(), scfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := DefaultConfig(db, keys)
	cfg.Clock = ticket.NewManualClock(concert.Add(-24 * time.Hour))
	cfg.TicketBatch = 2
	return New(cfg), db, keys
}

func readSpec(t *testing.T) *manifest.Spec {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "venue.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := manifest.ParseSpec(data, "yaml")
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func manifestOf(t *testing.T, db *store.DB, venue string) []byte {
	t.Helper()
	var buf bytes.Buffer
	err := db.Changes(context.Background(), venue, 0, 0, func(c store.Change) error {
		buf.Write(c.Line)
		buf.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImportVenueIsIdempotent(t *testing.T) {
	c, db, _ := newCatalog(t)
	ctx := context.Background()
	spec := readSpec(t)
	tests := []struct {
		name        string
		edit        func(*manifest.Spec)
		wantChanges int
		wantHead    uint64
	}{
		// venue, issuer, 1 event, 4 types
		{"first import", func(*manifest.Spec) {}, 7, 7},
		{"same file again", func(*manifest.Spec) {}, 0, 7},
		{"a gate added", func(s *manifest.Spec) { s.Gates = append(s.Gates, manifest.Gate{Name: "G4", Zone: 0}) }, 1, 8},
		{"a type renamed", func(s *manifest.Spec) { s.TicketTypes[0].Name = "Standing (GA)" }, 1, 9},
	}
	for _, tt := range tests {
		tt.edit(spec)
		res, err := c.ImportVenue(ctx, spec, "acme")
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if res.Changes != tt.wantChanges || res.Head != tt.wantHead {
			t.Errorf("%s: %d changes, head %d; want %d, %d", tt.name, res.Changes, res.Head, tt.wantChanges, tt.wantHead)
		}
	}
	v, err := db.Venue(ctx, "arena")
	if err != nil || len(v.Gates) != 6 || v.Organizer != "acme" {
		t.Errorf("venue = %+v, %v", v, err)
	}
	ev, err := db.Event(ctx, 1042)
	if err != nil || ev.TimeZone != "Europe/Berlin" || len(ev.Days) != 1 || ev.Days[0] != "2026-06-12" || ev.Admission.IsZero() {
		t.Errorf("event = %+v, %v", ev, err)
	}
	tt, err := db.TicketType(ctx, 1042, 2)
	if err != nil || tt.Name != "Balcony seat" {
		t.Errorf("type = %+v, %v", tt, err)
	}
}

// What central signs is what a gate's ledger accepts: the manifest of an
// imported venue with issued tickets, imported into a real ledger, admits
// an issued ticket once and refuses a revoked one.
func TestGateAdmitsWhatCentralIssued(t *testing.T) {
	c, db, keys := newCatalog(t)
	ctx := context.Background()
	if _, err := c.ImportVenue(ctx, readSpec(t), ""); err != nil {
		t.Fatal(err)
	}
	issued, err := c.IssueTickets(ctx, Issue{Event: 1042, Type: 1, Count: 5, Holder: "Guest"})
	if err != nil {
		t.Fatal(err)
	}
	if len(issued) != 5 || issued[0].Serial != 1 || issued[4].Serial != 5 {
		t.Fatalf("issued %+v", issued)
	}
	more, err := c.IssueTickets(ctx, Issue{Event: 1042, Type: 2, Count: 1})
	if err != nil || more[0].Serial != 6 {
		t.Fatalf("second issue: %+v, %v", more, err)
	}
	if err := c.RevokeTicket(ctx, 1042, 2, "refund"); err != nil {
		t.Fatal(err)
	}
	if err := c.RevokeTicket(ctx, 1042, 2, "refund"); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
	if _, err := c.IssueTickets(ctx, Issue{Event: 1042, Type: 99, Count: 1}); err == nil {
		t.Error("tickets of an unknown type were issued")
	}

	dir := filepath.Join(t.TempDir(), "gate")
	clock := ticket.NewManualClock(concert)
	lcfg := ledger.TestConfig(dir)
	lcfg.Clock = clock
	lcfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := ledger.Init(ledger.Provision{Dir: dir, Keys: keys, Device: "gate-1", Venue: "arena", Now: concert.Add(-time.Hour)}, lcfg); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(lcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	st, err := l.Import(ctx, bytes.NewReader(manifestOf(t, db, "arena")), nil)
	if err != nil {
		t.Fatalf("gate import: %v (%+v)", err, st)
	}
	// 7 setup changes, 3 batches of 2 for 5 tickets and 1 for the 6th, 1 revocation.
	if st.Applied != 12 || st.Tickets != 6 {
		t.Errorf("gate applied %d changes, %d tickets; want 12, 6", st.Applied, st.Tickets)
	}
	tests := []struct {
		code, gate string
		want       ticket.Reason
	}{
		{issued[0].Code, "G1", ticket.ReasonOK},
		{issued[0].Code, "G2", "already_used"},
		{issued[1].Code, "G1", ticket.ReasonRevoked},
		{more[0].Code, "G1", "wrong_zone"},
	}
	for _, tt := range tests {
		d, err := l.Decide(ctx, ledger.Scan{Text: tt.code, Gate: tt.gate, Direction: rules.In})
		if err != nil {
			t.Fatal(err)
		}
		if d.Reason != tt.want {
			t.Errorf("scan at %s: %s (%s), want %s", tt.gate, d.Reason, d.Detail, tt.want)
		}
	}
	tk, _ := db.Ticket(ctx, 1042, 2)
	if tk.Status != "revoked" {
		t.Errorf("ticket 2 is %s at central", tk.Status)
	}
}

func TestDays(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tests := []struct {
		starts, ends string
		want         []string
	}{
		{"2026-06-12T18:00:00Z", "2026-06-12T21:30:00Z", []string{"2026-06-12"}},
		{"2026-06-12T20:00:00Z", "2026-06-12T23:00:00Z", []string{"2026-06-12", "2026-06-13"}}, // past midnight in Berlin
		{"2026-07-01T08:00:00Z", "2026-07-03T20:00:00Z", []string{"2026-07-01", "2026-07-02", "2026-07-03"}},
		{"2026-06-12T10:00:00Z", "2026-06-12T22:00:00Z", []string{"2026-06-12"}}, // ends at local midnight
	}
	for _, tt := range tests {
		s, _ := time.Parse(time.RFC3339, tt.starts)
		e, _ := time.Parse(time.RFC3339, tt.ends)
		if got := Days(s, e, berlin); !slices.Equal(got, tt.want) {
			t.Errorf("Days(%s, %s) = %v, want %v", tt.starts, tt.ends, got, tt.want)
		}
	}
}
