package sim

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/tixgate/tixgate/ticket/strict"
)

// Scenario is a venue, its crowd and its faults, read from a YAML or TOML
// file (see testdata/scenarios).
type Scenario struct {
	Name string `yaml:"name" toml:"name"`
	// Zones are the venue's areas; tickets are split evenly across them.
	Zones []string `yaml:"zones" toml:"zones"`
	// Gates is how many turnstiles, G1…Gn, spread across the zones in turn.
	Gates int `yaml:"gates" toml:"gates"`
	// Tickets is how many tickets were sold; Attendance the share of them
	// whose holders come (the rest are no-shows).
	Tickets    int     `yaml:"tickets" toml:"tickets"`
	Attendance float64 `yaml:"attendance" toml:"attendance"`
	// LaneRate is how many people one turnstile lets through a minute at
	// best (about 20-30 for a scan-and-push turnstile).
	LaneRate float64  `yaml:"lane_rate" toml:"lane_rate"`
	Arrivals Arrivals `yaml:"arrivals" toml:"arrivals"`
	Bad      Bad      `yaml:"bad" toml:"bad"`
	// Days is how many days the event runs (a festival; default 1). Every
	// day the crowd arrives on the curve of Arrivals, whoever is still
	// inside at its end goes out through a gate, and the gates' ledgers see
	// the next date after a night of Night (default a tenth of the window).
	Days  int           `yaml:"days" toml:"days"`
	Night time.Duration `yaml:"night" toml:"night"`
	// DayPasses is the share of tickets valid on one day only, each of its
	// day (a type per day and zone); the others pass every day. With
	// several days or a re-entry share, every ticket allows re-entry.
	DayPasses float64 `yaml:"day_passes" toml:"day_passes"`
	// Reentry is the share of admitted holders who go out during the day
	// (20 minutes to 2 hours after coming in) and come back 10 minutes to
	// an hour later, while the day lasts.
	Reentry float64 `yaml:"reentry" toml:"reentry"`
	// Sellers is how many roaming sellers (S1…Sn) walk the venue with
	// handhelds, selling offline within the quota central signed for
	// each; WalkUps is how many people come without a ticket and buy one
	// from a seller (on the first day), then walk to a gate of the
	// ticket's zone two to five minutes later, where it must be admitted.
	Sellers int     `yaml:"sellers" toml:"sellers"`
	WalkUps int     `yaml:"walk_ups" toml:"walk_ups"`
	Faults  []Fault `yaml:"faults" toml:"faults"`
	// Speed is how many scenario seconds pass per wall-clock second.
	Speed float64 `yaml:"speed" toml:"speed"`
	// Seed makes the crowd and the packet loss repeatable.
	Seed uint64 `yaml:"seed" toml:"seed"`
}

// Arrivals is the arrival curve: most attendees around Peak after doors
// open, spread by Spread (a normal curve cut to the window).
type Arrivals struct {
	Window time.Duration `yaml:"window" toml:"window"`
	Peak   time.Duration `yaml:"peak" toml:"peak"`
	Spread time.Duration `yaml:"spread" toml:"spread"`
}

// Bad is the share of attendees who show a bad ticket.
type Bad struct {
	// Forged codes are signed by a key the venue never trusted.
	Forged float64 `yaml:"forged" toml:"forged"`
	// Duplicate is the share of tickets whose screenshot a second person
	// shows at another gate, DuplicateAfter (default 30 s–5 min) later.
	Duplicate      float64       `yaml:"duplicate" toml:"duplicate"`
	DuplicateAfter time.Duration `yaml:"duplicate_after" toml:"duplicate_after"`
	// Revoked tickets were refunded before the event.
	Revoked float64 `yaml:"revoked" toml:"revoked"`
	// WrongZone holders go to a gate of another zone first.
	WrongZone float64 `yaml:"wrong_zone" toml:"wrong_zone"`
}

// Fault is one event of the fault schedule, At after doors open. Exactly
// one of its actions is set.
type Fault struct {
	At time.Duration `yaml:"at" toml:"at"`
	// Partition cuts these gates from the others (both ways); Heal ends
	// every cut.
	Partition []string `yaml:"partition" toml:"partition"`
	Heal      bool     `yaml:"heal" toml:"heal"`
	// Loss drops this share of the mesh's packets from now on (0 ends it).
	Loss *float64 `yaml:"loss" toml:"loss"`
	// Crash stops a gate without warning its peers; Restart starts it
	// again from its ledger on disk. Its queue walks to the zone's other
	// gates meanwhile.
	Crash   string `yaml:"crash" toml:"crash"`
	Restart string `yaml:"restart" toml:"restart"`
	// Damage crashes a gate and damages its ledger on disk (a file of the
	// store lost, as after a power cut on a worn card); its Restart finds
	// the ledger unsound and repairs it from its peers, as the edge daemon
	// does.
	Damage string `yaml:"damage" toml:"damage"`
	// Delay holds back every mesh message between the gates by this much
	// from now on (0 ends it): a congested venue network.
	Delay *time.Duration `yaml:"delay" toml:"delay"`
	// Uplink is "down" (the venue loses its link to central: the gates
	// keep deciding and gossiping, their uploads wait) or "up".
	Uplink string `yaml:"uplink" toml:"uplink"`
}

func (f Fault) action() string {
	var acts []string
	if len(f.Partition) > 0 {
		acts = append(acts, "partition")
	}
	if f.Heal {
		acts = append(acts, "heal")
	}
	if f.Loss != nil {
		acts = append(acts, "loss")
	}
	if f.Crash != "" {
		acts = append(acts, "crash")
	}
	if f.Restart != "" {
		acts = append(acts, "restart")
	}
	if f.Damage != "" {
		acts = append(acts, "damage")
	}
	if f.Delay != nil {
		acts = append(acts, "delay")
	}
	if f.Uplink != "" {
		acts = append(acts, "uplink "+f.Uplink)
	}
	if len(acts) != 1 {
		return ""
	}
	return acts[0]
}

