package ledger

import (
	"bytes"
	"context"
	"github.com/tixgate/tixgate/ledger/decision"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// A test venue: an organizer's keys, a venue with two zones, a manifest,
// and a clock at 19:30 on concert night in Berlin.
var concertNight = time.Date(2026, 6, 12, 19, 30, 0, 0, time.UTC)

type testVenue struct {
	t       testing.TB
	keys    *keyfile.Keys
	spec    *manifest.Spec
	tickets int
	changes [][]byte
	clock   *ticket.ManualClock
}

func newTestVenue(t testing.TB, tickets int) *testVenue {
	t.Helper()
	keys, err := keyfile.Init(filepath.Join(t.TempDir(), "keys"), keyfile.InitOptions{Now: concertNight.Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := manifest.ParseSpec([]byte(manifest.ExampleVenue), "yaml")
	if err != nil {
		t.Fatal(err)
	}
	v := &testVenue{t: t, keys: keys, spec: spec, tickets: tickets, clock: ticket.NewManualClock(concertNight)}
	err = spec.Build(manifest.BuildOptions{
		Signer:         manifest.Signer{Key: keys.Central, Cert: &keys.CentralCert, GateKey: keys.GateKey},
		Issuers:        []ticket.IssuerCert{keys.IssuerCert},
		RotationMaster: keys.RotationMaster,
		Tickets:        tickets,
		BatchSize:      100,
	}, func(c manifest.Change) error {
		v.changes = append(v.changes, c.Marshal())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// signer signs further changes, numbered after the built manifest.
func (v *testVenue) sign(kind manifest.Kind, body any) []byte {
	v.t.Helper()
	c, err := manifest.Signer{Key: v.keys.Central, Cert: &v.keys.CentralCert, GateKey: v.keys.GateKey}.Sign(uint64(len(v.changes)+1), kind, body)
	if err != nil {
		v.t.Fatal(err)
	}
	raw := c.Marshal()
	v.changes = append(v.changes, raw)
	return raw
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// device provisions a gate's directory and returns its config.
func (v *testVenue) device(name string) Config { return v.deviceAs(name, ticket.RoleGate) }

// deviceAs provisions a device of the role and returns its config.
func (v *testVenue) deviceAs(name string, role ticket.Role) Config {
	v.t.Helper()
	dir := filepath.Join(v.t.TempDir(), name)
	cfg := TestConfig(dir)
	cfg.Clock = v.clock
	cfg.Logger = testLogger(v.t)
	err := Init(Provision{Dir: dir, Keys: v.keys, Device: name, Role: role, Venue: "arena", Now: concertNight.Add(-24 * time.Hour)}, cfg)
	if err != nil {
		v.t.Fatal(err)
	}
	return cfg
}

// openSeller provisions a seller and opens its ledger, with no manifest.
func (v *testVenue) openSeller(name string) *Ledger {
	v.t.Helper()
	l, err := Open(v.deviceAs(name, ticket.RoleSeller))
	if err != nil {
		v.t.Fatal(err)
	}
	v.t.Cleanup(func() { l.Close() })
	return l
}

// loaded provisions a device and loads the manifest into its ledger, then
// closes it, for tests that open it themselves.
func (v *testVenue) loaded(name string) Config {
	v.t.Helper()
	cfg := v.device(name)
	l, err := Open(cfg)
	if err != nil {
		v.t.Fatal(err)
	}
	v.load(l)
	if err := l.Close(); err != nil {
		v.t.Fatal(err)
	}
	return cfg
}

// open provisions a device, opens its ledger and imports the manifest.
func (v *testVenue) open(name string) *Ledger {
	v.t.Helper()
	l, err := Open(v.device(name))
	if err != nil {
		v.t.Fatal(err)
	}
	v.t.Cleanup(func() { l.Close() })
	v.load(l)
	return l
}

func (v *testVenue) load(l *Ledger) {
	v.t.Helper()
	if _, err := l.Import(context.Background(), bytes.NewReader(bytes.Join(v.changes, []byte("\n"))), nil); err != nil {
		v.t.Fatal(err)
	}
}

// code issues a code with central's issuer key. Zero fields default to the
// event and, for a ticket the manifest lists, its type; else type 1.
func (v *testVenue) code(tk ticket.Ticket) string {
	v.t.Helper()
	if tk.Event == 0 {
		tk.Event = 1042
	}
	if tk.Type == 0 {
		tk.Type = 1
		if tk.Serial <= uint64(v.tickets) {
			_, tk.Type, _ = v.spec.TypeOf(tk.Serial)
		}
	}
	c, err := ticket.Issue(tk, v.keys.Issuer)
	if err != nil {
		v.t.Fatal(err)
	}
	return c
}

func scan(t testing.TB, l *Ledger, text, gate string, dir rules.Direction) decision.Decision {
	t.Helper()
	d, err := l.Decide(context.Background(), Scan{Text: text, Gate: gate, Direction: dir})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// exchange ingests into dst every record src holds.
func exchange(t testing.TB, src, dst *Ledger) IngestStats {
	t.Helper()
	vv, err := src.VersionVector()
	if err != nil {
		t.Fatal(err)
	}
	var all [][]byte
	for origin, seq := range vv {
		recs, err := src.Records(origin, 1, int(seq))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, recs...)
	}
	for _, c := range src.trust.Devices() {
		if err := dst.AddDeviceCert(c); err != nil {
			t.Fatal(err)
		}
	}
	st, errs := dst.Ingest(all)
	for _, err := range errs {
		t.Errorf("ingest: %v", err)
	}
	return st
}

const time24h = 24 * time.Hour
