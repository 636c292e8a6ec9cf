package ops

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/web"
	"github.com/tixgate/tixgate/pricing"
)

type orderLine struct {
	Name     string
	Quantity int
	Total    string
}

type boxOfficeData struct {
	Query      string
	Searched   bool
	Found      bool
	MayIssue   bool
	ID         int64
	Buyer      string
	Event      string
	Status     string
	Total      string
	Method     string
	Created    string
	Expires    string
	PaidAt     string
	Lines      []orderLine
	Tickets    []ticketRow
	Docs       []orderDoc
	Error      string
	Done       string
	HasShopAPI bool
	Refunds    []string // the refunds made, one line each
}

// boxOffice finds an online order by its number, for the counter: a buyer
// who chose to pay at the box office shows it, staff take the money and
// mark it paid, and the tickets are issued; a paid one can be cancelled
// (a refund), which revokes its tickets at the gates.
func (u *UI) boxOffice(w http.ResponseWriter, r *http.Request, s staff.Session) {
	d := boxOfficeData{Query: strings.TrimSpace(r.URL.Query().Get("order")), MayIssue: s.Role.MayIssue(), HasShopAPI: u.cfg.Shop != nil}
	if v := r.URL.Query().Get("done"); v == "boxoffice.paid" || v == "boxoffice.cancelled" || v == "boxoffice.refunded" || v == "boxoffice.refund_pending" || v == "boxoffice.exchanged" {
		d.Done = v
	}
	if d.Query != "" && u.cfg.Shop != nil {
		d.Searched = true
		id, err := strconv.ParseInt(strings.TrimPrefix(d.Query, "#"), 10, 64)
		var o store.ShopOrder
		var tickets []store.Ticket
		if err == nil && id > 0 {
			o, tickets, err = u.cfg.Shop.Order(r.Context(), id)
		} else {
			err = shop.ErrNotFound
		}
		switch {
		case errors.Is(err, shop.ErrNotFound):
		case err != nil:
			u.internal(w, r, err)
			return
		default:
			if err := u.fillOrder(r, &d, o, tickets); err != nil {
				u.internal(w, r, err)
				return
			}
		}
	}
	u.site.Render(w, r, http.StatusOK, u.page(s, "boxoffice", "boxoffice.title", d))
}

func (u *UI) fillOrder(r *http.Request, d *boxOfficeData, o store.ShopOrder, tickets []store.Ticket) error {
	loc := time.UTC
	d.Found, d.ID, d.Status, d.Method = true, o.ID, o.Status, o.Method
	if a, err := u.cfg.Store.Account(r.Context(), o.Account); err == nil {
		d.Buyer = strings.TrimSpace(strings.Join([]string{a.Name, a.Email, a.Phone}, " "))
	}
	if ev, err := u.cfg.Store.Event(r.Context(), o.Event); err == nil {
		d.Event = ev.Name
		if l, err := time.LoadLocation(ev.TimeZone); err == nil {
			loc = l
		}
	}
	cur, _ := pricing.ParseCurrency(o.Currency)
	lang := web.LangOf(r)
	d.Total = pricing.New(o.Total, cur).Display(lang)
	d.Created, d.PaidAt = when(o.Created, loc), when(o.PaidAt, loc)
	if o.Status == shop.StatusPending {
		d.Expires = when(o.Expires, loc)
	}
	var q pricing.Quotation
	if json.Unmarshal(o.Quote, &q) == nil {
		for _, l := range q.Lines {
			d.Lines = append(d.Lines, orderLine{Name: l.Name, Quantity: l.Quantity, Total: l.Total.Display(lang)})
		}
	}
	d.Docs = u.orderDocs(r, o, loc)
	d.Refunds = u.refundRows(r, o, loc)
	for _, t := range tickets {
		d.Tickets = append(d.Tickets, ticketRow{Event: t.Event, Serial: t.Serial, Status: t.Status, Issued: when(t.IssuedAt, loc), Code: t.Code})
	}
	return nil
}

// boxOfficePaid marks a pending order paid: the money was taken at the
// counter.
func (u *UI) boxOfficePaid(w http.ResponseWriter, r *http.Request, s staff.Session) {
	u.boxOfficeAct(w, r, s, "order.paid_at_box_office", func(id int64) error {
		_, _, err := u.cfg.Shop.Pay(r.Context(), id, shop.MethodBoxOffice)
		return err
	}, "boxoffice.paid")
}

// boxOfficeCancel cancels an order: a paid one's tickets are revoked.
func (u *UI) boxOfficeCancel(w http.ResponseWriter, r *http.Request, s staff.Session) {
	u.boxOfficeAct(w, r, s, "order.cancel", func(id int64) error {
		_, err := u.cfg.Shop.Cancel(r.Context(), id, "order cancelled by the box office ("+s.User+")")
		return err
	}, "boxoffice.cancelled")
}

func (u *UI) boxOfficeAct(w http.ResponseWriter, r *http.Request, s staff.Session, action string, do func(int64) error, done string) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || u.cfg.Shop == nil {
		http.Error(w, u.site.T(r, "boxoffice.unknown"), http.StatusNotFound)
		return
	}
	err = do(id)
	switch {
	case errors.Is(err, shop.ErrNotFound):
		http.Error(w, u.site.T(r, "boxoffice.unknown"), http.StatusNotFound)
		return
	case errors.Is(err, shop.ErrExpired), errors.Is(err, shop.ErrState):
		http.Error(w, u.site.T(r, "boxoffice.state"), http.StatusConflict)
		return
	case err != nil:
		u.internal(w, r, err)
		return
	}
	err = u.cfg.Store.Update(r.Context(), func(tx *store.Tx) error {
		return tx.Audit(store.AuditEntry{At: u.cfg.Clock.Now(), Actor: s.User, Action: action, Target: fmt.Sprintf("order %d", id)})
	})
	if err != nil {
		u.cfg.Logger.Error("ops: audit of a box-office action", "order", id, "err", err)
	}
	http.Redirect(w, r, fmt.Sprintf("/ops/orders?order=%d&done=%s", id, done), http.StatusSeeOther)
}
