package sim

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tixgate/tixgate/central"
	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/devices"
	"github.com/tixgate/tixgate/central/quota"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/edge"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/scanner"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
)

// The demo's data folder: what it holds, so that a second run knows what
// it may reuse or remove, and never touches anything else.
const (
	DemoStateFile  = "demo.json"  // written last: the venue is complete
	DemoCentralDir = "central"    // central's keys, SQLite file and ops API token
	DemoSamplesDir = "samples"    // sample ticket PNGs and their index
	DemoSampleList = "README.txt" // the samples' index
	demoCrowdFile  = "crowd.json" // where the crowd got to in the ticket list
	demoLockFile   = ".lock"      // held while a demo runs on the folder
	demoEventDays  = 7            // the demo event runs a week from the first run
)

// The demo's venue, event and ticket types.
const (
	DemoVenue   = "demo-arena"
	DemoEvent   = 1
	DemoGeneral = 1 // general admission, the floor
	DemoVIP     = 2 // VIP: the VIP zone and the floor
	demoZoneVIP = 1
	demoOpsUser = "ops"
)

// demoNodes are the demo's devices: four gates and a roaming seller. The
// device, its gate and its folder share a name.
var demoNodes = [...]struct {
	name string
	role ticket.Role
	zone int
}{{"G1", ticket.RoleGate, 0}, {"G2", ticket.RoleGate, 0}, {"G3", ticket.RoleGate, 0}, {"G4", ticket.RoleGate, demoZoneVIP}, {"S1", ticket.RoleSeller, 0}}

// DemoConfig configures a demo venue.
type DemoConfig struct {
	// Dir is the data folder: one folder per node (central, G1-G4, S1),
	// the samples and demo.json. A second run reuses it.
	Dir string
	// Host is the address every server and the mesh listen on.
	Host string
	// BasePort is central's port; G1-G4 take the next four, S1 the one
	// after. 0: free ports, chosen at each start (tests).
	BasePort int
	// Reset wipes the folder first and makes a new venue.
	Reset bool
	// Tickets is how many tickets central issues to a new venue: a tenth
	// VIP, the rest general.
	Tickets int
	// SyncInterval is the devices' pause between syncs with central: short,
	// so that the dashboard follows the gates.
	SyncInterval time.Duration
	// Version is the software version the devices report.
	Version string
	// Logger gets the components' logs (central, ledgers, meshes).
	Logger *slog.Logger
	// Out gets the demo's own progress lines.
	Out io.Writer
}

// DefaultDemoConfig is the demo of `make demo`: data under ./demo-data,
// central on 127.0.0.1:8080, the devices on 8081-8085.
func DefaultDemoConfig() DemoConfig {
	return DemoConfig{Dir: "demo-data", Host: "127.0.0.1", BasePort: 8080, Tickets: 10_000, SyncInterval: time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: io.Discard}
}

// DemoInfo is demo.json: where everything is and how to log in. It holds
// the demo's passwords, so it is written 0600.
type DemoInfo struct {
	Created time.Time    `json:"created"`
	Central DemoCentral  `json:"central"`
	Devices []DemoDevice `json:"devices"`
	Logins  []DemoLogin  `json:"logins"` // staff accounts on the devices
	Event   DemoEventRef `json:"event"`
	Types   []DemoType   `json:"types"`
	Samples DemoSamples  `json:"samples"`
	Buyer   DemoBuyer    `json:"buyer"` // the storefront's demo buyer
}

// DemoCentral is central in demo.json.
type DemoCentral struct {
	URL       string `json:"url"`
	Dashboard string `json:"dashboard"` // the ops dashboard's page
	Live      string `json:"live"`      // the figures the dashboard polls (JSON; an ops login's session)
	User      string `json:"user"`      // the ops login of the dashboard
	Password  string `json:"password"`
	TokenFile string `json:"token_file"` // an ops API token (read scope)
	Data      string `json:"data"`
}

