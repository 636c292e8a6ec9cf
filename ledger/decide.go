package ledger

import (
	"context"
	"errors"
	"fmt"
	"github.com/tixgate/tixgate/ledger/decision"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
)

// Scan is one scanned text at a gate.
type Scan struct {
	Text      string
	Gate      string
	Direction rules.Direction // "in" (or empty) or "out"
}

// Override is a supervisor letting a ticket through despite a refusal.
type Override struct {
	Scan
	Supervisor string // who: required
	Note       string // why: required
}

type decideReq struct {
	ctx      context.Context
	scan     Scan
	override *Override
	at       time.Time
	code     ticket.Code
	refusal  ticket.Reason // for overrides: why the rules refused
	info     *decision.Ticket
	annul    uint64 // the sequence of this device's entry to annul
	note     string // the annul's reason
	rule     rules.Rule
	rctx     rules.Context
	resp     chan decideResp
}

type decideResp struct {
	d   decision.Decision
	raw []byte
	err error
}

// Decide answers a scan: verify the code, check the manifest, read the
// ticket's records from every origin, apply its type's rule, and record the
// passage. Deciding and recording are one transaction: concurrent scans of
// one ticket yield exactly one ok. The decision is answered only after the
// record is committed (durably, with SyncWrites). An error means the ledger
// could not decide; the gate must not open.
func (l *Ledger) Decide(ctx context.Context, s Scan) (decision.Decision, error) {
	d, req := l.prepare(s)
	if req == nil {
		l.count(&d)
		return d, nil
	}
	return l.submit(ctx, req)
}

// OverrideScan lets a ticket through on a supervisor's word and records who
// did it and why, with the reason the rules would have given. The code must
// at least name a ticket.
func (l *Ledger) OverrideScan(ctx context.Context, o Override) (decision.Decision, error) {
	if o.Supervisor == "" || o.Note == "" {
		return decision.Decision{}, errors.New("override: name the supervisor and say why")
	}
	if len(o.Supervisor) > record.MaxActorLen || len(o.Note) > record.MaxNoteLen {
		return decision.Decision{}, errors.New("override: supervisor or note too long")
	}
	d, req := l.prepare(o.Scan)
	if req == nil {
		if d.Ticket == nil || d.Reason == ticket.ReasonUnknownGate {
			return d, nil // nothing to let through: no ticket, or no such gate here
		}
		code, err := ticket.Parse(o.Text)
		if err != nil {
			return d, nil
		}
		req = &decideReq{scan: o.Scan, at: d.At, code: code, info: d.Ticket, refusal: d.Reason}
	} else {
		req.refusal = ""
	}
	req.override = &o
	return l.submit(ctx, req)
}

func (l *Ledger) submit(ctx context.Context, req *decideReq) (decision.Decision, error) {
	req.ctx = ctx
	req.resp = make(chan decideResp, 1)
	select {
	case l.decisions <- req:
	case <-l.quit:
		return decision.Decision{}, ErrClosed
	case <-ctx.Done():
		return decision.Decision{}, ctx.Err()
	}
	// Once queued, wait for the answer even if ctx ends: the writer may be
	// committing the record, and an acknowledged scan must match the log.
	resp := <-req.resp
	if resp.err != nil {
		return decision.Decision{}, resp.err
	}
	l.count(&resp.d)
	return resp.d, nil
}

func (l *Ledger) count(d *decision.Decision) {
	l.stats.decisions.Add(1)
	if d.OK() {
		l.stats.admitted.Add(1)
	} else {
		l.stats.refused.Add(1)
	}
}

