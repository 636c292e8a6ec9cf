package manifest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// Holders' names and rotation secrets travel in the private part: a change
// without it still verifies, decodes without them, and a private part that
// was swapped, altered or added is refused.
func TestPrivatePart(t *testing.T) {
	keys, err := keyfile.Init(t.TempDir(), keyfile.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	trust, err := keys.TrustStore()
	if err != nil {
		t.Fatal(err)
	}
	signer := Signer{Key: keys.Central, Cert: &keys.CentralCert, GateKey: keys.GateKey}
	batch := &Tickets{Event: 7, Tickets: []Ticket{
		{Serial: 1, Type: 1, Holder: "Wang Fang", Seat: "A1"},
		{Serial: 2, Type: 1, Seat: "A2"},
	}}
	tickets, err := signer.Sign(3, KindTickets, batch)
	if err != nil {
		t.Fatal(err)
	}
	secret := bytes.Repeat([]byte{0x5a}, 32)
	event, err := signer.Sign(4, KindEvent, &Event{ID: 7, Name: "Final", Starts: time.Now(), Ends: time.Now().Add(time.Hour), RotationSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	if batch.Tickets[0].Holder != "Wang Fang" {
		t.Error("Sign changed the caller's body")
	}
	now := time.Now()
	for _, c := range []Change{tickets, event} {
		if bytes.Contains(c.Body, []byte("Wang Fang")) || bytes.Contains(c.Body, []byte("rotation_secret")) {
			t.Errorf("change %d: the public body holds private data: %s", c.Seq, c.Body)
		}
		full, err := Parse(c.Marshal())
		if err != nil || full.Verify(trust, now) != nil || !full.Complete() {
			t.Fatalf("change %d as signed: %v", c.Seq, err)
		}
		line, ok, err := ForRole(c.Marshal(), ticket.RoleSeller)
		if err != nil || !ok {
			t.Fatalf("change %d for a seller: %v %v", c.Seq, ok, err)
		}
		if bytes.Contains(line, []byte("Wang Fang")) || bytes.Contains(line, []byte(`"private"`)) {
			t.Errorf("change %d for a seller holds the private part: %s", c.Seq, line)
		}
		red, err := Parse(line)
		if err != nil {
			t.Fatal(err)
		}
		if err := red.Verify(trust, now); err != nil {
			t.Errorf("change %d without its private part: %v", c.Seq, err)
		}
		if red.Complete() {
			t.Errorf("change %d without its private part says it is complete", c.Seq)
		}
		if _, ok, _ := ForRole(line, ticket.RoleGate); ok {
			t.Errorf("change %d: a redacted copy is offered to a gate", c.Seq)
		}
		if gl, ok, _ := ForRole(c.Marshal(), ticket.RoleGate); !ok || !bytes.Equal(gl, c.Marshal()) {
			t.Errorf("change %d: a gate does not get the whole change", c.Seq)
		}
	}
	full, err := tickets.DecodeFor(keys.GateKey)
	if err != nil {
		t.Fatal(err)
	}
	if got := full.(*Tickets).Tickets; got[0].Holder != "Wang Fang" || got[1].Holder != "" || got[0].Seat != "A1" {
		t.Errorf("decoded batch: %+v", got)
	}
	red := tickets.Redacted()
	pub, err := red.Decode()
	if err != nil || pub.(*Tickets).Tickets[0].Holder != "" || pub.(*Tickets).Tickets[0].Seat != "A1" {
		t.Errorf("decoded redacted batch: %+v %v", pub, err)
	}
	if pub, _ := tickets.Decode(); pub.(*Tickets).Tickets[0].Holder != "" {
		t.Error("the public decode holds the holder's name")
	}
	if bytes.Contains(tickets.Private, []byte("Wang")) || bytes.Contains(event.Private, secret) {
		t.Error("the private part is not sealed")
	}
	if _, err := tickets.DecodeFor(bytes.Repeat([]byte{7}, GateKeySize)); !errors.Is(err, ErrSealed) {
		t.Errorf("opened with another key: %v", err)
	}
	if _, err := tickets.DecodeFor(nil); !errors.Is(err, ErrSealed) {
		t.Errorf("opened with no key: %v", err)
	}
	// A sealed part moved to another change does not open there.
	moved := tickets
	moved.Seq = 9
	if _, err := moved.DecodeFor(keys.GateKey); !errors.Is(err, ErrSealed) {
		t.Errorf("a sealed part under another number: %v", err)
	}
	if _, err := (Signer{Key: keys.Central, Cert: &keys.CentralCert}).Sign(3, KindTickets, batch); err == nil {
		t.Error("holders' names signed without the gates key")
	}
	ev, _ := event.DecodeFor(keys.GateKey)
	if !bytes.Equal(ev.(*Event).RotationSecret, secret) {
		t.Error("the event lost its rotation secret")
	}
	rev := event.Redacted()
	if e, err := rev.Decode(); err != nil || e.(*Event).RotationSecret != nil {
		t.Errorf("redacted event: %+v %v", e, err)
	}

	// Tampering.
	other, err := signer.Sign(5, KindTickets, &Tickets{Event: 7, Tickets: []Ticket{{Serial: 3, Type: 1, Holder: "Li Lei"}, {Serial: 4, Type: 1, Holder: "Han Meimei"}}})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		alter func(*Change)
		want  error
	}{
		"private part of another change":             {func(c *Change) { c.Private = other.Private }, ErrMalformed},
		"private part and its sum of another change": {func(c *Change) { c.Private, c.PrivateSum = other.Private, other.PrivateSum }, ErrUntrusted},
		"private part altered": {func(c *Change) {
			c.Private = append([]byte(nil), c.Private...)
			c.Private[len(c.Private)-1] ^= 1
		}, ErrMalformed},
		"sum dropped, private kept": {func(c *Change) { c.PrivateSum = nil }, ErrMalformed},
		"sum dropped, private gone": {func(c *Change) { c.PrivateSum, c.Private = nil, nil }, ErrUntrusted},
		"holder put back in public": {func(c *Change) {
			c.Body = bytes.Replace(c.Body, []byte(`"seat":"A1"`), []byte(`"holder":"X","seat":"A1"`), 1)
		}, ErrUntrusted},
		"private part on an issuer": {func(c *Change) { c.Kind = KindIssuer }, ErrUntrusted},
	} {
		c := tickets
		tc.alter(&c)
		_, err := Parse(c.Marshal())
		if err == nil {
			err = c.Verify(trust, now)
		}
		if err == nil {
			_, err = c.Decode()
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	// Signed as it is, a public body that names a holder next to a private
	// part is refused on decode: the private data must be in one place.
	c := Change{Seq: 9, Kind: KindTickets, Signer: tickets.Signer, Cert: tickets.Cert}
	c.Body, _ = json.Marshal(&Tickets{Event: 7, Tickets: []Ticket{{Serial: 1, Type: 1, Holder: "Leak"}}})
	c.Private, _ = json.Marshal(&private{Holders: []string{"Wang Fang"}})
	sum := sha256.Sum256(c.Private)
	c.PrivateSum = sum[:]
	c.Sig = ed25519.Sign(keys.Central, c.signedBytes())
	if err := c.Verify(trust, now); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Decode(); !errors.Is(err, ErrMalformed) {
		t.Errorf("a holder outside the private part: %v", err)
	}
}
