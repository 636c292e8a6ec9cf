package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tixgate/tixgate/ticket/keyfile"
)

// MarkerFile is the marker kept outside Badger: what the device held at its
// last clean close, or at the last update while it ran (Config.MarkInterval).
// A store behind it (a lost MANIFEST, a rolled-back copy, a write-ahead log
// emptied or cut after a crash) is refused instead of trusted.
const MarkerFile = "ledger.mark"

// ErrUnsound is wrapped by Open when the ledger cannot prove it holds what
// the device held: the store is behind its marker or damaged. A gate must
// not decide on it; it is repaired from the mesh (cluster.Repair, tixgate
// ledger repair --from-peers) or restored from a backup. The device API
// answers 503 while it is.
var ErrUnsound = errors.New("ledger is unsound")

// marker is what the device held at its last clean close or update.
type marker struct {
	Origin      string `json:"origin"`
	OwnSeq      uint64 `json:"own_seq"`      // this device's own head
	ManifestSeq uint64 `json:"manifest_seq"` // the last manifest change applied
	Records     uint64 `json:"records"`      // records held without gaps, every origin
	// Files are the SHA-256 of the store's immutable files (tables, key
	// registry) at the clean close; Open checks them before Badger reads
	// them (a damaged table panics inside Badger's own goroutines, where
	// no recover reaches) and then drops them, since a run changes them.
	Files map[string]string `json:"files,omitempty"`
	Sum   string            `json:"sum"` // SHA-256 of the fields above
}

func (m *marker) sum() string {
	h := sha256.New()
	fmt.Fprintf(h, "tixgate/ledger-marker/v1\x00%s\x00%d\x00%d\x00%d", m.Origin, m.OwnSeq, m.ManifestSeq, m.Records)
	names := make([]string, 0, len(m.Files))
	for n := range m.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "\x00%s=%s", n, m.Files[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// immutableFile reports whether Badger never changes a file once written.
func immutableFile(name string) bool {
	return strings.HasSuffix(name, ".sst") || name == "KEYREGISTRY"
}

// hashFiles hashes the store's immutable files.
func hashFiles(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || !immutableFile(e.Name()) {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return nil, err
		}
		out[e.Name()] = hex.EncodeToString(h.Sum(nil))
	}
	return out, nil
}

// checkFiles compares the store's files with the marker before Badger
// opens them: Badger, finding its MANIFEST gone, starts a new one and
// deletes the tables it no longer knows, so a store that held something is
// refused untouched instead.
func checkFiles(dir string) error {
	m, ok, err := readMarker(dir)
	if err != nil || !ok {
		return err
	}
	if m.Records > 0 || m.ManifestSeq > 0 {
		if _, err := os.Stat(filepath.Join(dir, dbDir, "MANIFEST")); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: the store's MANIFEST is missing (the device held manifest change %d and %d records): repair it from its peers (tixgate ledger repair --from-peers) or restore a backup", ErrUnsound, m.ManifestSeq, m.Records)
		}
	}
	if m.Files == nil {
		return nil
	}
	have, err := hashFiles(filepath.Join(dir, dbDir))
	if err != nil {
		return fmt.Errorf("%w: read the store's files: %w", ErrUnsound, err)
	}
	var bad []string
	for name, sum := range m.Files {
		switch got, ok := have[name]; {
		case !ok:
			bad = append(bad, name+" is missing")
		case got != sum:
			bad = append(bad, name+" is damaged")
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("%w: %s since the last clean close: repair it from its peers (tixgate ledger repair --from-peers) or restore a backup", ErrUnsound, joinList(bad))
	}
	return nil
}

// dropFileSums takes the file sums out of the marker once the store opened
// sound: a run changes the files.
func dropFileSums(dir string) error {
	m, ok, err := readMarker(dir)
	if err != nil || !ok || m.Files == nil {
		return err
	}
	m.Files = nil
	return writeMarker(dir, m)
}

// checkWAL refuses a write-ahead log file Badger cannot replay and would
// otherwise recreate empty: an emptied memtable file after a crash loses
// every record since the last flush. The marker says what they were.
func checkWAL(dir string) error {
	mems, err := filepath.Glob(filepath.Join(dir, dbDir, "*.mem"))
	if err != nil {
		return err
	}
	for _, p := range mems {
		fi, err := os.Stat(p)
		if err != nil || fi.Size() > 0 {
			continue
		}
		held := "what it held is unknown (no marker)"
		if m, ok, _ := readMarker(dir); ok {
			held = fmt.Sprintf("this device's records up to %d, manifest change %d and %d records in all were held", m.OwnSeq, m.ManifestSeq, m.Records)
		}
		return fmt.Errorf("%w: the write-ahead log %s is empty, so the records written since the last flush are lost (%s): repair it from its peers (tixgate ledger repair --from-peers) or restore a backup", ErrUnsound, filepath.Base(p), held)
	}
	return nil
}

// readMarker reads the marker; ok is false when there is none (a device
// from before markers, or one never closed cleanly).
func readMarker(dir string) (m marker, ok bool, err error) {
	return readMarkerFile(filepath.Join(dir, MarkerFile))
}

func readMarkerFile(path string) (m marker, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("read %s: %w", MarkerFile, err)
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Sum != m.sum() {
		return m, false, fmt.Errorf("%w: %s is damaged: repair the ledger from its peers (tixgate ledger repair --from-peers)", ErrUnsound, MarkerFile)
	}
	return m, true, nil
}

func writeMarker(dir string, m marker) error {
	m.Sum = m.sum()
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return keyfile.WriteFile(filepath.Join(dir, MarkerFile), append(b, '\n'), true)
}

// markerNow is what the ledger holds now, as a marker.
func (l *Ledger) markerNow() (marker, error) {
	vv, err := l.VersionVector()
	if err != nil {
		return marker{}, err
	}
	m := marker{Origin: l.id.ID().String(), OwnSeq: vv[l.id.ID()], ManifestSeq: l.ManifestSeq()}
	for _, seq := range vv {
		m.Records += seq
	}
	return m, nil
}

// checkMarker refuses a store that holds less than the marker says the
// device held, naming what is missing.
func (l *Ledger) checkMarker() error {
	if _, err := os.Stat(filepath.Join(l.cfg.Dir, MarkerFile+".repair")); err == nil {
		return fmt.Errorf("%w: a repair from peers was interrupted: run tixgate ledger repair --from-peers again", ErrUnsound)
	}
	want, ok, err := readMarker(l.cfg.Dir)
	if err != nil || !ok {
		return err
	}
	have, err := l.markerNow()
	if err != nil {
		return fmt.Errorf("%w: read what the store holds: %w", ErrUnsound, err)
	}
	var lost []string
	if have.OwnSeq < want.OwnSeq {
		lost = append(lost, "this device's "+span("record", have.OwnSeq+1, want.OwnSeq))
	}
	if have.ManifestSeq < want.ManifestSeq {
		lost = append(lost, "manifest "+span("change", have.ManifestSeq+1, want.ManifestSeq))
	}
	if have.Records < want.Records {
		lost = append(lost, fmt.Sprintf("%d of %d records", want.Records-have.Records, want.Records))
	}
	if len(lost) > 0 {
		return fmt.Errorf("%w: the store is behind what the device held before (lost: %s): repair it from its peers (tixgate ledger repair --from-peers) or restore a backup", ErrUnsound, joinList(lost))
	}
	return nil
}

func joinList(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += "; "
		}
		out += x
	}
	return out
}