// prepare does every check that needs no transaction: the code, the gate,
// the manifest. It returns a refusal, or a request for the writer.
func (l *Ledger) prepare(s Scan) (decision.Decision, *decideReq) {
	if s.Direction == "" {
		s.Direction = rules.In
	}
	at := l.cfg.Clock.Now()
	d := decision.Decision{Result: decision.Refused, Gate: s.Gate, Direction: s.Direction, At: at}
	if s.Direction != rules.In && s.Direction != rules.Out {
		d.Reason, d.Detail = ticket.ReasonMalformed, fmt.Sprintf("direction %q: want in or out", s.Direction)
		return d, nil
	}
	v := l.trust.Verify(s.Text, at)
	if v.Reason != ticket.ReasonMalformed {
		t := v.Code.Ticket
		d.Ticket = &decision.Ticket{Event: t.Event, Serial: t.Serial, Type: t.Type, Zones: t.Zones, Seat: t.Seat,
			ValidFrom: t.ValidFrom, ValidUntil: t.ValidUntil}
		if v.Issuer != nil {
			d.Issuer = v.Issuer.Name
		}
	}
	l.mu.RLock()
	venue, loc := l.venue, l.loc
	var gate manifest.Gate
	var gateOK bool
	if venue != nil {
		gate, gateOK = venue.Gate(s.Gate)
	}
	var event *manifest.Event
	var typ *manifest.TicketType
	if d.Ticket != nil {
		event = l.events[d.Event]
		typ = l.types[[2]uint64{d.Event, d.Type}]
	}
	l.mu.RUnlock()

	if !gateOK {
		d.Reason, d.Detail = ticket.ReasonUnknownGate, fmt.Sprintf("gate %q is not in this device's manifest", s.Gate)
		return d, nil
	}
	if !v.OK() {
		d.Reason, d.Detail = v.Reason, v.Detail
		return d, nil
	}
	if event == nil {
		d.Reason, d.Detail = ticket.ReasonWrongEvent, fmt.Sprintf("event %d is not held at this venue", d.Event)
		return d, nil
	}
	known, revokedWhy, err := l.knownTicket(d.Event, d.Serial)
	if err != nil {
		d.Reason, d.Detail = ticket.ReasonMalformed, err.Error()
		return d, nil
	}
	if known != nil {
		d.Known = true
		d.Holder = known.Holder
		if d.Seat == "" {
			d.Seat = known.Seat
		}
		if known.Status == manifest.StatusRevoked && revokedWhy == "" {
			revokedWhy = "revoked by central"
		}
	}
	if revokedWhy != "" {
		d.Reason, d.Detail = ticket.ReasonRevoked, revokedWhy
		return d, nil
	}
	var rule rules.Rule
	mask := d.Zones
	if typ != nil {
		rule = typ.Rule
		d.TypeName = typ.Name
		if mask == 0 {
			mask = typ.ZoneMask()
		}
	}
	if mask != 0 && mask&(1<<gate.Zone) == 0 {
		d.Reason, d.Detail = ticket.ReasonWrongZone, fmt.Sprintf("gate %s opens zone %d; the ticket opens zones %s", gate.Name, gate.Zone, zoneList(mask))
		return d, nil
	}
	req := &decideReq{scan: s, at: at, code: v.Code, info: d.Ticket, rule: rule,
		rctx: rules.Context{At: at, Location: loc, Gate: gate.Name, Zone: gate.Zone, Direction: s.Direction,
			EventStart: event.Starts, EventEnd: event.Ends, Admission: event.Admission}}
	return d, req
}

func zoneList(mask uint64) string {
	s := ""
	for z := 0; z < 64; z++ {
		if mask&(1<<z) != 0 {
			if s != "" {
				s += ","
			}
			s += fmt.Sprint(z)
		}
	}
	return s
}

// knownTicket reads the manifest's entry for a ticket and any revocation.
func (l *Ledger) knownTicket(event, serial uint64) (*manifest.Ticket, string, error) {
	var t *manifest.Ticket
	var why string
	err := l.db.View(func(txn *badger.Txn) error {
		v, err := getValue(txn, ticketKey(event, serial))
		switch {
		case err == nil:
			mt, err := decodeTicket(serial, v)
			if err != nil {
				return fmt.Errorf("ticket %d/%d: %w", event, serial, err)
			}
			t = &mt
		case !errors.Is(err, badger.ErrKeyNotFound):
			return err
		}
		v, err = getValue(txn, revokedTicketKey(event, serial))
		switch {
		case err == nil:
			why = "revoked by central"
			if len(v) > 0 {
				why += ": " + string(v)
			}
		case !errors.Is(err, badger.ErrKeyNotFound):
			return err
		}
		return nil
	})
	return t, why, err
}

// writer is the one goroutine that appends this device's records. It takes
// the decisions waiting, decides them one after another in one transaction
// (each sees the ones before it) and commits them together: one fsync for
// the group.
func (l *Ledger) writer() {
	defer close(l.done)
	for {
		select {
		case <-l.quit:
			for {
				select {
				case req := <-l.decisions:
					req.resp <- decideResp{err: ErrClosed}
				default:
					return
				}
			}
		case req := <-l.decisions:
			batch := []*decideReq{req}
		fill:
			for len(batch) < l.cfg.MaxBatch {
				select {
				case r := <-l.decisions:
					batch = append(batch, r)
				default:
					break fill
				}
			}
			l.commitBatch(batch)
		}
	}
}

func (l *Ledger) commitBatch(batch []*decideReq) {
	resps := make([]decideResp, len(batch))
	self := l.id.ID()
	err := l.update(func(txn *badger.Txn) error {
		h, err := readHead(txn, self)
		if err != nil {
			return err
		}
		for i, req := range batch {
			resps[i] = l.decideInTxn(txn, &h, req)
			if resps[i].err != nil {
				return resps[i].err
			}
		}
		return nil
	})
	var appended [][]byte
	for i, req := range batch {
		if err != nil {
			req.resp <- decideResp{err: fmt.Errorf("record decision: %w", err)}
			continue
		}
		if resps[i].raw != nil {
			appended = append(appended, resps[i].raw)
		}
		req.resp <- resps[i]
	}
	if len(appended) > 0 {
		l.notifyRecords(appended, true)
	}
}

