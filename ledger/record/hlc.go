package record

import (
	"fmt"
	"sync"
	"time"

	"github.com/tixgate/tixgate/ticket"
)

// HLC is a hybrid logical clock timestamp: milliseconds since the Unix epoch
// in the high 48 bits, a counter in the low 16. It orders the records of a
// venue consistently with causality (a record stamped after a device saw
// another is later than it) while staying close to wall-clock time, so a
// device whose clock jumps back still stamps its records in order.
type HLC uint64

const logicalBits = 16

// NewHLC makes a timestamp from a time and a counter.
func NewHLC(t time.Time, logical uint16) HLC {
	return HLC(uint64(t.UnixMilli())<<logicalBits | uint64(logical))
}

// Time is the wall-clock part.
func (h HLC) Time() time.Time { return time.UnixMilli(int64(h >> logicalBits)).UTC() }

// Logical is the counter part.
func (h HLC) Logical() uint16 { return uint16(h) }

func (h HLC) String() string {
	return fmt.Sprintf("%s+%d", h.Time().Format("2006-01-02T15:04:05.000Z07:00"), h.Logical())
}

// Clock hands out HLC timestamps. It is safe for concurrent use.
type Clock struct {
	mu   sync.Mutex
	wall ticket.Clock
	last HLC
}

// NewClock returns a clock that reads wall and never goes below last.
func NewClock(wall ticket.Clock, last HLC) *Clock { return &Clock{wall: wall, last: last} }

// Now returns a timestamp later than every one handed out or observed.
func (c *Clock) Now() HLC {
	c.mu.Lock()
	defer c.mu.Unlock()
	pt := NewHLC(c.wall.Now(), 0)
	if pt > c.last {
		c.last = pt
	} else {
		c.last++
	}
	return c.last
}

// Observe moves the clock past a timestamp seen from another device, so
// what this device records next is ordered after it. A timestamp more than
// maxSkew ahead of the wall clock is not followed: a peer with a clock set
// to next year must not drag the venue along.
func (c *Clock) Observe(h HLC, maxSkew time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h.Time().After(c.wall.Now().Add(maxSkew)) {
		return
	}
	if h > c.last {
		c.last = h
	}
}

// Last is the latest timestamp handed out or observed.
func (c *Clock) Last() HLC {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}
