package support

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
)

func send(tb testing.TB, c *websocket.Conn, v any) {
	tb.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		tb.Fatal(err)
	}
}

// next reads events until one of the type comes (5 s at most).
func next(tb testing.TB, c *websocket.Conn, typ string) event {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			tb.Fatalf("waiting for %s: %v", typ, err)
		}
		var e event
		if err := json.Unmarshal(b, &e); err != nil {
			tb.Fatal(err)
		}
		if e.Type == typ {
			return e
		}
	}
}

const chatCookie = ChatCookie + "=visitor-cookie-value-of-forty-characters-0001"

// The chat end to end over real sockets: with nobody online a visitor's
// message is stored as a conversation in the inbox and the chat says so;
// a staff member connects, the visitor sees staff online, their messages
// reach each other live, the reply is audited, and an auditor may read
// but not answer. A socket from another origin is refused.
func TestChat(t *testing.T) {
	for _, dialect := range dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, dialect, nil)
			buyer := f.dial(t, "/support/chat/ws", chatCookie)
			hello := next(t, buyer, "hello")
			if hello.StaffOnline == nil || *hello.StaffOnline || hello.Conv != 0 {
				t.Fatalf("hello %+v: want nobody online, no conversation", hello)
			}
			send(t, buyer, incoming{Body: "Is the venue step-free?", Email: "Visitor@Example.org", Ref: "m1"})
			mine := next(t, buyer, "message")
			off := next(t, buyer, "offline")
			if mine.Message == nil || mine.Message.Body != "Is the venue step-free?" || mine.Ref != "m1" || off.Conv != mine.Conv {
				t.Fatalf("echo %+v, offline %+v", mine, off)
			}
			cs, err := f.db.Conversations(ctx, store.ConversationFilter{Status: store.ConversationOpen})
			if err != nil || len(cs) != 1 || cs[0].Channel != "chat" || cs[0].Email != "visitor@example.org" || cs[0].ChatKey == "" || cs[0].ID != mine.Conv {
				t.Fatalf("inbox: %+v, %v", cs, err)
			}

			tok := f.staffToken(t, "mei", staff.BoxOffice)
			ops := f.dial(t, "/ops/support/ws", OpsSessionCookie+"="+tok)
			next(t, ops, "hello")
			if p := next(t, buyer, "presence"); p.StaffOnline == nil || !*p.StaffOnline {
				t.Fatalf("presence %+v: want staff online", p)
			}
			send(t, buyer, incoming{Body: "Hello?"})
			got := next(t, ops, "message")
			if got.Conv != mine.Conv || got.Message.Body != "Hello?" || got.Message.Kind != "buyer" {
				t.Fatalf("staff got %+v", got)
			}
			if echo := next(t, buyer, "message"); echo.Message.Body != "Hello?" {
				t.Fatalf("the buyer's own message came back as %+v", echo.Message)
			}
			send(t, ops, incoming{Conv: mine.Conv, Body: "Yes: gate B has a ramp."})
			ans := next(t, buyer, "message")
			if ans.Message == nil || ans.Message.Kind != "staff" || ans.Message.Author != "mei" || ans.Message.Body != "Yes: gate B has a ramp." {
				t.Fatalf("buyer got %+v", ans)
			}
			c, _ := f.db.Conversation(ctx, mine.Conv)
			if c.Status != store.ConversationPending || c.Assignee != "mei" || c.FirstResponse.IsZero() {
				t.Errorf("after the answer: %+v", c)
			}
			log, _ := f.db.AuditLog(ctx, 5)
			if len(log) == 0 || log[0].Action != "support.reply" || log[0].Actor != "mei" || log[0].Target != target(mine.Conv) {
				t.Errorf("audit: %+v", log)
			}

			// A second visit of the same browser continues the conversation.
			again := f.dial(t, "/support/chat/ws", chatCookie)
			if h := next(t, again, "hello"); h.Conv != mine.Conv || len(h.History) != 3 || !*h.StaffOnline {
				t.Errorf("hello again: %+v", h)
			}
			// Another browser does not see it.
			other := f.dial(t, "/support/chat/ws", ChatCookie+"=another-visitor-cookie-of-forty-characters-02")
			if h := next(t, other, "hello"); h.Conv != 0 || len(h.History) != 0 {
				t.Errorf("another browser's hello: %+v", h)
			}

			// A conversation's screen gets its history with the hello.
			view := f.dial(t, fmt.Sprintf("/ops/support/ws?conv=%d", mine.Conv), OpsSessionCookie+"="+tok)
			if h := next(t, view, "hello"); h.Conv != mine.Conv || len(h.History) != 3 || h.History[2].Author != "mei" {
				t.Errorf("the conversation screen's hello: %+v", h)
			}

			au := f.staffToken(t, "au", staff.Auditor)
			aud := f.dial(t, "/ops/support/ws", OpsSessionCookie+"="+au)
			next(t, aud, "hello")
			send(t, aud, incoming{Conv: mine.Conv, Body: "I only read"})
			if e := next(t, aud, "error"); e.Error != "support.may_not" {
				t.Errorf("auditor's reply: %+v", e)
			}
			send(t, ops, incoming{Conv: mine.Conv, Body: "   "})
			if e := next(t, ops, "error"); e.Error != "support.empty" {
				t.Errorf("empty reply: %+v", e)
			}

			// A flood from one socket is told to slow down, not stored.
			before, _ := f.db.SupportMessages(ctx, mine.Conv, 0)
			for i := range 12 {
				send(t, again, incoming{Body: fmt.Sprint("flood ", i)})
			}
			if e := next(t, again, "error"); e.Error != "support.slow_down" {
				t.Errorf("flood: %+v", e)
			}
			time.Sleep(100 * time.Millisecond)
			if after, _ := f.db.SupportMessages(ctx, mine.Conv, 0); len(after)-len(before) != 10 {
				t.Errorf("%d of 12 flooded messages stored, want the burst of 10", len(after)-len(before))
			}

			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			_, resp, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(f.http.URL, "http")+"/ops/support/ws",
				&websocket.DialOptions{HTTPHeader: http.Header{"Cookie": {OpsSessionCookie + "=" + tok}, "Origin": {"https://evil.example"}}})
			if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Errorf("a socket from another origin: %v, %v", resp, err)
			}
			_, resp, err = websocket.Dial(dctx, "ws"+strings.TrimPrefix(f.http.URL, "http")+"/ops/support/ws", nil)
			if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("a staff socket without a session: %v, %v", resp, err)
			}

			// A stopping server tells every socket to go away.
			f.desk.Close()
			for _, c := range []*websocket.Conn{buyer, ops, other} {
				for {
					if _, _, err := c.Read(dctx); err != nil {
						if websocket.CloseStatus(err) != websocket.StatusGoingAway {
							t.Errorf("socket ended with %v, want going away", err)
						}
						break
					}
				}
			}
		})
	}
}
