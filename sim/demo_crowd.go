package sim

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/edge"
	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/ledger/decision"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// The crowd's mix: of every hundred arrivals, a few bring a forgery, a
// screenshot of a ticket already in, or a refunded ticket; a few sold by
// the seller come back to a gate. One in sellEvery arrivals is a sale at
// the seller instead.
const (
	crowdForged    = 0.03
	crowdDuplicate = 0.04
	crowdRevoked   = 0.02
	crowdSellEvery = 20
	crowdLane      = 16 // arrivals waiting at one gate before more walk away
)

// crowdState is where the crowd got to in the ticket list, kept in
// crowd.json so that the next run brings new holders.
type crowdState struct {
	Next map[uint64]uint64 `json:"next"` // ticket type → the next serial to bring
}

// CrowdStats counts what the crowd met.
type CrowdStats struct {
	Admitted int
	Refused  map[ticket.Reason]int
	Sold     int
	Failed   int // calls that got no decision (an API error)
}

func (s CrowdStats) String() string {
	refused := 0
	var why []string
	for r, n := range s.Refused {
		refused += n
		why = append(why, fmt.Sprintf("%s %d", r, n))
	}
	sort.Strings(why)
	out := fmt.Sprintf("%d admitted, %d refused", s.Admitted, refused)
	if len(why) > 0 {
		out += " (" + strings.Join(why, ", ") + ")"
	}
	out += fmt.Sprintf(", %d tickets sold", s.Sold)
	if s.Failed > 0 {
		out += fmt.Sprintf(", %d calls failed", s.Failed)
	}
	return out
}

// arrival is one attendee at a gate.
type arrival struct {
	gate *DemoNode
	code string
}

// crowd is the simulated attendees and the seller's customers.
type crowd struct {
	d      *Demo
	codes  map[uint64]map[uint64]string // type → serial → code
	rng    *rand.Rand
	forger ed25519.PrivateKey
	mu     sync.Mutex
	stats  CrowdStats
	inside []string // codes admitted: the screenshots' source
	sold   []string // codes the seller sold, not yet at a gate
	client *http.Client
}

// Crowd sends simulated attendees to the gates, rate a second on average,
// and customers to the seller, until ctx ends; every report it says what
// happened so far. Everything goes through the devices' HTTP APIs, as a
// turnstile's controller and a handheld's screen would.
func (d *Demo) Crowd(ctx context.Context, rate float64, report time.Duration, out io.Writer) (CrowdStats, error) {
	if rate <= 0 || rate > 1000 {
		return CrowdStats{}, fmt.Errorf("demo: crowd rate %g: want more than 0 and at most 1000 a second", rate)
	}
	c, err := d.newCrowd(ctx)
	if err != nil {
		return CrowdStats{}, err
	}
	d.mu.Lock()
	d.live = c
	d.mu.Unlock()
	var lanes sync.WaitGroup
	queues := map[*DemoNode]chan arrival{}
	for _, n := range d.Nodes {
		if n.Role != ticket.RoleGate {
			continue
		}
		q := make(chan arrival, crowdLane)
		queues[n] = q
		lanes.Add(1)
		go func() {
			defer lanes.Done()
			for a := range q {
				if ctx.Err() == nil {
					c.scan(ctx, a)
				}
			}
		}()
	}
	sales := make(chan struct{}, crowdLane)
	lanes.Add(1)
	go func() {
		defer lanes.Done()
		c.openShift(ctx)
		for range sales {
			if ctx.Err() == nil {
				c.sell(ctx)
			}
		}
	}()
	tick := time.NewTicker(report)
	defer tick.Stop()
	next := time.NewTimer(0)
	defer next.Stop()
	for n := 0; ; {
		select {
		case <-ctx.Done():
			for _, q := range queues {
				close(q)
			}
			close(sales)
			lanes.Wait()
			return c.snapshot(), nil
		case <-tick.C:
			if out != nil {
				fmt.Fprintf(out, "crowd: %s\n", c.snapshot())
			}
		case <-next.C:
			c.mu.Lock()
			gap := c.rng.ExpFloat64() / rate
			c.mu.Unlock()
			next.Reset(time.Duration(gap * float64(time.Second)))
			if n++; n%crowdSellEvery == 0 {
				select {
				case sales <- struct{}{}:
				default:
				}
				continue
			}
			a, ok := c.arrive()
			if !ok {
				continue
			}
			select {
			case queues[a.gate] <- a:
			default: // the lane is full: this one walks away
			}
		}
	}
}

