package keyfile

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

// DeviceRequest is what a device certificate is to say: who the device is,
// what it does, where, and the identity key it made for itself.
type DeviceRequest struct {
	Device   string
	Role     ticket.Role // gate or seller
	Venue    string
	Key      ed25519.PublicKey
	Now      time.Time     // start of validity (an hour earlier, see ticket.CertWindow)
	Validity time.Duration // default ticket.CertValidity
}

// CertifyDevice signs a device certificate with the organizer's root key.
// It is the one place device certificates are made: central signs them
// when a device enrolls, `tixgate ledger init --keys` for a venue without
// central.
func (k *Keys) CertifyDevice(r DeviceRequest) (ticket.DeviceCert, error) {
	switch {
	case !ticket.ValidName(r.Device):
		return ticket.DeviceCert{}, fmt.Errorf("certify device: name %q: use 1-64 letters, digits, '.', '_' or '-'", r.Device)
	case r.Role != ticket.RoleGate && r.Role != ticket.RoleSeller:
		return ticket.DeviceCert{}, fmt.Errorf("certify device %s: role %q: want gate or seller", r.Device, r.Role)
	case !ticket.ValidName(r.Venue):
		return ticket.DeviceCert{}, fmt.Errorf("certify device %s: venue name %q: use 1-64 letters, digits, '.', '_' or '-'", r.Device, r.Venue)
	case len(r.Key) != ed25519.PublicKeySize:
		return ticket.DeviceCert{}, fmt.Errorf("certify device %s: identity key of %d bytes, want an ed25519 public key", r.Device, len(r.Key))
	}
	if r.Now.IsZero() {
		r.Now = time.Now()
	}
	from, to := ticket.CertWindow(r.Now, r.Validity)
	cert, err := ticket.SignDeviceCert(ticket.DeviceCert{
		Device: r.Device, Role: r.Role, Venue: r.Venue, Key: r.Key, NotBefore: from, NotAfter: to,
	}, k.Root)
	if err != nil {
		return ticket.DeviceCert{}, fmt.Errorf("certify device %s: %w", r.Device, err)
	}
	return cert, nil
}

// IssuedDir is the folder, inside a key directory, that keeps the
// certificate of every device certified from it without central, one folder
// per venue: a device name is issued once per venue.
const IssuedDir = "devices"

// ErrIssued is returned when a venue already has a device of that name.
var ErrIssued = errors.New("device name already issued")

// IssuedPath is where the certificate of device in venue is recorded, or
// "" for keys not read from a directory.
func (k *Keys) IssuedPath(venue, device string) string {
	if k == nil || k.Dir == "" {
		return ""
	}
	return filepath.Join(k.Dir, IssuedDir, venue, device+".cert.json")
}

// CheckUnissued fails with ErrIssued when the venue has a device of that
// name already.
func (k *Keys) CheckUnissued(venue, device string) error {
	p := k.IssuedPath(venue, device)
	if p == "" {
		return nil
	}
	if _, err := os.Lstat(p); err == nil {
		return fmt.Errorf("venue %q already has a device named %q (recorded in %s): give the new device another name: %w", venue, device, p, ErrIssued)
	}
	return nil
}

// RecordIssued keeps a certificate in the key directory, so the name is not
// issued twice in its venue.
func (k *Keys) RecordIssued(cert ticket.DeviceCert) error {
	p := k.IssuedPath(cert.Venue, cert.Device)
	if p == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	if err := WriteJSON(p, cert, false); err != nil {
		if errors.Is(err, ErrExists) {
			return fmt.Errorf("venue %q already has a device named %q (recorded in %s): give the new device another name: %w", cert.Venue, cert.Device, p, ErrIssued)
		}
		return err
	}
	return nil
}

// Open loads the key directory, or makes it when it holds no root key yet:
// what central does on its first start.
func Open(dir string, opt InitOptions) (k *Keys, created bool, err error) {
	if _, err := os.Lstat(filepath.Join(dir, RootKeyFile)); errors.Is(err, os.ErrNotExist) {
		k, err := Init(dir, opt)
		return k, err == nil, err
	}
	k, err = Load(dir)
	return k, false, err
}
