package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

// Direction is the way a scan goes through a gate. Any Direction but Out,
// the empty one included, is an entry: the stricter reading.
type Direction string

const (
	In  Direction = "in"  // an entry
	Out Direction = "out" // an exit
)

// Passage is one recorded passage of a ticket, from any device of the venue.
type Passage struct {
	Exit     bool      // false: an entry; true: an exit
	At       time.Time // when it was recorded, by the origin's clock
	Gate     string
	Zone     int    // 0..63
	Origin   string // the device that recorded it
	Override bool   // let through by a supervisor despite the rule
}

// Context is the scan being decided, and the venue and event it is at.
type Context struct {
	At time.Time
	// Location is the venue's time zone: days, weekdays, dates and times of
	// day are read on its wall clock. Nil means UTC.
	Location  *time.Location
	Gate      string
	Zone      int
	Direction Direction
	// The event's times, for times relative to the event ("event_start-60",
	// "admission", "event_end+30"). Zero when unknown: a zero EventEnd or
	// Admission falls back to EventStart, as in pretix; a time relative to an
	// unknown EventStart never holds.
	EventStart, EventEnd, Admission time.Time
}

// Verdict is the answer to one scan.
type Verdict struct {
	OK     bool
	Reason ticket.Reason // ticket.ReasonOK when OK
	// Detail explains a refusal to a person, e.g. "already entered at gate
	// G2 (device gate-2) at 19:31:04 (1 entry allowed)"; "" when OK.
	Detail string
	// Previous is the passage that made the scan fail, when one did: the
	// earlier entry of already_used or too_soon, the first entry of expired,
	// the exit of not_inside. It is a copy.
	Previous *Passage
}

// Violation is a passage that the rule would have refused, found by Replay.
type Violation struct {
	Passage  Passage
	Reason   ticket.Reason
	Detail   string // names the passage, then what it broke
	Previous *Passage
	// Index is the position of Passage in the history given to Replay;
	// PreviousIndex that of Previous, -1 when there is none.
	Index, PreviousIndex int
}

// Rule is the entry rule of a ticket type. Central writes it into the
// manifest as JSON; the zero Rule ({}) is a single-entry ticket. The package
// documentation gives the order of the checks.
type Rule struct {
	// Reentry lets the ticket enter again after an exit; an entry while
	// inside is refused already_used.
	Reentry bool `json:"reentry,omitempty"`
	// MultiEntry lets the ticket enter several times without exits.
	MultiEntry bool `json:"multi_entry,omitempty"`
	// MaxEntries bounds the entries ever made (entries_number). 0 is
	// unlimited with Reentry or MultiEntry; without them the limit is 1.
	MaxEntries int `json:"max_entries,omitempty"`
	// MaxEntriesPerDay bounds the entries of one local day (entries_today).
	MaxEntriesPerDay int `json:"max_entries_per_day,omitempty"`
	// MaxDays bounds the distinct local days with an entry (entries_days):
	// a 3-day pass of a 5-day festival.
	MaxDays int `json:"max_days,omitempty"`
	// MinMinutesBetween is the least time from one entry to the next
	// (minutes_since_last_entry); too_soon before.
	MinMinutesBetween int `json:"min_minutes_between,omitempty"`
	// MaxMinutesAfterFirst makes the ticket expire that many minutes after
	// its first entry (minutes_since_first_entry).
	MaxMinutesAfterFirst int `json:"max_minutes_after_first,omitempty"`
	// Windows are the times entries are allowed in; an entry must fall in
	// one of them. None: any time.
	Windows []Window `json:"windows,omitempty"`
	// Weekdays ("mon" … "sun") and Dates ("2026-06-12"), local to the venue,
	// are the days entries are allowed on. None: any day.
	Weekdays []string `json:"weekdays,omitempty"`
	Dates    []string `json:"dates,omitempty"`
	// Gates are the gates the ticket may pass, both ways. None: any gate.
	Gates []string `json:"gates,omitempty"`
	// PerZone counts passages per zone: the inside state, counts and
	// intervals of a scan look only at passages of the scan's zone, so a
	// single-entry ticket may enter the venue (zone 0) and, once, its VIP
	// area (zone 2). Without it, every passage of the ticket counts.
	PerZone bool `json:"per_zone,omitempty"`
	// When is a condition that must hold for an entry, for what the fields
	// above cannot say.
	When *Condition `json:"when,omitempty"`
}

