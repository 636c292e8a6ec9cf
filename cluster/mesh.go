package cluster

import (
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/tixgate/tixgate/ledger"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
)

// Store is what the mesh needs of a device's ledger. Every method must be
// safe for concurrent use; the hooks must not block.
type Store interface {
	Identity() *ledger.Identity
	OnRecord(fn func(raw []byte, local bool))
	// OnCommit's fn is called with each group commit of this device's
	// records before their decisions are answered.
	OnCommit(fn func(raws [][]byte))
	OnChange(fn func(raw []byte))
	// Ingest verifies and stores records; it must be idempotent.
	Ingest(raws [][]byte) (ledger.IngestStats, []error)
	// ApplyChange verifies and applies a manifest change; idempotent.
	ApplyChange(raw []byte) (ledger.ApplyStatus, error)
	VersionVector() (ledger.VersionVector, error)
	// Holds reports, from memory, whether the origin's log here reaches
	// seq: a record at or below it is a duplicate.
	Holds(origin ticket.KeyID, seq uint64) bool
	Records(origin ticket.KeyID, from uint64, max int) ([][]byte, error)
	ManifestSeq() uint64
	ManifestChanges(from uint64, max int) ([][]byte, error)
	DeviceCerts() []ticket.DeviceCert
	// AddDeviceCert verifies a certificate against the root and keeps it.
	AddDeviceCert(ticket.DeviceCert) error
	// Trust is what the device trusts, the manifest's revocations
	// included: a member whose key is revoked is sent nothing and heard
	// no more.
	Trust() *ticket.TrustStore
}

var _ Store = (*ledger.Ledger)(nil)

// Mesh is one device's membership in the venue mesh.
type Mesh struct {
	cfg   Config
	log   *slog.Logger
	store Store
	self  ticket.KeyID
	ml    *memberlist.Memberlist
	addr  string
	queue *memberlist.TransmitLimitedQueue
	tr    *transport

	inbox   chan message
	serving chan struct{} // bounds the fetches answered at once
	// requestsSeen holds the signed requests of the replay window (by
	// signature, to when openMessage stops accepting them): each is
	// answered once. Under mu.
	requestsSeen map[[16]byte]seenRequest
	requestsBy   map[string]int // entries of requestsSeen per sender
	// fromPeers holds the signatures of the changes being applied from a
	// peer's message, and of those held until their predecessors come,
	// so onChange knows them from this node's own.
	fromPeers sync.Map
	// recent holds the origins whose log moved lately, for digests.
	recentMu sync.Mutex
	recent   map[ticket.KeyID]time.Time
	quit     chan struct{}
	wg       sync.WaitGroup
	closed   atomic.Bool
	// lifeMu orders starting a goroutine against Shutdown: go starts one
	// under the read lock only while the node is open, and Shutdown marks
	// it closed under the write lock before it waits for them all.
	lifeMu sync.RWMutex

	mu        sync.Mutex
	lastSeen  map[string]time.Time
	rejected  map[string]uint64
	warned    map[string]bool
	verified  map[string]ticket.DeviceCert // metadata whose certificate verified (admit.go)
	fetching  map[string]fetchState        // origin or "manifest" → last request
	joinAddrs []string
	// peers is this node's own copy of the members: memberlist changes the
	// nodes it hands out under its own lock, so they are copied while it
	// holds it, in the event callbacks.
	peers map[string]peer
	// lost holds the members that left or died, to call back
	// (reconnect.go); reconnecting is set while one call is under way.
	lost         map[string]lostPeer
	reconnecting atomic.Bool
	// catchingUp is set while the ingest loop stores an answer to a
	// fetch: onRecord does not relay those records.
	catchingUp atomic.Bool

	key ed25519.PrivateKey // the device key: signs every message (message.go)

	st meshCounters
}

type meshCounters struct {
	recordsIn, changesIn, dropped, rejected   atomic.Uint64
	eagerSent, queued, fetchesSent, fetchesIn atomic.Uint64
	eagerFailed, pruned                       atomic.Uint64
	recordsServed                             atomic.Uint64
	untrusted, unauthentic                    atomic.Uint64
	digestsSent                               atomic.Uint64
	duplicates                                atomic.Uint64
}

