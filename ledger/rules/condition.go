package rules

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Condition is a small logic tree, for what pretix's check-in rules can say
// and Rule's fields cannot. A node is one of:
//
//	{"all": [c, …]}                       every c holds (none: true)
//	{"any": [c, …]}                       some c holds
//	{"not": c}                            c does not hold
//	{"var": V, "op": OP, "value": X}      a comparison
//
// A node with several of these holds when each holds; a node with none never
// holds. OP is one of < <= == != >= > in; "in" takes a list as X (a single
// value is a list of one). The variables, all about the scan being decided
// and the passages before it:
//
//	entries_number             entries so far
//	entries_today              entries so far on the scan's local day
//	entries_days               local days with an entry so far
//	minutes_since_last_entry   whole minutes; -1 without an entry
//	minutes_since_first_entry  whole minutes; -1 without an entry
//	now                        the scan's time, against a time expression:
//	                           "HH:MM[:SS]" compares the venue's wall clock,
//	                           RFC 3339 or "event_start+N" an instant
//	weekday                    1 (mon) … 7 (sun); X may name it: "sat"
//	gate                       the scan's gate, a string (==, != and in)
//	zone                       the scan's zone, 0..63
//
// Numbers compare as numbers, so "entries_today < 1.5" means what it says.
// pretix's isAfter(now, t, tolerance) is {"var":"now","op":">","value":"t-tolerance"}
// and isBefore(now, t, tolerance) is {"var":"now","op":"<","value":"t+tolerance"}.
type Condition struct {
	All   []Condition `json:"all,omitempty"`
	Any   []Condition `json:"any,omitempty"`
	Not   *Condition  `json:"not,omitempty"`
	Var   Variable    `json:"var,omitempty"`
	Op    Op          `json:"op,omitempty"`
	Value any         `json:"value,omitempty"`
}

// Variable names what a comparison looks at.
type Variable string

const (
	VarEntriesNumber          Variable = "entries_number"
	VarEntriesToday           Variable = "entries_today"
	VarEntriesDays            Variable = "entries_days"
	VarMinutesSinceLastEntry  Variable = "minutes_since_last_entry"
	VarMinutesSinceFirstEntry Variable = "minutes_since_first_entry"
	VarNow                    Variable = "now"
	VarWeekday                Variable = "weekday"
	VarGate                   Variable = "gate"
	VarZone                   Variable = "zone"
)

// Op is a comparison operator.
type Op string

const (
	OpLess         Op = "<"
	OpLessEqual    Op = "<="
	OpEqual        Op = "=="
	OpNotEqual     Op = "!="
	OpGreaterEqual Op = ">="
	OpGreater      Op = ">"
	OpIn           Op = "in"
)

// Compare is the comparison {"var": v, "op": op, "value": value}.
func Compare(v Variable, op Op, value any) Condition {
	return Condition{Var: v, Op: op, Value: value}
}

// All holds when every c holds.
func All(c ...Condition) Condition { return Condition{All: c} }

// Any holds when some c holds.
func Any(c ...Condition) Condition { return Condition{Any: c} }

// Not holds when c does not.
func Not(c Condition) Condition { return Condition{Not: &c} }

func (c *Condition) isComparison() bool { return c.Var != "" || c.Op != "" || c.Value != nil }

// maxDepth bounds the nesting Validate accepts; Evaluate copes with any.
const maxDepth = 32

func (c *Condition) validate(v *validator, path string, depth int) {
	if depth > maxDepth {
		v.addf("%s: nested deeper than %d", path, maxDepth)
		return
	}
	parts := 0
	if c.All != nil {
		parts++
		for i := range c.All {
			c.All[i].validate(v, fmt.Sprintf("%s.all[%d]", path, i), depth+1)
		}
	}
	if c.Any != nil {
		parts++
		if len(c.Any) == 0 {
			v.addf("%s.any: empty, so it never holds", path)
		}
		for i := range c.Any {
			c.Any[i].validate(v, fmt.Sprintf("%s.any[%d]", path, i), depth+1)
		}
	}
	if c.Not != nil {
		parts++
		c.Not.validate(v, path+".not", depth+1)
	}
	if c.isComparison() {
		parts++
		c.validateComparison(v, path)
	}
	switch parts {
	case 0:
		v.addf("%s: empty condition (want all, any, not, or var with op and value)", path)
	case 1:
	default:
		v.addf("%s: more than one of all, any, not and a comparison in one node", path)
	}
}

