package support

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/store"
)

// The desk's errors that callers branch on.
var (
	// ErrEmpty is a message without text, or too long.
	ErrEmpty = errors.New("support: the message is empty or too long")
	// ErrNotYours is an order or conversation of someone else.
	ErrNotYours = errors.New("support: not the buyer's")
	// ErrAddress is a contact address that is not one.
	ErrAddress = errors.New("support: not a mail address")
)

// Opening is what a buyer's first message says.
type Opening struct {
	Account int64  // 0: not logged in
	Order   int64  // the order it is about, 0 for none: must be the account's
	Email   string // where to answer when there is no account (mail, a chat)
	ChatKey string // the chat cookie's hash, for a chat without a login
	Channel string // web, chat, mail
	Subject string // "": the start of Body
	Body    string
	Lang    string
}

// token is a conversation's secret for mail: 80 random bits.
func token() string {
	b := make([]byte, 10)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// clean checks a message's text: valid UTF-8, without control characters
// but line breaks and tabs, 1 to max characters once trimmed.
func clean(s string, max int) (string, error) {
	if !utf8.ValidString(s) {
		return "", ErrEmpty
	}
	s = strings.ReplaceAll(strings.TrimSpace(s), "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) {
			return r
		}
		return -1
	}, s)
	if n := utf8.RuneCountInString(s); n == 0 || n > max {
		return "", ErrEmpty
	}
	return s, nil
}

// subjectOf is a subject line from a message: its first line, cut.
func subjectOf(body string) string {
	line, _, _ := strings.Cut(body, "\n")
	r := []rune(strings.TrimSpace(line))
	if len(r) > 60 {
		return string(r[:59]) + "…"
	}
	return string(r)
}

func normalLang(l string) string {
	if l == "zh" {
		return "zh"
	}
	return "en"
}

// Open starts a conversation with the buyer's first message and tells the
// staff's sockets.
func (d *Desk) Open(ctx context.Context, o Opening) (store.Conversation, store.SupportMessage, error) {
	body, err := clean(o.Body, d.cfg.MaxMessage)
	if err != nil {
		return store.Conversation{}, store.SupportMessage{}, err
	}
	subject := strings.TrimSpace(o.Subject)
	if subject == "" {
		subject = subjectOf(body)
	}
	if subject, err = clean(strings.ReplaceAll(subject, "\n", " "), 200); err != nil {
		return store.Conversation{}, store.SupportMessage{}, err
	}
	if o.Email != "" {
		a, err := mail.ParseAddress(o.Email)
		if err != nil || a.Name != "" || len(a.Address) > 254 {
			return store.Conversation{}, store.SupportMessage{}, ErrAddress
		}
		o.Email = strings.ToLower(a.Address)
	}
	if o.Order != 0 {
		ord, err := d.cfg.Store.Order(ctx, o.Order)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (o.Account == 0 || ord.Account != o.Account)) {
			return store.Conversation{}, store.SupportMessage{}, ErrNotYours
		}
		if err != nil {
			return store.Conversation{}, store.SupportMessage{}, err
		}
	}
	now := d.now()
	c := store.Conversation{Token: token(), Account: o.Account, Order: o.Order, Email: o.Email, ChatKey: o.ChatKey, Channel: o.Channel,
		Subject: subject, Lang: normalLang(o.Lang), Status: store.ConversationOpen, Created: now, Updated: now}
	m := store.SupportMessage{At: now, AuthorKind: "buyer", Via: o.Channel, Body: body}
	err = d.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		id, err := tx.OpenConversation(c)
		if err != nil {
			return err
		}
		c.ID, m.Conversation = id, id
		m.ID, err = tx.AddSupportMessage(m)
		return err
	})
	if err != nil {
		return c, m, fmt.Errorf("support: open a conversation: %w", err)
	}
	d.cfg.Logger.Info("support: conversation opened", "conversation", c.ID, "channel", c.Channel, "order", c.Order)
	d.Hub.toStaff(event{Type: "message", Conv: c.ID, Subject: c.Subject, Status: c.Status, Message: view(m)})
	return c, m, nil
}

// BuyerWrites adds a buyer's message to their conversation (reopening it)
// and tells the staff's sockets and the buyer's other tabs.
func (d *Desk) BuyerWrites(ctx context.Context, c store.Conversation, body, via string) (store.SupportMessage, error) {
	body, err := clean(body, d.cfg.MaxMessage)
	if err != nil {
		return store.SupportMessage{}, err
	}
	m := store.SupportMessage{Conversation: c.ID, At: d.now(), AuthorKind: "buyer", Via: via, Body: body}
	err = d.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		var err error
		m.ID, err = tx.AddSupportMessage(m)
		return err
	})
	if err != nil {
		return m, fmt.Errorf("support: conversation %d: %w", c.ID, err)
	}
	e := event{Type: "message", Conv: c.ID, Subject: c.Subject, Status: store.ConversationOpen, Message: view(m)}
	d.Hub.toStaff(e)
	d.Hub.toBuyers(c.ID, e)
	return m, nil
}

