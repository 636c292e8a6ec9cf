package support

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/smtp"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/testsrv"
)

// startSMTP serves the desk's mail on a loopback port for the test.
func startSMTP(tb testing.TB, d *Desk) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.ServeSMTP(ctx, l); close(done) }()
	tb.Cleanup(func() { cancel(); <-done })
	return l.Addr().String()
}

func mailTo(tb testing.TB, addr, from, to, msg string) error {
	tb.Helper()
	return smtp.SendMail(addr, nil, from, []string{to}, []byte(strings.ReplaceAll(msg, "\n", "\r\n")))
}

// waitFor polls until cond holds (5 s at most).
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	tb.Fatalf("timed out waiting for %s", what)
}

// Mail into the desk through real SMTP: a buyer's mail opens a
// conversation; the staff's answer goes out through the box office's
// mailer (mailpit) with the conversation's token in the subject and the
// Reply-To; the buyer's answer to that mail, quoting it, lands in the same
// conversation without the quote; a Chinese mail in GB18030 with an
// encoded subject reads right; an automatic reply is dropped; a mail
// without text is refused.
func TestIncomingMail(t *testing.T) {
	ctx := context.Background()
	mp := testsrv.StartMailpit(t)
	mailer := &shop.SMTP{Host: "127.0.0.1", Port: mp.SMTP, From: "tickets@shop.test", Insecure: true}
	f := newFixture(t, store.SQLite, mailer)
	addr := startSMTP(t, f.desk)

	err := mailTo(t, addr, "li@example.org", "support@shop.test", `From: Li Wei <Li@Example.org>
To: support@shop.test
Subject: Where are my tickets?
Content-Type: text/plain; charset=utf-8

I paid for order 12 but see no tickets.
`)
	if err != nil {
		t.Fatal(err)
	}
	var c store.Conversation
	waitFor(t, "the conversation", func() bool {
		cs, _ := f.db.Conversations(ctx, store.ConversationFilter{})
		if len(cs) == 1 {
			c = cs[0]
		}
		return len(cs) == 1
	})
	if c.Channel != "mail" || c.Email != "li@example.org" || c.Subject != "Where are my tickets?" || c.Status != store.ConversationOpen || c.Account != 0 {
		t.Fatalf("conversation %+v", c)
	}

	if err := f.staffAdd(t, "mei"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.desk.Reply(ctx, "mei", c.ID, "They are on your order page now.", "web"); err != nil {
		t.Fatal(err)
	}
	body := mp.Message(t, "li@example.org", Ref(c.Token))
	if !strings.Contains(body, "They are on your order page now.") || !strings.Contains(body, "mei") {
		t.Errorf("the answer's mail: %q", body)
	}
	replyTo := mailReplyTo(t, mp, Ref(c.Token))
	if want := "support+" + c.Token + "@shop.test"; !strings.Contains(replyTo, want) {
		t.Errorf("Reply-To %q, want %s", replyTo, want)
	}

	// The buyer answers the mail: to the Reply-To, quoting it.
	err = mailTo(t, addr, "li@example.org", "support+"+c.Token+"@shop.test", fmt.Sprintf(`From: li@example.org
To: support+%s@shop.test
Subject: Re: Where are my tickets? %s
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Found them, thank you!=20

On Fri, 12 Jun 2026 at 18:00, tixgate wrote:
> They are on your order page now.
`, c.Token, Ref(c.Token)))
	if err != nil {
		t.Fatal(err)
	}
	var ms []store.SupportMessage
	waitFor(t, "the answer filed", func() bool {
		ms, _ = f.db.SupportMessages(ctx, c.ID, 0)
		return len(ms) == 3
	})
	if ms[2].Body != "Found them, thank you!" || ms[2].Via != "mail" || ms[2].AuthorKind != "buyer" {
		t.Errorf("filed answer: %+v", ms[2])
	}
	if c2, _ := f.db.Conversation(ctx, c.ID); c2.Status != store.ConversationOpen {
		t.Errorf("status %s after the buyer's answer, want open", c2.Status)
	}

	// The subject's token alone is enough, whatever the recipient.
	err = mailTo(t, addr, "li@example.org", "help@shop.test", "From: li@example.org\nSubject: Re: "+Ref(c.Token)+"\n\nOne more thing.\n")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the subject's token", func() bool {
		ms, _ = f.db.SupportMessages(ctx, c.ID, 0)
		return len(ms) == 4
	})

	// GB18030, base64, an encoded-word subject.
	err = mailTo(t, addr, "wang@example.cn", "support@shop.test", `From: =?UTF-8?B?546L5bCP5piO?= <wang@example.cn>
To: support@shop.test
Subject: =?UTF-8?B?6YCA56Wo?=
MIME-Version: 1.0
Content-Type: text/plain; charset=GB18030
Content-Transfer-Encoding: base64

ztLP683LxrGjrNC70LujoQ==
`)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the Chinese mail", func() bool {
		cs, _ := f.db.Conversations(ctx, store.ConversationFilter{})
		if len(cs) == 2 {
			c = cs[0]
		}
		return len(cs) == 2
	})
	ms, _ = f.db.SupportMessages(ctx, c.ID, 0)
	if c.Subject != "退票" || c.Lang != "zh" || len(ms) != 1 || ms[0].Body != "我想退票，谢谢！" {
		t.Errorf("Chinese mail: %+v %+v", c, ms)
	}

	// An out-of-office reply is taken and dropped; a mail without text
	// is refused with a permanent error.
	if err := mailTo(t, addr, "robot@example.org", "support@shop.test", "From: robot@example.org\nAuto-Submitted: auto-replied\nSubject: Out of office\n\nAway.\n"); err != nil {
		t.Errorf("auto reply refused: %v", err)
	}
	err = mailTo(t, addr, "x@example.org", "support@shop.test", "From: x@example.org\nSubject: empty\n\n> only a quote\n")
	if err == nil || !regexp.MustCompile(`^55\d`).MatchString(err.Error()) {
		t.Errorf("a mail without text: %v, want a 55x refusal", err)
	}
	time.Sleep(100 * time.Millisecond)
	if cs, _ := f.db.Conversations(ctx, store.ConversationFilter{}); len(cs) != 2 {
		t.Errorf("%d conversations, want 2 (the robot's and the empty mail not filed)", len(cs))
	}
}

func (f *fixture) staffAdd(tb testing.TB, name string) error {
	tb.Helper()
	return f.staff.Add(context.Background(), name, "box_office", "correct horse battery", "test")
}

// mailReplyTo is the Reply-To of the latest mail in mailpit whose subject
// has subject, read through its API.
func mailReplyTo(tb testing.TB, mp *testsrv.Mailpit, subject string) string {
	tb.Helper()
	var list struct {
		Messages []struct{ ID, Subject string } `json:"messages"`
	}
	get := func(path string, v any) {
		resp, err := http.Get(mp.API + path)
		if err != nil {
			tb.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			tb.Fatal(err)
		}
	}
	get("/api/v1/messages", &list)
	for _, m := range list.Messages {
		if strings.Contains(m.Subject, subject) {
			var msg struct {
				ReplyTo []struct{ Address string }
			}
			get("/api/v1/message/"+m.ID, &msg)
			var out []string
			for _, a := range msg.ReplyTo {
				out = append(out, a.Address)
			}
			return strings.Join(out, ", ")
		}
	}
	tb.Fatalf("no mail about %q", subject)
	return ""
}
