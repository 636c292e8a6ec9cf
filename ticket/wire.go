package ticket

import (
	"encoding/binary"
	"errors"
	"time"
)

// Epoch is the origin of the minute counts in a ticket code.
var Epoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// errShort and errOverlong are the two ways a varint can be malformed.
var (
	errShort    = errors.New("truncated varint")
	errOverlong = errors.New("varint is not in its shortest form")
	errOverflow = errors.New("varint overflows 64 bits")
)

// appendUvarint appends v in the LEB128 form of encoding/binary.
func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

// readUvarint reads one varint from the front of b and returns it with the
// number of bytes it took. Unlike binary.Uvarint it refuses the longer
// encodings of a value (a trailing 0x00 group), so a payload has one form.
func readUvarint(b []byte) (uint64, int, error) {
	var v uint64
	var shift uint
	for i, c := range b {
		if i == binary.MaxVarintLen64 || (i == binary.MaxVarintLen64-1 && c > 1) {
			return 0, 0, errOverflow
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			if c == 0 && i > 0 {
				return 0, 0, errOverlong
			}
			return v, i + 1, nil
		}
		shift += 7
	}
	return 0, 0, errShort
}

// canonical builds the byte string a signature covers. Each certificate kind
// writes its fields in a fixed order, so the same fields always give the same
// bytes, whatever JSON they travelled in.
type canonical struct{ b []byte }

func newCanonical(domain string) *canonical {
	c := &canonical{b: make([]byte, 0, 128)}
	c.b = append(c.b, domain...)
	c.b = append(c.b, 0)
	return c
}

func (c *canonical) uvarint(v uint64) { c.b = appendUvarint(c.b, v) }

func (c *canonical) bytes(p []byte) {
	c.uvarint(uint64(len(p)))
	c.b = append(c.b, p...)
}

func (c *canonical) string(s string) {
	c.uvarint(uint64(len(s)))
	c.b = append(c.b, s...)
}

func (c *canonical) uvarints(vs []uint64) {
	c.uvarint(uint64(len(vs)))
	for _, v := range vs {
		c.uvarint(v)
	}
}

// time writes 0 for the zero time, else 1 and the zig-zag unix seconds.
func (c *canonical) time(t time.Time) {
	if t.IsZero() {
		c.uvarint(0)
		return
	}
	s := t.Unix()
	c.uvarint(1)
	c.uvarint(uint64(s<<1) ^ uint64(s>>63))
}
