package ticket

import (
	"errors"
	"fmt"
	"strings"
)

// base45Alphabet is the alphabet of RFC 9285: exactly the characters of the
// QR code alphanumeric mode, so a base45 text fills a QR code at 5.5 bits per
// character instead of the 8 of byte mode.
const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// base45Value maps a character to its base45 value, or 0xff if it is not in
// the alphabet.
var base45Value = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(base45Alphabet); i++ {
		t[base45Alphabet[i]] = byte(i)
	}
	return t
}()

// ErrBase45 is wrapped by every base45 decoding error.
var ErrBase45 = errors.New("invalid base45")

// Base45Encode encodes data as RFC 9285 base45.
func Base45Encode(data []byte) string {
	var sb strings.Builder
	sb.Grow(Base45EncodedLen(len(data)))
	for i := 0; i+1 < len(data); i += 2 {
		n := int(data[i])<<8 | int(data[i+1])
		sb.WriteByte(base45Alphabet[n%45])
		sb.WriteByte(base45Alphabet[(n/45)%45])
		sb.WriteByte(base45Alphabet[n/2025])
	}
	if len(data)%2 == 1 {
		n := int(data[len(data)-1])
		sb.WriteByte(base45Alphabet[n%45])
		sb.WriteByte(base45Alphabet[n/45])
	}
	return sb.String()
}

// Base45EncodedLen is the length of the base45 text of n bytes.
func Base45EncodedLen(n int) int { return n/2*3 + n%2*2 }

// Base45Decode decodes an RFC 9285 base45 text. It rejects characters outside
// the alphabet, a length that leaves one dangling character, and groups whose
// value does not fit their bytes, so every byte string has exactly one text.
func Base45Decode(s string) ([]byte, error) {
	if len(s)%3 == 1 {
		return nil, fmt.Errorf("%w: length %d leaves a single character at the end", ErrBase45, len(s))
	}
	out := make([]byte, 0, len(s)/3*2+1)
	for i := 0; i < len(s); i += 3 {
		end := min(i+3, len(s))
		n := 0
		mul := 1
		for j := i; j < end; j++ {
			v := base45Value[s[j]]
			if v == 0xff {
				return nil, fmt.Errorf("%w: character %q at position %d is not in the alphabet", ErrBase45, s[j], j)
			}
			n += int(v) * mul
			mul *= 45
		}
		if end-i == 3 {
			if n > 0xffff {
				return nil, fmt.Errorf("%w: group at position %d overflows 16 bits", ErrBase45, i)
			}
			out = append(out, byte(n>>8), byte(n))
		} else {
			if n > 0xff {
				return nil, fmt.Errorf("%w: final group at position %d overflows 8 bits", ErrBase45, i)
			}
			out = append(out, byte(n))
		}
	}
	return out, nil
}
