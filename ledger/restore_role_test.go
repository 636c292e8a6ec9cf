package ledger

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

// A replacement gate restored from a seller's backup (the handheld was the
// one device backed up): the backup verifies line by line, but its changes
// lack the private part a gate needs. Restore reads and checks the whole
// backup before storing anything, so it must refuse it whole, not apply
// the first changes and stop at the first incomplete one.
func TestRestoreSellerBackupIntoGateStoresNothing(t *testing.T) {
	v := newTestVenue(t, 50)
	dir := filepath.Join(t.TempDir(), "seller-1")
	cfg := TestConfig(dir)
	cfg.Clock = v.clock
	cfg.Logger = testLogger(t)
	if err := Init(Provision{Dir: dir, Keys: v.keys, Device: "seller-1", Role: ticket.RoleSeller, Venue: "arena",
		Now: concertNight.Add(-24 * time.Hour)}, cfg); err != nil {
		t.Fatal(err)
	}
	seller, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer seller.Close()
	v.load(seller)
	var backup bytes.Buffer
	if _, _, err := seller.Backup(&backup); err != nil {
		t.Fatal(err)
	}

	gate, err := Open(v.device("gate-1"))
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()
	_, _, err = gate.Restore(context.Background(), &backup)
	if err == nil {
		t.Fatal("a gate restored a seller's backup without its private parts")
	}
	if got := gate.ManifestSeq(); got != 0 {
		t.Errorf("the refused restore applied %d manifest changes (%v)", got, err)
	}
}
