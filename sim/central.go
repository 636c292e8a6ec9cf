package sim

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tixgate/tixgate/central"
	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/devices"
	"github.com/tixgate/tixgate/central/quota"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/edge"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
	"github.com/tixgate/tixgate/uplink"
)

// simVenue is the venue's name at central and on its devices.
const simVenue = "sim"

// What a seller sells a walk-up ticket for.
const (
	simCurrency = "CNY"
	walkUpPrice = 28_000
)

// The gates' uplink in a run: they sync with central every
// uplinkInterval of the wall clock (a real gate's default is 10 s; the
// run's crowd is speed times faster, so central would lag far behind in
// scenario time), and back off from uplinkMinBackoff to uplinkMaxBackoff
// while central cannot be reached.
const (
	uplinkInterval   = 2 * time.Second
	uplinkMinBackoff = 250 * time.Millisecond
	uplinkMaxBackoff = 5 * time.Second
)

// site is the venue's central in a run: its store (SQLite under
// the run's folder) and its server on loopback. The gates enroll with it
// through setup tokens, pull its manifest and push their records through
// the uplink as devices do, over a link that a scenario can cut (link).
type site struct {
	db     *store.DB
	srv    *central.Server
	url    string
	stop   context.CancelFunc
	served chan error
	link   *uplinkLink
}

// startSite opens central's store and serves it on loopback.
func startSite(ctx context.Context, dir string, doors time.Time, log *slog.Logger) (*site, error) {
	keys, err := keyfile.Init(filepath.Join(dir, "keys"), keyfile.InitOptions{Now: doors.Add(-48 * time.Hour)})
	if err != nil {
		return nil, err
	}
	scfg := store.DefaultConfig("", dir)
	scfg.Logger = log
	db, err := store.Open(ctx, scfg)
	if err != nil {
		return nil, err
	}
	ccfg := central.DefaultConfig("127.0.0.1:0", db, keys)
	ccfg.Logger = log
	ccfg.ReconcileEvery = 0 // the run reconciles at its end (site.conflicts)
	s := &site{db: db, srv: central.New(ccfg), served: make(chan error, 1), link: &uplinkLink{}}
	sctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	ready := make(chan string, 1)
	go func() { s.served <- s.srv.Run(sctx, func(addr string) { ready <- addr }) }()
	select {
	case addr := <-ready:
		s.url = "http://" + addr
	case err := <-s.served:
		stop()
		db.Close()
		return nil, fmt.Errorf("sim: central: %w", err)
	}
	return s, nil
}

// close stops the server and closes the store.
func (s *site) close() {
	s.stop()
	<-s.served
	s.db.Close()
}

// issue makes the plan's venue, event and ticket types at central and
// issues its tickets, type by type in the plan's ranges; codes[serial] is
// each ticket's code as central signed it.
func (s *site) issue(ctx context.Context, p *plan) (codes []string, err error) {
	if _, err := s.srv.Catalog.ImportVenue(ctx, p.spec, simVenue); err != nil {
		return nil, err
	}
	codes = make([]string, p.tickets+1)
	for _, r := range p.ranges {
		ts, err := s.srv.Catalog.IssueTickets(ctx, catalog.Issue{Event: eventID, Type: r.typ, Count: int(r.last - r.first + 1)})
		if err != nil {
			return nil, err
		}
		if ts[0].Serial != r.first || ts[len(ts)-1].Serial != r.last {
			return nil, fmt.Errorf("sim: central issued type %d as serials %d-%d, the plan has %d-%d", r.typ, ts[0].Serial, ts[len(ts)-1].Serial, r.first, r.last)
		}
		for _, t := range ts {
			codes[t.Serial] = t.Code
		}
	}
	return codes, nil
}

// revoke refunds these tickets at central before the doors open.
func (s *site) revoke(ctx context.Context, serials []uint64) error {
	for _, n := range serials {
		if err := s.srv.Catalog.RevokeTicket(ctx, eventID, n, "refunded"); err != nil {
			return err
		}
	}
	return nil
}

// enroll adds gate g at central and enrolls it in its folder with its
// setup token, as `tixgate enroll` does.
func (s *site) enroll(ctx context.Context, g *gate, env *nodeEnv) error {
	d := devices.Device{Name: g.device(), Role: g.role(), Venue: simVenue, Gate: g.name}
	if g.seller {
		d.Gate = ""
	}
	setup, err := s.srv.Devices.Add(ctx, d)
	if err != nil {
		return err
	}
	_, err = edge.Enroll(ctx, edge.Enrollment{Dir: g.dir, URL: s.url, Token: setup.Token, Version: "sim", Hardware: "sim",
		HTTP: &http.Client{Timeout: 30 * time.Second}, Ledger: g.ledgerConfig(env)})
	if err != nil {
		return fmt.Errorf("sim: enroll %s: %w", g.name, err)
	}
	return nil
}

