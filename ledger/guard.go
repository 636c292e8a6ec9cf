package ledger

import (
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// guardedDB is the ledger's Badger store, safe to call while the ledger
// closes: Badger's DB must not be used once closed (a read then finds its
// memtables gone and crashes the process), and the mesh, the API and the
// uplink call the ledger from their own goroutines, which may still be
// running when a gate shuts down or crashes. A call after Close, or one
// that begins while Close runs, gets ErrClosed; Close waits for the calls
// in flight to finish first.
type guardedDB struct {
	*badger.DB
	inflight atomic.Int64
	closed   atomic.Bool
}

// enter counts a call in; false when the store is closing or closed.
func (g *guardedDB) enter() bool {
	g.inflight.Add(1)
	if g.closed.Load() {
		g.inflight.Add(-1)
		return false
	}
	return true
}

func (g *guardedDB) exit() { g.inflight.Add(-1) }

// View runs fn in a read transaction, unless the store is closed.
func (g *guardedDB) View(fn func(*badger.Txn) error) error {
	if !g.enter() {
		return ErrClosed
	}
	defer g.exit()
	return g.DB.View(fn)
}

// Update runs fn in a read-write transaction, unless the store is closed.
func (g *guardedDB) Update(fn func(*badger.Txn) error) error {
	if !g.enter() {
		return ErrClosed
	}
	defer g.exit()
	return g.DB.Update(fn)
}

// closeWait is how long Close waits for the calls in flight.
const closeWait = 30 * time.Second

// Close refuses new calls, waits for those in flight (up to closeWait),
// and closes the store.
func (g *guardedDB) Close() error {
	g.closed.Store(true)
	for deadline := time.Now().Add(closeWait); g.inflight.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	return g.DB.Close()
}
