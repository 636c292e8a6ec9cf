package reconcile

import (
	"bytes"
	"testing"

	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ledger/replay"
	"github.com/tixgate/tixgate/ticket"
)

// TestAgreesWithTheGates: two real gates that cannot see each other admit
// one ticket; once their logs merge, the gates find a conflict, and central,
// reconciling the same records with facts built from the same manifest,
// finds the same one, word for word.
func TestAgreesWithTheGates(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	g1, g2 := v.Open("gate-1"), v.Open("gate-2")
	code := v.Code(ticket.Ticket{Serial: 3})
	for _, g := range []struct {
		l    *ledger.Ledger
		gate string
	}{{g1, "G1"}, {g2, "G2"}} {
		if d := ledgertest.Scan(t, g.l, code, g.gate); !d.OK() {
			t.Fatalf("partitioned gate %s: %s", g.gate, ledgertest.Describe(d))
		}
	}
	all := append(allRecords(t, g1), allRecords(t, g2)...)
	for _, l := range []*ledger.Ledger{g1, g2} {
		for _, c := range append(g1.DeviceCerts(), g2.DeviceCerts()...) {
			if err := l.AddDeviceCert(c); err != nil {
				t.Fatal(err)
			}
		}
		if _, errs := l.Ingest(all); len(errs) > 0 {
			t.Fatal(errs)
		}
	}
	gates, err := g1.Conflicts()
	if err != nil || len(gates) != 1 {
		t.Fatalf("the gates found %v, %v", gates, err)
	}

	// Central's side: facts from the manifest, names from the same
	// certificates, the records as uploaded.
	trust := ticket.NewTrustStore(v.Keys.RootPublic())
	for _, c := range g1.DeviceCerts() {
		if err := trust.AddDevice(c); err != nil {
			t.Fatal(err)
		}
	}
	f := Facts{Names: replay.TrustNames(trust)}
	for _, line := range bytes.Split(bytes.TrimSpace(v.Manifest()), []byte("\n")) {
		c, err := manifest.Parse(line)
		if err != nil {
			t.Fatal(err)
		}
		body, err := c.Decode()
		if err != nil {
			t.Fatal(err)
		}
		f.Apply(body)
	}
	var recs []record.Record
	for _, raw := range all {
		r, err := record.Unmarshal(raw)
		if err != nil {
			t.Fatal(err)
		}
		if r.Serial == 3 {
			recs = append(recs, r)
		}
	}
	got, err := New(f, DefaultConfig()).Ticket(recs)
	if err != nil || len(got) != 1 {
		t.Fatalf("central found %+v, %v", got, err)
	}
	c, want := got[0], gates[0]
	if c.Kind != DoubleEntry || c.Reason != want.Reason || c.Detail != want.Detail ||
		c.Records[0].Record != want.Second.Record || c.Records[1].Record != want.First.Record ||
		c.Records[0].Device != want.Second.Device || c.Records[1].Device != want.First.Device {
		t.Fatalf("central and the gates disagree:\ncentral %+v\ngates   %+v", c, want)
	}
}

func allRecords(t *testing.T, l *ledger.Ledger) [][]byte {
	t.Helper()
	vv, err := l.VersionVector()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for origin, seq := range vv {
		recs, err := l.Records(origin, 1, int(seq))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, recs...)
	}
	return out
}
