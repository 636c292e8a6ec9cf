package edge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/edge/receipt"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/scanner"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
	"github.com/tixgate/tixgate/uplink"
)

// TokenFile holds the local API's bearer token, in the device directory.
const TokenFile = "api.token"

// Config configures a Node.
type Config struct {
	// Dir is the device directory (tixgate ledger init): identity, ledger,
	// API token. No default: it is the device.
	Dir string
	// Gate is the gate this device serves when a scan names none. Empty:
	// every scan must name its gate (a roaming handheld); a name the
	// manifest lacks makes the device unknown_gate and refuses every scan.
	Gate string
	// Bind is the mesh's host:port, UDP and TCP. 0.0.0.0 reaches the venue
	// LAN; a loopback address keeps a test or a demo to one machine.
	Bind string
	// Join lists peers (host:port) to join at start. Any one live peer is
	// enough; more make a cold start survive a dead one. The mesh keeps
	// retrying them, so an empty venue at boot is fine.
	Join []string
	// Listen is the local API's and UI's host:port. Loopback by default, so
	// a device is not reachable until someone decides it should be.
	Listen string
	// TLSCert and TLSKey are the PEM files of the UI's HTTPS certificate on
	// a non-loopback Listen. Empty: the device makes its own at first start
	// (tls.crt, tls.key in Dir), and staff check its fingerprint, shown in
	// the log and the status page. Loopback is plain HTTP: browsers treat
	// it as a secure origin already.
	TLSCert, TLSKey string
	// Version is the software version, published to peers. Set by the
	// command from the build.
	Version string
	// Turnstile is driven after each decision; nil for a device that only
	// answers (a handheld, a gate whose controller polls the API).
	Turnstile Turnstile
	// CountOnPassage makes an entry count only when someone passes within
	// the turnstile's passage window; otherwise the entry is annulled by a
	// signed record and the ticket may be used again. It needs a passage
	// sensor and is ignored without one. On, a holder whose turnstile
	// jammed is not locked out; off, a ticket waved through by a friend who
	// then walks away is spent.
	CountOnPassage bool
	// Nonces is how many scan nonces the node remembers for idempotent
	// retries. A retry older than the last Nonces scans decides again (and
	// is then refused as already used, not admitted twice).
	Nonces int
	// Debounce is how long the same code from a scanner or the camera is
	// one scan: a camera sees one QR in many frames (its window runs from
	// the last frame that showed the code, so a ticket held up is one scan). Longer swallows a
	// deliberate rescan (its answer is repeated, nothing recorded); shorter
	// lets a shaky camera refuse its own holder as already used.
	Debounce time.Duration
	// Clock is read for debouncing, sessions, uptime and status, and given
	// to the mesh (its relay window, fetch pacing, peers' last seen); the
	// ledger has its own in Ledger.Clock (the command sets both to one
	// clock).
	Clock ticket.Clock

	// Central is central's URL: when set, the node runs the uplink (see
	// uplink.go) with the credential from the device's enrollment.
	Central string
	// Uplink tunes the uplink; its URL and credential are filled in at start.
	Uplink uplink.Config

	// Ledger and Mesh configure the parts; their knobs are documented in
	// their packages. Ledger.Dir is set to Dir.
	Ledger ledger.Config
	Mesh   cluster.Config
	// Session tunes staff logins to the web UI (see SessionConfig).
	Session SessionConfig
	// Receipt says where the fonts of receipts and shift reports are.
	Receipt receipt.Config
	// Logger gets one line per decision and everything that changes the
	// device's state; never a holder's name or a code's text.
	Logger *slog.Logger
}

// DefaultConfig is a gate on a venue LAN, its API on loopback.
func DefaultConfig(dir string) Config {
	return Config{
		Dir:      dir,
		Bind:     "0.0.0.0:7946",
		Listen:   "127.0.0.1:8080",
		Nonces:   4096,
		Debounce: 2 * time.Second,
		Clock:    ticket.SystemClock{},
		Ledger:   ledger.DefaultConfig(dir),
		Mesh:     cluster.DefaultConfig(),
		Session:  DefaultSessionConfig(),
		Uplink:   uplink.DefaultConfig("", ""),
		Receipt:  receipt.DefaultConfig(),
		Logger:   slog.Default(),
	}
}

