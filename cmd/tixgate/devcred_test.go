package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/edge"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/uplink"
)

// Suspend, resume and roll with the CLI against real gates and a real
// central: the suspended gate shows it, keeps admitting, and its peer
// carries its entry to central (no manifest change: the peer's ledger
// accepts it); the rolled gate keeps its new credential on disk (0600)
// and its old one is refused from then on.
func TestDeviceSuspendResumeRoll(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	data := filepath.Join(t.TempDir(), "central")
	now := time.Now().UTC()
	venue := strings.NewReplacer("STARTS", now.Add(-time.Hour).Format(time.RFC3339), "ENDS", now.Add(24*time.Hour).Format(time.RFC3339)).Replace(`
venue: arena
time_zone: Europe/Berlin
zones: [{id: 0, name: Floor}]
gates: [{name: G1, zone: 0}, {name: G2, zone: 0}]
events: [{id: 1042, name: Concert, starts: STARTS, ends: ENDS}]
ticket_types: [{event: 1042, id: 1, name: Standing, zones: [0]}]
`)
	venueFile := filepath.Join(t.TempDir(), "venue.yaml")
	if err := os.WriteFile(venueFile, []byte(venue), 0o600); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) (string, string, int) { t.Helper(); return cliAt(t, time.Now, "", args...) }
	if out, errs, code := cli("central", "venue", "import", "--data", data, venueFile); code != 0 {
		t.Fatalf("venue import: exit %d: %s %s", code, out, errs)
	}
	out, errs, code := cli("central", "tickets", "issue", "--data", data, "--event", "1042", "--type", "1", "--count", "2")
	codes := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if code != 0 || len(codes) != 2 {
		t.Fatalf("tickets issue: exit %d: %s %s", code, out, errs)
	}
	db, centralURL, _ := startCentral(t, ctx, data)

	var nodes []*edge.Node
	var dirs []string
	for i := 1; i <= 2; i++ {
		name, gate := fmt.Sprintf("gate-%d", i), fmt.Sprintf("G%d", i)
		out, errs, code := cli("central", "devices", "add", "--data", data, "--name", name, "--gate", gate, "--url", centralURL)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) != 2 {
			t.Fatalf("devices add %s: exit %d: %s %s", name, code, out, errs)
		}
		dir := filepath.Join(t.TempDir(), name)
		if out, errs, code := cli("enroll", "--data", dir, "--code", lines[1]); code != 0 {
			t.Fatalf("enroll %s: exit %d: %s %s", name, code, out, errs)
		}
		cfg := edge.DefaultConfig(dir)
		cfg.Gate = gate
		cfg.Bind, cfg.Listen = "127.0.0.1:0", "127.0.0.1:0"
		if len(nodes) > 0 {
			cfg.Join = []string{nodes[0].MeshAddr()}
		}
		cfg.Ledger = ledger.TestConfig(dir)
		cfg.Mesh = cluster.TestConfig()
		cfg.Central = centralURL
		cfg.Uplink.Interval, cfg.Uplink.MinBackoff, cfg.Uplink.MaxBackoff = 50*time.Millisecond, 20*time.Millisecond, 100*time.Millisecond
		cfg.Uplink.RequestTimeout = 2 * time.Second
		cfg.Logger = ledgertest.Logger(t, slog.LevelError)
		n, err := edge.Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		nodes, dirs = append(nodes, n), append(dirs, dir)
	}
	head, _ := db.ManifestHead(ctx, "arena")
	ledgertest.WaitFor(t, 20*time.Second, "both gates pulled the manifest and see each other", func() bool {
		for _, n := range nodes {
			if n.Ledger().ManifestSeq() != head || n.Mesh().Stats().Members < 2 {
				return false
			}
		}
		return true
	})

	// Suspend gate-2.
	if out, errs, code := cli("central", "devices", "suspend", "--data", data, "--name", "gate-2", "--reason", "under investigation"); code != 0 || !strings.Contains(out, "suspended") {
		t.Fatalf("devices suspend: exit %d: %s %s", code, out, errs)
	}
	ledgertest.WaitFor(t, 10*time.Second, "gate-2's uplink says it is suspended by central", func() bool {
		s := nodes[1].UplinkState()
		return s.State == uplink.StateSuspended && strings.Contains(s.LastError, "suspended by central") && s.Failures > 0
	})
	// It keeps admitting, and its peer accepts its entry and uploads it.
	d, err := nodes[1].Ledger().Decide(ctx, ledger.Scan{Text: codes[0], Gate: "G2", Direction: rules.In})
	if err != nil || d.Reason != ticket.ReasonOK {
		t.Fatalf("scan at the suspended gate: %+v, %v", d, err)
	}
	origin2 := nodes[1].Ledger().Identity().ID()
	count := func(q string, args ...any) int {
		var n int
		if err := db.SQL().QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	ledgertest.WaitFor(t, 20*time.Second, "gate-1 holds gate-2's entry and central has it from gate-1", func() bool {
		vv, _ := nodes[0].Ledger().VersionVector()
		return vv[origin2] >= 1 && count("SELECT COUNT(*) FROM records WHERE origin = $1 AND via = 'gate-1'", origin2.String()) == 1
	})
	if h, _ := db.ManifestHead(ctx, "arena"); h != head {
		t.Errorf("the suspension changed the manifest: head %d, was %d", h, head)
	}
	// The device's own status API says so (between its retries: while one
	// runs it says syncing).
	var st struct{ Uplink uplink.State }
	status := func() error {
		req, _ := http.NewRequest(http.MethodGet, nodes[1].URL()+"/api/v1/status", nil)
		req.Header.Set("Authorization", "Bearer "+nodes[1].Token())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&st)
	}
	deadline := time.Now().Add(10 * time.Second)
	for err := status(); err == nil && st.Uplink.State != uplink.StateSuspended && time.Now().Before(deadline); err = status() {
		time.Sleep(20 * time.Millisecond)
	}
	if st.Uplink.State != uplink.StateSuspended || !strings.Contains(st.Uplink.LastError, "under investigation") {
		t.Errorf("gate-2's status while suspended: %+v", st.Uplink)
	}

	// Roll gate-1's credential.
	before, err := uplink.LoadCredentials(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	if out, errs, code := cli("central", "devices", "roll", "--data", data, "--name", "gate-1", "--reason", "leaked"); code != 0 {
		t.Fatalf("devices roll: exit %d: %s %s", code, out, errs)
	}
	acks := func(cred string) int {
		req, _ := http.NewRequest(http.MethodGet, centralURL+uplink.PathAcks, nil)
		req.Header.Set("Authorization", "Bearer "+cred)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var after uplink.Credentials
	ledgertest.WaitFor(t, 10*time.Second, "gate-1 rolled its credential", func() bool {
		after, err = uplink.LoadCredentials(dirs[0])
		return err == nil && after.Credential != before.Credential && !nodes[0].UplinkState().CredentialRolled.IsZero()
	})
	if fi, err := os.Stat(filepath.Join(dirs[0], uplink.CredentialsFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file: %v, %v", fi.Mode(), err)
	}
	if after.URL != before.URL || after.Venue != before.Venue || after.Gate != before.Gate {
		t.Errorf("the roll changed more than the credential: %+v, was %+v", after, before)
	}
	ledgertest.WaitFor(t, 5*time.Second, "the old credential is refused, the new one works", func() bool {
		return acks(before.Credential) == http.StatusUnauthorized && acks(after.Credential) == http.StatusOK
	})
	// The uplink goes on with the new one.
	d, err = nodes[0].Ledger().Decide(ctx, ledger.Scan{Text: codes[1], Gate: "G1", Direction: rules.In})
	if err != nil || d.Reason != ticket.ReasonOK {
		t.Fatalf("scan at gate-1: %+v, %v", d, err)
	}
	origin1 := nodes[0].Ledger().Identity().ID()
	ledgertest.WaitFor(t, 10*time.Second, "gate-1's entry reaches central after the roll", func() bool {
		return count("SELECT COUNT(*) FROM records WHERE origin = $1", origin1.String()) == 1 && nodes[0].UplinkState().State == uplink.StateOK
	})

	// Resume gate-2.
	if out, errs, code := cli("central", "devices", "resume", "--data", data, "--name", "gate-2"); code != 0 || !strings.Contains(out, "resumed") {
		t.Fatalf("devices resume: exit %d: %s %s", code, out, errs)
	}
	ledgertest.WaitFor(t, 10*time.Second, "gate-2 syncs again", func() bool { return nodes[1].UplinkState().State == uplink.StateOK })
	if _, errs, code := cli("central", "devices", "resume", "--data", data, "--name", "gate-2"); code == 0 || !strings.Contains(errs, "not suspended") {
		t.Errorf("resume of a device not suspended: exit %d: %s", code, errs)
	}
	log, err := db.AuditLog(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range log {
		seen[e.Actor+" "+e.Action+" "+e.Target] = true
	}
	for _, want := range []string{"cli device.suspend gate-2", "cli device.resume gate-2", "cli device.roll_requested gate-1", "device:gate-1 device.credential_rolled gate-1"} {
		if !seen[want] {
			t.Errorf("audit log lacks %q", want)
		}
	}

	// Revoke gate-2 (lost): central tells it at its next sync, and it
	// fails closed: /healthz 503 revoked, scans refused, kept on disk for
	// its next start.
	if out, errs, code := cli("central", "devices", "revoke", "--data", data, "--name", "gate-2", "--reason", "lost"); code != 0 {
		t.Fatalf("devices revoke: exit %d: %s %s", code, out, errs)
	}
	health := func(n *edge.Node) (int, string) {
		resp, err := http.Get(n.URL() + "/healthz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		var h struct{ State, Detail string }
		json.NewDecoder(resp.Body).Decode(&h)
		return resp.StatusCode, h.State
	}
	ledgertest.WaitFor(t, 10*time.Second, "gate-2 knows it is revoked", func() bool {
		code, state := health(nodes[1])
		return code == http.StatusServiceUnavailable && state == "revoked" && nodes[1].UplinkState().State == uplink.StateRevoked
	})
	scan := func(n *edge.Node, code string) string {
		req, _ := http.NewRequest(http.MethodPost, n.URL()+"/api/v1/scans", strings.NewReader(fmt.Sprintf(`{"code":%q}`, code)))
		req.Header.Set("Authorization", "Bearer "+n.Token())
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var d struct{ Reason string }
		json.NewDecoder(resp.Body).Decode(&d)
		return d.Reason
	}
	if r := scan(nodes[1], codes[1]); r != "not_provisioned" {
		t.Errorf("a scan at the revoked gate: %s, want not_provisioned", r)
	}
	if code, state := health(nodes[0]); code != http.StatusOK {
		t.Errorf("gate-1 after gate-2's revocation: %d %s", code, state)
	}
	if _, err := os.Stat(filepath.Join(dirs[1], edge.RevokedFile)); err != nil {
		t.Errorf("the revocation is not kept on disk: %v", err)
	}
	if log, err := db.AuditLog(ctx, 0); err != nil || !slices.ContainsFunc(log, func(e store.AuditEntry) bool {
		return e.Actor == "cli" && e.Action == "device.revoke" && e.Target == "gate-2" && e.Detail == "lost"
	}) {
		t.Errorf("the CLI's revocation is not in the audit log under cli: %v", err)
	}
}
