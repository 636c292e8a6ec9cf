package ops

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/rules"
)

type typeRow struct {
	Event, ID uint64
	Name      string
	Zones     []string // the zones' names; none: every zone
	Rule      string   // the rule in words; its JSON if it cannot be read
}

func (u *UI) typeRows(r *http.Request, event uint64, v store.Venue) ([]typeRow, error) {
	tts, err := u.cfg.Store.TicketTypes(r.Context(), event)
	if err != nil {
		return nil, err
	}
	var out []typeRow
	for _, tt := range tts {
		row := typeRow{Event: event, ID: tt.ID, Name: tt.Name, Rule: string(tt.Rule)}
		if rule, err := rules.ParseRule(tt.Rule); err == nil {
			row.Rule = ruleWords(func(k string, a ...any) string { return u.site.T(r, k, a...) }, rule)
		}
		for _, z := range tt.Zones {
			row.Zones = append(row.Zones, zoneName(v, z))
		}
		out = append(out, row)
	}
	return out, nil
}

func zoneName(v store.Venue, id int) string {
	for _, z := range v.Zones {
		if z.ID == id {
			return z.Name
		}
	}
	return "#" + strconv.Itoa(id)
}

// ruleForm is the entry rule as the form shows it: the common fields, and
// the whole rule as JSON for what they cannot say (windows, days,
// conditions).
type ruleForm struct {
	Reentry, MultiEntry, PerZone                              bool
	MaxEntries, MaxPerDay, MaxDays, MinBetween, MaxAfterFirst int
	Gates                                                     []string
	JSON                                                      string
	HasAdvanced                                               bool
}

type zoneChoice struct {
	ID      int
	Name    string
	Checked bool
}

type gateChoice struct {
	Name    string
	Checked bool
}

type typeData struct {
	base
	New       bool
	Event     eventRow
	ID        uint64
	Name      string
	Zones     []zoneChoice
	GateNames []gateChoice
	Rule      ruleForm
}

func formOf(rule rules.Rule) ruleForm {
	f := ruleForm{Reentry: rule.Reentry, MultiEntry: rule.MultiEntry, PerZone: rule.PerZone, MaxEntries: rule.MaxEntries,
		MaxPerDay: rule.MaxEntriesPerDay, MaxDays: rule.MaxDays, MinBetween: rule.MinMinutesBetween, MaxAfterFirst: rule.MaxMinutesAfterFirst, Gates: rule.Gates}
	if len(rule.Windows) > 0 || len(rule.Weekdays) > 0 || len(rule.Dates) > 0 || rule.When != nil {
		f.HasAdvanced = true
		js, _ := json.MarshalIndent(rule, "", "  ")
		f.JSON = string(js)
	}
	return f
}

func (u *UI) typeForm(b base, v store.Venue, e store.Event, tt manifest.TicketType, rf ruleForm, isNew bool) typeData {
	d := typeData{base: b, New: isNew, Event: eventRowOf(e), ID: tt.ID, Name: tt.Name, Rule: rf}
	for _, z := range v.Zones {
		d.Zones = append(d.Zones, zoneChoice{ID: z.ID, Name: z.Name, Checked: slices.Contains(tt.Zones, z.ID)})
	}
	for _, g := range v.Gates {
		d.GateNames = append(d.GateNames, gateChoice{Name: g.Name, Checked: slices.Contains(rf.Gates, g.Name)})
	}
	return d
}

// eventVenue reads the event of the path and its venue.
func (u *UI) eventVenue(w http.ResponseWriter, r *http.Request, s staff.Session) (base, store.Event, store.Venue, bool) {
	e, ok := u.eventOf(w, r)
	if !ok {
		return base{}, e, store.Venue{}, false
	}
	b, _, _, err := u.venue(r, s)
	var v store.Venue
	if err == nil {
		v, err = u.cfg.Store.Venue(r.Context(), e.Venue)
	}
	if err != nil {
		u.internal(w, r, err)
		return b, e, v, false
	}
	b.Venue, b.TimeZone = v.Name, v.TimeZone
	return b, e, v, true
}

