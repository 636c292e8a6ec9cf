package support

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/tixgate/tixgate/central/store"
)

// event is what the sockets carry, both ways' server side: a message, a
// change of status or assignee, whether staff are online, an error.
type event struct {
	Type        string        `json:"type"` // hello, message, status, assign, presence, offline, error
	Conv        int64         `json:"conv,omitempty"`
	Subject     string        `json:"subject,omitempty"`
	Status      string        `json:"status,omitempty"`
	Assignee    string        `json:"assignee,omitempty"`
	StaffOnline *bool         `json:"staff_online,omitempty"`
	Message     *messageView  `json:"message,omitempty"`
	History     []messageView `json:"history,omitempty"`
	Error       string        `json:"error,omitempty"` // a catalog key
	Ref         string        `json:"ref,omitempty"`   // the sender's own tag of the message it answers
}

// messageView is a message as the sockets and pages show it.
type messageView struct {
	ID     int64  `json:"id"`
	At     string `json:"at"` // RFC 3339, UTC
	Kind   string `json:"kind"`
	Author string `json:"author,omitempty"`
	Via    string `json:"via"`
	Body   string `json:"body"`
	// Clock is the time of day in the desk's zone, for the pages.
	Clock string `json:"-"`
}

func view(m store.SupportMessage) *messageView {
	return &messageView{ID: m.ID, At: m.At.UTC().Format(time.RFC3339), Kind: m.AuthorKind, Author: m.Author, Via: m.Via, Body: m.Body}
}

// peer is one socket: its queue of encoded events, drained by its writer.
type peer struct {
	out   chan []byte
	gone  chan struct{}
	once  sync.Once
	staff string // the staff member, "" for a buyer
	conv  int64  // a buyer's conversation, 0 before the first message
}

func (p *peer) drop() { p.once.Do(func() { close(p.gone) }) }

// Hub holds the chat's sockets in this process: every staff member's, and
// the buyers' by conversation. Sends never block: a socket whose queue is
// full is dropped, and its browser reconnects and reloads the history.
type Hub struct {
	queue  int
	mu     sync.Mutex
	staff  map[*peer]struct{}
	buyers map[int64]map[*peer]struct{} // by conversation; 0: not yet one
}

func newHub(queue int) *Hub {
	return &Hub{queue: queue, staff: map[*peer]struct{}{}, buyers: map[int64]map[*peer]struct{}{}}
}

// StaffOnline is how many staff sockets are connected.
func (h *Hub) StaffOnline() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.staff)
}

func (h *Hub) newPeer(staff string, conv int64) *peer {
	return &peer{out: make(chan []byte, h.queue), gone: make(chan struct{}), staff: staff, conv: conv}
}

func (h *Hub) addStaff(p *peer) {
	h.mu.Lock()
	h.staff[p] = struct{}{}
	first := len(h.staff) == 1
	h.mu.Unlock()
	if first {
		h.presence(true)
	}
}

func (h *Hub) addBuyer(p *peer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.buyers[p.conv] == nil {
		h.buyers[p.conv] = map[*peer]struct{}{}
	}
	h.buyers[p.conv][p] = struct{}{}
}

// bind moves a buyer's socket to the conversation its first message made.
func (h *Hub) bind(p *peer, conv int64) {
	h.mu.Lock()
	delete(h.buyers[p.conv], p)
	p.conv = conv
	h.mu.Unlock()
	h.addBuyer(p)
}

func (h *Hub) remove(p *peer) {
	h.mu.Lock()
	last := false
	if p.staff != "" {
		delete(h.staff, p)
		last = len(h.staff) == 0
	} else {
		delete(h.buyers[p.conv], p)
		if len(h.buyers[p.conv]) == 0 {
			delete(h.buyers, p.conv)
		}
	}
	h.mu.Unlock()
	p.drop()
	if last {
		h.presence(false)
	}
}

func encode(e event) []byte {
	b, _ := json.Marshal(e) // the event's fields always encode
	return b
}

func (h *Hub) send(p *peer, b []byte) {
	select {
	case p.out <- b:
	default:
		p.drop()
	}
}

// toStaff sends an event to every staff socket.
func (h *Hub) toStaff(e event) {
	b := encode(e)
	h.mu.Lock()
	defer h.mu.Unlock()
	for p := range h.staff {
		h.send(p, b)
	}
}

// toBuyers sends an event to a conversation's buyer sockets and says to
// how many.
func (h *Hub) toBuyers(conv int64, e event) int {
	b := encode(e)
	h.mu.Lock()
	defer h.mu.Unlock()
	for p := range h.buyers[conv] {
		h.send(p, b)
	}
	return len(h.buyers[conv])
}

// presence tells every buyer socket whether staff are online.
func (h *Hub) presence(online bool) {
	b := encode(event{Type: "presence", StaffOnline: &online})
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ps := range h.buyers {
		for p := range ps {
			h.send(p, b)
		}
	}
}

// closeAll drops every socket: each is closed with "going away" and its
// browser reconnects (to another replica, or once this one is back).
func (h *Hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for p := range h.staff {
		p.drop()
	}
	for _, ps := range h.buyers {
		for p := range ps {
			p.drop()
		}
	}
}
