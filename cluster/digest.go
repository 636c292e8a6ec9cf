package cluster

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"

	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
)

// A digest is a fast anti-entropy round for recent records: every
// DigestInterval a node tells DigestNodes random peers, in one signed UDP
// packet, how far it holds each origin whose log moved within RelayWindow.
// A peer that is behind on an origin fetches the rest at once. It closes
// the gap that eager push and gossip leave when packets are lost: a node
// that missed an origin's latest record has nothing later to reveal the
// gap, and push/pull comes only every few seconds. A quiet venue sends no
// digests.

// maxDigestOrigins bounds the origins of one digest: 7 bytes or so each,
// so a digest stays one packet.
const maxDigestOrigins = 120

// noteRecent marks an origin as recently moved (the ledger's record hook).
func (m *Mesh) noteRecent(raw []byte) {
	o, ok := record.OriginOf(raw)
	if !ok {
		return
	}
	now := m.cfg.Clock.Now()
	m.recentMu.Lock()
	m.recent[o] = now
	m.recentMu.Unlock()
}

// recentOrigins returns the origins whose log moved within RelayWindow,
// forgetting older ones.
func (m *Mesh) recentOrigins() []ticket.KeyID {
	now := m.cfg.Clock.Now()
	m.recentMu.Lock()
	defer m.recentMu.Unlock()
	out := make([]ticket.KeyID, 0, len(m.recent))
	for o, at := range m.recent {
		if now.Sub(at) > m.cfg.RelayWindow {
			delete(m.recent, o)
			continue
		}
		if len(out) < maxDigestOrigins {
			out = append(out, o)
		}
	}
	return out
}

func (m *Mesh) sendDigests() {
	origins := m.recentOrigins()
	if len(origins) == 0 {
		return
	}
	peers := m.members()
	if len(peers) == 0 {
		return
	}
	vv, err := m.store.VersionVector()
	if err != nil {
		return
	}
	var payload []byte
	for _, o := range origins {
		if seq := vv[o]; seq > 0 {
			payload = append(payload, o[:]...)
			payload = binary.AppendUvarint(payload, seq)
		}
	}
	if len(payload) == 0 {
		return
	}
	msg := m.seal(kindDigest, payload)
	rand.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
	for _, n := range peers[:min(len(peers), m.cfg.DigestNodes)] {
		if err := m.ml.SendBestEffort(n, msg); err == nil {
			m.st.digestsSent.Add(1)
		}
	}
}

// parseDigest reads a digest's (origin, head) pairs.
func parseDigest(b []byte) (map[ticket.KeyID]uint64, error) {
	out := map[ticket.KeyID]uint64{}
	for len(b) > 0 {
		if len(b) < 5 || len(out) >= maxDigestOrigins {
			return nil, errors.New("bad digest")
		}
		var o ticket.KeyID
		copy(o[:], b[:4])
		seq, w := binary.Uvarint(b[4:])
		if w <= 0 || seq == 0 {
			return nil, errors.New("bad digest")
		}
		out[o] = seq
		b = b[4+w:]
	}
	return out, nil
}

// mergeDigest fetches from the digest's sender what it holds of an origin
// beyond this node.
func (m *Mesh) mergeDigest(msg message) {
	theirs, err := parseDigest(msg.payload)
	if err != nil {
		m.reject(msg.sender, 1, err)
		return
	}
	ours, err := m.store.VersionVector()
	if err != nil {
		return
	}
	for o, seq := range theirs {
		if have := ours[o]; seq > have {
			m.requestFetch(msg.sender, o, have+1, seq)
		}
	}
}
