package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tixgate/tixgate/ledger"
)

// Repair rebuilds a device's damaged or lost ledger from its peers: the
// damaged store is moved aside, a new one opened (ledger.OpenForRepair),
// the node joins the mesh at peers, and anti-entropy fetches the manifest
// and every origin's log — this device's own included — from members that
// proved their certificates, verifying each change and record before it is
// stored. It returns once the ledger holds everything the device's marker
// says it held (its own head, the manifest number, the record count), with
// the mesh running: the device's own sequence continues after the records
// fetched, so no number is used twice. The edge daemon calls it at start
// when ledger.Open fails with ledger.ErrUnsound; `tixgate ledger repair
// --from-peers` calls it and shuts the mesh down after.
func Repair(ctx context.Context, lcfg ledger.Config, mcfg Config, peers []string) (*ledger.Ledger, *Mesh, error) {
	if len(peers) == 0 {
		return nil, nil, errors.New("repair: no peers to repair from: give their addresses")
	}
	l, err := ledger.OpenForRepair(lcfg)
	if err != nil {
		return nil, nil, err
	}
	m, err := New(mcfg, l)
	if err != nil {
		l.Close()
		return nil, nil, fmt.Errorf("repair: %w", err)
	}
	fail := func(err error) (*ledger.Ledger, *Mesh, error) {
		m.Shutdown()
		l.Close()
		return nil, nil, err
	}
	if _, err := m.Join(peers); err != nil {
		return fail(fmt.Errorf("repair: %w", err))
	}
	// Polls while memberlist's exchanges (on the machine's clock) fill the
	// ledger: a real ticker, as with the mesh's own timers.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := l.CheckSound()
		if err == nil {
			return l, m, nil
		}
		select {
		case <-ctx.Done():
			return fail(fmt.Errorf("repair: %w (%w)", ctx.Err(), err))
		case <-tick.C:
		}
	}
}