// OpenForRepair opens a device directory whose store is damaged or lost,
// for rebuilding from peers: the damaged store is moved aside (to
// db.damaged-<time>, for inspection) and a new, empty one is made. The
// ledger refuses to decide (ErrUnsound) until CheckSound finds that it
// holds everything the marker says the device held: the manifest, and
// every record of this device, which peers hold too. Its own sequence then
// continues from the records fetched, so no number is used twice. Records
// are verified as they arrive, as any ingested from peers.
func OpenForRepair(cfg Config) (*Ledger, error) {
	db := filepath.Join(cfg.Dir, dbDir)
	if _, err := os.Stat(db); err == nil {
		aside := fmt.Sprintf("%s.damaged-%s", db, cfg.Clock.Now().UTC().Format("20060102T150405"))
		if err := os.Rename(db, aside); err != nil {
			return nil, fmt.Errorf("repair: move the damaged store aside: %w", err)
		}
	}
	want, _, err := readMarker(cfg.Dir)
	if err != nil {
		want = marker{} // a damaged marker: repair to whatever the peers hold
	}
	if prev, ok, _ := readMarkerFile(filepath.Join(cfg.Dir, MarkerFile+".repair")); ok {
		want = prev // a repair interrupted before: its aim stands
	}
	want.Files = nil
	// The marker goes aside too while the store is rebuilt, so an
	// interrupted repair opens again for repair, not as sound.
	if err := os.Rename(filepath.Join(cfg.Dir, MarkerFile), filepath.Join(cfg.Dir, MarkerFile+".repair")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("repair: %w", err)
	}
	l, err := open(cfg, &want)
	if err != nil {
		return nil, fmt.Errorf("repair: %w", err)
	}
	return l, nil
}

// CheckSound reports whether a ledger opened for repair now holds what the
// device held, and lets it decide again if so.
func (l *Ledger) CheckSound() error {
	want := l.repairing.Load()
	if want == nil {
		return nil
	}
	have, err := l.markerNow()
	if err != nil {
		return err
	}
	if have.OwnSeq < want.OwnSeq || have.ManifestSeq < want.ManifestSeq || have.Records < want.Records {
		return fmt.Errorf("%w: repairing: holds own record %d of %d, manifest change %d of %d, %d of %d records", ErrUnsound,
			have.OwnSeq, want.OwnSeq, have.ManifestSeq, want.ManifestSeq, have.Records, want.Records)
	}
	l.repairing.Store(nil)
	os.Remove(filepath.Join(l.cfg.Dir, MarkerFile+".repair"))
	l.log.Info("ledger repaired from peers", "own_seq", have.OwnSeq, "manifest_seq", have.ManifestSeq, "records", have.Records)
	return nil
}

// keepMarker brings the marker up to what the store holds every
// MarkInterval while the ledger runs, so that a crash followed by damage to
// the write-ahead log cannot lose acknowledged records silently. Updates
// carry no file sums: the files change while the ledger runs.
func (l *Ledger) keepMarker() {
	defer close(l.markDone)
	if l.cfg.MarkInterval <= 0 {
		<-l.quit
		return
	}
	t := time.NewTicker(l.cfg.MarkInterval)
	defer t.Stop()
	var last marker
	for {
		select {
		case <-l.quit:
			return
		case <-t.C:
		}
		if l.repairing.Load() != nil {
			continue // the marker's aim is kept aside until the repair ends
		}
		m, err := l.markerNow()
		if err != nil || (m.OwnSeq == last.OwnSeq && m.ManifestSeq == last.ManifestSeq && m.Records == last.Records) {
			continue
		}
		if err := writeMarker(l.cfg.Dir, m); err != nil {
			l.log.Error("update the ledger marker", "err", err)
			continue
		}
		last = m
	}
}

// span names the numbers first to last of a kind: "record 7", "records 7-9".
func span(kind string, first, last uint64) string {
	if first == last {
		return fmt.Sprintf("%s %d", kind, first)
	}
	return fmt.Sprintf("%ss %d-%d", kind, first, last)
}
