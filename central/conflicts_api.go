package central

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tixgate/tixgate/central/conflicts"
	"github.com/tixgate/tixgate/central/reconcile"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/uplink"
)

// tokenKey carries the authenticated store.APIToken in a request's context.
type tokenKey struct{}

func (s *Server) conflictRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /api/v1/conflicts", s.ops("read", s.listConflicts))
	m.HandleFunc("GET /api/v1/conflicts/{id}", s.ops("read", s.getConflict))
	m.HandleFunc("POST /api/v1/conflicts/{id}/resolve", s.ops("ops", s.resolveConflict))
	m.HandleFunc("POST /api/v1/conflicts/reconcile", s.ops("ops", s.reconcileAll))
}

// Conflict is a conflict as the ops API shows it.
type Conflict struct {
	ID         string               `json:"id"`
	Venue      string               `json:"venue"`
	Kind       string               `json:"kind"`
	Reason     string               `json:"reason,omitempty"`
	Event      uint64               `json:"event"`
	Serial     uint64               `json:"serial"`
	Detail     string               `json:"detail"`
	Records    []reconcile.Involved `json:"records"`
	State      string               `json:"state"` // open, resolved, closed
	Found      time.Time            `json:"found"`
	Updated    time.Time            `json:"updated"`
	Closed     time.Time            `json:"closed,omitzero"`
	Resolution *ConflictResolution  `json:"resolution,omitempty"`
}

// ConflictResolution is the resolution in force.
type ConflictResolution struct {
	Action string    `json:"action"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Note   string    `json:"note,omitempty"`
}

// ConflictState names where a stored conflict stands.
func ConflictState(c store.Conflict) string {
	switch {
	case c.Resolution != "":
		return "resolved"
	case !c.Closed.IsZero():
		return "closed"
	}
	return "open"
}

func apiConflict(c store.Conflict) Conflict {
	out := Conflict{ID: c.ID, Venue: c.Venue, Kind: c.Kind, Reason: c.Reason, Event: c.Event, Serial: c.Serial, Detail: c.Detail,
		State: ConflictState(c), Found: c.Found, Updated: c.Updated, Closed: c.Closed}
	json.Unmarshal(c.Records, &out.Records) // written by central from the same type
	if c.Resolution != "" {
		out.Resolution = &ConflictResolution{Action: c.Resolution, By: c.ResolvedBy, At: c.ResolvedAt, Note: c.Note}
	}
	return out
}

func (s *Server) listConflicts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.ConflictFilter{Venue: q.Get("venue"), State: q.Get("state"), Kind: q.Get("kind")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 5000 {
			s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, "limit: want 1 to 5000")
			return
		}
		f.Limit = n
	}
	if f.State != "" && f.State != "open" && f.State != "resolved" && f.State != "closed" {
		s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, "state: want open, resolved or closed")
		return
	}
	cs, err := s.cfg.Store.TicketConflicts(r.Context(), f)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out := make([]Conflict, 0, len(cs))
	for _, c := range cs {
		out = append(out, apiConflict(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"conflicts": out})
}

func (s *Server) getConflict(w http.ResponseWriter, r *http.Request) {
	c, err := s.cfg.Store.Conflict(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, http.StatusNotFound, "not_found", "no conflict "+r.PathValue("id"))
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiConflict(c))
}

// ResolveRequest is the body of POST /api/v1/conflicts/{id}/resolve.
type ResolveRequest struct {
	Action string `json:"action"` // confirm, flag, refund
	Note   string `json:"note,omitempty"`
}

func (s *Server) resolveConflict(w http.ResponseWriter, r *http.Request) {
	var req ResolveRequest
	if !s.readJSON(w, r, &req, 16<<10) {
		return
	}
	tok, _ := r.Context().Value(tokenKey{}).(store.APIToken)
	c, err := s.Conflicts.Resolve(r.Context(), reconcile.Resolution{Conflict: r.PathValue("id"), Action: reconcile.Action(req.Action),
		By: tok.User, At: s.cfg.Clock.Now(), Note: req.Note})
	switch {
	case errors.Is(err, reconcile.ErrBadResolution):
		s.fail(w, http.StatusBadRequest, uplink.ErrCodeBadRequest, err.Error())
	case errors.Is(err, conflicts.ErrNotFound):
		s.fail(w, http.StatusNotFound, "not_found", "no conflict "+r.PathValue("id"))
	case err != nil:
		s.internal(w, r, err)
	default:
		writeJSON(w, http.StatusOK, apiConflict(c))
	}
}

func (s *Server) reconcileAll(w http.ResponseWriter, r *http.Request) {
	st, err := s.Conflicts.All(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// reconcileLoop runs a pass over every ticket every ReconcileEvery until
// ctx ends.
func (s *Server) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.ReconcileEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := s.Conflicts.All(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.cfg.Logger.Error("reconcile pass", "err", err)
			}
			continue
		}
		s.cfg.Logger.Info("reconcile pass", "tickets", st.Tickets, "new", st.New, "changed", st.Changed, "closed", st.Closed)
	}
}
