package ops

import (
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger/record"
)

type ticketRow struct {
	Event, Serial   uint64
	Type, Holder    string
	Status          string
	Issued, Revoked string
	Code            string
	QR              template.URL // the code drawn, on the issued page
	// On a search that finds few tickets: what the venue's devices
	// recorded of each, and its open conflicts.
	Detailed  bool
	History   []passageRow
	Conflicts []conflictRow
}

type passageRow struct {
	At, Kind, Gate, Device string
}

// TicketDetails is the most tickets a search shows with their records and
// conflicts: a search for one ticket shows them, a broad one a list.
const TicketDetails = 5

// detail adds a ticket's records, in time order, and its open conflicts.
func (u *UI) detail(r *http.Request, row *ticketRow, venue string, names map[string]string, loc *time.Location) error {
	var recs []store.Record
	if err := u.cfg.Store.Records(r.Context(), row.Event, row.Serial, func(rec store.Record, _ time.Time, _ string) error {
		recs = append(recs, rec)
		return nil
	}); err != nil {
		return err
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].At.Before(recs[j].At) })
	for _, rec := range recs {
		dev := names[rec.Origin]
		if dev == "" {
			dev = rec.Origin
		}
		row.History = append(row.History, passageRow{At: when(rec.At, loc), Kind: record.Kind(rec.Kind).String(), Gate: rec.Gate, Device: dev})
	}
	cs, err := u.cfg.Store.TicketConflicts(r.Context(), store.ConflictFilter{Venue: venue, State: "open", Event: row.Event, Serial: row.Serial})
	if err != nil {
		return err
	}
	for _, c := range cs {
		row.Conflicts = append(row.Conflicts, u.conflictRowOf(r, c, loc))
	}
	row.Detailed = true
	return nil
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
			if len(d.Rows) <= TicketDetails && len(d.Rows) > 0 {
				devs, err := u.cfg.Store.Devices(r.Context())
				if err != nil {
					u.internal(w, r, err)
					return
				}
				byKey := map[string]string{}
				for _, dev := range devs {
					if dev.KeyID != "" {
						byKey[dev.KeyID] = dev.Name
					}
				}
				for i := range d.Rows {
					if err := u.detail(r, &d.Rows[i], d.Venue, byKey, loc); err != nil {
						u.internal(w, r, err)
						return
					}
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