// DemoDevice is a device in demo.json.
type DemoDevice struct {
	Name      string `json:"name"`
	Role      string `json:"role"`
	Gate      string `json:"gate,omitempty"`
	URL       string `json:"url"`
	TokenFile string `json:"token_file"`
	Data      string `json:"data"`
}

// DemoLogin is a staff account on the devices (PINs are drawn at the first
// run).
type DemoLogin struct {
	Name    string    `json:"name"`
	Role    edge.Role `json:"role"`
	PIN     string    `json:"pin"`
	What    string    `json:"what"`
	Devices []string  `json:"devices"`
}

// DemoEventRef is the sample event in demo.json.
type DemoEventRef struct {
	ID     uint64    `json:"id"`
	Name   string    `json:"name"`
	Venue  string    `json:"venue"`
	Starts time.Time `json:"starts"`
	Ends   time.Time `json:"ends"`
}

// DemoType is a ticket type in demo.json: the serials central issued and
// the seller's quota.
type DemoType struct {
	ID          uint64   `json:"id"`
	Name        string   `json:"name"`
	Zones       []string `json:"zones"`
	Gates       []string `json:"gates"`
	Tickets     int      `json:"tickets"`
	SerialMin   uint64   `json:"serial_min"`
	SerialMax   uint64   `json:"serial_max"`
	Revoked     []uint64 `json:"revoked,omitempty"`
	SellerQuota uint64   `json:"seller_quota"`
	Price       string   `json:"seller_price"`
}

// DemoSamples is the folder of sample ticket QR images.
type DemoSamples struct {
	Dir     string       `json:"dir"`
	Tickets []DemoSample `json:"tickets"`
}

// DemoSample is one sample ticket.
type DemoSample struct {
	File   string `json:"file"`
	Serial uint64 `json:"serial"`
	Type   uint64 `json:"type"`
	Expect string `json:"expect"`
	Code   string `json:"code"`
}

// DemoNode is one running device of the demo.
type DemoNode struct {
	Name string
	Role ticket.Role
	Gate string
	Dir  string
	Node *edge.Node
}

// Demo is a running demo venue: central and five devices.
type Demo struct {
	cfg DemoConfig
	// Faults is the mesh's fault filter: partitions, loss and delay
	// between the devices.
	Faults *cluster.Faults
	// Central is the ops server, DB its store.
	Central *central.Server
	DB      *store.DB
	Nodes   []*DemoNode
	info    DemoInfo
	url     string // central's
	stop    context.CancelFunc
	served  chan error
	lock    *os.File
	crowd   *crowdState
	live    *crowd // the running crowd
	mu      sync.Mutex
	closed  bool
}

// Info is what demo.json says: URLs, logins, samples.
func (d *Demo) Info() DemoInfo { return d.info }

// CentralURL is central's base URL.
func (d *Demo) CentralURL() string { return d.url }

func (d *Demo) say(format string, a ...any) { fmt.Fprintf(d.cfg.Out, format+"\n", a...) }