// New starts a node: it listens, and passes on what the store learns. It
// joins nobody until Join.
func New(cfg Config, store Store) (*Mesh, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	if cfg.Name == "" {
		cfg.Name = store.Identity().Cert.Device
	}
	if len(cfg.Keyring) == 0 {
		return nil, errors.New("mesh: no keyring: the venue mesh key is required")
	}
	if cfg.FetchBatch <= 0 {
		cfg.FetchBatch = 2000
	}
	if cfg.InboxSize <= 0 {
		cfg.InboxSize = 8192
	}
	if cfg.RelayWindow <= 0 {
		cfg.RelayWindow = 30 * time.Second
	}
	if cfg.ReplayWindow <= 0 {
		cfg.ReplayWindow = 2 * time.Minute
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = 4096
	}
	if cfg.ReconnectFor <= 0 {
		cfg.ReconnectFor = 24 * time.Hour
	}
	m := &Mesh{
		cfg:          cfg,
		log:          cfg.Logger.With("node", cfg.Name),
		store:        store,
		self:         store.Identity().ID(),
		key:          store.Identity().Key,
		inbox:        make(chan message, cfg.InboxSize),
		serving:      make(chan struct{}, maxServing),
		quit:         make(chan struct{}),
		lastSeen:     map[string]time.Time{},
		rejected:     map[string]uint64{},
		warned:       map[string]bool{},
		fetching:     map[string]fetchState{},
		recent:       map[ticket.KeyID]time.Time{},
		requestsSeen: map[[16]byte]seenRequest{},
		requestsBy:   map[string]int{},
		peers:        map[string]peer{},
		lost:         map[string]lostPeer{},
	}
	if cert, err := store.Identity().Cert.MarshalBinary(); err == nil {
		m.cfg.Meta.Cert = cert
	}
	mlog := memberlistLogger(cfg.Logger, cfg.Name)
	tr, err := newTransport(cfg.BindAddr, cfg.BindPort, cfg.Filter, mlog)
	if err != nil {
		return nil, fmt.Errorf("mesh: %w", err)
	}
	m.tr = tr
	keyring, err := memberlist.NewKeyring(cfg.Keyring[1:], cfg.Keyring[0])
	if err != nil {
		tr.Shutdown()
		return nil, fmt.Errorf("mesh: keyring: %w", err)
	}
	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.Name
	mc.BindAddr = cfg.BindAddr
	mc.BindPort = tr.GetAutoBindPort()
	mc.AdvertiseAddr, mc.AdvertisePort = cfg.AdvertiseAddr, cfg.AdvertisePort
	if mc.AdvertiseAddr == "" && cfg.BindAddr != "0.0.0.0" && cfg.BindAddr != "" {
		mc.AdvertiseAddr, mc.AdvertisePort = cfg.BindAddr, mc.BindPort
	}
	mc.Keyring = keyring
	mc.GossipInterval = cfg.GossipInterval
	mc.GossipNodes = cfg.GossipNodes
	mc.RetransmitMult = cfg.RetransmitMult
	mc.PushPullInterval = cfg.PushPullInterval
	mc.ProbeInterval = cfg.ProbeInterval
	mc.ProbeTimeout = cfg.ProbeTimeout
	if cfg.gossipToTheDead > 0 {
		mc.GossipToTheDeadTime = cfg.gossipToTheDead
	}
	mc.Transport = tr
	// Records are signatures and hashes: compression costs time and saves
	// nothing.
	mc.EnableCompression = false
	mc.Logger = mlog
	mc.Delegate = (*delegate)(m)
	mc.Events = (*events)(m)
	mc.Alive = (*aliveDelegate)(m)
	mc.Merge = (*aliveDelegate)(m)
	m.queue = &memberlist.TransmitLimitedQueue{NumNodes: m.numMembers, RetransmitMult: cfg.RetransmitMult}
	ml, err := memberlist.Create(mc)
	if err != nil {
		tr.Shutdown()
		return nil, fmt.Errorf("mesh: %w", err)
	}
	m.ml = ml
	local := ml.LocalNode()
	m.addr = net.JoinHostPort(local.Addr.String(), strconv.Itoa(int(local.Port)))
	store.OnRecord(m.onRecord)
	store.OnChange(m.onChange)
	if cfg.EagerPush {
		store.OnCommit(m.pushEager)
	}
	m.wg.Add(4)
	go m.ingestLoop()
	go m.every(m.cfg.RejoinInterval, m.rejoin)
	go m.every(m.cfg.DigestInterval, m.sendDigests)
	go m.every(m.cfg.ReconnectInterval, m.reconnect)
	return m, nil
}

// goTracked runs fn in a goroutine that Shutdown waits for; once the node
// is shutting down it runs nothing, so no goroutine outlives it or calls a
// closed ledger. It reports whether fn was started.
func (m *Mesh) goTracked(fn func()) bool {
	m.lifeMu.RLock()
	defer m.lifeMu.RUnlock()
	if m.closed.Load() {
		return false
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		fn()
	}()
	return true
}

func (m *Mesh) numMembers() int {
	if m.ml == nil {
		return 1
	}
	return m.ml.NumMembers()
}

// Addr is the address peers reach this node at.
func (m *Mesh) Addr() string { return m.addr }

// Join contacts the given nodes (host:port) and returns how many answered.
// The addresses are kept: a node left alone retries them, so a gate that
// restarts before its peers finds them when they come back.
func (m *Mesh) Join(addrs []string) (int, error) {
	m.mu.Lock()
	m.joinAddrs = append([]string(nil), addrs...)
	m.mu.Unlock()
	if len(addrs) == 0 {
		return 0, nil
	}
	n, err := m.ml.Join(addrs)
	if err != nil && n == 0 {
		return 0, fmt.Errorf("mesh: join %v: %w", addrs, err)
	}
	return n, nil
}

// Shutdown leaves the cluster politely and stops the node.
func (m *Mesh) Shutdown() error {
	m.lifeMu.Lock()
	already := m.closed.Swap(true)
	m.lifeMu.Unlock()
	if already {
		return nil
	}
	// Leaving is a courtesy: peers that miss it find the node gone by
	// probing. When the whole venue stops at once nobody is left to hear
	// it, so a timeout here is no failure of this node.
	if err := m.ml.Leave(time.Second); err != nil {
		m.log.Warn("leave not confirmed by any peer; they will notice the node gone", "err", err)
	}
	close(m.quit)
	m.wg.Wait()
	return m.ml.Shutdown()
}

// Peer is another node as this one sees it.
type Peer struct {
	Name string   `json:"name"`
	Addr string   `json:"addr"`
	Meta NodeMeta `json:"meta"`
	// State is "alive" for a member that proved it holds its
	// certificate's key (a signed message from it verified), "unverified"
	// for one admitted by its certificate that has not yet: nothing
	// private is sent to it until it does.
	State    string    `json:"state"`
	Role     string    `json:"role,omitempty"` // from its certificate
	LastSeen time.Time `json:"last_seen,omitzero"`
}

