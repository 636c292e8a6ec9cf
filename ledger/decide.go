package ledger

import (
	"context"
	"errors"
	"fmt"
	"github.com/tixgate/tixgate/ledger/decision"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ledger/replay"
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
	seq      uint64 // the manifest change prepare read
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
	if l.repairing.Load() != nil {
		if err := l.CheckSound(); err != nil {
			return decision.Decision{}, err
		}
	}
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
	d, req := l.prepareOverride(&o)
	if req == nil {
		return d, nil
	}
	return l.submit(ctx, req)
}

// prepareOverride is prepare for an override: a refusal that names a ticket
// at a gate of this device becomes a request, carrying the reason.
func (l *Ledger) prepareOverride(o *Override) (decision.Decision, *decideReq) {
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
	}
	req.override = o
	return d, req
}

func (l *Ledger) submit(ctx context.Context, req *decideReq) (decision.Decision, error) {
	if l.repairing.Load() != nil {
		if err := l.CheckSound(); err != nil {
			return decision.Decision{}, err
		}
	}
	req.ctx = ctx
	req.resp = make(chan decideResp, 1)
	if err := l.enqueue(ctx, req); err != nil {
		return decision.Decision{}, err
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

// enqueue hands a request to the writer, or says why it cannot. Holding
// the read lock while sending keeps Close from stopping the writer between
// the check and the send: a queued request is always answered.
func (l *Ledger) enqueue(ctx context.Context, req *decideReq) error {
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	select {
	case l.decisions <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
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
// the manifest held in memory. It returns a refusal, or a request for the
// writer, which checks what is stored (the ticket's entry, revocations,
// records) in the transaction that records the decision. The request
// carries the number of the manifest change it was prepared against: the
// writer prepares it again if the manifest moved on meanwhile.
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
	// The number first, the trust store after: a change applied meanwhile
	// makes the number stale, never the other way round.
	seq := l.ManifestSeq()
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
	var issuerZones uint64
	if d.Ticket != nil {
		event = l.events[d.Event]
		typ = l.types[[2]uint64{d.Event, d.Type}]
		if v.Issuer != nil {
			issuerZones = l.issuerZones(v.Issuer, d.Event)
		}
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
	if typ == nil {
		d.Reason, d.Detail = ticket.ReasonUnknownType, fmt.Sprintf("ticket type %d is not defined for event %d", d.Type, d.Event)
		return d, nil
	}
	rule := typ.Rule
	d.TypeName = typ.Name
	// A type without entry windows of its own admits until its event ends,
	// unless the code carries its own validity (checked with the code).
	if s.Direction == rules.In && len(rule.Windows) == 0 && d.Ticket.ValidUntil.IsZero() &&
		!event.Ends.IsZero() && !at.Before(event.Ends) {
		d.Reason, d.Detail = ticket.ReasonOutsideHours, fmt.Sprintf("event %d (%s) ended %s", event.ID, event.Name,
			event.Ends.In(orUTC(loc)).Format("2006-01-02 15:04 MST"))
		return d, nil
	}
	mask := d.Zones
	if mask == 0 {
		mask = typ.ZoneMask()
	}
	if issuerZones != 0 && (mask == 0 || mask&^issuerZones != 0) {
		d.Reason, d.Detail = ticket.ReasonOutOfScope, fmt.Sprintf("issuer %q may issue %s; the ticket opens %s", d.Issuer, zoneNames(venue, issuerZones), zoneNames(venue, mask))
		return d, nil
	}
	if mask != 0 && mask&(1<<gate.Zone) == 0 {
		d.Reason, d.Detail = ticket.ReasonWrongZone, fmt.Sprintf("gate %s opens %s; the ticket opens %s", gate.Name, zoneNames(venue, 1<<gate.Zone), zoneNames(venue, mask))
		return d, nil
	}
	req := &decideReq{scan: s, at: at, seq: seq, code: v.Code, info: d.Ticket, rule: rule,
		rctx: rules.Context{At: at, Location: loc, Gate: gate.Name, Zone: gate.Zone, Direction: s.Direction,
			EventStart: event.Starts, EventEnd: event.Ends, Admission: event.Admission}}
	return d, req
}

// issuerZones is the zones an issuer may issue for an event, as a mask, 0
// for every zone: its certificate's zones, or else, when the certificate
// names ticket types, the zones of those types. l.mu must be held.
func (l *Ledger) issuerZones(c *ticket.IssuerCert, event uint64) uint64 {
	if c.Zones != 0 {
		return c.Zones
	}
	if len(c.Types) == 0 {
		return 0
	}
	var mask uint64
	for _, id := range c.Types {
		t := l.types[[2]uint64{event, id}]
		if t == nil {
			continue
		}
		m := t.ZoneMask()
		if m == 0 {
			return 0 // a type of every zone: no bound
		}
		mask |= m
	}
	return mask
}

// zoneNames says the zones of a mask by their names in the venue ("Floor
// and VIP"), by number where the venue names none; every zone for 0.
func zoneNames(venue *manifest.Venue, mask uint64) string {
	if mask == 0 {
		return "every zone"
	}
	var names []string
	for z := 0; z < 64; z++ {
		if mask&(1<<z) == 0 {
			continue
		}
		name := fmt.Sprintf("zone %d", z)
		if venue != nil {
			for _, vz := range venue.Zones {
				if vz.ID == z && vz.Name != "" {
					name = vz.Name
				}
			}
		}
		names = append(names, name)
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// knownTicket reads the manifest's entry for a ticket and any revocation,
// within the deciding transaction: a revocation committed meanwhile makes
// the commit retry and is seen.
func knownTicket(txn *badger.Txn, event, serial uint64) (*manifest.Ticket, string, error) {
	var t *manifest.Ticket
	var why string
	v, err := getValue(txn, ticketKey(event, serial))
	switch {
	case err == nil:
		mt, err := decodeTicket(serial, v)
		if err != nil {
			return nil, "", fmt.Errorf("ticket %d/%d: %w", event, serial, err)
		}
		t = &mt
	case !errors.Is(err, badger.ErrKeyNotFound):
		return nil, "", fmt.Errorf("ticket %d/%d: %w", event, serial, err)
	}
	v, err = getValue(txn, revokedTicketKey(event, serial))
	switch {
	case err == nil:
		why = "revoked by central"
		if len(v) > 0 {
			why += ": " + string(v)
		}
	case !errors.Is(err, badger.ErrKeyNotFound):
		return nil, "", fmt.Errorf("revocation of ticket %d/%d: %w", event, serial, err)
	}
	if t != nil && t.Status == manifest.StatusRevoked && why == "" {
		why = "revoked by central"
	}
	return t, why, nil
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

// errStaleManifest aborts a batch prepared against a manifest change
// that is no longer the last.
var errStaleManifest = errors.New("manifest changed while deciding")

func (l *Ledger) commitBatch(batch []*decideReq) {
	var resps []decideResp
	var err error
	for attempt := 0; ; attempt++ {
		resps = make([]decideResp, len(batch))
		err = l.update(func(txn *badger.Txn) error { return l.decideBatch(txn, batch, resps) })
		if !errors.Is(err, errStaleManifest) || attempt >= 16 {
			break
		}
		batch = l.reprepare(batch)
		if len(batch) == 0 {
			return
		}
	}
	var appended [][]byte
	if err == nil {
		for i := range batch {
			if resps[i].raw != nil {
				appended = append(appended, resps[i].raw)
			}
		}
	}
	// The records go to the hooks (the mesh sends them to its peers) before
	// any decision is answered: an admitted scan has left this device by
	// the time the gate opens.
	if len(appended) > 0 {
		l.notifyRecords(appended, true)
	}
	for i, req := range batch {
		if err != nil {
			req.resp <- decideResp{err: fmt.Errorf("record decision: %w", err)}
			continue
		}
		req.resp <- resps[i]
	}
}

// decideBatch decides a batch in one transaction. Its reads (the manifest
// number, each ticket's entry, revocation and records) are the
// transaction's read set, so a change committed meanwhile makes Badger
// retry it; it changes nothing but txn and resps, so it may be retried.
func (l *Ledger) decideBatch(txn *badger.Txn, batch []*decideReq, resps []decideResp) error {
	seq, err := appliedSeq(txn)
	if err != nil {
		return err
	}
	for _, req := range batch {
		if req.override == nil && req.annul == 0 && req.seq != seq { // an annul reads no manifest
			return errStaleManifest
		}
	}
	h, err := readHead(txn, l.id.ID())
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
}

// reprepare prepares a batch again against the manifest now applied,
// answering at once those refused before any record is read.
func (l *Ledger) reprepare(batch []*decideReq) []*decideReq {
	out := batch[:0]
	for _, old := range batch {
		var d decision.Decision
		var req *decideReq
		if old.override != nil {
			d, req = l.prepareOverride(old.override)
		} else {
			d, req = l.prepare(old.scan)
		}
		if req == nil {
			old.resp <- decideResp{d: d}
			continue
		}
		req.ctx, req.resp = old.ctx, old.resp
		out = append(out, req)
	}
	return out
}

// appliedSeq reads the number of the last manifest change applied.
func appliedSeq(txn *badger.Txn) (uint64, error) {
	v, err := getValue(txn, []byte{tApplied})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("manifest number: %w", err)
	}
	return decodeU64(v), nil
}

// decideInTxn applies the rule to the ticket's records and, when it admits,
// appends the record. h is this device's head, advanced on append.
func (l *Ledger) decideInTxn(txn *badger.Txn, h *head, req *decideReq) decideResp {
	t := req.code.Ticket
	if req.annul != 0 {
		recs, err := ticketRecords(txn, t.Event, t.Serial)
		if err != nil {
			return decideResp{err: err}
		}
		return l.annulInTxn(txn, h, req, recs)
	}
	info := *req.info // a copy: this runs again when Badger retries
	d := decision.Decision{Result: decision.Refused, Gate: req.scan.Gate, Direction: req.scan.Direction, At: req.at, Ticket: &info}
	if d.Direction == "" {
		d.Direction = rules.In
	}
	known, revokedWhy, err := knownTicket(txn, t.Event, t.Serial)
	if err != nil {
		return decideResp{err: err}
	}
	refusal := req.refusal
	if known != nil {
		info.Known = true
		info.Holder = known.Holder
		if info.Seat == "" {
			info.Seat = known.Seat
		}
		if known.Type != t.Type && refusal == "" {
			d.Reason, d.Detail = ticket.ReasonTicketMismatch, fmt.Sprintf("the code says ticket type %d; the manifest lists ticket %d/%d as type %d", t.Type, t.Event, t.Serial, known.Type)
			if req.override == nil {
				return decideResp{d: d}
			}
			refusal = d.Reason
		}
	}
	if revokedWhy != "" && refusal == "" {
		d.Reason, d.Detail = ticket.ReasonRevoked, revokedWhy
		if req.override == nil {
			return decideResp{d: d}
		}
		refusal = d.Reason
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
	rec := record.Record{Kind: kind, Event: t.Event, Serial: t.Serial, Type: t.Type, Gate: req.rctx.Gate, Zone: req.rctx.Zone}
	for i := range recs {
		// A sale is voided by the seller that made it: the device whose key
		// signed the code.
		if recs[i].Kind == record.KindVoid && recs[i].Origin == t.Issuer && req.override == nil {
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
		rec.Actor, rec.Note, rec.Reason = req.override.Supervisor, req.override.Note, string(refusal)
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
	raw, err := l.appendOwn(txn, &rec, h)
	if err != nil {
		return decideResp{err: err}
	}
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
	return replay.Passages(recs, l.deviceName)
}

func (l *Ledger) deviceName(id ticket.KeyID, at time.Time) string {
	return replay.DeviceName(l.trust, id, at)
}

// orUTC is loc, or UTC for a venue not yet known.
func orUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}