// StartDemo starts the demo venue in cfg.Dir: central, the gates and the
// seller, all synced with central. A folder holding a finished venue is
// reused; one a run left unfinished (or whose event has ended, or whose
// ledgers are damaged) is started over; a folder holding anything the demo
// did not make is refused and left as it is.
func StartDemo(ctx context.Context, cfg DemoConfig) (*Demo, error) {
	def := DefaultDemoConfig()
	if cfg.Host == "" {
		cfg.Host = def.Host
	}
	if cfg.Tickets <= 0 {
		cfg.Tickets = def.Tickets
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = def.SyncInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = def.Logger
	}
	if cfg.Out == nil {
		cfg.Out = def.Out
	}
	if cfg.Tickets < 100 || cfg.Tickets > 1_000_000 {
		return nil, fmt.Errorf("demo: %d tickets: want 100 to 1000000", cfg.Tickets)
	}
	if cfg.BasePort < 0 || cfg.BasePort > 65535-len(demoNodes) {
		return nil, fmt.Errorf("demo: base port %d: want 0 (free ports) or a port below %d", cfg.BasePort, 65535-len(demoNodes))
	}
	if _, err := demoEntries(cfg.Dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	d := &Demo{cfg: cfg, Faults: cluster.NewFaults(1)}
	lock, err := lockDir(filepath.Join(cfg.Dir, demoLockFile))
	if err != nil {
		return nil, err
	}
	d.lock = lock
	if err := d.start(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func (d *Demo) start(ctx context.Context) error {
	t0 := time.Now()
	dir := d.cfg.Dir
	if d.cfg.Reset {
		if err := clearDemoDir(dir); err != nil {
			return err
		}
	}
	st, why := loadDemoInfo(dir, time.Now())
	if st != nil {
		d.say("tixgate demo: reopening the venue in %s (made %s; --reset starts a new one)", dir, st.Created.Local().Format(time.DateTime))
		d.info = *st
		err := d.open(ctx)
		switch {
		case err == nil:
		case ctx.Err() != nil, errors.Is(err, syscall.EADDRINUSE):
			return err // not the folder's fault: it is kept
		case errors.Is(err, ledger.ErrUnsound):
			d.shut()
			st, why = nil, fmt.Sprintf("its ledgers are damaged (%v)", err)
		default:
			d.shut()
			st, why = nil, fmt.Sprintf("it cannot be reopened (%v)", err)
		}
	}
	if st == nil {
		if why != "" {
			d.say("tixgate demo: starting a new venue in %s: %s", dir, why)
		} else {
			d.say("tixgate demo: a new venue on this machine, files in %s", dir)
		}
		if err := clearDemoDir(dir); err != nil {
			return err
		}
		if err := d.create(ctx); err != nil {
			return err
		}
	}
	if err := d.waitSynced(ctx); err != nil {
		return err
	}
	// Rewritten at every start: the URLs move with --base-port.
	d.fillURLs()
	if err := keyfile.WriteJSON(filepath.Join(dir, DemoStateFile), d.info, true); err != nil {
		return err
	}
	d.say("the venue is up in %s", time.Since(t0).Round(100*time.Millisecond))
	return nil
}

// ports are central's and the devices' listen addresses.
func (d *Demo) listen(i int) string {
	p := 0
	if d.cfg.BasePort != 0 {
		p = d.cfg.BasePort + i
	}
	return net.JoinHostPort(d.cfg.Host, strconv.Itoa(p))
}

func (d *Demo) centralDir() string { return filepath.Join(d.cfg.Dir, DemoCentralDir) }

// startCentral opens central's store and keys and serves it.
func (d *Demo) startCentral(ctx context.Context) error {
	cdir := d.centralDir()
	keys, _, err := keyfile.Open(filepath.Join(cdir, "keys"), keyfile.InitOptions{Now: time.Now().Add(-time.Hour)})
	if err != nil {
		return err
	}
	scfg := store.DefaultConfig("", cdir)
	scfg.Logger = d.cfg.Logger
	if d.DB, err = store.Open(ctx, scfg); err != nil {
		return err
	}
	ccfg := central.DefaultConfig(d.listen(0), d.DB, keys)
	ccfg.Logger = d.cfg.Logger
	ccfg.SetupQR = scanner.RenderPNG // as `tixgate central` draws setup codes and the storefront's tickets
	d.Central = central.New(ccfg)
	sctx, stop := context.WithCancel(context.Background())
	d.stop, d.served = stop, make(chan error, 1)
	ready := make(chan string, 1)
	go func() { d.served <- d.Central.Run(sctx, func(addr string) { ready <- addr }) }()
	select {
	case addr := <-ready:
		d.url = "http://" + addr
	case err := <-d.served:
		d.served <- err
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("demo: central on %s: %w (is another program using the port? --base-port moves the demo)", d.listen(0), err)
		}
		return fmt.Errorf("demo: central: %w", err)
	}
	return nil
}

// open starts a venue made by an earlier run.
func (d *Demo) open(ctx context.Context) error {
	if err := d.startCentral(ctx); err != nil {
		return err
	}
	devs, err := d.DB.Devices(ctx)
	if err != nil {
		return err
	}
	if head, err := d.DB.ManifestHead(ctx, DemoVenue); err != nil || head == 0 || len(devs) != len(demoNodes) {
		return fmt.Errorf("central's store holds %d devices and no venue %s (%v)", len(devs), DemoVenue, err)
	}
	return d.startNodes()
}

// create makes a new venue: central's venue, event, tickets and accounts,
// the five devices enrolled through central's setup tokens, the seller's
// quotas, the staff on the devices and the sample tickets.
func (d *Demo) create(ctx context.Context) error {
	if err := os.MkdirAll(d.centralDir(), 0o700); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := d.startCentral(ctx); err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Minute)
	spec := demoSpec(now)
	if _, err := d.Central.Catalog.ImportVenue(ctx, spec, "tixgate demo"); err != nil {
		return err
	}
	info := DemoInfo{Created: now, Event: DemoEventRef{ID: DemoEvent, Name: spec.Events[0].Name, Venue: DemoVenue,
		Starts: spec.Events[0].Starts, Ends: spec.Events[0].Ends}}

	// Tickets: central issues them, a tenth VIP, and refunds a few.
	vip := d.cfg.Tickets / 10
	codes := map[uint64]string{}
	for _, tt := range []struct {
		id    uint64
		count int
	}{{DemoGeneral, d.cfg.Tickets - vip}, {DemoVIP, vip}} {
		ts, err := d.Central.Catalog.IssueTickets(ctx, catalog.Issue{Event: DemoEvent, Type: tt.id, Count: tt.count})
		if err != nil {
			return err
		}
		for _, t := range ts {
			codes[t.Serial] = t.Code
		}
		typ := spec.TicketTypes[tt.id-1]
		dt := DemoType{ID: tt.id, Name: typ.Name, Tickets: len(ts), SerialMin: ts[0].Serial, SerialMax: ts[len(ts)-1].Serial}
		for _, z := range typ.Zones {
			dt.Zones = append(dt.Zones, spec.Zones[z].Name)
			for _, g := range spec.Gates {
				if g.Zone == z {
					dt.Gates = append(dt.Gates, g.Name)
				}
			}
		}
		// The last few of each type are refunded: the crowd brings some.
		for s := dt.SerialMax; s > dt.SerialMax-uint64(max(2, tt.count/200)); s-- {
			if err := d.Central.Catalog.RevokeTicket(ctx, DemoEvent, s, "refunded"); err != nil {
				return err
			}
			dt.Revoked = append(dt.Revoked, s)
		}
		info.Types = append(info.Types, dt)
	}
	d.say("central: venue %s, event %d (%s), %d tickets issued (%d general, %d VIP), %d refunded",
		DemoVenue, DemoEvent, info.Event.Name, d.cfg.Tickets, d.cfg.Tickets-vip, vip, len(info.Types[0].Revoked)+len(info.Types[1].Revoked))

	// Central's ops login and an ops API token for scripts.
	pw, err := randomSecret(12)
	if err != nil {
		return err
	}
	acfg := staff.DefaultConfig(d.DB)
	acfg.Logger = d.cfg.Logger
	if err := staff.New(acfg).Add(ctx, demoOpsUser, staff.Ops, pw, "demo"); err != nil {
		return err
	}
	tok, err := central.AddAPIToken(ctx, d.DB, ticket.SystemClock{}, demoOpsUser, "demo", []string{"read"})
	if err != nil {
		return err
	}
	if err := keyfile.WriteFile(filepath.Join(d.centralDir(), edge.TokenFile), []byte(tok+"\n"), true); err != nil {
		return err
	}
	info.Central = DemoCentral{User: demoOpsUser, Password: pw}

	// The devices: added at central, enrolled with their setup tokens.
	for _, n := range demoNodes {
		gate := ""
		if n.role == ticket.RoleGate {
			gate = n.name
		}
		s, err := d.Central.Devices.Add(ctx, devices.Device{Name: n.name, Role: n.role, Venue: DemoVenue, Gate: gate})
		if err != nil {
			return err
		}
		ndir := filepath.Join(d.cfg.Dir, n.name)
		lcfg := ledger.DefaultConfig(ndir)
		lcfg.Logger = d.cfg.Logger
		if _, err := edge.Enroll(ctx, edge.Enrollment{Dir: ndir, URL: d.url, Token: s.Token, Version: d.cfg.Version, Hardware: "demo", Ledger: lcfg}); err != nil {
			return fmt.Errorf("demo: enroll %s: %w", n.name, err)
		}
	}
	d.say("central: %d devices added and enrolled with their setup tokens", len(demoNodes))

	// The seller's quotas of both types, and its price list.
	prices := map[uint64]int64{DemoGeneral: 18_000, DemoVIP: 58_000}
	for i := range info.Types {
		t := &info.Types[i]
		count := uint64(max(20, d.cfg.Tickets/50))
		if t.ID == DemoVIP {
			count = uint64(max(10, d.cfg.Tickets/200))
		}
		q, err := d.Central.Quotas.Allocate(ctx, quota.Allocation{Device: "S1", Event: DemoEvent, Type: t.ID, Count: count,
			Price: prices[t.ID], Currency: "CNY", RequestBlock: count, RequestMax: 10 * count})
		if err != nil {
			return err
		}
		t.SellerQuota, t.Price = q.SerialMax-q.SerialMin+1, fmt.Sprintf("%d.%02d CNY", prices[t.ID]/100, prices[t.ID]%100)
	}

	if err := d.putOnSale(ctx, &info); err != nil {
		return err
	}

	// Staff on the devices.
	for _, l := range []DemoLogin{
		{Name: "gate", Role: edge.RoleGate, What: "scans tickets", Devices: []string{"G1", "G2", "G3", "G4"}},
		{Name: "supervisor", Role: edge.RoleSupervisor, What: "scans, and overrides a refusal", Devices: []string{"G1", "G2", "G3", "G4", "S1"}},
		{Name: "seller", Role: edge.RoleSeller, What: "sells tickets and keeps the till", Devices: []string{"S1"}},
	} {
		if l.PIN, err = demoPIN(); err != nil {
			return err
		}
		for _, dev := range l.Devices {
			if err := edge.AddStaff(filepath.Join(d.cfg.Dir, dev), l.Name, l.Role, l.PIN); err != nil {
				return fmt.Errorf("demo: %s: %w", dev, err)
			}
		}
		info.Logins = append(info.Logins, l)
	}

	samples, err := writeSamples(filepath.Join(d.cfg.Dir, DemoSamplesDir), info, codes)
	if err != nil {
		return err
	}
	info.Samples = samples
	d.info = info
	return d.startNodes()
}

// demoSpec is the demo's venue: a floor with gates G1-G3, a VIP zone with
// G4; general tickets for the floor, VIP tickets for both.
func demoSpec(now time.Time) *manifest.Spec {
	return &manifest.Spec{
		Venue: DemoVenue, TimeZone: "UTC",
		Zones: []manifest.Zone{{ID: 0, Name: "Floor"}, {ID: demoZoneVIP, Name: "VIP"}},
		Gates: []manifest.Gate{{Name: "G1", Zone: 0}, {Name: "G2", Zone: 0}, {Name: "G3", Zone: 0}, {Name: "G4", Zone: demoZoneVIP}},
		Events: []manifest.EventSpec{{ID: DemoEvent, Name: "Demo Night",
			Starts: now.Add(-time.Hour), Ends: now.AddDate(0, 0, demoEventDays)}},
		TicketTypes: []manifest.TicketTypeSpec{
			{Event: DemoEvent, ID: DemoGeneral, Name: "General", Zones: []int{0}, Rule: rules.Rule{}},
			{Event: DemoEvent, ID: DemoVIP, Name: "VIP", Zones: []int{0, demoZoneVIP}, Rule: rules.Rule{Reentry: true}},
		},
	}
}

// startNodes starts the five devices, each joining G1's mesh and syncing
// with central.
func (d *Demo) startNodes() error {
	for i, n := range demoNodes {
		ndir := filepath.Join(d.cfg.Dir, n.name)
		cfg := edge.DefaultConfig(ndir)
		if n.role == ticket.RoleGate {
			cfg.Gate = n.name
		}
		cfg.Bind, cfg.Listen, cfg.Version = net.JoinHostPort(d.cfg.Host, "0"), d.listen(i+1), d.cfg.Version
		cfg.Ledger.Logger, cfg.Logger = d.cfg.Logger, d.cfg.Logger
		cfg.Mesh.Filter = d.Faults.Filter(n.name)
		cfg.Central, cfg.Uplink.Interval = d.url, d.cfg.SyncInterval
		cfg.Uplink.MinBackoff, cfg.Uplink.MaxBackoff = d.cfg.SyncInterval/2, 5*d.cfg.SyncInterval
		if len(d.Nodes) > 0 {
			cfg.Join = []string{d.Nodes[0].Node.MeshAddr()}
		}
		node, err := edge.Start(cfg)
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("demo: %s on %s: %w (is another program using the port? --base-port moves the demo)", n.name, cfg.Listen, err)
		}
		if err != nil {
			return fmt.Errorf("demo: %s: %w", n.name, err)
		}
		d.Faults.Name(node.MeshAddr(), n.name)
		d.Nodes = append(d.Nodes, &DemoNode{Name: n.name, Role: n.role, Gate: cfg.Gate, Dir: ndir, Node: node})
	}
	return nil
}

