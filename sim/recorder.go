package sim

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
)

// recorder keeps what the run saw: arrivals, decisions, the fault state
// over time, and when each gate stored each record.
type recorder struct {
	s *Scenario

	mu          sync.Mutex
	arrivals    []time.Duration // scenario times of arrivals at a queue
	outcomes    []outcome
	queueAt     []time.Duration
	queueLen    [][]int // per sample, per gate
	faultLog    []FaultEvent
	partitioned bool
	crashed     map[string]bool
	loss        float64
	made        map[string]time.Time            // record id → when its gate made it (wall)
	storedAt    map[string]map[string]time.Time // record id → gate → when stored (wall)
	lossyRec    map[string]bool                 // records made while packets were lost, the venue whole
	faultedRec  map[string]bool                 // records made during a partition or a crash
	settlingRec map[string]bool                 // records made just after the venue became whole again
	wholeAt     time.Time                       // when the last partition healed or crashed gate came back (wall)
	uplinkDown  bool
	outageRec   map[string]bool          // records made while the uplink was down
	repairs     map[string]time.Duration // gate → how long its last repair from the peers took
	sales       []string                 // the sale records of the walk-ups' tickets
	saleTook    []time.Duration
	saleErrors  []string
	arrivalsEnd time.Duration
}

func newRecorder(s *Scenario) *recorder {
	return &recorder{s: s, crashed: map[string]bool{}, made: map[string]time.Time{},
		storedAt: map[string]map[string]time.Time{}, lossyRec: map[string]bool{}, faultedRec: map[string]bool{}, settlingRec: map[string]bool{},
		outageRec: map[string]bool{}, repairs: map[string]time.Duration{}}
}

func (r *recorder) arrived(p *person) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.arrivals = append(r.arrivals, p.at)
}

// unarrived takes back an arrival whose queue was dissolved: the person
// arrives again at another gate.
func (r *recorder) unarrived(p *person) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i := slices.Index(r.arrivals, p.at); i >= 0 {
		r.arrivals = slices.Delete(r.arrivals, i, i+1)
	}
}

// settleWindow is how long after a partition heals or a crashed gate comes
// back its records count as settling, not as the whole venue's: the halves
// find each other within about one ReconnectInterval (1 s), the restarted
// gate catches up, and what the gates decide meanwhile waits for that.
const settleWindow = 3 * time.Second

// settling reports whether the venue became whole less than settleWindow
// before now.
func (r *recorder) settling(now time.Time) bool {
	return !r.wholeAt.IsZero() && now.Sub(r.wholeAt) < settleWindow
}

func (r *recorder) faulted() bool { return r.partitioned || len(r.crashed) > 0 }

func (r *recorder) fault(f *Fault, at time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := FaultEvent{At: at, What: f.action()}
	switch {
	case len(f.Partition) > 0:
		r.partitioned = true
		ev.Gates = f.Partition
	case f.Heal:
		r.partitioned = false
		r.wholeAt = time.Now()
	case f.Loss != nil:
		r.loss = *f.Loss
		ev.Loss = *f.Loss
	case f.Crash != "":
		r.crashed[f.Crash] = true
		ev.Gates = []string{f.Crash}
	case f.Damage != "":
		r.crashed[f.Damage] = true
		ev.Gates = []string{f.Damage}
	case f.Delay != nil:
		ev.Delay = *f.Delay
	case f.Uplink != "":
		r.uplinkDown = f.Uplink == "down"
	case f.Restart != "":
		delete(r.crashed, f.Restart)
		r.wholeAt = time.Now()
		ev.Gates = []string{f.Restart}
	}
	r.faultLog = append(r.faultLog, ev)
}

func (r *recorder) sold(sl *gate, t ledger.SoldTicket, took time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.saleErrors = append(r.saleErrors, sl.name+": "+err.Error())
		return
	}
	r.sales = append(r.sales, t.Record)
	r.saleTook = append(r.saleTook, took)
}

func (r *recorder) repaired(gate string, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.repairs[gate] = took
}

func (r *recorder) decided(p *person, g *gate, d decisionOf, at time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	// A double entry in the seconds after a heal is the partition's: the
	// halves had not yet found each other.
	faulted := r.faulted() || r.settling(now)
	r.outcomes = append(r.outcomes, outcome{at: at, wall: now, gate: g.i, serial: p.serial, kind: p.kind, d: d, faulted: faulted, lossy: r.loss > 0})
}

func (r *recorder) queues(at time.Duration, q []int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queueAt = append(r.queueAt, at)
	r.queueLen = append(r.queueLen, q)
}