func (c *Condition) validateComparison(v *validator, path string) {
	switch c.Op {
	case OpLess, OpLessEqual, OpEqual, OpNotEqual, OpGreaterEqual, OpGreater, OpIn:
	default:
		v.addf("%s: unknown op %q (want <, <=, ==, !=, >=, > or in)", path, c.Op)
		return
	}
	if c.Value == nil {
		v.addf("%s: no value to compare %s with", path, c.Var)
		return
	}
	values, isList := listOf(c.Value)
	if isList && c.Op != OpIn {
		v.addf("%s: a list needs op \"in\", not %q", path, c.Op)
		return
	}
	if isList && values.len() == 0 {
		v.addf("%s: empty list: in never holds", path)
	}
	if !isList {
		values = single(c.Value)
	}
	for i := range values.len() {
		x := values.at(i)
		switch c.Var {
		case VarEntriesNumber, VarEntriesToday, VarEntriesDays, VarMinutesSinceLastEntry, VarMinutesSinceFirstEntry:
			if _, ok := number(x); !ok {
				v.addf("%s: %s compares with numbers, not %s", path, c.Var, formatValue(x))
			}
		case VarZone:
			if n, ok := number(x); !ok || n < 0 || n > 63 || n != math.Trunc(n) {
				v.addf("%s: zone compares with zones 0 to 63, not %s", path, formatValue(x))
			}
		case VarWeekday:
			if n, ok := weekdayValue(x); !ok || n < 1 || n > 7 || n != math.Trunc(n) {
				v.addf("%s: weekday compares with mon … sun or 1 … 7, not %s", path, formatValue(x))
			}
		case VarGate:
			if _, ok := x.(string); !ok {
				v.addf("%s: gate compares with gate names, not %s", path, formatValue(x))
			} else if c.Op != OpEqual && c.Op != OpNotEqual && c.Op != OpIn {
				v.addf("%s: gate takes ==, != or in, not %q", path, c.Op)
				return
			}
		case VarNow:
			if c.Op == OpIn {
				v.addf("%s: now takes <, <=, ==, !=, >= or >, not in", path)
				return
			}
			s, ok := x.(string)
			if !ok {
				v.addf("%s: now compares with a time, not %s", path, formatValue(x))
			} else if e, ok := parseTimeExpr(s); !ok || e.kind == exprNone {
				v.addf("%s: %s", path, badTime(s))
			}
		default:
			v.addf("%s: unknown var %q (want entries_number, entries_today, entries_days, minutes_since_last_entry, minutes_since_first_entry, now, weekday, gate or zone)", path, c.Var)
			return
		}
	}
}

// holds evaluates the condition for the scan. It never allocates.
func (c *Condition) holds(e *eval) bool {
	parts := 0
	if c.All != nil {
		parts++
		for i := range c.All {
			if !c.All[i].holds(e) {
				return false
			}
		}
	}
	if c.Any != nil {
		parts++
		if !anyHolds(c.Any, e) {
			return false
		}
	}
	if c.Not != nil {
		parts++
		if c.Not.holds(e) {
			return false
		}
	}
	if c.isComparison() {
		parts++
		if !c.compare(e) {
			return false
		}
	}
	return parts > 0
}

