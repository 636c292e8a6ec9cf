package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
	"github.com/tixgate/tixgate/uplink"
)

// The uplink to central: a goroutine of the node that pushes the records
// central lacks (every origin's, so one gate with a working uplink serves
// the whole venue) and then pulls the manifest changes the device lacks,
// every Uplink.Interval, backing off while central cannot be reached. It
// reads the ledger between scans and imports changes through the ledger's
// own verified path; a scan never waits for it.

// ledgerDevice is the ledger as the uplink client sees it.
type ledgerDevice struct {
	l     *ledger.Ledger
	clock ticket.Clock
}

var _ uplink.Device = ledgerDevice{}

// UplinkDevice is a ledger as the uplink client reads and writes it, for
// programs that sync a ledger without running a node.
func UplinkDevice(l *ledger.Ledger, clock ticket.Clock) uplink.Device {
	return ledgerDevice{l: l, clock: clock}
}

func (d ledgerDevice) VersionVector() (map[ticket.KeyID]uint64, error) {
	vv, err := d.l.VersionVector()
	return map[ticket.KeyID]uint64(vv), err
}

func (d ledgerDevice) Records(origin ticket.KeyID, from uint64, max int) ([][]byte, error) {
	return d.l.Records(origin, from, max)
}

func (d ledgerDevice) ManifestSeq() uint64 { return d.l.ManifestSeq() }

func (d ledgerDevice) ImportManifest(ctx context.Context, r io.Reader, progress func()) (int, error) {
	last := time.Time{}
	st, err := d.l.Import(ctx, r, func(ledger.ImportStats) {
		if now := d.clock.Now(); now.Sub(last) > 200*time.Millisecond {
			last = now
			progress()
		}
	})
	return st.Applied, err
}

// startUplink starts the uplink when the node is configured with a
// central: the URL from Config.Central, the credential from the device's
// enrollment (uplink.json in its directory).
func (n *Node) startUplink() error {
	if n.cfg.Central == "" {
		return nil
	}
	creds, err := uplink.LoadCredentials(n.cfg.Dir)
	if err != nil {
		if errors.Is(err, uplink.ErrNotEnrolled) {
			return fmt.Errorf("edge: --central %s: %w", n.cfg.Central, err)
		}
		return fmt.Errorf("edge: uplink: %w", err)
	}
	cfg := n.cfg.Uplink
	cfg.URL, cfg.Credential, cfg.Version = n.cfg.Central, creds.Credential, n.cfg.Version
	cfg.SaveCredential = func(credential string) error {
		// The whole file anew, atomically (0600): a crash leaves the old
		// credential, which central honours until the new one is used, or
		// the new one.
		c := creds
		c.Credential = credential
		if err := uplink.SaveCredentials(n.cfg.Dir, c); err != nil {
			return err
		}
		creds = c
		return nil
	}
	cfg.OnRevoked = n.revokedByCentral
	cfg.Clock = n.cfg.Clock
	cfg.Logger = n.log.With("part", "uplink")
	c, err := uplink.New(cfg)
	if err != nil {
		return fmt.Errorf("edge: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	n.uplink, n.uplinkStop, n.uplinkDone = c, cancel, done
	n.registerUplinkMetrics()
	go func() {
		defer close(done)
		c.Run(ctx, UplinkDevice(n.ledger, n.cfg.Clock))
	}()
	n.log.Info("uplink to central started", "url", c.State().URL, "interval", cfg.Interval)
	return nil
}

// stopUplink stops the uplink and waits for it: a push or pull in flight
// is cut, and resumes from what central acknowledged at the next start.
func (n *Node) stopUplink() {
	if n.uplinkStop == nil {
		return
	}
	n.uplinkStop()
	<-n.uplinkDone
}

// UplinkState is the uplink's state, nil when the node has no central.
func (n *Node) UplinkState() *uplink.State {
	if n.uplink == nil {
		return nil
	}
	s := n.uplink.State()
	return &s
}

// SyncNow asks the uplink to sync now; false when there is none.
func (n *Node) SyncNow() bool {
	if n.uplink == nil {
		return false
	}
	n.uplink.Wake()
	return true
}

// registerUplinkMetrics adds the uplink's series to the node's metrics.
func (n *Node) registerUplinkMetrics() {
	state := func(f func(uplink.State) float64) func() float64 {
		return func() float64 { return f(n.uplink.State()) }
	}
	n.metrics.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tixgate_uplink_up", Help: "1 when the last sync with central worked (ok or refused), else 0."},
			state(func(s uplink.State) float64 {
				if s.State == uplink.StateOK || s.State == uplink.StateRefused {
					return 1
				}
				return 0
			})),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tixgate_uplink_suspended", Help: "1 while central refuses this device as suspended, else 0."},
			state(func(s uplink.State) float64 {
				if s.State == uplink.StateSuspended {
					return 1
				}
				return 0
			})),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tixgate_uplink_backlog", Help: "Records central has not acknowledged, at the last sync."},
			state(func(s uplink.State) float64 { return float64(s.Backlog) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tixgate_uplink_failures", Help: "Syncs with central failed in a row."},
			state(func(s uplink.State) float64 { return float64(s.Failures) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tixgate_uplink_last_sync_seconds", Help: "Unix time of the last sync that worked; 0 before one."},
			state(func(s uplink.State) float64 {
				if s.LastSync.IsZero() {
					return 0
				}
				return float64(s.LastSync.UnixMilli()) / 1000
			})),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tixgate_uplink_manifest_behind", Help: "Manifest changes central holds that the device has not applied."},
			state(func(s uplink.State) float64 {
				return float64(s.ManifestHead) - float64(min(s.ManifestSeq, s.ManifestHead))
			})),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tixgate_uplink_pushed_total", Help: "Records central stored from this device's pushes."},
			state(func(s uplink.State) float64 { return float64(s.Pushed) })),
	)
}

// RevokedFile in a device's folder holds central's word that the device
// is revoked: the device stays closed across restarts.
const RevokedFile = "revoked.txt"

// revokedByCentral closes the device for good: central said ops revoked
// it (lost, stolen, retired). Its peers refuse it already; it now refuses
// every scan itself, and remembers it.
func (n *Node) revokedByCentral(msg string) {
	if n.revoked.Load() != nil {
		return
	}
	n.revoked.Store(&msg)
	n.log.Error("central revoked this device: it admits nobody from now on", "detail", msg)
	if err := keyfile.WriteFile(filepath.Join(n.cfg.Dir, RevokedFile), []byte(msg+"\n"), true); err != nil {
		n.log.Error("could not keep the revocation on disk: the device closes again at its next sync", "err", err)
	}
}

// loadRevoked reads a revocation kept from an earlier run.
func (n *Node) loadRevoked() {
	if b, err := os.ReadFile(filepath.Join(n.cfg.Dir, RevokedFile)); err == nil {
		msg := strings.TrimSpace(string(b))
		n.revoked.Store(&msg)
		n.log.Error("this device was revoked by central: it admits nobody", "detail", msg)
	}
}
