package cluster

import (
	"errors"
	"fmt"
	"log"
	"net"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Filter decides the fate of what this node sends to addr (host:port):
// drop loses a packet or refuses a stream, delay sends it that much later.
// Tests use it to cut, slow or thin the links between chosen nodes.
type Filter func(addr string, stream bool) (drop bool, delay time.Duration)

// transport is memberlist's UDP/TCP transport with a Filter and byte
// counters on what goes out.
type transport struct {
	*memberlist.NetTransport
	filter Filter

	packetsOut, packetBytesOut atomic.Uint64
	packetsDropped             atomic.Uint64
	streamBytesOut             atomic.Uint64
	streamsOut                 atomic.Uint64
}

var _ memberlist.NodeAwareTransport = (*transport)(nil)

func newTransport(addr string, port int, filter Filter, logger *log.Logger) (*transport, error) {
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{addr}, BindPort: port, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("listen on %s:%d: %w", addr, port, err)
	}
	return &transport{NetTransport: nt, filter: filter}, nil
}

func (t *transport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress returns when the packet left, as memberlist's Transport
// contract asks: memberlist times its probes with the machine's clock, so
// this is time.Now and not the mesh's Clock, which a test may stop.
func (t *transport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if t.filter != nil {
		drop, delay := t.filter(a.Addr, false)
		if drop {
			t.packetsDropped.Add(1)
			return time.Now(), nil // lost on the way
		}
		if delay > 0 {
			buf := append([]byte(nil), b...)
			time.AfterFunc(delay, func() { t.send(buf, a) })
			return time.Now(), nil
		}
	}
	return t.send(b, a)
}

func (t *transport) send(b []byte, a memberlist.Address) (time.Time, error) {
	t.packetsOut.Add(1)
	t.packetBytesOut.Add(uint64(len(b)))
	return t.NetTransport.WriteToAddress(b, a)
}

func (t *transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

var errFiltered = errors.New("connection refused by the test filter")

func (t *transport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if t.filter != nil {
		drop, delay := t.filter(a.Addr, true)
		if drop {
			return nil, errFiltered
		}
		time.Sleep(delay) // a delay on the wire: real time, as memberlist's timeouts are
	}
	c, err := t.NetTransport.DialAddressTimeout(a, timeout)
	if err != nil {
		return nil, err
	}
	t.streamsOut.Add(1)
	return &countingConn{Conn: c, n: &t.streamBytesOut}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Uint64
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(uint64(n))
	return n, err
}
