package cluster

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ticket"
)

// BenchmarkSystemRepair: a gate of a venue of 1,000,000 tickets that had
// made 100,000 records loses its store (Badger's MANIFEST removed) and is
// rebuilt from one peer: the manifest and every record fetched, verified
// and stored, until the ledger proves it holds what its marker says.
func BenchmarkSystemRepair(b *testing.B) {
	const tickets, records = 1_000_000, 100_000
	v := ledgertest.NewVenue(b, tickets)
	for range b.N {
		b.StopTimer()
		// The gate: its own records, chained and signed as it made them.
		recs := signedRecords(b, v, "gate-2", records)
		gate := v.OpenDir(recs.dir)
		v.Load(gate)
		if st, errs := gate.Ingest(recs.raws); len(errs) > 0 || st.Stored != records {
			b.Fatalf("the gate's own records: %+v %v", st, errs[:min(3, len(errs))])
		}
		if err := gate.Close(); err != nil {
			b.Fatal(err)
		}
		// The peer holds the manifest and the gate's records.
		c := &cluster{t: b, venue: v, net: newNetwork()}
		peer := c.add("gate-1")
		if err := peer.ledger.AddDeviceCert(recs.cert); err != nil {
			b.Fatal(err)
		}
		if st, errs := peer.ledger.Ingest(recs.raws); len(errs) > 0 || st.Stored != records {
			b.Fatalf("ingest at the peer: %+v %v", st, errs[:min(3, len(errs))])
		}
		if err := os.Remove(filepath.Join(recs.dir, "db", "MANIFEST")); err != nil {
			b.Fatal(err)
		}
		lcfg := v.Config(recs.dir)
		mcfg := TestConfig()
		mcfg.Name = "gate-2"
		mcfg.Keyring = [][]byte{v.Keys.MeshKey}
		mcfg.Logger = ledgertest.Logger(b, 0)
		mcfg.Meta = NodeMeta{Device: "gate-2", Role: "gate", Venue: "arena", Version: "bench"}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		b.StartTimer()
		start := time.Now()
		l, m, err := Repair(ctx, lcfg, mcfg, []string{peer.mesh.Addr()})
		took := time.Since(start)
		b.StopTimer()
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		if d := ledgertest.Scan(b, l, v.Code(ticket.Ticket{Serial: 200_000}), v.GateFor(200_000)); d.Reason != ticket.ReasonAlreadyUsed {
			b.Errorf("a ticket used before the damage: %s after repair", d.Reason)
		}
		b.ReportMetric(took.Seconds(), "repair-s")
		b.ReportMetric(float64(records)/took.Seconds(), "records/s")
		m.Shutdown()
		l.Close()
		peer.mesh.Shutdown()
	}
}
