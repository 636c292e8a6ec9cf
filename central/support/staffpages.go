package support

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/web"
	"github.com/tixgate/tixgate/pricing"
)

// staffRender shows an ops screen of the desk with the ops bar.
func (d *Desk) staffRender(w http.ResponseWriter, r *http.Request, s staff.Session, name, title string, data any) {
	d.opsSite.Render(w, r, http.StatusOK, web.Page{Page: name, Title: title, Area: "area.ops", User: s.User, CSRF: s.CSRF,
		Nav: d.cfg.OpsNav("support"), LogoutPath: "/ops/logout", Data: data, Script: "chat"})
}

type inboxRow struct {
	ID                                 int64
	Subject, Status, Assignee, Channel string
	Buyer, Updated, Waiting            string
	Order                              int64
	Unanswered                         bool
}

type inboxData struct {
	Figures     store.SupportFigures
	Median      string
	Status      string
	Mine        bool
	Rows        []inboxRow
	StaffOnline int
	Statuses    []string
}

// inboxPage is the support inbox: the figures, then the conversations
// (open ones unless asked otherwise), latest first.
func (d *Desk) inboxPage(w http.ResponseWriter, r *http.Request, s staff.Session) {
	q := r.URL.Query()
	data := inboxData{Status: q.Get("status"), Mine: q.Get("mine") == "1", Statuses: []string{"open", "pending", "solved", "all"}}
	if !slices.Contains(data.Statuses, data.Status) {
		data.Status = "open"
	}
	f := store.ConversationFilter{Status: data.Status, Limit: 200}
	if data.Status == "all" {
		f.Status = ""
	}
	if data.Mine {
		f.Assignee = s.User
	}
	var err error
	if data.Figures, err = d.cfg.Store.SupportFigures(r.Context()); err != nil {
		d.internal(w, r, err)
		return
	}
	data.Median = duration(data.Figures.FirstResponseMedian, data.Figures.Answered > 0)
	cs, err := d.cfg.Store.Conversations(r.Context(), f)
	if err != nil {
		d.internal(w, r, err)
		return
	}
	loc, now := d.loc(r.Context()), d.now()
	for _, c := range cs {
		row := inboxRow{ID: c.ID, Subject: c.Subject, Status: c.Status, Assignee: c.Assignee, Channel: c.Channel, Order: c.Order,
			Updated: c.Updated.In(loc).Format("01-02 15:04"), Buyer: d.buyerName(r, c), Unanswered: c.FirstResponse.IsZero()}
		if c.Status == store.ConversationOpen {
			row.Waiting = duration(now.Sub(c.Updated), true)
		}
		data.Rows = append(data.Rows, row)
	}
	data.StaffOnline = d.Hub.StaffOnline()
	d.staffRender(w, r, s, "support-inbox", "support.inbox", data)
}

// duration is a short human duration: 45 s, 12 min, 3 h 5 min, 2 d 4 h.
func duration(v time.Duration, known bool) string {
	switch {
	case !known:
		return "–"
	case v < time.Minute:
		return fmt.Sprintf("%d s", int(v.Seconds()))
	case v < time.Hour:
		return fmt.Sprintf("%d min", int(v.Minutes()))
	case v < 48*time.Hour:
		return fmt.Sprintf("%d h %d min", int(v.Hours()), int(v.Minutes())%60)
	}
	return fmt.Sprintf("%d d %d h", int(v.Hours())/24, int(v.Hours())%24)
}

// buyerName is how the screens name a conversation's buyer.
func (d *Desk) buyerName(r *http.Request, c store.Conversation) string {
	if c.Account != 0 {
		if a, err := d.cfg.Store.Account(r.Context(), c.Account); err == nil {
			return strings.TrimSpace(strings.Join(nonEmpty(a.Name, a.Email, a.Phone), " · "))
		}
	}
	if c.Email != "" {
		return c.Email
	}
	return d.opsSite.T(r, "support.anonymous")
}

