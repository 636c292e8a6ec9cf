package support

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/web"
)

func urlQuery(s string) string { return url.QueryEscape(s) }

// shopData is what the desk's storefront pages carry.
type shopData struct {
	Buyer bool
	Error string // a catalog key
	Done  string // a catalog key
	Next  string
	Page  any
}

// render shows a storefront page of the desk, with the storefront's bar.
func (d *Desk) render(w http.ResponseWriter, r *http.Request, status int, b *buyer, name, title string, sd shopData) {
	sd.Buyer = b != nil
	p := web.Page{Page: name, Title: title, Area: "area.shop", Data: sd}
	if name == "sp-chat" {
		p.Script = "chat"
	}
	if b != nil {
		p.User, p.CSRF, p.LogoutPath = b.label(), d.cfg.BuyerCSRF(b.token), "/logout"
		p.Nav = []web.NavItem{{Href: "/", Label: "nav.events"}, {Href: "/orders", Label: "nav.orders"}, {Href: "/tickets/", Label: "nav.tickets"},
			{Href: "/help", Label: "nav.help", Current: true}}
	} else {
		p.CSRF = d.shopSite.FormToken(w, r)
	}
	d.shopSite.Render(w, r, status, p)
}

func (d *Desk) shopMessage(w http.ResponseWriter, r *http.Request, status int, b *buyer, key string) {
	d.render(w, r, status, b, "sp-message", "support.title", shopData{Error: key})
}

type convRow struct {
	ID                       int64
	Subject, Status, Updated string
	Order                    int64
}

type listView struct {
	Rows   []convRow
	Orders []orderChoice
	Order  int64
	Form   struct{ Subject, Body string }
}

type orderChoice struct {
	ID    int64
	Label string
}

