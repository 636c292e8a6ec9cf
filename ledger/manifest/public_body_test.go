package manifest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ticket/keyfile"
)

// A ticket batch signed with a private part must name no holder in its
// public body. A gate refuses one that does (merge finds the name); the
// same change without its private part, as a seller gets it, must be
// refused too, or the seller keeps the very name gates refuse.
func TestPublicBodyNamesNoHolderWithoutPrivatePart(t *testing.T) {
	keys, err := keyfile.Init(t.TempDir(), keyfile.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	trust, err := keys.TrustStore()
	if err != nil {
		t.Fatal(err)
	}
	priv := []byte(`{"holders":[""]}`)
	sum := sha256.Sum256(priv)
	c := Change{Seq: 3, Kind: KindTickets, Body: []byte(`{"event":7,"tickets":[{"serial":1,"type":1,"status":"valid","holder":"Wang Fang"}]}`),
		PrivateSum: sum[:], Private: priv, Cert: &keys.CentralCert}
	c.Signer = keys.CentralCert.ID()
	c.Sig = ed25519.Sign(keys.Central, c.signedBytes())
	if err := c.Verify(trust, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Decode(); err == nil {
		t.Fatal("the whole change decodes with a holder in its public body")
	}
	r := c.Redacted()
	if v, err := r.Decode(); err == nil {
		t.Errorf("without its private part it decodes, holder %q in the public body", v.(*Tickets).Tickets[0].Holder)
	}
}
