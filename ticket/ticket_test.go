package ticket

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// testKey derives a fixed key from a label, so test codes are reproducible.
func testKey(label string) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, label)
	return ed25519.NewKeyFromSeed(seed)
}

var (
	testNow    = time.Date(2026, 6, 12, 19, 30, 0, 0, time.UTC)
	testRoot   = testKey("root")
	testIssuer = testKey("issuer")
)

// testStore trusts testRoot and an issuer certificate for testIssuer over
// every event and type and serials 1 to 1,000,000.
func testStore(tb testing.TB) *TrustStore {
	tb.Helper()
	s := NewTrustStore(PublicOf(testRoot))
	cert, err := SignIssuerCert(IssuerCert{
		Name: "box-office", Key: PublicOf(testIssuer),
		SerialMin: 1, SerialMax: 1_000_000,
		NotBefore: testNow.Add(-24 * time.Hour), NotAfter: testNow.Add(365 * 24 * time.Hour),
	}, testRoot)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.AddIssuer(cert); err != nil {
		tb.Fatal(err)
	}
	return s
}

func typicalTicket() Ticket {
	return Ticket{
		Event: 1042, Serial: 123456, Type: 3, Zones: 0b101,
		ValidFrom:  time.Date(2026, 6, 12, 16, 0, 0, 0, time.UTC),
		ValidUntil: time.Date(2026, 6, 13, 2, 0, 0, 0, time.UTC),
	}
}

func mustIssue(tb testing.TB, tk Ticket, key ed25519.PrivateKey) string {
	tb.Helper()
	code, err := Issue(tk, key)
	if err != nil {
		tb.Fatal(err)
	}
	return code
}

