package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tixgate/tixgate/ledger/decision"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

func ledgerCommands() *command {
	return &command{name: "ledger", summary: "a device's ticket ledger", subs: []*command{
		{name: "init", usage: "--data DIR --keys KEYS --device NAME [--role gate|seller] [--venue NAME] [--encryption-key FILE]", summary: "provision a device without central: identity key, certificate, empty ledger", run: runLedgerInit},
		{name: "manifest", usage: "--keys KEYS --venue FILE [--tickets N] [--first-seq N] --out FILE", summary: "sign a manifest from a venue description (YAML or TOML)", run: runLedgerManifest},
		{name: "import", usage: "--data DIR FILE", summary: "apply a manifest file (resumable; - reads stdin)", run: runLedgerImport},
		{name: "stats", usage: "--data DIR", summary: "print what the ledger holds, as JSON (a running edge's counts since start: its /api/v1/status)", run: runLedgerStats},
		{name: "verify", usage: "--data DIR", summary: "check every chain and signature; exit 1 if anything is wrong", run: runLedgerVerify},
		{name: "reindex", usage: "--data DIR", summary: "rebuild the indexes from the log and the manifest changes", run: runLedgerReindex},
		{name: "backup", usage: "--data DIR FILE", summary: "write the ledger's log and manifest to FILE", run: runLedgerBackup},
		{name: "restore", usage: "--data DIR FILE", summary: "merge a backup into a provisioned ledger", run: runLedgerRestore},
		{name: "repair", usage: "--data DIR --from-peers HOST:PORT[,HOST:PORT…] [--bind ADDR] [--port N] [--timeout D]", summary: "rebuild a damaged or lost ledger from the venue mesh", run: runLedgerRepair},
		{name: "conflicts", usage: "--data DIR", summary: "list the conflicts found when logs merged, as JSON lines", run: runLedgerConflicts},
	}}
}

// ledgerConfig is the configuration every ledger command opens with.
func ledgerConfig(e *env, dir string) ledger.Config {
	cfg := ledger.DefaultConfig(dir)
	cfg.Logger = e.log
	cfg.Clock = clockFunc(e.now)
	return cfg
}

type clockFunc func() time.Time

func (f clockFunc) Now() time.Time { return f() }

// openLedger opens the ledger in dir for a command and closes it after fn.
func openLedger(e *env, dir string, fn func(*ledger.Ledger) error) error {
	l, err := ledger.Open(ledgerConfig(e, dir))
	if err != nil {
		return err
	}
	err = fn(l)
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	return err
}

func dataFlag(cl *cmdline) *string {
	return cl.String("data", "", "device directory (from tixgate ledger init)")
}

// withLedger runs fn on the ledger of --data, for the commands that take
// that flag and want n positional arguments (what names them).
func withLedger(e *env, cl *cmdline, n int, what string, fn func(l *ledger.Ledger, args []string) error) error {
	data := dataFlag(cl)
	pos, err := cl.parseN(n, what)
	if err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != ""}); err != nil {
		return err
	}
	return openLedger(e, *data, func(l *ledger.Ledger) error { return fn(l, pos) })
}

func runLedgerInit(_ context.Context, e *env, cl *cmdline) error {
	data := dataFlag(cl)
	keys := cl.String("keys", "", "organizer key directory: its root signs the device certificate")
	device := cl.String("device", "", "device name, e.g. gate-1")
	role := cl.String("role", "gate", "gate or seller")
	venue := cl.String("venue", "venue", "venue name in the device certificate")
	encKey := cl.String("encryption-key", "", "ledger encryption key file to copy into DIR (made if missing; default: a new random key)")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != "", "keys": *keys != "", "device": *device != ""}); err != nil {
		return err
	}
	if *role != "gate" && *role != "seller" {
		return usageError("--role %q: want gate or seller", *role)
	}
	k, err := keyfile.Load(*keys)
	if err != nil {
		return err
	}
	err = ledger.Init(ledger.Provision{Dir: *data, Keys: k, Device: *device, Role: ticket.Role(*role), Venue: *venue,
		EncryptionKey: *encKey, Now: e.now()}, ledgerConfig(e, *data))
	if err != nil {
		return err
	}
	id, err := ledger.LoadIdentity(*data)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "provisioned %s %q (key %s) in %s, trusting root %s\n", *role, *device, id.ID(), *data, ticket.KeyIDOf(id.Root))
	return nil
}

