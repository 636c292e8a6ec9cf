package edge

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ticket"
)

// screenSizes are the windows every screen is looked at in: a phone and a
// desktop.
var screenSizes = []struct {
	name string
	w, h int64
	opts []chromedp.EmulateViewportOption
}{
	{"phone", 390, 844, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateTouch}},
	{"desktop", 1280, 800, nil},
}

// TestScreens opens every screen (login, scan idle, green, orange, red,
// status) at phone and desktop size, in Chinese and English, checks that
// none is wider than the window, and takes a screenshot of each. The PNGs
// go to $TIXGATE_SCREENS when set (to look at them), else to a temporary
// folder.
func TestScreens(t *testing.T) {
	if testing.Short() {
		t.Skip("screenshots: covered by the run without -short")
	}
	dir := os.Getenv("TIXGATE_SCREENS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	v := ledgertest.NewVenue(t, 40)
	n := startNode(t, v, "gate-1")
	giveStaff(t, n, "Li Wei", RoleSupervisor, "2468")
	showCamera(t, "")
	base := "http://" + n.APIAddr()

	// Serials the manifest gives a floor type (admitted at G1) and the
	// balcony type (refused at G1: wrong zone).
	var floor []uint64
	var balcony uint64
	for s := uint64(1); s <= 40; s++ {
		_, typ, _ := v.Spec.TypeOf(s)
		switch {
		case typ == 2 && balcony == 0:
			balcony = s
		case typ != 2:
			floor = append(floor, s)
		}
	}
	sizes := screenSizes
	next := 0
	b := newTab(t, base)
	b.allow("status of 403 (Forbidden) " + base + "/api/v1/overrides") // the wrong PIN, on purpose
	each := func(f func(lang, size string)) {
		for _, lang := range []string{"zh", "en"} {
			for _, size := range sizes {
				b.do("viewport", chromedp.EmulateViewport(size.w, size.h, size.opts...))
				f(lang, size.name)
			}
		}
	}
	shot := func(b *tab, lang, size, screen string) {
		t.Helper()
		if w := evalIn[float64](b, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
			t.Errorf("%s %s %s: %v px wider than the window", lang, size, screen, w)
		}
		png := b.screenshot()
		if len(png) < 1000 {
			t.Errorf("%s %s %s: screenshot of %d bytes", lang, size, screen, len(png))
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s-%s.png", lang, size, screen)), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The login page first, without a session; then one login for the rest.
	each(func(lang, size string) {
		b.do("login page", chromedp.Navigate(base+"/login?lang="+lang), chromedp.WaitVisible(chromedp.ID("login")))
		shot(b, lang, size, "login")
	})
	b.login("Li Wei", "2468")
	each(func(lang, size string) {
		showing := func(result string) string {
			return fmt.Sprintf(`!document.getElementById("answer").hidden && document.getElementById("answer").dataset.result === %q`, result)
		}
		answer := func(code, want string) {
			t.Helper()
			b.do("type "+want, chromedp.SetValue(chromedp.ID("code"), code), chromedp.Click(chromedp.ID("check")))
			b.waitJS(want, showing(want), 5*time.Second)
			shot(b, lang, size, want)
			if want == "used" {
				// The supervisor lets the ticket in with their PIN.
				b.do("override", chromedp.Click(chromedp.ID("a-override")), chromedp.WaitVisible(chromedp.ID("o-name")))
				b.do("fill", chromedp.SendKeys(chromedp.ID("o-name"), "Li Wei"), chromedp.SendKeys(chromedp.ID("o-pin"), "2469"),
					chromedp.SendKeys(chromedp.ID("o-note"), "wristband checked"), chromedp.Click(chromedp.ID("o-submit")))
				b.waitJS("the wrong PIN", `!document.getElementById("o-error").hidden`, 5*time.Second)
				if got, want := b.text("#o-error"), n.ui.catalogs[lang]["override.error.pin"]; got != want {
					t.Errorf("%s: a wrong PIN says %q, want %q", lang, got, want)
				}
				b.do("the right PIN", chromedp.SendKeys(chromedp.ID("o-pin"), "2468"))
				shot(b, lang, size, "override")
				b.do("let in", chromedp.Click(chromedp.ID("o-submit")))
				b.waitJS("the override", showing("ok")+` && document.getElementById("answer").dataset.reason === "override"`, 5*time.Second)
				shot(b, lang, size, "overridden")
			}
			b.do("dismiss", chromedp.Click(chromedp.ID("answer")), chromedp.WaitNotVisible(chromedp.ID("answer")))
		}
		b.do("scan screen", chromedp.Navigate(base+"/?theme=light&lang="+lang))
		b.waitJS("the camera", `document.body.dataset.camera === "on"`, 5*time.Second)
		shot(b, lang, size, "scan")
		code := v.Code(ticket.Ticket{Serial: floor[next]})
		next++
		answer(code, "ok")
		answer(code, "used")
		answer(v.Code(ticket.Ticket{Serial: balcony}), "refused")
		b.do("status", chromedp.Navigate(base+"/status"))
		b.waitJS("the stream", `document.querySelectorAll("#recent tr").length > 0`, 5*time.Second)
		shot(b, lang, size, "status")
		if size == "phone" {
			b.do("dark", chromedp.Navigate(base+"/status?theme=dark"))
			b.waitJS("the stream", `document.querySelectorAll("#recent tr").length > 0`, 5*time.Second)
			shot(b, lang, size, "status-dark")
			b.do("scan dark", chromedp.Navigate(base+"/"))
			b.waitJS("the camera", `document.body.dataset.camera === "on"`, 5*time.Second)
			shot(b, lang, size, "scan-dark")
			b.do("light again", chromedp.Navigate(base+"/?theme=light"))
		}
	})

	// A browser that refuses the camera: the screen says what to do.
	denied := newTab(t, base)
	denied.do("refuse the camera", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("denied", "NotAllowedError"));`})
		return err
	}), chromedp.EmulateViewport(sizes[0].w, sizes[0].h, sizes[0].opts...))
	denied.login("Li Wei", "2468")
	for _, tc := range []struct{ lang, want string }{{"zh", "摄像头权限被拒绝"}, {"en", "Camera access was refused"}} {
		denied.do("scan screen", chromedp.Navigate(base+"/?lang="+tc.lang))
		denied.waitJS("the help", `document.body.dataset.camera === "scan.camera.denied"`, 5*time.Second)
		if got := denied.text("#cam-msg"); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: camera refused says %q", tc.lang, got)
		}
		shot(denied, tc.lang, "phone", "camera-denied")
	}
}
