package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

// Evaluate decides whether the rule lets the scan c pass, given the ticket's
// earlier passages in any order. It does not modify history, reads no clock
// and never panics. An accepted scan allocates nothing.
func Evaluate(r Rule, history []Passage, c Context) Verdict {
	e := eval{r: r, hist: history, c: c, loc: c.Location}
	if e.loc == nil {
		e.loc = time.UTC
	}
	e.local = c.At.In(e.loc)
	e.gather()

	if len(r.Gates) > 0 && !slices.Contains(r.Gates, c.Gate) {
		return refuse(ticket.ReasonWrongGate, fmt.Sprintf("gate %s is not allowed (allowed: %s)", quoteEmpty(c.Gate), strings.Join(r.Gates, ", ")), nil)
	}
	if c.Direction == Out {
		return e.exit()
	}
	if v, ok := e.day(); !ok {
		return v
	}
	if v, ok := e.windows(); !ok {
		return v
	}
	if r.MaxMinutesAfterFirst > 0 && e.first >= 0 {
		p := &history[e.first]
		until := p.At.Add(minutes(r.MaxMinutesAfterFirst))
		if !c.At.Before(until) {
			return refuse(ticket.ReasonExpired, fmt.Sprintf("valid for %s after the first entry, %s; expired at %s",
				plural(r.MaxMinutesAfterFirst, "minute"), e.where(p), e.when(until)), p)
		}
	}
	if v, ok := e.state(); !ok {
		return v
	}
	if r.MinMinutesBetween > 0 && e.last >= 0 {
		p := &history[e.last]
		next := p.At.Add(minutes(r.MinMinutesBetween))
		if c.At.Before(next) {
			return refuse(ticket.ReasonTooSoon, fmt.Sprintf("last entry %s; next entry from %s (%s between entries)",
				e.where(p), e.when(next), plural(r.MinMinutesBetween, "minute")), p)
		}
	}
	if r.When != nil && !r.When.holds(&e) {
		return refuse(ticket.ReasonNotAllowed, "condition not met: "+r.When.explain(&e), nil)
	}
	return Verdict{OK: true, Reason: ticket.ReasonOK}
}

// eval is one evaluation: the scan and what the history says about it. It
// holds copies of the Rule and Context, not pointers: escape analysis would
// move the caller's to the heap.
type eval struct {
	r     Rule
	hist  []Passage
	c     Context
	loc   *time.Location
	local time.Time // the scan's time on the venue's wall clock

	entries int // entries that count for this scan (overrides included)
	// Indexes into hist, -1 for none: the first and last entry and the
	// latest passage of either kind, in the order of comparePassages.
	first, last, latest int

	daysCounted bool
	today       int // entries on the scan's local day
	lastToday   int // index of the last of them, -1 for none
	days        int // distinct local days with an entry
}

// counts reports whether p is a passage that counts for this scan.
func (e *eval) counts(p *Passage) bool { return !e.r.PerZone || p.Zone == e.c.Zone }

func (e *eval) gather() {
	e.first, e.last, e.latest, e.lastToday = -1, -1, -1, -1
	for i := range e.hist {
		p := &e.hist[i]
		if !e.counts(p) {
			continue
		}
		if e.latest < 0 || comparePassages(p, &e.hist[e.latest]) > 0 {
			e.latest = i
		}
		if p.Exit {
			continue
		}
		e.entries++
		if e.first < 0 || comparePassages(p, &e.hist[e.first]) < 0 {
			e.first = i
		}
		if e.last < 0 || comparePassages(p, &e.hist[e.last]) > 0 {
			e.last = i
		}
	}
}

// countDays counts entries by local day, once, when a check needs it.
func (e *eval) countDays() {
	if e.daysCounted {
		return
	}
	e.daysCounted = true
	today := dayKey(e.local)
	var buf [16]int
	seen := buf[:0]
	for i := range e.hist {
		p := &e.hist[i]
		if p.Exit || !e.counts(p) {
			continue
		}
		k := dayKey(p.At.In(e.loc))
		if k == today {
			e.today++
			if e.lastToday < 0 || comparePassages(p, &e.hist[e.lastToday]) > 0 {
				e.lastToday = i
			}
		}
		if !slices.Contains(seen, k) {
			seen = append(seen, k)
		}
	}
	e.days = len(seen)
}

