package ops

import (
	"net/http"
	"strings"

	"github.com/tixgate/tixgate/central/staff"
)

// AuditRows is how many of the latest audit entries the screen shows.
const AuditRows = 500

type auditRow struct {
	At, Actor, Action, Target, Detail string
	Conflict                          string // a conflict's short ID, when the target is one
}

type auditData struct {
	base
	Rows []auditRow
}

// auditLog shows the latest staff actions, newest first: who changed
// what, when, in the venue's time.
func (u *UI) auditLog(w http.ResponseWriter, r *http.Request, s staff.Session) {
	b, _, loc, err := u.venue(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	es, err := u.cfg.Store.AuditLog(r.Context(), AuditRows)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	d := auditData{base: b}
	for _, e := range es {
		row := auditRow{At: when(e.At, loc), Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail}
		if strings.HasPrefix(e.Action, "conflict.") {
			row.Conflict = shortID(e.Target)
		}
		d.Rows = append(d.Rows, row)
	}
	u.site.Render(w, r, http.StatusOK, u.page(s, "audit", "audit.title", d))
}
