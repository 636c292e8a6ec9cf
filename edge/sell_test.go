package edge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ticket"
)

// startSeller provisions a seller device with a quota of serials
// 900000.. of type 1 (Standing) of the venue's event and the event's price
// list (¥128.00; 10% off with code TEN; ¥10.00 off each from 4 tickets),
// then starts its node. Gates started after it hold its certificate.
func startSeller(t testing.TB, v *ledgertest.Venue, name string, quota uint64, join ...string) *Node {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	lcfg := v.Config(dir)
	err := ledger.Init(ledger.Provision{Dir: dir, Keys: v.Keys, Device: name, Role: ticket.RoleSeller, Venue: "arena",
		Now: time.Now().Add(-time.Hour)}, lcfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(lcfg)
	if err != nil {
		t.Fatal(err)
	}
	event := v.Spec.Events[0].ID
	cert, err := ticket.SignIssuerCert(ticket.IssuerCert{Name: name, Key: l.Identity().Cert.Key, Events: []uint64{event}, Types: []uint64{1},
		SerialMin: 900000, SerialMax: 900000 + quota - 1, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}, v.Keys.Root)
	if err != nil {
		t.Fatal(err)
	}
	if !hasChange(v, manifest.KindPrices) {
		v.Sign(manifest.KindPrices, &manifest.PriceList{Event: event, Currency: "CNY",
			Prices: []manifest.Price{{Type: 1, Amount: 12800}, {Type: 2, Amount: 18800}},
			Offers: []manifest.Offer{{ID: "ten", Name: "Ten off", Code: "TEN", OffBP: 1000},
				{ID: "group", Name: "Group of 4", Amount: 1000, MinQuantity: 4}}})
	}
	v.Sign(manifest.KindIssuer, &cert)
	v.Load(l)
	l.Close()
	cfg := DefaultConfig(dir)
	cfg.Bind, cfg.Listen, cfg.Join = "127.0.0.1:0", "127.0.0.1:0", join
	cfg.Ledger = lcfg
	cfg.Mesh = cluster.TestConfig()
	cfg.Logger = ledgertest.Logger(t, slog.LevelWarn)
	n, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func hasChange(v *ledgertest.Venue, kind manifest.Kind) bool {
	for _, raw := range v.Changes {
		if bytes.Contains(raw, []byte(`"kind":"`+string(kind)+`"`)) {
			return true
		}
	}
	return false
}

// call sends a JSON body and decodes the answer into out (when not nil),
// failing unless the status is want.
func (c client) call(method, path, body string, want int, out any) {
	c.t.Helper()
	status, data := c.do(method, path, body)
	if status != want {
		c.t.Fatalf("%s %s %s: %d %s, want %d", method, path, body, status, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
}

// refused expects an error with a reason code.
func (c client) refused(method, path, body string, status int, reason string) {
	c.t.Helper()
	var e deviceapi.Error
	c.call(method, path, body, status, &e)
	if e.Reason != reason || e.Error == "" {
		c.t.Fatalf("%s %s %s: %+v, want reason %s", method, path, body, e, reason)
	}
}

func saleBody(event uint64, qty int, payment, extra string) string {
	return fmt.Sprintf(`{"event": %d, "type": 1, "quantity": %d, "payment": %s%s}`, event, qty, payment, extra)
}

// The sales API end to end: errors with their reasons before a shift and
// beyond the quota, prices by the pricing package with offers, an
// idempotent nonce across a restart, a void refused at a gate, the shift's
// report and a difference that needs a note, and the PDF receipt.
func TestSalesAPI(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	event := v.Spec.Events[0].ID
	seller := startSeller(t, v, "seller-1", 6)
	c := client{t: t, base: "http://" + seller.APIAddr(), token: seller.Token()}
	cash := func(given string) string { return `{"method": "cash", "given": "` + given + `"}` }

	var quotas []QuotaLine
	c.call("GET", "/api/v1/quotas", "", 200, &quotas)
	if len(quotas) != 1 || quotas[0].Left != 6 || quotas[0].Price != "128.00" || quotas[0].TypeName != "Standing" {
		t.Fatalf("quotas: %+v", quotas)
	}
	c.refused("POST", "/api/v1/sales", saleBody(event, 1, cash("200.00"), ""), 409, ReasonNoShift)
	c.refused("POST", "/api/v1/shift/close", `{"counted": "0.00"}`, 409, ReasonNoShift)
	var sv ShiftView
	c.call("POST", "/api/v1/shift/open", `{"float": "200.00"}`, 200, &sv)
	if sv.Number != 1 || sv.Float != "200.00" || sv.Currency != "CNY" || !sv.Open {
		t.Fatalf("opened: %+v", sv)
	}
	c.refused("POST", "/api/v1/shift/open", `{"float": "200.00"}`, 409, ReasonShiftOpen)

	for _, tc := range []struct{ body, reason string }{
		{saleBody(event, 1, cash("100.00"), ""), ReasonCashShort},
		{saleBody(event, 1, cash("12x"), ""), ReasonBadRequest},
		{saleBody(event, 1, cash("200.001"), ""), ReasonBadRequest},
		{saleBody(event, 0, cash("200.00"), ""), ReasonBadRequest},
		{saleBody(event, 1, `{"method": "card"}`, ""), ReasonBadRequest},
		{saleBody(event, 1, `{"method": "iou", "given": "1"}`, ""), ReasonBadRequest},
		{saleBody(event, 1, cash("200.00"), `, "promo": "NOPE"`), ReasonPromo},
		{saleBody(event+1, 1, cash("200.00"), ""), ReasonNoPriceList},
		{saleBody(event, 7, cash("2000.00"), ""), ReasonQuotaExhausted},
	} {
		status := map[string]int{ReasonCashShort: 422, ReasonBadRequest: 400, ReasonPromo: 422, ReasonNoPriceList: 409, ReasonQuotaExhausted: 409}[tc.reason]
		c.refused("POST", "/api/v1/sales", tc.body, status, tc.reason)
	}

	// A quote and a sale agree; the offer with its code takes 10% off each.
	var q Quote
	c.call("GET", fmt.Sprintf("/api/v1/quote?event=%d&type=1&quantity=2&promo=ten", event), "", 200, &q)
	if q.Subtotal != "256.00" || q.Discount != "25.60" || q.Total != "230.40" || len(q.Offers) != 1 {
		t.Fatalf("quote: %+v", q)
	}
	body := saleBody(event, 2, cash("300.00"), `, "promo": "ten", "nonce": "n-1"`)
	var sold SaleAnswer
	c.call("POST", "/api/v1/sales", body, 200, &sold)
	if sold.Receipt != 1 || len(sold.Tickets) != 2 || sold.Total != "230.40" || sold.Change != "69.60" || sold.Tickets[0].Amount != "115.20" ||
		sold.Offer != "ten" || sold.Repeat {
		t.Fatalf("sold: %+v", sold)
	}
	var again SaleAnswer
	c.call("POST", "/api/v1/sales", body, 200, &again)
	if !again.Repeat || again.Receipt != 1 || again.Tickets[1].Code != sold.Tickets[1].Code {
		t.Fatalf("retried: %+v", again)
	}

	// A group of 4 gets ¥10.00 off each, automatically; card needs a ref.
	var group SaleAnswer
	c.call("POST", "/api/v1/sales", saleBody(event, 4, `{"method": "card", "ref": "T-778"}`, ""), 200, &group)
	if group.Receipt != 2 || group.Total != "472.00" || group.Change != "" || group.Ref != "T-778" {
		t.Fatalf("group sale: %+v", group)
	}
	c.refused("POST", "/api/v1/sales", saleBody(event, 1, cash("200.00"), ""), 409, ReasonQuotaExhausted)

	// A gate that hears of the sales admits a ticket; once the void
	// reaches it, it refuses the voided sale's other ticket.
	gate := startNode(t, v, "gate-1", seller.MeshAddr())
	g := client{t: t, base: "http://" + gate.APIAddr(), token: gate.Token()}
	caughtUp(t, seller, gate)
	if d := g.scan(sold.Tickets[0].Code, "G1", ""); !d.OK() {
		t.Fatalf("a ticket sold offline at the gate: %s %s", d.Reason, d.Detail)
	}
	c.refused("POST", "/api/v1/sales/1/void", `{"reason": ""}`, 400, ReasonBadRequest)
	c.refused("POST", "/api/v1/sales/9/void", `{"reason": "mistake"}`, 404, ReasonNoReceipt)
	var voided SaleAnswer
	c.call("POST", "/api/v1/sales/1/void", `{"reason": "changed their mind"}`, 200, &voided)
	if !voided.Voided {
		t.Fatalf("voided: %+v", voided)
	}
	c.refused("POST", "/api/v1/sales/1/void", `{"reason": "again"}`, 409, ReasonVoided)
	caughtUp(t, seller, gate)
	if d := g.scan(sold.Tickets[1].Code, "G1", ""); d.OK() || d.Reason != ticket.ReasonRevoked {
		t.Fatalf("a voided ticket at the gate: %s %s", d.Result, d.Reason)
	}

	// The report: float 200, cash 230.40 sold and voided, card 472.
	c.call("POST", "/api/v1/shift/cash", `{"direction": "out", "amount": "50.00", "reason": "bank run"}`, 200, &sv)
	c.call("GET", "/api/v1/shift", "", 200, &sv)
	if sv.Expected != "150.00" || sv.Sales["card"].Amount != "472.00" || sv.Voids["cash"].Amount != "230.40" || len(sv.Moves) != 1 {
		t.Fatalf("report: %+v", sv)
	}
	c.refused("POST", "/api/v1/shift/close", `{"counted": "149.00"}`, 422, ReasonNoteRequired)
	c.refused("POST", "/api/v1/shift/close", `{"count": [{"value": "3.00", "count": 1}]}`, 400, ReasonBadRequest)
	c.call("POST", "/api/v1/shift/close", `{"count": [{"value": "100.00", "count": 1}, {"value": "50.00", "count": 1}]}`, 200, &sv)
	if sv.Open || sv.Counted != "150.00" || sv.Difference != "0.00" || sv.Count != "10000x1 5000x1" {
		t.Fatalf("closed: %+v", sv)
	}

	// The receipt as a PDF, in Chinese, carries its number and the total.
	for _, path := range []string{"/api/v1/sales/2/receipt.pdf?lang=zh", "/api/v1/shifts/1/report.pdf?lang=en"} {
		status, pdf := c.do("GET", path, "")
		if status != 200 || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
			t.Fatalf("GET %s: %d %.60q", path, status, pdf)
		}
		if dir := os.Getenv("TIXGATE_SCREENS"); dir != "" {
			name := strings.NewReplacer("/", "-", "?", "-", "=", "-").Replace(strings.TrimPrefix(path, "/api/v1/"))
			os.WriteFile(filepath.Join(dir, name), pdf, 0o644)
		}
		text := pdfText(t, pdf)
		want := map[bool][]string{true: {"收据", "2", "¥472.00", "T-778", "Group of 4"}, false: {"Shift report 1", "¥150.00", "bank run"}}[strings.Contains(path, "receipt")]
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s lacks %q:\n%s", path, w, text)
			}
		}
	}

	// After a restart the nonce still finds its sale.
	dir, lcfg := seller.cfg.Dir, seller.cfg.Ledger
	seller.Close()
	cfg := DefaultConfig(dir)
	cfg.Bind, cfg.Listen, cfg.Ledger, cfg.Mesh = "127.0.0.1:0", "127.0.0.1:0", lcfg, cluster.TestConfig()
	cfg.Logger = ledgertest.Logger(t, slog.LevelWarn)
	again2, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer again2.Close()
	c = client{t: t, base: "http://" + again2.APIAddr(), token: again2.Token()}
	c.call("POST", "/api/v1/sales", body, 200, &again)
	if !again.Repeat || again.Receipt != 1 || again.Tickets[0].Code != sold.Tickets[0].Code || again.Total != "230.40" {
		t.Fatalf("retried after a restart: %+v", again)
	}
}

// pdfText is the text of a PDF, read by poppler's pdftotext.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", f, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext (poppler-utils, make deps): %v", err)
	}
	return string(out)
}

