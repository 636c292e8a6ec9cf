package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central"
	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/devices"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/edge"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
	"github.com/tixgate/tixgate/uplink"
)

// cutBody ends a response after limit bytes, as a dropped connection does.
type cutBody struct {
	io.ReadCloser
	left int
}

func (c *cutBody) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n, err := c.ReadCloser.Read(p[:min(len(p), c.left)])
	c.left -= n
	return n, err
}

// A pull cut in the middle of a change keeps every whole change before it
// and resumes after it: the gate ends with the whole manifest, each change
// applied once.
func TestManifestPullResumesAfterACut(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	logger := ledgertest.Logger(t, slog.LevelWarn)
	keys, _, err := keyfile.Open(filepath.Join(dir, "keys"), keyfile.InitOptions{Now: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	scfg := store.DefaultConfig("", dir)
	scfg.Logger = logger
	db, err := store.Open(ctx, scfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := central.DefaultConfig("", db, keys)
	cfg.Logger = logger
	srv := central.New(cfg)
	spec, _ := manifest.ParseSpec([]byte(manifest.ExampleVenue), "yaml")
	if _, err := srv.Catalog.ImportVenue(ctx, spec, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Catalog.IssueTickets(ctx, catalog.Issue{Event: 1042, Type: 1, Count: 5000, Holder: "Guest"}); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	// The first pull is cut after 60% of its bytes, in the middle of a change.
	var pulls atomic.Int32
	target, _ := url.Parse(hs.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(r *http.Response) error {
		if strings.HasPrefix(r.Request.URL.Path, uplink.PathManifest) && pulls.Add(1) == 1 {
			var size int
			db.Changes(ctx, "arena", 0, 0, func(c store.Change) error { size += len(c.Line) + 1; return nil })
			r.Body = &cutBody{ReadCloser: r.Body, left: size * 6 / 10}
		}
		return nil
	}
	link := httptest.NewServer(proxy)
	defer link.Close()

	s, err := srv.Devices.Add(ctx, devices.Device{Name: "gate-1", Role: ticket.RoleGate, Venue: "arena", Gate: "G1"})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ticket.GenerateKey(nil)
	resp, err := uplink.Enroll(ctx, nil, link.URL, uplink.EnrollRequest{Token: s.Token, Key: ticket.PublicOf(key)})
	if err != nil {
		t.Fatal(err)
	}
	gdir := filepath.Join(t.TempDir(), "gate")
	lcfg := ledger.TestConfig(gdir)
	lcfg.Logger = logger
	if err := ledger.Install(ledger.Enrollment{Dir: gdir, Key: key, Cert: resp.Cert, Root: resp.Root, MeshKey: resp.Keyring[0], GateKey: resp.GateKey}, lcfg); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(lcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ucfg := uplink.DefaultConfig(link.URL, resp.Credential)
	ucfg.Logger = logger
	c, err := uplink.New(ucfg)
	if err != nil {
		t.Fatal(err)
	}
	dev := edge.UplinkDevice(l, ticket.SystemClock{})
	head, _ := db.ManifestHead(ctx, "arena")
	err = c.Pull(ctx, dev)
	if err == nil || !strings.Contains(err.Error(), "cut inside a change") {
		t.Fatalf("cut pull: %v", err)
	}
	first := l.ManifestSeq()
	if first == 0 || first >= head {
		t.Fatalf("after the cut the gate holds %d of %d changes", first, head)
	}
	if err := c.Pull(ctx, dev); err != nil {
		t.Fatalf("resumed pull: %v", err)
	}
	st, _ := l.Stats()
	if l.ManifestSeq() != head || st.Tickets != 5000 {
		t.Errorf("after resuming: change %d of %d, %d tickets", l.ManifestSeq(), head, st.Tickets)
	}
	if got := c.State(); got.ManifestHead != head {
		t.Errorf("uplink state %+v", got)
	}
}
