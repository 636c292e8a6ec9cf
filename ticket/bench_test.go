package ticket

import (
	"crypto/ed25519"
	"testing"
)

// BenchmarkVerify is the whole check of one code at a gate: parse, issuer
// lookup, ed25519, certificate scope and windows. It reports its cost as a
// ratio to BenchmarkEd25519Verify's floor too (bar: at most 1.3).
func BenchmarkVerify(b *testing.B) {
	s := testStore(b)
	code := mustIssue(b, typicalTicket(), testIssuer)
	b.ReportAllocs()
	for b.Loop() {
		if r := s.Verify(code, testNow); !r.OK() {
			b.Fatal(r.Detail)
		}
	}
	b.ReportMetric(float64(len(code)), "chars")
}

// BenchmarkEd25519Verify is the floor: the signature check alone.
func BenchmarkEd25519Verify(b *testing.B) {
	pub := PublicOf(testIssuer)
	msg := make([]byte, 40)
	sig := ed25519.Sign(testIssuer, msg)
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("no")
		}
	}
}

func BenchmarkParse(b *testing.B) {
	code := mustIssue(b, typicalTicket(), testIssuer)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(code); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssue(b *testing.B) {
	t := typicalTicket()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Issue(t, testIssuer); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRotating(b *testing.B) {
	s := testStore(b)
	secret := EventRotationSecret([]byte("master"), 1042)
	s.SetRotationSecret(1042, secret)
	tk := typicalTicket()
	tk.Rotating = true
	code := WithRotation(mustIssue(b, tk, testIssuer), secret, tk.Serial, testNow)
	b.ReportAllocs()
	for b.Loop() {
		if r := s.Verify(code, testNow); !r.OK() {
			b.Fatal(r.Detail)
		}
	}
	b.ReportMetric(float64(len(code)), "chars")
}