// client is gate g's uplink client, over the link.
func (s *site) client(g *gate, log *slog.Logger) (*uplink.Client, error) {
	cr, err := uplink.LoadCredentials(g.dir)
	if err != nil {
		return nil, err
	}
	cfg := uplink.DefaultConfig(cr.URL, cr.Credential)
	cfg.HTTP = s.link.client()
	cfg.Interval, cfg.MinBackoff, cfg.MaxBackoff = uplinkInterval, uplinkMinBackoff, uplinkMaxBackoff
	cfg.RequestTimeout = 10 * time.Second
	cfg.Version = "sim"
	// An outage makes every sync fail: that is the scenario, told in the
	// report. Errors still show.
	cfg.Logger = slog.New(minLevel{log.Handler(), slog.LevelError})
	cfg.SaveCredential = func(c string) error {
		cr.Credential = c
		return uplink.SaveCredentials(g.dir, cr)
	}
	return uplink.New(cfg)
}

// allocate gives seller g a quota of every pass type (a type valid every
// day, one per zone) large enough for every walk-up.
func (s *site) allocate(ctx context.Context, g *gate, p *plan, count int) error {
	for _, r := range p.ranges {
		if p.typeDay[r.typ] >= 0 {
			continue
		}
		_, err := s.srv.Quotas.Allocate(ctx, quota.Allocation{Device: g.device(), Event: eventID, Type: r.typ, Count: uint64(max(count, 1)),
			Price: walkUpPrice, Currency: simCurrency})
		if err != nil {
			return fmt.Errorf("sim: quota for %s: %w", g.name, err)
		}
	}
	return nil
}

// holds reports whether central holds every record of vv.
func (s *site) holds(ctx context.Context, vv map[ticket.KeyID]uint64) (missing uint64, err error) {
	acks, err := s.db.Acks(ctx)
	if err != nil {
		return 0, err
	}
	for o, n := range vv {
		if a := acks[o.String()]; a < n {
			missing += n - a
		}
	}
	return missing, nil
}

// conflicts reconciles every ticket with records at central and returns
// the tickets with a conflict there.
func (s *site) conflicts(ctx context.Context) (map[uint64]bool, int, error) {
	if _, err := s.srv.Conflicts.All(ctx); err != nil {
		return nil, 0, err
	}
	cs, err := s.db.TicketConflicts(ctx, store.ConflictFilter{Venue: simVenue, State: "open", Limit: 1 << 30})
	if err != nil {
		return nil, 0, err
	}
	found := map[uint64]bool{}
	for _, c := range cs {
		found[c.Serial] = true
	}
	return found, len(cs), nil
}

// arrivals are the times central stored the records of these tickets,
// by record id.
func (s *site) arrivals(ctx context.Context, serials []uint64) (map[string]time.Time, error) {
	at := map[string]time.Time{}
	for _, n := range serials {
		err := s.db.Records(ctx, eventID, n, func(r store.Record, arrived time.Time, _ string) error {
			at[fmt.Sprintf("%s/%d", r.Origin, r.Seq)] = arrived
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return at, nil
}

// uplinkLink is the venue's link to central: while it is down, every
// connection to central fails, new and open ones alike, as when the
// venue's uplink is cut.
type uplinkLink struct {
	down atomic.Bool
	mu   sync.Mutex
	hcs  []*http.Client
}

var errLinkDown = fmt.Errorf("uplink down: %w", syscall.ENETUNREACH)

func (u *uplinkLink) client() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if u.down.Load() {
				return nil, &net.OpError{Op: "dial", Net: network, Err: errLinkDown}
			}
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &linkConn{Conn: c, link: u}, nil
		},
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     30 * time.Second,
	}
	hc := &http.Client{Transport: tr}
	u.mu.Lock()
	u.hcs = append(u.hcs, hc)
	u.mu.Unlock()
	return hc
}

// set takes the link down or brings it back.
func (u *uplinkLink) set(down bool) {
	u.down.Store(down)
	if !down {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, hc := range u.hcs {
		hc.CloseIdleConnections()
	}
}

// linkConn is a connection to central that fails while the link is down.
type linkConn struct {
	net.Conn
	link *uplinkLink
}

func (c *linkConn) Read(p []byte) (int, error) {
	if c.link.down.Load() {
		c.Conn.Close()
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: errLinkDown}
	}
	return c.Conn.Read(p)
}

func (c *linkConn) Write(p []byte) (int, error) {
	if c.link.down.Load() {
		c.Conn.Close()
		return 0, &net.OpError{Op: "write", Net: "tcp", Err: errLinkDown}
	}
	return c.Conn.Write(p)
}