// Window is a span of time entries are allowed in. From and Until are time
// expressions, both of one family:
//
//   - wall-clock times of day, "HH:MM" or "HH:MM:SS", every day; an empty
//     From is 00:00 and an empty Until is 24:00; an Until before From wraps
//     midnight ("22:00"–"02:00");
//   - instants: RFC 3339 ("2026-06-12T18:00:00+02:00") or relative to the
//     event in minutes ("event_start-60", "admission", "event_end+30"); an
//     empty side is open.
//
// From is inclusive and Until exclusive.
type Window struct {
	From  string `json:"from,omitempty"`
	Until string `json:"until,omitempty"`
}

// ParseRule reads a rule from JSON strictly (a field it does not know is an
// error, so a gate never ignores a restriction written by a newer central)
// and validates it.
func ParseRule(data []byte) (Rule, error) {
	var r Rule
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Rule{}, fmt.Errorf("parse rule: %w", err)
	}
	if dec.More() {
		return Rule{}, fmt.Errorf("parse rule: data after the rule")
	}
	if err := r.Validate(); err != nil {
		return Rule{}, err
	}
	return r, nil
}

// Validate reports what makes no sense in the rule: negative or unreachable
// counts, contradicting modes, unknown weekdays, bad dates and times, and
// conditions with unknown variables or operators or values of the wrong
// kind. The error lists every problem found.
func (r Rule) Validate() error {
	var v validator
	for _, f := range []struct {
		name string
		n    int
	}{
		{"max_entries", r.MaxEntries},
		{"max_entries_per_day", r.MaxEntriesPerDay},
		{"max_days", r.MaxDays},
		{"min_minutes_between", r.MinMinutesBetween},
		{"max_minutes_after_first", r.MaxMinutesAfterFirst},
	} {
		if f.n < 0 {
			v.addf("%s: %d is negative", f.name, f.n)
		}
		if f.n > maxMinutes {
			v.addf("%s: %d is more than a century of minutes", f.name, f.n)
		}
	}
	if r.Reentry && r.MultiEntry {
		v.addf("reentry and multi_entry: choose one (multi_entry already allows entries without exits)")
	}
	if !r.Reentry && !r.MultiEntry {
		for _, f := range []struct {
			name string
			n    int
		}{
			{"max_entries", r.MaxEntries},
			{"max_entries_per_day", r.MaxEntriesPerDay},
			{"max_days", r.MaxDays},
		} {
			if f.n > 1 {
				v.addf("%s: %d needs reentry or multi_entry (a single-entry ticket enters once)", f.name, f.n)
			}
		}
	}
	for i, w := range r.Windows {
		w.validate(&v, fmt.Sprintf("windows[%d]", i))
	}
	for i, d := range r.Weekdays {
		if weekdayNumber(d) == 0 {
			v.addf("weekdays[%d]: unknown weekday %q (want mon, tue, wed, thu, fri, sat or sun)", i, d)
		}
	}
	for i, d := range r.Dates {
		if _, _, _, ok := parseDate(d); !ok {
			v.addf("dates[%d]: bad date %q (want YYYY-MM-DD)", i, d)
		}
	}
	for i, g := range r.Gates {
		if g == "" {
			v.addf("gates[%d]: empty gate name", i)
		}
	}
	if r.When != nil {
		r.When.validate(&v, "when", 0)
	}
	return v.err()
}

func (w Window) validate(v *validator, path string) {
	if w.From == "" && w.Until == "" {
		v.addf("%s: neither from nor until", path)
		return
	}
	from, fromOK := parseTimeExpr(w.From)
	until, untilOK := parseTimeExpr(w.Until)
	if w.From != "" && !fromOK {
		v.addf("%s.from: %s", path, badTime(w.From))
	}
	if w.Until != "" && !untilOK {
		v.addf("%s.until: %s", path, badTime(w.Until))
	}
	if !fromOK || !untilOK {
		return
	}
	switch {
	case from.daily() != until.daily() && w.From != "" && w.Until != "":
		v.addf("%s: from %q and until %q mix a time of day with an instant", path, w.From, w.Until)
	case from.kind == exprClock && until.kind == exprClock && from.clock == until.clock:
		v.addf("%s: from and until are both %q: the window is empty", path, w.From)
	case from.kind == exprInstant && until.kind == exprInstant && !from.at.Before(until.at):
		v.addf("%s: until %q is not after from %q", path, w.Until, w.From)
	case from.kind == exprEvent && until.kind == exprEvent && from.anchor == until.anchor && from.offset >= until.offset:
		v.addf("%s: until %q is not after from %q", path, w.Until, w.From)
	}
}

// validator gathers problems.
type validator struct{ problems []string }

func (v *validator) addf(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	return fmt.Errorf("invalid rule: %s", strings.Join(v.problems, "; "))
}