// stored is every gate's OnRecord hook.
func (r *recorder) stored(g *gate, raw []byte, local bool) {
	now := time.Now()
	id, ok := parseRecord(raw)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if local {
		r.made[id] = now
		if r.uplinkDown {
			r.outageRec[id] = true
		}
		switch {
		case r.faulted():
			r.faultedRec[id] = true
		case r.settling(now):
			r.settlingRec[id] = true
		case r.loss > 0:
			r.lossyRec[id] = true
		}
	}
	if g.seller {
		return // propagation is to every gate
	}
	m := r.storedAt[id]
	if m == nil {
		m = map[string]time.Time{}
		r.storedAt[id] = m
	}
	if _, seen := m[g.name]; !seen {
		m[g.name] = now
	}
}

// result sums the run up once every gate is back and (if converged)
// holds every record.
func (r *recorder) result(ctx context.Context, s *Scenario, gates []*gate, st *site, converged, synced bool) (*Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := &Result{Scenario: s.Name, Gates: s.Gates, Zones: len(s.Zones), Tickets: s.Tickets, Speed: s.Speed,
		LaneRate: s.LaneRate, Window: s.Arrivals.Window, Days: s.Days, Refused: map[string]int{}, Converged: converged,
		Faults: r.faultLog, ByKind: map[string]KindCount{}}
	var lat []time.Duration
	perGate := make([]int, s.Gates)
	for _, o := range r.outcomes {
		if o.d.Direction == rules.Out {
			res.Exits++
			if o.d.err == nil {
				lat = append(lat, o.d.took)
			}
			continue
		}
		res.Presented++
		kc := res.ByKind[string(o.kind)]
		kc.Presented++
		if o.d.err != nil {
			res.Errors++
			res.ByKind[string(o.kind)] = kc
			continue
		}
		lat = append(lat, o.d.took)
		if o.d.OK() {
			res.Admitted++
			kc.Admitted++
			perGate[o.gate]++

		} else {
			res.Refused[string(o.d.Reason)]++
		}
		res.ByKind[string(o.kind)] = kc
	}
	slices.Sort(lat)
	res.Decision = percentiles(lat)
	if len(r.outcomes) > 1 {
		span := r.outcomes[len(r.outcomes)-1].wall.Sub(r.outcomes[0].wall).Seconds()
		res.RecordsPerSecond = float64(len(r.outcomes)) / max(span, 1e-3)
	}

	// Double entries: a ticket admitted in while its holder is inside (a
	// single-entry ticket admitted twice; a re-entry ticket admitted again
	// without going out). The outcomes are in the order they were decided.
	doubled := map[uint64]bool{}
	in := map[uint64]outcome{} // the entry that let the holder in
	for _, o := range r.outcomes {
		if o.d.err != nil || !o.d.OK() {
			continue
		}
		if o.d.Direction == rules.Out {
			delete(in, o.serial)
			continue
		}
		first, inside := in[o.serial]
		if !inside {
			in[o.serial] = o
			continue
		}
		// After a heal the sides catch up within moments; a double entry
		// whose first admission was made apart is the split's.
		if o.faulted || first.faulted {
			res.DoubleFaulted++
		} else {
			res.DoubleConnected++
			res.ConnectedDoubles = append(res.ConnectedDoubles, DoubleEntry{Serial: o.serial,
				Gates: [2]string{GateName(first.gate), GateName(o.gate)}, Apart: o.wall.Sub(first.wall)})
		}
		doubled[o.serial] = true
	}
	// The gates' own conflicts, once they hold every record.
	if cs, err := gates[0].ledger.Conflicts(); err == nil {
		res.Conflicts = len(cs)
		found := map[uint64]bool{}
		for _, c := range cs {
			found[c.Serial] = true
		}
		for serial := range doubled {
			if !found[serial] {
				res.DoublesWithoutConflict = append(res.DoublesWithoutConflict, serial)
			}
		}
		slices.Sort(res.DoublesWithoutConflict)
	}

	// Propagation of each record to every gate, on the wall clock.
	var clean, lossy, settling []time.Duration
	for id, made := range r.made {
		m := r.storedAt[id]
		if len(m) < s.Gates {
			continue
		}
		var last time.Time
		for _, t := range m {
			if t.After(last) {
				last = t
			}
		}
		switch {
		case r.faultedRec[id]:
		case r.settlingRec[id]:
			settling = append(settling, last.Sub(made))
		case r.lossyRec[id]:
			lossy = append(lossy, last.Sub(made))
		default:
			clean = append(clean, last.Sub(made))
		}
	}
	slices.Sort(clean)
	slices.Sort(lossy)
	slices.Sort(settling)
	res.Propagation, res.PropagationLoss = percentiles(clean), percentiles(lossy)
	res.PropagationSettling = percentiles(settling)

	// Anything lost: an answered decision's or a sale's record missing
	// at a gate.
	acked, err := r.acknowledged()
	if err != nil {
		return nil, err
	}
	for _, g := range gates {
		vv, err := g.ledger.VersionVector()
		if err != nil {
			return nil, err
		}
		for _, a := range acked {
			if vv[a.origin] < a.seq {
				res.Lost++
			}
		}
	}
	res.Sales = SaleStat{Sold: len(r.sales), Failed: r.saleErrors}
	slices.Sort(r.saleTook)
	res.Sales.Decision = percentiles(r.saleTook)

	if err := r.central(ctx, res, st, doubled, synced, acked); err != nil {
		return nil, err
	}
	for g, took := range r.repairs {
		res.Repairs = append(res.Repairs, Repair{Gate: g, Took: took})
	}
	slices.SortFunc(res.Repairs, func(a, b Repair) int { return strings.Compare(a.Gate, b.Gate) })

	// Per gate: entries, and the busiest minute against the lane rate.
	for i, g := range gates {
		res.PerGate = append(res.PerGate, GateStat{Name: g.name, Zone: s.Zones[g.zone], Entries: perGate[i]})
	}
	minutes := int(r.arrivalsEnd/time.Minute) + 1
	res.Minutes = make([]Minute, minutes)
	for _, at := range r.arrivals {
		res.Minutes[min(int(at/time.Minute), minutes-1)].Arrivals++
	}
	busiest := make([]map[int]int, s.Gates)
	for i := range busiest {
		busiest[i] = map[int]int{}
	}
	for _, o := range r.outcomes {
		if o.d.Direction == rules.Out {
			continue // exit lanes are not the entry lanes
		}
		m := min(int(o.at/time.Minute), minutes-1)
		if o.d.err == nil && o.d.OK() {
			res.Minutes[m].Entries++
		} else {
			res.Minutes[m].Refusals++
		}
		busiest[o.gate][m]++
	}
	for i := range res.PerGate {
		for _, n := range busiest[i] {
			res.PerGate[i].PeakPerMinute = max(res.PerGate[i].PeakPerMinute, n)
		}
	}
	for k, at := range r.queueAt {
		q := QueueSample{At: at}
		for _, n := range r.queueLen[k] {
			q.Max = max(q.Max, n)
			q.Total += n
		}
		res.Queues = append(res.Queues, q)
	}
	return res, nil
}