// compare evaluates a comparison; what cannot be compared does not hold.
// It does not box list elements, so it never allocates.
func (c *Condition) compare(e *eval) bool {
	op := c.Op
	if op == OpIn {
		op = OpEqual
	}
	switch l := c.Value.(type) {
	case []any:
		return c.Op == OpIn && slices.ContainsFunc(l, func(x any) bool { return e.compareAny(c.Var, op, x) })
	case []string:
		return c.Op == OpIn && slices.ContainsFunc(l, func(x string) bool { return e.compareString(c.Var, op, x) })
	case []int:
		return c.Op == OpIn && slices.ContainsFunc(l, func(x int) bool { return e.compareNumber(c.Var, op, float64(x)) })
	case []float64:
		return c.Op == OpIn && slices.ContainsFunc(l, func(x float64) bool { return e.compareNumber(c.Var, op, x) })
	}
	return e.compareAny(c.Var, op, c.Value)
}

func (e *eval) compareAny(v Variable, op Op, x any) bool {
	if s, ok := x.(string); ok {
		return e.compareString(v, op, s)
	}
	n, ok := number(x)
	return ok && e.compareNumber(v, op, n)
}

// compareString compares a variable with a string: a gate's name, a time
// expression or a weekday's name.
func (e *eval) compareString(v Variable, op Op, s string) bool {
	switch v {
	case VarGate:
		switch op {
		case OpEqual:
			return e.c.Gate == s
		case OpNotEqual:
			return e.c.Gate != s
		}
	case VarNow:
		t, ok := parseTimeExpr(s)
		if !ok {
			return false
		}
		if t.kind == exprClock {
			cmp := cmpInt(clockOf(e.local), t.clock)
			if cmp == 0 && e.local.Nanosecond() != 0 {
				cmp = 1 // 14:00:00.5 is after 14:00
			}
			return apply(op, cmp)
		}
		at, ok := t.instant(&e.c)
		return ok && apply(op, e.c.At.Compare(at))
	case VarWeekday:
		n := weekdayNumber(s)
		return n != 0 && e.compareNumber(v, op, float64(n))
	}
	return false
}

// compareNumber compares a numeric variable with n.
func (e *eval) compareNumber(v Variable, op Op, n float64) bool {
	have, ok := e.variable(v)
	return ok && apply(op, cmpFloat(float64(have), n))
}

// variable is the value of a numeric variable for the scan.
func (e *eval) variable(v Variable) (int, bool) {
	switch v {
	case VarEntriesNumber:
		return e.entries, true
	case VarEntriesToday:
		e.countDays()
		return e.today, true
	case VarEntriesDays:
		e.countDays()
		return e.days, true
	case VarMinutesSinceLastEntry:
		return e.minutesSince(e.last), true
	case VarMinutesSinceFirstEntry:
		return e.minutesSince(e.first), true
	case VarZone:
		return e.c.Zone, true
	case VarWeekday:
		return isoWeekday(e.local), true
	}
	return 0, false
}

func apply(op Op, cmp int) bool {
	switch op {
	case OpLess:
		return cmp < 0
	case OpLessEqual:
		return cmp <= 0
	case OpEqual:
		return cmp == 0
	case OpNotEqual:
		return cmp != 0
	case OpGreaterEqual:
		return cmp >= 0
	case OpGreater:
		return cmp > 0
	}
	return false
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpFloat compares a with b; NaN compares unequal to everything and
// neither less nor greater (cmp 2 satisfies only !=).
func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	case a == b:
		return 0
	}
	return 2
}

// number reads a numeric value as JSON or Go code may hold it.
func number(x any) (float64, bool) {
	switch n := x.(type) {
	case float64:
		return n, !math.IsNaN(n)
	case float32:
		return float64(n), !math.IsNaN(float64(n))
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint64:
		return float64(n), true
	case uint32:
		return float64(n), true
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		return f, err == nil && !math.IsNaN(f)
	}
	return 0, false
}

// weekdayValue reads a weekday as a name ("mon") or an ISO number (1).
func weekdayValue(x any) (float64, bool) {
	if s, ok := x.(string); ok {
		n := weekdayNumber(s)
		return float64(n), n != 0
	}
	return number(x)
}

// values is a read-only view of a list value of any of the slice types JSON
// or Go code may hold, or of a single value.
type values struct {
	one     any
	isOne   bool
	anys    []any
	strings []string
	ints    []int
	floats  []float64
}

func single(x any) values { return values{one: x, isOne: true} }

