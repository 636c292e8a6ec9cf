package ops

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tixgate/tixgate/central/conflicts"
	"github.com/tixgate/tixgate/central/reconcile"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
)

type conflictRow struct {
	ID, Kind, Detail, State, Found string
	Short                          string // the ID's first characters, as the screens show it
	Event, Serial                  uint64
	Records                        []reconcile.Involved
	Resolution, ResolvedBy, At     string
	Note                           string
}

type conflictsData struct {
	State      string
	MayResolve bool
	Rows       []conflictRow
	Done       string // the conflict just resolved
}

func (u *UI) conflictList(w http.ResponseWriter, r *http.Request, s staff.Session) {
	state := r.URL.Query().Get("state")
	if state != "resolved" && state != "closed" && state != "all" {
		state = "open"
	}
	f := store.ConflictFilter{State: state}
	if state == "all" {
		f.State = ""
	}
	cs, err := u.cfg.Store.TicketConflicts(r.Context(), f)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	_, _, loc, err := u.venue(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	d := conflictsData{State: state, MayResolve: s.Role.MayResolve(), Done: r.URL.Query().Get("done")}
	for _, c := range cs {
		d.Rows = append(d.Rows, u.conflictRowOf(r, c, loc))
	}
	u.site.Render(w, r, http.StatusOK, u.page(s, "conflicts", "conflicts.title", d))
}

func (u *UI) resolve(w http.ResponseWriter, r *http.Request, s staff.Session) {
	if !s.Role.MayResolve() {
		http.Error(w, u.site.T(r, "conflicts.forbidden"), http.StatusForbidden)
		return
	}
	id := r.PathValue("id")
	_, err := u.cfg.Conflicts.Resolve(r.Context(), reconcile.Resolution{Conflict: id, Action: reconcile.Action(r.PostFormValue("action")),
		By: s.User, At: u.cfg.Clock.Now(), Note: r.PostFormValue("note")})
	switch {
	case errors.Is(err, reconcile.ErrBadResolution):
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case errors.Is(err, conflicts.ErrNotFound):
		http.Error(w, "no conflict "+id, http.StatusNotFound)
		return
	case err != nil:
		u.internal(w, r, err)
		return
	}
	http.Redirect(w, r, "/ops/conflicts?done="+id, http.StatusSeeOther)
}

// conflictRowOf is a conflict as the screens show it, its detail said in
// the reader's language from its kind, reason and records.
func (u *UI) conflictRowOf(r *http.Request, c store.Conflict, loc *time.Location) conflictRow {
	row := conflictRow{ID: c.ID, Short: shortID(c.ID), Kind: c.Kind, Detail: c.Detail, Event: c.Event, Serial: c.Serial, Found: when(c.Found, loc),
		Resolution: c.Resolution, ResolvedBy: c.ResolvedBy, At: when(c.ResolvedAt, loc), Note: c.Note, State: "open"}
	switch {
	case c.Resolution != "":
		row.State = "resolved"
	case !c.Closed.IsZero():
		row.State = "closed"
	}
	json.Unmarshal(c.Records, &row.Records) // written by central from the same type
	t := func(k string, a ...any) string { return u.site.T(r, k, a...) }
	if d := conflictDetail(t, c.Kind, c.Reason, row.Records, loc); d != "" {
		r, n := utf8.DecodeRuneInString(d)
		row.Detail = string(unicode.ToUpper(r)) + d[n:] // a sentence: "Entry at gate G2 …"
	}
	return row
}

// ShortID is how long a conflict's ID is shown; it links to the whole.
const ShortID = 8

func shortID(id string) string {
	if len(id) <= ShortID {
		return id
	}
	return id[:ShortID]
}

// recordWords says one record a conflict names.
func recordWords(t func(string, ...any) string, rec reconcile.Involved, loc *time.Location) string {
	kind := t("record.kind." + rec.Kind.String())
	if rec.Gate == "" {
		return t("record.words_nogate", "kind", kind, "device", rec.Device, "at", when(rec.At, loc))
	}
	return t("record.words", "kind", kind, "gate", rec.Gate, "device", rec.Device, "at", when(rec.At, loc))
}

// conflictDetail says a conflict in the language of t; "" when its kind
// has no words, and the stored detail (English) is shown instead.
func conflictDetail(t func(string, ...any) string, kind, reason string, recs []reconcile.Involved, loc *time.Location) string {
	list := func(rs []reconcile.Involved) string {
		parts := make([]string, len(rs))
		for i, rec := range rs {
			parts[i] = recordWords(t, rec, loc)
		}
		return strings.Join(parts, t("rule.words.sep"))
	}
	switch reconcile.Kind(kind) {
	case reconcile.DoubleEntry, reconcile.RuleBroken:
		if len(recs) == 0 {
			return ""
		}
		why := t("reason." + reason)
		if len(recs) > 1 {
			return t("conflict.detail.rule_previous", "record", recordWords(t, recs[0], loc), "reason", why, "previous", list(recs[1:]))
		}
		return t("conflict.detail.rule", "record", recordWords(t, recs[0], loc), "reason", why)
	case reconcile.RevokedTicket:
		return t("conflict.detail.revoked_ticket", "records", list(recs))
	case reconcile.VoidedTicket:
		if len(recs) < 2 {
			return ""
		}
		return t("conflict.detail.voided_ticket", "records", list(recs[:len(recs)-1]), "void", recordWords(t, recs[len(recs)-1], loc))
	case reconcile.RevokedDevice:
		if len(recs) == 0 {
			return ""
		}
		return t("conflict.detail.revoked_device", "device", recs[0].Device, "records", list(recs))
	case reconcile.Fork:
		return t("conflict.detail.fork", "n", len(recs), "records", list(recs))
	case reconcile.DoubleSale:
		return t("conflict.detail.double_sale", "n", len(recs), "records", list(recs))
	case reconcile.TooManyRecords:
		return t("conflict.detail.too_many_records")
	}
	return ""
}
