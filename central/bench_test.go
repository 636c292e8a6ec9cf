package central

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"testing"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/uplink"
)

// BenchmarkIntake measures records verified and stored per second: pushes
// of 5000 records (runs of 10 devices' chains, 500 each, as a gate
// uploading for its venue sends them), each checked by the last signature
// of its run and the hash chain, deduplicated and appended in one
// transaction.
func BenchmarkIntake(b *testing.B) {
	for _, d := range dialects() {
		b.Run(string(d), func(b *testing.B) {
			dsn := ""
			if d == store.Postgres {
				dsn = pg.NewDatabase(b)
			}
			f := newFixture(b, dsn)
			const devices, per = 10, 500
			keys := make([]ed25519.PrivateKey, devices)
			for i := range keys {
				keys[i], _ = f.enroll(fmt.Sprintf("gate-%d", i+1), "G1")
			}
			via, err := f.db.DeviceByName(context.Background(), "gate-1")
			if err != nil {
				b.Fatal(err)
			}
			// Every iteration pushes the next 500 records of each chain.
			chains := make([][][]byte, devices)
			for i, k := range keys {
				chains[i] = chain(b, k, per*(b.N+1), now0)
			}
			ctx := context.Background()
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				var recs [][]byte
				for i := range chains {
					recs = append(recs, chains[i][n*per:(n+1)*per]...)
				}
				resp, err := f.srv.Intake.Push(ctx, via, uplink.PushRequest{Records: recs})
				if err != nil || resp.Stored != len(recs) {
					b.Fatalf("push %d: stored %d of %d, %d refused (%v), %v", n, resp.Stored, len(recs), len(resp.Refused), resp.Refused[:min(len(resp.Refused), 1)], err)
				}
			}
			b.ReportMetric(float64(b.N*devices*per)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
