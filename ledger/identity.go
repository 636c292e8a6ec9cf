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

// Init provisions a device directory: a new identity key, a device
// certificate signed by the root, the root public key, the venue mesh key
// and a ledger encryption key, all mode 0600, then creates the empty ledger.
// It refuses a directory that already holds a device.
func Init(p Provision, cfg Config) error {
	if !ticket.ValidName(p.Device) {
		return fmt.Errorf("ledger init: device name %q: use 1-64 letters, digits, '.', '_' or '-'", p.Device)
	}
	if p.Role == "" {
		p.Role = ticket.RoleGate
	}
	if p.Role != ticket.RoleGate && p.Role != ticket.RoleSeller {
		return fmt.Errorf("ledger init: role %q: want gate or seller", p.Role)
	}
	if p.Venue == "" {
		p.Venue = "venue"
	}
	if !ticket.ValidName(p.Venue) {
		return fmt.Errorf("ledger init: venue name %q: use 1-64 letters, digits, '.', '_' or '-'", p.Venue)
	}
	issued := issuedPath(p.Keys, p.Venue, p.Device)
	if issued != "" {
		if _, err := os.Lstat(issued); err == nil {
			return fmt.Errorf("ledger init: venue %q already has a device named %q (recorded in %s): give the new device another name", p.Venue, p.Device, issued)
		}
	}
	if p.Now.IsZero() {
		p.Now = time.Now()
	}
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		return fmt.Errorf("ledger init: %w", err)
	}
	if _, err := os.Stat(filepath.Join(p.Dir, DeviceKeyFile)); err == nil {
		return fmt.Errorf("ledger init: %s already holds a device (%s): use a new directory", p.Dir, DeviceKeyFile)
	}
	key, err := ticket.GenerateKey(nil)
	if err != nil {
		return fmt.Errorf("ledger init: %w", err)
	}
	from, to := ticket.CertWindow(p.Now, p.Validity)
	cert, err := ticket.SignDeviceCert(ticket.DeviceCert{
		Device: p.Device, Role: p.Role, Venue: p.Venue, Key: ticket.PublicOf(key),
		NotBefore: from, NotAfter: to,
	}, p.Keys.Root)
	if err != nil {
		return fmt.Errorf("ledger init: %w", err)
	}
	var encKey []byte
	if p.EncryptionKey != "" {
		if _, err := os.Stat(p.EncryptionKey); errors.Is(err, fs.ErrNotExist) {
			if err := WriteEncryptionKey(p.EncryptionKey); err != nil {
				return fmt.Errorf("ledger init: %w", err)
			}
		}
		if encKey, err = keyfile.ReadSecret(p.EncryptionKey, ledgerKeyType, 32); err != nil {
			return fmt.Errorf("ledger init: %w", err)
		}
	} else {
		encKey = make([]byte, 32)
		if _, err := io.ReadFull(rand.Reader, encKey); err != nil {
			return fmt.Errorf("ledger init: %w", err)
		}
	}
	path := func(n string) string { return filepath.Join(p.Dir, n) }
	if err := errors.Join(
		keyfile.WritePrivateKey(path(DeviceKeyFile), key),
		keyfile.WriteJSON(path(DeviceCertFile), cert, false),
		keyfile.WritePublicKey(path(RootPubFile), p.Keys.RootPublic()),
		keyfile.WriteSecret(path(MeshKeyFile), keyfile.MeshKeyType, p.Keys.MeshKey),
		keyfile.WriteSecret(path(LedgerKeyFile), ledgerKeyType, encKey),
		writeGateKey(path(GateKeyFile), p.Role, p.Keys.GateKey),
	); err != nil {
		return fmt.Errorf("ledger init: %w", err)
	}
	if issued != "" {
		if err := os.MkdirAll(filepath.Dir(issued), 0o700); err != nil {
			return fmt.Errorf("ledger init: %w", err)
		}
		if err := keyfile.WriteJSON(issued, cert, false); err != nil {
			if errors.Is(err, keyfile.ErrExists) {
				return fmt.Errorf("ledger init: venue %q already has a device named %q (recorded in %s): give the new device another name", p.Venue, p.Device, issued)
			}
			return fmt.Errorf("ledger init: %w", err)
		}
	}
	cfg.Dir = p.Dir
	l, err := Open(cfg)
	if err != nil {
		return fmt.Errorf("ledger init: %w", err)
	}
	return l.Close()
}

// IssuedDir is the folder, inside the organizer's key directory, that keeps
// the certificate of every device provisioned from it, one folder per
// venue: a device name is issued once per venue.
const IssuedDir = "devices"

// issuedPath is where the certificate of device in venue is recorded, or
// "" for keys not read from a directory.
func issuedPath(k *keyfile.Keys, venue, device string) string {
	if k == nil || k.Dir == "" {
		return ""
	}
	return filepath.Join(k.Dir, IssuedDir, venue, device+".cert.json")
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
		return nil, fmt.Errorf("%s is not a device directory (no %s): run tixgate ledger init --data %s", dir, DeviceKeyFile, dir)
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
