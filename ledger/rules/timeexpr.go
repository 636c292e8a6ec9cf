package rules

import (
	"fmt"
	"strings"
	"time"
)

// The parsers below run on every scan, so they allocate nothing: a rule is
// read from the manifest as text and parsed where it is used.

type exprKind uint8

const (
	exprNone    exprKind = iota // the empty string: an open side
	exprClock                   // a wall-clock time of day
	exprInstant                 // an RFC 3339 instant
	exprEvent                   // an instant relative to one of the event's times
)

type anchor uint8

const (
	anchorStart anchor = iota
	anchorEnd
	anchorAdmission
)

var anchorNames = [...]string{anchorStart: "event_start", anchorEnd: "event_end", anchorAdmission: "admission"}

// timeExpr is a parsed time expression.
type timeExpr struct {
	kind   exprKind
	clock  int       // exprClock: seconds since local midnight, 0..86400
	at     time.Time // exprInstant
	anchor anchor    // exprEvent
	offset int       // exprEvent: minutes
}

// daily reports whether e is a time of day (or open, which fits either).
func (e timeExpr) daily() bool { return e.kind == exprClock }

// instant resolves an instant expression against the event's times. It
// reports false for a time of day, an open side, or an unknown event start.
func (e timeExpr) instant(c *Context) (time.Time, bool) {
	switch e.kind {
	case exprInstant:
		return e.at, true
	case exprEvent:
		var t time.Time
		switch e.anchor {
		case anchorEnd:
			t = c.EventEnd
		case anchorAdmission:
			t = c.Admission
		}
		if t.IsZero() {
			t = c.EventStart
		}
		if t.IsZero() {
			return time.Time{}, false
		}
		return t.Add(time.Duration(e.offset) * time.Minute), true
	}
	return time.Time{}, false
}

// parseTimeExpr reads "HH:MM[:SS]", an RFC 3339 instant, or
// event_start/event_end/admission with an optional "+N" or "-N" minutes.
// The empty string is an open side.
func parseTimeExpr(s string) (timeExpr, bool) {
	if s == "" {
		return timeExpr{}, true
	}
	if sec, ok := parseClock(s); ok {
		return timeExpr{kind: exprClock, clock: sec}, true
	}
	for a, name := range anchorNames {
		rest, found := strings.CutPrefix(s, name)
		if !found {
			continue
		}
		if rest == "" {
			return timeExpr{kind: exprEvent, anchor: anchor(a)}, true
		}
		sign := 1
		switch rest[0] {
		case '+':
		case '-':
			sign = -1
		default:
			return timeExpr{}, false
		}
		n, ok := atoi(rest[1:], 1, 7) // up to 19 years
		if !ok {
			return timeExpr{}, false
		}
		return timeExpr{kind: exprEvent, anchor: anchor(a), offset: sign * n}, true
	}
	if t, ok := parseRFC3339(s); ok {
		return timeExpr{kind: exprInstant, at: t}, true
	}
	return timeExpr{}, false
}

func badTime(s string) string {
	return fmt.Sprintf(`bad time %q (want "HH:MM", RFC 3339, or event_start, event_end or admission with optional +/- minutes)`, s)
}

// parseClock reads "HH:MM" or "HH:MM:SS" as seconds since midnight; "24:00"
// is the end of the day.
func parseClock(s string) (int, bool) {
	if len(s) != 5 && len(s) != 8 || s[2] != ':' {
		return 0, false
	}
	h, ok1 := atoi(s[0:2], 2, 2)
	m, ok2 := atoi(s[3:5], 2, 2)
	sec, ok3 := 0, true
	if len(s) == 8 {
		if s[5] != ':' {
			return 0, false
		}
		sec, ok3 = atoi(s[6:8], 2, 2)
	}
	if !ok1 || !ok2 || !ok3 || m > 59 || sec > 59 || h > 24 || h == 24 && (m != 0 || sec != 0) {
		return 0, false
	}
	return h*3600 + m*60 + sec, true
}

// parseDate reads "YYYY-MM-DD".
func parseDate(s string) (y int, m time.Month, d int, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	y, ok1 := atoi(s[0:4], 4, 4)
	mm, ok2 := atoi(s[5:7], 2, 2)
	d, ok3 := atoi(s[8:10], 2, 2)
	if !ok1 || !ok2 || !ok3 || mm < 1 || mm > 12 || d < 1 || d > daysIn(time.Month(mm), y) {
		return 0, 0, 0, false
	}
	return y, time.Month(mm), d, true
}

// parseRFC3339 reads "YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)" without
// allocating (time.Parse allocates a zone for every numeric offset).
func parseRFC3339(s string) (time.Time, bool) {
	if len(s) < 20 || (s[10] != 'T' && s[10] != 't') {
		return time.Time{}, false
	}
	y, mo, d, ok := parseDate(s[:10])
	if !ok || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	h, ok1 := atoi(s[11:13], 2, 2)
	mi, ok2 := atoi(s[14:16], 2, 2)
	sec, ok3 := atoi(s[17:19], 2, 2)
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest := s[19:]
	ns := 0
	if rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 1 || i > 10 {
			return time.Time{}, false
		}
		frac, _ := atoi(rest[1:i], 1, 9)
		for range 10 - i {
			frac *= 10
		}
		ns = frac
		rest = rest[i:]
	}
	offset := 0
	switch {
	case rest == "Z" || rest == "z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := atoi(rest[1:3], 2, 2)
		om, ok2 := atoi(rest[4:6], 2, 2)
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = oh*3600 + om*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(y, mo, d, h, mi, sec, ns, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

// atoi reads between min and max decimal digits, nothing else.
func atoi(s string, min, max int) (int, bool) {
	if len(s) < min || len(s) > max {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(m time.Month, y int) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

var weekdayNames = [...]string{"", "mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// weekdayNumber is the ISO number of a weekday's name, 1 (mon) to 7 (sun),
// or 0 for anything else.
func weekdayNumber(s string) int {
	for i := 1; i < len(weekdayNames); i++ {
		if s == weekdayNames[i] {
			return i
		}
	}
	return 0
}

// isoWeekday numbers t's weekday 1 (Monday) to 7 (Sunday), as pretix's
// now_isoweekday.
func isoWeekday(t time.Time) int {
	wd := int(t.Weekday())
	if wd == 0 {
		return 7
	}
	return wd
}

// clockOf is t's wall-clock time of day in seconds since midnight.
func clockOf(t time.Time) int {
	h, m, s := t.Clock()
	return h*3600 + m*60 + s
}

// dayKey numbers t's calendar date, in t's location, in date order.
func dayKey(t time.Time) int {
	y, m, d := t.Date()
	return y*512 + int(m)*32 + d
}

// formatClock writes seconds since midnight as "HH:MM", or "HH:MM:SS" when
// the seconds are not zero.
func formatClock(sec int) string {
	if sec%60 != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", sec/3600, sec/60%60, sec%60)
	}
	return fmt.Sprintf("%02d:%02d", sec/3600, sec/60%60)
}