func listOf(x any) (values, bool) {
	switch l := x.(type) {
	case []any:
		return values{anys: l}, true
	case []string:
		return values{strings: l}, true
	case []int:
		return values{ints: l}, true
	case []float64:
		return values{floats: l}, true
	}
	return values{}, false
}

func (v *values) len() int {
	if v.isOne {
		return 1
	}
	return len(v.anys) + len(v.strings) + len(v.ints) + len(v.floats)
}

func (v *values) at(i int) any {
	switch {
	case v.isOne:
		return v.one
	case v.anys != nil:
		return v.anys[i]
	case v.strings != nil:
		return v.strings[i]
	case v.ints != nil:
		return v.ints[i]
	}
	return v.floats[i]
}

// explain names a comparison that made the condition fail, with the value
// the scan had. It runs only on refusal.
func (c *Condition) explain(e *eval) string {
	if c.All != nil {
		for i := range c.All {
			if !c.All[i].holds(e) {
				return c.All[i].explain(e)
			}
		}
	}
	if c.Any != nil && !anyHolds(c.Any, e) {
		if len(c.Any) == 0 {
			return "empty any"
		}
		s := c.Any[0].explain(e)
		if len(c.Any) > 1 {
			s += fmt.Sprintf(", nor any of %d other alternatives", len(c.Any)-1)
		}
		return s
	}
	if c.Not != nil && c.Not.holds(e) {
		return "not (" + c.Not.String() + ")" + e.actual(c.Not)
	}
	if c.isComparison() && !c.compare(e) {
		return c.String() + e.actual(c)
	}
	if c.All == nil && c.Any == nil && c.Not == nil && !c.isComparison() {
		return "empty condition"
	}
	return c.String()
}

func anyHolds(cs []Condition, e *eval) bool {
	for i := range cs {
		if cs[i].holds(e) {
			return true
		}
	}
	return false
}

// actual is " (var is value)" for a comparison: what the scan had.
func (e *eval) actual(c *Condition) string {
	if !c.isComparison() {
		return ""
	}
	var have string
	switch c.Var {
	case VarGate:
		have = strconv.Quote(e.c.Gate)
	case VarNow:
		have = e.local.Format("2006-01-02 15:04:05 MST")
	case VarWeekday:
		have = weekdayNames[isoWeekday(e.local)]
	case VarMinutesSinceLastEntry, VarMinutesSinceFirstEntry:
		if n, _ := e.variable(c.Var); n < 0 {
			return " (no entry yet: -1)"
		}
		fallthrough
	default:
		n, ok := e.variable(c.Var)
		if !ok {
			return ""
		}
		have = strconv.Itoa(n)
	}
	return fmt.Sprintf(" (%s is %s)", c.Var, have)
}

// String writes the condition compactly, e.g.
// "all(entries_today < 1, not(gate in [G1 G2]))".
func (c Condition) String() string {
	var parts []string
	list := func(name string, cs []Condition) {
		s := make([]string, len(cs))
		for i := range cs {
			s[i] = cs[i].String()
		}
		parts = append(parts, name+"("+strings.Join(s, ", ")+")")
	}
	if c.All != nil {
		list("all", c.All)
	}
	if c.Any != nil {
		list("any", c.Any)
	}
	if c.Not != nil {
		parts = append(parts, "not("+c.Not.String()+")")
	}
	if c.isComparison() {
		parts = append(parts, fmt.Sprintf("%s %s %s", c.Var, c.Op, formatValue(c.Value)))
	}
	if len(parts) == 0 {
		return "{}"
	}
	return strings.Join(parts, " and ")
}

func formatValue(x any) string {
	switch v := x.(type) {
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	case string:
		return v
	case nil:
		return "null"
	case time.Time:
		return v.Format(time.RFC3339)
	}
	if l, ok := listOf(x); ok {
		s := make([]string, l.len())
		for i := range s {
			s[i] = formatValue(l.at(i))
		}
		return "[" + strings.Join(s, " ") + "]"
	}
	return fmt.Sprint(x)
}