func TestIssueParseRoundTrip(t *testing.T) {
	tests := map[string]Ticket{
		"typical":       typicalTicket(),
		"bare":          {Event: 1, Serial: 1, Type: 1},
		"zero serial":   {Event: 0, Serial: 0, Type: 0},
		"largest":       {Event: MaxEvent, Serial: MaxSerial, Type: MaxType, Zones: ^uint64(0)},
		"seat":          {Event: 7, Serial: 99, Type: 2, Seat: "Block C · Row 12 · 7"},
		"rotating":      {Event: 7, Serial: 99, Type: 2, Rotating: true},
		"only until":    {Event: 7, Serial: 99, ValidUntil: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		"only from":     {Event: 7, Serial: 99, ValidFrom: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		"one minute":    {Event: 7, Serial: 99, ValidFrom: testNow, ValidUntil: testNow.Add(time.Minute)},
		"longest seat":  {Event: 7, Serial: 99, Seat: strings.Repeat("Z", MaxSeatLen)},
		"all the flags": {Event: 7, Serial: 99, Rotating: true, Seat: "A1"},
	}
	for name, tk := range tests {
		t.Run(name, func(t *testing.T) {
			code := mustIssue(t, tk, testIssuer)
			c, err := Parse(code)
			if err != nil {
				t.Fatalf("Parse(%q): %v", code, err)
			}
			want := tk
			want.Version = PayloadVersion
			want.Issuer = KeyIDOf(PublicOf(testIssuer))
			if got := c.Ticket; !equalTickets(got, want) {
				t.Errorf("Parse(Issue(t)) = %+v, want %+v", got, want)
			}
			if c.Static != code || c.Rotation != "" {
				t.Errorf("static %q rotation %q, want %q and none", c.Static, c.Rotation, code)
			}
		})
	}
}

func equalTickets(a, b Ticket) bool {
	return a.Version == b.Version && a.Issuer == b.Issuer && a.Event == b.Event &&
		a.Serial == b.Serial && a.Type == b.Type && a.Zones == b.Zones &&
		a.ValidFrom.Equal(b.ValidFrom) && a.ValidUntil.Equal(b.ValidUntil) &&
		a.Rotating == b.Rotating && a.Seat == b.Seat
}

func TestIssueRoundsWindowOutward(t *testing.T) {
	tk := Ticket{Event: 1, Serial: 1,
		ValidFrom:  time.Date(2026, 1, 1, 10, 0, 59, 0, time.UTC),
		ValidUntil: time.Date(2026, 1, 1, 11, 0, 1, 0, time.UTC)}
	c, err := Parse(mustIssue(t, tk, testIssuer))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Ticket.ValidFrom, time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("valid-from = %s, want %s", got, want)
	}
	if got, want := c.Ticket.ValidUntil, time.Date(2026, 1, 1, 11, 1, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("valid-until = %s, want %s", got, want)
	}
}

func TestIssueRejects(t *testing.T) {
	tests := map[string]Ticket{
		"event too large":    {Event: MaxEvent + 1},
		"serial too large":   {Serial: MaxSerial + 1},
		"type too large":     {Type: MaxType + 1},
		"seat too long":      {Seat: strings.Repeat("x", MaxSeatLen+1)},
		"seat not printable": {Seat: "A\n1"},
		"seat not UTF-8":     {Seat: "\xff"},
		"before epoch":       {ValidFrom: Epoch.Add(-time.Hour)},
		"until before from":  {ValidFrom: testNow, ValidUntil: testNow.Add(-time.Hour)},
		"empty window":       {ValidFrom: testNow, ValidUntil: testNow},
		"far future":         {ValidFrom: Epoch.AddDate(9000, 0, 0)},
	}
	for name, tk := range tests {
		t.Run(name, func(t *testing.T) {
			if code, err := Issue(tk, testIssuer); err == nil {
				t.Errorf("Issue(%+v) = %q, want an error", tk, code)
			}
		})
	}
	if _, err := Issue(Ticket{}, nil); err == nil {
		t.Error("Issue with no key: want an error")
	}
}

// The figures the format promises: a typical code is at most 130 characters.
func TestTypicalCodeLength(t *testing.T) {
	code := mustIssue(t, typicalTicket(), testIssuer)
	t.Logf("typical code, %d characters: %s", len(code), code)
	if len(code) > 130 {
		t.Errorf("typical code is %d characters, want at most 130", len(code))
	}
	for i := 0; i < len(code); i++ {
		if !strings.ContainsRune(base45Alphabet, rune(code[i])) {
			t.Fatalf("character %q at %d is outside the QR alphanumeric set", code[i], i)
		}
	}
}

func TestVerify(t *testing.T) {
	s := testStore(t)
	stranger := testKey("stranger")
	tests := []struct {
		name   string
		ticket Ticket
		key    ed25519.PrivateKey
		at     time.Time
		want   Reason
	}{
		{"valid", typicalTicket(), testIssuer, testNow, ReasonOK},
		{"no window", Ticket{Event: 1, Serial: 5}, testIssuer, testNow, ReasonOK},
		{"unknown issuer", typicalTicket(), stranger, testNow, ReasonUnknownIssuer},
		{"serial outside range", Ticket{Event: 1, Serial: 1_000_001}, testIssuer, testNow, ReasonOutOfScope},
		{"issuer not yet valid", Ticket{Event: 1, Serial: 5}, testIssuer, testNow.Add(-48 * time.Hour), ReasonOutOfScope},
		{"issuer expired", Ticket{Event: 1, Serial: 5}, testIssuer, testNow.Add(400 * 24 * time.Hour), ReasonOutOfScope},
		{"not yet valid", typicalTicket(), testIssuer, typicalTicket().ValidFrom.Add(-time.Second), ReasonNotYetValid},
		{"first valid instant", typicalTicket(), testIssuer, typicalTicket().ValidFrom, ReasonOK},
		{"expired", typicalTicket(), testIssuer, typicalTicket().ValidUntil, ReasonExpired},
		{"last valid instant", typicalTicket(), testIssuer, typicalTicket().ValidUntil.Add(-time.Nanosecond), ReasonOK},
		{"rotating without its part", Ticket{Event: 1, Serial: 5, Rotating: true}, testIssuer, testNow, ReasonStaleCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Verify(mustIssue(t, tt.ticket, tt.key), tt.at)
			if r.Reason != tt.want {
				t.Errorf("reason = %s (%s), want %s", r.Reason, r.Detail, tt.want)
			}
			if (r.Reason == ReasonOK) != (r.Detail == "") {
				t.Errorf("detail %q does not fit reason %s", r.Detail, r.Reason)
			}
		})
	}
}

