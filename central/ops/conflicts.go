package ops

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/tixgate/tixgate/central/conflicts"
	"github.com/tixgate/tixgate/central/reconcile"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
)

type conflictRow struct {
	ID, Kind, Detail, State, Found string
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
		row := conflictRow{ID: c.ID, Kind: c.Kind, Detail: c.Detail, Event: c.Event, Serial: c.Serial, Found: when(c.Found, loc),
			Resolution: c.Resolution, ResolvedBy: c.ResolvedBy, At: when(c.ResolvedAt, loc), Note: c.Note, State: "open"}
		switch {
		case c.Resolution != "":
			row.State = "resolved"
		case !c.Closed.IsZero():
			row.State = "closed"
		}
		json.Unmarshal(c.Records, &row.Records) // written by central from the same type
		d.Rows = append(d.Rows, row)
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
