package keyfile

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

// Files of an issuer rotation under way, and of retired issuers.
const (
	NextIssuerKeyFile  = "issuer.next.key"
	NextIssuerCertFile = "issuer.next.cert.json"
	RetiredDir         = "retired" // retired/issuer-ID.cert.json: certificates of retired issuer keys
)

// Rotating an issuer key takes three steps, so that no crash leaves a
// central signing tickets with a key the gates do not trust, or loses the
// key it signs with:
//
//  1. NextIssuer makes the new key and its certificate, signed by the root
//     with the old one's scope (every event, type and serial), as
//     issuer.next.key and issuer.next.cert.json;
//  2. the caller hands the certificate to every device (central signs it
//     into each venue's manifest, beside the old one: tickets signed by
//     either key verify);
//  3. CommitIssuer keeps the old certificate under retired/ and renames
//     the new files over issuer.key and issuer.cert.json.
//
// NextIssuer run again after a crash returns the key made the first time.
// Load finishes a commit cut between its two renames.

// NextIssuer returns the next issuer key and its certificate: made now, or
// the ones an unfinished rotation made.
func (k *Keys) NextIssuer(now time.Time, rand io.Reader) (ed25519.PrivateKey, ticket.IssuerCert, error) {
	keyPath, certPath := filepath.Join(k.Dir, NextIssuerKeyFile), filepath.Join(k.Dir, NextIssuerCertFile)
	if priv, err := ReadPrivateKey(keyPath); err == nil {
		var cert ticket.IssuerCert
		if err := ReadJSON(certPath, &cert); err == nil && cert.Verify(k.RootPublic()) == nil && cert.Key.Equal(ticket.PublicOf(priv)) {
			return priv, cert, nil
		}
		// The key was written and its certificate was not: make it anew.
		os.Remove(certPath)
		if err := os.Remove(keyPath); err != nil {
			return nil, ticket.IssuerCert{}, fmt.Errorf("rotate issuer: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, ticket.IssuerCert{}, fmt.Errorf("rotate issuer: %w", err)
	}
	priv, err := ticket.GenerateKey(rand)
	if err != nil {
		return nil, ticket.IssuerCert{}, fmt.Errorf("rotate issuer: %w", err)
	}
	from, to := ticket.CertWindow(now, 0)
	old := k.IssuerCert
	cert, err := ticket.SignIssuerCert(ticket.IssuerCert{
		Name:      old.Name,
		Key:       ticket.PublicOf(priv),
		Events:    old.Events,
		Types:     old.Types,
		SerialMin: old.SerialMin,
		SerialMax: old.SerialMax,
		NotBefore: from,
		NotAfter:  to,
	}, k.Root)
	if err != nil {
		return nil, ticket.IssuerCert{}, fmt.Errorf("rotate issuer: %w", err)
	}
	if err := WritePrivateKey(keyPath, priv); err != nil {
		return nil, ticket.IssuerCert{}, fmt.Errorf("rotate issuer: %w", err)
	}
	if err := WriteJSON(certPath, cert, false); err != nil {
		return nil, ticket.IssuerCert{}, fmt.Errorf("rotate issuer: %w", err)
	}
	return priv, cert, nil
}

// CommitIssuer makes the next issuer key, which NextIssuer made and the
// devices now trust, the one k signs with. The old key's certificate is
// kept under retired/; the old private key is gone: nothing signs with it
// again, and the tickets it signed verify by its certificate alone.
func (k *Keys) CommitIssuer() error {
	keyPath, certPath := filepath.Join(k.Dir, NextIssuerKeyFile), filepath.Join(k.Dir, NextIssuerCertFile)
	priv, err := ReadPrivateKey(keyPath)
	if err != nil {
		return fmt.Errorf("commit issuer: %w", err)
	}
	var cert ticket.IssuerCert
	if err := ReadJSON(certPath, &cert); err != nil {
		return fmt.Errorf("commit issuer: %w", err)
	}
	if err := cert.Verify(k.RootPublic()); err != nil || !cert.Key.Equal(ticket.PublicOf(priv)) {
		return fmt.Errorf("commit issuer: %s does not certify %s under this root (%v)", NextIssuerCertFile, NextIssuerKeyFile, err)
	}
	if err := os.MkdirAll(filepath.Join(k.Dir, RetiredDir), 0o700); err != nil {
		return fmt.Errorf("commit issuer: %w", err)
	}
	retired := filepath.Join(k.Dir, RetiredDir, "issuer-"+k.IssuerCert.ID().String()+".cert.json")
	if err := WriteJSON(retired, k.IssuerCert, true); err != nil {
		return fmt.Errorf("commit issuer: %w", err)
	}
	if err := os.Rename(keyPath, filepath.Join(k.Dir, IssuerKeyFile)); err != nil {
		return fmt.Errorf("commit issuer: %w", err)
	}
	if err := finishIssuerCommit(k.Dir); err != nil {
		return err
	}
	k.Issuer, k.IssuerCert = priv, cert
	return nil
}

// finishIssuerCommit renames the next issuer certificate over the current
// one, once the next key is in place.
func finishIssuerCommit(dir string) error {
	if err := os.Rename(filepath.Join(dir, NextIssuerCertFile), filepath.Join(dir, IssuerCertFile)); err != nil {
		return fmt.Errorf("commit issuer: %w", err)
	}
	return syncDir(dir)
}

// RetiredIssuers reads the certificates of the issuer keys rotated out.
func (k *Keys) RetiredIssuers() ([]ticket.IssuerCert, error) {
	es, err := os.ReadDir(filepath.Join(k.Dir, RetiredDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []ticket.IssuerCert
	for _, e := range es {
		var c ticket.IssuerCert
		if err := ReadJSON(filepath.Join(k.Dir, RetiredDir, e.Name()), &c); err != nil {
			return nil, err
		}
		if err := c.Verify(k.RootPublic()); err != nil {
			return nil, fmt.Errorf("retired issuer %s: %w", e.Name(), err)
		}
		out = append(out, c)
	}
	return out, nil
}