func TestVerifyForgedSignature(t *testing.T) {
	s := testStore(t)
	// A stranger's signature on a payload that names the trusted issuer.
	tk := typicalTicket()
	tk.Issuer = KeyIDOf(PublicOf(testIssuer))
	payload, err := appendPayload(nil, tk)
	if err != nil {
		t.Fatal(err)
	}
	sig := ed25519.Sign(testKey("stranger"), signedMessage(payload))
	code := CodePrefix + Base45Encode(append(payload, sig...))
	if r := s.Verify(code, testNow); r.Reason != ReasonBadSignature {
		t.Errorf("reason = %s (%s), want bad_signature", r.Reason, r.Detail)
	}
	// The issuer's signature without the domain prefix does not verify either.
	sig = ed25519.Sign(testIssuer, payload)
	code = CodePrefix + Base45Encode(append(payload, sig...))
	if r := s.Verify(code, testNow); r.Reason != ReasonBadSignature {
		t.Errorf("signature without domain: reason = %s, want bad_signature", r.Reason)
	}
}

func TestVerifyScopeByEventAndType(t *testing.T) {
	s := NewTrustStore(PublicOf(testRoot))
	seller := testKey("seller")
	cert, err := SignIssuerCert(IssuerCert{
		Name: "seller-7", Key: PublicOf(seller), Events: []uint64{9, 3}, Types: []uint64{1},
		SerialMin: 500, SerialMax: 599,
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour),
	}, testRoot)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddIssuer(cert); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tk   Ticket
		want Reason
	}{
		{"inside", Ticket{Event: 3, Type: 1, Serial: 500}, ReasonOK},
		{"last serial", Ticket{Event: 9, Type: 1, Serial: 599}, ReasonOK},
		{"other event", Ticket{Event: 4, Type: 1, Serial: 500}, ReasonOutOfScope},
		{"other type", Ticket{Event: 3, Type: 2, Serial: 500}, ReasonOutOfScope},
		{"beyond quota", Ticket{Event: 3, Type: 1, Serial: 600}, ReasonOutOfScope},
		{"below quota", Ticket{Event: 3, Type: 1, Serial: 499}, ReasonOutOfScope},
	}
	for _, tt := range tests {
		if r := s.Verify(mustIssue(t, tt.tk, seller), testNow); r.Reason != tt.want {
			t.Errorf("%s: reason = %s (%s), want %s", tt.name, r.Reason, r.Detail, tt.want)
		}
	}
	// A second certificate extends the same key's quota.
	more := cert
	more.SerialMin, more.SerialMax = 600, 699
	more, err = SignIssuerCert(more, testRoot)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddIssuer(more); err != nil {
		t.Fatal(err)
	}
	for _, serial := range []uint64{550, 650} {
		if r := s.Verify(mustIssue(t, Ticket{Event: 3, Type: 1, Serial: serial}, seller), testNow); !r.OK() {
			t.Errorf("serial %d after extension: %s (%s)", serial, r.Reason, r.Detail)
		}
	}
	s.RevokeIssuer(cert.ID())
	if r := s.Verify(mustIssue(t, Ticket{Event: 3, Type: 1, Serial: 550}, seller), testNow); r.Reason != ReasonRevoked {
		t.Errorf("revoked issuer: reason = %s, want revoked", r.Reason)
	}
}

func TestAddIssuerRejectsBadCertificates(t *testing.T) {
	s := NewTrustStore(PublicOf(testRoot))
	good, err := SignIssuerCert(IssuerCert{
		Name: "x", Key: PublicOf(testIssuer), SerialMin: 1, SerialMax: 9,
		NotBefore: testNow, NotAfter: testNow.Add(time.Hour),
	}, testRoot)
	if err != nil {
		t.Fatal(err)
	}
	otherRoot, err := SignIssuerCert(good, testKey("other root"))
	if err != nil {
		t.Fatal(err)
	}
	widened := good
	widened.SerialMax = 99
	unsorted := good
	unsorted.Events = []uint64{5, 1}
	fraction := good
	fraction.NotAfter = fraction.NotAfter.Add(time.Millisecond)
	tests := map[string]IssuerCert{
		"signed by another root": otherRoot,
		"range widened":          widened,
		"events unsorted":        unsorted,
		"fractional second":      fraction,
		"no signature":           func() IssuerCert { c := good; c.Signature = nil; return c }(),
	}
	for name, c := range tests {
		if err := s.AddIssuer(c); err == nil {
			t.Errorf("%s: AddIssuer accepted it", name)
		}
	}
	if err := s.AddIssuer(good); err != nil {
		t.Errorf("good certificate: %v", err)
	}
}

