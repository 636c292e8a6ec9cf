package central

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/uplink"
)

// The devices screen suspends, resumes and rolls a device for ops; an
// auditor sees the devices and no button. Screenshot in both languages at
// both sizes with one device suspended and one asked to roll.
func TestOpsDeviceSuspendRollInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: covered by the run without -short")
	}
	ctx := context.Background()
	f := newFixture(t, "")
	f.clock.Set(time.Now().UTC()) // cookies expire by the browser's clock
	_, dev1 := f.enroll("gate-1", "G1")
	_, dev2 := f.enroll("gate-2", "G2")
	if err := f.srv.Accounts.Add(ctx, "mei", staff.Ops, "correct horse battery", "test"); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Accounts.Add(ctx, "olga", staff.Auditor, "correct horse battery", "test"); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	base := f.http.URL
	login := func(name string) {
		b.run("log in "+name, chromedp.Navigate(base+"/ops/login?lang=en"), chromedp.WaitVisible(chromedp.ID("login")),
			chromedp.SendKeys(chromedp.ID("name"), name), chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
			chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("n-conflicts")))
	}
	login("mei")
	b.run("suspend gate-2", chromedp.Navigate(base+"/ops/devices?lang=en"), chromedp.WaitVisible(chromedp.ID("devices")),
		chromedp.Click(chromedp.CSS("#device-gate-2 details.suspend summary")),
		chromedp.SendKeys(chromedp.CSS("#device-gate-2 details.suspend input[name=reason]"), "under investigation"),
		chromedp.Click(chromedp.CSS("#device-gate-2 details.suspend button")), chromedp.WaitVisible(chromedp.ID("done")))
	if d, err := f.db.DeviceByName(ctx, "gate-2"); err != nil || d.Suspended.IsZero() || d.SuspendReason != "under investigation" {
		t.Fatalf("gate-2 after suspending: %+v, %v", d, err)
	}
	if code, ecode, _ := f.call(http.MethodGet, uplink.PathAcks, dev2.Credential, nil); code != http.StatusForbidden || ecode != uplink.ErrCodeDeviceSuspended {
		t.Errorf("suspended gate-2's acks: %d %s", code, ecode)
	}
	if b.js(`document.querySelector("#device-gate-2 .pill").textContent`) != "suspended" {
		t.Errorf("gate-2's row: %s", b.js(`document.getElementById("device-gate-2").textContent`))
	}
	b.run("roll gate-1", chromedp.Click(chromedp.CSS("#device-gate-1 button[name=roll]")))
	// The roll's own page loads before the next navigation, which it
	// would abort.
	waitUntil(t, 10*time.Second, "the roll's page", func() bool {
		done, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`location.search.includes("done=devices.rolled") && document.readyState === "complete"`))
		return err == nil && done // an error: the page is changing
	})
	waitUntil(t, 10*time.Second, "gate-1 asked to roll", func() bool {
		d, _ := f.db.DeviceByName(ctx, "gate-1")
		return !d.RollRequested.IsZero()
	})
	b.run("after the roll", chromedp.Navigate(base+"/ops/devices?lang=en"), chromedp.WaitVisible(chromedp.ID("devices")))
	if _, _, h := f.call(http.MethodGet, uplink.PathAcks, dev1.Credential, nil); h.Get(uplink.HeaderRollCredential) != "1" {
		t.Error("gate-1 is not told to roll")
	}
	if n := b.js(`String(document.querySelectorAll("#device-gate-1 button[name=roll]").length)`); n != "0" {
		t.Errorf("a roll already asked is offered again (%s buttons)", n)
	}
	for _, lang := range []string{"zh", "en"} {
		for _, s := range screenSizes {
			b.run("viewport", chromedp.EmulateViewport(s.w, s.h, s.opts...))
			b.run("devices", chromedp.Navigate(base+"/ops/devices?lang="+lang), chromedp.WaitVisible(chromedp.ID("devices")))
			b.shot(lang, s.name, "devices-suspended")
		}
	}
	b.run("viewport", chromedp.EmulateViewport(1280, 800))
	b.run("resume gate-2", chromedp.Navigate(base+"/ops/devices?lang=en"), chromedp.WaitVisible(chromedp.ID("devices")),
		chromedp.Click(chromedp.CSS("#device-gate-2 button[name=resume]")), chromedp.WaitVisible(chromedp.ID("done")))
	waitUntil(t, 10*time.Second, "gate-2 resumed", func() bool {
		d, _ := f.db.DeviceByName(ctx, "gate-2")
		return d.Suspended.IsZero()
	})
	if code, _, _ := f.call(http.MethodGet, uplink.PathAcks, dev2.Credential, nil); code != http.StatusOK {
		t.Errorf("resumed gate-2's acks: %d", code)
	}
	audit, _ := f.db.AuditLog(ctx, 3)
	if len(audit) != 3 || audit[0].Action != "device.resume" || audit[1].Action != "device.roll_requested" || audit[2].Action != "device.suspend" ||
		audit[0].Actor != "mei" || audit[2].Detail != "under investigation" {
		t.Errorf("the audit log's last entries: %+v", audit)
	}

	// An auditor sees the devices and no button.
	b.run("log out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login")))
	login("olga")
	b.run("devices as auditor", chromedp.Navigate(base+"/ops/devices?lang=en"), chromedp.WaitVisible(chromedp.ID("devices")))
	if n := b.js(`String(document.querySelectorAll("#devices form, #devices details").length)`); n != "0" {
		t.Errorf("the auditor sees %s device actions", n)
	}
	b.shot("en", "desktop", "devices-auditor")
}

// waitUntil polls cond until it holds, failing the test after d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not after %s", what, d)
		}
	}
}
