package ops

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ticket"
)

// base is what every logged-in screen's data carries: what the role may
// do, the venue shown, and a message of the last action.
type base struct {
	CanVenue, CanIssue, CanResolve bool
	Venue                          string
	Venues                         []string
	TimeZone                       string
	Error                          string // an error to show, already in the reader's words or from central
	Done                           string // a catalog key saying what was just done
	CSRF                           string // the session's token, for the forms
	Actions                        bool   // tables show their rows' buttons
}

// venue finds the venue a screen shows: ?venue=, or the first one. A
// central without venues shows its screens empty, in UTC.
func (u *UI) venue(r *http.Request, s staff.Session) (base, store.Venue, *time.Location, error) {
	b := base{CanVenue: s.Role.MayRunVenue(), CanIssue: s.Role.MayIssue(), CanResolve: s.Role.MayResolve(), TimeZone: "UTC", CSRF: s.CSRF}
	names, err := u.cfg.Store.Venues(r.Context())
	if err != nil {
		return b, store.Venue{}, time.UTC, err
	}
	b.Venues = names
	name := r.FormValue("venue")
	if !slices.Contains(names, name) {
		if len(names) == 0 {
			return b, store.Venue{}, time.UTC, nil
		}
		name = names[0]
	}
	v, err := u.cfg.Store.Venue(r.Context(), name)
	if err != nil {
		return b, v, time.UTC, err
	}
	b.Venue, b.TimeZone = v.Name, v.TimeZone
	loc, err := time.LoadLocation(v.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	return b, v, loc, nil
}

// venueQuery keeps the venue shown across the bar's links when central
// has several.
func (b base) venueQuery() string {
	if len(b.Venues) < 2 || b.Venue == "" {
		return ""
	}
	return "?venue=" + url.QueryEscape(b.Venue)
}

// when is a moment in the venue's time, with its zone's abbreviation.
func when(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

type zoneRow struct {
	ID   string
	Name string
}

type gateEdit struct {
	Name string
	Zone int
}

type venueData struct {
	base
	Zones []zoneRow
	Gates []gateEdit
	// ZoneIDs are the zones a gate may open.
	ZoneIDs []store.Zone
}

// venueRows fills the form with a venue's zones and gates and a few empty
// rows for new ones.
func venueRows(v store.Venue) ([]zoneRow, []gateEdit) {
	var zs []zoneRow
	for _, z := range v.Zones {
		zs = append(zs, zoneRow{ID: strconv.Itoa(z.ID), Name: z.Name})
	}
	var gs []gateEdit
	for _, g := range v.Gates {
		gs = append(gs, gateEdit{Name: g.Name, Zone: g.Zone})
	}
	return append(zs, zoneRow{}, zoneRow{}), append(gs, gateEdit{Zone: -1}, gateEdit{Zone: -1})
}

func (u *UI) venuePage(w http.ResponseWriter, r *http.Request, s staff.Session) {
	b, v, _, err := u.venue(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	b.Done = r.FormValue("done")
	d := venueData{base: b, ZoneIDs: v.Zones}
	d.Zones, d.Gates = venueRows(v)
	u.site.Render(w, r, http.StatusOK, u.page(s, "venue", "venue.title", d))
}

// venueSave takes the form's rows: a zone or gate whose name is cleared is
// removed.
func (u *UI) venueSave(w http.ResponseWriter, r *http.Request, s staff.Session) {
	b, v, _, err := u.venue(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	if v.Name == "" {
		http.Error(w, u.site.T(r, "venue.none"), http.StatusNotFound)
		return
	}
	edit := store.Venue{Name: v.Name, TimeZone: strings.TrimSpace(r.PostFormValue("time_zone"))}
	ids, names := r.PostForm["zone_id"], r.PostForm["zone_name"]
	var bad error
	for i := range min(len(ids), len(names)) {
		name := strings.TrimSpace(names[i])
		if name == "" {
			continue
		}
		id, err := strconv.Atoi(strings.TrimSpace(ids[i]))
		if err != nil {
			bad = errors.New(u.site.T(r, "venue.error.zone_id", "name", name))
			continue
		}
		edit.Zones = append(edit.Zones, store.Zone{ID: id, Name: name})
	}
	gnames, gzones := r.PostForm["gate_name"], r.PostForm["gate_zone"]
	for i := range min(len(gnames), len(gzones)) {
		name := strings.TrimSpace(gnames[i])
		if name == "" {
			continue
		}
		zone, err := strconv.Atoi(gzones[i])
		if err != nil {
			bad = errors.New(u.site.T(r, "venue.error.gate_zone", "name", name))
			continue
		}
		if !ticket.ValidName(name) {
			bad = errors.New(u.site.T(r, "venue.error.gate_name", "name", name))
		}
		edit.Gates = append(edit.Gates, store.Gate{Name: name, Zone: zone})
	}
	if bad == nil {
		bad = u.cfg.Catalog.PutVenue(r.Context(), s.User, edit)
	}
	if bad != nil {
		b.Error = bad.Error()
		d := venueData{base: b, ZoneIDs: v.Zones}
		d.Zones, d.Gates = venueRows(edit)
		d.TimeZone = edit.TimeZone
		u.site.Render(w, r, http.StatusBadRequest, u.page(s, "venue", "venue.title", d))
		return
	}
	http.Redirect(w, r, "/ops/venue?done=venue.saved&venue="+v.Name, http.StatusSeeOther)
}
