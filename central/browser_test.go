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

// TestOpsScreens logs in to the ops screens in headless Chromium, sees
// the venue's dashboard count the conflicts two partitioned gates made,
// resolves one, and screenshots every screen at phone and desktop size in
// Chinese and English (to $TIXGATE_SCREENS when set), checking that none
// is wider than its window.
func TestOpsScreens(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: covered by the run without -short")
	}
	ctx := context.Background()
	f := newFixture(t, "")
	f.clock.Set(time.Now().UTC()) // cookies expire by the browser's clock
	key1, dev1 := f.enroll("gate-1", "G1")
	key2, dev2 := f.enroll("gate-2", "G2")
	at := f.clock.Now().Add(-time.Hour)
	pushTo(t, f.http.URL, dev1.Credential, chain(t, key1, 6, at))
	pushTo(t, f.http.URL, dev2.Credential, chain(t, key2, 3, at.Add(time.Minute)))
	if err := f.srv.Accounts.Add(ctx, "mei", staff.Ops, "correct horse battery", "test"); err != nil {
		t.Fatal(err)
	}

	br := newBrowser(t)
	run, js, shot := br.run, br.js, br.shot
	base := f.http.URL
	each := func(fn func(lang, size string)) {
		for _, lang := range []string{"zh", "en"} {
			for _, s := range screenSizes {
				run("viewport", chromedp.EmulateViewport(s.w, s.h, s.opts...))
				fn(lang, s.name)
			}
		}
	}

	// Without a session every screen leads to the login.
	run("dashboard without a session", chromedp.Navigate(base+"/ops/conflicts"), chromedp.WaitVisible(chromedp.ID("login")))
	url := js("location.href")
	if !strings.HasSuffix(url, "/ops/login") {
		t.Fatalf("without a session: at %s, want the login", url)
	}
	each(func(lang, size string) {
		run("login page", chromedp.Navigate(base+"/ops/login?lang="+lang), chromedp.WaitVisible(chromedp.ID("login")))
		shot(lang, size, "login")
	})
	run("a wrong password", chromedp.SendKeys(chromedp.ID("name"), "mei"), chromedp.SendKeys(chromedp.ID("password"), "wrong horse battery"),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("error")))
	msg := js(`document.getElementById("error").textContent`)
	if want := f.srv.UI.Site().Catalogs["en"]["login.error.bad"]; msg != want {
		t.Errorf("a wrong password says %q, want %q", msg, want)
	}
	shot("en", "desktop", "login-error")
	run("log in", chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("n-conflicts")))
	n := js(`document.getElementById("n-conflicts").textContent`)
	if n != "3" {
		t.Errorf("the dashboard counts %q open conflicts, want 3", n)
	}
	if n := js(`String(document.querySelectorAll("#latest-conflicts li a").length)`); n != "3" {
		t.Errorf("the dashboard lists %s open conflicts, want 3", n)
	}
	each(func(lang, size string) {
		for _, screen := range []struct{ path, ready string }{{"/ops/", "#n-conflicts"}, {"/ops/conflicts", "section.conflict"}, {"/ops/devices", "#devices"}} {
			run(screen.path, chromedp.Navigate(base+screen.path+"?lang="+lang), chromedp.WaitVisible(chromedp.CSS(screen.ready)))
			shot(lang, size, strings.Trim(strings.TrimPrefix(screen.path, "/ops"), "/")+map[bool]string{true: "dashboard"}[screen.path == "/ops/"])
		}
	})
	// Resolve the first conflict: it leaves the open list, and the store
	// holds who and when.
	run("resolve", chromedp.Navigate(base+"/ops/conflicts?lang=en"), chromedp.WaitVisible(chromedp.CSS("section.conflict")))
	id := js(`document.querySelector("section.conflict").id`)
	run("resolve",
		chromedp.SendKeys(chromedp.CSS("section.conflict input[name=note]"), "staff let them back in"),
		chromedp.Click(chromedp.CSS("section.conflict button[value=confirm]")), chromedp.WaitVisible(chromedp.ID("done")))
	shot("en", "desktop", "conflicts-resolved")
	c, err := f.db.Conflict(ctx, id)
	if err != nil || c.Resolution != "confirm" || c.ResolvedBy != "mei" || c.Note != "staff let them back in" {
		t.Fatalf("conflict %s after the click: %+v, %v", id, c, err)
	}
	if open, err := f.db.TicketConflicts(ctx, store.ConflictFilter{State: "open"}); err != nil || len(open) != 2 {
		t.Errorf("%d open after one resolved, %v; want 2", len(open), err)
	}
	run("dark phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Navigate(base+"/ops/conflicts?state=all&theme=dark&lang=zh"), chromedp.WaitVisible(chromedp.CSS("section.conflict")))
	shot("zh", "phone", "conflicts-dark")
	run("log out", chromedp.Navigate(base+"/ops/?theme=light"), chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login")))
}
