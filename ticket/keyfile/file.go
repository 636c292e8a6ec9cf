package keyfile

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Mode is the permission of every file this package writes.
const Mode fs.FileMode = 0o600

// ErrExists is returned when a write would replace a file.
var ErrExists = errors.New("file exists")

// WriteFile writes data to path atomically with mode 0600. It refuses to
// replace an existing file unless overwrite is set.
func WriteFile(path string, data []byte, overwrite bool) error {
	return WriteFileMode(path, data, Mode, overwrite)
}

// WriteFileMode is WriteFile for a file others may read (a QR image, a
// manifest).
func WriteFileMode(path string, data []byte, perm fs.FileMode, overwrite bool) error {
	return WriteStream(path, perm, overwrite, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteStream is the one atomic file write of tixgate: write fills a
// temporary file next to path, which is fsynced, renamed over path, and
// the directory fsynced, so a crash leaves the old file or the new one,
// never a part, and a write that returned is on disk. An error from write
// leaves path as it was. Files too large to hold in memory (a manifest, a
// backup) are written through it as the small ones are.
func WriteStream(path string, perm fs.FileMode, overwrite bool, write func(io.Writer) error) error {
	if !overwrite {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("write %s: %w (remove it first to replace it)", path, ErrExists)
		}
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op once renamed
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// ReadSecretFile reads a file that must not be readable by others.
func ReadSecretFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by others (mode %#o): run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	return os.ReadFile(path)
}

// PEM block types.
const (
	typePrivateKey = "PRIVATE KEY"
	typePublicKey  = "PUBLIC KEY"
)

// MarshalPrivateKey encodes an ed25519 private key as PKCS#8 PEM.
func MarshalPrivateKey(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: typePrivateKey, Bytes: der}), nil
}

// ParsePrivateKey decodes a PKCS#8 PEM ed25519 private key.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	block, err := onePEM(data, typePrivateKey)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is a %T, not ed25519", key)
	}
	return priv, nil
}

// MarshalPublicKey encodes an ed25519 public key as PKIX PEM.
func MarshalPublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: typePublicKey, Bytes: der}), nil
}

// ParsePublicKey decodes a PKIX PEM ed25519 public key.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	block, err := onePEM(data, typePublicKey)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	pub, ok := key.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is a %T, not ed25519", key)
	}
	return pub, nil
}

// MarshalSecret encodes a symmetric secret as a PEM block of the given type.
func MarshalSecret(typ string, secret []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: secret})
}

// ParseSecret decodes a symmetric secret of the given type and size.
func ParseSecret(data []byte, typ string, size int) ([]byte, error) {
	block, err := onePEM(data, typ)
	if err != nil {
		return nil, err
	}
	if len(block.Bytes) != size {
		return nil, fmt.Errorf("%s is %d bytes, want %d", typ, len(block.Bytes), size)
	}
	return block.Bytes, nil
}

func onePEM(data []byte, typ string) (*pem.Block, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("no PEM block found, want %q", typ)
	}
	if block.Type != typ {
		return nil, fmt.Errorf("PEM block is %q, want %q", block.Type, typ)
	}
	if len(block.Headers) != 0 {
		return nil, fmt.Errorf("PEM block %q has headers (encrypted keys are not supported)", typ)
	}
	if len(pemTrim(rest)) != 0 {
		return nil, fmt.Errorf("data after the %q PEM block", typ)
	}
	return block, nil
}

func pemTrim(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// WritePrivateKey writes priv to path as PKCS#8 PEM, mode 0600.
func WritePrivateKey(path string, priv ed25519.PrivateKey) error {
	data, err := MarshalPrivateKey(priv)
	if err != nil {
		return err
	}
	return WriteFile(path, data, false)
}

// ReadPrivateKey reads a private key written by WritePrivateKey.
func ReadPrivateKey(path string) (ed25519.PrivateKey, error) {
	data, err := ReadSecretFile(path)
	if err != nil {
		return nil, fmt.Errorf("read private key: %w", err)
	}
	priv, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("read private key %s: %w", path, err)
	}
	return priv, nil
}

// WritePublicKey writes pub to path as PKIX PEM.
func WritePublicKey(path string, pub ed25519.PublicKey) error {
	data, err := MarshalPublicKey(pub)
	if err != nil {
		return err
	}
	return WriteFile(path, data, false)
}

// ReadPublicKey reads a public key written by WritePublicKey.
func ReadPublicKey(path string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	pub, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("read public key %s: %w", path, err)
	}
	return pub, nil
}

// WriteSecret writes a symmetric secret as a PEM block, mode 0600.
func WriteSecret(path, typ string, secret []byte) error {
	return WriteFile(path, MarshalSecret(typ, secret), false)
}

// ReadSecret reads a secret written by WriteSecret.
func ReadSecret(path, typ string, size int) ([]byte, error) {
	data, err := ReadSecretFile(path)
	if err != nil {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	s, err := ParseSecret(data, typ, size)
	if err != nil {
		return nil, fmt.Errorf("read secret %s: %w", path, err)
	}
	return s, nil
}

// WriteJSON writes v as indented JSON, mode 0600.
func WriteJSON(path string, v any, overwrite bool) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return WriteFile(path, append(data, '\n'), overwrite)
}

// ReadJSON reads JSON from path into v, refusing unknown fields.
func ReadJSON(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}