// waitSynced waits for the devices to find each other and to hold
// central's whole manifest.
func (d *Demo) waitSynced(ctx context.Context) error {
	head, err := d.DB.ManifestHead(ctx, DemoVenue)
	if err != nil {
		return err
	}
	err = waitUntil(ctx, 60*time.Second, func() bool {
		for _, n := range d.Nodes {
			if len(n.Node.Mesh().Peers()) != len(d.Nodes)-1 || n.Node.Ledger().ManifestSeq() < head {
				return false
			}
		}
		return true
	})
	if err != nil {
		var lag []string
		for _, n := range d.Nodes {
			lag = append(lag, fmt.Sprintf("%s: %d peers, manifest %d of %d", n.Name, len(n.Node.Mesh().Peers()), n.Node.Ledger().ManifestSeq(), head))
		}
		return fmt.Errorf("demo: the devices did not sync with central and each other: %w (%s)", err, strings.Join(lag, "; "))
	}
	st, _ := d.Nodes[0].Node.Ledger().Stats()
	d.say("the %d devices found each other over the mesh and pulled central's manifest: change %d, %d tickets on every gate",
		len(d.Nodes), head, st.Tickets)
	return nil
}

// fillURLs puts the URLs of this start into the info.
func (d *Demo) fillURLs() {
	d.info.Central.URL = d.url
	d.info.Central.Dashboard = d.url + "/ops/"
	d.info.Central.Live = d.url + "/ops/live.json"
	d.info.Central.TokenFile = filepath.Join(d.centralDir(), edge.TokenFile)
	d.info.Central.Data = d.centralDir()
	if d.info.Buyer.Email != "" {
		d.info.Buyer.URL = d.url + "/"
	}
	d.info.Devices = nil
	for _, n := range d.Nodes {
		d.info.Devices = append(d.info.Devices, DemoDevice{Name: n.Name, Role: string(n.Role), Gate: n.Gate, URL: n.Node.URL() + "/",
			TokenFile: filepath.Join(n.Dir, edge.TokenFile), Data: n.Dir})
	}
	d.info.Samples.Dir = filepath.Join(d.cfg.Dir, DemoSamplesDir)
}

