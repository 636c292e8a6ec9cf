package edge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tixgate/tixgate/scanner"
)

// The browser tests share one headless Chromium per test binary (starting
// one costs about a second); each test gets its own browser context, so
// cookies do not leak between tests. Chromium's fake camera plays a Y4M
// file, named when the browser starts: each test writes what the camera
// shows into that one file before it opens the scan screen (Chromium reads
// the file again whenever a page opens the camera).

// chromiumPath is Debian's Chromium; CHROMIUM overrides it.
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

var chrome struct {
	once   sync.Once
	ctx    context.Context // the browser, alive until the binary ends
	cancel func()
	dir    string // holds camera.y4m
	mu     sync.Mutex
	err    error
}

// camFile is the fake camera's video.
func camFile() string { return filepath.Join(chrome.dir, "camera.y4m") }

// startBrowser starts the shared Chromium once.
func startBrowser() error {
	chrome.once.Do(func() {
		path := chromiumPath()
		if path == "" {
			chrome.err = errors.New("no Chromium: install Debian's chromium (make deps does)")
			return
		}
		dir, err := os.MkdirTemp("", "tixgate-browser-")
		if err != nil {
			chrome.err = err
			return
		}
		chrome.dir = dir
		if err := writeCamera("", false); err != nil {
			chrome.err = err
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox, // CI runs as root
			chromedp.Flag("disable-gpu", true),
			chromedp.Flag("use-fake-device-for-media-stream", true),
			chromedp.Flag("use-fake-ui-for-media-stream", true), // grant the camera without asking
			chromedp.Flag("use-file-for-fake-video-capture", camFile()),
			chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
			chromedp.Flag("lang", "en-US"),
			chromedp.Flag("user-data-dir", filepath.Join(dir, "profile")),
		)
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		if err := chromedp.Do(bctx); err != nil { // starts the browser
			bcancel()
			acancel()
			chrome.err = fmt.Errorf("start chromium: %w", err)
			return
		}
		chrome.ctx = bctx
		chrome.cancel = func() { bcancel(); acancel(); os.RemoveAll(dir) }
	})
	return chrome.err
}

// stopBrowser ends the shared browser; TestMain calls it.
func stopBrowser() {
	if chrome.cancel != nil {
		chrome.cancel()
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopBrowser()
	os.Exit(code)
}

// tab is a page of the shared browser in a fresh browser context.
type tab struct {
	t       *testing.T
	ctx     context.Context
	base    string
	allowed []string // console errors the test provokes
}

// allow lets console errors that contain s pass: answers the test asks for.
func (b *tab) allow(s string) { b.allowed = append(b.allowed, s) }

// newTab opens a tab on the node at base. The browser is required: a
// machine without it fails the test, it does not skip it.
func newTab(t *testing.T, base string) *tab {
	t.Helper()
	if err := startBrowser(); err != nil {
		t.Fatal(err)
	}
	// Every script error and every console error (a Content-Security-Policy
	// violation is one) fails the test, but those it expects (allow).
	b := &tab{t: t, base: base}
	var mu sync.Mutex
	var problems []string
	ctx, cancel := chromedp.NewContext(chrome.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(func(ev any) {
		var p string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			p = "uncaught: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				p += " " + ev.ExceptionDetails.Exception.Description
			}
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				p = fmt.Sprintf("console (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
			}
		}
		if p != "" {
			mu.Lock()
			problems = append(problems, p)
			mu.Unlock()
		}
	}))
	t.Cleanup(func() {
		cancel()
		mu.Lock()
		defer mu.Unlock()
	next:
		for _, p := range problems {
			for _, ok := range b.allowed {
				if strings.Contains(p, ok) {
					continue next
				}
			}
			t.Errorf("in the browser: %s", p)
		}
	})
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdplog.Enable, cdp.Empty{})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	b.ctx = ctx
	return b
}

