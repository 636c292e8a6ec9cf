package edge

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tixgate/tixgate/firmware"
	"github.com/tixgate/tixgate/ledger/ledgertest"
	"github.com/tixgate/tixgate/ticket"
)

// testArgon2 is a real argon2id hash at a cost tests can afford many
// times: 8 MiB, one pass (a login is then milliseconds, not a second).
var testArgon2 = Argon2Params{Time: 1, MemKiB: 8 * 1024, Threads: 1, KeyLen: 32}

// giveStaff gives the node a staff account, failing the test on error.
func giveStaff(t *testing.T, n *Node, name string, role Role, pin string) {
	t.Helper()
	if err := addStaff(n.cfg.Dir, name, role, pin, testArgon2); err != nil {
		t.Fatal(err)
	}
}

// End to end through a real browser: the fake camera shows an issued
// ticket's QR code for 5 s, then nothing for 5 s, then the code again. The
// scan screen turns green; the ticket still held up once that answer clears
// is the same scan (no second answer); shown again, it turns the screen
// orange, "already used" at this gate at the time of the first scan in the
// venue's zone. The relay pulsed exactly once.
func TestBrowserCameraScan(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	n, fb, _ := startGate(t, v, "gate-1", false)
	giveStaff(t, n, "Li Wei", RoleGate, "2468")
	code := v.Code(ticket.Ticket{Serial: 1})
	showCameraBlinking(t, code)

	b := newTab(t, "http://"+n.APIAddr())
	b.login("Li Wei", "2468")
	b.waitJS("the camera", `document.body.dataset.camera === "on"`, 5*time.Second)
	b.waitJS("green", `document.getElementById("answer").dataset.result === "ok" && !document.getElementById("answer").hidden`, 10*time.Second)
	if got := b.text("#a-title"); got != "Valid" {
		t.Errorf("green title %q, want Valid", got)
	}
	if got := b.text("#a-ticket"); !strings.Contains(got, "Standing") || !strings.Contains(got, "1") {
		t.Errorf("green ticket lines %q: want the type and the serial", got)
	}
	if got := evalIn[string](b, `document.body.dataset.sound`); got != "ok" {
		t.Errorf("sound %q, want the ok tone", got)
	}

	b.waitJS("the green answer clears", `document.getElementById("answer").hidden`, 10*time.Second)
	b.waitJS("orange", `document.getElementById("answer").dataset.result === "used" && !document.getElementById("answer").hidden`, 20*time.Second)
	h, err := n.Ledger().History(ledgertest.Event, 1)
	if err != nil || len(h.Passages) != 1 {
		t.Fatalf("history: %+v %v, want one passage", h, err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	want := "at gate G1 at " + h.Passages[0].At.In(berlin).Format("15:04")
	if got := b.text("#a-detail"); got != want {
		t.Errorf("orange detail %q, want %q", got, want)
	}
	if got := b.text("#a-title"); got != "Already used" {
		t.Errorf("orange title %q", got)
	}
	if got := evalIn[string](b, `document.body.dataset.sound`); got != "used" {
		t.Errorf("sound %q, want the already-used tone", got)
	}
	relay := fb.Line(firmware.RelayIn)
	ledgertest.WaitFor(t, 3*time.Second, "the pulse ends", func() bool { return relay.Level() == gpio.Low })
	if got := relay.Rises(); got != 1 {
		t.Errorf("relay pulsed %d times, want exactly 1", got)
	}
}

// The status screen follows scans live, over Server-Sent Events.
func TestBrowserStatusLive(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	n := startNode(t, v, "gate-1")
	giveStaff(t, n, "Sam", RoleSupervisor, "9090")
	showCamera(t, "")
	c := client{t: t, base: "http://" + n.APIAddr(), token: n.Token()}

	b := newTab(t, c.base)
	b.login("Sam", "9090")
	b.do("open status", chromedp.Navigate(c.base+"/status"))
	b.waitJS("the stream", `document.getElementById("live").textContent === "Live"`, 5*time.Second)
	if got := b.text("#admitted"); got != "0" {
		t.Errorf("admitted before any scan: %q", got)
	}
	if got := b.text("#uplink"); !strings.Contains(got, "Not configured") {
		t.Errorf("uplink %q, want it said not configured", got)
	}

	c.scan(v.Code(ticket.Ticket{Serial: 3}), "", "")
	b.waitJS("the admission", `document.getElementById("admitted").textContent === "1" && document.querySelectorAll("#recent tr").length === 1`, 5*time.Second)
	c.scan("TG1:NOTATICKET", "", "")
	b.waitJS("the refusal", `document.getElementById("refused").textContent === "1" && document.querySelectorAll("#recent tr").length === 2`, 5*time.Second)
	if got := b.text("#reasons"); !strings.Contains(got, "Not a readable ticket code") {
		t.Errorf("refusals by reason %q", got)
	}
	if got := b.text("#recent tr:first-child"); !strings.Contains(got, "Not a readable ticket code") || !strings.Contains(got, "API") {
		t.Errorf("newest scan row %q", got)
	}
}

// The language follows the browser, and a choice is remembered.
func TestBrowserLanguage(t *testing.T) {
	v := ledgertest.NewVenue(t, 5)
	n := startNode(t, v, "gate-1")
	giveStaff(t, n, "Wang", RoleGate, "1357")
	showCamera(t, "")
	base := "http://" + n.APIAddr()

	b := newTab(t, base)
	b.acceptLanguage("zh-CN,zh;q=0.9")
	b.do("login page", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.ID("login")))
	if got := b.text("h1"); got != "工作人员登录" {
		t.Errorf("login heading with zh-CN: %q", got)
	}
	if got := evalIn[string](b, `document.documentElement.lang`); got != "zh-Hans" {
		t.Errorf("html lang %q", got)
	}
	b.do("switch to English", chromedp.Click(chromedp.ID("lang-switch")), chromedp.WaitVisible(chromedp.ID("login")))
	b.waitJS("English", `document.querySelector("h1").textContent === "Staff login"`, 5*time.Second)
	b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("login")))
	if got := b.text("h1"); got != "Staff login" {
		t.Errorf("after a reload the choice is forgotten: %q", got)
	}
	b.login("Wang", "1357")
	if got := b.text("#check"); got != "Check" {
		t.Errorf("scan screen button %q, want English", got)
	}
	b.do("switch to Chinese", chromedp.Click(chromedp.ID("lang-switch")))
	b.waitJS("Chinese", `document.getElementById("check") && document.getElementById("check").textContent === "验票"`, 5*time.Second)
	// The script's strings follow: a typed garbled code is refused in Chinese.
	b.do("type a code", chromedp.SendKeys(chromedp.ID("code"), "TG1:GARBLED"), chromedp.Click(chromedp.ID("check")))
	b.waitJS("the refusal", `!document.getElementById("answer").hidden`, 5*time.Second)
	if got := b.text("#a-title"); got != "拒绝入场" {
		t.Errorf("refusal title %q", got)
	}
	if got := b.text("#a-detail"); got != "无法识别的票码" {
		t.Errorf("refusal detail %q", got)
	}
	// Logging out (a form with the session's CSRF token) ends the session.
	b.do("dismiss", chromedp.Click(chromedp.ID("answer")), chromedp.WaitNotVisible(chromedp.ID("answer")))
	b.do("log out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.ID("login")))
	b.do("back to the scan screen", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("login")))
}

