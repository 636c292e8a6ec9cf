package rules

import (
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests' zones, whatever the machine has

	"github.com/tixgate/tixgate/ticket"
)

var (
	berlin = mustZone("Europe/Berlin")
	tokyo  = mustZone("Asia/Tokyo")
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// at reads an RFC 3339 time, with milliseconds if given.
func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// entry is an entry at gate G1, recorded by device gate-1.
func entry(s string) Passage { return Passage{At: at(s), Gate: "G1", Origin: "gate-1"} }

// exit is an exit at gate G1, recorded by device gate-1.
func exit(s string) Passage { return Passage{Exit: true, At: at(s), Gate: "G1", Origin: "gate-1"} }

func (p Passage) gate(g, origin string) Passage { p.Gate, p.Origin = g, origin; return p }
func (p Passage) zone(z int) Passage            { p.Zone = z; return p }
func (p Passage) override() Passage             { p.Override = true; return p }

// scanIn is an entry scan at gate G1 in Berlin, with the test event's times.
func scanIn(s string) Context {
	return Context{
		At: at(s), Location: berlin, Gate: "G1", Direction: In,
		EventStart: at("2026-06-12T19:00:00+02:00"),
		EventEnd:   at("2026-06-12T23:00:00+02:00"),
		Admission:  at("2026-06-12T18:00:00+02:00"),
	}
}

// scanOut is an exit scan at gate G1 in Berlin.
func scanOut(s string) Context { c := scanIn(s); c.Direction = Out; return c }

func (c Context) at(g string) Context         { c.Gate = g; return c }
func (c Context) inZone(z int) Context        { c.Zone = z; return c }
func (c Context) in(l *time.Location) Context { c.Location = l; return c }
func (c Context) noEvent() Context {
	c.EventStart, c.EventEnd, c.Admission = time.Time{}, time.Time{}, time.Time{}
	return c
}
func (c Context) withAdmission(a string) Context {
	c.Admission = time.Time{}
	if a != "" {
		c.Admission = at(a)
	}
	return c
}

func hist(p ...Passage) []Passage { return p }

type evalCase struct {
	name    string
	rule    Rule
	history []Passage
	scan    Context
	want    ticket.Reason
}

func runEvalCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.history)
			got := Evaluate(tc.rule, tc.history, tc.scan)
			if got.Reason != tc.want {
				t.Fatalf("Evaluate = %s (%s), want %s", got.Reason, got.Detail, tc.want)
			}
			checkVerdict(t, got)
			if !slices.Equal(before, tc.history) {
				t.Fatalf("Evaluate modified the history")
			}
			// Any order of the history gives the same verdict.
			rev := slices.Clone(tc.history)
			slices.Reverse(rev)
			if again := Evaluate(tc.rule, rev, tc.scan); again.Reason != got.Reason || again.Detail != got.Detail {
				t.Fatalf("reversed history: %s (%s), want %s (%s)", again.Reason, again.Detail, got.Reason, got.Detail)
			}
		})
	}
}

// checkVerdict checks what every verdict must satisfy.
func checkVerdict(t testing.TB, v Verdict) {
	t.Helper()
	if v.OK != (v.Reason == ticket.ReasonOK) {
		t.Fatalf("OK = %v with reason %q", v.OK, v.Reason)
	}
	if v.OK && (v.Detail != "" || v.Previous != nil) {
		t.Fatalf("ok verdict with detail %q, previous %v", v.Detail, v.Previous)
	}
	if !v.OK && v.Detail == "" {
		t.Fatalf("refusal %s without detail", v.Reason)
	}
}

var (
	ok          = ticket.ReasonOK
	alreadyUsed = ticket.ReasonAlreadyUsed
	notInside   = ticket.ReasonNotInside
)

