package ledger

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
)

// seller provisions a seller device and certifies its key for serials
// 900000-900049 of type 1 of event 1042: its quota.
func (v *testVenue) seller(name string) *Ledger { return v.sellerWith(name, 50) }

// sellerWith is seller with a block of n serials from 900000.
func (v *testVenue) sellerWith(name string, n uint64) *Ledger {
	v.t.Helper()
	l := v.openSeller(name)
	cert, err := ticket.SignIssuerCert(ticket.IssuerCert{Name: name, Key: l.Identity().Cert.Key, Events: []uint64{1042}, Types: []uint64{1},
		SerialMin: 900000, SerialMax: 900000 + n - 1, NotBefore: concertNight.Add(-time.Hour), NotAfter: concertNight.Add(6 * time.Hour)}, v.keys.Root)
	if err != nil {
		v.t.Fatal(err)
	}
	v.sign(manifest.KindIssuer, &cert)
	v.load(l)
	if _, err := l.OpenShift(context.Background(), "li", "S1", 20000, "CNY"); err != nil {
		v.t.Fatal(err)
	}
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

// A shift's account comes from its records: float, sales and voids by
// method, change given, cash in and out, expected against counted; a
// difference needs a note; no sale outside a shift.
func TestShift(t *testing.T) {
	v := newTestVenue(t, 100)
	l := v.seller("seller-1") // shift 1 open, float 200.00 CNY
	ctx := context.Background()
	if _, err := l.OpenShift(ctx, "li", "S1", 100, "CNY"); !errors.Is(err, ErrShiftOpen) {
		t.Errorf("a second open shift: %v", err)
	}
	s := cashSale(2)
	s.Given = 30000 // 256.00 due, 44.00 change
	if _, err := l.Sell(ctx, s); err != nil {
		t.Fatal(err)
	}
	card := Sale{Event: 1042, Type: 1, Quantity: 1, Price: 12800, Currency: "CNY", Method: record.MethodCard, Ref: "T-7781", Seller: "li", Till: "S1"}
	if _, err := l.Sell(ctx, card); err != nil {
		t.Fatal(err)
	}
	voided, err := l.Sell(ctx, cashSale(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Void(ctx, voided.Receipt, "changed mind", "li"); err != nil {
		t.Fatal(err)
	}
	if err := l.MoveCash(ctx, true, 10000, "change from the office", "li"); err != nil {
		t.Fatal(err)
	}
	if err := l.MoveCash(ctx, false, 5000, "bank drop", "li"); err != nil {
		t.Fatal(err)
	}
	if s := cashSale(1); true {
		s.Currency = "EUR"
		if _, err := l.Sell(ctx, s); err == nil {
			t.Error("a sale in another currency than the till's")
		}
	}
	// 200.00 + 256.00 + 128.00 - 128.00 + 100.00 - 50.00 = 506.00
	const expected = 50600
	if _, err := l.CloseShift(ctx, expected-500, "100x5", "", "li"); !errors.Is(err, ErrNeedsNote) {
		t.Fatalf("a 5.00 short count without a note: %v", err)
	}
	rep, err := l.CloseShift(ctx, expected-500, "100x5", "a 5.00 note given as change twice", "li")
	if err != nil {
		t.Fatal(err)
	}
	want := ShiftReport{Expected: expected, Counted: expected - 500, Difference: -500, ChangeGiven: 4400}
	if rep.Number != 1 || rep.Float != 20000 || rep.Expected != want.Expected || rep.Counted != want.Counted ||
		rep.Difference != want.Difference || rep.ChangeGiven != want.ChangeGiven || rep.Closed.IsZero() || rep.Count != "100x5" {
		t.Errorf("report: %+v", rep)
	}
	if c := rep.Sales[record.MethodCash]; c.Tickets != 3 || c.Receipts != 2 || c.Amount != 38400 {
		t.Errorf("cash sales: %+v", c)
	}
	if c := rep.Sales[record.MethodCard]; c.Tickets != 1 || c.Amount != 12800 {
		t.Errorf("card sales: %+v", c)
	}
	if v := rep.Voids[record.MethodCash]; v.Tickets != 1 || v.Receipts != 1 || v.Amount != 12800 {
		t.Errorf("voids: %+v", v)
	}
	if len(rep.Moves) != 2 || rep.Moves[0].Amount != 10000 || rep.Moves[1].Amount != -5000 {
		t.Errorf("cash moves: %+v", rep.Moves)
	}
	if _, err := l.Sell(ctx, cashSale(1)); !errors.Is(err, ErrNoShift) {
		t.Errorf("a sale after the shift closed: %v", err)
	}
	// Recomputed from the records after a restart, the same account.
	cfg := l.cfg
	l.Close()
	again, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	back, err := again.ShiftReport(1)
	if err != nil || back.Expected != rep.Expected || back.Difference != rep.Difference || back.Note != rep.Note {
		t.Errorf("the report after a restart: %+v %v", back, err)
	}
	if s, err := again.OpenShift(ctx, "wang", "S1", 0, "CNY"); err != nil || s.Number != 2 {
		t.Errorf("the next shift: %+v %v", s, err)
	}
}

// A seller killed (SIGKILL) while it sells: every sale is whole or absent
// after reopening — each receipt has all its tickets, receipts run without
// gaps, every sale acknowledged is there, and selling goes on from the
// next receipt and the next free serial.
func TestKilledWhileSelling(t *testing.T) {
	if dir := os.Getenv("TIXGATE_SELL_CHILD"); dir != "" {
		sellUntilKilled(dir)
		return
	}
	v := newTestVenue(t, 100)
	l := v.sellerWith("seller-1", 100_000)
	cfg := l.cfg
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWhileSelling$")
	cmd.Env = append(os.Environ(), "TIXGATE_SELL_CHILD="+cfg.Dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[uint64]bool{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "sold "); ok {
			r, _ := strconv.ParseUint(n, 10, 64)
			acked[r] = true
		}
		if len(acked) == 60 {
			cmd.Process.Signal(syscall.SIGKILL)
			break
		}
	}
	cmd.Wait()
	if len(acked) < 60 {
		t.Fatalf("the child acknowledged only %d sales", len(acked))
	}
	again, err := Open(cfg)
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer again.Close()
	tickets := map[uint64]int{}
	serials := map[uint64]bool{}
	if err := again.eachOwnMoney(func(r *record.Record) error {
		if r.Kind == record.KindSale {
			tickets[r.Money.Receipt]++
			if serials[r.Serial] {
				t.Errorf("serial %d sold twice", r.Serial)
			}
			serials[r.Serial] = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for n := uint64(1); n <= uint64(len(tickets)); n++ {
		if tickets[n] != 3 {
			t.Errorf("receipt %d has %d of its 3 tickets", n, tickets[n])
		}
	}
	for n := range acked {
		if tickets[n] != 3 {
			t.Errorf("sale %d was acknowledged and is not whole: %d tickets", n, tickets[n])
		}
	}
	next, err := again.Sell(context.Background(), cashSale(3))
	if err != nil || next.Receipt != uint64(len(tickets))+1 || serials[next.Tickets[0].Serial] {
		t.Errorf("the sale after reopening: receipt %d of %d, %v", next.Receipt, len(tickets), err)
	}
	t.Logf("%d sales acknowledged before SIGKILL, %d in the log after reopening", len(acked), len(tickets))
	if probs, err := again.Verify(); err != nil || len(probs) > 0 {
		t.Errorf("verify after SIGKILL: %v %v", probs, err)
	}
}

// sellUntilKilled is the child: it sells three tickets at a time forever
// and prints each acknowledged receipt.
func sellUntilKilled(dir string) {
	cfg := DefaultConfig(dir)
	cfg.Clock = ticket.NewManualClock(concertNight)
	l, err := Open(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	for {
		sold, err := l.Sell(context.Background(), cashSale(3))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		fmt.Printf("sold %d\n", sold.Receipt)
	}
}

// BenchmarkSale is a sale of one ticket on a handheld, confirm to codes:
// serials, signing, the records, the durable commit.
func BenchmarkSale(b *testing.B) {
	v := newTestVenue(b, 100)
	l := v.sellerWith("seller-1", uint64(b.N)+10)
	l.Close()
	cfg := l.cfg
	cfg.SyncWrites = true
	l, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := l.Sell(ctx, cashSale(1)); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// A sale priced per ticket records each ticket's amount and the offer;
// its receipt is read back from the records with the same codes, and its
// nonce finds it again.
func TestReceiptFromRecords(t *testing.T) {
	v := newTestVenue(t, 100)
	seller := v.seller("seller-1")
	ctx := context.Background()
	s := cashSale(3)
	s.Amounts, s.Offer, s.Nonce, s.Given = []int64{10000, 10000, 9999}, "group", "n-1", 30000
	sold, err := seller.Sell(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if sold.Total != 29999 || sold.Change != 1 || sold.Tickets[2].Amount != 9999 {
		t.Fatalf("sold: %+v", sold)
	}
	for _, get := range []func() (Sold, error){
		func() (Sold, error) { return seller.Receipt(sold.Receipt) },
		func() (Sold, error) {
			ns, err := seller.SaleNonces()
			if err != nil || ns["n-1"] != sold.Receipt || len(ns) != 1 {
				t.Fatalf("nonces: %v %v", ns, err)
			}
			return seller.Receipt(ns["n-1"])
		},
	} {
		got, err := get()
		if err != nil {
			t.Fatal(err)
		}
		if got.Total != sold.Total || got.Change != 1 || got.Offer != "group" || len(got.Tickets) != 3 || got.Voided {
			t.Fatalf("read back: %+v", got)
		}
		for i := range got.Tickets {
			if got.Tickets[i].Code != sold.Tickets[i].Code || got.Tickets[i].Amount != sold.Tickets[i].Amount {
				t.Fatalf("ticket %d read back: %+v, sold %+v", i, got.Tickets[i], sold.Tickets[i])
			}
		}
	}
	if _, err := seller.Receipt(99); !errors.Is(err, ErrNoReceipt) {
		t.Fatalf("an unknown receipt: %v", err)
	}
	bad := cashSale(2)
	bad.Amounts = []int64{1}
	if _, err := seller.Sell(ctx, bad); err == nil {
		t.Fatal("a sale with fewer amounts than tickets was recorded")
	}
	if _, err := seller.Void(ctx, sold.Receipt, "mistake", "li"); err != nil {
		t.Fatal(err)
	}
	if got, err := seller.Receipt(sold.Receipt); err != nil || !got.Voided {
		t.Fatalf("voided receipt: %+v %v", got, err)
	}
}

// A sale of an earlier shift cannot be voided: its cash is already
// counted.
func TestVoidWithinShift(t *testing.T) {
	v := newTestVenue(t, 100)
	seller := v.seller("seller-1")
	ctx := context.Background()
	sold, err := seller.Sell(ctx, cashSale(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seller.CloseShift(ctx, 20000+12800, "", "", "li"); err != nil {
		t.Fatal(err)
	}
	if _, err := seller.Void(ctx, sold.Receipt, "mistake", "li"); !errors.Is(err, ErrNoShift) {
		t.Fatalf("a void with no shift open: %v", err)
	}
	if _, err := seller.OpenShift(ctx, "li", "S1", 20000, "CNY"); err != nil {
		t.Fatal(err)
	}
	if _, err := seller.Void(ctx, sold.Receipt, "mistake", "li"); !errors.Is(err, ErrNotInShift) {
		t.Fatalf("a void of the last shift's sale: %v", err)
	}
}
