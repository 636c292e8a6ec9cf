package central

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tixgate/tixgate/central/help"
	"github.com/tixgate/tixgate/central/staff"
)

// The help pages' editor in headless Chromium: an ops user changes an
// article in both languages, the change is stored and audited, an empty
// title is refused with the article kept as typed, and an auditor sees the
// form read-only; screenshots in both languages at both sizes.
func TestHelpEditorInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: covered by the run without -short")
	}
	ctx := context.Background()
	f := newFixture(t, "")
	if err := help.Seed(ctx, f.db, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Accounts.Add(ctx, "mei", staff.Ops, "correct horse battery", "test"); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	base := f.http.URL
	b.run("log in", chromedp.Navigate(base+"/ops/login?lang=en"), chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("name"), "mei"), chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("n-conflicts")))
	b.run("list", chromedp.Navigate(base+"/ops/help"), chromedp.WaitVisible(chromedp.ID("articles")))
	if n := b.js(`String(document.querySelectorAll("#articles tbody tr").length)`); n != "6" {
		t.Errorf("%s articles listed, want the 6 defaults", n)
	}
	b.run("edit", chromedp.Navigate(base+"/ops/help/accessibility"), chromedp.WaitVisible(chromedp.ID("article-form")))
	// The browser would stop an empty title itself: the server must too.
	b.run("empty title", chromedp.Evaluate[chromedp.Void](`const z = document.getElementById("title_zh"); z.removeAttribute("required"); z.value = "";
		document.getElementById("body_en").value = "Step-free entrance at **gate B1**."`),
		chromedp.Click(chromedp.ID("save-article")), chromedp.WaitVisible(chromedp.ID("error")))
	if v := b.js(`document.getElementById("body_en").value`); v != "Step-free entrance at **gate B1**." {
		t.Errorf("the refused form lost the text: %q", v)
	}
	b.run("save", chromedp.Evaluate[chromedp.Void](`document.getElementById("title_zh").value = "无障碍通道"`), chromedp.Click(chromedp.ID("save-article")), chromedp.WaitVisible(chromedp.ID("done")))
	zh, err := f.db.HelpArticle(ctx, "accessibility", "zh")
	en, _ := f.db.HelpArticle(ctx, "accessibility", "en")
	if err != nil || zh.Title != "无障碍通道" || en.Body != "Step-free entrance at **gate B1**." || en.UpdatedBy != "mei" {
		t.Errorf("stored: %+v / %+v, %v", en, zh, err)
	}
	log, _ := f.db.AuditLog(ctx, 10)
	if len(log) == 0 || log[0].Action != "help.put" || log[0].Target != "accessibility" || log[0].Actor != "mei" {
		t.Errorf("audit: %+v", log)
	}
	b.screens(base, [3]string{"/ops/help", "#articles", "help"}, [3]string{"/ops/help/how-to-buy", "#article-form", "help-edit"})

	if err := f.srv.Accounts.Add(ctx, "au", staff.Auditor, "correct horse battery", "test"); err != nil {
		t.Fatal(err)
	}
	b.run("log out", chromedp.Evaluate[chromedp.Void](`document.cookie.split(";").forEach(c => document.cookie = c.split("=")[0] + "=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/")`))
	b.run("auditor", chromedp.Navigate(base+"/ops/login?lang=en"), chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("name"), "au"), chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("n-conflicts")),
		chromedp.Navigate(base+"/ops/help/accessibility"), chromedp.WaitVisible(chromedp.ID("readonly")))
	if !strings.Contains(b.js(`String(document.querySelector("#article-form fieldset").disabled)`), "true") {
		t.Error("an auditor's form is not read-only")
	}
}