func TestSingleEntry(t *testing.T) {
	single := Rule{}
	runEvalCases(t, []evalCase{
		{"first entry", single, nil, scanIn("2026-06-12T19:00:00+02:00"), ok},
		{"second entry", single, hist(entry("2026-06-12T19:00:00+02:00")), scanIn("2026-06-12T19:05:00+02:00"), alreadyUsed},
		{"second entry a day later", single, hist(entry("2026-06-12T19:00:00+02:00")), scanIn("2026-06-13T19:00:00+02:00"), alreadyUsed},
		{"exit after the entry", single, hist(entry("2026-06-12T19:00:00+02:00")), scanOut("2026-06-12T20:00:00+02:00"), ok},
		{"exit without entry", single, nil, scanOut("2026-06-12T20:00:00+02:00"), notInside},
		{"entry after an exit", single, hist(entry("2026-06-12T19:00:00+02:00"), exit("2026-06-12T20:00:00+02:00")), scanIn("2026-06-12T20:10:00+02:00"), alreadyUsed},
		{"second exit", single, hist(entry("2026-06-12T19:00:00+02:00"), exit("2026-06-12T20:00:00+02:00")), scanOut("2026-06-12T20:10:00+02:00"), notInside},
		{"an override counts as an entry", single, hist(entry("2026-06-12T19:00:00+02:00").override()), scanIn("2026-06-12T19:05:00+02:00"), alreadyUsed},
		{"an entry stamped after the scan counts", single, hist(entry("2026-06-12T19:00:01+02:00")), scanIn("2026-06-12T19:00:00+02:00"), alreadyUsed},
		{"max_entries 1 is the same", Rule{MaxEntries: 1}, hist(entry("2026-06-12T19:00:00+02:00")), scanIn("2026-06-12T19:05:00+02:00"), alreadyUsed},
	})
}

func TestReentry(t *testing.T) {
	re := Rule{Reentry: true}
	in1, out1 := entry("2026-06-12T19:00:00+02:00"), exit("2026-06-12T20:00:00+02:00")
	in2, out2 := entry("2026-06-12T20:30:00+02:00"), exit("2026-06-12T21:00:00+02:00")
	runEvalCases(t, []evalCase{
		{"first entry", re, nil, scanIn("2026-06-12T19:00:00+02:00"), ok},
		{"entry after an exit", re, hist(in1, out1), scanIn("2026-06-12T20:10:00+02:00"), ok},
		{"entry while inside", re, hist(in1), scanIn("2026-06-12T19:10:00+02:00"), alreadyUsed},
		{"entry while inside again", re, hist(in1, out1, in2), scanIn("2026-06-12T20:40:00+02:00"), alreadyUsed},
		{"exit while inside", re, hist(in1, out1, in2), scanOut("2026-06-12T20:40:00+02:00"), ok},
		{"exit while outside", re, hist(in1, out1), scanOut("2026-06-12T20:10:00+02:00"), notInside},
		{"exit without entry", re, nil, scanOut("2026-06-12T20:10:00+02:00"), notInside},
		{"max_entries 2, one used", Rule{Reentry: true, MaxEntries: 2}, hist(in1, out1), scanIn("2026-06-12T20:10:00+02:00"), ok},
		{"max_entries 2, both used", Rule{Reentry: true, MaxEntries: 2}, hist(in1, out1, in2, out2), scanIn("2026-06-12T21:10:00+02:00"), alreadyUsed},
		{"max_entries 2, exit still allowed", Rule{Reentry: true, MaxEntries: 2}, hist(in1, out1, in2), scanOut("2026-06-12T21:10:00+02:00"), ok},
		{"max_entries 0 is unlimited", re, hist(in1, out1, in2, out2), scanIn("2026-06-12T21:10:00+02:00"), ok},
	})
}