// listPage is a buyer's conversations, newest first, and the form to
// start one.
func (d *Desk) listPage(w http.ResponseWriter, r *http.Request, b *buyer) {
	v, err := d.listView(r, b)
	if err != nil {
		d.internal(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, b, "sp-list", "support.title", shopData{Page: v, Done: doneKey(r)})
}

func doneKey(r *http.Request) string {
	if v := r.URL.Query().Get("done"); v == "support.sent" || v == "support.opened" {
		return v
	}
	return ""
}

func (d *Desk) listView(r *http.Request, b *buyer) (*listView, error) {
	cs, err := d.cfg.Store.Conversations(r.Context(), store.ConversationFilter{Account: b.ID, Limit: 50})
	if err != nil {
		return nil, err
	}
	loc := d.loc(r.Context())
	v := &listView{}
	for _, c := range cs {
		v.Rows = append(v.Rows, convRow{ID: c.ID, Subject: c.Subject, Status: c.Status, Updated: c.Updated.In(loc).Format("2006-01-02 15:04"), Order: c.Order})
	}
	os, err := d.cfg.Shop.Orders(r.Context(), b.ID, 20)
	if err != nil {
		return nil, err
	}
	for _, o := range os {
		label := d.shopSite.T(r, "support.order_label", "id", o.ID)
		if ev, err := d.cfg.Store.Event(r.Context(), o.Event); err == nil {
			label += " · " + ev.Name
		}
		v.Orders = append(v.Orders, orderChoice{ID: o.ID, Label: label})
	}
	return v, nil
}

// newPage is the form alone (from an order's "Contact us").
func (d *Desk) newPage(w http.ResponseWriter, r *http.Request, b *buyer) {
	v, err := d.listView(r, b)
	if err != nil {
		d.internal(w, r, err)
		return
	}
	v.Order, _ = strconv.ParseInt(r.URL.Query().Get("order"), 10, 64)
	d.render(w, r, http.StatusOK, b, "sp-new", "support.new", shopData{Page: v})
}

// create opens a conversation from the form.
func (d *Desk) create(w http.ResponseWriter, r *http.Request, b *buyer) {
	order, _ := strconv.ParseInt(r.PostFormValue("order"), 10, 64)
	c, _, err := d.Open(r.Context(), Opening{Account: b.ID, Order: order, Channel: "web", Subject: r.PostFormValue("subject"), Body: r.PostFormValue("body"), Lang: web.LangOf(r)})
	if err != nil {
		key := "support.failed"
		switch {
		case errors.Is(err, ErrEmpty):
			key = "support.empty"
		case errors.Is(err, ErrNotYours):
			key = "support.not_yours"
		default:
			d.cfg.Logger.Error("support: open", "err", err)
		}
		v, lerr := d.listView(r, b)
		if lerr != nil {
			d.internal(w, r, lerr)
			return
		}
		v.Order = order
		v.Form.Subject, v.Form.Body = r.PostFormValue("subject"), r.PostFormValue("body")
		d.render(w, r, http.StatusUnprocessableEntity, b, "sp-new", "support.new", shopData{Page: v, Error: key})
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/support/%d?done=support.opened", c.ID), http.StatusSeeOther)
}

type convView struct {
	store.Conversation
	Messages []messageView
	Created  string
	Body     string
}

// mine is the buyer's conversation of the path, or false (404) for
// anyone else's.
func (d *Desk) mine(w http.ResponseWriter, r *http.Request, b *buyer) (store.Conversation, bool) {
	id, ok := pathID(r)
	var c store.Conversation
	var err error
	if ok {
		c, err = d.cfg.Store.Conversation(r.Context(), id)
	}
	if !ok || errors.Is(err, store.ErrNotFound) || (err == nil && c.Account != b.ID) {
		d.shopMessage(w, r, http.StatusNotFound, b, "support.unknown")
		return c, false
	}
	if err != nil {
		d.internal(w, r, err)
		return c, false
	}
	return c, true
}

func (d *Desk) messages(r *http.Request, id int64, loc *time.Location) ([]messageView, error) {
	ms, err := d.cfg.Store.SupportMessages(r.Context(), id, 0)
	if err != nil {
		return nil, err
	}
	out := make([]messageView, 0, len(ms))
	for _, m := range ms {
		v := view(m)
		v.Clock = m.At.In(loc).Format("01-02 15:04")
		out = append(out, *v)
	}
	return out, nil
}

// conversationPage is one conversation for its buyer, with the form to
// write more.
func (d *Desk) conversationPage(w http.ResponseWriter, r *http.Request, b *buyer) {
	c, ok := d.mine(w, r, b)
	if !ok {
		return
	}
	d.showConversation(w, r, b, c, http.StatusOK, "", "")
}

func (d *Desk) showConversation(w http.ResponseWriter, r *http.Request, b *buyer, c store.Conversation, status int, errKey, body string) {
	loc := d.loc(r.Context())
	ms, err := d.messages(r, c.ID, loc)
	if err != nil {
		d.internal(w, r, err)
		return
	}
	v := convView{Conversation: c, Messages: ms, Created: c.Created.In(loc).Format("2006-01-02 15:04"), Body: body}
	d.render(w, r, status, b, "sp-conv", "support.title", shopData{Page: v, Error: errKey, Done: doneKey(r)})
}

// buyerReply adds the buyer's message from the conversation's form.
func (d *Desk) buyerReply(w http.ResponseWriter, r *http.Request, b *buyer) {
	c, ok := d.mine(w, r, b)
	if !ok {
		return
	}
	if _, err := d.BuyerWrites(r.Context(), c, r.PostFormValue("body"), "web"); err != nil {
		if !errors.Is(err, ErrEmpty) {
			d.internal(w, r, err)
			return
		}
		d.showConversation(w, r, b, c, http.StatusUnprocessableEntity, "support.empty", r.PostFormValue("body"))
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/support/%d?done=support.sent", c.ID), http.StatusSeeOther)
}

type chatView struct {
	Messages []messageView
	Online   bool
	Email    string
}

// chatPage is the live chat; without a login it gives the browser its
// chat cookie. The history is on the page, so it reads without the script.
func (d *Desk) chatPage(w http.ResponseWriter, r *http.Request) {
	b, err := d.who(r)
	if err != nil {
		d.internal(w, r, err)
		return
	}
	if b == nil {
		d.ensureChatCookie(w, r)
	}
	_, _, c, err := d.chatOf(r)
	if err != nil {
		d.internal(w, r, err)
		return
	}
	v := chatView{Online: d.Hub.StaffOnline() > 0, Email: c.Email}
	if c.ID != 0 {
		if v.Messages, err = d.messages(r, c.ID, d.loc(r.Context())); err != nil {
			d.internal(w, r, err)
			return
		}
	}
	d.render(w, r, http.StatusOK, b, "sp-chat", "support.chat", shopData{Page: v, Done: doneKey(r)})
}

// chatPost is the chat's form without the script: the message is stored
// as the socket would store it.
func (d *Desk) chatPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	b, key, c, err := d.chatOf(r)
	if err != nil {
		d.internal(w, r, err)
		return
	}
	want := ""
	if b != nil {
		want = d.cfg.BuyerCSRF(b.token)
	}
	if (b == nil && key == "") || !web.CheckForm(r, want) {
		d.shopMessage(w, r, http.StatusForbidden, b, "support.stale")
		return
	}
	body := r.PostFormValue("body")
	if c.ID == 0 {
		var account int64
		if b != nil {
			account = b.ID
		}
		_, _, err = d.Open(r.Context(), Opening{Account: account, Email: strings.TrimSpace(r.PostFormValue("email")), ChatKey: key, Channel: "chat", Body: body, Lang: web.LangOf(r)})
	} else {
		_, err = d.BuyerWrites(r.Context(), c, body, "chat")
	}
	switch {
	case errors.Is(err, ErrEmpty):
		d.shopMessage(w, r, http.StatusUnprocessableEntity, b, "support.empty")
		return
	case errors.Is(err, ErrAddress):
		d.shopMessage(w, r, http.StatusUnprocessableEntity, b, "support.bad_email")
		return
	case err != nil:
		d.internal(w, r, err)
		return
	}
	http.Redirect(w, r, "/support/chat?done=support.sent", http.StatusSeeOther)
}