// minutesSince is the whole minutes from passage i to the scan, 0 for a
// passage stamped later than the scan, -1 without a passage.
func (e *eval) minutesSince(i int) int {
	if i < 0 {
		return -1
	}
	d := e.c.At.Sub(e.hist[i].At)
	if d < 0 {
		return 0
	}
	return int(d / time.Minute)
}

// inside reports whether the ticket's latest passage is an entry.
func (e *eval) inside() bool { return e.latest >= 0 && !e.hist[e.latest].Exit }

func (e *eval) exit() Verdict {
	if e.inside() {
		return Verdict{OK: true, Reason: ticket.ReasonOK}
	}
	if e.latest < 0 {
		return refuse(ticket.ReasonNotInside, "not inside: no entry yet", nil)
	}
	p := &e.hist[e.latest]
	return refuse(ticket.ReasonNotInside, "not inside: left "+e.where(p), p)
}

func (e *eval) day() (Verdict, bool) {
	if len(e.r.Dates) > 0 {
		y, m, d := e.local.Date()
		found := false
		for _, s := range e.r.Dates {
			if yy, mm, dd, ok := parseDate(s); ok && yy == y && mm == m && dd == d {
				found = true
				break
			}
		}
		if !found {
			return refuse(ticket.ReasonWrongDay, fmt.Sprintf("not valid on %s (valid on %s)",
				e.local.Format("Mon 2006-01-02"), strings.Join(e.r.Dates, ", ")), nil), false
		}
	}
	if len(e.r.Weekdays) > 0 {
		wd := weekdayNames[isoWeekday(e.local)]
		if !slices.Contains(e.r.Weekdays, wd) {
			return refuse(ticket.ReasonWrongDay, fmt.Sprintf("not valid on %s (valid on %s)",
				e.local.Format("Monday"), strings.Join(e.r.Weekdays, ", ")), nil), false
		}
	}
	return Verdict{}, true
}

func (e *eval) windows() (Verdict, bool) {
	if len(e.r.Windows) == 0 {
		return Verdict{}, true
	}
	for i := range e.r.Windows {
		if e.inWindow(&e.r.Windows[i]) {
			return Verdict{}, true
		}
	}
	spans := make([]string, len(e.r.Windows))
	for i := range e.r.Windows {
		spans[i] = e.describeWindow(&e.r.Windows[i])
	}
	return refuse(ticket.ReasonOutsideHours, fmt.Sprintf("%s is outside the entry hours (%s)",
		e.local.Format("15:04:05 MST"), strings.Join(spans, ", ")), nil), false
}

// inWindow reports whether the scan is in w: From inclusive, Until
// exclusive. A window that cannot be read or resolved holds nothing.
func (e *eval) inWindow(w *Window) bool {
	from, ok1 := parseTimeExpr(w.From)
	until, ok2 := parseTimeExpr(w.Until)
	if !ok1 || !ok2 {
		return false
	}
	if from.kind == exprClock || until.kind == exprClock {
		lo, hi := 0, 24*3600
		switch {
		case from.kind == exprClock:
			lo = from.clock
		case from.kind != exprNone:
			return false
		}
		switch {
		case until.kind == exprClock:
			hi = until.clock
		case until.kind != exprNone:
			return false
		}
		now := clockOf(e.local)
		if lo <= hi {
			return lo <= now && now < hi
		}
		return now >= lo || now < hi
	}
	if from.kind != exprNone {
		t, ok := from.instant(&e.c)
		if !ok || e.c.At.Before(t) {
			return false
		}
	}
	if until.kind != exprNone {
		t, ok := until.instant(&e.c)
		if !ok || !e.c.At.Before(t) {
			return false
		}
	}
	return true
}

// describeWindow writes a window for a person, event times resolved.
func (e *eval) describeWindow(w *Window) string {
	side := func(s string) string {
		x, ok := parseTimeExpr(s)
		switch {
		case !ok:
			return fmt.Sprintf("%q (unreadable)", s)
		case x.kind == exprClock:
			return formatClock(x.clock)
		case x.kind == exprEvent:
			if t, ok := x.instant(&e.c); ok {
				return e.when(t)
			}
			return s + " (event time unknown)"
		}
		return e.when(x.at)
	}
	switch {
	case w.From == "" && w.Until == "":
		return "any time"
	case w.From == "":
		return "until " + side(w.Until)
	case w.Until == "":
		return "from " + side(w.From)
	}
	return side(w.From) + "–" + side(w.Until)
}