func TestMultiEntry(t *testing.T) {
	var three []Passage
	for _, s := range []string{"2026-06-12T19:00:00+02:00", "2026-06-12T19:10:00+02:00", "2026-06-12T19:20:00+02:00"} {
		three = append(three, entry(s))
	}
	runEvalCases(t, []evalCase{
		{"entries without exits", Rule{MultiEntry: true}, three, scanIn("2026-06-12T19:30:00+02:00"), ok},
		{"max_entries 3, two used", Rule{MultiEntry: true, MaxEntries: 3}, three[:2], scanIn("2026-06-12T19:30:00+02:00"), ok},
		{"max_entries 3, three used", Rule{MultiEntry: true, MaxEntries: 3}, three, scanIn("2026-06-12T19:30:00+02:00"), alreadyUsed},
		{"exit after entries", Rule{MultiEntry: true}, three, scanOut("2026-06-12T19:30:00+02:00"), ok},
		{"exit after an exit", Rule{MultiEntry: true}, append(slices.Clone(three), exit("2026-06-12T19:25:00+02:00")), scanOut("2026-06-12T19:30:00+02:00"), notInside},
		{"multi_entry wins over reentry", Rule{MultiEntry: true, Reentry: true}, three, scanIn("2026-06-12T19:30:00+02:00"), ok},
	})
}

func TestPerDay(t *testing.T) {
	perDay := func(n int) Rule { return Rule{MultiEntry: true, MaxEntriesPerDay: n} }
	runEvalCases(t, []evalCase{
		{"1 a day, none today", perDay(1), hist(entry("2026-06-11T19:00:00+02:00")), scanIn("2026-06-12T19:00:00+02:00"), ok},
		{"1 a day, one today", perDay(1), hist(entry("2026-06-12T10:00:00+02:00")), scanIn("2026-06-12T19:00:00+02:00"), alreadyUsed},
		{"2 a day, one today", perDay(2), hist(entry("2026-06-12T10:00:00+02:00")), scanIn("2026-06-12T19:00:00+02:00"), ok},
		{"2 a day, two today", perDay(2), hist(entry("2026-06-12T10:00:00+02:00"), entry("2026-06-12T11:00:00+02:00")), scanIn("2026-06-12T19:00:00+02:00"), alreadyUsed},
		{"exits do not count", perDay(1), hist(exit("2026-06-12T10:00:00+02:00")), scanIn("2026-06-12T19:00:00+02:00"), ok},

		// Midnight in Tokyo (UTC+9) is 15:00 UTC: the day changes there, not at 00:00 UTC.
		{"tokyo: 23:59:59 then 00:00:00 is a new day", perDay(1).withLoc(tokyo),
			hist(entry("2026-06-12T23:59:59+09:00")), scanIn("2026-06-13T00:00:00+09:00").in(tokyo), ok},
		{"tokyo: 00:00:00 then 23:59:59 is the same day", perDay(1).withLoc(tokyo),
			hist(entry("2026-06-13T00:00:00+09:00")), scanIn("2026-06-13T23:59:59+09:00").in(tokyo), alreadyUsed},
		{"utc: the same instants are one UTC day", perDay(1),
			hist(entry("2026-06-12T23:59:59+09:00")), scanIn("2026-06-13T00:00:00+09:00").in(time.UTC), alreadyUsed},
		{"nil location is UTC", perDay(1),
			hist(entry("2026-06-12T23:59:59+09:00")), scanIn("2026-06-13T00:00:00+09:00").in(nil), alreadyUsed},

		// Berlin leaves summer time on 2026-10-25 (25 hours) and enters it on 2026-03-29 (23 hours).
		{"dst end: 00:30 CEST and 23:30 CET, 25h apart, one day", perDay(1),
			hist(entry("2026-10-25T00:30:00+02:00")), scanIn("2026-10-25T23:30:00+01:00"), alreadyUsed},
		{"dst end: 23:30 CET then 00:10 the next day", perDay(1),
			hist(entry("2026-10-25T23:30:00+01:00")), scanIn("2026-10-26T00:10:00+01:00"), ok},
		{"dst start: 00:30 CET and 23:45 CEST, one day", perDay(1),
			hist(entry("2026-03-29T00:30:00+01:00")), scanIn("2026-03-29T23:45:00+02:00"), alreadyUsed},
		{"dst start: 00:30 CET then 00:10 the next day, 22h40m later", perDay(1),
			hist(entry("2026-03-29T00:30:00+01:00")), scanIn("2026-03-30T00:10:00+02:00"), ok},
	})
}

