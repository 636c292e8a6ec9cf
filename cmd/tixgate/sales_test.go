package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central"
	"github.com/tixgate/tixgate/central/sales"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/edge"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/uplink"
)

// Offline sales end to end: ops allocate a seller handheld a block of 50
// serials; the handheld, cut off from central, sells all 50 and no more; a
// gate in its mesh admits one at once and refuses codes the handheld's key
// signed outside its block, type or zones; a void is refused in the mesh at
// once and, after the handheld reconnects, at a gate that never saw it,
// through central's revoke change; central ends up with 50 orders, their
// payments and the shift's cash report, and a second upload of the same
// records changes nothing. The handheld then asks for another block within
// the limit ops set, and ops revoke it.
func TestOfflineSales(t *testing.T) {
	if testing.Short() {
		t.Skip("starts central, a seller and two gates")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	data := filepath.Join(t.TempDir(), "central")
	now := time.Now().UTC()
	venue := strings.NewReplacer("STARTS", now.Add(-time.Hour).Format(time.RFC3339), "ENDS", now.Add(24*time.Hour).Format(time.RFC3339)).Replace(`
venue: arena
time_zone: Asia/Shanghai
zones: [{id: 0, name: Floor}, {id: 1, name: Balcony}]
gates: [{name: G1, zone: 0}, {name: G2, zone: 0}, {name: B1, zone: 1}]
events: [{id: 1042, name: Concert, starts: STARTS, ends: ENDS}]
ticket_types: [{event: 1042, id: 1, name: Standing, zones: [0]}, {event: 1042, id: 2, name: Balcony, zones: [1]}]
`)
	venueFile := filepath.Join(t.TempDir(), "venue.yaml")
	if err := os.WriteFile(venueFile, []byte(venue), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		out, errs, code := cliAt(t, time.Now, "", args...)
		if code != 0 {
			t.Fatalf("tixgate %s: exit %d: %s %s", strings.Join(args, " "), code, out, errs)
		}
		return out
	}
	run("central", "venue", "import", "--data", data, venueFile)

	db, centralURL, ccfg := startCentral(t, ctx, data)

	// The seller reaches central through a link that is cut while it sells.
	var cut atomic.Bool
	target, _ := url.Parse(centralURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	link := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cut.Load() {
			http.Error(w, `{"error":"unreachable","message":"uplink down"}`, http.StatusBadGateway)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer link.Close()

	start := func(name, role, gate, url string, join *edge.Node) (*edge.Node, string) {
		t.Helper()
		args := []string{"central", "devices", "add", "--data", data, "--name", name, "--role", role, "--url", url}
		if gate != "" {
			args = append(args, "--gate", gate)
		}
		lines := strings.Split(strings.TrimSpace(run(args...)), "\n")
		dir := filepath.Join(t.TempDir(), name)
		run("enroll", "--data", dir, "--code", lines[1])
		cfg := edge.DefaultConfig(dir)
		cfg.Gate = gate
		cfg.Bind, cfg.Listen = "127.0.0.1:0", "127.0.0.1:0"
		if join != nil {
			cfg.Join = []string{join.MeshAddr()}
		}
		cfg.Ledger = ledger.TestConfig(dir)
		cfg.Mesh = cluster.TestConfig()
		cfg.Central = url
		cfg.Uplink.Interval, cfg.Uplink.MinBackoff, cfg.Uplink.MaxBackoff = 100*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond
		cfg.Uplink.RequestTimeout = 2 * time.Second
		cfg.Logger = ledgertest.Logger(t, slog.LevelError)
		n, err := edge.Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		return n, dir
	}
	gate1, _ := start("gate-1", "gate", "G1", centralURL, nil)
	seller, sellerDir := start("seller-1", "seller", "", link.URL, gate1)
	gate2, _ := start("gate-2", "gate", "G2", centralURL, nil) // a mesh of its own: it never sees the seller's records

	out := run("central", "quotas", "allocate", "--data", data, "--device", "seller-1", "--event", "1042", "--type", "1", "--count", "50",
		"--price", "120.00", "--currency", "CNY", "--request-block", "10", "--request-max", "60")
	if !strings.Contains(out, "serials 1000000000-1000000049") || !strings.Contains(out, "120.00 CNY") {
		t.Fatalf("quotas allocate: %s", out)
	}
	head, err := db.ManifestHead(ctx, "arena")
	if err != nil {
		t.Fatal(err)
	}
	ledgertest.WaitFor(t, 20*time.Second, "the seller and the gates pulled the quota and its prices", func() bool {
		return seller.Ledger().ManifestSeq() == head && gate1.Ledger().ManifestSeq() == head && gate2.Ledger().ManifestSeq() == head
	})
	ledgertest.WaitFor(t, 20*time.Second, "the seller and gate-1 see each other", func() bool { return gate1.Mesh().Stats().Members >= 2 })
	prices, err := seller.Ledger().PriceList(1042)
	if p, ok := prices.PriceOf(1); err != nil || !ok || p != 12000 || prices.Currency != "CNY" || prices.Seller != "seller-1" {
		t.Fatalf("the seller's price list: %+v, %v", prices, err)
	}

	// Offline: 50 sales of one ticket, 40 paid in cash with 200.00, 10 by card.
	cut.Store(true)
	ledgertest.WaitFor(t, 10*time.Second, "the seller's uplink is offline", func() bool { return seller.UplinkState().State == "offline" })
	sl := seller.Ledger()
	if _, err := sl.OpenShift(ctx, "Li Na", "seller-1", 50000, "CNY"); err != nil {
		t.Fatal(err)
	}
	var sold []ledger.Sold
	for i := range 50 {
		s := ledger.Sale{Event: 1042, Type: 1, Quantity: 1, Price: 12000, Currency: "CNY", Method: record.MethodCash, Given: 20000, Seller: "Li Na", Till: "seller-1"}
		if i%5 == 4 {
			s.Method, s.Given, s.Ref = record.MethodCard, 0, fmt.Sprintf("T%04d", i)
		}
		got, err := sl.Sell(ctx, s)
		if err != nil {
			t.Fatalf("sale %d: %v", i+1, err)
		}
		sold = append(sold, got)
	}
	_, err = sl.Sell(ctx, ledger.Sale{Event: 1042, Type: 1, Quantity: 1, Price: 12000, Currency: "CNY", Method: record.MethodCard, Ref: "X", Seller: "Li Na", Till: "seller-1"})
	if !errors.Is(err, ledger.ErrQuotaExhausted) || !strings.Contains(err.Error(), "0 left") {
		t.Fatalf("the 51st sale: %v, want quota exhausted", err)
	}
	// The block the handheld sold from is the one central signed.
	qs, _ := sl.Quotas(1042, 1)
	if len(qs) != 1 || qs[0].SerialMin != 1_000_000_000 || qs[0].SerialMax != 1_000_000_049 || qs[0].Left != 0 {
		t.Fatalf("the seller's quotas: %+v", qs)
	}

	scan := func(n *edge.Node, gate, code string) ticket.Reason {
		t.Helper()
		d, err := n.Ledger().Decide(ctx, ledger.Scan{Text: code, Gate: gate, Direction: rules.In})
		if err != nil {
			t.Fatal(err)
		}
		return d.Reason
	}
	if got := scan(gate1, "G1", sold[0].Tickets[0].Code); got != ticket.ReasonOK {
		t.Errorf("gate-1 on a ticket sold offline a moment ago: %s, want ok", got)
	}
	key := sl.Identity().Key
	forge := func(tk ticket.Ticket) string {
		c, err := ticket.Issue(tk, key)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, c := range []struct {
		what string
		tk   ticket.Ticket
		gate string
	}{
		{"beyond the block", ticket.Ticket{Event: 1042, Serial: 1_000_000_050, Type: 1, Zones: 1}, "G1"},
		{"below the block", ticket.Ticket{Event: 1042, Serial: 7, Type: 1, Zones: 1}, "G1"},
		{"another type", ticket.Ticket{Event: 1042, Serial: 1_000_000_010, Type: 2, Zones: 2}, "B1"},
		{"another zone", ticket.Ticket{Event: 1042, Serial: 1_000_000_011, Type: 1, Zones: 3}, "B1"},
		{"another event", ticket.Ticket{Event: 1043, Serial: 1_000_000_012, Type: 1, Zones: 1}, "G1"},
	} {
		if got := scan(gate1, c.gate, forge(c.tk)); got != ticket.ReasonOutOfScope {
			t.Errorf("a code the seller's key signed %s: %s, want %s", c.what, got, ticket.ReasonOutOfScope)
		}
	}

	// A void, offline: the mesh carries it to gate-1 at once.
	voided := sold[1]
	if _, err := sl.Void(ctx, voided.Receipt, "changed their mind", "Li Na"); err != nil {
		t.Fatal(err)
	}
	held := func(n *edge.Node) uint64 {
		vv, _ := n.Ledger().VersionVector()
		return vv[sl.Identity().ID()]
	}
	own := held(seller)
	ledgertest.WaitFor(t, 10*time.Second, "the mesh carried the void to gate-1", func() bool { return held(gate1) >= own })
	if got := scan(gate1, "G1", voided.Tickets[0].Code); got != ticket.ReasonRevoked {
		t.Errorf("gate-1 on the voided ticket: %s, want revoked", got)
	}
	// Expected cash: 500 float + 40 × 120 cash − 120 voided = 5180.00; one yuan is missing.
	rep, err := sl.CloseShift(ctx, 517900, "", "one yuan short", "Li Na")
	if err != nil || rep.Expected != 518000 || rep.Difference != -100 {
		t.Fatalf("close shift: %+v, %v", rep, err)
	}

	// Reconnect: the seller uploads, central keeps the accounts.
	cut.Store(false)
	seller.SyncNow()
	count := func(q string, args ...any) int {
		var n int
		if err := db.SQL().QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	ledgertest.WaitFor(t, 30*time.Second, "central holds 50 orders and the closed shift", func() bool {
		return count("SELECT COUNT(*) FROM seller_orders WHERE device = 'seller-1'") == 50 &&
			count("SELECT COUNT(*) FROM seller_shifts WHERE closed > 0") == 1
	})
	if err := db.Update(ctx, func(tx *store.Tx) error { _, err := tx.PutUser("ops", "ops", "", time.Now()); return err }); err != nil {
		t.Fatal(err)
	}
	tok, err := central.AddAPIToken(ctx, db, ticket.SystemClock{}, "ops", "test", []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string, v any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, centralURL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	var orders struct{ Orders []central.Order }
	get("/api/v1/sales/orders?device=seller-1", &orders)
	var total, refunded, change int64
	byMethod := map[string]int{}
	for _, o := range orders.Orders {
		total += o.Total
		refunded += o.Refunded
		change += o.Change
		byMethod[o.Method]++
		if o.Channel != "seller" || o.Currency != "CNY" || o.Tickets != 1 || o.Total != 12000 || o.Seller != "Li Na" {
			t.Errorf("order %+v", o)
		}
		if (o.Receipt == voided.Receipt) != (o.Status == store.OrderVoided) {
			t.Errorf("order %d: status %s", o.Receipt, o.Status)
		}
	}
	if len(orders.Orders) != 50 || total != 600000 || refunded != 12000 || change != 40*8000 || byMethod["cash"] != 40 || byMethod["card"] != 10 {
		t.Errorf("orders: %d, total %d, refunded %d, change %d, by method %v", len(orders.Orders), total, refunded, change, byMethod)
	}
	day := now.In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	var shifts struct{ Shifts []sales.CashReport }
	get("/api/v1/sales/shifts?device=seller-1&day="+day, &shifts)
	if len(shifts.Shifts) != 1 {
		t.Fatalf("shifts of %s: %+v", day, shifts)
	}
	sh := shifts.Shifts[0]
	want := sales.CashReport{Device: "seller-1", Day: day, Number: 1, Seller: "Li Na", Till: "seller-1", Currency: "CNY", Float: 50000,
		Sales:       map[string]sales.Totals{"cash": {Tickets: 40, Receipts: 40, Amount: 480000}, "card": {Tickets: 10, Receipts: 10, Amount: 120000}},
		Voids:       map[string]sales.Totals{"cash": {Tickets: 1, Receipts: 1, Amount: 12000}},
		ChangeGiven: 320000, Expected: 518000, Counted: 517900, Difference: -100, Note: "one yuan short"}
	sh.Opened, sh.Closed = time.Time{}, time.Time{}
	if fmt.Sprintf("%+v", sh) != fmt.Sprintf("%+v", want) {
		t.Errorf("cash report\n got %+v\nwant %+v", sh, want)
	}
	if rep.ChangeGiven != sh.ChangeGiven || rep.Expected != sh.Expected {
		t.Errorf("the handheld's report %+v and central's %+v disagree", rep, sh)
	}
	if got := count("SELECT COUNT(*) FROM tickets WHERE event = 1042 AND serial >= 1000000000"); got != 50 {
		t.Errorf("central's ticket table holds %d sold tickets, want 50", got)
	}
	if got := count("SELECT COUNT(*) FROM tickets WHERE status = 'revoked'"); got != 1 {
		t.Errorf("%d revoked tickets, want the voided one", got)
	}

	// Gate-2 never saw the void; central's revoke change tells it.
	if held(gate2) != 0 {
		t.Fatalf("gate-2 holds the seller's records: it was meant to be out of the mesh")
	}
	head, err = db.ManifestHead(ctx, "arena")
	if err != nil {
		t.Fatal(err)
	}
	ledgertest.WaitFor(t, 20*time.Second, "gate-2 pulled central's revoke change", func() bool { return gate2.Ledger().ManifestSeq() >= head })
	if got := scan(gate2, "G2", voided.Tickets[0].Code); got != ticket.ReasonRevoked {
		t.Errorf("gate-2, which never saw the void, after the revoke change: %s, want revoked", got)
	}
	if got := scan(gate2, "G2", sold[2].Tickets[0].Code); got != ticket.ReasonOK {
		t.Errorf("gate-2 on a sold ticket: %s", got)
	}

	// The same records once more (the shift opening, 50 sales, a void, the
	// closing): nothing changes.
	snapshot := func() string {
		return fmt.Sprint(count("SELECT COUNT(*) FROM seller_orders"), count("SELECT COUNT(*) FROM seller_payments"),
			count("SELECT COUNT(*) FROM seller_lines"), count("SELECT COUNT(*) FROM tickets"), count("SELECT COUNT(*) FROM manifest"),
			count("SELECT COUNT(*) FROM revocations"), count("SELECT COUNT(*) FROM conflicts"))
	}
	before := snapshot()
	creds, err := uplink.LoadCredentials(sellerDir)
	if err != nil {
		t.Fatal(err)
	}
	raws, err := sl.Records(sl.Identity().ID(), 1, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(uplink.PushRequest{Records: raws})
	req, _ := http.NewRequest(http.MethodPost, centralURL+uplink.PathRecords, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+creds.Credential)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var pr uplink.PushResponse
	json.NewDecoder(resp.Body).Decode(&pr)
	resp.Body.Close()
	if pr.Stored != 0 || pr.Duplicates != len(raws) || len(raws) != 53 {
		t.Errorf("re-upload of %d records: %+v", len(raws), pr)
	}
	if n, err := central.New(ccfg).Sales.Catch(ctx); err != nil || n != 0 {
		t.Errorf("reading the records again: %d read, %v", n, err)
	}
	if after := snapshot(); after != before {
		t.Errorf("a re-upload changed central: %s → %s", before, after)
	}

	// Another block on the seller's own request through its API, within
	// the limit and installed before the answer; then no more.
	askMore := func() (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+seller.APIAddr()+"/api/v1/quotas/request", strings.NewReader(`{"event":1042,"type":1}`))
		req.Header.Set("Authorization", "Bearer "+seller.Token())
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	if code, g := askMore(); code != 200 || g["serial_min"] != 1_000_000_050.0 || g["serial_max"] != 1_000_000_059.0 || g["price"] != "120.00" {
		t.Fatalf("quota request: %d %v", code, g)
	}
	if qs, _ := sl.Quotas(1042, 1); len(qs) != 2 || qs[1].Left != 10 {
		t.Errorf("after the grant was answered: quotas %+v, want the new block installed", qs)
	}
	if code, v := askMore(); code != 403 || v["reason"] != "quota_limit" {
		t.Errorf("a request beyond the limit: %d %v, want 403 quota_limit", code, v)
	}
	out = run("central", "quotas", "revoke", "--data", data, "--quota", "2", "--reason", "end of the night")
	if !strings.Contains(out, "revoked; 10 unsold serials revoked") {
		t.Errorf("quotas revoke: %s", out)
	}
	ledgertest.WaitFor(t, 20*time.Second, "the seller can no longer sell from the revoked block", func() bool {
		qs, _ := sl.Quotas(1042, 1)
		return len(qs) == 2 && qs[1].Left == 0
	})
	out = run("central", "quotas", "list", "--data", data)
	if !strings.Contains(out, "revoked (asked): end of the night") || !strings.Contains(out, "1000000000-1000000049") {
		t.Errorf("quotas list:\n%s", out)
	}
}
