package edge

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/tixgate/tixgate/edge/deviceapi"
	"github.com/tixgate/tixgate/ledger/decision"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/ticket/keyfile"
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

// liveHub holds the status screen's figures of the venue's day: the counts
// and the last scans start again at the venue's midnight, and survive a
// restart (see liveFile).
type liveHub struct {
	mu       sync.Mutex
	day      string // the venue's date of the counts, 2006-01-02
	admitted uint64
	refused  map[ticket.Reason]uint64
	recent   [liveRecent]deviceapi.Recent // a ring; next is the oldest
	next, n  int
	dirty    bool // changed since the last save
	subs     map[*liveSub]struct{}
	closed   bool
	dropped  uint64 // streams dropped for falling behind
	loc      func() *time.Location
}

// liveSub is one open stream. Its channel is closed when the hub drops it
// or shuts down.
type liveSub struct {
	ch chan []byte
}

// newLiveHub counts by the venue's days in the zone loc gives.
func newLiveHub(loc func() *time.Location) *liveHub {
	return &liveHub{refused: map[ticket.Reason]uint64{}, subs: map[*liveSub]struct{}{}, loc: loc}
}

// rollover starts the counts again when at falls on another venue day.
func (h *liveHub) rollover(at time.Time) {
	day := at.In(h.loc()).Format(time.DateOnly)
	if day == h.day {
		return
	}
	h.day, h.admitted, h.next, h.n, h.dirty = day, 0, 0, 0, true
	clear(h.refused)
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
	h.rollover(a.At)
	h.dirty = true
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

// counts copies the counts and the last scans of the day of now, newest
// first.
func (h *liveHub) counts(l *deviceapi.Live, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rollover(now)
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
	if st := n.UplinkState(); st != nil {
		l.Uplink = st.State // "suspended" reads "suspended by central" on the screen
	}
	n.hub.counts(&l, n.cfg.Clock.Now())
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

// liveFile keeps the status screen's figures in the device directory, so a
// restart (a power cut, an update) does not zero the counts staff read at
// the gate. It is display data, saved every liveSave and at a clean stop:
// what the ledger holds does not depend on it, and a kill loses at most the
// last seconds of counts.
const (
	liveFile = "live.json"
	liveSave = 5 * time.Second
)

// liveState is liveFile's content.
type liveState struct {
	Day      string             `json:"day"`
	Admitted uint64             `json:"admitted"`
	Refused  []deviceapi.Count  `json:"refused"`
	Recent   []deviceapi.Recent `json:"recent"` // oldest first
}

// save writes the figures when they changed since the last save.
func (h *liveHub) save(path string) error {
	h.mu.Lock()
	if !h.dirty {
		h.mu.Unlock()
		return nil
	}
	st := liveState{Day: h.day, Admitted: h.admitted, Refused: []deviceapi.Count{}, Recent: make([]deviceapi.Recent, 0, h.n)}
	for r, k := range h.refused {
		st.Refused = append(st.Refused, deviceapi.Count{Reason: string(r), N: k})
	}
	slices.SortFunc(st.Refused, func(a, b deviceapi.Count) int { return cmp.Compare(a.Reason, b.Reason) })
	for i := h.n; i >= 1; i-- {
		st.Recent = append(st.Recent, h.recent[(h.next-i+liveRecent)%liveRecent])
	}
	h.dirty = false
	h.mu.Unlock()
	data, _ := json.Marshal(st) // plain data: cannot fail
	if err := keyfile.WriteFileMode(path, data, 0o600, true); err != nil {
		h.mu.Lock()
		h.dirty = true
		h.mu.Unlock()
		return err
	}
	return nil
}

// load reads the figures a previous run saved. A missing file is a first
// start; a damaged one is said and ignored: the counts start again.
func (h *liveHub) load(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var st liveState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("%s is damaged (%v): the status counts start again", path, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.day, h.admitted = st.Day, st.Admitted
	for _, c := range st.Refused {
		h.refused[ticket.Reason(c.Reason)] = c.N
	}
	for _, r := range st.Recent[max(0, len(st.Recent)-liveRecent):] {
		h.recent[h.next] = r
		h.next = (h.next + 1) % liveRecent
		h.n = min(h.n+1, liveRecent)
	}
	return nil
}
