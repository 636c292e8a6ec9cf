package edge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/tixgate/tixgate/edge/deviceapi"
)

// ServeUnsound keeps a device whose ledger cannot prove itself sound (Start
// failed with ledger.ErrUnsound) visible and shut until ctx ends: the
// turnstile faults (relays off, red lamp), /healthz answers 503 with state
// "unsound" and the ledger's own words (what was lost, how to repair it),
// and every other path answers 503 without deciding anything. Staff see
// why the gate is shut; monitoring sees which gate; nobody is let in on a
// ledger that might have forgotten a used ticket.
func ServeUnsound(ctx context.Context, cfg Config, cause error) error {
	if cfg.Turnstile != nil {
		cfg.Turnstile.Fault()
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("edge: API on %s: %w", cfg.Listen, err)
	}
	return serveUnsound(ctx, ln, cause)
}

func serveUnsound(ctx context.Context, ln net.Listener, cause error) error {
	h := deviceapi.Health{State: deviceapi.StateUnsound, Detail: cause.Error()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		writeJSON(w, http.StatusServiceUnavailable, h)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		writeError(w, http.StatusServiceUnavailable, "the ledger is unsound, so this device decides nothing: "+cause.Error())
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