// Node is the running device of that name, or nil.
func (d *Demo) Node(name string) *DemoNode {
	for _, n := range d.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// shut stops what runs, keeping the folder's lock.
func (d *Demo) shut() error {
	var errs []error
	for _, n := range d.Nodes {
		if err := n.Node.Close(); err != nil {
			errs = append(errs, fmt.Errorf("demo: stop %s: %w", n.Name, err))
		}
	}
	d.Nodes = nil
	if d.stop != nil {
		d.stop()
		if err := <-d.served; err != nil {
			errs = append(errs, err)
		}
		d.stop = nil
	}
	if d.DB != nil {
		if err := d.DB.Close(); err != nil {
			errs = append(errs, err)
		}
		d.DB = nil
	}
	return errors.Join(errs...)
}

// Close stops the devices and central and releases the folder; the venue
// stays for the next run.
func (d *Demo) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	err := d.saveCrowd()
	err = errors.Join(err, d.shut())
	if d.lock != nil {
		d.lock.Close() // the file stays: removing it could let two demos lock two files
	}
	return err
}

// isDemoEntry says whether a name in the data folder is one the demo makes
// (a keyfile temporary left by a crash included).
func isDemoEntry(name string) bool {
	switch name {
	case DemoStateFile, DemoCentralDir, DemoSamplesDir, demoCrowdFile, demoLockFile:
		return true
	}
	for _, n := range demoNodes {
		if name == n.name {
			return true
		}
	}
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp")
}