// Node is a running device.
type Node struct {
	cfg    Config
	log    *slog.Logger
	ledger *ledger.Ledger
	mesh   *cluster.Mesh
	token  string
	nonces *nonces
	// saleNonces makes sales idempotent; printer draws receipts.
	saleNonces saleNonces
	printer    *receipt.Printer
	// debounce repeats the first answer to a code read again within
	// Config.Debounce; decoders are camera frame decoders, one per request.
	debounce *debouncer
	decoders sync.Pool
	metrics  *metrics
	refusals refusalLog
	sessions *sessions
	// ui is the web UI; hub feeds its status screen.
	ui  *ui
	hub *liveHub
	// liveStop ends the saving of the hub's figures; liveDone says it has.
	liveStop, liveDone chan struct{}
	liveOnce           sync.Once
	// logins bounds concurrent PIN checks: each argon2id hash takes 64 MiB.
	logins chan struct{}
	ln     net.Listener
	srv    *http.Server
	// tlsFingerprint is the SHA-256 of the HTTPS certificate; empty on
	// loopback, which serves plain HTTP.
	tlsFingerprint string
	start          time.Time
	// uplink is the sync with central, nil without Config.Central.
	uplink     *uplink.Client
	uplinkStop context.CancelFunc
	uplinkDone chan struct{}
	// revoked is central's word that ops revoked this device (uplink.go):
	// set, every scan is refused.
	revoked atomic.Pointer[string]
}

// Start opens the ledger, joins the mesh and serves the API.
func Start(cfg Config) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	cfg.Ledger.Dir = cfg.Dir
	cfg.Ledger.Logger = cfg.Logger
	l, err := ledger.Open(cfg.Ledger)
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	token, err := loadOrCreateToken(filepath.Join(cfg.Dir, TokenFile))
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("edge: %w", err)
	}
	n := &Node{cfg: cfg, log: cfg.Logger, ledger: l, token: token, nonces: newNonces(max(cfg.Nonces, 1)),
		debounce: newDebouncer(cfg.Debounce, cfg.Clock), start: cfg.Clock.Now()}
	if cfg.Session.TTL <= 0 || cfg.Session.MaxAttempts <= 0 || cfg.Session.Window <= 0 {
		cfg.Session = DefaultSessionConfig()
		n.cfg.Session = cfg.Session
	}
	n.sessions = newSessions(cfg.Session, cfg.Clock)
	if n.ui, err = loadUI(); err != nil {
		l.Close()
		return nil, fmt.Errorf("edge: %w", err)
	}
	n.hub = newLiveHub(n.venueLocation)
	if err := n.hub.load(filepath.Join(cfg.Dir, liveFile)); err != nil {
		n.log.Warn("status counts", "err", err)
	}
	n.liveStop, n.liveDone = make(chan struct{}), make(chan struct{})
	if cfg.Receipt.LatinFont == "" || cfg.Receipt.CJKFont == "" {
		cfg.Receipt = receipt.DefaultConfig()
	}
	n.printer = receipt.New(cfg.Receipt)
	n.logins = make(chan struct{}, 2)
	n.decoders.New = func() any { return scanner.NewDecoder(scanner.CameraConfig()) }
	st, err := l.Stats() // once, at start: scrapes then read counters
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("edge: %w", err)
	}
	n.metrics = newMetrics(n, st.Records)
	l.OnRecord(func(raw []byte, local bool) { n.metrics.received(raw, local, n.cfg.Clock.Now()) })
	if err := n.startMesh(); err != nil {
		l.Close()
		return nil, err
	}
	if err := n.serve(); err != nil {
		n.mesh.Shutdown()
		l.Close()
		return nil, err
	}
	go n.saveLive()
	n.loadRevoked()
	if err := n.startUplink(); err != nil {
		n.Close()
		return nil, err
	}
	n.logHealth()
	return n, nil
}

// meshConfig is the mesh configuration of a device with identity id.
func meshConfig(cfg Config, id *ledger.Identity) (cluster.Config, error) {
	host, port, err := splitHostPort(cfg.Bind)
	if err != nil {
		return cluster.Config{}, fmt.Errorf("edge: --bind %q: %w", cfg.Bind, err)
	}
	mc := cfg.Mesh
	mc.Name = id.Cert.Device
	mc.BindAddr, mc.BindPort = host, port
	mc.Keyring = [][]byte{id.MeshKey}
	mc.Logger = cfg.Logger
	if cfg.Clock != nil {
		mc.Clock = cfg.Clock // one clock for the node, its mesh and (set by the caller) its ledger
	}
	mc.Meta = cluster.NodeMeta{Device: id.Cert.Device, Role: string(id.Cert.Role), Venue: id.Cert.Venue, Gate: cfg.Gate, Version: cfg.Version, API: cfg.Listen}
	return mc, nil
}

