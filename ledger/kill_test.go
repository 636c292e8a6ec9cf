package ledger

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
	cmd, out := startScanChild(t, "TestKilledWhileScanning", cfg.Dir, v.keys.Dir)
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

// startScanChild runs the test binary's test name as a child scanning on
// the device at dir, and returns its standard output.
func startScanChild(t *testing.T, name, dir, keys string) (*exec.Cmd, io.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$")
	cmd.Env = append(os.Environ(), "TIXGATE_SCAN_CHILD="+dir, "TIXGATE_SCAN_KEYS="+keys)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out
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

// TestWriteAheadLogDamagedAfterCrash kills a gate that answered 500 scans,
// then empties, cuts, overwrites or deletes Badger's write-ahead log, where
// those scans live until a memtable is flushed. The ledger either opens
// with every acknowledged record, or refuses with ErrUnsound naming this
// device's records it lost: never opened short of what it answered.
func TestWriteAheadLogDamagedAfterCrash(t *testing.T) {
	if os.Getenv("TIXGATE_SCAN_CHILD") != "" {
		scanThenWait(500)
		return
	}
	v := newTestVenue(t, 100)
	cfg := v.loaded("gate-1")
	cmd, out := startScanChild(t, "TestWriteAheadLogDamagedAfterCrash", cfg.Dir, v.keys.Dir)
	acked := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "ok ") {
			acked++
		}
		if sc.Text() == "marked" {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if acked != 500 {
		t.Fatalf("the child acknowledged %d scans, want 500", acked)
	}
	mems, _ := filepath.Glob(filepath.Join(cfg.Dir, dbDir, "*.mem"))
	if len(mems) == 0 {
		t.Fatal("no write-ahead log after the crash")
	}
	damages := map[string]func(p string){
		"none":      func(string) {},
		"emptied":   func(p string) { os.Truncate(p, 0) },
		"cut to 4K": func(p string) { os.Truncate(p, 4<<10) },
		"deleted":   func(p string) { os.Remove(p) },
		"flipped": func(p string) {
			b, _ := os.ReadFile(p)
			for i := 8 << 10; i < 8<<10+64 && i < len(b); i++ { // among the records
				b[i] ^= 0x5a
			}
			os.WriteFile(p, b, 0o600)
		},
	}
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			c := cfg
			c.Dir = t.TempDir()
			copyDir(t, cfg.Dir, c.Dir)
			for _, m := range mems {
				damage(filepath.Join(c.Dir, dbDir, filepath.Base(m)))
			}
			l, err := Open(c)
			if err != nil {
				if !errors.Is(err, ErrUnsound) || !strings.Contains(err.Error(), "this device's records") {
					t.Fatalf("refused with %v; want ErrUnsound naming the lost records", err)
				}
				if name == "none" {
					t.Fatalf("an undamaged log after a crash was refused: %v", err)
				}
				t.Logf("refused: %v", err)
				if _, again := Open(c); !errors.Is(again, ErrUnsound) {
					t.Fatalf("opened the second time (%v): a failed open must not leave a store that seems sound", again)
				}
				files, _ := os.ReadDir(filepath.Join(c.Dir, dbDir))
				for _, f := range files {
					if fi, err := f.Info(); err == nil && !f.IsDir() && fi.Mode().Perm() != 0o600 {
						t.Errorf("%s is %v after a refused open, want 0600", f.Name(), fi.Mode().Perm())
					}
				}
				return
			}
			defer l.Close()
			vv, err := l.VersionVector()
			if err != nil {
				t.Fatal(err)
			}
			if got := vv[l.Identity().ID()]; got < 500 {
				t.Fatalf("opened holding %d of the 500 acknowledged records", got)
			}
		})
	}
}

// scanThenWait is the child: it answers n scans, waits for the marker to
// be brought up to date, says so and waits to be killed.
func scanThenWait(n int) {
	dir := os.Getenv("TIXGATE_SCAN_CHILD")
	keys, err := keyfile.Load(os.Getenv("TIXGATE_SCAN_KEYS"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	cfg := DefaultConfig(dir)
	cfg.Clock = ticket.NewManualClock(concertNight)
	cfg.MarkInterval = 20 * time.Millisecond
	l, err := Open(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	for serial, acked := uint64(1), 0; acked < n; serial++ {
		code, _ := ticket.Issue(ticket.Ticket{Event: 1042, Serial: serial, Type: 1}, keys.Issuer)
		d, err := l.Decide(context.Background(), Scan{Text: code, Gate: "G1"})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		if d.OK() { // serials of other types are refused: ticket_mismatch
			fmt.Printf("ok %s\n", d.Record)
			acked++
		}
	}
	time.Sleep(200 * time.Millisecond)
	fmt.Println("marked")
	time.Sleep(time.Hour)
}