// decideInTxn applies the rule to the ticket's records and, when it admits,
// appends the record. h is this device's head, advanced on append.
func (l *Ledger) decideInTxn(txn *badger.Txn, h *head, req *decideReq) decideResp {
	t := req.code.Ticket
	d := decision.Decision{Result: decision.Refused, Gate: req.scan.Gate, Direction: req.scan.Direction, At: req.at, Ticket: req.info}
	if d.Direction == "" {
		d.Direction = rules.In
	}
	// Reading the mark puts the ticket in this transaction's read set: a
	// record of the ticket ingested meanwhile makes the commit retry. A
	// ticket without records (most scans) needs no index read.
	count, err := recordCount(txn, t.Event, t.Serial)
	if err != nil {
		return decideResp{err: err}
	}
	var recs []record.Record
	if count > 0 {
		if recs, err = ticketRecords(txn, t.Event, t.Serial); err != nil {
			return decideResp{err: err}
		}
	}
	kind := record.KindEntry
	if d.Direction == rules.Out {
		kind = record.KindExit
	}
	if req.annul != 0 {
		return l.annulInTxn(txn, h, req, recs)
	}
	rec := record.Record{Kind: kind, Event: t.Event, Serial: t.Serial, Type: t.Type, Gate: req.rctx.Gate, Zone: req.rctx.Zone}
	for i := range recs {
		if recs[i].Kind == record.KindVoid && req.override == nil {
			d.Reason, d.Detail = ticket.ReasonRevoked, "the sale was voided"
			if recs[i].Reason != "" {
				d.Detail += ": " + recs[i].Reason
			}
			return decideResp{d: d}
		}
	}
	var verdict rules.Verdict
	if req.rctx.Gate != "" {
		verdict = rules.Evaluate(req.rule, l.passages(recs), req.rctx)
	}
	switch {
	case req.override != nil:
		rec.Kind = record.KindOverride
		if d.Direction == rules.Out {
			rec.Kind = record.KindExit
		}
		rec.Actor, rec.Note, rec.Reason = req.override.Supervisor, req.override.Note, string(req.refusal)
		if rec.Reason == "" && !verdict.OK {
			rec.Reason = string(verdict.Reason)
		}
		if gate, ok := l.gate(req.scan.Gate); ok {
			rec.Gate, rec.Zone = gate.Name, gate.Zone
		}
	case !verdict.OK:
		d.Reason, d.Detail = verdict.Reason, verdict.Detail
		if p := verdict.Previous; p != nil {
			d.Previous = &decision.Passage{Gate: p.Gate, Device: p.Origin, At: p.At.Truncate(time.Millisecond), Exit: p.Exit}
		}
		return decideResp{d: d}
	}
	rec.Seq = h.Seq + 1
	rec.Prev = h.Hash
	rec.HLC = l.hlc.Now()
	if err := rec.Sign(l.id.Key); err != nil {
		return decideResp{err: err}
	}
	raw := rec.Marshal()
	nh := head{Seq: rec.Seq, Hash: record.HashOf(raw), HLC: rec.HLC}
	if err := l.appendRecord(txn, &rec, raw, nh); err != nil {
		return decideResp{err: err}
	}
	*h = nh
	d.Result, d.Reason = decision.OK, ticket.ReasonOK
	if req.override != nil {
		d.Reason = ticket.ReasonOverride
		d.Detail = fmt.Sprintf("let through by %s: %s", rec.Actor, rec.Note)
	}
	d.Record = rec.ID()
	return decideResp{d: d, raw: raw}
}

func (l *Ledger) gate(name string) (manifest.Gate, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.venue == nil {
		return manifest.Gate{}, false
	}
	return l.venue.Gate(name)
}

// passages turns a ticket's records into the history its rule reads.
func (l *Ledger) passages(recs []record.Record) []rules.Passage {
	out := make([]rules.Passage, 0, len(recs))
	gone := annulled(recs)
	for i := range recs {
		if gone[recs[i].ID()] {
			continue
		}
		if p, ok := l.passage(&recs[i]); ok {
			out = append(out, p)
		}
	}
	return out
}

// annulled returns the IDs of the records that annuls among recs take back.
func annulled(recs []record.Record) map[string]bool {
	var gone map[string]bool
	for i := range recs {
		if seq, ok := recs[i].Annuls(); ok {
			if gone == nil {
				gone = map[string]bool{}
			}
			gone[(&record.Record{Origin: recs[i].Origin, Seq: seq}).ID()] = true
		}
	}
	return gone
}

func (l *Ledger) passage(r *record.Record) (rules.Passage, bool) {
	switch r.Kind {
	case record.KindEntry, record.KindExit, record.KindOverride:
	default:
		return rules.Passage{}, false
	}
	return rules.Passage{
		Exit: r.Kind == record.KindExit,
		// The HLC's counter as nanoseconds keeps two passages of one
		// millisecond apart and in order.
		At:       r.HLC.Time().Add(time.Duration(r.HLC.Logical())),
		Gate:     r.Gate,
		Zone:     r.Zone,
		Origin:   l.deviceName(r.Origin, r.HLC.Time()),
		Override: r.Kind == record.KindOverride,
	}, true
}

func (l *Ledger) deviceName(id ticket.KeyID, at time.Time) string {
	if c, ok := l.trust.Device(id, at); ok {
		return c.Device
	}
	return id.String()
}
