package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// Format names a central backup in its backup.json.
const Format = "tixgate-central-backup"

// manifestFile is the archive's first entry.
const manifestFile = "backup.json"

// Manifest is backup.json: what a backup holds.
type Manifest struct {
	Format   string         `json:"format"`
	Version  int            `json:"version"`
	Created  time.Time      `json:"created"`
	Snapshot store.Snapshot `json:"snapshot"`
	// File is the copy's entry in the archive, with its size and SHA-256.
	File   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// The organizer's keys the database goes with (not the keys
	// themselves: see the package doc).
	Root    ticket.KeyID `json:"root"`
	Issuer  ticket.KeyID `json:"issuer"`
	Central ticket.KeyID `json:"central"`
}

// Make writes a backup of db to out, which must not exist, while central
// goes on serving. The copy is made in a temporary folder beside out.
func Make(ctx context.Context, db *store.DB, keys *keyfile.Keys, out string, now time.Time) (Manifest, error) {
	if _, err := os.Lstat(out); err == nil {
		return Manifest{}, fmt.Errorf("backup: %s exists: give a new file", out)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".backup-")
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(tmp)
	m := Manifest{Format: Format, Version: 1, Created: now.UTC(), File: store.SnapshotFile(db.Dialect()),
		Root: keys.IssuerCert.Root, Issuer: keys.IssuerCert.ID(), Central: keys.CentralCert.ID()}
	copyPath := filepath.Join(tmp, m.File)
	if m.Snapshot, err = db.Backup(ctx, copyPath); err != nil {
		return Manifest{}, err
	}
	if m.Size, m.SHA256, err = hashFile(copyPath); err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	head, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, err
	}
	err = keyfile.WriteStream(out, keyfile.Mode, false, func(w io.Writer) error {
		gz := gzip.NewWriter(w)
		tw := tar.NewWriter(gz)
		if err := tw.WriteHeader(&tar.Header{Name: manifestFile, Mode: 0o600, Size: int64(len(head)), ModTime: m.Created, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if _, err := tw.Write(head); err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: m.File, Mode: 0o600, Size: m.Size, ModTime: m.Created, Format: tar.FormatPAX}); err != nil {
			return err
		}
		f, err := os.Open(copyPath)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := io.Copy(tw, f); err != nil {
			return err
		}
		if err := tw.Close(); err != nil {
			return err
		}
		return gz.Close()
	})
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	return m, nil
}

func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return n, hex.EncodeToString(h.Sum(nil)), err
}

// ErrDamaged is returned for a backup file that is cut short, corrupt or
// not a central backup at all.
var ErrDamaged = errors.New("damaged backup")

// Read checks the backup file whole — its format, every byte of the copy
// against its SHA-256, the archive's own checksum — and extracts the copy
// into dir. It returns the manifest and the copy's path.
func Read(file, dir string) (Manifest, string, error) {
	var m Manifest
	f, err := os.Open(file)
	if err != nil {
		return m, "", fmt.Errorf("read backup: %w", err)
	}
	defer f.Close()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("read backup %s: %w: %s", file, ErrDamaged, fmt.Sprintf(format, args...))
	}
	cut := func(err error) error {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return bad("the file ends early: it was cut short (a copy still being written, or a full disk?)")
		}
		return bad("%v", err)
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return m, "", bad("the file is empty")
		}
		return m, "", bad("not a tixgate central backup (%v)", err)
	}
	tr := tar.NewReader(gz)
	h, err := tr.Next()
	if err != nil {
		return m, "", cut(err)
	}
	if h.Name != manifestFile || h.Size > 1<<20 {
		return m, "", bad("not a tixgate central backup: its first entry is %q", h.Name)
	}
	head, err := io.ReadAll(tr)
	if err != nil {
		return m, "", cut(err)
	}
	if err := json.Unmarshal(head, &m); err != nil || m.Format != Format {
		return m, "", bad("not a tixgate central backup: %s is not one (%v)", manifestFile, err)
	}
	if m.Version != 1 {
		return m, "", fmt.Errorf("read backup %s: format version %d: this tixgate reads version 1", file, m.Version)
	}
	if m.File != store.SnapshotFile(m.Snapshot.Dialect) {
		return m, "", bad("%s names the copy %q", manifestFile, m.File)
	}
	if h, err = tr.Next(); err != nil {
		return m, "", cut(err)
	}
	if h.Name != m.File || h.Size != m.Size {
		return m, "", bad("entry %q of %d bytes, want %q of %d", h.Name, h.Size, m.File, m.Size)
	}
	path := filepath.Join(dir, m.File)
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return m, "", fmt.Errorf("read backup: %w", err)
	}
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, sum), tr)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return m, "", cut(err)
	}
	if n != m.Size || hex.EncodeToString(sum.Sum(nil)) != m.SHA256 {
		return m, "", bad("the database copy's checksum differs from the one recorded: the file was changed or damaged")
	}
	if _, err := tr.Next(); err != io.EOF {
		if err == nil {
			return m, "", bad("an unexpected entry after the database copy")
		}
		return m, "", cut(err)
	}
	// The rest of the gzip stream carries its CRC and length.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return m, "", cut(err)
	}
	return m, path, nil
}

// Restored is what Restore did.
type Restored struct {
	Manifest
	Target string // the SQLite file or the PostgreSQL URL, its password hidden
}

// Restore reads the backup file, checks it whole and checks that the keys
// in keysDir are those it was made with, then loads it into the database
// cfg names and brings its schema up to date. A target holding tables is
// refused unless force is set. Nothing is changed when any check fails.
func Restore(ctx context.Context, cfg store.Config, keysDir, file string, force bool) (Restored, error) {
	var r Restored
	keys, err := keyfile.Load(keysDir)
	if err != nil {
		return r, fmt.Errorf("restore: the keys this central runs with must be in place first (they are not in the backup): %w", err)
	}
	tmpDir := cfg.DataDir
	if tmpDir == "" {
		tmpDir = os.TempDir()
	} else if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return r, fmt.Errorf("restore: %w", err)
	}
	tmp, err := os.MkdirTemp(tmpDir, ".restore-")
	if err != nil {
		return r, fmt.Errorf("restore: %w", err)
	}
	defer os.RemoveAll(tmp)
	m, path, err := Read(file, tmp)
	if err != nil {
		return r, err
	}
	r.Manifest = m
	if m.Root != keys.IssuerCert.Root {
		return r, fmt.Errorf("restore: the backup goes with root key %s, and %s holds root key %s: put this central's own keys there", m.Root, keysDir, keys.IssuerCert.Root)
	}
	newest, err := store.SchemaVersion()
	if err != nil {
		return r, err
	}
	if m.Snapshot.Schema > newest {
		return r, fmt.Errorf("restore: the backup's schema is version %d and this tixgate knows up to %d: restore it with the tixgate that made it, or a newer one", m.Snapshot.Schema, newest)
	}
	if _, err := store.Restore(ctx, cfg, path, m.Snapshot, force); err != nil {
		return r, err
	}
	db, err := store.Open(ctx, cfg)
	if err != nil {
		return r, fmt.Errorf("restore: open the restored database: %w", err)
	}
	r.Target = db.DSN()
	if db.Dialect() == store.Postgres {
		r.Target = store.Redact(r.Target)
	}
	return r, db.Close()
}
