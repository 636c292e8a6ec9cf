package ledger

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// TestKilledWhileScanning kills (SIGKILL) a process that scans as fast as
// it can, with durable writes, and checks that every scan it answered ok is
// in the log after reopening, and that the ledger verifies.
func TestKilledWhileScanning(t *testing.T) {
	if os.Getenv("TIXGATE_SCAN_CHILD") != "" {
		scanUntilKilled()
		return
	}
	v := newTestVenue(t, 100)
	cfg := v.loaded("gate-1")

	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWhileScanning$")
	cmd.Env = append(os.Environ(), "TIXGATE_SCAN_CHILD="+cfg.Dir, "TIXGATE_SCAN_KEYS="+v.keys.Dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if rec, ok := strings.CutPrefix(sc.Text(), "ok "); ok {
			acked[rec] = true
		}
		if len(acked) == 300 {
			cmd.Process.Signal(syscall.SIGKILL)
			break
		}
	}
	cmd.Wait()
	if len(acked) < 300 {
		t.Fatalf("the child acknowledged only %d scans before it ended", len(acked))
	}

	cfg.SyncWrites = true
	l, err := Open(cfg)
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer l.Close()
	vv, err := l.VersionVector()
	if err != nil {
		t.Fatal(err)
	}
	held := vv[l.Identity().ID()]
	recs, err := l.Records(l.Identity().ID(), 1, int(held))
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, raw := range recs {
		r := mustRecord(t, raw)
		have[r.ID()] = true
	}
	for rec := range acked {
		if !have[rec] {
			t.Errorf("scan acknowledged as %s is not in the log", rec)
		}
	}
	t.Logf("%d scans acknowledged before SIGKILL, %d records in the log after reopening", len(acked), held)
	if probs, err := l.Verify(); err != nil || len(probs) > 0 {
		t.Errorf("verify after SIGKILL: %v %v", probs, err)
	}
}

// scanUntilKilled is the child: it scans new tickets forever and prints
// each acknowledged record.
func scanUntilKilled() {
	dir := os.Getenv("TIXGATE_SCAN_CHILD")
	keys, err := keyfile.Load(os.Getenv("TIXGATE_SCAN_KEYS"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	cfg := DefaultConfig(dir)
	cfg.Clock = ticket.NewManualClock(concertNight)
	l, err := Open(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	// Four scanners at once, so decisions share commits.
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	for g := range 4 {
		go func() {
			for serial := uint64(1 + g); ; serial += 4 {
				code, _ := ticket.Issue(ticket.Ticket{Event: 1042, Serial: serial, Type: 1}, keys.Issuer)
				d, err := l.Decide(context.Background(), Scan{Text: code, Gate: "G1"})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
				if d.OK() {
					mu.Lock()
					fmt.Fprintf(w, "ok %s\n", d.Record)
					w.Flush()
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(time.Hour)
}
