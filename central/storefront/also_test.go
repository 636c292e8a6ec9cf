package storefront

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/pricing"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// "Buyers of this event also bought" names another event on sale that
// enough of this one's buyers bought for, to a logged-in buyer who
// consented to marketing, and to no one else.
func TestAlsoBought(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	// A second concert, on sale too.
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "venue.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	second := strings.NewReplacer("event: 1042", "event: 2042", "id: 1042", "id: 2042", "Summer Concert", "Autumn Concert",
		"2026-06-12", "2026-06-13").Replace(string(data))
	spec, err := manifest.ParseSpec([]byte(second), "yaml")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyfile.Init(filepath.Join(t.TempDir(), "keys"), keyfile.InitOptions{Now: concert.Add(-60 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	ccfg := catalog.DefaultConfig(f.db, keys)
	ccfg.Clock, ccfg.Logger = f.clock, quiet()
	if _, err := catalog.New(ccfg).ImportVenue(ctx, spec, ""); err != nil {
		t.Fatal(err)
	}
	if err := f.shop.PutOffer(ctx, shop.Offer{Event: 2042, Type: 1, Price: pricing.New(9900, pricing.CNY), Quota: 10}); err != nil {
		t.Fatal(err)
	}
	// Buyers 901-903 bought for both concerts: three buyers, enough to
	// name the other one.
	err = f.db.Update(ctx, func(tx *store.Tx) error {
		for i, buyer := range []int64{901, 902, 903} {
			for _, ev := range []uint64{1042, 2042} {
				at := f.clock.Now().Add(-time.Duration(i+1) * time.Hour)
				if err := tx.AddSaleFact(store.SaleFact{Event: ev, Serial: uint64(100 + i), Type: 1, Channel: store.ChannelOnline, Method: "test",
					Currency: "CNY", Amount: 9900, SoldAt: at, Day: at.Format(time.DateOnly), Hour: at.Hour(), Buyer: buyer}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	login := func(email string, consent bool) *client {
		a, err := f.shop.Register(ctx, shop.Registration{Email: email, Password: "a long password"})
		if err != nil {
			t.Fatal(err)
		}
		if consent {
			if err := f.db.Update(ctx, func(tx *store.Tx) error {
				return tx.AddConsent(store.Consent{Account: a.ID, Kind: "marketing", Granted: true, Wording: "news of events", Language: "en", At: f.clock.Now()})
			}); err != nil {
				t.Fatal(err)
			}
		}
		c := f.client(t)
		tok := c.csrf("/login")
		if st, _, _ := c.post("/login", url.Values{"csrf": {tok}, "email": {email}, "password": {"a long password"}}); st != 303 {
			t.Fatalf("login: %d", st)
		}
		return c
	}
	fan := login("fan@example.org", true)
	_, _, body := fan.get("/events/2042?lang=en")
	if !strings.Contains(body, "Buyers of this event also bought") || !strings.Contains(body, `href="/events/1042"`) {
		t.Errorf("a consenting buyer sees no recommendation:\n%s", body)
	}
	shootAlso(t, f, "fan@example.org", "/events/2042")
	for name, c := range map[string]*client{"a buyer who did not consent": login("quiet@example.org", false), "a visitor": f.client(t)} {
		if _, _, body := c.get("/events/2042?lang=en"); strings.Contains(body, "also bought") {
			t.Errorf("%s sees recommendations", name)
		}
	}
}

// shootAlso logs in as email in headless Chromium and screenshots the
// event page at path with its recommendations, in both languages at phone
// and desktop size, into $TIXGATE_SCREENS (when set).
func shootAlso(t *testing.T, f *fixture, email, path string) {
	dir := os.Getenv("TIXGATE_SCREENS")
	if dir == "" {
		return
	}
	chrome, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("no Chromium: install Debian's chromium (make deps does)")
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.Flag("disable-gpu", true))...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel := context.WithTimeout(bctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(f.url+"/login?lang=en"), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("password"), "a long password"),
		chromedp.Click(chromedp.ID("login")), chromedp.Sleep(500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"zh", "en"} {
		for _, s := range []struct {
			name string
			w, h int64
			opts []chromedp.EmulateViewportOption
		}{{"phone", 390, 844, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateTouch}}, {"desktop", 1280, 800, nil}} {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(s.w, s.h, s.opts...), chromedp.Navigate(f.url+path+"?lang="+lang),
				chromedp.WaitVisible(chromedp.ID("also-bought"))); err != nil {
				t.Fatal(err)
			}
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("storefront-%s-%s-also-bought.png", lang, s.name)), png, 0o644)
		}
	}
}

// An event page carries its share card (Open Graph, which Weibo and
// WeChat's link cards read): the event's name, when and where, its
// address; and nothing of the visitor.
func TestEventShareCard(t *testing.T) {
	f := newFixture(t, 10)
	_, _, body := f.client(t).get("/events/1042?lang=en")
	for _, want := range []string{`<meta property="og:title" content="Summer Concert">`, `<meta property="og:url" content="http://` + strings.TrimPrefix(f.url, "http://") + `/events/1042">`,
		`<meta property="og:description" content="Fri 12 Jun 2026, 20:00 · arena · CN¥128.00">`, `<meta itemprop="name" content="Summer Concert">`} {
		if !strings.Contains(body, want) {
			t.Errorf("the event page lacks %s", want)
		}
	}
	if _, _, home := f.client(t).get("/?lang=en"); strings.Contains(home, "og:title") {
		t.Error("the home page has an event's share card")
	}
}
