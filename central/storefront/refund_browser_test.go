package storefront_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/pricing"
	"github.com/tixgate/tixgate/ticket"
)

// TestRefundInBrowser: a buyer asks for the refund of one ticket in the
// order page, sees the quote (the price, the fee of the event's ladder
// and why, the total back) and confirms it; the ticket is revoked at a
// gate that pulls the manifest, the other still opens it, and the buyer
// is mailed. Then the box office refunds the rest of the order with a
// reason, which the audit log keeps, and ops edit the event's rules.
// Every new screen is shot in Chinese and English at phone and desktop
// size.
func TestRefundInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: covered by the run without -short")
	}
	v := newVenue(t)
	ctx := context.Background()
	base := v.http.URL
	day := 24 * time.Hour
	ladder := pricing.RefundPolicy{FreeWithin: 48 * time.Hour, Rounding: pricing.RoundHalfEven, Ladder: []pricing.RefundStep{
		{Before: 30 * day, Fee: pricing.Percent(20)}, {Before: 7 * day, Fee: pricing.Percent(30)}, {Before: day, Fee: pricing.Percent(50)}}}
	if err := v.srv.Shop.SetRefundPolicy(ctx, "ops", 1042, ladder); err != nil {
		t.Fatal(err)
	}
	const email, pw = "zhang.min@example.org", "correct horse battery"
	a, err := v.srv.Shop.Register(ctx, shop.Registration{Email: email, Password: pw, Name: "Zhang Min"})
	if err != nil {
		t.Fatal(err)
	}
	link, err := url.Parse(verifyRE.FindString(v.mail.message(t, email, "Confirm your email")))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.srv.Shop.Verify(ctx, link.Query().Get("token")); err != nil {
		t.Fatal(err)
	}
	a, _ = v.db.AccountByEmail(ctx, email)
	o, err := v.srv.Shop.Place(ctx, a, shop.OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.srv.Shop.Pay(ctx, o.ID, shop.MethodTest); err != nil {
		t.Fatal(err)
	}
	_, tickets, err := v.srv.Shop.Order(ctx, o.ID)
	if err != nil || len(tickets) != 2 {
		t.Fatalf("order: %v, %d tickets", err, len(tickets))
	}
	// Three days later: past the free 48 hours, under 7 days to the
	// start: the 50% step.
	v.clock.Advance(3 * day)

	br := newBrowser(t)
	run, js := br.run, br.js
	run("log in", chromedp.Navigate(base+"/login?lang=en"), chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitNotPresent(chromedp.ID("login")))
	orderURL := fmt.Sprintf("/orders/%d", o.ID)
	first := tickets[0]
	run("order page", chromedp.Navigate(base+orderURL+"?lang=en"), chromedp.WaitVisible(chromedp.ID("refunds")),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#refund-tickets a[data-serial="%d"]`, first.Serial))), chromedp.WaitVisible(chromedp.ID("refund-quote")))
	if back := js(`document.getElementById("refund-back").textContent`); back != "CN¥64.00" {
		t.Errorf("the quote pays back %q, want CN¥64.00 (50%% of ¥128.00)", back)
	}
	if why := js(`document.querySelector("#refund-quote .why").textContent`); !strings.Contains(why, "50%") || !strings.Contains(why, "1 day or more") {
		t.Errorf("the quote says why %q, want the 50%% step", why)
	}
	if n := js(`String(document.querySelectorAll("#refund-quote tbody tr[data-serial]").length)`); n != "1" {
		t.Errorf("the quote shows %s tickets, want 1", n)
	}
	br.screens(base, [3]string{"refund-ticket", fmt.Sprintf("%s/refund?ticket=%d", orderURL, first.Serial), "#refund-confirm"},
		[3]string{"refund-order", orderURL + "/refund", "#refund-confirm"}, [3]string{"order-refundable", orderURL, "#refunds"})
	run("confirm", chromedp.Navigate(base+fmt.Sprintf("%s/refund?ticket=%d&lang=en", orderURL, first.Serial)), chromedp.WaitVisible(chromedp.ID("refund-confirm")),
		chromedp.Click(chromedp.ID("refund-confirm")), chromedp.WaitVisible(chromedp.ID("done")))
	if st := js(`document.getElementById("status").dataset.status`); st != "paid" {
		t.Errorf("after refunding one of two tickets the order is %s, want paid", st)
	}
	if n := js(`String(document.querySelectorAll("#order-tickets img.qr").length)`); n != "1" {
		t.Errorf("%s QR codes after the refund, want 1 (the refunded ticket's is gone)", n)
	}
	br.screens(base, [3]string{"order-refunded", orderURL + "?done=refunded", "#refunds"})
	gateSays(t, v, first.Code, ticket.ReasonRevoked)
	gateSays(t, v, tickets[1].Code, ticket.ReasonOK)
	if mail := v.mail.message(t, email, "Refund of order"); !strings.Contains(mail, "64.00") || !strings.Contains(mail, strconv.FormatUint(first.Serial, 10)) {
		t.Errorf("the refund mail: %q", mail)
	}
	// The same ticket's quote now says it is refunded; no form.
	run("again", chromedp.Navigate(base+fmt.Sprintf("%s/refund?ticket=%d&lang=en", orderURL, first.Serial)), chromedp.WaitVisible(chromedp.ID("refused")))
	if js(`String(!!document.getElementById("refund-confirm"))`) != "false" {
		t.Error("a refunded ticket's quote offers to refund it again")
	}

	// The buyer exchanges the other ticket: for the dearer balcony they
	// are sent to the box office; for a cheaper type they get ¥30.00 back.
	if err := v.srv.Shop.PutOffer(ctx, shop.Offer{Event: 1042, Type: 3, Price: pricing.New(9800, pricing.CNY), Quota: 5}); err != nil {
		t.Fatal(err)
	}
	second := tickets[1]
	exURL := fmt.Sprintf("%s/exchange?ticket=%d", orderURL, second.Serial)
	run("exchange", chromedp.Navigate(base+orderURL+"?lang=en"), chromedp.WaitVisible(chromedp.ID("refunds")),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#refund-tickets a.exchange[data-serial="%d"]`, second.Serial))), chromedp.WaitVisible(chromedp.ID("exchange-pick")))
	run("pick", chromedp.Click(chromedp.CSS(`#exchange-pick input[name="to"][value="2"]`)), chromedp.Click(chromedp.ID("exchange-price")))
	run("pick", chromedp.WaitVisible(chromedp.ID("pay-at-counter")))
	if total := js(`document.getElementById("exchange-total").textContent`); total != "CN¥252.00" {
		t.Errorf("the dearer exchange costs %q, want CN¥252.00", total)
	}
	br.screens(base, [3]string{"exchange-pick", exURL, "#exchange-price"}, [3]string{"exchange-dearer", exURL + "&to=2", "#pay-at-counter"},
		[3]string{"exchange-cheaper", exURL + "&to=3", "#exchange-confirm"})
	run("exchange cheaper", chromedp.Navigate(base+exURL+"&to=3&lang=en"), chromedp.WaitVisible(chromedp.ID("exchange-confirm")),
		chromedp.Click(chromedp.ID("exchange-confirm")), chromedp.WaitVisible(chromedp.ID("done")))
	_, after, _ := v.srv.Shop.Order(ctx, o.ID)
	var swapped *store.Ticket
	for i := range after {
		if after[i].Type == 3 {
			swapped = &after[i]
		}
	}
	if swapped == nil || len(after) != 3 {
		t.Fatalf("after the exchange the order holds %+v", after)
	}
	gateSays(t, v, second.Code, ticket.ReasonRevoked)
	gateSays(t, v, swapped.Code, ticket.ReasonOK)

	// The box office upgrades it to the balcony, taking the difference at
	// the counter, then refunds the rest with a reason.
	if err := v.srv.Accounts.Add(ctx, "clerk", staff.BoxOffice, "correct horse staple", "test"); err != nil {
		t.Fatal(err)
	}
	run("clerk logs in", chromedp.Navigate(base+"/ops/login?lang=en"), chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("name"), "clerk"), chromedp.SendKeys(chromedp.ID("password"), "correct horse staple"),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitNotPresent(chromedp.ID("login")))
	opsEx := fmt.Sprintf("/ops/orders/%d/exchange?ticket=%d&to=2", o.ID, swapped.Serial)
	br.screens(base, [3]string{"ops-exchange", opsEx, "#exchange-submit"})
	run("upgrade", chromedp.Navigate(base+opsEx+"&lang=en"), chromedp.WaitVisible(chromedp.ID("exchange-submit")),
		chromedp.SendKeys(chromedp.ID("reason"), "upgrade at the counter"), chromedp.Click(chromedp.ID("exchange-submit")), chromedp.WaitVisible(chromedp.ID("error")))
	run("upgrade paid", chromedp.Click(chromedp.ID("paid-at-counter")), chromedp.Click(chromedp.ID("exchange-submit")), chromedp.WaitVisible(chromedp.ID("done")))
	// The clerk's refund form shows the same quote the buyer sees.
	run("find the order", chromedp.Navigate(base+fmt.Sprintf("/ops/orders?order=%d&lang=en", o.ID)), chromedp.WaitVisible(chromedp.ID("refund-order")),
		chromedp.Click(chromedp.ID("refund-order")), chromedp.WaitVisible(chromedp.ID("refund-quote")))
	if back := js(`document.getElementById("refund-back").textContent`); back != "CN¥190.00" {
		t.Errorf("the box office's quote pays back %q, want CN¥190.00 (the balcony's ¥380.00 less 50%%)", back)
	}
	br.screens(base, [3]string{"ops-boxoffice-refundable", fmt.Sprintf("/ops/orders?order=%d", o.ID), "#refund-order"},
		[3]string{"ops-refund", fmt.Sprintf("/ops/orders/%d/refund", o.ID), "#refund-submit"})
	// The balcony ticket is scanned in at a gate and reconciled: now the
	// clerk may not refund it; an admin (the supervisor) may approve it.
	_, after, _ = v.srv.Shop.Order(ctx, o.ID)
	var balcony store.Ticket
	for _, tk := range after {
		if tk.Type == 2 && tk.Status == "valid" {
			balcony = tk
		}
	}
	scanAndPush(t, v, balcony.Code, "B1") // the balcony's gate
	run("scanned in", chromedp.Navigate(base+fmt.Sprintf("/ops/orders/%d/refund?lang=en", o.ID)), chromedp.WaitVisible(chromedp.ID("supervisor-needed")))
	if js(`String(!!document.getElementById("refund-submit"))`) != "false" {
		t.Error("the clerk is offered to refund a scanned-in ticket")
	}
	br.screens(base, [3]string{"ops-refund-used", fmt.Sprintf("/ops/orders/%d/refund", o.ID), "#supervisor-needed"})
	if err := v.srv.Accounts.Add(ctx, "boss", staff.Admin, "correct horse admin", "test"); err != nil {
		t.Fatal(err)
	}
	run("admin logs in", chromedp.Navigate(base+"/ops/login?lang=en"), chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("name"), "boss"), chromedp.SendKeys(chromedp.ID("password"), "correct horse admin"),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitNotPresent(chromedp.ID("login")))
	br.screens(base, [3]string{"ops-refund-supervisor", fmt.Sprintf("/ops/orders/%d/refund", o.ID), "#supervisor"})
	run("without approval", chromedp.Navigate(base+fmt.Sprintf("/ops/orders/%d/refund?lang=en", o.ID)), chromedp.WaitVisible(chromedp.ID("supervisor")),
		chromedp.SendKeys(chromedp.ID("reason"), "the buyer cannot come"), chromedp.Click(chromedp.ID("refund-submit")), chromedp.WaitVisible(chromedp.ID("error")))
	run("with approval", chromedp.Click(chromedp.ID("supervisor")), chromedp.Click(chromedp.ID("refund-submit")), chromedp.WaitVisible(chromedp.ID("done")))
	if st := js(`document.getElementById("status").dataset.status`); st != "cancelled" {
		t.Errorf("after the box office refunded the rest: %s, want cancelled", st)
	}
	br.screens(base, [3]string{"ops-boxoffice-refunded", fmt.Sprintf("/ops/orders?order=%d&done=boxoffice.refunded", o.ID), "#refunds"})
	audit, _ := v.db.AuditLog(ctx, 5)
	if len(audit) == 0 || audit[0].Action != "order.refund" || audit[0].Actor != "boss" || !strings.Contains(audit[0].Detail, "the buyer cannot come") ||
		!strings.Contains(audit[0].Detail, "approved by a supervisor") {
		t.Errorf("the audit log does not keep the supervisor's refund: %+v", audit)
	}
	for _, tk := range after {
		if tk.Type == 2 {
			if got, _ := v.db.Ticket(ctx, tk.Event, tk.Serial); got.Status != "revoked" {
				t.Errorf("the balcony ticket is %s after its refund", got.Status)
			}
			continue // its gate is the balcony's, which gateSays does not play
		}
		gateSays(t, v, tk.Code, ticket.ReasonRevoked)
	}

	// Ops edit the refund rules.
	br.screens(base, [3]string{"ops-refund-rules", "/ops/events/1042/refunds", "#save-policy"})
	run("edit the rules", chromedp.Navigate(base+"/ops/events/1042/refunds?lang=en"), chromedp.WaitVisible(chromedp.ID("p-ladder")),
		chromedp.SetValue(chromedp.ID("p-ladder"), "14 10%\n2 40%"), chromedp.SetValue(chromedp.ID("p-free"), "24"),
		chromedp.Click(chromedp.ID("p-used")), chromedp.Click(chromedp.ID("save-policy")), chromedp.WaitVisible(chromedp.ID("done")))
	p, err := v.srv.Shop.RefundPolicy(ctx, 1042)
	if err != nil || p.FreeWithin != 24*time.Hour || !p.RefundUsed || len(p.Ladder) != 2 || p.Ladder[0] != (pricing.RefundStep{Before: 14 * day, Fee: pricing.Percent(10)}) ||
		p.Ladder[1] != (pricing.RefundStep{Before: 2 * day, Fee: pricing.Percent(40)}) {
		t.Errorf("the rules saved: %+v, %v", p, err)
	}
	// The event is cancelled: the admin refunds everyone at once.
	o2, err := v.srv.Shop.Place(ctx, a, shop.OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.srv.Shop.Pay(ctx, o2.ID, shop.MethodTest); err != nil {
		t.Fatal(err)
	}
	run("refund everyone", chromedp.Navigate(base+"/ops/events/1042/refunds?lang=en"), chromedp.WaitVisible(chromedp.ID("ra-reason")),
		chromedp.SendKeys(chromedp.ID("ra-reason"), "the concert is cancelled"), chromedp.Click(chromedp.ID("ra-confirm")),
		chromedp.Click(chromedp.ID("refund-all")), chromedp.WaitVisible(chromedp.ID("refund-all-progress")))
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if p, _ := v.srv.Shop.EventRefundProgress(1042); !p.Running {
			break
		}
	}
	br.screens(base, [3]string{"ops-refund-all", "/ops/events/1042/refunds", "#refund-all-progress"})
	if got := js(`document.getElementById("refund-all-progress").textContent`); !strings.Contains(got, "1 of 1 orders refunded") {
		t.Errorf("the progress says %q", got)
	}
	if got, _, _ := v.srv.Shop.Order(ctx, o2.ID); got.Status != shop.StatusCancelled {
		t.Errorf("after refunding everyone the order is %s", got.Status)
	}
	if rs, _ := v.db.Refunds(ctx, o2.ID); len(rs) != 1 || rs[0].Amount != 3*12800 || rs[0].Fee != 0 {
		t.Errorf("the cancelled event's refund: %+v, want ¥384.00 in full", rs)
	}
	run("bad rules", chromedp.Navigate(base+"/ops/events/1042/refunds?lang=en"), chromedp.WaitVisible(chromedp.ID("p-ladder")), chromedp.SetValue(chromedp.ID("p-ladder"), "2 10%\n14 40%"), chromedp.Click(chromedp.ID("save-policy")), chromedp.WaitVisible(chromedp.ID("error")))
	if msg := js(`document.getElementById("error").textContent`); !strings.Contains(msg, "not shorter") {
		t.Errorf("a ladder out of order says %q", msg)
	}
}

