package sim

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func small() *Scenario {
	loss := 0.2
	s := &Scenario{Name: "small", Zones: []string{"Stalls", "Circle"}, Gates: 4, Tickets: 400, Attendance: 0.9, LaneRate: 20,
		Arrivals: Arrivals{Window: 12 * time.Minute, Peak: 6 * time.Minute, Spread: 3 * time.Minute},
		Bad:      Bad{Forged: 0.02, Duplicate: 0.08, Revoked: 0.02, WrongZone: 0.03, DuplicateAfter: 20 * time.Second},
		Faults: []Fault{{At: 2 * time.Minute, Loss: &loss}, {At: 3 * time.Minute, Uplink: "down"}, {At: 4 * time.Minute, Loss: new(float64)},
			{At: 5 * time.Minute, Partition: []string{"G1"}}, {At: 7 * time.Minute, Uplink: "up"}, {At: 8 * time.Minute, Heal: true},
			{At: 9 * time.Minute, Crash: "G2"}, {At: 10 * time.Minute, Restart: "G2"},
			{At: 10*time.Minute + 30*time.Second, Damage: "G3"}, {At: 11 * time.Minute, Restart: "G3"}},
		Sellers: 2, WalkUps: 30,
		Speed: 50, Seed: 5}
	return s
}

// A small venue through loss, an uplink outage, a partition, a crash and a
// gate whose ledger is damaged: nothing answered is lost, at the gates or
// at central; no ticket passes twice while the venue is whole; every
// double entry the partition let through is a conflict the gates and
// central found; the damaged gate is repaired from its peers; and every
// bad ticket is refused.
func TestSmallVenue(t *testing.T) {
	s := small()
	res := runScenario(t, s)
	partitionDoublesFound(t, res)
	if w := res.ByKind[string(walkUp)]; res.Sales.Sold != s.WalkUps || w.Presented != s.WalkUps || w.Admitted != s.WalkUps {
		t.Errorf("walk-ups: %d sold, at the gates %+v: want all %d sold and admitted", res.Sales.Sold, w, s.WalkUps)
	}
	if len(res.Repairs) != 1 || res.Repairs[0].Gate != "G3" {
		t.Errorf("repairs %+v, want G3's", res.Repairs)
	}
	if res.Central.LagOutage.N == 0 || res.Central.LagOutage.P50 < res.Central.Lag.P50 {
		t.Errorf("central's lag: %+v, during the outage %+v: want records made offline, later than the others", res.Central.Lag, res.Central.LagOutage)
	}
	if res.Errors != 0 {
		t.Errorf("%d decisions failed", res.Errors)
	}
	for _, k := range []kind{forged, revoked} {
		if c := res.ByKind[string(k)]; c.Presented == 0 || c.Admitted != 0 {
			t.Errorf("%s tickets: %+v, want some shown and none admitted", k, c)
		}
	}
	if c := res.ByKind[string(wrongZone)]; c.Presented == 0 || c.Admitted != 0 || res.Refused["wrong_zone"] != c.Presented {
		t.Errorf("wrong-zone holders: %+v, refused wrong_zone %d", c, res.Refused["wrong_zone"])
	}
	if res.Propagation.N == 0 || res.Decision.N != res.Presented {
		t.Errorf("propagation %+v, decisions %+v", res.Propagation, res.Decision)
	}
	var page bytes.Buffer
	if err := res.HTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "People a minute", "Queues", "records lost"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("the HTML report lacks %q", want)
		}
	}
	if dir := os.Getenv("TIXGATE_SCREENS"); dir != "" {
		os.WriteFile(filepath.Join(dir, "sim-report.html"), page.Bytes(), 0o644)
	}
}

func TestScenarioFiles(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "scenarios", "*.yaml"))
	if len(files) < 2 {
		t.Fatalf("scenario files: %v", files)
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Error(err)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("name: x\nzones: [A]\ngates: 1\ntickets: 10\nlane_rate: 20\nspeed: 10\narrivals: {window: 10m, peak: 5m, spread: 1m}\nfaults: [{at: 1m, crash: G7}]\n"), 0o644)
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), `no gate "G7"`) {
		t.Errorf("a fault naming a gate that does not exist: %v", err)
	}
	os.WriteFile(bad, []byte("name: x\nzonez: [A]\n"), 0o644)
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "zonez") {
		t.Errorf("a misspelt key: %v", err)
	}
}