// peer is a member as copied in an event callback.
type peer struct {
	node memberlist.Node
	key  ed25519.PublicKey // from its certificate, which admit checked
	role ticket.Role       // from its certificate
	// proven is the address the member's key vouched for: set by its
	// signed push/pull state, which names the address it listens at. A
	// certificate can be copied and a message replayed, but a replayed
	// state names the real device's address, so what this node sends to
	// the member goes there, whoever holds the name in memberlist.
	proven *net.UDPAddr
	// provenAt is when the state that set proven was signed.
	provenAt time.Time
}

// target is the node to send to: at its proven address when it has one.
func (p *peer) target() *memberlist.Node {
	n := p.node
	if p.proven != nil {
		n.Addr, n.Port = p.proven.IP, uint16(p.proven.Port)
	}
	return &n
}

func copyNode(n *memberlist.Node) memberlist.Node {
	return memberlist.Node{Name: n.Name, Addr: append(net.IP(nil), n.Addr...), Port: n.Port, Meta: append([]byte(nil), n.Meta...)}
}

// members returns copies of the live peers' nodes.
func (m *Mesh) members() []*memberlist.Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*memberlist.Node, 0, len(m.peers))
	for _, p := range m.peers {
		if !m.revoked(p.key) {
			out = append(out, p.target())
		}
	}
	return out
}

// provenMembers is members, only those whose signed state proved their
// address: eager pushes go to them alone, so a name announced at an
// address of someone else's choosing reflects no traffic there.
func (m *Mesh) provenMembers() []*memberlist.Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*memberlist.Node, 0, len(m.peers))
	for _, p := range m.peers {
		if p.proven != nil && !m.revoked(p.key) {
			out = append(out, p.target())
		}
	}
	return out
}

// revoked reports whether a member's key is revoked now by the manifest (a
// lost or stolen device): its certificate still verifies, but it is sent
// nothing and its messages are dropped.
func (m *Mesh) revoked(key ed25519.PublicKey) bool {
	return key != nil && m.store.Trust().RevokedAt(ticket.KeyIDOf(key), m.cfg.Clock.Now())
}

