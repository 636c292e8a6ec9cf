package sim

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkSystemScenario runs the standard scenarios of testdata/scenarios
// whole, at their own speed (the theatre in about three minutes, the
// festival's three days in five, the 40,000-seat stadium with 60 gates in
// about twelve), and reports what the issues set bars for: propagation to
// every gate while the venue is whole and under packet loss, the seconds
// after a heal apart, double entries while whole, records lost at the
// gates and at central, the time from a decision to central, and the
// decisions a second the mesh carried.
func BenchmarkSystemScenario(b *testing.B) {
	for _, name := range []string{"theatre", "festival", "stadium"} {
		b.Run(name, func(b *testing.B) {
			s, err := Load(filepath.Join("..", "testdata", "scenarios", name+".yaml"))
			if err != nil {
				b.Fatal(err)
			}
			for range b.N {
				res, err := Run(context.Background(), s, Options{Dir: b.TempDir()})
				if err != nil {
					b.Fatal(err)
				}
				ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
				b.ReportMetric(ms(res.Propagation.P50), "p50-ms")
				b.ReportMetric(ms(res.Propagation.P99), "p99-ms")
				if res.PropagationLoss.N > 0 {
					b.ReportMetric(ms(res.PropagationLoss.P99), "loss-p99-ms")
				}
				if res.PropagationSettling.N > 0 {
					b.ReportMetric(ms(res.PropagationSettling.P99), "settling-p99-ms")
				}
				b.ReportMetric(float64(res.DoubleConnected), "doubles-whole")
				b.ReportMetric(float64(res.Lost), "lost")
				b.ReportMetric(float64(res.Central.Lost), "lost-central")
				b.ReportMetric(ms(res.Central.Lag.P99), "central-p99-ms")
				b.ReportMetric(res.RecordsPerSecond, "decisions/s")
				if bad := res.Broken(); bad != "" {
					b.Error(bad)
				}
			}
		})
	}
}
