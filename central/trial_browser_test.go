package central

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/devices"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/uplink"
)

// TestOpsDevicesTicketsInBrowser is what a new user saw on the ops
// screens: a seller enrolled but never started is offline and never
// synced, a revoked gate says revoked (not its last "syncing"), uplink
// states and conflict details are in Chinese, entry rules in words, and a
// ticket entered twice shows its records and its conflict, by a short ID
// that links to the whole.
func TestOpsDevicesTicketsInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: covered by the run without -short")
	}
	ctx := context.Background()
	f := newFixture(t, "")
	now := time.Now().UTC()
	f.clock.Set(now) // cookies expire by the browser's clock
	key1, dev1 := f.enroll("gate-1", "G1")
	key2, dev2 := f.enroll("gate-2", "G2")
	till, err := f.srv.Devices.Add(ctx, devices.Device{Name: "till-1", Role: ticket.RoleSeller, Venue: "arena"})
	if err != nil {
		t.Fatal(err)
	}
	tillKey, _ := ticket.GenerateKey(nil)
	if _, err := uplink.Enroll(ctx, nil, f.http.URL, uplink.EnrollRequest{Token: till.Token, Key: ticket.PublicOf(tillKey), Version: "test", Hardware: "test"}); err != nil {
		t.Fatal(err)
	}
	ts, err := f.srv.Catalog.IssueTickets(ctx, catalog.Issue{Event: 1042, Type: 1, Count: 2, Holder: "李雷"})
	if err != nil {
		t.Fatal(err)
	}
	serial := ts[0].Serial
	at := now.Add(-10 * time.Minute)
	pushStatus(t, f.http.URL, dev1.Credential, uplink.Status{Time: now, State: uplink.StateOK}, entries(t, key1, 1042, []uint64{serial}, "G1", 1, at))
	pushStatus(t, f.http.URL, dev2.Credential, uplink.Status{Time: now, State: uplink.StateSyncing}, entries(t, key2, 1042, []uint64{serial}, "G2", 1, at.Add(time.Minute)))
	var conflict store.Conflict
	waitUntil(t, 10*time.Second, "the double entry found", func() bool {
		cs, err := f.db.TicketConflicts(ctx, store.ConflictFilter{State: "open", Kind: "double_entry"})
		if err != nil || len(cs) != 1 {
			return false
		}
		conflict = cs[0]
		return true
	})
	if _, err := f.srv.Catalog.RevokeDeviceAs(ctx, "test", "gate-2", "lost"); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Accounts.Add(ctx, "mei", staff.Ops, "correct horse battery", "test"); err != nil {
		t.Fatal(err)
	}
	zh := f.srv.UI.Site().Catalogs["zh"]

	b := newBrowser(t)
	base := f.http.URL
	b.run("log in", chromedp.Navigate(base+"/ops/login?lang=zh"), chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("name"), "mei"), chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("n-conflicts")))
	if n := b.js(`document.getElementById("n-online").textContent`); n != "1/2" {
		t.Errorf("devices online %s, want 1/2: gate-1 synced, till-1 never, gate-2 revoked", n)
	}
	if u := b.js(`document.getElementById("updated").textContent`); strings.Count(u, "Europe/Berlin") != 1 {
		t.Errorf("updated %q: the venue's zone once", u)
	}

	b.run("devices", chromedp.Navigate(base+"/ops/devices?lang=zh"), chromedp.WaitVisible(chromedp.ID("devices")))
	row := func(name string) (pill, text string) {
		return b.js(fmt.Sprintf(`document.querySelector("#device-%s .pill").textContent`, name)),
			b.js(fmt.Sprintf(`document.querySelector("#device-%s").textContent`, name))
	}
	if pill, text := row("till-1"); pill != zh["device.status.enrolled"] || !strings.Contains(text, zh["device.never_synced"]) || strings.Contains(text, zh["device.online"]) {
		t.Errorf("till-1, never started: %q in %q, want offline and never synced", pill, text)
	}
	if pill, text := row("gate-2"); pill != zh["device.status.revoked"] || strings.Contains(text, "syncing") || strings.Contains(text, zh["uplink.syncing"]) {
		t.Errorf("gate-2, revoked: %q in %q, want revoked and no uplink state", pill, text)
	}
	if pill, text := row("gate-1"); pill != zh["device.online"] || !strings.Contains(text, zh["uplink.ok"]) || strings.Contains(text, " ok") {
		t.Errorf("gate-1: %q in %q, want online and its state in Chinese", pill, text)
	}

	b.run("event", chromedp.Navigate(base+"/ops/events/1042?lang=en"), chromedp.WaitVisible(chromedp.ID("types")))
	rulesText := b.js(`Array.from(document.querySelectorAll("#types td.rule")).map(e => e.textContent).join("|")`)
	if !strings.Contains(rulesText, "single entry") || !strings.Contains(rulesText, "re-entry after an exit") || strings.Contains(rulesText, "{") {
		t.Errorf("entry rules %q, want them in words", rulesText)
	}

	hist := fmt.Sprintf("#history-1042-%d", serial)
	b.run("the ticket", chromedp.Navigate(base+fmt.Sprintf("/ops/tickets?event=1042&serial=%d&lang=en", serial)), chromedp.WaitVisible(chromedp.CSS(hist)))
	recs := b.js(fmt.Sprintf(`Array.from(document.querySelectorAll("%s .records tbody tr")).map(e => e.textContent).join("|")`, hist))
	berlin := mustZone(t, "Europe/Berlin")
	for _, want := range []string{"G1", "G2", "gate-1", "gate-2", at.In(berlin).Format("15:04:05"), at.Add(time.Minute).In(berlin).Format("15:04:05"), "entry"} {
		if !strings.Contains(recs, want) {
			t.Errorf("the ticket's records %q lack %q", recs, want)
		}
	}
	cid := b.js(fmt.Sprintf(`document.querySelector("%s a.cid").textContent`, hist))
	href := b.js(fmt.Sprintf(`document.querySelector("%s a.cid").getAttribute("href")`, hist))
	if cid != conflict.ID[:8] || href != "/ops/conflicts#"+conflict.ID {
		t.Errorf("the ticket's conflict shown %q linking to %q, want %q to #%s", cid, href, conflict.ID[:8], conflict.ID)
	}
	if d := b.js(fmt.Sprintf(`document.querySelector("%s .ticket-conflicts .detail").textContent`, hist)); !strings.HasPrefix(d, "Entry at gate G2 by gate-2 at ") {
		t.Errorf("the conflict's detail in English: %q", d)
	}
	if n := b.js(fmt.Sprintf(`String(document.querySelectorAll("#ticket-1042-%d a.pill.open").length)`, serial)); n != "1" {
		t.Errorf("the ticket's row marks %s open conflicts, want 1", n)
	}

	b.run("conflicts", chromedp.Navigate(base+"/ops/conflicts?lang=zh"), chromedp.WaitVisible(chromedp.CSS("section.conflict")))
	detail := b.js(fmt.Sprintf(`document.getElementById(%q).querySelector(".detail").textContent`, conflict.ID))
	if !strings.Contains(detail, zh["reason.already_used"]) || !strings.Contains(detail, "gate-2") || strings.Contains(detail, "already") || strings.Contains(detail, "entered") {
		t.Errorf("the conflict's detail in Chinese: %q", detail)
	}
	b.screens(base,
		[3]string{"/ops/", "#n-online", "trial-dashboard"},
		[3]string{"/ops/devices", "#devices", "trial-devices"},
		[3]string{"/ops/events/1042", "#types", "trial-event"},
		[3]string{fmt.Sprintf("/ops/tickets?event=1042&serial=%d", serial), hist, "trial-ticket"},
		[3]string{"/ops/conflicts", "section.conflict", "trial-conflicts"},
	)
	// Resolved, the conflict is in the audit log by its short ID, which
	// leads to it among all the conflicts.
	b.run("resolve", chromedp.Navigate(base+"/ops/conflicts?lang=en"), chromedp.WaitVisible(chromedp.CSS("section.conflict")),
		chromedp.Click(chromedp.CSS("section.conflict button[value=confirm]")), chromedp.WaitVisible(chromedp.ID("done")))
	b.run("audit", chromedp.Navigate(base+"/ops/audit?lang=en"), chromedp.WaitVisible(chromedp.ID("audit")))
	cid = b.js(`document.querySelector("#audit a.cid").textContent`)
	if href := b.js(`document.querySelector("#audit a.cid").getAttribute("href")`); cid != conflict.ID[:8] || href != "/ops/conflicts?state=all#"+conflict.ID {
		t.Errorf("the audit log shows the conflict as %q linking to %q", cid, href)
	}
	b.run("follow", chromedp.Click(chromedp.CSS("#audit a.cid")), chromedp.WaitVisible(chromedp.ID(conflict.ID)))
	if st := b.js(fmt.Sprintf(`document.getElementById(%q).dataset.state`, conflict.ID)); st != "resolved" {
		t.Errorf("the linked conflict is %q, want resolved", st)
	}
	b.screens(base, [3]string{"/ops/audit", "#audit", "trial-audit"})
}
