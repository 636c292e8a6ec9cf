package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tixgate/tixgate/cluster"
	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ticket"
)

// ServeUnsound keeps a device whose ledger cannot prove itself sound (Start
// failed with ledger.ErrUnsound) visible and shut until ctx ends: the
// turnstile faults (relays off, red lamp), /healthz answers 503 with state
// "unsound" and the ledger's own words (what was lost, how to repair it),
// and every other path answers 503 without deciding anything. Staff see
// why the gate is shut; monitoring sees which gate; nobody is let in on a
// ledger that might have forgotten a used ticket.
func ServeUnsound(ctx context.Context, cfg Config, cause error) error {
	ln, err := shutAndListen(cfg)
	if err != nil {
		return err
	}
	var detail atomic.Pointer[string]
	msg := cause.Error()
	detail.Store(&msg)
	return serveUnsound(ctx, ln, &detail)
}

// shutAndListen faults the turnstile and listens on the API address as
// Start does: HTTPS on anything but loopback.
func shutAndListen(cfg Config) (net.Listener, error) {
	if cfg.Turnstile != nil {
		cfg.Turnstile.Fault()
	}
	ln, _, err := listen(cfg)
	return ln, err
}

// RepairRetry is how long Recover waits between attempts to reach a peer.
const RepairRetry = 5 * time.Second

// Recover is what the daemon does when Start fails with ledger.ErrUnsound
// and it has peers to join (cfg.Join): it stays shut and visible as
// ServeUnsound does, with /healthz saying that it is repairing and from
// whom, while cluster.Repair rebuilds the ledger from those peers (the
// damaged store is kept beside the new one); once the ledger holds what
// its marker says it held, the node starts as usual. It tries again every
// RepairRetry while no peer answers. Without peers it only serves the
// unsound state until ctx ends, and returns a nil node then, as it does
// when ctx ends before the repair.
func Recover(ctx context.Context, cfg Config, cause error) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	log := cfg.Logger
	if len(cfg.Join) == 0 {
		log.Error("ledger unsound and no peers to repair from (--join): this device decides nothing until it is repaired (tixgate ledger repair --from-peers) or restored", "err", cause)
		return nil, ServeUnsound(ctx, cfg, cause)
	}
	ln, err := shutAndListen(cfg)
	if err != nil {
		return nil, err
	}
	var detail atomic.Pointer[string]
	say := func(s string) { detail.Store(&s) }
	say(fmt.Sprintf("repairing from peers %s: %v", strings.Join(cfg.Join, ", "), cause))
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- serveUnsound(sctx, ln, &detail) }()
	finish := func(err error) (*Node, error) { // without a node
		stop()
		if serr := <-served; err == nil {
			err = serr
		}
		return nil, err
	}
	log.Warn("ledger unsound: repairing it from peers; this device decides nothing until then", "peers", cfg.Join, "err", cause)

	id, err := ledger.LoadIdentity(cfg.Dir)
	if err != nil {
		return finish(fmt.Errorf("edge: repair: %w", err))
	}
	mc, err := meshConfig(cfg, id)
	if err != nil {
		return finish(err)
	}
	lc := cfg.Ledger
	lc.Dir, lc.Logger = cfg.Dir, cfg.Logger
	for attempt := 1; ; attempt++ {
		if reachable(ctx, cfg.Join) {
			start := cfg.Clock.Now()
			l, m, err := cluster.Repair(ctx, lc, mc, cfg.Join)
			if err == nil {
				st, _ := l.Stats()
				m.Shutdown()
				if err := l.Close(); err != nil {
					return finish(fmt.Errorf("edge: after repair: %w", err))
				}
				log.Info("ledger repaired from peers: starting", "took", cfg.Clock.Now().Sub(start).Round(time.Millisecond),
					"manifest_seq", st.ManifestSeq, "records", st.Records)
				stop()
				<-served // the API address is free again
				return Start(cfg)
			}
			if ctx.Err() != nil {
				return finish(nil)
			}
			log.Warn("repair from peers failed; trying again", "attempt", attempt, "err", err)
			say(fmt.Sprintf("repairing from peers %s (attempt %d failed: %v): %v", strings.Join(cfg.Join, ", "), attempt, err, cause))
		} else {
			say(fmt.Sprintf("waiting for a peer to repair from (%s): %v", strings.Join(cfg.Join, ", "), cause))
		}
		// A real timer: the retry waits for peers whose mesh runs on the
		// machine's clock.
		select {
		case <-ctx.Done():
			return finish(nil)
		case <-time.After(RepairRetry):
		}
	}
}

// reachable reports whether any peer's mesh port accepts a connection.
func reachable(ctx context.Context, peers []string) bool {
	d := net.Dialer{Timeout: time.Second}
	for _, p := range peers {
		if c, err := d.DialContext(ctx, "tcp", p); err == nil {
			c.Close()
			return true
		}
	}
	return false
}

func serveUnsound(ctx context.Context, ln net.Listener, detail *atomic.Pointer[string]) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		writeJSON(w, http.StatusServiceUnavailable, deviceapi.Health{State: deviceapi.StateUnsound, Detail: *detail.Load()})
	})
	page, _ := loadUI() // embedded: fails only on a broken build, then the JSON answer stands
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		if page != nil && wantsPage(r) {
			// Staff see why the gate is shut, in their language; nothing
			// here needs a session, as nothing can be done.
			page.render(w, r, http.StatusServiceUnavailable, "unsound", pageView{
				Health: deviceapi.Health{State: deviceapi.StateUnsound, Detail: *detail.Load()}})
			return
		}
		writeError(w, http.StatusServiceUnavailable, "the ledger is unsound, so this device decides nothing: "+*detail.Load())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		<-done
		return nil
	case err := <-done:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("edge: API: %w", err)
	}
}