// Peers lists the live members other than this node.
func (m *Mesh) Peers() []Peer {
	var out []Peer
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.peers {
		if m.revoked(p.key) {
			continue
		}
		n := p.target()
		pr := Peer{Name: n.Name, Addr: net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port))), State: "unverified",
			Role: string(p.role), LastSeen: m.lastSeen[n.Name]}
		if p.proven != nil {
			pr.State = "alive"
		}
		json.Unmarshal(n.Meta, &pr.Meta)
		out = append(out, pr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Stats counts a node's traffic.
type Stats struct {
	Members         int    `json:"members"`
	RecordsIn       uint64 `json:"records_in"`
	ChangesIn       uint64 `json:"changes_in"`
	Dropped         uint64 `json:"dropped"`      // messages dropped because the inbox was full
	Rejected        uint64 `json:"rejected"`     // records and changes the ledger refused
	EagerSent       uint64 `json:"eager_sent"`   // packets pushed straight to peers
	EagerFailed     uint64 `json:"eager_failed"` // eager packets that could not be sent (gossip still carries them)
	Pruned          uint64 `json:"pruned"`       // gossip messages pruned from a full queue (anti-entropy still carries them)
	Queued          uint64 `json:"queued"`
	FetchesSent     uint64 `json:"fetches_sent"`
	DigestsSent     uint64 `json:"digests_sent"` // fast anti-entropy packets (see Config.DigestInterval)
	FetchesServed   uint64 `json:"fetches_served"`
	RecordsServed   uint64 `json:"records_served"`
	Untrusted       uint64 `json:"untrusted"`   // nodes refused membership: no valid certificate, or a name taken by another key
	Unauthentic     uint64 `json:"unauthentic"` // messages dropped unread: unsigned, badly signed, from a non-member or outside the replay window
	Duplicates      uint64 `json:"duplicates"`  // record messages dropped unverified: every record in them held already
	PacketsOut      uint64 `json:"packets_out"`
	PacketBytesOut  uint64 `json:"packet_bytes_out"`
	PacketsFiltered uint64 `json:"packets_filtered"`
	StreamsOut      uint64 `json:"streams_out"`
	StreamBytesOut  uint64 `json:"stream_bytes_out"`
}

// Stats returns the node's counters.
func (m *Mesh) Stats() Stats {
	return Stats{
		Members:         m.numMembers(),
		RecordsIn:       m.st.recordsIn.Load(),
		ChangesIn:       m.st.changesIn.Load(),
		Dropped:         m.st.dropped.Load(),
		Rejected:        m.st.rejected.Load(),
		EagerSent:       m.st.eagerSent.Load(),
		EagerFailed:     m.st.eagerFailed.Load(),
		Pruned:          m.st.pruned.Load(),
		Queued:          m.st.queued.Load(),
		FetchesSent:     m.st.fetchesSent.Load(),
		DigestsSent:     m.st.digestsSent.Load(),
		FetchesServed:   m.st.fetchesIn.Load(),
		RecordsServed:   m.st.recordsServed.Load(),
		Untrusted:       m.st.untrusted.Load(),
		Unauthentic:     m.st.unauthentic.Load(),
		Duplicates:      m.st.duplicates.Load(),
		PacketsOut:      m.tr.packetsOut.Load(),
		PacketBytesOut:  m.tr.packetBytesOut.Load(),
		PacketsFiltered: m.tr.packetsDropped.Load(),
		StreamsOut:      m.tr.streamsOut.Load(),
		StreamBytesOut:  m.tr.streamBytesOut.Load(),
	}
}

// broadcast is one queued message; each is unique, so the queue need not
// compare it with the others.
type broadcast []byte

func (b broadcast) Invalidates(memberlist.Broadcast) bool { return false }
func (b broadcast) Message() []byte                       { return b }
func (b broadcast) Finished()                             {}
func (b broadcast) UniqueBroadcast()                      {}

// maxBroadcast bounds what goes through gossip; larger messages go over a
// stream to each member. A UDP packet holds 1400 bytes, less headers and
// encryption, and a message that does not fit is skipped, not split.
const maxBroadcast = 1000

// onRecord is the ledger's hook: a record was stored. A record this device
// made is pushed to every peer at once and queued for gossip; one received
// from a peer is relayed (queued) only while fresh: old records — a
// restored backup, a catch-up — travel by anti-entropy, not by flooding.
func (m *Mesh) onRecord(raw []byte, local bool) {
	if m.closed.Load() {
		return
	}
	m.noteRecent(raw)
	if !local && m.catchingUp.Load() {
		return
	}
	if !local {
		r, err := record.Unmarshal(raw)
		if err != nil || m.cfg.Clock.Now().Sub(r.HLC.Time()) > m.cfg.RelayWindow {
			return
		}
	}
	msg := m.seal(kindRecords, appendRecords(nil, [][]byte{raw}))
	m.queue.QueueBroadcast(broadcast(msg))
	m.st.queued.Add(1)
	if n := m.queue.NumQueued(); n > m.cfg.MaxQueued {
		m.st.pruned.Add(uint64(n - m.cfg.MaxQueued))
		m.queue.Prune(m.cfg.MaxQueued)
	}
}

// onChange is the ledger's hook: a manifest change was applied.
func (m *Mesh) onChange(raw []byte) {
	if m.closed.Load() {
		return
	}
	c, err := manifest.Parse(raw)
	if err != nil {
		return
	}
	_, relayed := m.fromPeers.LoadAndDelete(string(c.Sig))
	if c.PrivateSum != nil {
		// Streamed only by the node that got it from outside the mesh
		// (an import, central): the others learn it by anti-entropy, so
		// a batch crosses the venue about once per device, not once per
		// pair of devices.
		if !relayed {
			m.goTracked(func() { m.sendChangeByRole(raw) })
		}
		return
	}
	msg := m.seal(kindChange, raw)
	if len(msg) <= maxBroadcast {
		m.queue.QueueBroadcast(broadcast(msg))
		m.st.queued.Add(1)
		return
	}
	if !relayed {
		m.goTracked(func() { m.sendReliableToAll(msg) })
	}
}

// sendChangeByRole sends a change with a private part to each member as its
// role should have it: whole to gates that proved their key, without the
// private part to sellers. A gate not reached now (unverified yet, or this
// copy is a seller's) gets it by anti-entropy from a peer that can serve it.
func (m *Mesh) sendChangeByRole(raw []byte) {
	c, err := manifest.Parse(raw)
	if err != nil {
		return
	}
	var whole []byte
	if c.Complete() {
		whole = m.seal(kindChange, raw)
	}
	red := c.Redacted()
	public := m.seal(kindChange, red.Marshal())
	m.mu.Lock()
	to := make([]peer, 0, len(m.peers))
	for _, p := range m.peers {
		if !m.revoked(p.key) {
			to = append(to, p)
		}
	}
	m.mu.Unlock()
	for _, p := range to {
		msg := public
		if manifest.NeedsPrivate(p.role) {
			if whole == nil || p.proven == nil {
				continue
			}
			msg = whole
		}
		if err := m.ml.SendReliable(p.target(), msg); err != nil {
			m.log.Debug("send to peer failed", "peer", p.node.Name, "err", err)
		}
	}
}

func (m *Mesh) sendReliableToAll(msg []byte) {
	for _, n := range m.members() {
		if err := m.ml.SendReliable(n, msg); err != nil {
			m.log.Debug("send to peer failed", "peer", n.Name, "err", err)
		}
	}
}

// pushEager is the ledger's commit hook: the records of a group commit,
// packed several to a packet, go straight to every peer before the
// decisions are answered. A send is a UDP write (microseconds); a lost
// packet is made up by gossip and anti-entropy.
func (m *Mesh) pushEager(raws [][]byte) {
	if m.closed.Load() {
		return
	}
	msgs := m.pack(raws)
	for _, n := range m.provenMembers() {
		for _, msg := range msgs {
			if err := m.ml.SendBestEffort(n, msg); err == nil {
				m.st.eagerSent.Add(1)
			} else {
				m.st.eagerFailed.Add(1)
			}
		}
	}
}

// pack frames records into as few kindRecords messages as fit a packet.
func (m *Mesh) pack(raws [][]byte) [][]byte {
	var msgs [][]byte
	var payload []byte
	head := sealedOverhead(m.cfg.Name) // measured, not signed: pack runs before the answer
	for _, r := range raws {
		framed := appendRecords(nil, [][]byte{r})
		if len(payload) > 0 && head+len(payload)+len(framed) > maxBroadcast {
			msgs = append(msgs, m.seal(kindRecords, payload))
			payload = nil
		}
		payload = append(payload, framed...)
	}
	if len(payload) > 0 {
		msgs = append(msgs, m.seal(kindRecords, payload))
	}
	return msgs
}

// every runs fn every d until the node shuts down (nothing for d ≤ 0);
// the caller has added it to the wait group.
func (m *Mesh) every(d time.Duration, fn func()) {
	defer m.wg.Done()
	if d <= 0 {
		return
	}
	// A real ticker, not the Clock: the work it paces (rejoins, digests)
	// runs on memberlist's timers, which follow the machine's clock.
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-m.quit:
			return
		case <-t.C:
			fn()
		}
	}
}

// rejoin retries the join addresses while the node is alone.
func (m *Mesh) rejoin() {
	m.mu.Lock()
	addrs := m.joinAddrs
	m.mu.Unlock()
	if len(addrs) > 0 && m.numMembers() <= 1 {
		if n, err := m.ml.Join(addrs); err == nil && n > 0 {
			m.log.Info("rejoined the venue mesh", "peers", n)
		}
	}
}

