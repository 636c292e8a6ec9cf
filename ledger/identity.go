package ledger

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// The files of a device directory.
const (
	DeviceKeyFile  = "device.key"       // the device's identity key: signs its records and gossip
	DeviceCertFile = "device.cert.json" // its certificate, signed by the root
	RootPubFile    = "root.pub"         // the organizer's root public key: what the device trusts
	MeshKeyFile    = "mesh.key"         // the venue mesh keyring
	GateKeyFile    = "gates.key"        // opens holders' names and rotation secrets: gates only
	LedgerKeyFile  = "ledger.key"       // encrypts the ledger at rest
	dbDir          = "db"

	ledgerKeyType = "TIXGATE LEDGER KEY"
)

// Identity is who a device is and what it trusts, read from its directory.
type Identity struct {
	Key     ed25519.PrivateKey
	Cert    ticket.DeviceCert
	Root    ed25519.PublicKey
	MeshKey []byte
	// GateKey opens the private parts of manifest changes; a gate has
	// it, a seller does not.
	GateKey []byte
}

// ID is the device's key id: the origin of its records.
func (id *Identity) ID() ticket.KeyID { return id.Cert.ID() }

// Provision says how to set up a device directory without central.
type Provision struct {
	Dir    string
	Keys   *keyfile.Keys // the organizer's keys: the root signs the device certificate
	Device string
	Role   ticket.Role
	Venue  string
	// EncryptionKey is a key file (kept apart from the device directory,
	// say on removable media) to copy as the ledger's; it is made if it does
	// not exist. Empty makes a new random key in the device directory only.
	EncryptionKey string
	Now           time.Time
	Validity      time.Duration // of the device certificate; default 5 years
}

// Init provisions a device without central: a new identity key, certified
// by the organizer's root through keyfile.Keys.CertifyDevice (the signing
// central does at enrollment), then installed as Install does. The
// certificate is recorded in the key directory, so a device name is issued
// once per venue.
func Init(p Provision, cfg Config) error {
	if p.Role == "" {
		p.Role = ticket.RoleGate
	}
	if p.Venue == "" {
		p.Venue = "venue"
	}
	if p.Now.IsZero() {
		p.Now = time.Now()
	}
	key, err := ticket.GenerateKey(nil)
	if err != nil {
		return fmt.Errorf("ledger init: %w", err)
	}
	cert, err := p.Keys.CertifyDevice(keyfile.DeviceRequest{Device: p.Device, Role: p.Role, Venue: p.Venue,
		Key: ticket.PublicOf(key), Now: p.Now, Validity: p.Validity})
	if err != nil {
		return fmt.Errorf("ledger init: %w", err)
	}
	if err := p.Keys.CheckUnissued(p.Venue, p.Device); err != nil {
		return fmt.Errorf("ledger init: %w", err)
	}
	err = Install(Enrollment{Dir: p.Dir, Key: key, Cert: cert, Root: p.Keys.RootPublic(), MeshKey: p.Keys.MeshKey,
		GateKey: p.Keys.GateKey, EncryptionKey: p.EncryptionKey}, cfg)
	if err != nil {
		return fmt.Errorf("ledger init: %w", err)
	}
	if err := p.Keys.RecordIssued(cert); err != nil {
		return fmt.Errorf("ledger init: %w", err)
	}
	return nil
}

// Enrollment is what a device holds once certified: its identity key, the
// certificate the organizer's root signed for it (at central or with
// keyfile.Keys.CertifyDevice), the root public key it trusts and the venue
// mesh key.
type Enrollment struct {
	Dir     string
	Key     ed25519.PrivateKey
	Cert    ticket.DeviceCert
	Root    ed25519.PublicKey
	MeshKey []byte
	// GateKey opens the private parts of manifest changes; only a gate
	// keeps it (Install ignores it for other roles).
	GateKey []byte
	// EncryptionKey: as Provision's.
	EncryptionKey string
}