// withLoc is r unchanged: the location is the scan's; it reads better in tables.
func (r Rule) withLoc(*time.Location) Rule { return r }

func TestMaxDays(t *testing.T) {
	pass := Rule{Reentry: true, MaxDays: 2}
	days := hist(
		entry("2026-06-12T18:00:00+02:00"), exit("2026-06-12T23:00:00+02:00"),
		entry("2026-06-13T18:00:00+02:00"), exit("2026-06-13T23:00:00+02:00"),
	)
	runEvalCases(t, []evalCase{
		{"second day", pass, days[:2], scanIn("2026-06-13T18:00:00+02:00"), ok},
		{"second day again after an exit", pass, days, scanIn("2026-06-13T23:30:00+02:00"), ok},
		{"third day", pass, days, scanIn("2026-06-14T18:00:00+02:00"), alreadyUsed},
		{"third day, 3 days allowed", Rule{Reentry: true, MaxDays: 3}, days, scanIn("2026-06-14T18:00:00+02:00"), ok},
		{"days are local: 00:30 in Berlin is the third day", pass, days, scanIn("2026-06-13T22:30:00Z"), alreadyUsed},
	})
}

func TestMinutesBetween(t *testing.T) {
	r := Rule{MultiEntry: true, MinMinutesBetween: 10}
	last := hist(entry("2026-06-12T18:00:00+02:00"), entry("2026-06-12T19:00:00+02:00"))
	runEvalCases(t, []evalCase{
		{"first entry", r, nil, scanIn("2026-06-12T19:00:00+02:00"), ok},
		{"9m59s after", r, last, scanIn("2026-06-12T19:09:59+02:00"), ticket.ReasonTooSoon},
		{"9m59.999s after", r, last, scanIn("2026-06-12T19:09:59.999+02:00"), ticket.ReasonTooSoon},
		{"exactly 10m after", r, last, scanIn("2026-06-12T19:10:00+02:00"), ok},
		{"exits do not start the interval", r, append(slices.Clone(last), exit("2026-06-12T19:09:00+02:00")), scanIn("2026-06-12T19:10:00+02:00"), ok},
		{"an exit is never too soon", r, last, scanOut("2026-06-12T19:00:01+02:00"), ok},
		{"huge spans do not overflow", Rule{MultiEntry: true, MinMinutesBetween: 1 << 62}, last, scanIn("2030-06-12T23:00:00+02:00"), ticket.ReasonTooSoon},
		{"an entry stamped after the scan", r, hist(entry("2026-06-12T19:00:05+02:00")), scanIn("2026-06-12T19:00:00+02:00"), ticket.ReasonTooSoon},
	})
}

func TestMinutesAfterFirst(t *testing.T) {
	r := Rule{MultiEntry: true, MaxMinutesAfterFirst: 240}
	first := hist(entry("2026-06-12T19:00:00+02:00"), entry("2026-06-12T20:00:00+02:00"))
	runEvalCases(t, []evalCase{
		{"first entry", r, nil, scanIn("2026-06-12T19:00:00+02:00"), ok},
		{"3h59m59s after", r, first, scanIn("2026-06-12T22:59:59+02:00"), ok},
		{"exactly 4h after", r, first, scanIn("2026-06-12T23:00:00+02:00"), ticket.ReasonExpired},
		{"exits are still allowed", r, first, scanOut("2026-06-13T01:00:00+02:00"), ok},
		{"huge spans do not overflow", Rule{MultiEntry: true, MaxMinutesAfterFirst: 1 << 62}, first, scanIn("2030-06-12T23:00:00+02:00"), ok},
	})
}