// ingestLoop hands what peers send to the ledger, batching records so
// signatures are checked on every core and commits are shared.
func (m *Mesh) ingestLoop() {
	defer m.wg.Done()
	for {
		var first message
		select {
		case <-m.quit:
			return
		case first = <-m.inbox:
		}
		batch := map[batchKey][][]byte{}
		var changes []message
		add := func(msg message) {
			switch msg.kind {
			case kindRecords, kindFetched:
				recs, err := splitRecords(msg.payload)
				if err != nil {
					m.reject(msg.sender, 1, err)
				}
				k := batchKey{msg.sender, msg.kind == kindFetched}
				batch[k] = append(batch[k], recs...)
			case kindChange:
				changes = append(changes, msg)
			}
		}
		add(first)
		// Take what else is waiting, up to a batch that verifies in a
		// fraction of a second.
	drain:
		for n := 0; n < maxIngestBatch; {
			select {
			case msg := <-m.inbox:
				add(msg)
				n += len(msg.payload) / 130
			default:
				break drain
			}
		}
		for _, msg := range changes {
			m.applyChange(msg)
		}
		for k, recs := range batch {
			m.ingest(k.sender, recs, k.fetched)
		}
	}
}

// batchKey groups the records of one ingest: by sender, and whether they
// answer a fetch.
type batchKey struct {
	sender  string
	fetched bool
}

// ingest stores records from a peer. Records that answer a fetch are a
// catch-up: onRecord does not relay them, each node catches up for itself
// (relaying them would flood the venue after every partition heals).
func (m *Mesh) ingest(sender string, recs [][]byte, fetched bool) {
	if len(recs) == 0 {
		return
	}
	m.st.recordsIn.Add(uint64(len(recs)))
	origins := map[ticket.KeyID]bool{}
	for _, raw := range recs {
		if o, ok := record.OriginOf(raw); ok {
			origins[o] = true
		}
	}
	m.catchingUp.Store(fetched)
	st, errs := m.store.Ingest(recs)
	m.catchingUp.Store(false)
	if len(errs) > 0 {
		m.reject(sender, len(errs), errs[0])
	}
	pending := m.fetchPending(origins)
	if st.Held == 0 && len(pending) == 0 {
		return
	}
	vv, err := m.store.VersionVector()
	if err != nil {
		return
	}
	for _, o := range pending {
		m.progressed(o.String(), vv[o])
	}
	if st.Held == 0 {
		return
	}
	// A gap: something was lost on the way. Ask the sender for it now
	// rather than at the next push/pull.
	for o := range origins {
		m.requestFetch(sender, o, vv[o]+1, vv[o]+1)
	}
}

func (m *Mesh) applyChange(msg message) {
	m.st.changesIn.Add(1)
	var sig string
	if c, err := manifest.Parse(msg.payload); err == nil {
		sig = string(c.Sig)
		m.fromPeers.Store(sig, true)
	}
	status, err := m.store.ApplyChange(msg.payload)
	if sig != "" && (err != nil || status != ledger.Held) {
		// A held change stays known as a peer's until it is applied,
		// with the change that unblocks it.
		m.fromPeers.Delete(sig)
	}
	if err != nil {
		if errors.Is(err, ledger.ErrIncomplete) {
			// A seller's copy: the whole change comes from a gate or central.
			m.log.Debug("manifest change without its private part", "peer", msg.sender, "err", err)
			return
		}
		if errors.Is(err, manifest.ErrSealed) {
			// The signed sum vouches for the sealed bytes: what cannot be
			// opened is this gate's trouble (no gates key, or another
			// one), not the sender's. Said once.
			m.warnOnce("sealed:", "manifest change cannot be opened here: this gate lacks the venue's gates key", "err", err)
			return
		}
		if !errors.Is(err, ledger.ErrManifestFork) {
			m.reject(msg.sender, 1, err)
			return
		}
		m.log.Error("manifest fork: a peer holds a different manifest", "peer", msg.sender, "err", err)
		return
	}
	if status == ledger.Held {
		m.requestManifest(msg.sender, m.store.ManifestSeq()+1, m.store.ManifestSeq()+1)
	}
}

// warnOnce logs msg the first time key is seen.
func (m *Mesh) warnOnce(key, msg string, args ...any) {
	m.mu.Lock()
	first := !m.warned[key]
	m.warned[key] = true
	m.mu.Unlock()
	if first {
		m.log.Warn(msg, args...)
	}
}

// reject counts what a sender sent that the ledger refused, and says so
// once per sender.
func (m *Mesh) reject(sender string, n int, err error) {
	m.st.rejected.Add(uint64(n))
	m.mu.Lock()
	m.rejected[sender] += uint64(n)
	first := !m.warned[sender]
	m.warned[sender] = true
	m.mu.Unlock()
	if first {
		m.log.Warn("refused what a peer sent (said once per peer; see the rejected count)", "peer", sender, "err", err)
	}
}

// Rejected returns, per sender, how many records and changes were refused.
func (m *Mesh) Rejected() map[string]uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]uint64, len(m.rejected))
	for k, v := range m.rejected {
		out[k] = v
	}
	return out
}

// memberRole is member, and the role of its certificate.
func (m *Mesh) memberRole(name string) (*memberlist.Node, ticket.Role) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.peers[name]
	if !ok || m.revoked(p.key) {
		return nil, ""
	}
	return p.target(), p.role
}

func (m *Mesh) member(name string) *memberlist.Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.peers[name]
	if !ok || m.revoked(p.key) {
		return nil
	}
	return p.target()
}

// maxIngestBatch is about how many records one ingest call takes.
const maxIngestBatch = 8192

