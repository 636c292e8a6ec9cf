package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/tixgate/tixgate/ledger/decision"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ticket"
)

// edgeProc is a `tixgate edge` process of the test.
type edgeProc struct {
	t      *testing.T
	name   string
	dir    string
	bind   string
	listen string
	join   string
	cmd    *exec.Cmd
	done   chan error
	token  string
	// gate is served (default G1); health is the /healthz status start
	// waits for (default 200); log collects what the process logs.
	gate   string
	health int
	extra  []string
	log    syncLog
}

// syncLog collects lines from a process's stderr.
type syncLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *syncLog) add(s string) { l.mu.Lock(); l.lines = append(l.lines, s); l.mu.Unlock() }
func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// freePort finds a port free for both TCP and UDP on host.
func freePort(t testing.TB, host string) string {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", host+":0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		u, err := net.ListenPacket("udp", addr)
		if err != nil {
			continue
		}
		u.Close()
		return addr
	}
	t.Fatal("no free port")
	return ""
}

func (p *edgeProc) start() {
	p.t.Helper()
	if p.gate == "" {
		p.gate = "G1"
	}
	if p.health == 0 {
		p.health = http.StatusOK
	}
	args := append([]string{"edge", "--data", p.dir, "--gate", p.gate, "--bind", p.bind, "--listen", p.listen, "--log-level", "warn"}, p.extra...)
	if p.join != "" {
		args = append(args, "--join", p.join)
	}
	p.cmd = exec.Command(os.Args[0], args...)
	p.cmd.Env = append(os.Environ(), "TIXGATE_BE_MAIN=1")
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.t.Logf("%s: %s", p.name, sc.Text())
			p.log.add(sc.Text())
		}
	}()
	p.done = make(chan error, 1)
	go func() { p.done <- p.cmd.Wait() }()
	ledgertest.WaitFor(p.t, 20*time.Second, p.name+" answers /healthz", func() bool {
		resp, err := http.Get("http://" + p.listen + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == p.health
	})
	tok, err := os.ReadFile(filepath.Join(p.dir, "api.token"))
	if err != nil {
		p.t.Fatal(err)
	}
	p.token = strings.TrimSpace(string(tok))
}

func (p *edgeProc) signal(sig syscall.Signal) error {
	p.t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		return err
	case <-time.After(15 * time.Second):
		p.t.Fatalf("%s did not stop within 15 s of %v", p.name, sig)
		return nil
	}
}

func (p *edgeProc) call(method, path string, body any) (int, []byte) {
	p.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+p.listen+path, r)
	req.Header.Set("Authorization", "Bearer "+p.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func (p *edgeProc) scan(code string) decision.Decision {
	p.t.Helper()
	status, data := p.call("POST", "/api/v1/scans", map[string]string{"code": code})
	var d decision.Decision
	if err := json.Unmarshal(data, &d); status != 200 || err != nil {
		p.t.Fatalf("%s: scan: %d %s", p.name, status, data)
	}
	return d
}

func (p *edgeProc) passages(serial uint64) int {
	p.t.Helper()
	status, data := p.call("GET", fmt.Sprintf("/api/v1/tickets/%d/%d", ledgertest.Event, serial), nil)
	var h ledger.TicketHistory
	if err := json.Unmarshal(data, &h); status != 200 || err != nil {
		p.t.Fatalf("%s: history: %d %s", p.name, status, data)
	}
	return len(h.Passages)
}

// Five `tixgate edge` processes on 127.0.0.2-6 form a venue: a scan at one
// is refused at another; a process stopped with SIGTERM exits cleanly,
// restarts and catches up; one killed with SIGKILL loses nothing it
// acknowledged.
func TestEdgeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five processes")
	}
	v := ledgertest.NewVenue(t, 50)
	var procs []*edgeProc
	for i := range 5 {
		host := fmt.Sprintf("127.0.0.%d", i+2)
		p := &edgeProc{t: t, name: fmt.Sprintf("gate-%d", i+1), bind: freePort(t, host), listen: freePort(t, host)}
		p.dir = v.Provision(p.name)
		l := v.OpenDir(p.dir)
		v.Load(l)
		l.Close()
		if i > 0 {
			p.join = procs[0].bind
		}
		procs = append(procs, p)
	}
	for _, p := range procs {
		p.start()
	}
	defer func() {
		for _, p := range procs {
			if p.cmd.ProcessState == nil {
				p.cmd.Process.Kill()
			}
		}
	}()
	ledgertest.WaitFor(t, 20*time.Second, "five members", func() bool {
		_, data := procs[4].call("GET", "/api/v1/peers", nil)
		return bytes.Count(data, []byte(`"name"`)) == 4
	})

	code := v.Code(ticket.Ticket{Serial: 1})
	if d := procs[0].scan(code); !d.OK() {
		t.Fatalf("first scan: %+v", d)
	}
	ledgertest.WaitFor(t, 5*time.Second, "the entry reaches gate-5", func() bool { return procs[4].passages(1) == 1 })
	if d := procs[4].scan(code); d.Reason != ticket.ReasonAlreadyUsed || d.Previous == nil || d.Previous.Device != "gate-1" {
		t.Errorf("at gate-5: %+v", d)
	}

	// SIGTERM: a clean stop, exit status 0.
	if err := procs[2].signal(syscall.SIGTERM); err != nil {
		t.Errorf("gate-3 after SIGTERM: %v", err)
	}
	var last uint64
	for s := uint64(10); s < 30; s++ {
		if v.GateFor(s) != "G1" {
			continue // a balcony ticket: refused at a floor gate
		}
		if d := procs[1].scan(v.Code(ticket.Ticket{Serial: s})); !d.OK() {
			t.Fatalf("scan while gate-3 is down: %+v", d)
		}
		last = s
	}
	procs[2].start()
	ledgertest.WaitFor(t, 20*time.Second, "gate-3 catches up after its restart", func() bool { return procs[2].passages(last) == 1 })

	// SIGKILL right after acknowledged scans: they are in its log.
	var acked []uint64
	for s := uint64(40); s < 45; s++ {
		if d := procs[3].scan(v.Code(ticket.Ticket{Serial: s})); d.OK() {
			acked = append(acked, s)
		}
	}
	procs[3].signal(syscall.SIGKILL)
	procs[3].start()
	for _, s := range acked {
		if n := procs[3].passages(s); n != 1 {
			t.Errorf("gate-4 after SIGKILL: ticket %d has %d passages, want 1", s, n)
		}
	}
	for _, p := range procs {
		if err := p.signal(syscall.SIGTERM); err != nil {
			t.Errorf("%s: %v", p.name, err)
		}
	}
}

func TestEdgeUsage(t *testing.T) {
	_, errs, code := cli(t, "", "edge", "--bogus")
	if code != 2 || !strings.Contains(errs, "edge: unknown flag --bogus") || !strings.Contains(errs, "Run 'tixgate edge --help'") {
		t.Errorf("unknown flag: %d %q", code, errs)
	}
	_, errs, code = cli(t, "", "edge", "--data", filepath.Join(t.TempDir(), "none"))
	if code != 1 || !strings.Contains(errs, "ledger init") {
		t.Errorf("no device: %d %q", code, errs)
	}
}