// The stadium scenario at a fifth of its gates and a 27th of its
// crowd, with its whole fault schedule: a partition of 8 gates for ten
// scenario minutes, a gate crash and restart, 20% packet loss at the peak.
// Nothing answered is lost, no ticket passes twice while the venue is
// whole, every double entry the partition let through is a conflict, and
// the mesh is whole again soon after the heal (it once stayed degraded for
// the rest of the run: propagation p50 16 s).
func TestStadiumReduced(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of a venue's rush")
	}
	s, err := Load(filepath.Join("..", "testdata", "scenarios", "stadium.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s.Gates, s.Tickets, s.Speed = 12, 1500, 120
	s.Bad.Duplicate = 0.05 // enough screenshots shown twice that some fall in the partition
	res := runScenario(t, s)
	partitionDoublesFound(t, res)
	// Not a benchmark (make bench has the figures): a bound that only a
	// mesh still split or stalled after the heal would miss.
	if res.Propagation.P50 > time.Second || res.PropagationSettling.P99 > 10*time.Second {
		t.Errorf("propagation after the heal: whole p50 %v, settling p99 %v", res.Propagation.P50, res.PropagationSettling.P99)
	}
}

// Two days of a small festival with re-entry and day passes: every good
// ticket shown is admitted, on its own day, in again after going out and
// the next day after the night's close; day passes shown on their day
// only; nothing lost, no double entry, the gates' days follow the
// scenario's.
func TestFestival(t *testing.T) {
	if testing.Short() {
		t.Skip("two festival days: half a minute")
	}
	s := &Scenario{Name: "festival", Zones: []string{"Arena", "Camping"}, Gates: 4, Tickets: 300, Attendance: 0.9, LaneRate: 20,
		Days: 2, DayPasses: 0.5, Reentry: 0.4,
		Arrivals: Arrivals{Window: time.Hour, Peak: 30 * time.Minute, Spread: 10 * time.Minute},
		Bad:      Bad{Forged: 0.02, Revoked: 0.02, WrongZone: 0.03},
		Speed:    300, Seed: 9}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	p := newPlan(s, time.Now().UTC())
	days := map[int]int{}
	for n := uint64(1); n <= uint64(s.Tickets); n++ {
		_, _, d := p.holder(n)
		days[d]++
	}
	if days[-1] == 0 || days[0] == 0 || days[1] == 0 {
		t.Fatalf("tickets by day (-1: every day): %v, want some of each", days)
	}
	res := runScenario(t, s)
	good := res.ByKind[string(good)]
	switch {
	case good.Presented == 0 || good.Admitted != good.Presented:
		t.Errorf("good tickets: %+v, want every one shown admitted (refused: %v)", good, res.Refused)
	case res.Exits < good.Admitted/2:
		t.Errorf("%d let out for %d admitted: the nights' close and re-entries let too few out", res.Exits, good.Admitted)
	case good.Presented < int(float64(s.Tickets)*s.Attendance*1.2):
		t.Errorf("%d good presentations for %d tickets: three-day passes and re-entries come back too rarely", good.Presented, s.Tickets)
	case res.DoubleConnected+res.DoubleFaulted != 0:
		t.Errorf("double entries: %d whole, %d faulted", res.DoubleConnected, res.DoubleFaulted)
	}
	for _, k := range []kind{forged, revoked} {
		if c := res.ByKind[string(k)]; c.Presented == 0 || c.Admitted != 0 {
			t.Errorf("%s tickets: %+v, want some shown and none admitted", k, c)
		}
	}
}

// runScenario checks and runs a scenario, logs its summary, and fails the
// test for anything Broken says (a record lost, no convergence, a double
// entry unfound or too far apart).
func runScenario(t *testing.T, s *Scenario) *Result {
	t.Helper()
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), s, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	res.Markdown(&md)
	t.Log("\n" + md.String())
	if bad := res.Broken(); bad != "" {
		t.Error(bad)
	}
	return res
}

// partitionDoublesFound fails the test unless the partition let double
// entries through and the gates found every one as a conflict.
func partitionDoublesFound(t *testing.T, res *Result) {
	t.Helper()
	switch {
	case res.DoubleFaulted == 0:
		t.Errorf("no double entry during the partition: the scenario tests nothing")
	case len(res.DoublesWithoutConflict) > 0:
		t.Errorf("double entries no gate found: %v", res.DoublesWithoutConflict)
	case res.Conflicts < res.DoubleFaulted:
		t.Errorf("%d conflicts for %d double entries", res.Conflicts, res.DoubleFaulted)
	case len(res.Central.DoublesWithoutConflict) > 0 || res.Central.Conflicts < res.DoubleFaulted:
		t.Errorf("central: %d conflicts for %d double entries, none for %v", res.Central.Conflicts, res.DoubleFaulted, res.Central.DoublesWithoutConflict)
	case res.Central.Records == 0 || res.Central.Lost > 0:
		t.Errorf("central holds %d records, lacks %d answered", res.Central.Records, res.Central.Lost)
	}
}
