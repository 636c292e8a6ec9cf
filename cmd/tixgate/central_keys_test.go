package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/edge"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/uplink"
)

// A ticket issued before an issuer key's rotation and one issued after are
// both admitted by a gate that pulled the manifest: the manifest carries
// both certificates. A code signed by a key the root never certified is
// still refused.
func TestCentralRotateIssuer(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		out, errs, code := cliAt(t, time.Now, "", append([]string{"central"}, args...)...)
		if code != 0 {
			t.Fatalf("central %s: exit %d: %s %s", strings.Join(args, " "), code, out, errs)
		}
		return out
	}
	run("venue", "import", "--data", data, "--now", filepath.Join("..", "..", "testdata", "venue.yaml"))
	before := strings.TrimSpace(run("tickets", "issue", "--data", data, "--event", "1042", "--type", "1"))
	out := run("keys", "rotate-issuer", "--data", data)
	if !strings.Contains(out, "issuer key rotated") || !strings.Contains(out, "manifest of 1 venue") || !strings.Contains(out, "stay valid") {
		t.Fatalf("rotate: %s", out)
	}
	after := strings.TrimSpace(run("tickets", "issue", "--data", data, "--event", "1042", "--type", "1"))
	c1, err1 := ticket.Parse(before)
	c2, err2 := ticket.Parse(after)
	if err1 != nil || err2 != nil || c1.Ticket.Issuer == c2.Ticket.Issuer {
		t.Fatalf("codes before and after the rotation: %v %v; issuers %s and %s, want two", err1, err2, c1.Ticket.Issuer, c2.Ticket.Issuer)
	}
	if out := run("keys", "rotate-issuer", "--data", data); strings.Contains(out, c2.Ticket.Issuer.String()+" ->") == false {
		t.Errorf("a second rotation starts from the key of the first: %s", out)
	}
	third := strings.TrimSpace(run("tickets", "issue", "--data", data, "--event", "1042", "--type", "1"))

	_, url, _ := startCentral(t, ctx, data)
	token := strings.Fields(run("devices", "add", "--data", data, "--name", "gate-1", "--gate", "G1"))[0]
	key, _ := ticket.GenerateKey(nil)
	resp, err := uplink.Enroll(ctx, nil, url, uplink.EnrollRequest{Token: token, Key: ticket.PublicOf(key)})
	if err != nil {
		t.Fatal(err)
	}
	logger := ledgertest.Logger(t, slog.LevelWarn)
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
	ucfg := uplink.DefaultConfig(url, resp.Credential)
	ucfg.Logger = logger
	c, err := uplink.New(ucfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Pull(ctx, edge.UplinkDevice(l, ticket.SystemClock{})); err != nil {
		t.Fatal(err)
	}
	forger, _ := ticket.GenerateKey(nil)
	forged, err := ticket.Issue(ticket.Ticket{Event: 1042, Serial: 99, Type: 1, Zones: c1.Ticket.Zones}, forger)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, code string
		want       ticket.Reason
	}{
		{"issued before the rotation", before, ticket.ReasonOK},
		{"issued after it", after, ticket.ReasonOK},
		{"issued after a second one", third, ticket.ReasonOK},
		{"signed by an uncertified key", forged, ticket.ReasonUnknownIssuer},
	} {
		d, err := l.Decide(ctx, ledger.Scan{Text: tc.code, Gate: "G1", Direction: rules.In})
		if err != nil {
			t.Fatal(err)
		}
		if d.Reason != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.name, d.Reason, d.Detail, tc.want)
		}
	}
}