// fetchEvery bounds how often one origin's records are asked for while a
// reply is still arriving.
const fetchEvery = time.Second

// requestFetch asks peer for an origin's records from sequence from on;
// until is how far the peer is known to hold them.
func (m *Mesh) requestFetch(peer string, origin ticket.KeyID, from, until uint64) {
	m.request(peer, origin.String(), from, until, m.seal(kindFetch, fetchPayload(origin, from, peer)))
}

// requestManifest asks peer for manifest changes from number from on.
func (m *Mesh) requestManifest(peer string, from, until uint64) {
	m.request(peer, "manifest", from, until, m.seal(kindFetchManifest, manifestFetchPayload(from, peer)))
}

// fetchPending returns the origins among these with a fetch under way.
func (m *Mesh) fetchPending(origins map[ticket.KeyID]bool) []ticket.KeyID {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ticket.KeyID
	for o := range origins {
		if _, ok := m.fetching[o.String()]; ok {
			out = append(out, o)
		}
	}
	return out
}

// progressed notes how far an origin's log reached here. While the answer
// to its fetch keeps moving the log on, the fetch is under way and asking
// again would bring the same records twice; records that arrive without
// moving it (new ones held behind the gap, while the answer was lost) do
// not hold the next fetch back.
func (m *Mesh) progressed(what string, head uint64) {
	m.mu.Lock()
	if f, ok := m.fetching[what]; ok && head > f.head {
		f.at, f.head = m.cfg.Clock.Now(), head
		m.fetching[what] = f
		if head >= f.until {
			delete(m.fetching, what) // all it could bring has come
		}
	}
	m.mu.Unlock()
}

// fetchState is the last fetch of an origin (or of the manifest).
type fetchState struct {
	at    time.Time // sent, or when its answer last moved the log on
	until uint64    // how far the asked peer held the origin: what the answer may bring
	head  uint64    // how far the log here reached at that time
}

// request sends a fetch, at most one per origin (or manifest) every
// fetchEvery while its answer is still arriving, unless it asks for more
// than the last answer could bring: a gap beyond it (a lost latest record,
// revealed by a digest) is fetched at once, while a catch-up in progress
// is not asked for twice.
func (m *Mesh) request(peer, what string, from, until uint64, msg []byte) {
	m.mu.Lock()
	now := m.cfg.Clock.Now()
	if f := m.fetching[what]; now.Sub(f.at) < fetchEvery && from <= f.until {
		m.mu.Unlock()
		return
	}
	m.fetching[what] = fetchState{at: now, until: max(from, until), head: from - 1}
	m.mu.Unlock()
	n := m.member(peer)
	if n == nil {
		return
	}
	m.st.fetchesSent.Add(1)
	m.goTracked(func() {
		if err := m.ml.SendReliable(n, msg); err != nil {
			m.log.Debug("fetch request failed", "peer", peer, "err", err)
		}
	})
}

// maxServing bounds the fetches a node answers at once; a request beyond it
// is dropped, and the asker asks again at its next push/pull.
const maxServing = 4

// serve runs fn in the background if a serving slot is free.
func (m *Mesh) serve(fn func()) {
	select {
	case m.serving <- struct{}{}:
		if !m.goTracked(func() {
			defer func() { <-m.serving }()
			fn()
		}) {
			<-m.serving
		}
	default:
		m.st.dropped.Add(1)
	}
}

// maxRequestsSeen bounds the replay cache; requests are a few per peer per
// push/pull, so it holds minutes of them.
const maxRequestsSeen = 8192

// replayed reports whether the signed request b was seen within the replay
// window, and remembers it. Records and changes need no such cache: the
// ledger stores each once however often it comes; a request costs an
// answer each time.
func (m *Mesh) replayed(b []byte) bool {
	var id [16]byte
	copy(id[:], b[len(b)-ed25519.SignatureSize:])
	msg, err := decodeMessage(b[:len(b)-trailerLen])
	if err != nil {
		return true
	}
	now := m.cfg.Clock.Now()
	// openMessage accepts b until ReplayWindow after the time it carries
	// (which may lie ahead of this clock), so it is kept until then.
	sent := time.Unix(0, int64(binary.BigEndian.Uint64(b[len(b)-trailerLen:])))
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.requestsSeen[id]; ok {
		return true
	}
	// Each sender has its share of the cache: a member that floods it
	// starves only itself.
	if m.requestsBy[msg.sender] >= maxRequestsPerSender || len(m.requestsSeen) >= maxRequestsSeen {
		for k, r := range m.requestsSeen {
			if now.After(r.expires) {
				delete(m.requestsSeen, k)
				if m.requestsBy[r.sender]--; m.requestsBy[r.sender] <= 0 {
					delete(m.requestsBy, r.sender)
				}
			}
		}
		if m.requestsBy[msg.sender] >= maxRequestsPerSender || len(m.requestsSeen) >= maxRequestsSeen {
			return true // refuse, not forget
		}
	}
	m.requestsSeen[id] = seenRequest{sender: msg.sender, expires: sent.Add(m.cfg.ReplayWindow)}
	m.requestsBy[msg.sender]++
	return false
}

// seenRequest is an entry of the replay cache.
type seenRequest struct {
	sender  string
	expires time.Time
}

// maxRequestsPerSender is one sender's share of the replay cache: far more
// than an honest member asks in a replay window.
const maxRequestsPerSender = maxRequestsSeen / 16

// maxServe bounds the records one fetch is answered with; the asker asks
// again for the rest.
const maxServe = 200_000