func (u *UI) typeNew(w http.ResponseWriter, r *http.Request, s staff.Session) {
	b, e, v, ok := u.eventVenue(w, r, s)
	if !ok {
		return
	}
	u.site.Render(w, r, http.StatusOK, u.page(s, "type", "type.new", u.typeForm(b, v, e, manifest.TicketType{Event: e.ID}, ruleForm{}, true)))
}

func (u *UI) typeEdit(w http.ResponseWriter, r *http.Request, s staff.Session) {
	b, e, v, ok := u.eventVenue(w, r, s)
	if !ok {
		return
	}
	id, err := strconv.ParseUint(r.PathValue("type"), 10, 64)
	var tt store.TicketType
	if err == nil {
		tt, err = u.cfg.Store.TicketType(r.Context(), e.ID, id)
	}
	if err != nil {
		http.Error(w, u.site.T(r, "type.unknown", "id", r.PathValue("type")), http.StatusNotFound)
		return
	}
	rule, err := rules.ParseRule(tt.Rule)
	if err != nil {
		u.internal(w, r, fmt.Errorf("ticket type %d/%d: stored rule: %w", e.ID, id, err))
		return
	}
	b.Done = r.FormValue("done")
	mt := manifest.TicketType{Event: e.ID, ID: tt.ID, Name: tt.Name, Zones: tt.Zones, Rule: rule}
	u.site.Render(w, r, http.StatusOK, u.page(s, "type", "type.title", u.typeForm(b, v, e, mt, formOf(rule), false)))
}

// typeSave creates (POST …/types) or changes (POST …/types/{type}) a
// ticket type from the form: its rule from the fields, or from the JSON
// when that is filled.
func (u *UI) typeSave(w http.ResponseWriter, r *http.Request, s staff.Session) {
	b, e, v, ok := u.eventVenue(w, r, s)
	if !ok {
		return
	}
	isNew := r.PathValue("type") == ""
	tt := manifest.TicketType{Event: e.ID, Name: strings.TrimSpace(r.PostFormValue("name"))}
	if !isNew {
		id, err := strconv.ParseUint(r.PathValue("type"), 10, 64)
		if err != nil {
			http.Error(w, u.site.T(r, "type.unknown", "id", r.PathValue("type")), http.StatusNotFound)
			return
		}
		tt.ID = id
	}
	for _, z := range r.PostForm["zone"] {
		if id, err := strconv.Atoi(z); err == nil {
			tt.Zones = append(tt.Zones, id)
		}
	}
	num := func(name string) int {
		n, _ := strconv.Atoi(strings.TrimSpace(r.PostFormValue(name)))
		return max(n, 0)
	}
	rf := ruleForm{Reentry: r.PostFormValue("reentry") != "", MultiEntry: r.PostFormValue("multi_entry") != "", PerZone: r.PostFormValue("per_zone") != "",
		MaxEntries: num("max_entries"), MaxPerDay: num("max_entries_per_day"), MaxDays: num("max_days"), MinBetween: num("min_minutes_between"),
		MaxAfterFirst: num("max_minutes_after_first"), Gates: r.PostForm["gate"], JSON: strings.TrimSpace(r.PostFormValue("rule_json"))}
	tt.Rule = rules.Rule{Reentry: rf.Reentry, MultiEntry: rf.MultiEntry, PerZone: rf.PerZone, MaxEntries: rf.MaxEntries, MaxEntriesPerDay: rf.MaxPerDay,
		MaxDays: rf.MaxDays, MinMinutesBetween: rf.MinBetween, MaxMinutesAfterFirst: rf.MaxAfterFirst, Gates: rf.Gates}
	var err error
	if rf.JSON != "" {
		rf.HasAdvanced = true
		if tt.Rule, err = rules.ParseRule([]byte(rf.JSON)); err != nil {
			err = errors.New(u.site.T(r, "type.error.rule", "err", err.Error()))
		}
	}
	if err == nil {
		tt, err = u.cfg.Catalog.PutTicketType(r.Context(), s.User, tt, isNew)
	}
	if err != nil {
		b.Error = err.Error()
		u.site.Render(w, r, http.StatusBadRequest, u.page(s, "type", "type.title", u.typeForm(b, v, e, tt, rf, isNew)))
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/ops/events/%d?done=type.saved", e.ID), http.StatusSeeOther)
}
