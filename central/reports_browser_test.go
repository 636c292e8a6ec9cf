package central

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
)

// The sales screen in headless Chromium: an auditor sees the period's
// tickets by type and by channel as bars and a table, downloads the same
// as CSV with the session, and the funnel; in Chinese and English at phone
// and desktop size.
func TestSalesScreenInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: covered by the run without -short")
	}
	ctx := context.Background()
	f := newFixture(t, "")
	now := time.Now().UTC()
	f.clock.Set(now) // cookies expire by the browser's clock
	if err := f.srv.Accounts.Add(ctx, "au", staff.Auditor, "correct horse battery", "test"); err != nil {
		t.Fatal(err)
	}
	err := f.db.Update(ctx, func(tx *store.Tx) error {
		for i, fc := range []store.SaleFact{
			{Type: 1, Channel: store.ChannelOnline, Method: "alipay", Amount: 28000},
			{Type: 1, Channel: store.ChannelOnline, Method: "wechat", Amount: 28000},
			{Type: 1, Channel: store.ChannelSeller, Method: "cash", Amount: 25000},
			{Type: 2, Channel: store.ChannelBoxOffice, Method: "card", Amount: 68000},
		} {
			fc.Event, fc.Serial, fc.Currency, fc.SoldAt = 1042, uint64(i+1), "CNY", now.Add(-time.Duration(i+1)*time.Hour)
			fc.Day, fc.Hour = store.LocalDayHour("UTC", fc.SoldAt)
			if err := tx.AddSaleFact(fc); err != nil {
				return err
			}
		}
		return tx.RefundFact(1042, 3, 25000, now)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, step := range []string{"view", "view", "view", "cart", "cart", "checkout", "payment"} {
		visitor := []string{"a", "b", "c", "a", "b", "a", "a"}[i]
		if err := f.db.AddFunnelStep(ctx, 1042, step, visitor, now.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowser(t)
	base := f.http.URL
	b.run("log in", chromedp.Navigate(base+"/ops/login?lang=en"), chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("name"), "au"), chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("n-conflicts")))
	b.run("sales", chromedp.Navigate(base+"/ops/sales?lang=en"), chromedp.WaitVisible(chromedp.ID("sales-table")))
	rows := b.js(`[...document.querySelectorAll("#sales-table tbody tr")].map(r => [...r.cells].map(c => c.innerText).join(" | ")).join("\n")`)
	want := "Standing | 3 | CN¥810.00 | 1 · CN¥250.00 | 33.3% | 0 | 2\nBalcony | 1 | CN¥680.00 | 0 · CN¥0.00 | 0.0% | 0 | 1"
	if rows != want {
		t.Errorf("by type:\n%s\nwant\n%s", rows, want)
	}
	if bars := b.js(`[...document.querySelectorAll("#sales-chart rect")].map(r => r.getAttribute("width")).join(",")`); bars != "100.0,84.0" {
		t.Errorf("bars %s, want 100.0,84.0", bars)
	}
	if fun := b.js(`[...document.querySelectorAll("#funnel tbody tr")].map(r => r.cells[1].innerText + "/" + r.cells[2].innerText).join(" ")`); fun != "3/ 2/67% 1/50% 1/100%" {
		t.Errorf("funnel %q", fun)
	}
	csv := b.js(`(() => { const x = new XMLHttpRequest(); x.open("GET", document.getElementById("csv").href, false); x.send(); return x.responseText })()`)
	if !strings.HasPrefix(csv, "type,name,currency,tickets") || !strings.Contains(csv, "1042/1,Standing,CNY,3,81000,1,25000,0,2") {
		t.Errorf("csv through the session:\n%s", csv)
	}
	b.run("by channel", chromedp.SetValue(chromedp.ID("by"), "channel"), chromedp.Click(chromedp.ID("show")))
	// The old page's table is there until the new one has loaded.
	for i := 0; i < 200 && b.js(`String(location.search.includes("by=channel") && document.readyState === "complete" && !!document.getElementById("sales-table"))`) != "true"; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if rows := b.js(`[...document.querySelectorAll("#sales-table tbody tr")].map(r => r.cells[0].innerText).join(",")`); rows != "Box office,Online,Roaming sellers" {
		t.Errorf("by channel: %s", rows)
	}
	b.run("bad period", chromedp.Navigate(base+"/ops/sales?from=2026-13-01"), chromedp.WaitVisible(chromedp.ID("error")))
	b.screens(base, [3]string{"/ops/sales", "#sales-table", "sales"}, [3]string{"/ops/sales?by=channel", "#sales-table", "sales-channel"})
}