// serveFetch answers a fetch with the records asked for, in chunks, over
// streams.
func (m *Mesh) serveFetch(msg message) {
	origin, from, to, err := parseFetch(msg.payload)
	if err != nil {
		m.reject(msg.sender, 1, err)
		return
	}
	if to != m.cfg.Name {
		m.st.unauthentic.Add(1) // another node's request, replayed here
		return
	}
	n := m.member(msg.sender)
	if n == nil {
		return
	}
	m.st.fetchesIn.Add(1)
	for sent := 0; sent < maxServe; {
		recs, err := m.store.Records(origin, from, m.cfg.FetchBatch)
		if err != nil || len(recs) == 0 {
			return
		}
		if err := m.ml.SendReliable(n, m.seal(kindFetched, appendRecords(nil, recs))); err != nil {
			m.log.Debug("answer to fetch failed", "peer", msg.sender, "err", err)
			return
		}
		m.st.recordsServed.Add(uint64(len(recs)))
		sent += len(recs)
		from += uint64(len(recs))
	}
}

func (m *Mesh) serveManifest(msg message) {
	from, to, err := parseManifestFetch(msg.payload)
	if err != nil {
		m.reject(msg.sender, 1, err)
		return
	}
	if to != m.cfg.Name {
		m.st.unauthentic.Add(1) // another node's request, replayed here
		return
	}
	n, role := m.memberRole(msg.sender)
	if n == nil {
		return
	}
	m.st.fetchesIn.Add(1)
	for {
		changes, err := m.store.ManifestChanges(from, 64)
		if err != nil || len(changes) == 0 {
			return
		}
		for _, c := range changes {
			out, ok, err := manifest.ForRole(c, role)
			if err != nil || !ok {
				// This copy lacks what the asker needs (a seller's), or is
				// damaged: the asker gets it from another peer.
				return
			}
			if err := m.ml.SendReliable(n, m.seal(kindChange, out)); err != nil {
				return
			}
		}
		from += uint64(len(changes))
	}
}

// localState is this node's push/pull state.
func (m *Mesh) localState() []byte {
	vv, err := m.store.VersionVector()
	if err != nil {
		m.log.Error("read version vector", "err", err)
		return nil
	}
	s := state{Name: m.cfg.Name, Addr: m.addr, Vector: make(map[string]uint64, len(vv)), Manifest: m.store.ManifestSeq()}
	for o, seq := range vv {
		s.Vector[o.String()] = seq
	}
	// The certificates of every origin in the vector (and this device's),
	// so the peer can verify what it fetches.
	want := map[ticket.KeyID]bool{m.self: true}
	for o := range vv {
		want[o] = true
	}
	for _, c := range m.store.DeviceCerts() {
		if want[c.ID()] {
			s.Certs = append(s.Certs, c)
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil
	}
	// Signed like every message: the state names this node, carries
	// certificates and makes the peer fetch, and proves this node's key.
	return m.seal(kindState, b)
}

// mergeState compares a peer's state with ours and fetches what we lack.
func (m *Mesh) mergeState(buf []byte) {
	msg, err := openMessage(buf, m.peerKey, m.cfg.Clock.Now(), m.cfg.ReplayWindow)
	if err != nil || msg.kind != kindState {
		m.st.unauthentic.Add(1)
		m.log.Debug("dropped an unauthenticated push/pull state", "err", err)
		return
	}
	s, err := parseState(msg.payload)
	if err != nil || s.Name != msg.sender {
		m.reject(msg.sender, 1, fmt.Errorf("bad push/pull state: %v", err))
		return
	}
	m.seen(s.Name)
	m.prove(s.Name, s.Addr, time.Unix(0, int64(binary.BigEndian.Uint64(buf[len(buf)-trailerLen:]))))
	for _, c := range s.Certs {
		if err := m.store.AddDeviceCert(c); err != nil {
			m.reject(s.Name, 1, err)
		}
	}
	theirs, err := s.vector()
	if err != nil {
		m.reject(s.Name, 1, err)
		return
	}
	ours, err := m.store.VersionVector()
	if err != nil {
		return
	}
	for o, seq := range theirs {
		if seq > ours[o] {
			m.requestFetch(s.Name, o, ours[o]+1, seq)
		}
	}
	if s.Manifest > m.store.ManifestSeq() {
		m.requestManifest(s.Name, m.store.ManifestSeq()+1, s.Manifest)
	}
}

// seen notes a verified message from a member.
func (m *Mesh) seen(name string) {
	m.mu.Lock()
	m.lastSeen[name] = m.cfg.Clock.Now()
	m.mu.Unlock()
}

// prove binds a member's name to the address its signed state names. A
// state signed before the one that proved the address (recorded when the
// device listened elsewhere, and replayed) changes nothing.
func (m *Mesh) prove(name, addr string, signed time.Time) {
	a, err := net.ResolveUDPAddr("udp", addr)
	if err != nil || a.IP == nil || a.Port == 0 {
		return
	}
	m.mu.Lock()
	if p, ok := m.peers[name]; ok && signed.After(p.provenAt) {
		p.proven, p.provenAt = a, signed
		m.peers[name] = p
	}
	m.mu.Unlock()
}

// delegate is the Mesh as memberlist's Delegate.
type delegate Mesh

func (d *delegate) NodeMeta(limit int) []byte {
	meta := d.cfg.Meta
	b, _ := json.Marshal(meta)
	if len(b) > limit { // long names: the certificate still travels in push/pull
		meta.Cert = nil
		b, _ = json.Marshal(meta)
	}
	if len(b) > limit {
		return nil
	}
	return b
}

// NotifyMsg runs on memberlist's receive loop: it must not block, and must
// copy what it keeps.
func (d *delegate) NotifyMsg(b []byte) {
	m := (*Mesh)(d)
	if heldAlready(b, m.store.Holds) {
		// Gossip brings each record several times: the copies after the
		// first carry nothing to store, and checking their messages'
		// signatures was most of a busy venue's CPU. Records sign
		// themselves; a message is verified whenever it could change
		// anything here.
		m.st.duplicates.Add(1)
		return
	}
	msg, err := openMessage(b, m.peerKey, m.cfg.Clock.Now(), m.cfg.ReplayWindow)
	if err != nil {
		// Charged to nobody: the name in an unauthenticated message is a claim.
		m.st.unauthentic.Add(1)
		m.log.Debug("dropped an unauthenticated message", "err", err)
		return
	}
	msg.payload = append([]byte(nil), msg.payload...)
	m.seen(msg.sender)
	switch msg.kind {
	case kindRecords, kindFetched, kindChange:
		select {
		case m.inbox <- msg:
		default:
			m.st.dropped.Add(1)
		}
	case kindDigest:
		m.goTracked(func() { m.mergeDigest(msg) })
	case kindFetch, kindFetchManifest:
		if to, ok := requestAddressee(msg); ok && to != m.cfg.Name {
			// Another node's request, replayed here: it takes no place in
			// the sender's share of the replay cache.
			m.st.unauthentic.Add(1)
			return
		}
		if m.replayed(b) {
			m.st.unauthentic.Add(1)
			m.log.Debug("dropped a replayed request", "peer", msg.sender)
			return
		}
		if msg.kind == kindFetch {
			m.serve(func() { m.serveFetch(msg) })
		} else {
			m.serve(func() { m.serveManifest(msg) })
		}
	case kindState:
		// Push/pull states travel only in push/pull: this one was recorded
		// and replayed by another node. Charged to nobody.
		m.st.unauthentic.Add(1)
	default:
		m.reject(msg.sender, 1, fmt.Errorf("unknown message kind %q", msg.kind))
	}
}

// requestAddressee is the node a fetch request names; ok is false for a
// payload that does not parse (serveFetch and serveManifest refuse it).
func requestAddressee(msg message) (to string, ok bool) {
	var err error
	if msg.kind == kindFetch {
		_, _, to, err = parseFetch(msg.payload)
	} else {
		_, to, err = parseManifestFetch(msg.payload)
	}
	return to, err == nil
}

// seal frames and signs a message from this node.
func (m *Mesh) seal(kind byte, payload []byte) []byte {
	return sealMessage(m.key, m.cfg.Clock.Now(), kind, m.cfg.Name, payload)
}

// peerKey is the key of the certificate admitted for a member's name, or
// nil for a name that is not a member.
func (m *Mesh) peerKey(name string) ed25519.PublicKey {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k := m.peers[name].key; !m.revoked(k) {
		return k
	}
	return nil
}

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.queue.GetBroadcasts(overhead, limit)
}

