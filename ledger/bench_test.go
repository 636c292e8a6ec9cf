package ledger

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// The figures of the ledger: a million tickets, durable writes.
const benchTickets = 1_000_000

// benchSpec is the venue the benchmark manifest is built from.
var benchSpec = func() *manifest.Spec {
	s, err := manifest.ParseSpec([]byte(manifest.ExampleVenue), "yaml")
	if err != nil {
		panic(err)
	}
	return s
}()

// benchFixture is a venue with a manifest of a million tickets, and a gate
// that has imported it. It is built once per run of the benchmarks.
type benchFixture struct {
	dir      string
	keys     *keyfile.Keys
	manifest string // the NDJSON file
	ledger   *Ledger
	serial   atomic.Uint64 // the next ticket nobody has scanned yet
}

var (
	fixtureOnce sync.Once
	fixture     *benchFixture
	fixtureErr  error
)

func getFixture(b *testing.B) *benchFixture {
	b.Helper()
	fixtureOnce.Do(func() { fixture, fixtureErr = buildFixture() })
	if fixtureErr != nil {
		b.Fatal(fixtureErr)
	}
	return fixture
}

func buildFixture() (*benchFixture, error) {
	dir, err := os.MkdirTemp("", "tixgate-bench-")
	if err != nil {
		return nil, err
	}
	f := &benchFixture{dir: dir, manifest: filepath.Join(dir, "manifest.ndjson")}
	if f.keys, err = keyfile.Init(filepath.Join(dir, "keys"), keyfile.InitOptions{}); err != nil {
		return nil, err
	}
	if err := writeBenchManifest(f.keys, f.manifest); err != nil {
		return nil, err
	}
	cfg := DefaultConfig(filepath.Join(dir, "gate"))
	cfg.SyncWrites = os.Getenv("NOSYNC") == ""
	if err := Init(Provision{Dir: cfg.Dir, Keys: f.keys, Device: "gate-1", Venue: "arena"}, cfg); err != nil {
		return nil, err
	}
	if f.ledger, err = Open(cfg); err != nil {
		return nil, err
	}
	mf, err := os.Open(f.manifest)
	if err != nil {
		return nil, err
	}
	defer mf.Close()
	if _, err := f.ledger.Import(context.Background(), mf, nil); err != nil {
		return nil, err
	}
	// Close and reopen, as a gate does between loading and doors opening:
	// Badger flushes and compacts, and the figures are of the steady state.
	if err := f.ledger.Close(); err != nil {
		return nil, err
	}
	if f.ledger, err = Open(cfg); err != nil {
		return nil, err
	}
	return f, nil
}

