package record

import (
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/tixgate/tixgate/ticket"
)

// chain signs n records of one origin, each naming the hash of the one
// before it.
func chain(t *testing.T, key ed25519.PrivateKey, n int) [][]byte {
	t.Helper()
	var raws [][]byte
	var prev Hash
	for i := 1; i <= n; i++ {
		r := Record{Seq: uint64(i), Prev: prev, HLC: NewHLC(t0, uint16(i)), Kind: KindOverride,
			Event: 1042, Serial: uint64(100 + i), Type: 3, Gate: "G1", Zone: 2, Actor: "a", Reason: "already_used"}
		if err := r.Sign(key); err != nil {
			t.Fatal(err)
		}
		raw := r.Marshal()
		prev = HashOf(raw)
		raws = append(raws, raw)
	}
	return raws
}

func TestVerifyBatch(t *testing.T) {
	g1, g2 := testKey("gate-1"), testKey("gate-2")
	errUnknown := errors.New("unknown origin")
	key := func(r *Record) (ed25519.PublicKey, error) {
		if r.Origin == ticket.KeyIDOf(ticket.PublicOf(g1)) {
			return ticket.PublicOf(g1), nil
		}
		return nil, errUnknown
	}
	good := chain(t, g1, 3)
	badLast := chain(t, g1, 3)
	badLast[2] = append([]byte(nil), badLast[2]...)
	badLast[2][len(badLast[2])-1] ^= 1 // the run's last signature
	tests := []struct {
		name string
		raws [][]byte
		ok   []bool
	}{
		{"a whole run", good, []bool{true, true, true}},
		{"out of order", [][]byte{good[2], good[0], good[1]}, []bool{true, true, true}},
		{"last signature bad: the rest kept", badLast, []bool{true, true, false}},
		{"untrusted origin", chain(t, g2, 2), []bool{false, false}},
		{"garbage", [][]byte{{1, 2, 3}, good[0]}, []bool{false, true}},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, errs := VerifyBatch(tt.raws, key)
			if len(recs) != len(tt.raws) || len(errs) != len(tt.raws) {
				t.Fatalf("%d records, %d errors for %d inputs", len(recs), len(errs), len(tt.raws))
			}
			for i, want := range tt.ok {
				if (errs[i] == nil) != want {
					t.Errorf("record %d: error %v, want ok=%v", i, errs[i], want)
				}
				if want && string(recs[i].Marshal()) != string(tt.raws[i]) {
					t.Errorf("record %d decoded differently", i)
				}
			}
		})
	}
}