// Three gates in one venue: a ticket admitted at gate A through its scan
// screen is refused at gate B, through B's scan screen, once the mesh has
// delivered A's record; B's log and metrics show the refusal, and only A's
// turnstile opened.
func TestBrowserThreeGates(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	a, fbA, _ := startGate(t, v, "gate-1", false)
	var logB syncBuffer
	b, fbB, cb := startGateWith(t, v, "gate-2", func(c *Config) {
		c.Gate = "G2"
		c.Logger = slog.New(slog.NewTextHandler(&logB, nil))
	}, a.MeshAddr())
	cn, fbC, _ := startGateWith(t, v, "gate-3", func(c *Config) { c.Gate = "G3" }, a.MeshAddr())
	ledgertest.WaitFor(t, 10*time.Second, "three gates see each other", func() bool {
		return len(a.Mesh().Peers()) == 2 && len(b.Mesh().Peers()) == 2 && len(cn.Mesh().Peers()) == 2
	})
	giveStaff(t, a, "Li Wei", RoleGate, "2468")
	giveStaff(t, b, "Wang Fang", RoleGate, "1357")
	code := v.Code(ticket.Ticket{Serial: 7})
	showCamera(t, code)

	ta := newTab(t, "http://"+a.APIAddr())
	ta.login("Li Wei", "2468")
	ta.waitJS("green at gate A", `document.getElementById("answer").dataset.result === "ok"`, 30*time.Second) // the camera starting in a loaded browser
	ta.do("leave the scan screen", chromedp.Navigate("about:blank"))
	origin := a.Ledger().Identity().ID()
	for _, n := range []*Node{b, cn} {
		ledgertest.WaitFor(t, 10*time.Second, "the mesh delivers the entry", func() bool {
			vv, _ := n.Ledger().VersionVector()
			return vv[origin] == 1
		})
	}

	tb := newTab(t, "http://"+b.APIAddr())
	tb.login("Wang Fang", "1357")
	tb.waitJS("orange at gate B", `document.getElementById("answer").dataset.result === "used"`, 10*time.Second)
	h, _ := a.Ledger().History(ledgertest.Event, 7)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if want, got := "at gate G1 at "+h.Passages[0].At.In(berlin).Format("15:04"), tb.text("#a-detail"); got != want {
		t.Errorf("gate B says %q, want %q", got, want)
	}
	if !regexp.MustCompile(`msg=scan result=refused reason=already_used gate=G2 source=camera .*serial=7`).MatchString(logB.String()) {
		t.Errorf("gate B's log has no refusal of ticket 7:\n%s", logB.String())
	}
	if strings.Contains(logB.String(), "Guest 0000007") || strings.Contains(logB.String(), code) {
		t.Error("gate B's log holds the holder's name or the code")
	}
	status, metrics := cb.do("GET", "/metrics", "")
	if want := `tixgate_scans_total{reason="already_used",result="refused",source="camera"} 1`; status != 200 || !strings.Contains(string(metrics), want) {
		t.Errorf("gate B's metrics lack %s", want)
	}
	// B's status screen: its two peers, and the refusal among its scans.
	tb.do("B's status", chromedp.Navigate("http://"+b.APIAddr()+"/status"))
	tb.waitJS("the stream", `document.querySelectorAll("#recent tr").length > 0`, 5*time.Second)
	if got := tb.text("#peers"); !strings.Contains(got, "gate-1 (G1)") || !strings.Contains(got, "gate-3 (G3)") {
		t.Errorf("gate B's peers %q, want gate-1 and gate-3", got)
	}
	if got := tb.text("#recent tr:first-child"); !strings.Contains(got, "Already used") || !strings.Contains(got, "7") {
		t.Errorf("gate B's last scan %q", got)
	}
	time.Sleep(2 * firmware.MinPulse)
	if ra, rb, rc := fbA.Line(firmware.RelayIn).Rises(), fbB.Line(firmware.RelayIn).Rises(), fbC.Line(firmware.RelayIn).Rises(); ra != 1 || rb != 0 || rc != 0 {
		t.Errorf("relay pulses A %d, B %d, C %d; want 1, 0, 0", ra, rb, rc)
	}
}

