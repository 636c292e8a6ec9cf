package support

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
)

// do sends a request with a cookie, without following redirects.
func (f *fixture) do(tb testing.TB, method, path, cookie string, form url.Values) (int, string, string) {
	tb.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, f.http.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// buyerSession registers a buyer and logs them in.
func (f *fixture) buyerSession(tb testing.TB, email string) (store.Account, string) {
	tb.Helper()
	ctx := context.Background()
	a, err := f.shop.Register(ctx, shop.Registration{Email: email, Password: "correct horse battery"})
	if err != nil {
		tb.Fatal(err)
	}
	tok, _, err := f.shop.Login(ctx, email, "correct horse battery")
	if err != nil {
		tb.Fatal(err)
	}
	return a, tok
}

// The pages' guards: a buyer's pages need a login and show only their own
// conversations; forms need the session's token; staff screens need a
// session, an auditor reads but does not answer, assign or change a
// status, and every staff action is audited.
func TestPagesAndRoles(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, dialect, nil)
			if code, loc, _ := f.do(t, "GET", "/support", "", nil); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?next=") {
				t.Errorf("GET /support without a login: %d %s", code, loc)
			}
			li, liTok := f.buyerSession(t, "li@example.org")
			_, wangTok := f.buyerSession(t, "wang@example.org")
			liCookie := ShopSessionCookie + "=" + liTok
			form := url.Values{"csrf": {"csrf-" + liTok}, "subject": {"Refund?"}, "body": {"Can I get my money back?"}}
			code, loc, _ := f.do(t, "POST", "/support", liCookie, form)
			if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/support/") {
				t.Fatalf("open: %d %s", code, loc)
			}
			cs, _ := f.db.Conversations(ctx, store.ConversationFilter{Account: li.ID})
			if len(cs) != 1 || cs[0].Subject != "Refund?" {
				t.Fatalf("li's conversations: %+v", cs)
			}
			path := fmt.Sprintf("/support/%d", cs[0].ID)
			if code, _, body := f.do(t, "GET", path, liCookie, nil); code != http.StatusOK || !strings.Contains(body, "Can I get my money back?") {
				t.Errorf("li's own conversation: %d", code)
			}
			if code, _, body := f.do(t, "GET", path, ShopSessionCookie+"="+wangTok, nil); code != http.StatusNotFound || strings.Contains(body, "money back") {
				t.Errorf("another buyer's view of it: %d", code)
			}
			if code, _, _ := f.do(t, "POST", path, ShopSessionCookie+"="+wangTok, url.Values{"csrf": {"csrf-" + wangTok}, "body": {"mine now"}}); code != http.StatusNotFound {
				t.Errorf("another buyer writing to it: %d", code)
			}
			if code, _, _ := f.do(t, "POST", path, liCookie, url.Values{"csrf": {"wrong"}, "body": {"x"}}); code != http.StatusForbidden {
				t.Errorf("a form without the session's token: %d", code)
			}
			if code, _, _ := f.do(t, "POST", "/support", liCookie, url.Values{"csrf": {"csrf-" + liTok}, "body": {"x"}, "order": {"99"}}); code != http.StatusUnprocessableEntity {
				t.Errorf("a conversation about someone else's order: %d", code)
			}

			if code, loc, _ := f.do(t, "GET", "/ops/support", "", nil); code != http.StatusSeeOther || loc != "/ops/login" {
				t.Errorf("the inbox without a session: %d %s", code, loc)
			}
			auTok := f.staffToken(t, "au", staff.Auditor)
			au, _ := f.staff.Session(ctx, auTok)
			auCookie := OpsSessionCookie + "=" + auTok
			if code, _, body := f.do(t, "GET", "/ops/support", auCookie, nil); code != http.StatusOK || !strings.Contains(body, "Refund?") {
				t.Errorf("the auditor's inbox: %d", code)
			}
			if code, _, body := f.do(t, "GET", fmt.Sprintf("/ops/support/%d", cs[0].ID), auCookie, nil); code != http.StatusOK || !strings.Contains(body, `id="readonly"`) {
				t.Errorf("the auditor's view: %d", code)
			}
			for _, act := range []string{"reply", "assign", "status"} {
				p := fmt.Sprintf("/ops/support/%d/%s", cs[0].ID, act)
				if code, _, _ := f.do(t, "POST", p, auCookie, url.Values{"csrf": {au.CSRF}, "body": {"x"}, "to": {"au"}, "status": {"solved"}}); code != http.StatusForbidden {
					t.Errorf("auditor POST %s: %d, want 403", act, code)
				}
			}

			meiTok := f.staffToken(t, "mei", staff.BoxOffice)
			mei, _ := f.staff.Session(ctx, meiTok)
			meiCookie := OpsSessionCookie + "=" + meiTok
			base := fmt.Sprintf("/ops/support/%d/", cs[0].ID)
			if code, _, _ := f.do(t, "POST", base+"reply", meiCookie, url.Values{"csrf": {"stale"}, "body": {"x"}}); code != http.StatusForbidden {
				t.Errorf("a reply without the session's token: %d", code)
			}
			for _, s := range []struct {
				act  string
				form url.Values
			}{
				{"assign", url.Values{"to": {"me"}}},
				{"reply", url.Values{"body": {"Yes, within 7 days."}}},
				{"status", url.Values{"status": {"solved"}}},
			} {
				s.form.Set("csrf", mei.CSRF)
				if code, _, _ := f.do(t, "POST", base+s.act, meiCookie, s.form); code != http.StatusSeeOther {
					t.Errorf("mei's %s: %d", s.act, code)
				}
			}
			if code, _, _ := f.do(t, "POST", base+"status", meiCookie, url.Values{"csrf": {mei.CSRF}, "status": {"deleted"}}); code != http.StatusBadRequest {
				t.Errorf("an unknown status: %d", code)
			}
			c, _ := f.db.Conversation(ctx, cs[0].ID)
			if c.Status != store.ConversationSolved || c.Assignee != "mei" || c.FirstResponse.IsZero() {
				t.Errorf("after mei's actions: %+v", c)
			}
			log, _ := f.db.AuditLog(ctx, 10)
			var got []string
			for _, e := range log {
				if strings.HasPrefix(e.Action, "support.") && e.Actor == "mei" && e.Target == target(cs[0].ID) {
					got = append([]string{e.Action}, got...)
				}
			}
			if want := "support.assign support.reply support.status"; strings.Join(got, " ") != want {
				t.Errorf("audited %q, want %q", strings.Join(got, " "), want)
			}
			if code, _, body := f.do(t, "GET", path, liCookie, nil); code != http.StatusOK || !strings.Contains(body, "Yes, within 7 days.") {
				t.Errorf("the buyer does not see the answer: %d", code)
			}

			// A chat begun before logging in becomes the account's.
			visitor := ChatCookie + "=a-visitor-who-logs-in-later-forty-chars-003"
			code, _, _ = f.do(t, "POST", "/support/chat", visitor+"; tixgate_csrf=form-token-of-thirty-two-chars-000", url.Values{"csrf": {"form-token-of-thirty-two-chars-000"}, "body": {"Before I log in"}})
			if code != http.StatusSeeOther {
				t.Fatalf("the chat's form without the script: %d", code)
			}
			if code, _, body := f.do(t, "GET", "/support/chat", visitor+"; "+liCookie, nil); code != http.StatusOK || !strings.Contains(body, "Before I log in") {
				t.Errorf("after logging in the chat is gone: %d", code)
			}
			if cs, _ := f.db.Conversations(ctx, store.ConversationFilter{Account: li.ID}); len(cs) != 2 || cs[0].Channel != "chat" {
				t.Errorf("li's conversations after the chat: %+v", cs)
			}
		})
	}
}
