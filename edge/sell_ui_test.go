package edge

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/scanner"
	"github.com/tixgate/tixgate/ticket"
)

// TestScreensSeller runs the seller's screens end to end in a real
// browser, in Chinese and English, on a phone and a desktop: open a shift
// with a float, sell two tickets for cash (the change shown before
// confirming), photograph the QR codes off the screen and decode them with
// the scanner package, and a gate in the mesh admits the first; void the
// sale, and the gate refuses the second; count the till by note and close
// the shift. Every screen is screenshotted into $TIXGATE_SCREENS when set
// (to look at them), else into a temporary folder, and none may be wider
// than its window.
func TestScreensSeller(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: covered by the run without -short")
	}
	dir := os.Getenv("TIXGATE_SCREENS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	v := ledgertest.NewVenue(t, 20)
	seller := startSeller(t, v, "seller-1", 20)
	gate := startNode(t, v, "gate-1", seller.MeshAddr())
	g := client{t: t, base: "http://" + gate.APIAddr(), token: gate.Token()}
	giveStaff(t, seller, "Wang Fang", RoleSeller, "1357")
	if err := startBrowser(); err != nil {
		t.Fatal(err)
	}
	base := "http://" + seller.APIAddr()
	b := newTab(t, base)
	b.allow("status of 409 (Conflict) " + base + "/api/v1/shift")                     // no shift open yet
	b.allow("status of 422 (Unprocessable Entity) " + base + "/api/v1/shift/close")   // a difference without a note, on purpose
	b.allow("status of 503 (Service Unavailable) " + base + "/api/v1/quotas/request") // no central to ask, on purpose
	b.login("Wang Fang", "1357")
	shot := func(lang, size, screen string) {
		t.Helper()
		if w := evalIn[float64](b, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
			t.Errorf("%s %s %s: %v px wider than the window", lang, size, screen, w)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s-seller-%s.png", lang, size, screen)), b.screenshot(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, lang := range []string{"zh", "en"} {
		for _, size := range screenSizes {
			b.do("viewport", chromedp.EmulateViewport(size.w, size.h, size.opts...))
			b.do("shift screen", chromedp.Navigate(base+"/shift?theme=dark&lang="+lang))
			b.waitJS("the open form", `!document.getElementById("open-form").hidden`, 5*time.Second)
			shot(lang, size.name, "shift-open")
			b.do("open", chromedp.SendKeys(chromedp.ID("sh-float"), "200.00"), chromedp.Click(chromedp.ID("sh-open")))
			b.waitJS("the report", `!document.getElementById("report").hidden && !document.getElementById("close-form").hidden`, 5*time.Second)

			b.do("sell screen", chromedp.Navigate(base+"/"))
			b.waitJS("the price", `document.getElementById("s-total").textContent.includes("128.00")`, 5*time.Second)
			// Asking for more without central says so, in the seller's words.
			b.do("ask for more", chromedp.Click(chromedp.ID("s-more")))
			b.waitJS("the answer", `!document.getElementById("s-more-said").hidden`, 5*time.Second)
			if got, want := b.text("#s-more-said"), seller.ui.catalogs[lang]["sell.error.no_central"]; got != want {
				t.Errorf("%s: asking for more without central said %q, want %q", lang, got, want)
			}
			b.do("two, cash", chromedp.Click(chromedp.ID("s-plus")), chromedp.SendKeys(chromedp.ID("s-given"), "300"))
			b.waitJS("the change", `document.getElementById("s-change").textContent.includes("44.00") && document.getElementById("s-total").textContent.includes("256.00")`, 5*time.Second)
			shot(lang, size.name, "sell")
			b.do("confirm", chromedp.Click(chromedp.ID("s-confirm")))
			b.waitJS("the codes", `!document.getElementById("sold").hidden && [...document.querySelectorAll("#qrs img")].length === 2 &&
				[...document.querySelectorAll("#qrs img")].every(i => i.complete && i.naturalWidth > 0)`, 5*time.Second)
			shot(lang, size.name, "sold")

			// The buyer photographs each code off the screen.
			var codes []string
			for i := 1; i <= 2; i++ {
				sel := fmt.Sprintf("#qrs figure:nth-child(%d) img", i)
				b.do("to the code", chromedp.ScrollIntoView(sel))
				png, err := chromedp.Run(b.ctx, chromedp.Screenshot(sel))
				if err != nil {
					t.Fatalf("photograph QR %d: %v", i, err)
				}
				code, err := scanner.DecodeBytes(png)
				if err != nil {
					t.Fatalf("%s %s: QR %d off the screen: %v", lang, size.name, i, err)
				}
				if want := evalIn[string](b, `document.querySelector("`+sel+`").dataset.code`); code != want {
					t.Fatalf("QR %d decodes to %q, the sale's code is %q", i, code, want)
				}
				codes = append(codes, code)
			}
			caughtUp(t, seller, gate)
			if d := g.scan(codes[0], "G1", ""); !d.OK() {
				t.Fatalf("%s %s: a code photographed off the seller's screen at a gate: %s %s", lang, size.name, d.Reason, d.Detail)
			}

			b.do("void", chromedp.Click(chromedp.ID("sold-void")), chromedp.WaitVisible(chromedp.ID("v-reason")),
				chromedp.SendKeys(chromedp.ID("v-reason"), "wrong type"))
			shot(lang, size.name, "void")
			b.do("void it", chromedp.Click(chromedp.ID("v-submit")))
			b.waitJS("voided", `document.getElementById("sold").classList.contains("voided")`, 5*time.Second)
			shot(lang, size.name, "voided")
			caughtUp(t, seller, gate)
			if d := g.scan(codes[1], "G1", ""); d.OK() || d.Reason != ticket.ReasonRevoked {
				t.Fatalf("a voided ticket at a gate: %s %s", d.Result, d.Reason)
			}

			// The till holds the float: two ¥100 notes; one short first.
			b.do("shift screen", chromedp.Navigate(base+"/shift"))
			b.waitJS("the report", `!document.getElementById("close-form").hidden && document.querySelectorAll("#cl-denoms input").length > 5`, 5*time.Second)
			b.do("count", chromedp.SendKeys(`#cl-denoms input[data-value="100.00"]`, "1"), chromedp.Click(chromedp.ID("cl-submit")))
			b.waitJS("a note is needed", `!document.getElementById("sh-error").hidden`, 5*time.Second)
			if got, want := b.text("#sh-error"), seller.ui.catalogs[lang]["sell.error.note_required"]; got != want {
				t.Errorf("%s: a difference without a note says %q, want %q", lang, got, want)
			}
			shot(lang, size.name, "shift-report")
			b.do("count again", chromedp.SetValue(`#cl-denoms input[data-value="100.00"]`, "2"), chromedp.Click(chromedp.ID("cl-submit")))
			b.waitJS("closed", `document.getElementById("close-form").hidden && !document.getElementById("report").hidden`, 5*time.Second)
			shot(lang, size.name, "shift-closed")
			if txt := b.text("#sh-lines"); !strings.Contains(txt, "200.00") {
				t.Errorf("%s: the closed report: %q", lang, txt)
			}
		}
	}
}