// A ticket let in at two gates that could not see each other is a
// conflict once they meet; the status screen lists it.
func TestBrowserConflictShown(t *testing.T) {
	v := ledgertest.NewVenue(t, 20)
	a := startNode(t, v, "gate-1")
	b := startNodeWith(t, v, "gate-2", func(c *Config) { c.Gate = "G2" })
	giveStaff(t, b, "Sam", RoleGate, "9090")
	showCamera(t, "")
	code := v.Code(ticket.Ticket{Serial: 1})
	ca := client{t: t, base: "http://" + a.APIAddr(), token: a.Token()}
	cb := client{t: t, base: "http://" + b.APIAddr(), token: b.Token()}
	if d := ca.scan(code, "", ""); !d.OK() {
		t.Fatalf("at gate-1: %+v", d)
	}
	if d := cb.scan(code, "", ""); !d.OK() {
		t.Fatalf("at gate-2, alone: %+v", d)
	}
	if _, err := b.Mesh().Join([]string{a.MeshAddr()}); err != nil {
		t.Fatal(err)
	}
	ledgertest.WaitFor(t, 15*time.Second, "gate-2 finds the conflict", func() bool {
		cs, _ := b.Ledger().Conflicts()
		return len(cs) == 1
	})
	tb := newTab(t, cb.base)
	tb.do("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	tb.login("Sam", "9090")
	tb.do("status", chromedp.Navigate(cb.base+"/status"))
	tb.waitJS("the stream", `document.getElementById("live").textContent === "Live"`, 5*time.Second)
	if got := tb.text("#conflicts"); !strings.HasPrefix(got, "Ticket 1: gate G") || !strings.Contains(got, "G1") || !strings.Contains(got, "G2") {
		t.Errorf("conflicts on the status screen: %q", got)
	}
	tb.keep("en-phone-status-conflict")
}

// A device with two cameras and a torch gets a camera picker and a torch
// button. Chromium's fake device has one camera and no torch, so the page
// is told otherwise: a second camera in enumerateDevices, a torch in the
// track's capabilities, and applyConstraints records what it was asked.
func TestBrowserCameraControls(t *testing.T) {
	v := ledgertest.NewVenue(t, 5)
	n := startNode(t, v, "gate-1")
	giveStaff(t, n, "Wang", RoleGate, "1357")
	showCamera(t, "")
	b := newTab(t, "http://"+n.APIAddr())
	b.do("a phone with two cameras and a torch", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
			const enumerate = navigator.mediaDevices.enumerateDevices.bind(navigator.mediaDevices);
			navigator.mediaDevices.enumerateDevices = async () => [...await enumerate(),
				{ kind: 'videoinput', deviceId: 'front', label: 'Front camera', groupId: 'g' }];
			const caps = MediaStreamTrack.prototype.getCapabilities;
			MediaStreamTrack.prototype.getCapabilities = function () { return { ...caps.call(this), torch: true }; };
			MediaStreamTrack.prototype.applyConstraints = function (c) { window.torchAsked = JSON.stringify(c); return Promise.resolve(); };`})
		return err
	}), chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.login("Wang", "1357")
	b.waitJS("the camera", `document.body.dataset.camera === "on"`, 5*time.Second)
	if got := evalIn[int](b, `document.getElementById("cam-pick").hidden ? -1 : document.getElementById("cam-pick").options.length`); got != 2 {
		t.Errorf("camera picker: %d choices shown, want 2", got)
	}
	b.do("torch on", chromedp.Click(chromedp.ID("torch")))
	b.waitJS("the torch", `document.getElementById("torch").getAttribute("aria-pressed") === "true"`, 5*time.Second)
	if got := evalIn[string](b, `window.torchAsked`); got != `{"advanced":[{"torch":true}]}` {
		t.Errorf("torch constraint %s", got)
	}
	b.keep("en-phone-scan-controls")
	// Choosing the other camera: the fake device has no "front", so the
	// page falls back to the camera it has, and still scans.
	b.do("pick the front camera", chromedp.SetValue(chromedp.ID("cam-pick"), "front"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("cam-pick").dispatchEvent(new Event("change"))`))
	b.waitJS("the camera again", `document.body.dataset.camera === "on" && localStorage.getItem("tixgate.camera") === "front"`, 5*time.Second)
}
