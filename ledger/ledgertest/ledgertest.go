// Package ledgertest builds venues for tests of the packages above the
// ledger: an organizer's keys, a signed manifest, devices with real ledgers
// on disk. It is for tests only and must never be imported by a program.
package ledgertest

import (
	"bytes"
	"context"
	"fmt"
	"github.com/tixgate/tixgate/ledger/decision"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// Event is the id of manifest.ExampleVenue's event, which the venues here
// hold.
const Event = 1042

// Venue is an organizer with keys and a signed manifest. The event runs
// from an hour before the venue was made to a day after, on the wall clock.
type Venue struct {
	TB      testing.TB
	Keys    *keyfile.Keys
	Changes [][]byte
	Dir     string
	Spec    *manifest.Spec
	Tickets int // the manifest lists serials 1..Tickets
}

// NewVenue makes a venue whose manifest lists tickets 1..tickets.
func NewVenue(tb testing.TB, tickets int) *Venue {
	tb.Helper()
	dir := tb.TempDir()
	now := time.Now()
	keys, err := keyfile.Init(filepath.Join(dir, "keys"), keyfile.InitOptions{Now: now.Add(-24 * time.Hour)})
	if err != nil {
		tb.Fatal(err)
	}
	spec, err := manifest.ParseSpec([]byte(manifest.ExampleVenue), "yaml")
	if err != nil {
		tb.Fatal(err)
	}
	spec.Events[0].Starts, spec.Events[0].Ends = now.Add(-time.Hour).UTC(), now.Add(24*time.Hour).UTC()
	v := &Venue{TB: tb, Keys: keys, Dir: dir, Spec: spec, Tickets: tickets}
	err = spec.Build(manifest.BuildOptions{
		Signer:         manifest.Signer{Key: keys.Central, Cert: &keys.CentralCert, GateKey: keys.GateKey},
		Issuers:        []ticket.IssuerCert{keys.IssuerCert},
		RotationMaster: keys.RotationMaster,
		Tickets:        tickets,
	}, func(c manifest.Change) error {
		v.Changes = append(v.Changes, c.Marshal())
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// Manifest is the manifest as an NDJSON file's bytes.
func (v *Venue) Manifest() []byte { return append(bytes.Join(v.Changes, []byte("\n")), '\n') }

// Sign appends a change to the manifest and returns it.
func (v *Venue) Sign(kind manifest.Kind, body any) []byte {
	v.TB.Helper()
	c, err := manifest.Signer{Key: v.Keys.Central, Cert: &v.Keys.CentralCert, GateKey: v.Keys.GateKey}.Sign(uint64(len(v.Changes)+1), kind, body)
	if err != nil {
		v.TB.Fatal(err)
	}
	raw := c.Marshal()
	v.Changes = append(v.Changes, raw)
	return raw
}

// Config is the ledger configuration devices of the venue open with: small
// Badger files, no fsync, logs to the test.
func (v *Venue) Config(dir string) ledger.Config {
	cfg := ledger.TestConfig(dir)
	cfg.MemTableSize = 2 << 20
	cfg.BlockCacheSize = 1 << 20
	cfg.IndexCacheSize = 1 << 20
	cfg.Logger = Logger(v.TB, slog.LevelWarn)
	return cfg
}

// Provision makes a device directory for name and returns its path.
func (v *Venue) Provision(name string) string {
	v.TB.Helper()
	dir := filepath.Join(v.TB.TempDir(), name)
	err := ledger.Init(ledger.Provision{Dir: dir, Keys: v.Keys, Device: name, Venue: "arena", Now: time.Now().Add(-time.Hour)}, v.Config(dir))
	if err != nil {
		v.TB.Fatal(err)
	}
	return dir
}

// Open provisions a device, opens its ledger and loads the manifest. The
// ledger is closed when the test ends.
func (v *Venue) Open(name string) *ledger.Ledger {
	v.TB.Helper()
	l := v.OpenDir(v.Provision(name))
	v.Load(l)
	return l
}

// OpenDir opens a provisioned device directory.
func (v *Venue) OpenDir(dir string) *ledger.Ledger {
	v.TB.Helper()
	l, err := ledger.Open(v.Config(dir))
	if err != nil {
		v.TB.Fatal(err)
	}
	v.TB.Cleanup(func() { l.Close() })
	return l
}

// Load imports the manifest into a ledger.
func (v *Venue) Load(l *ledger.Ledger) {
	v.TB.Helper()
	if _, err := l.Import(context.Background(), bytes.NewReader(v.Manifest()), nil); err != nil {
		v.TB.Fatal(err)
	}
}

// Code issues a ticket's code with central's issuer key; zero fields of t
// default to the venue's event and the type the manifest gives the serial
// (type 1, Standing, for a serial it does not list).
func (v *Venue) Code(t ticket.Ticket) string {
	v.TB.Helper()
	if t.Event == 0 {
		t.Event = Event
	}
	if t.Type == 0 {
		t.Type = 1
		if t.Serial <= uint64(v.Tickets) {
			_, t.Type, _ = v.Spec.TypeOf(t.Serial)
		}
	}
	c, err := ticket.Issue(t, v.Keys.Issuer)
	if err != nil {
		v.TB.Fatal(err)
	}
	return c
}

// GateFor names a gate that opens the zones of the type the manifest gives
// the serial, preferring G1, so a test that scans "some ticket" scans it
// where it belongs.
func (v *Venue) GateFor(serial uint64) string {
	v.TB.Helper()
	_, typ, ok := v.Spec.TypeOf(serial)
	if !ok || serial > uint64(v.Tickets) {
		return "G1"
	}
	for _, tt := range v.Spec.TicketTypes {
		if tt.ID != typ {
			continue
		}
		for _, g := range v.Spec.Gates {
			if slices.Contains(tt.Zones, g.Zone) {
				return g.Name
			}
		}
	}
	v.TB.Fatalf("no gate opens the zones of ticket %d's type %d", serial, typ)
	return ""
}

// Scan decides a scan and fails the test on error.
func Scan(tb testing.TB, l *ledger.Ledger, code, gate string) decision.Decision {
	tb.Helper()
	d, err := l.Decide(context.Background(), ledger.Scan{Text: code, Gate: gate})
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// Logger logs to the test at level and above, and stops when the test
// ends: background goroutines may outlive it.
func Logger(tb testing.TB, level slog.Level) *slog.Logger {
	w := &tbWriter{tb: tb}
	tb.Cleanup(func() { w.done.Store(true) })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type tbWriter struct {
	tb   testing.TB
	done atomic.Bool
}

func (w *tbWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.tb.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

// WaitFor polls cond until it holds or timeout passes, then fails the test
// with what.
func WaitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("after %s: %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Describe names a decision for messages.
func Describe(d decision.Decision) string {
	return fmt.Sprintf("%s/%s (%s)", d.Result, d.Reason, d.Detail)
}
