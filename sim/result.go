package sim

import (
	"fmt"
	"time"
)

// Result is what a run measured.
type Result struct {
	Scenario string        `json:"scenario"`
	Gates    int           `json:"gates"`
	Zones    int           `json:"zones"`
	Tickets  int           `json:"tickets"`
	Speed    float64       `json:"speed"`
	LaneRate float64       `json:"lane_rate"`
	Window   time.Duration `json:"window"`
	Days     int           `json:"days"`

	Presented int                  `json:"presented"`
	Admitted  int                  `json:"admitted"`
	Refused   map[string]int       `json:"refused"` // by reason
	Errors    int                  `json:"errors"`  // decisions that failed (a gate closing under a scan)
	Exits     int                  `json:"exits"`   // holders let out (re-entry, a festival's day closing)
	ByKind    map[string]KindCount `json:"by_kind"` // what people held: good, forged, duplicate, revoked, wrong_zone

	// Double entries: a single-entry ticket admitted again, while a
	// partition or a crashed gate split the venue, or while it was whole.
	DoubleFaulted   int `json:"double_entries_faulted"`
	DoubleConnected int `json:"double_entries_connected"`
	// ConnectedDoubles are the double entries while whole, with how far
	// apart (wall clock) the two admissions were: two holders of one code
	// at two gates within the propagation time both pass.
	ConnectedDoubles []DoubleEntry `json:"connected_doubles,omitempty"`
	// RecordsPerSecond is the decisions the mesh carried a wall-clock
	// second: speed times the venue's real rate.
	RecordsPerSecond float64 `json:"records_per_second"`
	// Conflicts the gates found once they held every record, and the
	// double entries none of them names (must be none).
	Conflicts              int      `json:"conflicts"`
	DoublesWithoutConflict []uint64 `json:"doubles_without_conflict,omitempty"`

	// Propagation is the wall-clock time from a record's decision to its
	// arrival at the last gate, while the venue was whole and without
	// loss; PropagationLoss the same while packets were being lost;
	// PropagationSettling the same in the first seconds after a partition
	// healed or a crashed gate came back (settleWindow), while the mesh
	// finds itself whole again.
	Propagation         Percentiles `json:"propagation"`
	PropagationLoss     Percentiles `json:"propagation_loss"`
	PropagationSettling Percentiles `json:"propagation_settling"`
	Decision            Percentiles `json:"decision"`

	// Lost counts answered decisions whose record a gate lacks at the end,
	// gate by gate (must be 0); Converged says every gate holds the same.
	Lost      int  `json:"lost"`
	Converged bool `json:"converged"`

	// Sales are the walk-ups' tickets the roaming sellers sold.
	Sales SaleStat `json:"sales"`
	// Central is what central made of the gates' uploads.
	Central CentralStat `json:"central"`
	// Repairs are the gates whose damaged ledger was repaired from their
	// peers, with how long each took.
	Repairs []Repair `json:"repairs,omitempty"`

	PerGate []GateStat    `json:"per_gate"`
	Minutes []Minute      `json:"minutes"`
	Queues  []QueueSample `json:"queues"`
	Faults  []FaultEvent  `json:"faults"`
}

// CentralStat is central's side of a run: the gates upload their records
// through the uplink and central reconciles them.
type CentralStat struct {
	// Records is how many records central holds at the end; Synced says
	// it holds every record the gates hold.
	Records int  `json:"records"`
	Synced  bool `json:"synced"`
	// Lost counts answered decisions whose record central lacks at the
	// end (must be 0).
	Lost int `json:"lost"`
	// Conflicts is what central's reconciliation found open, and
	// DoublesWithoutConflict the double entries it does not name (must be
	// none).
	Conflicts              int      `json:"conflicts"`
	DoublesWithoutConflict []uint64 `json:"doubles_without_conflict,omitempty"`
	// Lag is the wall-clock time from a decision to its record stored at
	// central (about the uplink's interval); LagOutage the same for the
	// records made while the uplink was down, stored once it was back.
	Lag       Percentiles `json:"lag"`
	LagOutage Percentiles `json:"lag_outage"`
}

