package storefront_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tixgate/tixgate/central/help"
)

// The help at /help in headless Chromium: the topics, a search in each
// language, an article rendered from its markdown, the entry rules of the
// event on sale written from its types' rules, an unknown page 404; every
// screen in both languages at both sizes.
func TestHelpInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: covered by the run without -short")
	}
	v := newVenue(t)
	if err := help.Seed(context.Background(), v.db, concert); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	base := v.http.URL
	b.run("help", chromedp.Navigate(base+"/help?lang=en"), chromedp.WaitVisible(chromedp.ID("topic-buying")))
	if n := b.js(`String(document.querySelectorAll(".help-topic").length)`); n != "5" {
		t.Errorf("%s topics, want 5", n)
	}
	rules := b.js(`document.getElementById("entry-rules").innerText`)
	if !strings.Contains(rules, "One entry: once the ticket has been scanned in") || !strings.Contains(rules, "Entry from the doors open until 60 minutes after the end") {
		t.Errorf("the entry rules do not say the rules of the types on sale:\n%s", rules)
	}
	if strings.Contains(rules, "Crew") {
		t.Errorf("the entry rules name a type not on sale:\n%s", rules)
	}
	b.run("search", chromedp.SendKeys(chromedp.ID("q"), "refund"), chromedp.Click(chromedp.ID("search")), chromedp.WaitVisible(chromedp.ID("results")))
	if first := b.js(`document.querySelector("#results a").getAttribute("href")`); first != "/help/refunds" {
		t.Errorf("first result %s, want /help/refunds", first)
	}
	b.run("nothing", chromedp.Navigate(base+"/help?q=unicorn"), chromedp.WaitVisible(chromedp.ID("no-results")))
	b.run("zh search", chromedp.Navigate(base+"/help?lang=zh&q=%E4%BA%8C%E7%BB%B4%E7%A0%81"), chromedp.WaitVisible(chromedp.ID("results")))
	if first := b.js(`document.querySelector("#results a").getAttribute("href")`); first != "/help/at-the-gate" {
		t.Errorf("zh: first result %s, want /help/at-the-gate", first)
	}
	b.run("article", chromedp.Navigate(base+"/help/how-to-buy?lang=en"), chromedp.WaitVisible(chromedp.ID("article")))
	if n := b.js(`String(document.querySelectorAll("#article ol li").length)`); n != "4" {
		t.Errorf("the article's list has %s items, want the markdown's 4", n)
	}
	resp, err := http.Get(base + "/help/no-such-page")
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown help page: %v, %v", resp.Status, err)
	}
	resp.Body.Close()
	b.screens(base, [3]string{"help", "/help", "#topic-buying"}, [3]string{"help-article", "/help/at-the-gate", "#entry-rules"})
}