// scanAndPush scans code at gate (a device of the venue that pulled central's
// manifest), and hands the gate's records to central as an upload does
// after intake verified them: central then knows the ticket was used.
func scanAndPush(t *testing.T, v *venue, code, gate string) {
	t.Helper()
	var buf bytes.Buffer
	v.db.Changes(context.Background(), "arena", 0, 0, func(c store.Change) error { buf.Write(c.Line); buf.WriteByte('\n'); return nil })
	dir := t.TempDir()
	lcfg := ledger.TestConfig(dir)
	lcfg.Clock, lcfg.Logger = ticket.NewManualClock(concert), quiet()
	if err := ledger.Init(ledger.Provision{Dir: dir, Keys: v.keys, Device: fmt.Sprintf("gate-%d", gates.Add(1)), Venue: "arena", Now: concert.Add(-time.Hour)}, lcfg); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(lcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Import(context.Background(), &buf, nil); err != nil {
		t.Fatal(err)
	}
	if d, err := l.Decide(context.Background(), ledger.Scan{Text: code, Gate: gate, Direction: rules.In}); err != nil || d.Reason != ticket.ReasonOK {
		t.Fatalf("scan: %s, %v", d.Reason, err)
	}
	raws, err := l.Records(l.Identity().Cert.ID(), 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	var rows []store.Record
	for _, raw := range raws {
		r, err := record.Unmarshal(raw)
		if err != nil {
			t.Fatal(err)
		}
		h := record.HashOf(raw)
		var prev []byte
		if r.Seq > 1 {
			prev = r.Prev[:]
		}
		rows = append(rows, store.Record{Origin: r.Origin.String(), Seq: r.Seq, Hash: h[:], Prev: prev, Raw: raw, Kind: int(r.Kind),
			Event: r.Event, Serial: r.Serial, Type: r.Type, Gate: r.Gate, Zone: r.Zone, At: r.HLC.Time()})
	}
	if _, err := v.db.StoreRecords(context.Background(), rows, concert, "gate"); err != nil {
		t.Fatal(err)
	}
}
