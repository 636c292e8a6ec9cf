package manifest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// A manifest signed before private parts were sealed carries them as
// plain JSON under the signed sum. A gate that imports such a file (or
// holds such changes from before, and reindexes, verifies or serves them)
// is told the part is "sealed to gates key 7b22686f" (the bytes `{"ho`):
// the error should say the change is of the unsealed form and the manifest
// must be signed again.
func TestUnsealedPrivatePartSaysSo(t *testing.T) {
	keys, err := keyfile.Init(t.TempDir(), keyfile.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(&Tickets{Event: 7, Tickets: []Ticket{{Serial: 1, Type: 1}}})
	plain, _ := json.Marshal(&private{Holders: []string{"Wang Fang"}})
	sum := sha256.Sum256(plain)
	c := Change{Seq: 3, Kind: KindTickets, Body: body, Signer: ticket.KeyIDOf(ticket.PublicOf(keys.Central)),
		Cert: &keys.CentralCert, PrivateSum: sum[:], Private: plain}
	c.Sig = ed25519.Sign(keys.Central, c.signedBytes())
	parsed, err := Parse(c.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	_, err = parsed.DecodeFor(keys.GateKey)
	if err == nil {
		t.Fatal("an unsealed private part opened")
	}
	if msg := err.Error(); !strings.Contains(msg, "not sealed") {
		t.Errorf("an unsealed private part (a manifest signed before sealing): %v", err)
	}
}
