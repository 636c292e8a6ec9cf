package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central"
	"github.com/tixgate/tixgate/central/devices"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/edge"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
	"github.com/tixgate/tixgate/uplink"
)

// countingBody counts the bytes a response body delivers.
type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type countingTransport struct{ n *atomic.Int64 }

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		resp.Body = countingBody{resp.Body, t.n}
	}
	return resp, err
}

// BenchmarkSystemManifestPull: a fresh gate pulls a venue of 1,000,000
// tickets from central (SQLite) over HTTP and imports it into its ledger,
// verifying every change: seconds for the whole pull, and bytes on the wire.
func BenchmarkSystemManifestPull(b *testing.B) {
	const tickets, batch = 1_000_000, 1000
	ctx := context.Background()
	dir := b.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	keys, _, err := keyfile.Open(filepath.Join(dir, "keys"), keyfile.InitOptions{Now: time.Now().Add(-time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	scfg := store.DefaultConfig("", dir)
	scfg.Logger = quiet
	db, err := store.Open(ctx, scfg)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cfg := central.DefaultConfig("", db, keys)
	cfg.Logger = quiet
	srv := central.New(cfg)
	spec, err := manifest.ParseSpec([]byte(manifest.ExampleVenue), "yaml")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := srv.Catalog.ImportVenue(ctx, spec, ""); err != nil {
		b.Fatal(err)
	}
	// The tickets' manifest changes, as issuing them signs them (the codes
	// themselves are not what a pull carries).
	for first := 1; first <= tickets; first += 100 * batch {
		err := db.Update(ctx, func(tx *store.Tx) error {
			for s := first; s < first+100*batch && s <= tickets; s += batch {
				body := manifest.Tickets{Event: 1042}
				for serial := s; serial < s+batch; serial++ {
					body.Tickets = append(body.Tickets, manifest.Ticket{Serial: uint64(serial), Type: 1, Status: manifest.StatusValid, Holder: fmt.Sprintf("Guest %07d", serial)})
				}
				if _, err := srv.Catalog.Emit(tx, "arena", manifest.KindTickets, fmt.Sprintf("tickets:1042/%d", s), &body); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	head, _ := db.ManifestHead(ctx, "arena")
	b.ResetTimer()
	var wire atomic.Int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := srv.Devices.Add(ctx, devices.Device{Name: fmt.Sprintf("gate-%d", i), Role: ticket.RoleGate, Venue: "arena", Gate: "G1"})
		if err != nil {
			b.Fatal(err)
		}
		key, _ := ticket.GenerateKey(nil)
		resp, err := uplink.Enroll(ctx, nil, hs.URL, uplink.EnrollRequest{Token: s.Token, Key: ticket.PublicOf(key)})
		if err != nil {
			b.Fatal(err)
		}
		gdir := filepath.Join(b.TempDir(), "gate")
		lcfg := ledger.DefaultConfig(gdir)
		lcfg.Logger = quiet
		if err := ledger.Install(ledger.Enrollment{Dir: gdir, Key: key, Cert: resp.Cert, Root: resp.Root, MeshKey: resp.Keyring[0], GateKey: resp.GateKey}, lcfg); err != nil {
			b.Fatal(err)
		}
		l, err := ledger.Open(lcfg)
		if err != nil {
			b.Fatal(err)
		}
		ucfg := uplink.DefaultConfig(hs.URL, resp.Credential)
		ucfg.HTTP = &http.Client{Transport: countingTransport{&wire}}
		ucfg.Logger = quiet
		c, err := uplink.New(ucfg)
		if err != nil {
			b.Fatal(err)
		}
		// What serving alone costs: the same stream read and thrown away.
		req, _ := http.NewRequest(http.MethodGet, hs.URL+uplink.PathManifest+"?after=0", nil)
		req.Header.Set("Authorization", "Bearer "+resp.Credential)
		serveStart := time.Now()
		sr, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, sr.Body)
		sr.Body.Close()
		b.ReportMetric(time.Since(serveStart).Seconds(), "serve-s")
		wire.Store(0)
		b.StartTimer()
		start := time.Now()
		if err := c.Pull(ctx, edge.UplinkDevice(l, ticket.SystemClock{})); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		b.StopTimer()
		if got := l.ManifestSeq(); got < head {
			b.Fatalf("gate at change %d, central at %d", got, head)
		}
		st, _ := l.Stats()
		b.ReportMetric(took.Seconds(), "s/pull")
		b.ReportMetric(float64(wire.Load())/1e6, "MB/pull")
		b.ReportMetric(float64(st.Tickets), "tickets")
		l.Close()
	}
}