// demoEntries lists the data folder (none when it does not exist), refusing
// a folder that holds anything the demo does not make.
func demoEntries(dir string) ([]os.DirEntry, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	for _, en := range entries {
		if !isDemoEntry(en.Name()) {
			return nil, fmt.Errorf("demo: %s holds %q, which the demo did not make: give --data an empty or demo folder", dir, en.Name())
		}
	}
	return entries, nil
}

// clearDemoDir empties the data folder of what the demo made, but the
// lock. A folder holding anything else is refused rather than emptied:
// --data may point at the wrong place.
func clearDemoDir(dir string) error {
	entries, err := demoEntries(dir)
	if err != nil {
		return err
	}
	for _, en := range entries {
		if en.Name() == demoLockFile {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, en.Name())); err != nil {
			return fmt.Errorf("demo: clear %s: %w", dir, err)
		}
	}
	return nil
}

// loadDemoInfo reads the venue a previous run left. It returns nil and why
// when there is none to reuse: an empty folder (why is empty), a run that
// did not finish, an event that has ended.
func loadDemoInfo(dir string, now time.Time) (*DemoInfo, string) {
	entries, _ := demoEntries(dir)
	if len(entries) == 0 || len(entries) == 1 && entries[0].Name() == demoLockFile {
		return nil, ""
	}
	var st DemoInfo
	if err := keyfile.ReadJSON(filepath.Join(dir, DemoStateFile), &st); err != nil {
		return nil, "the last run did not finish"
	}
	if len(st.Logins) == 0 || st.Central.Password == "" || len(st.Types) != 2 {
		return nil, "the last run's demo.json is incomplete"
	}
	if !now.Before(st.Event.Ends) {
		return nil, "the last run's event has ended"
	}
	return &st, ""
}

// demoPIN draws a six-digit PIN.
func demoPIN() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("demo: pin: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// randomSecret is n random letters and digits, for a password.
func randomSecret(n int) (string, error) {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", fmt.Errorf("demo: password: %w", err)
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b), nil
}

// waitUntil polls cond until it holds, timeout passes or ctx ends.
func waitUntil(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