func (d *Demo) newCrowd(ctx context.Context) (*crowd, error) {
	c := &crowd{d: d, codes: map[uint64]map[uint64]string{}, rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7)),
		stats: CrowdStats{Refused: map[ticket.Reason]int{}}, client: &http.Client{Timeout: 10 * time.Second}}
	err := d.DB.Tickets(ctx, DemoEvent, func(t store.Ticket) error {
		if c.codes[t.Type] == nil {
			c.codes[t.Type] = map[uint64]string{}
		}
		c.codes[t.Type][t.Serial] = t.Code
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("demo: crowd: %w", err)
	}
	if c.forger, err = ticket.GenerateKey(nil); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.crowd == nil {
		d.crowd = &crowdState{Next: map[uint64]uint64{}}
		keyfile.ReadJSON(filepath.Join(d.cfg.Dir, demoCrowdFile), d.crowd) // none yet: from the start
		if d.crowd.Next == nil {
			d.crowd.Next = map[uint64]uint64{}
		}
	}
	for _, t := range d.info.Types {
		first := t.SerialMin + demoGeneralSamples
		if t.ID == DemoVIP {
			first = t.SerialMin + demoVIPSamples
		}
		if d.crowd.Next[t.ID] < first {
			d.crowd.Next[t.ID] = first
		}
	}
	return c, nil
}

// saveCrowd keeps where the crowd got to, for the next run.
func (d *Demo) saveCrowd() error {
	if d.crowd == nil {
		return nil
	}
	return keyfile.WriteJSON(filepath.Join(d.cfg.Dir, demoCrowdFile), d.crowd, true)
}

// CrowdSoFar is what the running crowd (or the last one) met so far.
func (d *Demo) CrowdSoFar() CrowdStats {
	d.mu.Lock()
	c := d.live
	d.mu.Unlock()
	if c == nil {
		return CrowdStats{Refused: map[ticket.Reason]int{}}
	}
	return c.snapshot()
}

func (c *crowd) snapshot() CrowdStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Refused = map[ticket.Reason]int{}
	for r, n := range c.stats.Refused {
		s.Refused[r] = n
	}
	return s
}

// gates are the demo's gates, gates[3] the VIP gate.
func (c *crowd) gates() []*DemoNode {
	var gs []*DemoNode
	for _, n := range c.d.Nodes {
		if n.Role == ticket.RoleGate {
			gs = append(gs, n)
		}
	}
	return gs
}

// arrive makes the next attendee: mostly the next holder of a general
// ticket at a floor gate or of a VIP ticket at the VIP gate, now and then
// a forgery, a screenshot, a refunded ticket or a ticket just sold.
func (c *crowd) arrive() (arrival, bool) {
	gs := c.gates()
	c.mu.Lock()
	defer c.mu.Unlock()
	floor := gs[c.rng.IntN(len(gs)-1)]
	r := c.rng.Float64()
	switch {
	case r < crowdForged:
		t := ticket.Ticket{Event: DemoEvent, Serial: 1 + c.rng.Uint64N(uint64(c.d.cfg.Tickets)), Type: DemoGeneral, Zones: manifest.MaskOf([]int{0})}
		code, err := ticket.Issue(t, c.forger)
		return arrival{floor, code}, err == nil
	case r < crowdForged+crowdDuplicate && len(c.inside) > 0:
		return arrival{floor, c.inside[c.rng.IntN(len(c.inside))]}, true
	case r < crowdForged+crowdDuplicate+crowdRevoked:
		t := c.d.info.Types[c.rng.IntN(len(c.d.info.Types))]
		s := t.Revoked[c.rng.IntN(len(t.Revoked))]
		return arrival{floor, c.codes[t.ID][s]}, true
	case len(c.sold) > 0 && c.rng.IntN(4) == 0:
		code := c.sold[0]
		c.sold = c.sold[1:]
		return arrival{floor, code}, true
	}
	typ, gate := uint64(DemoGeneral), floor
	if c.rng.IntN(10) == 0 {
		typ, gate = DemoVIP, gs[len(gs)-1]
	}
	c.d.mu.Lock()
	s := c.d.crowd.Next[typ]
	code, ok := c.codes[typ][s]
	for _, t := range c.d.info.Types {
		if t.ID == typ && slicesContains(t.Revoked, s) {
			ok = false // the refunded come on their own share
		}
	}
	if _, issued := c.codes[typ][s]; issued {
		c.d.crowd.Next[typ] = s + 1
	}
	c.d.mu.Unlock()
	return arrival{gate, code}, ok
}