// writeBenchManifest writes a manifest like the one `tixgate ledger
// manifest` makes, with the event spanning today.
func writeBenchManifest(keys *keyfile.Keys, path string) error {
	spec, err := manifest.ParseSpec([]byte(manifest.ExampleVenue), "yaml")
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	spec.Events[0].Starts, spec.Events[0].Ends = now.Add(-12*time.Hour), now.Add(36*time.Hour)
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(out, 1<<20)
	err = spec.Build(manifest.BuildOptions{
		Signer:         manifest.Signer{Key: keys.Central, Cert: &keys.CentralCert, GateKey: keys.GateKey},
		Issuers:        []ticket.IssuerCert{keys.IssuerCert},
		RotationMaster: keys.RotationMaster,
		Tickets:        benchTickets,
	}, func(c manifest.Change) error {
		w.Write(c.Marshal())
		return w.WriteByte('\n')
	})
	if err == nil {
		err = w.Flush()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// codes issues n codes of standing tickets nobody has scanned.
func (f *benchFixture) codes(b *testing.B, n int) []string {
	out := make([]string, n)
	for i := range out {
		var tk ticket.Ticket
		for {
			s := f.serial.Add(1)
			tk = ticket.Ticket{Event: 1042, Serial: (s*7919)%benchTickets + 1, Type: 1}
			if s > benchTickets/2 {
				tk.Serial = benchTickets + s // sold after the sync: unknown to the manifest
				break
			}
			// A listed ticket's code carries the manifest's type; the
			// balcony's (zone 1) does not open G1.
			if _, tk.Type, _ = benchSpec.TypeOf(tk.Serial); tk.Type != 2 {
				break
			}
		}
		c, err := ticket.Issue(tk, f.keys.Issuer)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = c
	}
	return out
}

// BenchmarkDecide is one scanner at a gate with a million tickets loaded:
// verify, read, rule, record, fsync. It reports the latency percentiles.
func BenchmarkDecide(b *testing.B) {
	f := getFixture(b)
	codes := f.codes(b, max(b.N, 1)+1)
	lat := make([]time.Duration, 0, b.N)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		d, err := f.ledger.Decide(ctx, Scan{Text: codes[i], Gate: "G1"})
		lat = append(lat, time.Since(start))
		if err != nil || !d.OK() {
			b.Fatalf("scan %d: %v %s %s", i, err, d.Reason, d.Detail)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkDecidePeerBadger is BenchmarkDecide's peer: raw Badger on the
// same store, with the same options (fsync on), doing only the storage
// part of a scan: read the ticket's row (the same keys Decide reads) and
// commit one record-sized row. What Decide costs beyond it is the
// signature, the rule and the record's own signing and indexing. The rows
// it writes sit under a table byte the ledger does not use and are
// dropped afterwards.
func BenchmarkDecidePeerBadger(b *testing.B) {
	f := getFixture(b)
	const peerTable = 0xFE
	value := make([]byte, 160) // about a signed record
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		serial := uint64(i*7919)%benchTickets + 1
		start := time.Now()
		err := f.ledger.db.Update(func(txn *badger.Txn) error {
			if item, err := txn.Get(ticketKey(1042, serial)); err == nil {
				if _, err := item.ValueCopy(nil); err != nil {
					return err
				}
			} else if !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
			return txn.Set(key(peerTable, u64(uint64(i))), value)
		})
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := f.ledger.db.DropPrefix([]byte{peerTable}); err != nil {
		b.Fatal(err)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkDecideChecksums is BenchmarkDecide with Badger's checksum
// verification on and off, in one run: two copies of the same store, open
// side by side, take turns scan by scan, so whatever else the machine does
// weighs on both alike. It reports both sides' percentiles and the cost of
// verification on the median.
func BenchmarkDecideChecksums(b *testing.B) {
	f := getFixture(b)
	if err := f.ledger.Close(); err != nil {
		b.Fatal(err)
	}
	on := f.ledger.cfg
	on.VerifyChecksums = true
	off := on
	off.VerifyChecksums = false
	off.Dir = filepath.Join(b.TempDir(), "gate")
	if out, err := exec.Command("cp", "-a", on.Dir, off.Dir).CombinedOutput(); err != nil {
		b.Fatalf("copy the store: %v: %s", err, out)
	}
	lOn, err := Open(on)
	if err != nil {
		b.Fatal(err)
	}
	f.ledger = lOn
	lOff, err := Open(off)
	if err != nil {
		b.Fatal(err)
	}
	defer lOff.Close()
	ledgers := [2]*Ledger{lOn, lOff}
	codes := f.codes(b, 2*max(b.N, 1)+2)
	var lat [2][]time.Duration
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < 2*b.N; i++ {
		side := i % 2
		start := time.Now()
		d, err := ledgers[side].Decide(ctx, Scan{Text: codes[i], Gate: "G1"})
		lat[side] = append(lat[side], time.Since(start))
		if err != nil || !d.OK() {
			b.Fatalf("scan %d: %v %s %s", i, err, d.Reason, d.Detail)
		}
	}
	b.StopTimer()
	p := func(side, pct int) time.Duration {
		l := lat[side]
		slices.Sort(l)
		return l[len(l)*pct/100]
	}
	b.ReportMetric(float64(p(0, 50).Microseconds()), "on-p50-µs")
	b.ReportMetric(float64(p(0, 99).Microseconds()), "on-p99-µs")
	b.ReportMetric(float64(p(1, 50).Microseconds()), "off-p50-µs")
	b.ReportMetric(float64(p(1, 99).Microseconds()), "off-p99-µs")
	b.ReportMetric(100*(float64(p(0, 50))/float64(p(1, 50))-1), "cost-%")
}

// BenchmarkDecideParallel is eight scanners at once: decisions share
// commits, so throughput grows past one fsync per scan.
func BenchmarkDecideParallel(b *testing.B) {
	f := getFixture(b)
	codes := f.codes(b, b.N+8)
	var next atomic.Int64
	ctx := context.Background()
	b.SetParallelism((8 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			d, err := f.ledger.Decide(ctx, Scan{Text: codes[i], Gate: "G1"})
			if err != nil || !d.OK() {
				b.Errorf("scan: %v %s", err, d.Reason)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "scans/s")
}

// BenchmarkDecideRefused is a scan of a ticket already used: no write.
func BenchmarkDecideRefused(b *testing.B) {
	f := getFixture(b)
	code := f.codes(b, 1)[0]
	ctx := context.Background()
	f.ledger.Decide(ctx, Scan{Text: code, Gate: "G1"})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if d, _ := f.ledger.Decide(ctx, Scan{Text: code, Gate: "G1"}); d.Reason != ticket.ReasonAlreadyUsed {
			b.Fatal(d.Reason)
		}
	}
}

// BenchmarkSystemImport1M imports the million-ticket manifest in a fresh process
// and reports its time, its peak memory (RSS), its memory at rest after the
// import and a collection, and the ledger's size on disk.
func BenchmarkSystemImport1M(b *testing.B) {
	f := getFixture(b)
	for i := 0; i < b.N; i++ {
		dir := filepath.Join(f.dir, fmt.Sprintf("import-%d", time.Now().UnixNano()))
		cfg := DefaultConfig(dir)
		if err := Init(Provision{Dir: dir, Keys: f.keys, Device: filepath.Base(dir)}, cfg); err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestImportChild$")
		cmd.Env = append(os.Environ(), "TIXGATE_IMPORT_CHILD="+dir, "TIXGATE_IMPORT_FILE="+f.manifest)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("import child: %v", err)
		}
		var secs, restMB, diskMB float64
		if _, err := fmt.Sscanf(string(out), "import %f rest %f disk %f", &secs, &restMB, &diskMB); err != nil {
			b.Fatalf("import child said %q", out)
		}
		peakMB := float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024
		b.ReportMetric(secs, "import-s")
		b.ReportMetric(peakMB, "peak-MB")
		b.ReportMetric(restMB, "rest-MB")
		b.ReportMetric(diskMB, "disk-MB")
		os.RemoveAll(dir)
	}
}

// TestImportChild is BenchmarkSystemImport1M's child process.
func TestImportChild(t *testing.T) {
	dir := os.Getenv("TIXGATE_IMPORT_CHILD")
	if dir == "" {
		t.Skip("run by BenchmarkSystemImport1M")
	}
	l, err := Open(DefaultConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	mf, err := os.Open(os.Getenv("TIXGATE_IMPORT_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	st, err := l.Import(context.Background(), mf, nil)
	if err != nil || st.Tickets != benchTickets {
		t.Fatalf("import: %+v %v", st, err)
	}
	secs := time.Since(start).Seconds()
	runtime.GC()
	debug.FreeOSMemory()
	rest := rssMB()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err = Open(DefaultConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	disk := float64(l.DiskSize()) / 1e6
	l.Close()
	fmt.Printf("import %.2f rest %.1f disk %.1f\n", secs, rest, disk)
}

// rssMB reads the process's resident memory from /proc.
func rssMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