func TestWindows(t *testing.T) {
	daily := Rule{Windows: []Window{{From: "09:00", Until: "17:00"}}}
	night := Rule{Windows: []Window{{From: "22:00", Until: "02:00"}}}
	abs := Rule{Windows: []Window{{From: "2026-06-12T18:00:00+02:00", Until: "2026-06-12T23:00:00+02:00"}}}
	event := Rule{Windows: []Window{{From: "event_start-60", Until: "event_end+30"}}}
	dstHour := Rule{Windows: []Window{{From: "02:00", Until: "03:00"}}}
	outside := ticket.ReasonOutsideHours
	runEvalCases(t, []evalCase{
		{"daily: 08:59:59", daily, nil, scanIn("2026-06-12T08:59:59+02:00"), outside},
		{"daily: from is inclusive", daily, nil, scanIn("2026-06-12T09:00:00+02:00"), ok},
		{"daily: 16:59:59.999", daily, nil, scanIn("2026-06-12T16:59:59.999+02:00"), ok},
		{"daily: until is exclusive", daily, nil, scanIn("2026-06-12T17:00:00+02:00"), outside},
		{"daily: local, not UTC", daily, nil, scanIn("2026-06-12T08:00:00Z"), ok},
		{"daily: exits ignore windows", daily, hist(entry("2026-06-12T10:00:00+02:00")), scanOut("2026-06-12T20:00:00+02:00"), ok},
		{"daily: until 24:00", Rule{Windows: []Window{{From: "18:00", Until: "24:00"}}}, nil, scanIn("2026-06-12T23:59:59+02:00"), ok},
		{"daily: from only", Rule{Windows: []Window{{From: "18:00"}}}, nil, scanIn("2026-06-12T17:59:59+02:00"), outside},
		{"daily: until only", Rule{Windows: []Window{{Until: "02:00"}}}, nil, scanIn("2026-06-12T01:59:00+02:00"), ok},
		{"daily: with seconds", Rule{Windows: []Window{{From: "09:00:30", Until: "17:00"}}}, nil, scanIn("2026-06-12T09:00:29+02:00"), outside},

		{"wrapping: 21:59:59", night, nil, scanIn("2026-06-12T21:59:59+02:00"), outside},
		{"wrapping: 22:00", night, nil, scanIn("2026-06-12T22:00:00+02:00"), ok},
		{"wrapping: 23:30", night, nil, scanIn("2026-06-12T23:30:00+02:00"), ok},
		{"wrapping: 00:00", night, nil, scanIn("2026-06-13T00:00:00+02:00"), ok},
		{"wrapping: 01:59:59", night, nil, scanIn("2026-06-13T01:59:59+02:00"), ok},
		{"wrapping: 02:00", night, nil, scanIn("2026-06-13T02:00:00+02:00"), outside},

		{"dst end: first 02:30", dstHour, nil, scanIn("2026-10-25T02:30:00+02:00"), ok},
		{"dst end: second 02:30", dstHour, nil, scanIn("2026-10-25T02:30:00+01:00"), ok},
		{"dst end: 03:00 CET", dstHour, nil, scanIn("2026-10-25T03:00:00+01:00"), outside},
		{"dst start: 03:00 CEST follows 01:59:59 CET", dstHour, nil, scanIn("2026-03-29T03:00:00+02:00"), outside},

		{"absolute: before", abs, nil, scanIn("2026-06-12T17:59:59+02:00"), outside},
		{"absolute: from", abs, nil, scanIn("2026-06-12T16:00:00Z"), ok},
		{"absolute: until", abs, nil, scanIn("2026-06-12T23:00:00+02:00"), outside},

		{"event: an hour before the start", event, nil, scanIn("2026-06-12T18:00:00+02:00"), ok},
		{"event: 61 minutes before the start", event, nil, scanIn("2026-06-12T17:59:00+02:00"), outside},
		{"event: 29 minutes after the end", event, nil, scanIn("2026-06-12T23:29:00+02:00"), ok},
		{"event: 30 minutes after the end", event, nil, scanIn("2026-06-12T23:30:00+02:00"), outside},
		{"event: unknown times hold nothing", event, nil, scanIn("2026-06-12T20:00:00+02:00").noEvent(), outside},
		{"event: admission", Rule{Windows: []Window{{From: "admission"}}}, nil, scanIn("2026-06-12T17:59:59+02:00"), outside},
		{"event: admission unknown falls back to the start", Rule{Windows: []Window{{From: "admission"}}}, nil,
			scanIn("2026-06-12T18:30:00+02:00").withAdmission(""), outside},
		{"event: mixed with an instant", Rule{Windows: []Window{{From: "admission", Until: "2026-06-13T01:00:00+02:00"}}}, nil, scanIn("2026-06-13T00:30:00+02:00"), ok},

		{"several: the second holds", Rule{Windows: []Window{{From: "09:00", Until: "12:00"}, {From: "14:00", Until: "17:00"}}}, nil, scanIn("2026-06-12T15:00:00+02:00"), ok},
		{"several: between them", Rule{Windows: []Window{{From: "09:00", Until: "12:00"}, {From: "14:00", Until: "17:00"}}}, nil, scanIn("2026-06-12T13:00:00+02:00"), outside},
		{"unreadable window holds nothing", Rule{Windows: []Window{{From: "9am"}}}, nil, scanIn("2026-06-12T13:00:00+02:00"), outside},
		{"mixed time of day and instant holds nothing", Rule{Windows: []Window{{From: "09:00", Until: "event_end"}}}, nil, scanIn("2026-06-12T13:00:00+02:00"), outside},
	})
}