// Load reads a scenario file.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	var s Scenario
	if err := strict.File(path, data, &s); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	if err := s.Check(); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	return &s, nil
}

// dayLength is one day of the scenario: its arrivals window and the
// night after it.
func (s *Scenario) dayLength() time.Duration { return s.Arrivals.Window + s.Night }

// span is the whole scenario from the first doors to the last day's
// window's end.
func (s *Scenario) span() time.Duration {
	return time.Duration(max(s.Days, 1)-1)*s.dayLength() + s.Arrivals.Window
}

// reentering says whether the tickets allow re-entry.
func (s *Scenario) reentering() bool { return s.Days > 1 || s.Reentry > 0 }

// GateName is the name of gate i, counting from 0.
func GateName(i int) string { return fmt.Sprintf("G%d", i+1) }

// SellerName is the name of seller i, counting from 0.
func SellerName(i int) string { return fmt.Sprintf("S%d", i+1) }

// The ranges Check allows for a scenario's speed (scenario seconds per
// wall-clock second) and tickets sold.
const (
	MinSpeed   float64 = 1
	MaxSpeed   float64 = 10_000
	MaxTickets         = 1_000_000
)

// Check says what is wrong with a scenario, filling in defaults.
func (s *Scenario) Check() error {
	switch {
	case len(s.Zones) == 0 || len(s.Zones) > 60:
		return errors.New("zones: name 1 to 60 zones")
	case s.Gates < len(s.Zones) || s.Gates > 200:
		return fmt.Errorf("gates: at least one per zone (%d) and at most 200", len(s.Zones))
	case s.Tickets <= 0 || s.Tickets > MaxTickets:
		return errors.New("tickets: 1 to 1,000,000")
	case s.Attendance < 0 || s.Attendance > 1:
		return errors.New("attendance: a share between 0 and 1")
	case s.LaneRate <= 0:
		return errors.New("lane_rate: people per minute a turnstile lets through, more than 0")
	case s.Arrivals.Window <= 0 || s.Arrivals.Peak < 0 || s.Arrivals.Peak > s.Arrivals.Window || s.Arrivals.Spread <= 0:
		return errors.New("arrivals: window > 0, peak within it, spread > 0")
	case !(s.Speed >= MinSpeed && s.Speed <= MaxSpeed):
		return errors.New("speed: 1 to 10,000 scenario seconds per second")
	}
	if s.Attendance == 0 {
		s.Attendance = 1
	}
	switch {
	case s.Days < 0 || s.Days > 14:
		return errors.New("days: 1 to 14")
	case s.Night < 0:
		return errors.New("night: a duration, not negative")
	case s.DayPasses < 0 || s.DayPasses > 1 || s.DayPasses > 0 && s.Days < 2:
		return errors.New("day_passes: a share between 0 and 1, with days of 2 or more")
	case s.Reentry < 0 || s.Reentry > 1:
		return errors.New("reentry: a share between 0 and 1")
	}
	if s.Days == 0 {
		s.Days = 1
	}
	switch {
	case s.Sellers < 0 || s.Sellers > 50:
		return errors.New("sellers: 0 to 50")
	case s.WalkUps < 0 || s.WalkUps > 100_000:
		return errors.New("walk_ups: 0 to 100,000")
	case s.WalkUps > 0 && s.Sellers == 0:
		return errors.New("walk_ups: give sellers to sell to them")
	case s.WalkUps > 0 && s.Arrivals.Window < 10*time.Minute:
		return errors.New("walk_ups: the arrivals window must leave them ten minutes to buy and walk to a gate")
	}
	if s.Night == 0 && s.Days > 1 {
		s.Night = max(s.Arrivals.Window/10, 10*time.Minute)
	}
	for name, p := range map[string]float64{"forged": s.Bad.Forged, "duplicate": s.Bad.Duplicate, "revoked": s.Bad.Revoked, "wrong_zone": s.Bad.WrongZone} {
		if p < 0 || p > 0.5 {
			return fmt.Errorf("bad.%s: a share between 0 and 0.5", name)
		}
	}
	gates := map[string]bool{}
	for i := range s.Gates {
		gates[GateName(i)] = true
	}
	for i, f := range s.Faults {
		act := f.action()
		switch {
		case act == "":
			return fmt.Errorf("faults[%d]: give exactly one of partition, heal, loss, delay, crash, damage, restart, uplink", i)
		case f.Uplink != "" && f.Uplink != "down" && f.Uplink != "up":
			return fmt.Errorf("faults[%d]: uplink is down or up, not %q", i, f.Uplink)
		case f.Delay != nil && (*f.Delay < 0 || *f.Delay > 10*time.Second):
			return fmt.Errorf("faults[%d]: delay is a duration from 0 to 10s", i)
		case f.At < 0 || f.At > s.span():
			return fmt.Errorf("faults[%d]: at %v is outside the arrivals window (%v)", i, f.At, s.span())
		case f.Loss != nil && (*f.Loss < 0 || *f.Loss >= 1):
			return fmt.Errorf("faults[%d]: loss is a share from 0 to below 1", i)
		}
		for _, g := range append(slices.Clone(f.Partition), f.Crash, f.Restart, f.Damage) {
			if g != "" && !gates[g] {
				return fmt.Errorf("faults[%d]: no gate %q (gates are G1-G%d)", i, g, s.Gates)
			}
		}
	}
	slices.SortStableFunc(s.Faults, func(a, b Fault) int { return int(a.At - b.At) })
	return nil
}