func (n *Node) startMesh() error {
	mc, err := meshConfig(n.cfg, n.ledger.Identity())
	if err != nil {
		return err
	}
	m, err := cluster.New(mc, n.ledger)
	if err != nil {
		return fmt.Errorf("edge: %w", err)
	}
	n.mesh = m
	if len(n.cfg.Join) > 0 {
		if _, err := m.Join(n.cfg.Join); err != nil {
			// Peers may not be up yet: the mesh keeps trying.
			n.log.Warn("no peer answered yet; retrying in the background", "join", n.cfg.Join, "err", err)
		}
	}
	return nil
}

func (n *Node) serve() error {
	ln, fp, err := listen(n.cfg)
	if err != nil {
		return err
	}
	n.ln, n.tlsFingerprint = ln, fp
	n.srv = &http.Server{
		Handler:           n.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	n.srv.RegisterOnShutdown(n.hub.close)
	go func() {
		if err := n.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("API server stopped", "err", err)
		}
	}()
	return nil
}

// APIAddr is the address the API listens on.
func (n *Node) APIAddr() string { return n.ln.Addr().String() }

// MeshAddr is the address peers reach the mesh at.
func (n *Node) MeshAddr() string { return n.mesh.Addr() }

// URL is the base address of the API and the web UI.
func (n *Node) URL() string {
	if n.tlsFingerprint != "" {
		return "https://" + n.APIAddr()
	}
	return "http://" + n.APIAddr()
}

// TLSFingerprint is the SHA-256 fingerprint of the HTTPS certificate, or
// empty when the node serves plain HTTP on loopback.
func (n *Node) TLSFingerprint() string { return n.tlsFingerprint }

// Token is the API's bearer token.
func (n *Node) Token() string { return n.token }

// Ledger is the node's ledger.
func (n *Node) Ledger() *ledger.Ledger { return n.ledger }

// Mesh is the node's mesh membership.
func (n *Node) Mesh() *cluster.Mesh { return n.mesh }

// Close stops serving, leaves the mesh and closes the ledger. Every scan
// already answered is on disk.
func (n *Node) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n.stopUplink()
	err := n.srv.Shutdown(ctx)
	if merr := n.mesh.Shutdown(); err == nil {
		err = merr
	}
	n.liveOnce.Do(func() { close(n.liveStop) })
	<-n.liveDone
	if lerr := n.ledger.Close(); err == nil {
		err = lerr
	}
	return err
}

// saveLive keeps the status screen's figures on disk every liveSave, and
// once more at a stop. It runs on a real ticker: display data, not
// decisions.
func (n *Node) saveLive() {
	defer close(n.liveDone)
	path := filepath.Join(n.cfg.Dir, liveFile)
	t := time.NewTicker(liveSave)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-n.liveStop:
			if err := n.hub.save(path); err != nil {
				n.log.Warn("status counts not saved", "err", err)
			}
			return
		}
		if err := n.hub.save(path); err != nil {
			n.log.Warn("status counts not saved", "err", err)
		}
	}
}

// venueLocation is the venue's time zone, UTC before a manifest names it.
func (n *Node) venueLocation() *time.Location {
	if v, ok := n.ledger.Venue(); ok {
		return v.Location()
	}
	return time.UTC
}

// loadOrCreateToken reads the API token, making one at first start.
func loadOrCreateToken(path string) (string, error) {
	data, err := keyfile.ReadSecretFile(path)
	if err == nil {
		tok := strings.TrimSpace(string(data))
		if len(tok) < 32 {
			return "", fmt.Errorf("%s holds a token too short to be safe: remove it to make a new one", path)
		}
		return tok, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(b)
	if err := keyfile.WriteFile(path, []byte(tok+"\n"), false); err != nil {
		return "", err
	}
	return tok, nil
}

func splitHostPort(s string) (string, int, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}
