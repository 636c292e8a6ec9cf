package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tixgate/tixgate/edge"
	"github.com/tixgate/tixgate/ledger/decision"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ticket"
)

// benchNode is a `tixgate edge` process of a whole-system benchmark: the
// device as it runs on a gate, with its default ledger and mesh settings,
// measured from outside.
type benchNode struct {
	cmd    *exec.Cmd
	done   chan error
	url    string
	token  string
	client *http.Client
}

// benchNodeEnv makes the test binary a gate node with the ledger's commits
// not fsynced (see benchNodeMain): the scan path without the disk's share.
const benchNodeEnv = "TIXGATE_BENCH_NODE_NOSYNC"

// benchNodeMain runs a node as `tixgate edge --data DIR --gate G1 --bind B
// --listen L` would (DIR, B, L from the environment), but with
// SyncWrites off, until SIGTERM.
func benchNodeMain() int {
	cfg := edge.DefaultConfig(os.Getenv(benchNodeEnv))
	cfg.Gate, cfg.Bind, cfg.Listen = "G1", os.Getenv("TIXGATE_BENCH_BIND"), os.Getenv("TIXGATE_BENCH_LISTEN")
	cfg.Ledger.SyncWrites = false
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	n, err := edge.Start(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	if err := n.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startBenchNode provisions a gate holding the venue's manifest (imported
// by `tixgate ledger import`, as a device does), starts `tixgate edge` on
// listen (with fsync off: benchNodeMain) and waits until /healthz answers
// 200.
func startBenchNode(b *testing.B, v *ledgertest.Venue, listen string, fsync bool) *benchNode {
	b.Helper()
	dir := v.Provision("gate-1")
	mf := filepath.Join(b.TempDir(), "manifest.ndjson")
	if err := os.WriteFile(mf, v.Manifest(), 0o600); err != nil {
		b.Fatal(err)
	}
	imp := exec.Command(os.Args[0], "ledger", "import", "--data", dir, mf)
	imp.Env = append(os.Environ(), "TIXGATE_BE_MAIN=1")
	if out, err := imp.CombinedOutput(); err != nil {
		b.Fatalf("ledger import: %v\n%s", err, out)
	}
	n := &benchNode{done: make(chan error, 1)}
	bind := freePort(b, "127.0.0.1")
	n.cmd = exec.Command(os.Args[0], "edge", "--data", dir, "--gate", "G1", "--bind", bind, "--listen", listen, "--log-level", "warn")
	n.cmd.Env = append(os.Environ(), "TIXGATE_BE_MAIN=1")
	if !fsync {
		n.cmd = exec.Command(os.Args[0])
		n.cmd.Env = append(os.Environ(), benchNodeEnv+"="+dir, "TIXGATE_BENCH_BIND="+bind, "TIXGATE_BENCH_LISTEN="+listen)
	}
	n.cmd.Stderr = os.Stderr // warnings and errors only
	if err := n.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { n.done <- n.cmd.Wait() }()
	b.Cleanup(func() {
		n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(20 * time.Second):
			n.cmd.Process.Kill()
		}
	})

	_, port, _ := net.SplitHostPort(listen)
	n.url = "http://127.0.0.1:" + port
	n.client = &http.Client{Timeout: 10 * time.Second}
	if host, _, _ := net.SplitHostPort(listen); !isLoopbackHost(host) {
		// The device makes its certificate at first start; the client pins it.
		n.url = "https://127.0.0.1:" + port
		var pool *x509.CertPool
		ledgertest.WaitFor(b, 60*time.Second, "the node's certificate", func() bool {
			pem, err := os.ReadFile(filepath.Join(dir, edge.SelfCertFile))
			if err != nil {
				return false
			}
			pool = x509.NewCertPool()
			return pool.AppendCertsFromPEM(pem)
		})
		n.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"},
			MaxIdleConnsPerHost: 64}
	}
	ledgertest.WaitFor(b, 120*time.Second, "the node answers /healthz", func() bool {
		resp, err := n.client.Get(n.url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	tok, err := os.ReadFile(filepath.Join(dir, edge.TokenFile))
	if err != nil {
		b.Fatal(err)
	}
	n.token = strings.TrimSpace(string(tok))
	return n
}

func isLoopbackHost(h string) bool {
	ip := net.ParseIP(h)
	return h == "localhost" || ip != nil && ip.IsLoopback()
}

// scan posts one scan and returns the answer.
func (n *benchNode) scan(code string) (decision.Decision, error) {
	body, _ := json.Marshal(map[string]string{"code": code})
	req, _ := http.NewRequest("POST", n.url+"/api/v1/scans", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+n.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return decision.Decision{}, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var d decision.Decision
	if resp.StatusCode != http.StatusOK {
		return d, fmt.Errorf("scan: %s: %s", resp.Status, data)
	}
	return d, json.Unmarshal(data, &d)
}

// Scan rate and length of BenchmarkSystemScanHTTPS.
const (
	benchScanRate = 200 // scans per second
	benchScanFor  = 15 * time.Second
)

// BenchmarkSystemScanHTTPS is a gate's scan path as a turnstile controller
// or another device meets it: a `tixgate edge` process serving HTTPS (a
// non-loopback listen address, the certificate it made at first start) and
// this process as the load generator, sending benchScanRate scans a second
// of tickets never seen before, each on its own schedule (an open loop, so
// a slow answer delays no later request), for benchScanFor. Every scan is
// a whole decision: parse, verify, read, record, answer. It reports the
// latency percentiles seen by the client and the throughput achieved, with
// the ledger's commits fsynced as a gate runs (fsync=on), and without
// (fsync=off) to tell the disk's share from the code's.
func BenchmarkSystemScanHTTPS(b *testing.B) {
	for _, fsync := range []bool{true, false} {
		b.Run(fmt.Sprintf("fsync=%s", map[bool]string{true: "on", false: "off"}[fsync]), func(b *testing.B) {
			benchScanHTTPS(b, fsync)
		})
	}
}

func benchScanHTTPS(b *testing.B, fsync bool) {
	total := int(benchScanRate * benchScanFor / time.Second)
	v := ledgertest.NewVenue(b, 20000)
	var codes []string
	for s := uint64(1); len(codes) < total+100; s++ {
		if v.GateFor(s) == "G1" {
			codes = append(codes, v.Code(ticket.Ticket{Serial: s}))
		}
	}
	// Every interface: the node serves HTTPS anywhere but loopback; the
	// client reaches it at 127.0.0.1.
	_, port, _ := net.SplitHostPort(freePort(b, "127.0.0.1"))
	n := startBenchNode(b, v, "0.0.0.0:"+port, fsync)
	// Warm the caches and open the connections a steady load needs, ten
	// at once, so the figures are of scans and not of TLS handshakes.
	var warm sync.WaitGroup
	werrs := make([]error, 10)
	for w := range werrs {
		warm.Add(1)
		go func() {
			defer warm.Done()
			for j := w; j < 100; j += len(werrs) {
				if _, err := n.scan(codes[j]); err != nil && werrs[w] == nil {
					werrs[w] = err
				}
			}
		}()
	}
	warm.Wait()
	for _, err := range werrs {
		if err != nil {
			b.Fatal(err)
		}
	}
	codes = codes[100:]
	for i := 0; i < b.N; i++ {
		lat := make([]time.Duration, total)
		errs := make([]error, total)
		var wg sync.WaitGroup
		tick := time.NewTicker(time.Second / benchScanRate)
		start := time.Now()
		for j := range total {
			if j > 0 {
				<-tick.C
			}
			wg.Add(1)
			go func(j int) {
				defer wg.Done()
				t0 := time.Now()
				d, err := n.scan(codes[j])
				lat[j] = time.Since(t0)
				if err == nil && d.Reason != ticket.ReasonOK {
					err = fmt.Errorf("ticket %d: %s %s", j, d.Reason, d.Detail)
				}
				errs[j] = err
			}(j)
		}
		wg.Wait()
		elapsed := time.Since(start)
		tick.Stop()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[total/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[total*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(lat[total-1].Microseconds())/1000, "max-ms")
		b.ReportMetric(float64(total)/elapsed.Seconds(), "scans/s")
	}
}

// procStat reads a process's CPU time (user + system) and resident memory
// from /proc.
func procStat(pid int) (cpu time.Duration, rssMB float64, err error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: utime and stime are fields 14 and 15 of the whole line.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const clockTicks = 100 // USER_HZ, the same on every Linux architecture tixgate runs on
	cpu = time.Duration(utime+stime) * time.Second / clockTicks
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return cpu, kb / 1024, nil
		}
	}
	return 0, 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

// Settle and measure times of BenchmarkSystemIdleGate1M.
const (
	benchIdleSettle  = 15 * time.Second
	benchIdleMeasure = 30 * time.Second
)

// BenchmarkSystemIdleGate1M is what a gate costs while nobody scans: a
// `tixgate edge` process holding a manifest of 1,000,000 tickets, alone in
// its mesh, left benchIdleSettle to finish starting (Badger's compactions
// after the import), then watched for benchIdleMeasure through /proc: its
// CPU use as a share of one core and its resident memory at the end.
func BenchmarkSystemIdleGate1M(b *testing.B) {
	v := ledgertest.NewVenue(b, 1_000_000)
	n := startBenchNode(b, v, freePort(b, "127.0.0.1"), true)
	pid := n.cmd.Process.Pid
	for i := 0; i < b.N; i++ {
		time.Sleep(benchIdleSettle)
		cpu0, _, err := procStat(pid)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		time.Sleep(benchIdleMeasure)
		cpu1, rss, err := procStat(pid)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(cpu1-cpu0)/float64(time.Since(t0))*100, "cpu-%core")
		b.ReportMetric(rss, "rss-MB")
	}
	if d, err := n.scan(v.Code(ticket.Ticket{Serial: 999_999})); err != nil || d.Reason == "" {
		b.Fatalf("the idle node does not decide: %+v %v", d, err)
	}
}
