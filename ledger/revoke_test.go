package ledger

import (
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ticket"
)

// A device revoked from a time on: its records made before that time are
// still taken from peers, those made at or after it are refused, and the
// time outlives a restart.
func TestDeviceRevokedFromATime(t *testing.T) {
	v := newTestVenue(t, 100)
	lost := v.open("gate-2")
	scan(t, lost, v.code(ticket.Ticket{Serial: 1}), "G1", "") // 19:30, before the loss
	v.clock.Advance(time.Hour)
	scan(t, lost, v.code(ticket.Ticket{Serial: 2}), "G1", "") // 20:30, after it
	v.sign(manifest.KindRevoke, &manifest.Revoke{Devices: []ticket.KeyID{lost.Identity().ID()}, Reason: "lost",
		At: concertNight.Add(30 * time.Minute)})

	gate := v.open("gate-1") // holds the revocation
	recs, err := lost.Records(lost.Identity().ID(), 1, 10)
	if err != nil || len(recs) != 2 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	for _, c := range lost.trust.Devices() {
		gate.AddDeviceCert(c)
	}
	st, errs := gate.Ingest(recs)
	if st.Stored != 1 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "revoked") {
		t.Fatalf("ingest: %+v %v", st, errs)
	}
	cfg := gate.cfg
	gate.Close()
	again, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if !again.trust.RevokedAt(lost.Identity().ID(), concertNight.Add(time.Hour)) || again.trust.RevokedAt(lost.Identity().ID(), concertNight) {
		t.Error("the revocation's time did not outlive a restart")
	}
}