// state checks the inside state and the counts of an entry.
func (e *eval) state() (Verdict, bool) {
	r := &e.r
	single := !r.Reentry && !r.MultiEntry
	if single && e.entries > 0 {
		p := &e.hist[e.last]
		return refuse(ticket.ReasonAlreadyUsed, "already entered "+e.where(p)+" (1 entry allowed)", p), false
	}
	if r.Reentry && !r.MultiEntry && e.inside() {
		p := &e.hist[e.latest]
		return refuse(ticket.ReasonAlreadyUsed, "already inside: entered "+e.where(p), p), false
	}
	if r.MaxEntries > 0 && e.entries >= r.MaxEntries {
		p := &e.hist[e.last]
		return refuse(ticket.ReasonAlreadyUsed, fmt.Sprintf("all %s used; last %s",
			plural(r.MaxEntries, "entry"), e.where(p)), p), false
	}
	if r.MaxEntriesPerDay > 0 {
		e.countDays()
		if e.today >= r.MaxEntriesPerDay {
			p := &e.hist[e.lastToday]
			return refuse(ticket.ReasonAlreadyUsed, fmt.Sprintf("already entered today %s (%s a day allowed)",
				e.where(p), plural(r.MaxEntriesPerDay, "entry")), p), false
		}
	}
	if r.MaxDays > 0 {
		e.countDays()
		if e.today == 0 && e.days >= r.MaxDays {
			p := &e.hist[e.last]
			return refuse(ticket.ReasonAlreadyUsed, fmt.Sprintf("already used on %s (%s allowed); last entry %s",
				plural(e.days, "day"), plural(r.MaxDays, "day"), e.where(p)), p), false
		}
	}
	return Verdict{}, true
}

func refuse(reason ticket.Reason, detail string, prev *Passage) Verdict {
	v := Verdict{Reason: reason, Detail: detail}
	if prev != nil {
		p := *prev
		v.Previous = &p
	}
	return v
}

// where writes a passage's place and time for a person: "at gate G2
// (device gate-2) at 19:31:04".
func (e *eval) where(p *Passage) string {
	var b strings.Builder
	if p.Gate != "" {
		b.WriteString("at gate ")
		b.WriteString(p.Gate)
		if p.Origin != "" {
			b.WriteString(" (device ")
			b.WriteString(p.Origin)
			b.WriteString(")")
		}
	} else if p.Origin != "" {
		b.WriteString("on device ")
		b.WriteString(p.Origin)
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	b.WriteString("at ")
	b.WriteString(e.when(p.At))
	b.WriteString(p.At.In(e.loc).Format(" MST")) // the zone named: staff and logs may be elsewhere
	if p.Override {
		b.WriteString(" (override)")
	}
	return b.String()
}

// when writes t on the venue's wall clock: the time of day, with the date
// when it is not the scan's day, with milliseconds when it has some.
func (e *eval) when(t time.Time) string {
	l := t.In(e.loc)
	layout := "15:04:05"
	if l.Nanosecond()/int(time.Millisecond) != 0 {
		layout = "15:04:05.000"
	}
	if dayKey(l) != dayKey(e.local) {
		layout = "2006-01-02 " + layout
	}
	return l.Format(layout)
}

// maxMinutes is a century: longer spans are taken as this long, so the
// arithmetic never overflows. Validate rejects them.
const maxMinutes = 100 * 365 * 24 * 60

func minutes(n int) time.Duration { return time.Duration(min(n, maxMinutes)) * time.Minute }

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "y") && noun != "day" {
		return fmt.Sprintf("%d %sies", n, noun[:len(noun)-1])
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// comparePassages is the one total order of passages: time, gate, origin,
// entries before exits, zone, overrides last.
func comparePassages(a, b *Passage) int {
	if c := a.At.Compare(b.At); c != 0 {
		return c
	}
	if c := strings.Compare(a.Gate, b.Gate); c != 0 {
		return c
	}
	if c := strings.Compare(a.Origin, b.Origin); c != 0 {
		return c
	}
	if a.Exit != b.Exit {
		if a.Exit {
			return 1
		}
		return -1
	}
	if c := cmpInt(a.Zone, b.Zone); c != 0 {
		return c
	}
	if a.Override != b.Override {
		if a.Override {
			return 1
		}
		return -1
	}
	return 0
}