func nonEmpty(vs ...string) []string {
	var out []string
	for _, v := range vs {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

type buyerOrder struct {
	ID                         int64
	Event, Status, Total, When string
	Current, Cancellable       bool
}

type staffConvData struct {
	store.Conversation
	Buyer, Contact, Created string
	ContactShown            bool // the buyer's name has the address already
	Messages                []messageView
	Orders                  []buyerOrder
	MayAnswer, MayIssue     bool
	Staff                   []string
	Statuses                []string
	Error, Done             string
	Draft                   string
}

// staffConversation is one conversation for staff: the messages (live
// through the socket), the reply form, status and assignment, and the
// buyer's orders with the box office's actions.
func (d *Desk) staffConversation(w http.ResponseWriter, r *http.Request, s staff.Session) {
	d.showStaffConversation(w, r, s, "", "")
}

func (d *Desk) showStaffConversation(w http.ResponseWriter, r *http.Request, s staff.Session, errKey, draft string) {
	id, ok := pathID(r)
	var c store.Conversation
	var err error
	if ok {
		c, err = d.cfg.Store.Conversation(r.Context(), id)
	}
	if !ok || errors.Is(err, store.ErrNotFound) {
		http.Error(w, d.opsSite.T(r, "support.unknown"), http.StatusNotFound)
		return
	}
	if err != nil {
		d.internal(w, r, err)
		return
	}
	loc := d.loc(r.Context())
	data := staffConvData{Conversation: c, Buyer: d.buyerName(r, c), Contact: d.contact(r.Context(), c), Created: c.Created.In(loc).Format("2006-01-02 15:04"),
		MayAnswer: mayAnswer(s.Role), MayIssue: s.Role.MayIssue(), Statuses: []string{store.ConversationOpen, store.ConversationPending, store.ConversationSolved},
		Error: errKey, Draft: draft}
	data.ContactShown = strings.Contains(data.Buyer, data.Contact)
	if v := r.URL.Query().Get("done"); slices.Contains([]string{"support.replied", "support.assigned", "support.status_set"}, v) {
		data.Done = v
	}
	if data.Messages, err = d.messages(r, c.ID, loc); err != nil {
		d.internal(w, r, err)
		return
	}
	users, err := d.cfg.Store.Users(r.Context())
	if err != nil {
		d.internal(w, r, err)
		return
	}
	for _, u := range users {
		if u.Disabled.IsZero() && mayAnswer(staff.Role(u.Role)) {
			data.Staff = append(data.Staff, u.Name)
		}
	}
	if c.Account != 0 && d.cfg.Shop != nil {
		os, err := d.cfg.Shop.Orders(r.Context(), c.Account, 20)
		if err != nil {
			d.internal(w, r, err)
			return
		}
		lang := web.LangOf(r)
		for _, o := range os {
			bo := buyerOrder{ID: o.ID, Status: o.Status, When: o.Created.In(loc).Format("2006-01-02"), Current: o.ID == c.Order,
				Cancellable: o.Status == "paid" || o.Status == "pending_payment"}
			if ev, err := d.cfg.Store.Event(r.Context(), o.Event); err == nil {
				bo.Event = ev.Name
			}
			if cur, err := pricing.ParseCurrency(o.Currency); err == nil {
				bo.Total = pricing.New(o.Total, cur).Display(lang)
			}
			data.Orders = append(data.Orders, bo)
		}
	}
	d.staffRender(w, r, s, "support-conv", "support.conversation", data)
}

func (d *Desk) staffAction(w http.ResponseWriter, r *http.Request, do func(id int64) error, done string) {
	id, ok := pathID(r)
	if !ok {
		http.Error(w, d.opsSite.T(r, "support.unknown"), http.StatusNotFound)
		return
	}
	err := do(id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		http.Error(w, d.opsSite.T(r, "support.unknown"), http.StatusNotFound)
		return
	case err != nil:
		d.internal(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/ops/support/%d?done=%s", id, done), http.StatusSeeOther)
}

// staffReply answers from the form (without the script, or by mail).
func (d *Desk) staffReply(w http.ResponseWriter, r *http.Request, s staff.Session) {
	body := r.PostFormValue("body")
	id, _ := pathID(r)
	if _, err := clean(body, d.cfg.MaxMessage); err != nil && id > 0 {
		d.showStaffConversation(w, r, s, "support.empty", body)
		return
	}
	d.staffAction(w, r, func(id int64) error {
		_, err := d.Reply(r.Context(), s.User, id, body, "web")
		return err
	}, "support.replied")
}

func (d *Desk) staffAssign(w http.ResponseWriter, r *http.Request, s staff.Session) {
	to := strings.TrimSpace(r.PostFormValue("to"))
	if to == "me" {
		to = s.User
	}
	d.staffAction(w, r, func(id int64) error { return d.Assign(r.Context(), s.User, id, to) }, "support.assigned")
}

func (d *Desk) staffStatus(w http.ResponseWriter, r *http.Request, s staff.Session) {
	st := r.PostFormValue("status")
	if !slices.Contains([]string{store.ConversationOpen, store.ConversationPending, store.ConversationSolved}, st) {
		http.Error(w, d.opsSite.T(r, "support.bad_status"), http.StatusBadRequest)
		return
	}
	d.staffAction(w, r, func(id int64) error { return d.SetStatus(r.Context(), s.User, id, st) }, "support.status_set")
}
