package keyfile

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/hkdf"

	"github.com/tixgate/tixgate/ticket"
)

// The files of an organizer's key directory, made by Init.
const (
	RootKeyFile     = "root.key"          // the root private key: signs certificates
	RootPubFile     = "root.pub"          // the root public key: what devices pin
	IssuerKeyFile   = "issuer.key"        // central's online issuer key
	IssuerCertFile  = "issuer.cert.json"  // its certificate: every event, type and serial
	CentralKeyFile  = "central.key"       // signs manifest changes
	CentralCertFile = "central.cert.json" // its certificate, role central
	MeshKeyFile     = "mesh.key"          // the venue mesh keyring (memberlist, AES-256)
	RotationKeyFile = "rotation.key"      // master secret of events' rotating codes
	GateKeyFile     = "gates.key"         // seals holders' names and rotation secrets to the gates

	MeshKeyType     = "TIXGATE MESH KEY"
	RotationKeyType = "TIXGATE ROTATION SECRET"
	GateKeyType     = "TIXGATE GATES KEY"
	SecretSize      = 32
)

// Keys is an organizer's key material, as Init writes it and Load reads it.
type Keys struct {
	Dir            string
	Root           ed25519.PrivateKey
	Issuer         ed25519.PrivateKey
	IssuerCert     ticket.IssuerCert
	Central        ed25519.PrivateKey
	CentralCert    ticket.DeviceCert
	MeshKey        []byte
	RotationMaster []byte
	// GateKey seals the private parts of manifest changes (holders'
	// names, rotation secrets): gate devices get it, sellers do not.
	GateKey []byte
}

// RootPublic is the root public key.
func (k *Keys) RootPublic() ed25519.PublicKey { return ticket.PublicOf(k.Root) }

// InitOptions tune Init; the zero value is fine.
type InitOptions struct {
	Venue string    // venue of the central certificate; "central" when empty
	Now   time.Time // start of the certificates' validity; time.Now when zero
	Rand  io.Reader // crypto/rand when nil
}

// Init creates a new key directory: a root key, an issuer key with a
// certificate for every event, type and serial, a central key with a
// certificate, a venue mesh key and a rotation master secret. It refuses a
// directory that already holds any of them.
func Init(dir string, opt InitOptions) (*Keys, error) {
	if opt.Rand == nil {
		opt.Rand = rand.Reader
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	if opt.Venue == "" {
		opt.Venue = "central"
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keys init: %w", err)
	}
	for _, name := range []string{RootKeyFile, RootPubFile, IssuerKeyFile, IssuerCertFile, CentralKeyFile, CentralCertFile, MeshKeyFile, RotationKeyFile, GateKeyFile} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return nil, fmt.Errorf("keys init: %s already holds %s: %w (keys are never replaced; use a new directory)", dir, name, ErrExists)
		}
	}
	k := &Keys{Dir: dir}
	var err error
	for _, p := range []*ed25519.PrivateKey{&k.Root, &k.Issuer, &k.Central} {
		if *p, err = ticket.GenerateKey(opt.Rand); err != nil {
			return nil, fmt.Errorf("keys init: %w", err)
		}
	}
	k.MeshKey = make([]byte, SecretSize)
	k.RotationMaster = make([]byte, SecretSize)
	k.GateKey = make([]byte, SecretSize)
	for _, b := range [][]byte{k.MeshKey, k.RotationMaster, k.GateKey} {
		if _, err := io.ReadFull(opt.Rand, b); err != nil {
			return nil, fmt.Errorf("keys init: random secret: %w", err)
		}
	}
	from, to := ticket.CertWindow(opt.Now, 0)
	k.IssuerCert, err = ticket.SignIssuerCert(ticket.IssuerCert{
		Name:      "central",
		Key:       ticket.PublicOf(k.Issuer),
		SerialMin: 1,
		SerialMax: ticket.MaxSerial,
		NotBefore: from,
		NotAfter:  to,
	}, k.Root)
	if err != nil {
		return nil, fmt.Errorf("keys init: %w", err)
	}
	k.CentralCert, err = ticket.SignDeviceCert(ticket.DeviceCert{
		Device:    "central",
		Role:      ticket.RoleCentral,
		Venue:     opt.Venue,
		Key:       ticket.PublicOf(k.Central),
		NotBefore: from,
		NotAfter:  to,
	}, k.Root)
	if err != nil {
		return nil, fmt.Errorf("keys init: %w", err)
	}
	steps := []error{
		WritePrivateKey(filepath.Join(dir, RootKeyFile), k.Root),
		WritePublicKey(filepath.Join(dir, RootPubFile), k.RootPublic()),
		WritePrivateKey(filepath.Join(dir, IssuerKeyFile), k.Issuer),
		WriteJSON(filepath.Join(dir, IssuerCertFile), k.IssuerCert, false),
		WritePrivateKey(filepath.Join(dir, CentralKeyFile), k.Central),
		WriteJSON(filepath.Join(dir, CentralCertFile), k.CentralCert, false),
		WriteSecret(filepath.Join(dir, MeshKeyFile), MeshKeyType, k.MeshKey),
		WriteSecret(filepath.Join(dir, RotationKeyFile), RotationKeyType, k.RotationMaster),
		WriteSecret(filepath.Join(dir, GateKeyFile), GateKeyType, k.GateKey),
	}
	if err := errors.Join(steps...); err != nil {
		return nil, fmt.Errorf("keys init: %w", err)
	}
	return k, nil
}