func TestDeviceCertificates(t *testing.T) {
	s := NewTrustStore(PublicOf(testRoot))
	dev := testKey("gate-1")
	cert, err := SignDeviceCert(DeviceCert{
		Device: "gate-1", Role: RoleGate, Venue: "arena",
		Key: PublicOf(dev), NotBefore: testNow, NotAfter: testNow.Add(time.Hour),
	}, testRoot)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddDevice(cert); err != nil {
		t.Fatal(err)
	}
	if got, ok := s.Device(KeyIDOf(PublicOf(dev)), testNow); !ok || got.Device != "gate-1" {
		t.Errorf("Device = %v, %v; want gate-1", got, ok)
	}
	if _, ok := s.Device(KeyIDOf(PublicOf(dev)), testNow.Add(2*time.Hour)); ok {
		t.Error("Device found an expired certificate")
	}
	renamed := cert
	renamed.Device = "gate-2"
	if err := s.AddDevice(renamed); err == nil {
		t.Error("AddDevice accepted a certificate altered after signing")
	}
	for _, bad := range []DeviceCert{
		{Device: "gate 1", Role: RoleGate, Venue: "arena", Key: PublicOf(dev), NotBefore: testNow, NotAfter: testNow.Add(time.Hour)},
		{Device: "gate-1", Role: "janitor", Venue: "arena", Key: PublicOf(dev), NotBefore: testNow, NotAfter: testNow.Add(time.Hour)},
		{Device: "gate-1", Role: RoleGate, Venue: "arena", Key: PublicOf(dev)},
	} {
		if _, err := SignDeviceCert(bad, testRoot); err == nil {
			t.Errorf("SignDeviceCert(%+v) accepted it", bad)
		}
	}
}

func TestParseRejectsNonCanonical(t *testing.T) {
	tk := Ticket{Event: 1, Serial: 5}
	tk.Issuer = KeyIDOf(PublicOf(testIssuer))
	good, err := appendPayload(nil, tk)
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, ed25519.SignatureSize)
	encode := func(payload []byte) string {
		return CodePrefix + Base45Encode(append(append([]byte(nil), payload...), sig...))
	}
	if _, err := Parse(encode(good)); err != nil {
		t.Fatalf("control: %v", err)
	}
	overlong := append([]byte(nil), good[:5]...)
	overlong = append(overlong, 0x81, 0x00) // event 1 in two bytes
	overlong = append(overlong, good[6:]...)
	unknownFlag := append([]byte(nil), good...)
	unknownFlag[len(unknownFlag)-1] = 0x04
	seatFlagNoSeat := append([]byte(nil), good...)
	seatFlagNoSeat[len(seatFlagNoSeat)-1] = flagSeat
	version2 := append([]byte(nil), good...)
	version2[0] = 2
	tests := map[string]string{
		"empty":            "",
		"prefix only":      CodePrefix,
		"lowercase prefix": "tg1:" + encode(good)[4:],
		"overlong varint":  encode(overlong),
		"unknown flag":     encode(unknownFlag),
		"seat flag, none":  encode(seatFlagNoSeat),
		"version 2":        encode(version2),
		"short signature":  CodePrefix + Base45Encode(append(append([]byte(nil), good...), sig[:63]...)),
		"extra byte":       CodePrefix + Base45Encode(append(append(append([]byte(nil), good...), sig...), 0)),
		"too long":         CodePrefix + strings.Repeat("0", MaxCodeLen),
		"bad rotation":     encode(good) + "*12345X",
		"short rotation":   encode(good) + "*12345",
	}
	for name, text := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse(text); !errors.Is(err, ErrMalformed) {
				t.Errorf("Parse(%q) error = %v, want ErrMalformed", text, err)
			}
		})
	}
}

