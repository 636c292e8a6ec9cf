package edge

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/ledger/decision"
	"github.com/tixgate/tixgate/ticket"
)

// Live updates for the status screen: the decision path tells the hub of
// every decision; the hub keeps the counts and the last scans, and hands one
// encoded event to every open stream without waiting for any of them.
const (
	// liveRecent is how many scans the status screen lists.
	liveRecent = 20
	// liveBuffer is how many events a stream may fall behind before it is
	// dropped (the browser reconnects and gets a fresh snapshot). A scan
	// never waits for a screen.
	liveBuffer = 64
	// liveRefresh is how often a stream gets a fresh snapshot: peers,
	// conflicts and health change without a scan.
	liveRefresh = 5 * time.Second
	// liveWriteTimeout cuts a stream whose reader stopped reading.
	liveWriteTimeout = 10 * time.Second
	// liveConflicts is how many conflicts a snapshot lists.
	liveConflicts = 10
)

// liveHub holds the status screen's figures since the device started.
type liveHub struct {
	mu       sync.Mutex
	admitted uint64
	refused  map[ticket.Reason]uint64
	recent   [liveRecent]deviceapi.Recent // a ring; next is the oldest
	next, n  int
	subs     map[*liveSub]struct{}
	closed   bool
	dropped  uint64 // streams dropped for falling behind
}

// liveSub is one open stream. Its channel is closed when the hub drops it
// or shuts down.
type liveSub struct {
	ch chan []byte
}

func newLiveHub() *liveHub {
	return &liveHub{refused: map[ticket.Reason]uint64{}, subs: map[*liveSub]struct{}{}}
}

// record counts a decision and sends it to every stream: O(1) in the
// history, one encoding, one non-blocking send per open stream. A copy
// (a debounced read, a retried nonce) recorded nothing and counts nothing.
func (h *liveHub) record(a deviceapi.Answer) {
	if a.Repeat {
		return
	}
	r := deviceapi.Recent{At: a.At, Result: a.Result, Reason: a.Reason, Gate: a.Gate, Source: a.Source}
	if a.Ticket != nil {
		r.Serial = a.Serial
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	ev := deviceapi.LiveScan{Scan: r}
	if a.OK() {
		h.admitted++
	} else {
		h.refused[a.Reason]++
		ev.Refused = &deviceapi.Count{Reason: string(a.Reason), N: h.refused[a.Reason]}
	}
	ev.Admitted = h.admitted
	h.recent[h.next] = r
	h.next = (h.next + 1) % liveRecent
	h.n = min(h.n+1, liveRecent)
	if len(h.subs) == 0 {
		return
	}
	data, _ := json.Marshal(ev) // plain data: cannot fail
	msg := sseMessage("scan", data)
	for s := range h.subs {
		select {
		case s.ch <- msg:
		default: // behind: drop it rather than wait
			delete(h.subs, s)
			close(s.ch)
			h.dropped++
		}
	}
}

// subscribe opens a stream; nil once the hub has shut down.
func (h *liveHub) subscribe() *liveSub {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	s := &liveSub{ch: make(chan []byte, liveBuffer)}
	h.subs[s] = struct{}{}
	return s
}

func (h *liveHub) unsubscribe(s *liveSub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.ch)
	}
}

// close ends every stream, so a server shutting down does not wait for
// status screens.
func (h *liveHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		close(s.ch)
	}
	clear(h.subs)
}

// counts copies the counts and the last scans, newest first.
func (h *liveHub) counts(l *deviceapi.Live) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l.Admitted = h.admitted
	l.Refused = make([]deviceapi.Count, 0, len(h.refused))
	for r, k := range h.refused {
		l.Refused = append(l.Refused, deviceapi.Count{Reason: string(r), N: k})
	}
	slices.SortFunc(l.Refused, func(a, b deviceapi.Count) int {
		if a.N != b.N {
			return int(b.N) - int(a.N)
		}
		return cmp.Compare(a.Reason, b.Reason)
	})
	l.Recent = make([]deviceapi.Recent, 0, h.n)
	for i := 1; i <= h.n; i++ {
		l.Recent = append(l.Recent, h.recent[(h.next-i+liveRecent)%liveRecent])
	}
}

// live is the status screen's snapshot.
func (n *Node) live() deviceapi.Live {
	l := deviceapi.Live{Health: n.Health(), Gate: n.cfg.Gate, Uplink: deviceapi.UplinkNotConfigured, TLS: n.tlsFingerprint, Peers: []string{}}
	if id := n.ledger.Identity(); id != nil {
		l.Device = id.Cert.Device
	}
	n.hub.counts(&l)
	for _, p := range n.mesh.Peers() {
		if p.State == "alive" {
			name := p.Name
			if p.Meta.Gate != "" {
				name += " (" + p.Meta.Gate + ")"
			}
			l.Peers = append(l.Peers, name)
		}
	}
	slices.Sort(l.Peers)
	// Conflicts are rare and kept in their own table: reading them is a
	// short prefix scan, every few seconds per open screen.
	if cs, err := n.ledger.Conflicts(); err != nil {
		n.log.Warn("status: conflicts unreadable", "err", err)
	} else {
		l.Conflicts = uint64(len(cs))
		for _, c := range cs[:min(len(cs), liveConflicts)] {
			l.ConflictList = append(l.ConflictList, deviceapi.Conflict{Event: c.Event, Serial: c.Serial, Reason: c.Reason,
				First:  decision.Passage{Gate: c.First.Gate, Device: c.First.Device, At: c.First.At},
				Second: decision.Passage{Gate: c.Second.Gate, Device: c.Second.Device, At: c.Second.At}})
		}
	}
	if ts := n.cfg.Turnstile; ts != nil {
		l.FreeEgress = ts.FreeEgress()
	}
	return l
}

// sseMessage is one Server-Sent Event. data is JSON: one line.
func sseMessage(event string, data []byte) []byte {
	return fmt.Appendf(nil, "event: %s\ndata: %s\n\n", event, data)
}

// handleLiveStream is GET /api/v1/events/stream: a "snapshot" event at
// once and every liveRefresh, a "scan" event per decision.
func (n *Node) handleLiveStream(w http.ResponseWriter, r *http.Request) {
	sub := n.hub.subscribe()
	if sub == nil {
		writeError(w, http.StatusServiceUnavailable, "the device is shutting down")
		return
	}
	defer n.hub.unsubscribe(sub)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(msg []byte) bool {
		// The server's WriteTimeout would end the stream; each write gets
		// its own deadline instead.
		rc.SetWriteDeadline(time.Now().Add(liveWriteTimeout))
		if _, err := w.Write(msg); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	snapshot := func() bool {
		data, err := json.Marshal(n.live())
		return err == nil && send(sseMessage("snapshot", data))
	}
	if !send([]byte("retry: 2000\n\n")) || !snapshot() {
		return
	}
	tick := time.NewTicker(liveRefresh)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case msg, ok := <-sub.ch:
			if !ok || !send(msg) {
				return
			}
		case <-tick.C:
			if !snapshot() {
				return
			}
		}
	}
}
