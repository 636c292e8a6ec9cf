package replay

import (
	"time"

	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
)

// Namer names a record's origin device at the record's time.
type Namer func(origin ticket.KeyID, at time.Time) string

// KeyNames names every origin by its key id.
func KeyNames(origin ticket.KeyID, _ time.Time) string { return origin.String() }

// DeviceName names an origin by the newest certificate of its key that the
// trust store holds valid at the time, and by its key id without one.
func DeviceName(trust *ticket.TrustStore, origin ticket.KeyID, at time.Time) string {
	if c, ok := trust.Device(origin, at); ok {
		return c.Device
	}
	return origin.String()
}

// TrustNames is the Namer of DeviceName.
func TrustNames(trust *ticket.TrustStore) Namer {
	return func(origin ticket.KeyID, at time.Time) string { return DeviceName(trust, origin, at) }
}

// Passage returns the passage a record stands for, named by name; false
// for a record that is no passage (a sale, void or annul).
func Passage(r *record.Record, name Namer) (rules.Passage, bool) {
	switch r.Kind {
	case record.KindEntry, record.KindExit, record.KindOverride:
	default:
		return rules.Passage{}, false
	}
	wall := r.HLC.Time()
	return rules.Passage{
		Exit:     r.Kind == record.KindExit,
		At:       wall.Add(time.Duration(r.HLC.Logical())),
		Gate:     r.Gate,
		Zone:     r.Zone,
		Origin:   name(r.Origin, wall),
		Override: r.Kind == record.KindOverride,
	}, true
}

// Ref names a record by its place in its origin's log.
type Ref struct {
	Origin ticket.KeyID
	Seq    uint64
}

// RefOf returns the record's Ref.
func RefOf(r *record.Record) Ref { return Ref{r.Origin, r.Seq} }

// Annulled returns the records that annuls among recs take back; nil when
// there is no annul.
func Annulled(recs []record.Record) map[Ref]bool {
	var gone map[Ref]bool
	for i := range recs {
		if seq, ok := recs[i].Annuls(); ok {
			if gone == nil {
				gone = map[Ref]bool{}
			}
			gone[Ref{recs[i].Origin, seq}] = true
		}
	}
	return gone
}

// Passages returns the passages of one ticket's records, those taken back by
// an annul left out, in the order of recs.
func Passages(recs []record.Record, name Namer) []rules.Passage {
	return passages(recs, name, nil)
}

// passages is Passages; with at, it appends there the index in recs of each
// passage's record.
func passages(recs []record.Record, name Namer, at *[]int) []rules.Passage {
	out := make([]rules.Passage, 0, len(recs))
	gone := Annulled(recs)
	for i := range recs {
		if gone[RefOf(&recs[i])] {
			continue
		}
		if p, ok := Passage(&recs[i], name); ok {
			out = append(out, p)
			if at != nil {
				*at = append(*at, i)
			}
		}
	}
	return out
}

// Violation is a record whose passage the rule would have refused.
type Violation struct {
	Record   int // index in recs of the refused passage's record
	Previous int // index in recs of the record that made it fail; -1 for none
	Reason   ticket.Reason
	Detail   string // names the passage, then what it broke
}

// Ticket replays rule over one ticket's merged records (see rules.Replay):
// every entry or exit, overrides excepted, that the rule would have refused
// given every passage before it. recs hold each (origin, sequence) once,
// in any order; base gives the venue's time zone and the event's times. The
// same records give the same violations in the same order, whatever their
// order; only the indexes follow recs (of two records that read as equal
// passages, the one first in recs is taken as the earlier).
func Ticket(rule rules.Rule, base rules.Context, recs []record.Record, name Namer) []Violation {
	var at []int
	history := passages(recs, name, &at)
	vs := rules.Replay(rule, history, base)
	if len(vs) == 0 {
		return nil
	}
	out := make([]Violation, len(vs))
	for i, v := range vs {
		out[i] = Violation{Record: at[v.Index], Previous: -1, Reason: v.Reason, Detail: v.Detail}
		if v.PreviousIndex >= 0 {
			out[i].Previous = at[v.PreviousIndex]
		}
	}
	return out
}
