package ledger

import (
	"context"
	"errors"
	"testing"

	"github.com/tixgate/tixgate/ledger/manifest"
)

// A quota central capped: the serials it revoked are not sold, whether the
// revocation names the block's next serials or ones further on.
func TestSellSkipsRevokedSerials(t *testing.T) {
	v := newTestVenue(t, 100)
	seller := v.sellerWith("seller-1", 10)
	ctx := context.Background()
	var refs []manifest.TicketRef
	for _, s := range []uint64{900000, 900001, 900005, 900006, 900007, 900008, 900009} {
		refs = append(refs, manifest.TicketRef{Event: 1042, Serial: s})
	}
	if _, err := seller.ApplyChange(v.sign(manifest.KindRevoke, &manifest.Revoke{Tickets: refs, Reason: "quota capped"})); err != nil {
		t.Fatal(err)
	}
	qs, err := seller.Quotas(1042, 1)
	if err != nil || len(qs) != 1 || qs[0].Left != 3 {
		t.Fatalf("quotas after the cap: %+v, %v", qs, err)
	}
	sold, err := seller.Sell(ctx, cashSale(3))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []uint64{900002, 900003, 900004} {
		if got := sold.Tickets[i].Serial; got != want {
			t.Errorf("ticket %d: serial %d, want %d", i, got, want)
		}
	}
	if _, err := seller.Sell(ctx, cashSale(1)); !errors.Is(err, ErrQuotaExhausted) {
		t.Errorf("a sale past the capped block: %v", err)
	}
}
