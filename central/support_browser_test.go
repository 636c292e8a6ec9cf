package central

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tixgate/tixgate/central/help"
	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/pricing"
)

// mailbox keeps the mails central sends, for tests that read them.
type mailbox struct {
	mu   sync.Mutex
	mail []shop.Message
}

func (m *mailbox) Send(_ context.Context, msg shop.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mail = append(m.mail, msg)
	return nil
}

func (m *mailbox) to(addr string) []shop.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []shop.Message
	for _, msg := range m.mail {
		if msg.To == addr {
			out = append(out, msg)
		}
	}
	return out
}

// poll evaluates a JavaScript condition until it is true (10 s at most).
func (b *browser) poll(what, cond string) {
	b.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b.js(`String(!!(`+cond+`))`) == "true" {
			return
		}
	}
	b.t.Fatalf("%s: timed out waiting for %s", what, cond)
}

// The support desk in headless Chromium, a buyer and a staff member in two
// browser contexts: the buyer searches the help, opens the chat while no
// staff member is online, is told so, and the message lands in the inbox
// as a conversation; a staff member logs in, finds it in the inbox with
// its figures, opens it; the buyer's chat turns to online, the buyer's next
// message appears on the staff screen live and the staff answer appears in
// the buyer's chat live, audited. A logged-in buyer writes about an order
// from its page and the staff sees the order beside the conversation.
// Screenshots of the chat, the buyer's pages and the ops inbox and
// conversation in both languages at both sizes.
func TestSupportInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: covered by the run without -short")
	}
	ctx := context.Background()
	mails := &mailbox{}
	f := newFixtureWith(t, "", func(c *Config) { c.Mailer = mails })
	if err := help.Seed(ctx, f.db, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Accounts.Add(ctx, "mei", staff.BoxOffice, "correct horse battery", "test"); err != nil {
		t.Fatal(err)
	}
	base := f.http.URL

	buyer := newBrowser(t)
	buyer.run("help", chromedp.Navigate(base+"/help?lang=en"), chromedp.WaitVisible(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), "refund"), chromedp.Click(chromedp.ID("search")), chromedp.WaitVisible(chromedp.ID("results")))
	if n := buyer.js(`String(document.querySelectorAll("#results li").length)`); n == "0" {
		t.Error("searching the help for refund found nothing")
	}
	buyer.run("open the chat", chromedp.Click(chromedp.ID("help-chat")), chromedp.WaitVisible(chromedp.ID("chat-log")))
	buyer.poll("nobody online", `!document.getElementById("chat-offline").hidden && document.getElementById("chat-state").textContent === ""`)
	buyer.run("write while offline", chromedp.SendKeys(chromedp.ID("chat-email"), "visitor@example.org"),
		chromedp.SendKeys(chromedp.ID("chat-input"), "Is there step-free access?"), chromedp.Click(chromedp.ID("chat-send")))
	buyer.poll("the message shown", `document.querySelector("#chat-log .k-buyer") && document.querySelector("#chat-log .k-buyer").textContent.includes("step-free")`)
	buyer.poll("still offline", `!document.getElementById("chat-offline").hidden`)
	var conv store.Conversation
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && conv.ID == 0; time.Sleep(50 * time.Millisecond) {
		if cs, _ := f.db.Conversations(ctx, store.ConversationFilter{Status: store.ConversationOpen}); len(cs) == 1 {
			conv = cs[0]
		}
	}
	if conv.ID == 0 || conv.Channel != "chat" || conv.Email != "visitor@example.org" {
		t.Fatalf("the offline message is not in the inbox: %+v", conv)
	}

	// The staff member, in a browser context of their own.
	sctx, cancel := chromedp.NewContext(buyer.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ops := &browser{t: t, ctx: sctx, dir: buyer.dir}
	ops.run("log in", chromedp.Navigate(base+"/ops/login?lang=en"), chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("name"), "mei"), chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("n-conflicts")),
		chromedp.Navigate(base+"/ops/support"), chromedp.WaitVisible(chromedp.ID("conversations")))
	if n := ops.js(`document.getElementById("n-open").textContent`); n != "1" {
		t.Errorf("open count %s, want 1", n)
	}
	if !strings.Contains(ops.js(`document.getElementById("conversations").textContent`), "step-free") {
		t.Error("the inbox does not list the chat's conversation")
	}
	ops.run("open it", chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/ops/support/%d"]`, conv.ID))), chromedp.WaitVisible(chromedp.ID("chat-log")))
	ops.poll("connected", `document.getElementById("chat-state").className.includes("ok")`)
	buyer.poll("staff online", `document.getElementById("chat-offline").hidden && document.getElementById("chat-state").className.includes("ok")`)

	buyer.run("write live", chromedp.SendKeys(chromedp.ID("chat-input"), "Which gate is it?"), chromedp.Click(chromedp.ID("chat-send")))
	ops.poll("the buyer's message live", `document.getElementById("chat-log").textContent.includes("Which gate is it?")`)
	f.clock.Advance(4 * time.Minute)
	ops.run("answer", chromedp.SendKeys(chromedp.ID("chat-input"), "Gate B has a ramp and a lift."), chromedp.Click(chromedp.ID("chat-send")))
	buyer.poll("the answer live", `document.querySelector("#chat-log .k-staff") && document.querySelector("#chat-log .k-staff").textContent.includes("Gate B has a ramp")`)
	// Both sockets cut by the server: both pages reconnect by themselves
	// and the chat goes on.
	connects := func(b *browser) string { return b.js(`document.getElementById("chat").getAttribute("data-connects")`) }
	bc, oc := connects(buyer), connects(ops)
	f.srv.Support.Close()
	buyer.poll("reconnected", `document.getElementById("chat").getAttribute("data-connects") !== "`+bc+`" && document.getElementById("chat-state").className.includes("ok")`)
	ops.poll("reconnected", `document.getElementById("chat").getAttribute("data-connects") !== "`+oc+`" && document.getElementById("chat-state").className.includes("ok")`)
	buyer.run("write after the cut", chromedp.SendKeys(chromedp.ID("chat-input"), "Still there?"), chromedp.Click(chromedp.ID("chat-send")))
	ops.poll("the message after the cut", `document.getElementById("chat-log").textContent.includes("Still there?")`)
	if got := len(mails.to("visitor@example.org")); got != 0 {
		t.Errorf("%d mails to a buyer who was in the chat, want none", got)
	}
	log, _ := f.db.AuditLog(ctx, 5)
	if len(log) == 0 || log[0].Action != "support.reply" || log[0].Actor != "mei" || log[0].Target != fmt.Sprintf("conversation %d", conv.ID) {
		t.Errorf("audit: %+v", log)
	}
	buyer.screens(base, [3]string{"/support/chat", "#chat-log .k-staff", "support-chat"}, [3]string{"/help", "#contact", "help-contact"})
	ops.run("solve", chromedp.SetValue(chromedp.ID("status-pick"), "solved"), chromedp.Click(chromedp.ID("set-status")), chromedp.WaitVisible(chromedp.ID("done")))
	if c, _ := f.db.Conversation(ctx, conv.ID); c.Status != store.ConversationSolved {
		t.Errorf("status %s, want solved", c.Status)
	}
	if log, _ := f.db.AuditLog(ctx, 1); len(log) == 0 || log[0].Action != "support.status" || log[0].Detail != "solved" {
		t.Errorf("audit: %+v", log)
	}

	// A logged-in buyer asks about an order from its page.
	if err := f.srv.Shop.PutOffer(ctx, shop.Offer{Event: 1042, Type: 1, Price: pricing.New(12800, pricing.CNY), Quota: 100, MaxPerOrder: 10}); err != nil {
		t.Fatal(err)
	}
	a, err := f.srv.Shop.Register(ctx, shop.Registration{Email: "li.wei@example.org", Password: "correct horse battery", Name: "Li Wei"})
	if err != nil {
		t.Fatal(err)
	}
	vm := mails.to("li.wei@example.org")
	if len(vm) == 0 {
		t.Fatal("no verification mail")
	}
	if err := f.srv.Shop.Verify(ctx, regexp.MustCompile(`tgv_[A-Za-z0-9_-]+`).FindString(vm[0].Body)); err != nil {
		t.Fatal(err)
	}
	a, _ = f.db.Account(ctx, a.ID)
	order, err := f.srv.Shop.Place(ctx, a, shop.OrderRequest{Event: 1042, Items: []pricing.Item{{Type: 1, Quantity: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	buyer.run("log in", chromedp.Navigate(base+"/login?lang=en"), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "li.wei@example.org"), chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("logout")),
		chromedp.Navigate(fmt.Sprintf("%s/orders/%d", base, order.ID)), chromedp.WaitVisible(chromedp.ID("contact")),
		chromedp.Click(chromedp.ID("contact")), chromedp.WaitVisible(chromedp.ID("support-form")))
	if v := buyer.js(`document.getElementById("order").value`); v != fmt.Sprint(order.ID) {
		t.Errorf("the form's order is %s, want %d", v, order.ID)
	}
	buyer.run("write", chromedp.SendKeys(chromedp.ID("subject"), "Two tickets, one name"), chromedp.SendKeys(chromedp.ID("body"), "Can my friend use the second ticket?"),
		chromedp.Click(chromedp.ID("send")), chromedp.WaitVisible(chromedp.ID("messages")))
	cs, _ := f.db.Conversations(ctx, store.ConversationFilter{Account: a.ID})
	if len(cs) != 1 || cs[0].Order != order.ID || cs[0].Channel != "web" || cs[0].Subject != "Two tickets, one name" {
		t.Fatalf("the order's conversation: %+v", cs)
	}
	ops.run("the order beside it", chromedp.Navigate(fmt.Sprintf("%s/ops/support/%d", base, cs[0].ID)), chromedp.WaitVisible(chromedp.ID("buyer-orders")))
	if !strings.Contains(ops.js(`document.getElementById("buyer-orders").innerHTML`), fmt.Sprintf(`/ops/orders?order=%d`, order.ID)) {
		t.Error("the buyer's order is not beside the conversation with its box-office link")
	}
	f.clock.Advance(10 * time.Minute)
	ops.run("answer by form", chromedp.SendKeys(chromedp.ID("chat-input"), "Yes, tickets are not named."), chromedp.Click(chromedp.ID("chat-send")))
	ops.poll("the answer sent", `document.getElementById("chat-log").textContent.includes("not named")`)
	buyer.run("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("messages")))
	if !strings.Contains(buyer.js(`document.getElementById("messages").textContent`), "not named") {
		t.Error("the buyer's conversation page does not show the answer")
	}
	m := mails.to("li.wei@example.org")
	for deadline := time.Now().Add(5 * time.Second); len(m) < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		m = mails.to("li.wei@example.org")
	}
	if len(m) < 2 || !strings.Contains(m[len(m)-1].Subject, "[ref:"+cs[0].Token+"]") {
		t.Errorf("the answer was not mailed with the conversation's token: %+v", m)
	}

	buyer.screens(base, [3]string{fmt.Sprintf("/support/%d", cs[0].ID), "#messages", "support-conversation"},
		[3]string{"/support", "#conversations", "support-list"}, [3]string{fmt.Sprintf("/support/new?order=%d", order.ID), "#support-form", "support-new"})
	ops.run("inbox", chromedp.Navigate(base+"/ops/support?status=all&lang=en"), chromedp.WaitVisible(chromedp.ID("median")))
	if m := ops.js(`document.getElementById("median").textContent`); m != "7 min" {
		t.Errorf("median first response %q, want 7 min (4 and 10)", m)
	}
	ops.screens(base, [3]string{"/ops/support?status=all", "#conversations", "ops-support"}, [3]string{fmt.Sprintf("/ops/support/%d", cs[0].ID), "#chat-log", "ops-support-conversation"})
}