// Install sets up a device directory from a signed certificate: the
// identity key, its certificate, the root public key, the venue mesh key
// and a ledger encryption key, all mode 0600, then creates the empty
// ledger. It checks the certificate against the root and the key, and
// refuses a directory that already holds a device. The ledger never signs
// a certificate.
func Install(e Enrollment, cfg Config) error {
	if err := e.Cert.Verify(e.Root); err != nil {
		return fmt.Errorf("install device: %w", err)
	}
	if !e.Cert.Key.Equal(ticket.PublicOf(e.Key)) {
		return fmt.Errorf("install device: the certificate of %q is for another key", e.Cert.Device)
	}
	if e.Cert.Role != ticket.RoleGate && e.Cert.Role != ticket.RoleSeller {
		return fmt.Errorf("install device: role %q: want gate or seller", e.Cert.Role)
	}
	if len(e.MeshKey) != keyfile.SecretSize {
		return fmt.Errorf("install device: mesh key of %d bytes, want %d", len(e.MeshKey), keyfile.SecretSize)
	}
	if e.Cert.Role == ticket.RoleGate && len(e.GateKey) != keyfile.SecretSize {
		return fmt.Errorf("install device: a gate needs the gates key (%d bytes), got %d", keyfile.SecretSize, len(e.GateKey))
	}
	if err := os.MkdirAll(e.Dir, 0o700); err != nil {
		return fmt.Errorf("install device: %w", err)
	}
	if _, err := os.Stat(filepath.Join(e.Dir, DeviceKeyFile)); err == nil {
		return fmt.Errorf("install device: %s already holds a device (%s): use a new directory", e.Dir, DeviceKeyFile)
	}
	var encKey []byte
	var err error
	if e.EncryptionKey != "" {
		if _, err := os.Stat(e.EncryptionKey); errors.Is(err, fs.ErrNotExist) {
			if err := WriteEncryptionKey(e.EncryptionKey); err != nil {
				return fmt.Errorf("install device: %w", err)
			}
		}
		if encKey, err = keyfile.ReadSecret(e.EncryptionKey, ledgerKeyType, 32); err != nil {
			return fmt.Errorf("install device: %w", err)
		}
	} else {
		encKey = make([]byte, 32)
		if _, err := io.ReadFull(rand.Reader, encKey); err != nil {
			return fmt.Errorf("install device: %w", err)
		}
	}
	path := func(n string) string { return filepath.Join(e.Dir, n) }
	if err := errors.Join(
		keyfile.WritePrivateKey(path(DeviceKeyFile), e.Key),
		keyfile.WriteJSON(path(DeviceCertFile), e.Cert, false),
		keyfile.WritePublicKey(path(RootPubFile), e.Root),
		keyfile.WriteSecret(path(MeshKeyFile), keyfile.MeshKeyType, e.MeshKey),
		keyfile.WriteSecret(path(LedgerKeyFile), ledgerKeyType, encKey),
		writeGateKey(path(GateKeyFile), e.Cert.Role, e.GateKey),
	); err != nil {
		return fmt.Errorf("install device: %w", err)
	}
	cfg.Dir = e.Dir
	l, err := Open(cfg)
	if err != nil {
		return fmt.Errorf("install device: %w", err)
	}
	return l.Close()
}

// WriteEncryptionKey writes a new random ledger encryption key file, for
// provisioning that keeps the key apart from the device directory.
func WriteEncryptionKey(path string) error {
	k := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, k); err != nil {
		return err
	}
	return keyfile.WriteSecret(path, ledgerKeyType, k)
}

// LoadIdentity reads a device directory's identity files.
func LoadIdentity(dir string) (*Identity, error) {
	if _, err := os.Stat(filepath.Join(dir, DeviceKeyFile)); errors.Is(err, fs.ErrNotExist) {
		switch _, derr := os.Stat(dir); {
		case errors.Is(derr, fs.ErrNotExist):
			return nil, fmt.Errorf("%s does not exist: give --data a device's folder, or make one with tixgate ledger init --data %s (or tixgate enroll)", dir, dir)
		case fileExists(filepath.Join(dir, keyfile.RootKeyFile)) || fileExists(filepath.Join(dir, keyfile.RootPubFile)):
			return nil, fmt.Errorf("%s is the organizer's key folder, not a device's: give --data the folder tixgate ledger init or tixgate enroll made for the device", dir)
		}
		return nil, fmt.Errorf("%s is not a device's folder (no %s): make one with tixgate ledger init --data %s (or tixgate enroll)", dir, DeviceKeyFile, dir)
	}
	id := &Identity{}
	var err error
	path := func(n string) string { return filepath.Join(dir, n) }
	if id.Key, err = keyfile.ReadPrivateKey(path(DeviceKeyFile)); err != nil {
		return nil, err
	}
	if err := keyfile.ReadJSON(path(DeviceCertFile), &id.Cert); err != nil {
		return nil, err
	}
	if id.Root, err = keyfile.ReadPublicKey(path(RootPubFile)); err != nil {
		return nil, err
	}
	if id.MeshKey, err = keyfile.ReadSecret(path(MeshKeyFile), keyfile.MeshKeyType, keyfile.SecretSize); err != nil {
		return nil, err
	}
	if id.Cert.Role == ticket.RoleGate {
		if id.GateKey, err = keyfile.ReadSecret(path(GateKeyFile), keyfile.GateKeyType, keyfile.SecretSize); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if err := id.Cert.Verify(id.Root); err != nil {
		return nil, fmt.Errorf("%s: %w", DeviceCertFile, err)
	}
	if !id.Cert.Key.Equal(ticket.PublicOf(id.Key)) {
		return nil, fmt.Errorf("%s does not certify %s", DeviceCertFile, DeviceKeyFile)
	}
	return id, nil
}

func readLedgerKey(dir string) ([]byte, error) {
	return keyfile.ReadSecret(filepath.Join(dir, LedgerKeyFile), ledgerKeyType, 32)
}

// writeGateKey gives a gate the gates key; other roles get none.
func writeGateKey(path string, role ticket.Role, key []byte) error {
	if role != ticket.RoleGate {
		return nil
	}
	return keyfile.WriteSecret(path, keyfile.GateKeyType, key)
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
