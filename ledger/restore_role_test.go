package ledger

import (
	"bytes"
	"context"
	"testing"
)

// A replacement gate restored from a seller's backup (the handheld was the
// one device backed up): the backup verifies line by line, but its changes
// lack the private part a gate needs. Restore reads and checks the whole
// backup before storing anything, so it must refuse it whole, not apply
// the first changes and stop at the first incomplete one.
func TestRestoreSellerBackupIntoGateStoresNothing(t *testing.T) {
	v := newTestVenue(t, 50)
	seller := v.openSeller("seller-1")
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