func TestDays(t *testing.T) {
	workdays := Rule{Weekdays: []string{"mon", "tue", "wed", "thu", "fri"}}
	dates := Rule{Dates: []string{"2026-06-12", "2026-06-14"}}
	wrongDay := ticket.ReasonWrongDay
	runEvalCases(t, []evalCase{
		{"weekdays: friday", workdays, nil, scanIn("2026-06-12T23:59:59+02:00"), ok},
		{"weekdays: saturday", workdays, nil, scanIn("2026-06-13T00:00:00+02:00"), wrongDay},
		{"weekdays: saturday in Berlin, friday in UTC", workdays, nil, scanIn("2026-06-12T22:30:00Z"), wrongDay},
		{"weekdays: the same instant in UTC", workdays, nil, scanIn("2026-06-12T22:30:00Z").in(time.UTC), ok},
		{"weekdays: sunday only", Rule{Weekdays: []string{"sun"}}, nil, scanIn("2026-06-14T12:00:00+02:00"), ok},
		{"weekdays: exits any day", workdays, hist(entry("2026-06-12T20:00:00+02:00")), scanOut("2026-06-13T01:00:00+02:00"), ok},
		{"dates: listed", dates, nil, scanIn("2026-06-14T00:00:00+02:00"), ok},
		{"dates: not listed", dates, nil, scanIn("2026-06-13T12:00:00+02:00"), wrongDay},
		{"dates: local", dates, nil, scanIn("2026-06-12T22:30:00Z"), wrongDay},
		{"dates and weekdays: both must hold", Rule{Dates: []string{"2026-06-13"}, Weekdays: []string{"fri"}}, nil, scanIn("2026-06-13T12:00:00+02:00"), wrongDay},
	})
}

func TestGates(t *testing.T) {
	r := Rule{Gates: []string{"G1", "G2"}}
	wrongGate := ticket.ReasonWrongGate
	runEvalCases(t, []evalCase{
		{"allowed", r, nil, scanIn("2026-06-12T19:00:00+02:00").at("G2"), ok},
		{"not allowed", r, nil, scanIn("2026-06-12T19:00:00+02:00").at("G3"), wrongGate},
		{"no gate", r, nil, scanIn("2026-06-12T19:00:00+02:00").at(""), wrongGate},
		{"names are exact", r, nil, scanIn("2026-06-12T19:00:00+02:00").at("g1"), wrongGate},
		{"exits too", r, hist(entry("2026-06-12T19:00:00+02:00")), scanOut("2026-06-12T20:00:00+02:00").at("G3"), wrongGate},
		{"entries at other gates count", r, hist(entry("2026-06-12T19:00:00+02:00").gate("G3", "gate-3")), scanIn("2026-06-12T20:00:00+02:00"), alreadyUsed},
	})
}

