package record

import (
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

func testKey(label string) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, label)
	return ed25519.NewKeyFromSeed(seed)
}

var t0 = time.Date(2026, 6, 12, 19, 30, 0, 0, time.UTC)

func sample(t testing.TB) Record {
	t.Helper()
	r := Record{Seq: 2, Prev: Hash{1, 2, 3}, HLC: NewHLC(t0, 3), Kind: KindOverride,
		Event: 1042, Serial: 123456, Type: 3, Gate: "G1", Zone: 2, Actor: "supervisor-ana", Reason: "already_used", Note: "wristband checked"}
	if err := r.Sign(testKey("gate-1")); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRoundTrip(t *testing.T) {
	r := sample(t)
	raw := r.Marshal()
	t.Logf("an override record is %d bytes", len(raw))
	got, err := Unmarshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got != r {
		t.Errorf("Unmarshal(Marshal(r)) = %+v, want %+v", got, r)
	}
	if err := got.Verify(ticket.PublicOf(testKey("gate-1"))); err != nil {
		t.Error(err)
	}
	if got.Hash() != HashOf(raw) {
		t.Error("Hash differs from HashOf the bytes")
	}
}

func TestVerifyRefusesTampering(t *testing.T) {
	r := sample(t)
	pub := ticket.PublicOf(testKey("gate-1"))
	raw := r.Marshal()
	for i := range raw {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x01
		got, err := Unmarshal(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("byte %d: error %v does not wrap ErrMalformed", i, err)
			}
			continue
		}
		if got.Verify(pub) == nil {
			t.Fatalf("byte %d flipped: record still verifies", i)
		}
	}
	if err := r.Verify(ticket.PublicOf(testKey("gate-2"))); err == nil {
		t.Error("verified with another device's key")
	}
}

func TestSignRefuses(t *testing.T) {
	for name, r := range map[string]Record{
		"seq 0":          {Kind: KindEntry},
		"unknown kind":   {Seq: 1, Kind: 9},
		"no prev":        {Seq: 2, Kind: KindEntry},
		"prev on first":  {Seq: 1, Prev: Hash{1}, Kind: KindEntry},
		"zone 64":        {Seq: 1, Kind: KindEntry, Zone: 64},
		"long gate":      {Seq: 1, Kind: KindEntry, Gate: string(make([]byte, 65))},
		"invalid UTF-8":  {Seq: 1, Kind: KindEntry, Note: "\xff"},
		"serial too big": {Seq: 1, Kind: KindEntry, Serial: ticket.MaxSerial + 1},
	} {
		if err := r.Sign(testKey("x")); err == nil {
			t.Errorf("%s: Sign accepted it", name)
		}
	}
}

func TestHLC(t *testing.T) {
	wall := ticket.NewManualClock(t0)
	c := NewClock(wall, 0)
	a := c.Now()
	b := c.Now()
	if b <= a || b.Time() != a.Time() {
		t.Errorf("two stamps in one millisecond: %s then %s", a, b)
	}
	wall.Set(t0.Add(-time.Hour)) // the wall clock jumps back
	if d := c.Now(); d <= b {
		t.Errorf("after the clock went back: %s, not after %s", d, b)
	}
	wall.Set(t0)
	remote := NewHLC(t0.Add(2*time.Second), 7)
	c.Observe(remote, time.Minute)
	if d := c.Now(); d <= remote {
		t.Errorf("after observing %s: %s", remote, d)
	}
	far := NewHLC(t0.Add(24*time.Hour), 0)
	c.Observe(far, time.Minute)
	if d := c.Now(); d >= far {
		t.Errorf("followed a peer a day ahead: %s", d)
	}
}

func FuzzUnmarshal(f *testing.F) {
	r := sample(f)
	f.Add(r.Marshal())
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Unmarshal(b)
		if err != nil {
			return
		}
		if string(got.Marshal()) != string(b) {
			t.Fatalf("accepted a non-canonical encoding")
		}
	})
}

// A sale's money travels in the record, in minor units, and survives the
// round trip; money where it does not belong is refused.
func TestMoney(t *testing.T) {
	r := Record{Seq: 1, HLC: NewHLC(t0, 0), Kind: KindSale, Event: 1042, Serial: 900001, Type: 1, Gate: "S1", Actor: "li",
		Money: Money{Receipt: 17, Amount: 12800, Currency: "CNY", Method: MethodCash, Given: 30000}}
	if err := r.Sign(testKey("seller-1")); err != nil {
		t.Fatal(err)
	}
	raw := r.Marshal()
	got, err := Unmarshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got != r || got.Verify(ticket.PublicOf(testKey("seller-1"))) != nil {
		t.Errorf("round trip: %+v", got)
	}
	if o, ok := OriginOf(raw); !ok || o != r.Origin {
		t.Errorf("OriginOf a sale: %v %v", o, ok)
	}
	// Every byte of the money is signed.
	for i := len(raw) - 64 - 20; i < len(raw)-64; i++ {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		if g, err := Unmarshal(b); err == nil && g.Verify(ticket.PublicOf(testKey("seller-1"))) == nil {
			t.Fatalf("byte %d of the money flipped: still verifies", i)
		}
	}
	cash := Money{Receipt: 1, Amount: 100, Currency: "CNY", Method: MethodCash}
	for name, bad := range map[string]Record{
		"a sale without money":   {Seq: 1, Kind: KindSale},
		"money on an entry":      {Seq: 1, Kind: KindEntry, Money: cash},
		"no receipt":             {Seq: 1, Kind: KindSale, Money: Money{Amount: 1, Currency: "CNY", Method: MethodCash}},
		"negative amount":        {Seq: 1, Kind: KindSale, Money: Money{Receipt: 1, Amount: -1, Currency: "CNY", Method: MethodCash}},
		"lower-case currency":    {Seq: 1, Kind: KindSale, Money: Money{Receipt: 1, Amount: 1, Currency: "cny", Method: MethodCash}},
		"unknown method":         {Seq: 1, Kind: KindSale, Money: Money{Receipt: 1, Amount: 1, Currency: "CNY", Method: "iou"}},
		"a four-letter currency": {Seq: 1, Kind: KindSale, Money: Money{Receipt: 1, Amount: 1, Currency: "CNYX", Method: MethodCash}},
	} {
		if err := bad.Sign(testKey("x")); err == nil {
			t.Errorf("%s: Sign accepted it", name)
		}
	}
}