func runLedgerManifest(_ context.Context, e *env, cl *cmdline) error {
	keys := cl.String("keys", "", "organizer key directory: central's key signs the changes")
	venue := cl.String("venue", "", "venue description, YAML or TOML")
	tickets := cl.Int("tickets", 0, "tickets to generate, serials 1..N, spread over the ticket types")
	firstSeq := cl.Uint64("first-seq", 1, "number of the first change (to extend a manifest already imported)")
	batch := cl.Int("batch", 1000, "tickets per change")
	out := cl.String("out", "", "NDJSON file to write (- for stdout)")
	now := cl.Bool("now", false, "move the events so that the first one's doors open now (to try a venue file out on any day)")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"keys": *keys != "", "venue": *venue != "", "out": *out != ""}); err != nil {
		return err
	}
	if *tickets < 0 || *firstSeq == 0 || *batch <= 0 || *batch > manifest.MaxTicketsPerBatch {
		return usageError("--tickets must be ≥ 0, --first-seq ≥ 1, --batch 1-%d", manifest.MaxTicketsPerBatch)
	}
	spec, err := readSpec(e, *venue, *now)
	if err != nil {
		return err
	}
	k, err := keyfile.Load(*keys)
	if err != nil {
		return err
	}
	n := 0
	build := func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		err := spec.Build(manifest.BuildOptions{
			Signer:         manifest.Signer{Key: k.Central, Cert: &k.CentralCert, GateKey: k.GateKey},
			FirstSeq:       *firstSeq,
			Issuers:        []ticket.IssuerCert{k.IssuerCert},
			RotationMaster: k.RotationMaster,
			Tickets:        *tickets,
			BatchSize:      *batch,
		}, func(c manifest.Change) error {
			n++
			bw.Write(c.Marshal())
			return bw.WriteByte('\n')
		})
		if err != nil {
			return err
		}
		return bw.Flush()
	}
	if *out == "-" {
		if err := build(e.stdout); err != nil {
			return fmt.Errorf("ledger manifest: %w", err)
		}
		return nil
	}
	// It holds rotation secrets and holder names: owner only.
	if err := keyfile.WriteStream(*out, keyfile.Mode, true, build); err != nil {
		return fmt.Errorf("ledger manifest: %w", err)
	}
	fmt.Fprintf(e.stdout, "wrote %s: %s, %d tickets\n", *out, seqSpan("change", "changes", *firstSeq, n), *tickets)
	return nil
}

// seqSpan names n numbered things from first: "change 7", "changes 7-9".
func seqSpan(one, many string, first uint64, n int) string {
	switch n {
	case 0:
		return "no " + many
	case 1:
		return fmt.Sprintf("%s %d", one, first)
	}
	return fmt.Sprintf("%d %s numbered %d-%d", n, many, first, first+uint64(n)-1)
}

func runLedgerImport(ctx context.Context, e *env, cl *cmdline) error {
	data := dataFlag(cl)
	pos, err := cl.parseN(1, "one FILE (or - for stdin)")
	if err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != ""}); err != nil {
		return err
	}
	var r io.Reader = e.stdin
	var size int64
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil {
			size = fi.Size()
		}
		r = f
	}
	bar := newProgress(e, size)
	start := time.Now()
	return openLedger(e, *data, func(l *ledger.Ledger) error {
		st, err := l.Import(ctx, r, bar.update)
		bar.done()
		summary := fmt.Sprintf("%d changes applied (%d tickets), %d already applied, %d held for missing changes; manifest at %d",
			st.Applied, st.Tickets, st.Duplicates, st.Held, l.ManifestSeq())
		if err != nil {
			return fmt.Errorf("%w\nstopped there: %s; run the import again once the file is fixed, it goes on where it stopped", err, summary)
		}
		fmt.Fprintf(e.stderr, "imported %s in %s: %s\n", plural(st.Lines, "line"), time.Since(start).Round(time.Millisecond), summary)
		if st.Applied+st.Duplicates+st.Held == 0 {
			return fmt.Errorf("import %s: no manifest changes in it (empty, or not a manifest file): nothing imported", pos[0])
		}
		return nil
	})
}

// progress draws an import's progress on a terminal, at most 10 times a
// second; elsewhere it stays quiet.
type progress struct {
	e     *env
	size  int64
	last  time.Time
	shown bool
}

func newProgress(e *env, size int64) *progress { return &progress{e: e, size: size} }

func (p *progress) update(st ledger.ImportStats) {
	if !p.e.stderrTTY || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.shown = true
	if p.size > 0 {
		frac := float64(st.Bytes) / float64(p.size)
		const width = 30
		n := min(int(frac*width), width)
		fmt.Fprintf(p.e.stderr, "\r[%s%s] %3.0f%%  %d tickets  %.1f/%.1f MB ", strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100,
			st.Tickets, float64(st.Bytes)/1e6, float64(p.size)/1e6)
		return
	}
	fmt.Fprintf(p.e.stderr, "\r%d changes, %d tickets, %.1f MB ", st.Lines, st.Tickets, float64(st.Bytes)/1e6)
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprintln(p.e.stderr)
	}
}