func TestPerZone(t *testing.T) {
	venue := entry("2026-06-12T19:00:00+02:00")
	runEvalCases(t, []evalCase{
		{"per zone: the VIP area once", Rule{PerZone: true}, hist(venue), scanIn("2026-06-12T20:00:00+02:00").inZone(2), ok},
		{"per zone: the VIP area twice", Rule{PerZone: true}, hist(venue, venue.zone(2)), scanIn("2026-06-12T20:00:00+02:00").inZone(2), alreadyUsed},
		{"per zone: exit from a zone never entered", Rule{PerZone: true}, hist(venue), scanOut("2026-06-12T20:00:00+02:00").inZone(2), notInside},
		{"all zones count by default", Rule{}, hist(venue), scanIn("2026-06-12T20:00:00+02:00").inZone(2), alreadyUsed},
	})
}

// TestOrder peels a scan that breaks every check, one check at a time, to
// show the reason each gives in the documented order.
func TestOrder(t *testing.T) {
	all := Rule{
		Reentry:              true,
		MaxMinutesAfterFirst: 60,
		MinMinutesBetween:    600,
		Gates:                []string{"G1"},
		Weekdays:             []string{"mon"},
		Windows:              []Window{{From: "09:00", Until: "10:00"}},
		When:                 &Condition{Var: VarZone, Op: OpEqual, Value: 5},
	}
	h := hist(entry("2026-06-12T19:00:00+02:00"))
	scan := scanIn("2026-06-12T21:00:00+02:00").at("G9")
	steps := []struct {
		name string
		fix  func(r *Rule, c *Context, h *[]Passage)
		want ticket.Reason
	}{
		{"everything broken", func(*Rule, *Context, *[]Passage) {}, ticket.ReasonWrongGate},
		{"gate fixed", func(r *Rule, c *Context, h *[]Passage) { c.Gate = "G1" }, ticket.ReasonWrongDay},
		{"day fixed", func(r *Rule, c *Context, h *[]Passage) { r.Weekdays = nil }, ticket.ReasonOutsideHours},
		{"hours fixed", func(r *Rule, c *Context, h *[]Passage) { r.Windows = nil }, ticket.ReasonExpired},
		{"expiry fixed", func(r *Rule, c *Context, h *[]Passage) { r.MaxMinutesAfterFirst = 0 }, ticket.ReasonAlreadyUsed},
		{"inside fixed", func(r *Rule, c *Context, h *[]Passage) { *h = append(*h, exit("2026-06-12T20:00:00+02:00")) }, ticket.ReasonTooSoon},
		{"interval fixed", func(r *Rule, c *Context, h *[]Passage) { r.MinMinutesBetween = 0 }, ticket.ReasonNotAllowed},
		{"condition fixed", func(r *Rule, c *Context, h *[]Passage) { c.Zone = 5 }, ticket.ReasonOK},
	}
	r, c := all, scan
	for _, s := range steps {
		s.fix(&r, &c, &h)
		got := Evaluate(r, h, c)
		if got.Reason != s.want {
			t.Fatalf("%s: got %s (%s), want %s", s.name, got.Reason, got.Detail, s.want)
		}
	}
}