// do runs actions with a timeout, failing the test with what was tried.
func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression.
func evalIn[T any](b *tab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// waitJS waits until a JavaScript condition holds. A navigation under
// way (a link just clicked) is waited out too.
func (b *tab) waitJS(what, cond string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, time.Until(deadline)+time.Second)
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond),
			chromedp.WithPollingTimeout(time.Until(deadline))))
		cancel()
		if err == nil {
			return
		}
		// A page that navigates while it is polled (a language switch, a
		// form) ends the evaluation: poll the new page.
		retry := strings.Contains(err.Error(), "context") || strings.Contains(err.Error(), "navigated or closed")
		if time.Now().After(deadline) || !retry {
			b.t.Fatalf("waiting for %s (%s): %v", what, cond, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// acceptLanguage makes the tab's requests carry this Accept-Language.
func (b *tab) acceptLanguage(v string) {
	b.t.Helper()
	b.do("set Accept-Language", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": v}})
		return err
	}))
}

// login logs in through the form and waits for the scan screen.
func (b *tab) login(name, pin string) {
	b.t.Helper()
	b.do("log in",
		chromedp.Navigate(b.base+"/login"),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SendKeys(chromedp.ID("pin"), pin),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.CSS("main.scan")),
	)
}

// writeCamera makes the fake camera show a ticket's QR code, or an empty
// grey scene for "". The file is replaced, never rewritten in place: a
// camera that still has the old one open keeps reading it whole.
func writeCamera(code string, blink bool) error {
	const w, h = 640, 480
	frame := func(code string) ([]byte, error) {
		img := image.NewGray(image.Rect(0, 0, w, h))
		for i := range img.Pix {
			img.Pix[i] = 70
		}
		if code != "" {
			qr, err := scanner.Render(code, 400)
			if err != nil {
				return nil, err
			}
			off := image.Pt((w-400)/2, (h-400)/2)
			draw.Draw(img, qr.Bounds().Add(off), qr, image.Point{}, draw.Src)
		}
		return append(img.Pix, bytes.Repeat([]byte{128}, w*h/2)...), nil // U and V planes: no colour
	}
	var buf bytes.Buffer
	shown, err := frame(code)
	if err != nil {
		return err
	}
	// One frame, looped; blinking: the code for 5 s, then 5 s of nothing
	// (2 frames a second), as a ticket held up, taken away and shown again.
	frames := [][]byte{shown}
	fps := 10
	if blink {
		gone, _ := frame("")
		frames, fps = nil, 2
		for i := range 20 {
			frames = append(frames, map[bool][]byte{true: shown, false: gone}[i < 10])
		}
	}
	fmt.Fprintf(&buf, "YUV4MPEG2 W%d H%d F%d:1 Ip A1:1 C420jpeg\n", w, h, fps)
	for _, f := range frames {
		buf.WriteString("FRAME\n")
		buf.Write(f)
	}
	tmp := camFile() + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, camFile())
}

// showCamera sets what the fake camera shows, for the next page that opens it.
func showCamera(t *testing.T, code string) { t.Helper(); showCameraAs(t, code, false) }

// showCameraBlinking is showCamera with the code shown for 5 s, then gone
// for 5 s, and so on.
func showCameraBlinking(t *testing.T, code string) { t.Helper(); showCameraAs(t, code, true) }

func showCameraAs(t *testing.T, code string, blink bool) {
	t.Helper()
	if err := startBrowser(); err != nil {
		t.Fatal(err)
	}
	chrome.mu.Lock()
	defer chrome.mu.Unlock()
	if err := writeCamera(code, blink); err != nil {
		t.Fatal(err)
	}
}

// screenshot is a PNG of the whole page.
func (b *tab) screenshot() []byte {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	return png
}

// keep saves a screenshot into $TIXGATE_SCREENS, when set.
func (b *tab) keep(name string) {
	b.t.Helper()
	dir := os.Getenv("TIXGATE_SCREENS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b.screenshot(), 0o644); err != nil {
		b.t.Fatal(err)
	}
}
