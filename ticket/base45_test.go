package ticket

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// The examples of RFC 9285, section 4.
func TestBase45RFC9285Examples(t *testing.T) {
	tests := []struct{ raw, encoded string }{
		{"AB", "BB8"},
		{"Hello!!", "%69 VD92EX0"},
		{"base-45", "UJCLQE7W581"},
		{"ietf!", "QED8WEX0"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Base45Encode([]byte(tt.raw)); got != tt.encoded {
			t.Errorf("Base45Encode(%q) = %q, want %q", tt.raw, got, tt.encoded)
		}
		got, err := Base45Decode(tt.encoded)
		if err != nil || string(got) != tt.raw {
			t.Errorf("Base45Decode(%q) = %q, %v, want %q", tt.encoded, got, err, tt.raw)
		}
	}
}

func TestBase45DecodeRejects(t *testing.T) {
	tests := []struct{ name, in string }{
		{"dangling character", "BB8A"},
		{"lowercase", "bb8"},
		{"outside alphabet", "BB#"},
		{"group above 65535", "GGW"}, // RFC 9285 section 4.4: must fail
		{"pair above 255", "::"},
		{"non-ASCII", "BBé"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := Base45Decode(tt.in); !errors.Is(err, ErrBase45) {
				t.Errorf("Base45Decode(%q) = %q, %v; want an ErrBase45", tt.in, got, err)
			}
		})
	}
}

func TestBase45RoundTripRandom(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		data := make([]byte, rnd.IntN(200))
		for j := range data {
			data[j] = byte(rnd.Uint32())
		}
		enc := Base45Encode(data)
		if len(enc) != Base45EncodedLen(len(data)) {
			t.Fatalf("case %d: length %d, want %d", i, len(enc), Base45EncodedLen(len(data)))
		}
		dec, err := Base45Decode(enc)
		if err != nil || !bytes.Equal(dec, data) {
			t.Fatalf("case %d: round trip of %x gave %x, %v", i, data, dec, err)
		}
	}
}

func FuzzBase45(f *testing.F) {
	for _, s := range []string{"", "BB8", "%69 VD92EX0", "GGW", "::", "A", "BB8A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		data, err := Base45Decode(s)
		if err != nil {
			return
		}
		// Every accepted text is the one encoding of its bytes.
		if back := Base45Encode(data); back != s {
			t.Fatalf("Base45Decode(%q) = %x, which encodes back as %q", s, data, back)
		}
	})
}
