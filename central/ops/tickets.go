package ops

import (
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
)

type ticketRow struct {
	Event, Serial   uint64
	Type, Holder    string
	Status          string
	Issued, Revoked string
	Code            string
	QR              template.URL // the code drawn, on the issued page
}

// IssuedQRs is the most tickets the issued page draws as QR codes, for
// the box office to print or show; more are listed by their codes only.
const IssuedQRs = 20

type typeChoice struct {
	Value, Label string // "EVENT/TYPE", "event name · type name"
}

type ticketsData struct {
	base
	Events                 []eventRow
	Types                  []typeChoice
	Event                  uint64
	Serial, Holder         string
	Searched               bool
	Rows                   []ticketRow
	IssueType, IssueHolder string
	IssueCount             int
}

// ticketsPage fills the search and issue forms and runs the search the
// query asks for.
func (u *UI) ticketsPage(r *http.Request, s staff.Session) (ticketsData, map[uint64]map[uint64]string, *time.Location, error) {
	b, v, loc, err := u.venue(r, s)
	d := ticketsData{base: b, IssueCount: 1}
	names := map[uint64]map[uint64]string{}
	if err != nil || v.Name == "" {
		return d, names, loc, err
	}
	evs, err := u.cfg.Store.Events(r.Context(), v.Name)
	if err != nil {
		return d, names, loc, err
	}
	for _, e := range evs {
		d.Events = append(d.Events, eventRowOf(e))
		tts, err := u.cfg.Store.TicketTypes(r.Context(), e.ID)
		if err != nil {
			return d, names, loc, err
		}
		names[e.ID] = map[uint64]string{}
		for _, tt := range tts {
			names[e.ID][tt.ID] = tt.Name
			d.Types = append(d.Types, typeChoice{Value: fmt.Sprintf("%d/%d", e.ID, tt.ID), Label: e.Name + " · " + tt.Name})
		}
	}
	return d, names, loc, nil
}

func rowOf(t store.Ticket, names map[uint64]map[uint64]string, loc *time.Location) ticketRow {
	typ := names[t.Event][t.Type]
	if typ == "" {
		typ = "#" + strconv.FormatUint(t.Type, 10)
	}
	return ticketRow{Event: t.Event, Serial: t.Serial, Type: typ, Holder: t.Holder, Status: t.Status, Issued: when(t.IssuedAt, loc), Revoked: when(t.RevokedAt, loc), Code: t.Code}
}

func (u *UI) ticketList(w http.ResponseWriter, r *http.Request, s staff.Session) {
	d, names, loc, err := u.ticketsPage(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	d.Done = r.FormValue("done")
	q := r.URL.Query()
	d.Serial, d.Holder = strings.TrimSpace(q.Get("serial")), strings.TrimSpace(q.Get("holder"))
	d.Event, _ = strconv.ParseUint(q.Get("event"), 10, 64)
	if d.Serial != "" || d.Holder != "" || q.Has("event") {
		d.Searched = true
		serial, err := strconv.ParseUint(d.Serial, 10, 64)
		if d.Serial != "" && (err != nil || serial == 0) {
			d.Error = u.site.T(r, "tickets.error.serial", "serial", d.Serial)
		} else {
			ts, err := u.cfg.Store.SearchTickets(r.Context(), store.TicketSearch{Event: d.Event, Serial: serial, Holder: d.Holder})
			if err != nil {
				u.internal(w, r, err)
				return
			}
			for _, t := range ts {
				if _, ours := names[t.Event]; ours {
					d.Rows = append(d.Rows, rowOf(t, names, loc))
				}
			}
		}
	}
	u.site.Render(w, r, http.StatusOK, u.page(s, "tickets", "tickets.title", d))
}

type issuedData struct {
	base
	Count, First, Last uint64
	Type               string
	Rows               []ticketRow
}

// ticketIssue issues tickets of one type, signed by central's issuer key
// and sent to the venue's devices with the next manifest pull.
func (u *UI) ticketIssue(w http.ResponseWriter, r *http.Request, s staff.Session) {
	d, names, loc, err := u.ticketsPage(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	d.IssueType, d.IssueHolder = r.PostFormValue("type"), strings.TrimSpace(r.PostFormValue("holder"))
	d.IssueCount, _ = strconv.Atoi(r.PostFormValue("count"))
	ev, typ, _ := strings.Cut(d.IssueType, "/")
	event, err1 := strconv.ParseUint(ev, 10, 64)
	tt, err2 := strconv.ParseUint(typ, 10, 64)
	if _, known := names[event][tt]; err1 != nil || err2 != nil || !known {
		err = errors.New(u.site.T(r, "tickets.error.type"))
	} else if d.IssueCount < 1 || d.IssueCount > 1000 {
		err = errors.New(u.site.T(r, "tickets.error.count"))
	}
	var ts []store.Ticket
	if err == nil {
		ts, err = u.cfg.Catalog.IssueTickets(r.Context(), catalog.Issue{Event: event, Type: tt, Count: d.IssueCount, Holder: d.IssueHolder, By: s.User})
	}
	if err != nil {
		d.Error = err.Error()
		u.site.Render(w, r, http.StatusBadRequest, u.page(s, "tickets", "tickets.title", d))
		return
	}
	out := issuedData{base: d.base, Count: uint64(len(ts)), First: ts[0].Serial, Last: ts[len(ts)-1].Serial, Type: names[event][tt]}
	for _, t := range ts {
		row := rowOf(t, names, loc)
		if u.cfg.QR != nil && len(ts) <= IssuedQRs {
			if png, err := u.cfg.QR(t.Code, 240); err == nil {
				row.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)) // made here, not from input
			}
		}
		out.Rows = append(out.Rows, row)
	}
	u.site.Render(w, r, http.StatusOK, u.page(s, "issued", "tickets.issued_title", out))
}

func (u *UI) ticketRevoke(w http.ResponseWriter, r *http.Request, s staff.Session) {
	event, err1 := strconv.ParseUint(r.PathValue("event"), 10, 64)
	serial, err2 := strconv.ParseUint(r.PathValue("serial"), 10, 64)
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		reason = "revoked at central"
	}
	var err error
	if err1 != nil || err2 != nil {
		err = store.ErrNotFound
	} else {
		_, err = u.cfg.Store.Ticket(r.Context(), event, serial)
	}
	if err == nil {
		err = u.cfg.Catalog.RevokeTicketAs(r.Context(), s.User, event, serial, reason)
	}
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, u.site.T(r, "tickets.unknown"), http.StatusNotFound)
		return
	}
	if err != nil {
		u.internal(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/ops/tickets?event=%d&serial=%d&done=tickets.revoked", event, serial), http.StatusSeeOther)
}