// SaleStat is what the roaming sellers sold to walk-ups: how many, how
// long a sale took on the handheld, and the sales that failed (must be
// none). How the walk-ups fared at the gates is ByKind["walk_up"].
type SaleStat struct {
	Sold     int         `json:"sold"`
	Decision Percentiles `json:"decision"`
	Failed   []string    `json:"failed,omitempty"`
}

// Repair is one gate's ledger repaired from its peers.
type Repair struct {
	Gate string        `json:"gate"`
	Took time.Duration `json:"took"`
}

// KindCount is how people holding one kind of ticket fared.
type KindCount struct {
	Presented int `json:"presented"`
	Admitted  int `json:"admitted"`
}

// Percentiles of wall-clock durations.
type Percentiles struct {
	N   int           `json:"n"`
	P50 time.Duration `json:"p50"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`
}

func percentiles(sorted []time.Duration) Percentiles {
	if len(sorted) == 0 {
		return Percentiles{}
	}
	return Percentiles{N: len(sorted), P50: percentile(sorted, 50), P99: percentile(sorted, 99), Max: sorted[len(sorted)-1]}
}

// GateStat is one gate's throughput.
type GateStat struct {
	Name          string `json:"name"`
	Zone          string `json:"zone"`
	Entries       int    `json:"entries"`
	PeakPerMinute int    `json:"peak_per_minute"` // decisions in its busiest scenario minute
}

// Minute is one scenario minute of the crowd.
type Minute struct {
	Arrivals int `json:"arrivals"`
	Entries  int `json:"entries"`
	Refusals int `json:"refusals"`
}

// QueueSample is the queues at one moment: the longest, and everyone
// queueing.
type QueueSample struct {
	At    time.Duration `json:"at"`
	Max   int           `json:"max"`
	Total int           `json:"total"`
}

// FaultEvent is a fault as it happened, in scenario time.
type FaultEvent struct {
	At    time.Duration `json:"at"`
	What  string        `json:"what"`
	Gates []string      `json:"gates,omitempty"`
	Loss  float64       `json:"loss,omitempty"`
	Delay time.Duration `json:"delay,omitempty"`
}

// DoubleEntry is one ticket admitted twice.
type DoubleEntry struct {
	Serial uint64        `json:"serial"`
	Gates  [2]string     `json:"gates"`
	Apart  time.Duration `json:"apart"` // wall clock between the admissions
}

// Broken says what the run shows wrong with the system, or "": a record
// lost, gates that never converged, a double entry no gate found, or one
// while the venue was whole whose admissions were further apart than the
// slowest propagation (closer than that, two holders of one code at two
// gates both pass, which only a shorter propagation can help).
func (r *Result) Broken() string {
	var late []DoubleEntry
	for _, d := range r.ConnectedDoubles {
		if d.Apart > r.Propagation.Max {
			late = append(late, d)
		}
	}
	switch {
	case r.Lost > 0:
		return fmt.Sprintf("%d answered decisions' records missing at a gate", r.Lost)
	case !r.Converged:
		return "the gates did not converge after the faults healed"
	case len(r.DoublesWithoutConflict) > 0:
		return fmt.Sprintf("double entries no gate found as a conflict: tickets %v", r.DoublesWithoutConflict)
	case len(r.Sales.Failed) > 0:
		return fmt.Sprintf("%d sales failed at the sellers: %s", len(r.Sales.Failed), r.Sales.Failed[0])
	case r.ByKind[string(walkUp)].Admitted < r.ByKind[string(walkUp)].Presented:
		return fmt.Sprintf("tickets just sold by a seller refused at a gate: %d of %d admitted", r.ByKind[string(walkUp)].Admitted, r.ByKind[string(walkUp)].Presented)
	case r.Central.Lost > 0:
		return fmt.Sprintf("%d answered decisions' records missing at central", r.Central.Lost)
	case !r.Central.Synced:
		return "central did not receive every record once the uplink was back"
	case len(r.Central.DoublesWithoutConflict) > 0:
		return fmt.Sprintf("double entries central did not find as a conflict: tickets %v", r.Central.DoublesWithoutConflict)
	case len(late) > 0:
		return fmt.Sprintf("double entries while the venue was whole, further apart than any propagation: %v", late)
	}
	return ""
}