// Every single-bit flip and every single-character change of a valid code
// is refused, and says why.
func TestEveryAlterationIsRefused(t *testing.T) {
	s := testStore(t)
	tk := typicalTicket()
	tk.Seat = "C-12"
	code := mustIssue(t, tk, testIssuer)
	if r := s.Verify(code, testNow); !r.OK() {
		t.Fatalf("control: %s %s", r.Reason, r.Detail)
	}
	reasons := map[Reason]int{}
	check := func(what, altered string) {
		t.Helper()
		r := s.Verify(altered, testNow)
		if r.OK() {
			t.Fatalf("%s: %q verified", what, altered)
		}
		if r.Reason == "" || r.Detail == "" {
			t.Fatalf("%s: refused without a reason: %+v", what, r)
		}
		reasons[r.Reason]++
	}
	for i := 0; i < len(code); i++ {
		for bit := range 8 {
			b := []byte(code)
			b[i] ^= 1 << bit
			check(fmt.Sprintf("flip bit %d of byte %d", bit, i), string(b))
		}
		for c := 0; c < 256; c++ {
			if byte(c) == code[i] {
				continue
			}
			b := []byte(code)
			b[i] = byte(c)
			check(fmt.Sprintf("byte %d to %#x", i, c), string(b))
		}
	}
	// Dropping, duplicating or appending one character.
	for i := 0; i < len(code); i++ {
		check(fmt.Sprintf("drop %d", i), code[:i]+code[i+1:])
		check(fmt.Sprintf("double %d", i), code[:i]+code[i:i+1]+code[i:])
	}
	t.Logf("reasons over every alteration: %v", reasons)
	if reasons[ReasonBadSignature] == 0 || reasons[ReasonMalformed] == 0 {
		t.Errorf("expected both bad_signature and malformed among the reasons, got %v", reasons)
	}
}

func TestRandomTicketsVerify(t *testing.T) {
	s := testStore(t)
	rnd := rand.New(rand.NewPCG(3, 4))
	for i := range 500 {
		tk := Ticket{Event: rnd.Uint64N(MaxEvent + 1), Serial: 1 + rnd.Uint64N(1_000_000), Type: rnd.Uint64N(50), Zones: rnd.Uint64()}
		if rnd.IntN(2) == 0 {
			tk.ValidFrom = testNow.Add(-time.Duration(rnd.IntN(10000)) * time.Minute)
			tk.ValidUntil = testNow.Add(time.Duration(1+rnd.IntN(10000)) * time.Minute)
		}
		if rnd.IntN(3) == 0 {
			tk.Seat = fmt.Sprintf("R%d-S%d", rnd.IntN(100), rnd.IntN(1000))
		}
		code := mustIssue(t, tk, testIssuer)
		if r := s.Verify(code, testNow); !r.OK() {
			t.Fatalf("ticket %d %+v: %s %s", i, tk, r.Reason, r.Detail)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(mustIssue(f, typicalTicket(), testIssuer))
	f.Add(mustIssue(f, Ticket{Event: 1, Serial: 2, Seat: "A1", Rotating: true}, testIssuer) + "*123456")
	f.Add("TG1:")
	f.Add("TG1:*000000")
	f.Add("hello")
	s := testStore(f)
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Parse(text)
		r := s.Verify(text, testNow)
		if err != nil {
			if r.Reason != ReasonMalformed {
				t.Fatalf("Parse failed (%v) but Verify said %s", err, r.Reason)
			}
			return
		}
		// A code that parses re-encodes to the very same payload.
		again, err := appendPayload(nil, c.Ticket)
		if err != nil || string(again) != string(c.Payload) {
			t.Fatalf("payload %x re-encodes as %x (%v)", c.Payload, again, err)
		}
	})
}

func TestDeviceCertBinary(t *testing.T) {
	c, err := SignDeviceCert(DeviceCert{Device: "gate-17", Role: RoleGate, Venue: "arena", Key: PublicOf(testKey("g")),
		NotBefore: testNow, NotAfter: testNow.Add(time.Hour)}, testRoot)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a device certificate is %d bytes in binary", len(b))
	var back DeviceCert
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if err := back.Verify(PublicOf(testRoot)); err != nil || back.Device != "gate-17" || !back.NotAfter.Equal(c.NotAfter) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	for i := range b {
		bad := append([]byte(nil), b...)
		bad[i] ^= 1
		var x DeviceCert
		if x.UnmarshalBinary(bad) == nil && x.Verify(PublicOf(testRoot)) == nil {
			t.Fatalf("byte %d flipped and the certificate still verifies", i)
		}
	}
}