func slicesContains(s []uint64, v uint64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// scan shows an arrival's code at its gate through the gate's API.
func (c *crowd) scan(ctx context.Context, a arrival) {
	var d decision.Decision
	err := c.call(ctx, a.gate.Node, "POST", "/api/v1/scans", deviceapi.ScanRequest{Code: a.code}, &d)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil:
		c.stats.Failed++
	case d.OK():
		c.stats.Admitted++
		if len(c.inside) < 1000 {
			c.inside = append(c.inside, a.code)
		} else {
			c.inside[c.rng.IntN(len(c.inside))] = a.code
		}
	default:
		c.stats.Refused[d.Reason]++
	}
}

// openShift opens the seller's till, unless a shift is open already.
func (c *crowd) openShift(ctx context.Context) {
	s := c.d.Node("S1")
	if err := c.call(ctx, s.Node, "GET", "/api/v1/shift", nil, nil); err == nil {
		return // a shift of an earlier run is still open
	}
	c.call(ctx, s.Node, "POST", "/api/v1/shift/open", edge.ShiftOpenRequest{Float: "500.00"}, nil)
}

// sell sells one or two tickets at the seller, general mostly, in cash or
// by card; when a quota runs out the seller asks central for another block.
func (c *crowd) sell(ctx context.Context) {
	s := c.d.Node("S1")
	c.mu.Lock()
	typ := uint64(DemoGeneral)
	if c.rng.IntN(4) == 0 {
		typ = DemoVIP
	}
	req := edge.SaleRequest{Event: DemoEvent, Type: typ, Quantity: 1 + c.rng.IntN(2), Payment: edge.Payment{Method: record.MethodCard, Ref: fmt.Sprintf("T%06d", c.rng.IntN(1_000_000))}}
	if c.rng.IntN(2) == 0 {
		req.Payment = edge.Payment{Method: record.MethodCash, Given: "2000.00"}
	}
	c.mu.Unlock()
	var ans edge.SaleAnswer
	err := c.call(ctx, s.Node, "POST", "/api/v1/sales", req, &ans)
	var ae *apiError
	if errors.As(err, &ae) && ae.Body.Reason == edge.ReasonQuotaExhausted {
		c.call(ctx, s.Node, "POST", "/api/v1/quotas/request", edge.QuotaRequest{Event: DemoEvent, Type: typ}, nil)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.stats.Failed++
		return
	}
	c.stats.Sold += len(ans.Tickets)
	for _, t := range ans.Tickets {
		if len(c.sold) < 100 {
			c.sold = append(c.sold, t.Code)
		}
	}
}

// apiError is a device API's refusal.
type apiError struct {
	Status int
	Body   deviceapi.Error
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Body.Reason, e.Body.Error)
}

// call calls a device's API with its bearer token.
func (c *crowd) call(ctx context.Context, n *edge.Node, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	// A call under way when the crowd stops is finished, not cut: its
	// answer is counted, as the gate's record is.
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), method, n.URL()+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+n.Token())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e := &apiError{Status: resp.StatusCode}
		json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e.Body)
		return e
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