// Reply is a staff member's answer: stored and audited together, pushed
// to the buyer's chat, and mailed when the buyer is not in it (or asked
// by mail or a form). A reply marks the conversation pending on the buyer
// unless set says otherwise.
func (d *Desk) Reply(ctx context.Context, actor string, id int64, body, via string) (store.SupportMessage, error) {
	body, err := clean(body, d.cfg.MaxMessage)
	if err != nil {
		return store.SupportMessage{}, err
	}
	c, err := d.cfg.Store.Conversation(ctx, id)
	if err != nil {
		return store.SupportMessage{}, err
	}
	now := d.now()
	m := store.SupportMessage{Conversation: id, At: now, AuthorKind: "staff", Author: actor, Via: via, Body: body}
	err = d.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		var err error
		if m.ID, err = tx.AddSupportMessage(m); err != nil {
			return err
		}
		if c.Assignee == "" {
			if err := tx.AssignConversation(id, actor, now); err != nil {
				return err
			}
		}
		if err := tx.SetConversationStatus(id, store.ConversationPending, now); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: actor, Action: "support.reply", Target: target(id),
			Detail: fmt.Sprintf("via %s, %d characters%s", via, utf8.RuneCountInString(body), orderNote(c))})
	})
	if err != nil {
		return m, fmt.Errorf("support: reply to conversation %d: %w", id, err)
	}
	if c.Assignee == "" {
		c.Assignee = actor
	}
	e := event{Type: "message", Conv: id, Subject: c.Subject, Status: store.ConversationPending, Assignee: c.Assignee, Message: view(m)}
	live := d.Hub.toBuyers(id, e)
	d.Hub.toStaff(e)
	if live == 0 || via != "chat" {
		d.mailBuyer(ctx, c, m)
	}
	return m, nil
}

func target(id int64) string { return fmt.Sprintf("conversation %d", id) }

func orderNote(c store.Conversation) string {
	if c.Order == 0 {
		return ""
	}
	return fmt.Sprintf(", order %d", c.Order)
}

// Assign gives a conversation to a staff member ("" to nobody), audited.
func (d *Desk) Assign(ctx context.Context, actor string, id int64, to string) error {
	if to != "" {
		if _, err := d.cfg.Store.UserByName(ctx, to); err != nil {
			return fmt.Errorf("support: assign conversation %d to %q: %w", id, to, err)
		}
	}
	now := d.now()
	err := d.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.AssignConversation(id, to, now); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: actor, Action: "support.assign", Target: target(id), Detail: "to " + orNobody(to)})
	})
	if err != nil {
		return fmt.Errorf("support: assign conversation %d: %w", id, err)
	}
	d.Hub.toStaff(event{Type: "assign", Conv: id, Assignee: to})
	return nil
}

func orNobody(s string) string {
	if s == "" {
		return "nobody"
	}
	return s
}

// SetStatus changes a conversation's status, audited.
func (d *Desk) SetStatus(ctx context.Context, actor string, id int64, status string) error {
	now := d.now()
	err := d.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.SetConversationStatus(id, status, now); err != nil {
			return err
		}
		return tx.Audit(store.AuditEntry{At: now, Actor: actor, Action: "support.status", Target: target(id), Detail: status})
	})
	if err != nil {
		return fmt.Errorf("support: conversation %d: %w", id, err)
	}
	e := event{Type: "status", Conv: id, Status: status}
	d.Hub.toStaff(e)
	d.Hub.toBuyers(id, e)
	return nil
}

// contact is where a conversation's answers are mailed: the account's
// address, else the one given.
func (d *Desk) contact(ctx context.Context, c store.Conversation) string {
	if c.Account != 0 {
		if a, err := d.cfg.Store.Account(ctx, c.Account); err == nil && a.Email != "" && a.DeletedAt.IsZero() {
			return a.Email
		}
	}
	return c.Email
}

// replyTo is the desk's address with the conversation's token.
func (d *Desk) replyTo(c store.Conversation) string {
	local, domain, ok := strings.Cut(d.cfg.Address, "@")
	if !ok {
		return ""
	}
	return local + "+" + c.Token + "@" + domain
}

// Ref is how a mail's subject names its conversation.
func Ref(tok string) string { return "[ref:" + tok + "]" }

// mailBuyer sends a staff answer by mail; a failure is logged, the answer
// stays on the conversation's page.
func (d *Desk) mailBuyer(ctx context.Context, c store.Conversation, m store.SupportMessage) {
	to := d.contact(ctx, c)
	if to == "" {
		d.cfg.Logger.Info("support: answer not mailed: the buyer left no address", "conversation", c.ID)
		return
	}
	lang := c.Lang
	link := strings.TrimRight(d.cfg.BaseURL, "/") + fmt.Sprintf("/support/%d", c.ID)
	if c.Account == 0 {
		link = strings.TrimRight(d.cfg.BaseURL, "/") + "/support/chat"
	}
	msg := shop.Message{To: to, ReplyTo: d.replyTo(c),
		Subject: d.word(lang, "support.mail_subject", "subject", c.Subject) + " " + Ref(c.Token),
		Body:    d.word(lang, "support.mail_body", "who", m.Author, "text", m.Body, "link", link)}
	if d.cfg.Mailer == nil {
		d.cfg.Logger.Warn("support: answer not mailed: no mailer configured", "conversation", c.ID)
		return
	}
	if err := d.cfg.Mailer.Send(ctx, msg); err != nil {
		d.cfg.Logger.Error("support: answer not mailed", "conversation", c.ID, "err", err)
	}
}
