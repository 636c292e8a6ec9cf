package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/dgraph-io/badger/v4"

	"github.com/tixgate/tixgate/ledger/decision"
	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
)

// ErrNotAnnullable is returned by Annul for a record that is not one of
// this device's admitting entries, or that is already annulled.
var ErrNotAnnullable = errors.New("not an entry of this device that can be annulled")

// Annul takes back one of this device's entries, by its sequence number
// (decision.Decision.Record names it as origin/seq): the turnstile opened
// but nobody passed. The annul is a signed record of its own, spreads like
// any other, and the ticket may be used again. It returns the annul's ID.
func (l *Ledger) Annul(ctx context.Context, seq uint64, reason string) (string, error) {
	if seq == 0 {
		return "", ErrNotAnnullable
	}
	if len(reason) > record.MaxActorLen {
		return "", errors.New("annul: reason too long")
	}
	var own record.Record
	err := l.db.View(func(txn *badger.Txn) error {
		raw, err := getValue(txn, logKey(l.id.ID(), seq))
		if err != nil {
			return err
		}
		if raw == nil {
			return ErrNotAnnullable
		}
		own, err = record.Unmarshal(raw)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("annul %d: %w", seq, err)
	}
	if !own.Kind.Admits() {
		return "", fmt.Errorf("annul %d: %w", seq, ErrNotAnnullable)
	}
	req := &decideReq{annul: seq, at: l.cfg.Clock.Now(), scan: Scan{Gate: own.Gate}, override: nil,
		code: ticket.Code{Ticket: ticket.Ticket{Event: own.Event, Serial: own.Serial, Type: own.Type}}}
	req.rctx.Gate, req.rctx.Zone = own.Gate, own.Zone
	req.note = reason
	req.ctx = ctx
	req.resp = make(chan decideResp, 1)
	select {
	case l.decisions <- req:
	case <-l.quit:
		return "", ErrClosed
	case <-ctx.Done():
		return "", ctx.Err()
	}
	resp := <-req.resp
	if resp.err != nil {
		return "", fmt.Errorf("annul %d: %w", seq, resp.err)
	}
	return resp.d.Record, nil
}

// annulInTxn appends the annul of req.annul, once: recs are the ticket's
// records in this transaction.
func (l *Ledger) annulInTxn(txn *badger.Txn, h *head, req *decideReq, recs []record.Record) decideResp {
	self := l.id.ID()
	for i := range recs {
		if seq, ok := recs[i].Annuls(); ok && recs[i].Origin == self && seq == req.annul {
			return decideResp{err: ErrNotAnnullable}
		}
	}
	t := req.code.Ticket
	rec := record.Record{Kind: record.KindAnnul, Event: t.Event, Serial: t.Serial, Type: t.Type, Gate: req.rctx.Gate,
		Zone: req.rctx.Zone, Reason: req.note, Note: strconv.FormatUint(req.annul, 10)}
	raw, err := l.appendOwn(txn, &rec, h)
	if err != nil {
		return decideResp{err: err}
	}
	return decideResp{d: decision.Decision{Record: rec.ID()}, raw: raw}
}

// Venue returns the venue of the manifest, if one was imported.
func (l *Ledger) Venue() (manifest.Venue, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.venue == nil {
		return manifest.Venue{}, false
	}
	return *l.venue, true
}

// Events returns the events of the manifest.
func (l *Ledger) Events() []manifest.Event {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]manifest.Event, 0, len(l.events))
	for _, e := range l.events {
		out = append(out, *e)
	}
	return out
}