// caughtUp waits until the gate holds every record of the seller.
func caughtUp(t testing.TB, seller, gate *Node) {
	t.Helper()
	id := seller.Ledger().Identity().ID()
	ledgertest.WaitFor(t, 15*time.Second, "the seller's records reach the gate", func() bool {
		want, err1 := seller.Ledger().VersionVector()
		got, err2 := gate.Ledger().VersionVector()
		return err1 == nil && err2 == nil && got[id] == want[id]
	})
}

// Staff whose role does not sell cannot keep the till, and a gate device
// sells nothing; a gate device serves no till screen.
func TestSellingRoles(t *testing.T) {
	v := ledgertest.NewVenue(t, 5)
	seller := startSeller(t, v, "seller-1", 5)
	giveStaff(t, seller, "Gate Staff", RoleGate, "1111")
	b := &browser{t: t, base: "http://" + seller.APIAddr()}
	b.login("Gate Staff", "1111")
	var sess struct{ CSRF string }
	if err := json.NewDecoder(b.do("GET", "/api/v1/session", "", "", nil).Body).Decode(&sess); err != nil || sess.CSRF == "" {
		t.Fatalf("session: %v", err)
	}
	resp := b.do("POST", "/api/v1/shift/open", "application/json", `{"float": "1.00"}`, map[string]string{"X-CSRF-Token": sess.CSRF})
	var e deviceapi.Error
	json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != 403 || e.Reason != ReasonNotSeller {
		t.Fatalf("gate staff opening a till: %d %+v", resp.StatusCode, e)
	}

	gate := startNode(t, v, "gate-1")
	g := client{t: t, base: "http://" + gate.APIAddr(), token: gate.Token()}
	g.refused("POST", "/api/v1/shift/open", `{"float": "1.00", "currency": "CNY"}`, 403, ReasonNotSeller)
	g.refused("POST", "/api/v1/sales", saleBody(v.Spec.Events[0].ID, 1, `{"method": "card", "ref": "x"}`, ""), 403, ReasonNotSeller)
	giveStaff(t, gate, "Gate Staff", RoleGate, "1111")
	gb := &browser{t: t, base: "http://" + gate.APIAddr()}
	gb.login("Gate Staff", "1111")
	if resp := gb.do("GET", "/shift", "", "", nil); resp.StatusCode != 404 {
		t.Errorf("a gate's /shift: %d, want 404", resp.StatusCode)
	}
}
