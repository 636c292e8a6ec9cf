package ledger

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
)

// seller provisions a seller device and certifies its key for serials
// 900000-900049 of type 1 of event 1042: its quota.
func (v *testVenue) seller(name string) *Ledger {
	v.t.Helper()
	dir := filepath.Join(v.t.TempDir(), name)
	cfg := TestConfig(dir)
	cfg.Clock = v.clock
	cfg.Logger = testLogger(v.t)
	if err := Init(Provision{Dir: dir, Keys: v.keys, Device: name, Role: ticket.RoleSeller, Venue: "arena",
		Now: concertNight.Add(-24 * time.Hour)}, cfg); err != nil {
		v.t.Fatal(err)
	}
	l, err := Open(cfg)
	if err != nil {
		v.t.Fatal(err)
	}
	v.t.Cleanup(func() { l.Close() })
	cert, err := ticket.SignIssuerCert(ticket.IssuerCert{Name: name, Key: l.Identity().Cert.Key, Events: []uint64{1042}, Types: []uint64{1},
		SerialMin: 900000, SerialMax: 900049, NotBefore: concertNight.Add(-time.Hour), NotAfter: concertNight.Add(6 * time.Hour)}, v.keys.Root)
	if err != nil {
		v.t.Fatal(err)
	}
	v.sign(manifest.KindIssuer, &cert)
	v.load(l)
	return l
}

func cashSale(qty int) Sale {
	return Sale{Event: 1042, Type: 1, Quantity: qty, Price: 12800, Currency: "CNY", Method: record.MethodCash,
		Given: 12800 * int64(qty), Seller: "li", Till: "S1"}
}

// A seller sells within its quota, offline: the codes pass a gate that
// got the sale records, the 51st ticket of a 50-serial block is refused,
// receipts are numbered without gaps across a restart, and a voided sale's
// tickets are refused.
func TestOfflineSale(t *testing.T) {
	v := newTestVenue(t, 100)
	seller := v.seller("seller-1")
	gate := v.open("gate-1") // after seller(): the manifest holds its quota
	ctx := context.Background()

	s := cashSale(2)
	s.Given = 30000
	sold, err := seller.Sell(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if sold.Receipt != 1 || len(sold.Tickets) != 2 || sold.Total != 25600 || sold.Change != 4400 ||
		sold.Tickets[0].Serial != 900000 || sold.Tickets[1].Serial != 900001 {
		t.Fatalf("sold: %+v", sold)
	}
	exchange(t, seller, gate)
	if d := scan(t, gate, sold.Tickets[0].Code, "G1", ""); !d.OK() {
		t.Fatalf("a ticket sold offline at the gate: %s %s", d.Reason, d.Detail)
	}

	for range 4 {
		if _, err := seller.Sell(ctx, cashSale(12)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := seller.Sell(ctx, cashSale(1)); !errors.Is(err, ErrQuotaExhausted) || !strings.Contains(err.Error(), "0 left") {
		t.Fatalf("the 51st ticket: %v", err)
	}
	q, err := seller.Quotas(1042, 1)
	if err != nil || len(q) != 1 || q[0].Left != 0 {
		t.Errorf("quotas: %+v %v", q, err)
	}
	for name, bad := range map[string]Sale{
		"too little cash":         {Event: 1042, Type: 1, Quantity: 1, Price: 100, Currency: "CNY", Method: record.MethodCash, Given: 99},
		"no quantity":             {Event: 1042, Type: 1, Price: 100, Currency: "CNY", Method: record.MethodCash, Given: 100},
		"unknown type":            {Event: 1042, Type: 99, Quantity: 1, Price: 100, Currency: "CNY", Method: record.MethodCard},
		"a float currency":        {Event: 1042, Type: 1, Quantity: 1, Price: 100, Currency: "yuan", Method: record.MethodCard},
		"a type not in the quota": {Event: 1042, Type: 3, Quantity: 1, Price: 100, Currency: "CNY", Method: record.MethodCard},
	} {
		if _, err := seller.Sell(ctx, bad); err == nil {
			t.Errorf("%s: sold", name)
		}
	}
	if _, err := gate.Sell(ctx, cashSale(1)); !errors.Is(err, ErrNotSeller) {
		t.Errorf("a gate sells: %v", err)
	}

	// Void the first sale: both its tickets are refused at the gate, the
	// one already inside included on its next entry.
	ids, err := seller.Void(ctx, sold.Receipt, "wrong type", "li")
	if err != nil || len(ids) != 2 {
		t.Fatalf("void: %v %v", ids, err)
	}
	if _, err := seller.Void(ctx, sold.Receipt, "again", "li"); !errors.Is(err, ErrVoided) {
		t.Errorf("a second void: %v", err)
	}
	if _, err := seller.Void(ctx, 99, "none", "li"); !errors.Is(err, ErrNoReceipt) {
		t.Errorf("void of no receipt: %v", err)
	}
	exchange(t, seller, gate)
	if d := scan(t, gate, sold.Tickets[1].Code, "G1", ""); d.OK() || d.Reason != ticket.ReasonRevoked {
		t.Errorf("a voided ticket at the gate: %s %s", d.Reason, d.Detail)
	}

	// Receipts go on from the log after a restart.
	cfg := seller.cfg
	if err := seller.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if _, err := again.Sell(ctx, cashSale(1)); !errors.Is(err, ErrQuotaExhausted) {
		t.Errorf("after a restart the sold serials are still sold: %v", err)
	}
	receipt, err := again.lastReceipt()
	if err != nil || receipt != 5 {
		t.Errorf("last receipt after a restart: %d %v", receipt, err)
	}
}

// Only the seller that sold a ticket can void it: a gate's void is refused
// on ingest, and a void by another seller does not stop the ticket.
func TestVoidOnlyBySeller(t *testing.T) {
	v := newTestVenue(t, 100)
	seller := v.seller("seller-1")
	other := v.seller("seller-2")
	gate := v.open("gate-1")
	ctx := context.Background()
	sold, err := seller.Sell(ctx, cashSale(1))
	if err != nil {
		t.Fatal(err)
	}
	// seller-2 forges a void of seller-1's sale, signed with its own key.
	forged := record.Record{Seq: 1, HLC: record.NewHLC(concertNight, 0), Kind: record.KindVoid, Event: 1042, Serial: sold.Tickets[0].Serial,
		Type: 1, Money: record.Money{Receipt: 1, Amount: 12800, Currency: "CNY", Method: record.MethodCash}}
	if err := forged.Sign(other.Identity().Key); err != nil {
		t.Fatal(err)
	}
	exchange(t, seller, gate)
	for _, c := range other.trust.Devices() {
		gate.AddDeviceCert(c)
	}
	if _, errs := gate.Ingest([][]byte{forged.Marshal()}); len(errs) != 0 {
		t.Fatal(errs)
	}
	if d := scan(t, gate, sold.Tickets[0].Code, "G1", ""); !d.OK() {
		t.Errorf("another seller's void stopped the ticket: %s %s", d.Reason, d.Detail)
	}
	// A gate's void is refused outright.
	g2 := v.open("gate-2")
	gv := forged
	gv.Seq = 1
	if err := gv.Sign(g2.Identity().Key); err != nil {
		t.Fatal(err)
	}
	for _, c := range g2.trust.Devices() {
		gate.AddDeviceCert(c)
	}
	if _, errs := gate.Ingest([][]byte{gv.Marshal()}); len(errs) != 1 || !strings.Contains(errs[0].Error(), "not a seller") {
		t.Errorf("a gate's void: %v", errs)
	}
}
