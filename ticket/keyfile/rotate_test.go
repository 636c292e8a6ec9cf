package keyfile

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

// A rotation makes a new issuer key certified by the same root with the
// same scope; the old certificate is kept, and its tickets still verify
// against it.
func TestRotateIssuer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	now := time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)
	k, err := Init(dir, InitOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	old := k.IssuerCert
	oldCode, err := ticket.Issue(ticket.Ticket{Event: 1, Serial: 1, Type: 1}, k.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	priv, cert, err := k.NextIssuer(now.Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	again, cert2, err := k.NextIssuer(now.Add(2*time.Hour), nil)
	if err != nil || !again.Equal(priv) || cert2.ID() != cert.ID() {
		t.Fatalf("NextIssuer again made another key: %v", err)
	}
	if cert.ID() == old.ID() || cert.Verify(k.RootPublic()) != nil || cert.SerialMax != old.SerialMax || cert.Name != old.Name {
		t.Fatalf("next issuer %+v", cert)
	}
	if k.IssuerCert.ID() != old.ID() {
		t.Fatal("NextIssuer changed the key in use")
	}
	if err := k.CommitIssuer(); err != nil {
		t.Fatal(err)
	}
	if k.IssuerCert.ID() != cert.ID() || !k.Issuer.Equal(priv) {
		t.Errorf("after commit the keys sign with %s", k.IssuerCert.ID())
	}
	loaded, err := Load(dir)
	if err != nil || loaded.IssuerCert.ID() != cert.ID() {
		t.Fatalf("load after rotation: %v", err)
	}
	retired, err := loaded.RetiredIssuers()
	if err != nil || len(retired) != 1 || retired[0].ID() != old.ID() {
		t.Fatalf("retired issuers %+v, %v", retired, err)
	}
	for _, f := range []string{NextIssuerKeyFile, NextIssuerCertFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s left behind", f)
		}
	}
	// Both keys' tickets verify against a store holding both certificates.
	trust := ticket.NewTrustStore(loaded.RootPublic())
	for _, c := range []ticket.IssuerCert{retired[0], loaded.IssuerCert} {
		if err := trust.AddIssuer(c); err != nil {
			t.Fatal(err)
		}
	}
	newCode, err := ticket.Issue(ticket.Ticket{Event: 1, Serial: 2, Type: 1}, loaded.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{oldCode, newCode} {
		if r := trust.Verify(code, now.Add(3*time.Hour)); !r.OK() {
			t.Errorf("verify %s: %s", code, r.Detail)
		}
	}
}

// A commit cut between its renames (the new key in place, the old
// certificate not yet replaced) is finished by the next Load.
func TestLoadFinishesACutRotation(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	k, err := Init(dir, InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, cert, err := k.NextIssuer(time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, NextIssuerKeyFile), filepath.Join(dir, IssuerKeyFile)); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(dir)
	if err != nil || loaded.IssuerCert.ID() != cert.ID() {
		t.Fatalf("load of a cut rotation: %v", err)
	}
	if _, err := Load(dir); err != nil {
		t.Errorf("load after it was finished: %v", err)
	}
}