func runLedgerStats(_ context.Context, e *env, cl *cmdline) error {
	return withLedger(e, cl, 0, "", func(l *ledger.Ledger, _ []string) error {
		st, err := l.Stats()
		if err != nil {
			return err
		}
		// This process only read: what a running edge decided since it
		// started is in its /api/v1/status.
		st.SinceOpen = nil
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	})
}

func runLedgerVerify(_ context.Context, e *env, cl *cmdline) error {
	return withLedger(e, cl, 0, "", func(l *ledger.Ledger, _ []string) error {
		probs, err := l.Verify()
		if err != nil {
			return err
		}
		st, _ := l.Stats()
		if len(probs) == 0 {
			fmt.Fprintf(e.stdout, "ledger is sound: %d manifest changes and %d records from %d devices verified\n", st.ManifestSeq, st.Records, len(st.Origins))
			return nil
		}
		for _, p := range probs {
			fmt.Fprintln(e.stdout, p)
		}
		fmt.Fprintf(e.stderr, "%d problems found\n", len(probs))
		return silentExit(1)
	})
}

func runLedgerReindex(ctx context.Context, e *env, cl *cmdline) error {
	return withLedger(e, cl, 0, "", func(l *ledger.Ledger, _ []string) error {
		start := time.Now()
		if err := l.Reindex(ctx); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "reindexed in %s\n", time.Since(start).Round(time.Millisecond))
		return nil
	})
}

func runLedgerBackup(_ context.Context, e *env, cl *cmdline) error {
	return withLedger(e, cl, 1, "one FILE", func(l *ledger.Ledger, pos []string) error {
		var changes, records int
		err := keyfile.WriteStream(pos[0], keyfile.Mode, true, func(w io.Writer) (err error) {
			changes, records, err = l.Backup(w)
			return err
		})
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		fmt.Fprintf(e.stdout, "backed up %d manifest changes and %d records to %s\n", changes, records, pos[0])
		return nil
	})
}

func runLedgerRestore(ctx context.Context, e *env, cl *cmdline) error {
	data := dataFlag(cl)
	pos, err := cl.parseN(1, "one FILE")
	if err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != ""}); err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	l, err := ledger.Open(ledgerConfig(e, *data))
	repairing := errors.Is(err, ledger.ErrUnsound)
	if repairing {
		// The damaged store is moved aside and the backup restored into a
		// new one, which must then hold what the device held.
		fmt.Fprintf(e.stderr, "restore: %v\nrestore: restoring into a new store; the damaged one is kept beside db/\n", err)
		l, err = ledger.OpenForRepair(ledgerConfig(e, *data))
	}
	if err != nil {
		return err
	}
	changes, st, err := l.Restore(ctx, f)
	fmt.Fprintf(e.stdout, "restored %d manifest changes; records: %d stored, %d already held, %d waiting for earlier ones\n",
		changes, st.Stored, st.Duplicates, st.Held)
	if err == nil && repairing {
		if serr := l.CheckSound(); serr != nil {
			err = fmt.Errorf("restore: the backup holds less than the device did, so it still decides nothing (%w): fetch the rest from its peers (tixgate ledger repair --from-peers)", serr)
		}
	}
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	return err
}

func runLedgerConflicts(_ context.Context, e *env, cl *cmdline) error {
	return withLedger(e, cl, 0, "", func(l *ledger.Ledger, _ []string) error {
		cs, err := l.Conflicts()
		if err != nil {
			return err
		}
		enc := json.NewEncoder(e.stdout)
		for _, c := range cs {
			if err := enc.Encode(c); err != nil {
				return err
			}
		}
		forks, err := l.Forks()
		if err != nil {
			return err
		}
		for _, f := range forks {
			if err := enc.Encode(map[string]any{"fork": f}); err != nil {
				return err
			}
		}
		fmt.Fprintf(e.stderr, "%d conflicts, %d forks\n", len(cs), len(forks))
		return nil
	})
}

func runScan(ctx context.Context, e *env, cl *cmdline) error {
	return scanCommand(e, cl, nil, func(l *ledger.Ledger, s ledger.Scan) (decision.Decision, error) {
		return l.Decide(ctx, s)
	})
}

