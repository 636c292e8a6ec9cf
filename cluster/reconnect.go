package cluster

import (
	"math/rand/v2"
	"time"
)

// Reconnecting to lost members.
//
// Memberlist gossips about a dead member for GossipToTheDeadTime and then
// never contacts it again. When the venue's network splits for longer than
// that, each side holds the other as dead and nothing brings them back
// together: the two halves keep admitting on their own until a restart
// bridges them, and every ticket can pass once on each side. So a node
// keeps the proven address of every member it lost and, every
// ReconnectInterval, tries to join one of them, chosen at random, with a
// probability of lost/alive (at least one try somewhere in the venue per
// interval, without every node dialling every lost member at once). A
// successful join exchanges states; the member, told it was thought dead,
// refutes it, and both sides learn each other's members.

// lostPeer is a member that left or was declared dead.
type lostPeer struct {
	addr  string    // its proven address
	since time.Time // when it was lost
}

// lose notes a member gone, at the address its signed state proved; a
// member that never proved one is not called back (its address could be
// anyone's).
func (m *Mesh) lose(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.peers[name]
	if !ok || p.proven == nil || m.revoked(p.key) {
		return
	}
	m.lost[name] = lostPeer{addr: p.proven.String(), since: m.cfg.Clock.Now()}
}

// reconnect tries to join one lost member, now and then (see above).
func (m *Mesh) reconnect() {
	if !m.reconnecting.CompareAndSwap(false, true) {
		return // the last try has not finished
	}
	addr, name := m.pickLost()
	if addr == "" || !m.goTracked(func() {
		defer m.reconnecting.Store(false)
		if _, err := m.ml.Join([]string{addr}); err != nil {
			m.log.Debug("reconnect to a lost peer failed", "peer", name, "err", err)
			return
		}
		m.log.Info("reconnected to a lost peer", "peer", name)
	}) {
		m.reconnecting.Store(false)
	}
}

// pickLost forgets the members lost longer than ReconnectFor and picks
// one of the others, or none.
func (m *Mesh) pickLost() (addr, name string) {
	now := m.cfg.Clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.lost))
	for n, l := range m.lost {
		if now.Sub(l.since) > m.cfg.ReconnectFor {
			delete(m.lost, n)
			continue
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return "", ""
	}
	alive := len(m.peers) + 1
	if rand.Float64() >= float64(len(names))/float64(alive) {
		return "", ""
	}
	name = names[rand.IntN(len(names))]
	return m.lost[name].addr, name
}
