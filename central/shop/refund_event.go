package shop

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// EventRefund is the progress of refunding every buyer of an event that
// was cancelled or moved (RefundEvent).
type EventRefund struct {
	Event         uint64
	Actor, Reason string
	// Orders is how many paid orders there were; Done how many are
	// refunded (Pending of them with the money still on its way), Failed
	// how many could not be (Errors says why, the latest first).
	Orders, Done, Pending, Failed int
	Started, Finished             time.Time
	Running                       bool
	Errors                        []string
}

// eventRefunds keeps the progress of the refunds of whole events in this
// process.
type eventRefunds struct {
	mu sync.Mutex
	m  map[uint64]*EventRefund
}

// RefundEvent refunds every paid order of an event in full, fee-free and
// whatever the tickets' state (the event was cancelled or moved), in the
// background: each order is one Refund under a key made of the event and
// the order, so running it again after a failure or a restart refunds
// only what is left, never twice. Every buyer is mailed the refund. The
// progress is EventRefundProgress's.
func (s *Shop) RefundEvent(ctx context.Context, event uint64, actor, reason string) (EventRefund, error) {
	if actor == "" || reason == "" {
		return EventRefund{}, fmt.Errorf("refunding an event needs the staff member and a reason: %w", ErrBadRequest)
	}
	if _, err := s.db.Event(ctx, event); err != nil {
		return EventRefund{}, fmt.Errorf("event %d: %w", event, ErrNotFound)
	}
	ids, err := s.db.PaidOrders(ctx, event)
	if err != nil {
		return EventRefund{}, err
	}
	s.evRefunds.mu.Lock()
	if s.evRefunds.m == nil {
		s.evRefunds.m = map[uint64]*EventRefund{}
	}
	if p := s.evRefunds.m[event]; p != nil && p.Running {
		cp := *p
		s.evRefunds.mu.Unlock()
		return cp, fmt.Errorf("event %d is being refunded already: %w", event, ErrState)
	}
	p := &EventRefund{Event: event, Actor: actor, Reason: reason, Orders: len(ids), Started: s.now(), Running: true}
	s.evRefunds.m[event] = p
	cp := *p
	s.evRefunds.mu.Unlock()
	s.log.Info("refunding every order of an event", "event", event, "orders", len(ids), "actor", actor, "reason", reason)
	ctx = context.WithoutCancel(ctx)
	go func() {
		for _, id := range ids {
			res, err := s.Refund(ctx, RefundAsk{Order: id, Actor: actor, Reason: reason, Full: true, Key: fmt.Sprintf("ev%d-o%d", event, id)})
			if errors.Is(err, ErrState) {
				err = nil // refunded or cancelled meanwhile
			}
			s.evRefunds.mu.Lock()
			switch {
			case err != nil:
				p.Failed++
				p.Errors = append([]string{fmt.Sprintf("order %d: %v", id, err)}, p.Errors...)
				if len(p.Errors) > 20 {
					p.Errors = p.Errors[:20]
				}
			default:
				p.Done++
				if res.Pending {
					p.Pending++
				}
			}
			s.evRefunds.mu.Unlock()
			if err != nil {
				s.log.Warn("event refund: an order was not refunded", "event", event, "order", id, "err", err)
			}
		}
		s.evRefunds.mu.Lock()
		p.Running, p.Finished = false, s.now()
		s.evRefunds.mu.Unlock()
		s.log.Info("event refunded", "event", event, "orders", p.Orders, "done", p.Done, "failed", p.Failed)
	}()
	return cp, nil
}

// EventRefundProgress is the latest RefundEvent of an event in this
// process, and whether there was one.
func (s *Shop) EventRefundProgress(event uint64) (EventRefund, bool) {
	s.evRefunds.mu.Lock()
	defer s.evRefunds.mu.Unlock()
	p := s.evRefunds.m[event]
	if p == nil {
		return EventRefund{}, false
	}
	cp := *p
	cp.Errors = append([]string(nil), p.Errors...)
	return cp, true
}
