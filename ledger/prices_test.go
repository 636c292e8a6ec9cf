package ledger

import (
	"errors"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/ledger/manifest"
)

// A seller prices by the list central made for it by name, else by the
// event's list for every seller; a list that breaks the format cannot be
// signed (the same check refuses it on receipt).
func TestPriceList(t *testing.T) {
	v := newTestVenue(t, 10)
	seller := v.seller("seller-1")
	if _, err := seller.PriceList(1042); !errors.Is(err, ErrNoPriceList) {
		t.Fatalf("before any list: %v", err)
	}
	v.sign(manifest.KindPrices, &manifest.PriceList{Event: 1042, Currency: "CNY", Prices: []manifest.Price{{Type: 1, Amount: 12800}}})
	v.load(seller)
	p, err := seller.PriceList(1042)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := p.PriceOf(1); !ok || a != 12800 || p.Seller != "" {
		t.Fatalf("the event's list: %+v", p)
	}
	v.sign(manifest.KindPrices, &manifest.PriceList{Event: 1042, Seller: "seller-1", Currency: "CNY",
		Prices: []manifest.Price{{Type: 1, Amount: 9900}}, Offers: []manifest.Offer{{ID: "group", Name: "Group of 4", OffBP: 1000, MinQuantity: 4}}})
	v.sign(manifest.KindPrices, &manifest.PriceList{Event: 1042, Seller: "seller-2", Currency: "CNY", Prices: []manifest.Price{{Type: 1, Amount: 1}}})
	v.load(seller)
	if p, err = seller.PriceList(1042); err != nil {
		t.Fatal(err)
	}
	if a, _ := p.PriceOf(1); a != 9900 || p.Seller != "seller-1" || len(p.Offers) != 1 {
		t.Fatalf("the seller's own list: %+v", p)
	}

	for name, bad := range map[string]manifest.PriceList{
		"no prices":      {Event: 1042, Currency: "CNY"},
		"lower currency": {Event: 1042, Currency: "cny", Prices: []manifest.Price{{Type: 1, Amount: 1}}},
		"negative":       {Event: 1042, Currency: "CNY", Prices: []manifest.Price{{Type: 1, Amount: -1}}},
		"twice":          {Event: 1042, Currency: "CNY", Prices: []manifest.Price{{Type: 1, Amount: 1}, {Type: 1, Amount: 2}}},
		"both discounts": {Event: 1042, Currency: "CNY", Prices: []manifest.Price{{Type: 1, Amount: 1}}, Offers: []manifest.Offer{{ID: "x", OffBP: 10, Amount: 1}}},
		"unpriced offer": {Event: 1042, Currency: "CNY", Prices: []manifest.Price{{Type: 1, Amount: 1}}, Offers: []manifest.Offer{{ID: "x", OffBP: 10, Types: []uint64{2}}}},
	} {
		_, err := manifest.Signer{Key: v.keys.Central, Cert: &v.keys.CentralCert}.Sign(99, manifest.KindPrices, &bad)
		if !errors.Is(err, manifest.ErrMalformed) || !strings.Contains(err.Error(), "prices") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