func (d *delegate) LocalState(join bool) []byte { return (*Mesh)(d).localState() }

func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	buf = append([]byte(nil), buf...)
	m := (*Mesh)(d)
	m.goTracked(func() { m.mergeState(buf) })
}

// events is the Mesh as memberlist's EventDelegate. Memberlist calls it
// holding its node lock: the node may be read here, and only here.
type events Mesh

func (e *events) NotifyJoin(n *memberlist.Node) {
	m := (*Mesh)(e)
	if m.remember(n) {
		m.log.Info("peer joined", "peer", n.Name, "addr", n.Address())
		// Exchange states with the newcomer now, rather than when push/pull
		// next picks it (minutes in a large venue): its signed state proves
		// its address, and only then does it get eager pushes.
		addr, name := n.Address(), n.Name
		m.goTracked(func() {
			if _, err := m.ml.Join([]string{addr}); err != nil {
				m.log.Debug("state exchange with a new peer failed", "peer", name, "err", err)
			}
		})
	}
}

// remember copies a peer's node (in a memberlist callback) and learns its
// certificate; it reports whether n is a peer rather than this node.
func (m *Mesh) remember(n *memberlist.Node) bool {
	if n.Name == m.cfg.Name {
		return false
	}
	nd := copyNode(n)
	p := peer{node: nd}
	var meta NodeMeta
	var c ticket.DeviceCert
	if json.Unmarshal(nd.Meta, &meta) == nil && c.UnmarshalBinary(meta.Cert) == nil {
		p.key, p.role = c.Key, c.Role
	}
	m.mu.Lock()
	old, ok := m.peers[n.Name]
	if ok && old.key.Equal(p.key) {
		p.proven, p.provenAt = old.proven, old.provenAt
	}
	m.peers[n.Name] = p
	delete(m.lost, n.Name)
	m.lastSeen[n.Name] = m.cfg.Clock.Now()
	m.mu.Unlock()
	m.goTracked(func() { m.learnCert(nd) })
	return true
}

// learnCert takes a peer's certificate from its metadata, so its records
// verify from the first one. The ledger checks it against the root.
func (m *Mesh) learnCert(n memberlist.Node) {
	var meta NodeMeta
	if json.Unmarshal(n.Meta, &meta) != nil || len(meta.Cert) == 0 {
		return
	}
	var c ticket.DeviceCert
	if err := c.UnmarshalBinary(meta.Cert); err != nil {
		m.reject(n.Name, 1, fmt.Errorf("certificate in metadata: %w", err))
		return
	}
	if err := m.store.AddDeviceCert(c); err != nil {
		m.reject(n.Name, 1, err)
	}
}

func (e *events) NotifyLeave(n *memberlist.Node) {
	m := (*Mesh)(e)
	m.lose(n.Name)
	m.mu.Lock()
	delete(m.peers, n.Name)
	m.mu.Unlock()
	m.log.Info("peer left", "peer", n.Name)
}

func (e *events) NotifyUpdate(n *memberlist.Node) { (*Mesh)(e).remember(n) }

var (
	_ memberlist.Delegate      = (*delegate)(nil)
	_ memberlist.EventDelegate = (*events)(nil)
)