func runOverride(ctx context.Context, e *env, cl *cmdline) error {
	supervisor := cl.String("supervisor", "", "who decides (recorded)")
	note := cl.String("note", "", "why (recorded)")
	required := map[string]*string{"supervisor": supervisor, "note": note}
	return scanCommand(e, cl, required, func(l *ledger.Ledger, s ledger.Scan) (decision.Decision, error) {
		return l.OverrideScan(ctx, ledger.Override{Scan: s, Supervisor: *supervisor, Note: *note})
	})
}

// scanCommand parses what scan and override share (--data, --gate, --exit
// and a code, plus the command's own required flags), opens the ledger,
// decides and prints the decision.
func scanCommand(e *env, cl *cmdline, required map[string]*string, decide func(*ledger.Ledger, ledger.Scan) (decision.Decision, error)) error {
	data := dataFlag(cl)
	gate := cl.String("gate", "", "the gate, as named in the manifest")
	exit := cl.Bool("exit", false, "on the way out")
	pos, err := cl.parseN(1, "one CODE (or - for stdin)")
	if err != nil {
		return err
	}
	set := map[string]bool{"data": *data != "", "gate": *gate != ""}
	for name, v := range required {
		set[name] = *v != ""
	}
	if err := need(cl.Name(), set); err != nil {
		return err
	}
	code, err := codeArg(e, pos[0])
	if err != nil {
		return err
	}
	s := ledger.Scan{Text: code, Gate: *gate, Direction: rules.In}
	if *exit {
		s.Direction = rules.Out
	}
	return openLedger(e, *data, func(l *ledger.Ledger) error {
		d, err := decide(l, s)
		if err != nil {
			return err
		}
		return printDecision(e, d)
	})
}

// printDecision prints a decision as one JSON line; a refusal exits 1.
func printDecision(e *env, d decision.Decision) error {
	if err := json.NewEncoder(e.stdout).Encode(d); err != nil {
		return err
	}
	if !d.OK() {
		return silentExit(1)
	}
	return nil
}

func runLedgerRepair(ctx context.Context, e *env, cl *cmdline) error {
	data := dataFlag(cl)
	from := cl.String("from-peers", "", "comma-separated mesh addresses of live peers of the venue")
	bind := cl.String("bind", "0.0.0.0", "address the mesh listens on while repairing")
	port := cl.Int("port", 7946, "mesh port while repairing (0: any)")
	timeout := cl.Duration("timeout", 10*time.Minute, "give up after this long")
	if _, err := cl.parseN(0, ""); err != nil {
		return err
	}
	if err := need(cl.Name(), map[string]bool{"data": *data != "", "from-peers": *from != ""}); err != nil {
		return err
	}
	id, err := ledger.LoadIdentity(*data)
	if err != nil {
		return err
	}
	mcfg := cluster.DefaultConfig()
	mcfg.Name = id.Cert.Device
	mcfg.BindAddr, mcfg.BindPort = *bind, *port
	mcfg.Keyring = [][]byte{id.MeshKey}
	mcfg.Logger = e.log
	mcfg.Clock = clockFunc(e.now)
	mcfg.Meta = cluster.NodeMeta{Device: id.Cert.Device, Role: string(id.Cert.Role), Venue: id.Cert.Venue, Version: version}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	l, m, err := cluster.Repair(ctx, ledgerConfig(e, *data), mcfg, strings.Split(*from, ","))
	if err != nil {
		return err
	}
	st, serr := l.Stats()
	merr := m.Shutdown()
	if err := l.Close(); err != nil {
		return err
	}
	if serr == nil {
		fmt.Fprintf(e.stdout, "repaired %s from its peers: manifest change %d, %d records; the damaged store was kept beside db/\n", *data, st.ManifestSeq, st.Records)
	}
	return merr
}

// readSpec reads a venue description, YAML or TOML by its extension or
// its content; with now, its events are moved so that the first one's
// doors open now.
func readSpec(e *env, path string, now bool) (*manifest.Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("venue file: %w", err)
	}
	format := strings.TrimPrefix(filepath.Ext(path), ".")
	if format != "toml" && format != "yaml" && format != "yml" {
		format = ""
	}
	spec, err := manifest.ParseSpec(data, format)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if now {
		spec.OpenDoorsAt(e.now())
		return spec, nil
	}
	for _, ev := range spec.Events {
		if !ev.Ends.After(e.now()) {
			fmt.Fprintf(e.stderr, "warning: event %d (%s) ended %s: gates will refuse its tickets as outside_hours (--now moves the events so that the first one's doors open now)\n",
				ev.ID, ev.Name, ev.Ends.Format("2006-01-02 15:04 -07:00"))
		}
	}
	return spec, nil
}