// Load reads a key directory made by Init and checks that its certificates
// are signed by its root.
func Load(dir string) (*Keys, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("load keys: %s is not a key directory: run tixgate keys init --dir %s", dir, dir)
		}
		return nil, fmt.Errorf("load keys: %w", err)
	}
	k := &Keys{Dir: dir}
	var err error
	path := func(name string) string { return filepath.Join(dir, name) }
	if k.Root, err = ReadPrivateKey(path(RootKeyFile)); err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	if k.Issuer, err = ReadPrivateKey(path(IssuerKeyFile)); err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	if k.Central, err = ReadPrivateKey(path(CentralKeyFile)); err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	if err := ReadJSON(path(IssuerCertFile), &k.IssuerCert); err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	if err := ReadJSON(path(CentralCertFile), &k.CentralCert); err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	if k.MeshKey, err = ReadSecret(path(MeshKeyFile), MeshKeyType, SecretSize); err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	if k.RotationMaster, err = ReadSecret(path(RotationKeyFile), RotationKeyType, SecretSize); err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	if k.GateKey, err = loadOrDeriveGateKey(path(GateKeyFile), k.Root); err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	root := k.RootPublic()
	if err := k.IssuerCert.Verify(root); err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	if !k.IssuerCert.Key.Equal(ticket.PublicOf(k.Issuer)) {
		// A rotation cut between its two renames: the next certificate
		// certifies the key now in place.
		var next ticket.IssuerCert
		if ReadJSON(path(NextIssuerCertFile), &next) != nil || next.Verify(root) != nil || !next.Key.Equal(ticket.PublicOf(k.Issuer)) {
			return nil, fmt.Errorf("load keys: %s does not certify %s", IssuerCertFile, IssuerKeyFile)
		}
		if err := finishIssuerCommit(dir); err != nil {
			return nil, fmt.Errorf("load keys: %w", err)
		}
		k.IssuerCert = next
	}
	if err := k.CentralCert.Verify(root); err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	if !k.CentralCert.Key.Equal(ticket.PublicOf(k.Central)) {
		return nil, fmt.Errorf("load keys: %s does not certify %s", CentralCertFile, CentralKeyFile)
	}
	return k, nil
}

// gateKeyInfo labels the gates key derived from the root key.
const gateKeyInfo = "tixgate/gates-key/v1"

// loadOrDeriveGateKey reads the gates key, or, in a key directory made
// before the gates key existed, derives it from the root key (HKDF-SHA256)
// and writes it: every copy of such a directory comes to the same key, so
// central and the gates provisioned from any copy agree.
func loadOrDeriveGateKey(path string, root ed25519.PrivateKey) ([]byte, error) {
	b, err := ReadSecret(path, GateKeyType, SecretSize)
	if !errors.Is(err, fs.ErrNotExist) {
		return b, err
	}
	b = make([]byte, SecretSize)
	if _, err := io.ReadFull(hkdf.New(sha256.New, root.Seed(), nil, []byte(gateKeyInfo)), b); err != nil {
		return nil, err
	}
	if err := WriteSecret(path, GateKeyType, b); err != nil && !errors.Is(err, ErrExists) {
		return nil, err
	}
	return b, nil
}

// TrustStore returns a store that trusts this directory's root, its issuer
// and central certificates, and knows the rotation secrets of the given
// events.
func (k *Keys) TrustStore(events ...uint64) (*ticket.TrustStore, error) {
	s := ticket.NewTrustStore(k.RootPublic())
	if err := s.AddIssuer(k.IssuerCert); err != nil {
		return nil, err
	}
	if err := s.AddDevice(k.CentralCert); err != nil {
		return nil, err
	}
	for _, e := range events {
		s.SetRotationSecret(e, ticket.EventRotationSecret(k.RotationMaster, e))
	}
	return s, nil
}