func TestDetail(t *testing.T) {
	g2 := entry("2026-06-12T19:31:04+02:00").gate("G2", "gate-2")
	cases := []struct {
		name     string
		rule     Rule
		history  []Passage
		scan     Context
		want     []string // in the detail
		previous *Passage
	}{
		{"already used", Rule{}, hist(g2), scanIn("2026-06-12T19:40:00+02:00"),
			[]string{"already entered at gate G2 (device gate-2) at 19:31:04 CEST (1 entry allowed)"}, &g2},
		{"already used another day", Rule{}, hist(g2), scanIn("2026-06-13T19:40:00+02:00"),
			[]string{"at 2026-06-12 19:31:04"}, &g2},
		{"already used in the same second", Rule{}, hist(g2), scanIn("2026-06-12T19:31:04.050+02:00"),
			[]string{"at 19:31:04 CEST (1 entry"}, &g2},
		{"too soon", Rule{MultiEntry: true, MinMinutesBetween: 10}, hist(g2), scanIn("2026-06-12T19:35:00+02:00"),
			[]string{"last entry at gate G2 (device gate-2) at 19:31:04", "next entry from 19:41:04", "10 minutes"}, &g2},
		{"per day", Rule{MultiEntry: true, MaxEntriesPerDay: 1}, hist(g2), scanIn("2026-06-12T19:35:00+02:00"),
			[]string{"already entered today at gate G2", "1 entry a day allowed"}, &g2},
		{"max entries", Rule{MultiEntry: true, MaxEntries: 1}, hist(g2), scanIn("2026-06-12T19:35:00+02:00"),
			[]string{"all 1 entry used"}, &g2},
		{"expired", Rule{MultiEntry: true, MaxMinutesAfterFirst: 60}, hist(g2), scanIn("2026-06-12T21:00:00+02:00"),
			[]string{"valid for 60 minutes", "expired at 20:31:04"}, &g2},
		{"not inside", Rule{}, nil, scanOut("2026-06-12T21:00:00+02:00"),
			[]string{"not inside: no entry yet"}, nil},
		{"wrong gate", Rule{Gates: []string{"G1", "G2"}}, nil, scanIn("2026-06-12T21:00:00+02:00").at("G3"),
			[]string{"gate G3 is not allowed (allowed: G1, G2)"}, nil},
		{"wrong day", Rule{Weekdays: []string{"sat", "sun"}}, nil, scanIn("2026-06-12T21:00:00+02:00"),
			[]string{"not valid on Friday (valid on sat, sun)"}, nil},
		{"outside hours", Rule{Windows: []Window{{From: "09:00", Until: "17:00"}, {From: "event_start-60", Until: "event_end"}}}, nil, scanIn("2026-06-12T17:30:00+02:00"),
			[]string{"17:30:00 CEST is outside the entry hours (09:00–17:00, 18:00:00–23:00:00)"}, nil},
		{"condition", Rule{MultiEntry: true, When: &Condition{All: []Condition{
			Compare(VarGate, OpIn, []string{"G1", "G2"}),
			Compare(VarEntriesNumber, OpLess, 1),
		}}}, hist(g2), scanIn("2026-06-12T21:00:00+02:00"),
			[]string{"condition not met: entries_number < 1 (entries_number is 1)"}, nil},
		{"condition not", Rule{When: &Condition{Not: &Condition{Var: VarGate, Op: OpEqual, Value: "G1"}}}, nil, scanIn("2026-06-12T21:00:00+02:00"),
			[]string{`condition not met: not (gate == G1) (gate is "G1")`}, nil},
		{"condition minutes without entry", Rule{When: &Condition{Var: VarMinutesSinceLastEntry, Op: OpGreaterEqual, Value: 60}}, nil, scanIn("2026-06-12T21:00:00+02:00"),
			[]string{"minutes_since_last_entry >= 60 (no entry yet: -1)"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Evaluate(tc.rule, tc.history, tc.scan)
			checkVerdict(t, got)
			for _, w := range tc.want {
				if !strings.Contains(got.Detail, w) {
					t.Errorf("detail %q does not contain %q", got.Detail, w)
				}
			}
			switch {
			case tc.previous == nil && got.Previous != nil:
				t.Errorf("previous = %+v, want none", *got.Previous)
			case tc.previous != nil && (got.Previous == nil || *got.Previous != *tc.previous):
				t.Errorf("previous = %v, want %+v", got.Previous, *tc.previous)
			}
		})
	}
}

// TestPreviousIsACopy checks that a caller may keep Previous while it
// reuses its history slice.
func TestPreviousIsACopy(t *testing.T) {
	h := hist(entry("2026-06-12T19:00:00+02:00"))
	v := Evaluate(Rule{}, h, scanIn("2026-06-12T19:10:00+02:00"))
	h[0].Gate = "changed"
	if v.Previous == nil || v.Previous.Gate != "G1" {
		t.Fatalf("previous = %+v, want the entry at G1", v.Previous)
	}
}

func timeMinutes(n int) time.Duration { return time.Duration(n) * time.Minute }
