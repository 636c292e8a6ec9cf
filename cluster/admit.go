package cluster

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hashicorp/memberlist"

	"github.com/tixgate/tixgate/ticket"
)

// A node is a member only if its metadata carries a device certificate the
// organizer's root signed, valid now, for the very name it uses: a node
// with the venue keyring but no certificate is never added to the member
// list, so nothing is gossiped, pushed or served to it, and a name is bound
// to one key: a second node calling itself gate-1 with another key is
// refused with a clear message while the first is alive.

// errUntrusted is wrapped by admit's refusals.
var errUntrusted = errors.New("untrusted node")

// admit decides whether n may be a member.
func (m *Mesh) admit(n *memberlist.Node) error {
	c, err := m.verifiedCert(n)
	if err != nil {
		return err
	}
	id := m.store.Identity()
	if c.Device != n.Name {
		return fmt.Errorf("%w %q: its certificate is for device %q", errUntrusted, n.Name, c.Device)
	}
	if c.Role != ticket.RoleGate && c.Role != ticket.RoleSeller {
		// Central's certificate travels in every change it signs: it is
		// public, and central never joins a venue mesh.
		return fmt.Errorf("%w %q: a %s certificate is not a venue device's", errUntrusted, n.Name, c.Role)
	}
	if m.store.Trust().RevokedAt(c.ID(), m.cfg.Clock.Now()) {
		return fmt.Errorf("%w %q: its device key %s is revoked", errUntrusted, n.Name, c.ID())
	}
	if !c.ValidAt(m.cfg.Clock.Now()) {
		return fmt.Errorf("%w %q: its certificate is not valid now", errUntrusted, n.Name)
	}
	if n.Name == m.cfg.Name && !c.Key.Equal(id.Cert.Key) {
		return fmt.Errorf("%w: another node with another key calls itself %q, this device's name: refused", errUntrusted, n.Name)
	}
	m.mu.Lock()
	p, ok := m.peers[n.Name]
	m.mu.Unlock()
	if ok && p.key != nil && !p.key.Equal(c.Key) {
		return fmt.Errorf("%w: the name %q is taken by a live member with another key: refused", errUntrusted, n.Name)
	}
	return nil
}

// maxVerified bounds the cache of verified metadata: a venue has tens to
// hundreds of devices, each with one metadata at a time; beyond the bound
// the cache starts afresh rather than grow with what hostile nodes send.
const maxVerified = 4096

// verifiedCert parses and verifies the certificate in n's metadata. Every
// alive message of every member passes here, many times over while a mesh
// forms, so a metadata verified once is remembered: the signature check
// costs about 80 µs, and a 50-node join repeats it thousands of times.
func (m *Mesh) verifiedCert(n *memberlist.Node) (ticket.DeviceCert, error) {
	key := string(n.Meta)
	m.mu.Lock()
	c, ok := m.verified[key]
	m.mu.Unlock()
	if ok {
		return c, nil
	}
	var meta NodeMeta
	if err := json.Unmarshal(n.Meta, &meta); err != nil || len(meta.Cert) == 0 {
		return c, fmt.Errorf("%w %q: it shows no device certificate", errUntrusted, n.Name)
	}
	if err := c.UnmarshalBinary(meta.Cert); err != nil {
		return c, fmt.Errorf("%w %q: its certificate: %w", errUntrusted, n.Name, err)
	}
	if err := c.Verify(m.store.Identity().Root); err != nil {
		return c, fmt.Errorf("%w %q: %w", errUntrusted, n.Name, err)
	}
	m.mu.Lock()
	if m.verified == nil || len(m.verified) >= maxVerified {
		m.verified = make(map[string]ticket.DeviceCert)
	}
	m.verified[key] = c
	m.mu.Unlock()
	return c, nil
}

// maxWarned bounds the refusals logged: a stranger with the keyring can
// announce itself under ever new names, each refusal counted but only the
// first maxWarned said.
const maxWarned = 256

// refuse counts and logs (once per name) a node admit refused.
func (m *Mesh) refuse(err error) error {
	m.st.untrusted.Add(1)
	m.mu.Lock()
	key := "untrusted:" + err.Error()
	first := !m.warned[key] && len(m.warned) < maxWarned
	if first {
		m.warned[key] = true
	}
	m.mu.Unlock()
	if first {
		m.log.Warn("refused a node in the venue mesh", "err", err)
	}
	return err
}

// aliveDelegate is the Mesh as memberlist's AliveDelegate and
// MergeDelegate.
type aliveDelegate Mesh

func (a *aliveDelegate) NotifyAlive(n *memberlist.Node) error {
	m := (*Mesh)(a)
	if err := m.admit(n); err != nil {
		return m.refuse(err)
	}
	return nil
}

func (a *aliveDelegate) NotifyMerge(nodes []*memberlist.Node) error {
	m := (*Mesh)(a)
	for _, n := range nodes {
		if err := m.admit(n); err != nil {
			return m.refuse(err)
		}
	}
	return nil
}

var (
	_ memberlist.AliveDelegate = (*aliveDelegate)(nil)
	_ memberlist.MergeDelegate = (*aliveDelegate)(nil)
)
