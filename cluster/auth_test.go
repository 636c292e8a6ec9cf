package cluster

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ticket"
)

// A forger with the keyring and gate-1's certificate (public: it is in the
// metadata) but not its key sends messages claiming to be gate-1: each is
// dropped unread and counted, none is charged to gate-1, none is stored and
// no fetch is answered. The same messages signed by gate-1's key within the
// replay window are served; signed outside it, they are dropped.
func TestForgedSender(t *testing.T) {
	c := newCluster(t, 2, nil)
	g1, g2 := c.nodes[0], c.nodes[1]
	if d := c.scanAt(g1, 1); !d.OK() {
		t.Fatal(ledgertest.Describe(d))
	}
	origin := g1.ledger.Identity().ID()
	ledgertest.WaitFor(t, 5*time.Second, "gate-2 holds gate-1's record", func() bool {
		vv, _ := g2.ledger.VersionVector()
		return vv[origin] == 1
	})
	forger, err := ticket.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	now := g2.mesh.cfg.Clock.Now()
	recs := signedRecords(t, c.venue, "gate-x", 1)
	deliver := (*delegate)(g2.mesh).NotifyMsg
	before := g2.mesh.Stats()
	for range 20 {
		deliver(sealMessage(forger, now, kindFetch, g1.name, fetchPayload(origin, 1)))
	}
	deliver(sealMessage(forger, now, kindFetchManifest, g1.name, []byte{1}))
	deliver(sealMessage(forger, now, kindRecords, g1.name, appendRecords(nil, recs.raws)))
	deliver(sealMessage(forger, now, kindRecords, g1.name, []byte("garbage")))
	deliver(append([]byte{kindFetch, byte(len(g1.name))}, append([]byte(g1.name), fetchPayload(origin, 1)...)...)) // unsigned, the old format
	deliver(sealMessage(g1.mesh.key, now.Add(-10*time.Minute), kindFetch, g1.name, fetchPayload(origin, 1)))
	deliver(sealMessage(forger, now, kindFetch, "gate-9", fetchPayload(origin, 1)))
	time.Sleep(300 * time.Millisecond)
	st := g2.mesh.Stats()
	if got := st.Unauthentic - before.Unauthentic; got != 26 {
		t.Errorf("%d messages counted unauthentic, want 26", got)
	}
	if st.FetchesServed != before.FetchesServed || st.RecordsServed != before.RecordsServed {
		t.Errorf("forged fetches were answered: %+v", st)
	}
	if n := g2.mesh.Rejected()[g1.name]; n != 0 {
		t.Errorf("%d rejections pinned on gate-1", n)
	}
	vv, _ := g2.ledger.VersionVector()
	if _, ok := vv[recs.origin]; ok {
		t.Error("records from a forged message were stored")
	}
	deliver(sealMessage(g1.mesh.key, now, kindFetch, g1.name, fetchPayload(origin, 1)))
	ledgertest.WaitFor(t, 5*time.Second, "a genuine fetch is served", func() bool {
		return g2.mesh.Stats().FetchesServed == before.FetchesServed+1
	})
}

// The cost of authenticating a message: signing on send, verifying on
// receipt, and the 72 bytes added to each packet.
func BenchmarkMessageAuth(b *testing.B) {
	key, err := ticket.GenerateKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	payload := make([]byte, 900)
	now := time.Now()
	b.Run("seal", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			sealMessage(key, now, kindRecords, "gate-1", payload)
		}
	})
	msg := sealMessage(key, now, kindRecords, "gate-1", payload)
	b.Run("open", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := openMessage(msg, func(string) ed25519.PublicKey { return pub }, now, time.Minute); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(trailerLen, "bytes/msg")
}

func TestSealedOverhead(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	for _, name := range []string{"g", "gate-1", strings.Repeat("n", 200)} {
		if got, want := sealedOverhead(name), len(sealMessage(key, time.Now(), kindRecords, name, nil)); got != want {
			t.Errorf("sealedOverhead(%d-byte name) = %d, a sealed empty message is %d bytes", len(name), got, want)
		}
	}
}
