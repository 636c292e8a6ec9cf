package ops

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
)

// localForm is the datetime-local field's layout.
const localForm = "2006-01-02T15:04"

type eventRow struct {
	ID                           uint64
	Name, TimeZone               string
	Starts, Ends, Doors          string
	Days                         []string
	Types                        []typeRow
	StartsIn, EndsIn, AdmitsFrom string // the form's values, in the event's zone
}

func eventRowOf(e store.Event) eventRow {
	loc, err := time.LoadLocation(e.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	row := eventRow{ID: e.ID, Name: e.Name, TimeZone: e.TimeZone, Starts: when(e.Starts, loc), Ends: when(e.Ends, loc), Doors: when(e.Admission, loc), Days: e.Days,
		StartsIn: e.Starts.In(loc).Format(localForm), EndsIn: e.Ends.In(loc).Format(localForm)}
	if !e.Admission.IsZero() {
		row.AdmitsFrom = e.Admission.In(loc).Format(localForm)
	}
	return row
}

type eventsData struct {
	base
	Events []eventRow
}

func (u *UI) eventList(w http.ResponseWriter, r *http.Request, s staff.Session) {
	b, v, _, err := u.venue(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	b.Done = r.FormValue("done")
	d := eventsData{base: b}
	if v.Name != "" {
		evs, err := u.cfg.Store.Events(r.Context(), v.Name)
		if err != nil {
			u.internal(w, r, err)
			return
		}
		for _, e := range evs {
			row := eventRowOf(e)
			if row.Types, err = u.typeRows(r, e.ID, v); err != nil {
				u.internal(w, r, err)
				return
			}
			d.Events = append(d.Events, row)
		}
	}
	u.site.Render(w, r, http.StatusOK, u.page(s, "events", "events.title", d))
}

type eventData struct {
	base
	New   bool
	Event eventRow
	Types []typeRow
}

func (u *UI) eventNew(w http.ResponseWriter, r *http.Request, s staff.Session) {
	b, v, loc, err := u.venue(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	if v.Name == "" {
		http.Error(w, u.site.T(r, "venue.none"), http.StatusNotFound)
		return
	}
	day := u.cfg.Clock.Now().In(loc).AddDate(0, 0, 1)
	start := time.Date(day.Year(), day.Month(), day.Day(), 19, 0, 0, 0, loc)
	ev := eventRow{TimeZone: v.TimeZone, StartsIn: start.Format(localForm), EndsIn: start.Add(4 * time.Hour).Format(localForm)}
	u.site.Render(w, r, http.StatusOK, u.page(s, "event", "event.new", eventData{base: b, New: true, Event: ev}))
}

func (u *UI) eventEdit(w http.ResponseWriter, r *http.Request, s staff.Session) {
	b, v, _, err := u.venue(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	e, ok := u.eventOf(w, r)
	if !ok {
		return
	}
	b.Venue = e.Venue
	b.Done = r.FormValue("done")
	d := eventData{base: b, Event: eventRowOf(e)}
	if v.Name != e.Venue {
		if v, err = u.cfg.Store.Venue(r.Context(), e.Venue); err != nil {
			u.internal(w, r, err)
			return
		}
	}
	if d.Types, err = u.typeRows(r, e.ID, v); err != nil {
		u.internal(w, r, err)
		return
	}
	u.site.Render(w, r, http.StatusOK, u.page(s, "event", "event.title", d))
}

// eventOf reads the event of the path, answering 404 itself.
func (u *UI) eventOf(w http.ResponseWriter, r *http.Request) (store.Event, bool) {
	id, err := strconv.ParseUint(r.PathValue("event"), 10, 64)
	var e store.Event
	if err == nil {
		e, err = u.cfg.Store.Event(r.Context(), id)
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, strconv.ErrSyntax) || errors.Is(err, strconv.ErrRange) {
		http.Error(w, u.site.T(r, "event.unknown", "id", r.PathValue("event")), http.StatusNotFound)
		return e, false
	}
	if err != nil {
		u.internal(w, r, err)
		return e, false
	}
	return e, true
}

// eventSave creates an event (POST /ops/events) or changes one (POST
// /ops/events/{event}); the times are local to the time zone given.
func (u *UI) eventSave(w http.ResponseWriter, r *http.Request, s staff.Session) {
	b, v, _, err := u.venue(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	edit := catalog.EventEdit{Create: r.PathValue("event") == "", Venue: v.Name,
		Name: strings.TrimSpace(r.PostFormValue("name")), TimeZone: strings.TrimSpace(r.PostFormValue("time_zone"))}
	if !edit.Create {
		e, ok := u.eventOf(w, r)
		if !ok {
			return
		}
		edit.ID, edit.Venue = e.ID, e.Venue
		b.Venue = e.Venue
	}
	row := eventRow{ID: edit.ID, Name: edit.Name, TimeZone: edit.TimeZone, StartsIn: r.PostFormValue("starts"), EndsIn: r.PostFormValue("ends"), AdmitsFrom: r.PostFormValue("doors")}
	bad := func(err error) {
		b.Error = err.Error()
		u.site.Render(w, r, http.StatusBadRequest, u.page(s, "event", "event.title", eventData{base: b, New: edit.Create, Event: row}))
	}
	loc, err := time.LoadLocation(edit.TimeZone)
	if err != nil || edit.TimeZone == "" {
		bad(errors.New(u.site.T(r, "event.error.zone", "zone", edit.TimeZone)))
		return
	}
	parse := func(field, v string, need bool) (time.Time, bool) {
		if v == "" && !need {
			return time.Time{}, true
		}
		t, err := time.ParseInLocation(localForm, v, loc)
		if err != nil {
			bad(errors.New(u.site.T(r, "event.error.time", "field", u.site.T(r, "event."+field))))
			return t, false
		}
		return t, true
	}
	var ok bool
	if edit.Starts, ok = parse("starts", row.StartsIn, true); !ok {
		return
	}
	if edit.Ends, ok = parse("ends", row.EndsIn, true); !ok {
		return
	}
	if edit.Admission, ok = parse("doors", row.AdmitsFrom, false); !ok {
		return
	}
	if !edit.Ends.After(edit.Starts) {
		bad(errors.New(u.site.T(r, "event.error.ends")))
		return
	}
	if !edit.Admission.IsZero() && !edit.Admission.Before(edit.Ends) {
		bad(errors.New(u.site.T(r, "event.error.doors")))
		return
	}
	e, err := u.cfg.Catalog.PutEvent(r.Context(), s.User, edit)
	if err != nil {
		bad(err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/ops/events/%d?done=event.saved", e.ID), http.StatusSeeOther)
}