// central fills in central's side: the records it holds, those of
// answered decisions it lacks, its conflicts against the double entries,
// and how long records took to reach it.
func (r *recorder) central(ctx context.Context, res *Result, st *site, doubled map[uint64]bool, synced bool, acked []recordRef) error {
	c := &res.Central
	c.Synced = synced
	acks, err := st.db.Acks(ctx)
	if err != nil {
		return err
	}
	for _, n := range acks {
		c.Records += int(n)
	}
	for _, a := range acked {
		if acks[a.origin.String()] < a.seq {
			c.Lost++
		}
	}
	serials := map[uint64]bool{}
	for _, o := range r.outcomes {
		if o.d.Record != "" {
			serials[o.serial] = true
		}
	}
	found, n, err := st.conflicts(ctx)
	if err != nil {
		return err
	}
	c.Conflicts = n
	for serial := range doubled {
		if !found[serial] {
			c.DoublesWithoutConflict = append(c.DoublesWithoutConflict, serial)
		}
	}
	slices.Sort(c.DoublesWithoutConflict)
	at, err := st.arrivals(ctx, slices.Sorted(maps.Keys(serials)))
	if err != nil {
		return err
	}
	var lag, outage []time.Duration
	for id, made := range r.made {
		got, ok := at[id]
		if !ok {
			continue
		}
		if r.outageRec[id] {
			outage = append(outage, got.Sub(made))
		} else {
			lag = append(lag, got.Sub(made))
		}
	}
	slices.Sort(lag)
	slices.Sort(outage)
	c.Lag, c.LagOutage = percentiles(lag), percentiles(outage)
	return nil
}

// acknowledged are the records of every answered decision and every sale.
func (r *recorder) acknowledged() ([]recordRef, error) {
	ids := slices.Clone(r.sales)
	for _, o := range r.outcomes {
		if o.d.Record != "" {
			ids = append(ids, o.d.Record)
		}
	}
	refs := make([]recordRef, len(ids))
	for i, id := range ids {
		var err error
		if refs[i].origin, refs[i].seq, err = recordID(id); err != nil {
			return nil, err
		}
	}
	return refs, nil
}

// recordRef is a record's place: its origin and sequence.
type recordRef struct {
	origin ticket.KeyID
	seq    uint64
}
