package ledger

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
)

// VersionVector maps each origin to the highest sequence held without gaps.
type VersionVector map[ticket.KeyID]uint64

// VersionVector returns every origin's head: from memory once read, kept
// up to date by every commit that appends records (notifyRecords).
func (l *Ledger) VersionVector() (VersionVector, error) {
	if vv, ok := l.heads.get(); ok {
		return vv, nil
	}
	vv, err := l.readVersionVector()
	if err != nil {
		return nil, err
	}
	l.heads.load(vv)
	vv, _ = l.heads.get()
	return vv, nil
}

// Holds reports whether the origin's log here reaches seq, from memory.
func (l *Ledger) Holds(origin ticket.KeyID, seq uint64) bool {
	if h, ok := l.heads.head(origin); ok {
		return h >= seq
	}
	vv, err := l.VersionVector() // loads the cache
	return err == nil && vv[origin] >= seq
}

// headCache holds the version vector in memory. Commits advance it after
// they land; Reindex and Restore, which rewrite heads wholesale, drop it.
type headCache struct {
	mu     sync.Mutex
	vv     VersionVector
	loaded bool
}

func (c *headCache) get() (VersionVector, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		return nil, false
	}
	return maps.Clone(c.vv), true
}

// head is one origin's head, once the vector is loaded.
func (c *headCache) head(o ticket.KeyID) (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vv[o], c.loaded
}

// load installs a vector read from Badger, keeping what commits advanced
// meanwhile.
func (c *headCache) load(vv VersionVector) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded {
		return
	}
	for o, s := range c.vv {
		vv[o] = max(vv[o], s)
	}
	c.vv, c.loaded = vv, true
}

// advance moves the heads to the records just committed.
func (c *headCache) advance(raws [][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.vv == nil {
		c.vv = VersionVector{}
	}
	for _, raw := range raws {
		o, ok1 := record.OriginOf(raw)
		seq, ok2 := record.SeqOf(raw)
		if ok1 && ok2 && seq > c.vv[o] {
			c.vv[o] = seq
		}
	}
}

// drop forgets the vector: the next VersionVector reads it again.
func (c *headCache) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.vv, c.loaded = nil, false
}

// readVersionVector reads every origin's head from Badger.
func (l *Ledger) readVersionVector() (VersionVector, error) {
	vv := VersionVector{}
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tHead}, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != 5 {
				continue
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if h, ok := parseHead(v); ok {
				vv[ticket.KeyID(k[1:5])] = h.Seq
			}
		}
		return nil
	})
	return vv, err
}

// Records returns up to max encoded records of an origin, from sequence
// from on, in order; fewer when the log ends.
func (l *Ledger) Records(origin ticket.KeyID, from uint64, max int) ([][]byte, error) {
	return l.readRun(key(tLog, origin[:]), from, max)
}

// readRun reads the values of prefix+seq for seq = from, from+1, … up to
// max of them, stopping at the first number missing: only the contiguous
// part of a numbered table is served.
func (l *Ledger) readRun(prefix []byte, from uint64, max int) ([][]byte, error) {
	var out [][]byte
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		next := from
		for it.Seek(append(append([]byte(nil), prefix...), u64(from)...)); it.Valid() && len(out) < max; it.Next() {
			if decodeU64(it.Item().Key()[len(prefix):]) != next {
				break
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(out, v)
			next++
		}
		return nil
	})
	return out, err
}

// IngestStats counts what Ingest did with a batch.
type IngestStats struct {
	Stored     int // appended to their origin's log (including held ones they unblocked)
	Duplicates int // held already
	Held       int // verified, waiting for the records before them
	Rejected   int // malformed, unverifiable or not following their origin's chain
	Conflicts  int // new conflicts the merge revealed
}

// Ingest takes records from other devices: each is decoded and its
// signature checked against its origin's certificate before anything is
// stored. Records are idempotent: one already held is a duplicate. A record
// ahead of its origin's head waits until the gap fills. The errors say why
// records were rejected; the others are stored regardless.
func (l *Ledger) Ingest(raws [][]byte) (IngestStats, []error) {
	var st IngestStats
	raws, st.Duplicates = l.skipHeld(raws)
	recs, errs := l.verifyRecords(raws)
	st.Rejected = len(errs)
	l.stats.rejected.Add(uint64(len(errs)))
	if len(recs) == 0 {
		return st, errs
	}
	sort.Slice(recs, func(i, j int) bool {
		if recs[i].rec.Origin != recs[j].rec.Origin {
			return bytes.Compare(recs[i].rec.Origin[:], recs[j].rec.Origin[:]) < 0
		}
		return recs[i].rec.Seq < recs[j].rec.Seq
	})

	l.ingestMu.Lock()
	defer l.ingestMu.Unlock()
	var stored []verified
	budget := 512 // records per transaction; halved when Badger finds it too big
	unfinished := map[ticket.KeyID]bool{}
	for len(recs) > 0 || len(unfinished) > 0 {
		var ts *txnState
		var bst IngestStats
		var berrs []error
		consumed := 0
		err := l.update(func(txn *badger.Txn) error {
			ts = &txnState{l: l, heads: map[ticket.KeyID]head{}, hold: map[ticket.KeyID]bool{}, budget: budget, unfinished: map[ticket.KeyID]bool{}}
			for o := range unfinished {
				ts.unfinished[o] = true
			}
			bst, berrs, consumed = IngestStats{}, nil, 0
			for _, v := range recs {
				if ts.budget <= 0 {
					break
				}
				status, err := l.ingestOne(txn, ts, v)
				consumed++
				switch {
				case err != nil:
					return err
				case status == statusDuplicate:
					bst.Duplicates++
				case status == statusHeld:
					bst.Held++
				case status != statusStored:
					bst.Rejected++
					berrs = append(berrs, status.err)
				}
			}
			for _, o := range slices.Collect(maps.Keys(ts.unfinished)) {
				if err := l.drainHeld(txn, ts, o); err != nil {
					return err
				}
			}
			// Replay the rules of the tickets these records touch, in the
			// same transaction: a conflict is stored with its records.
			for t := range passageTickets(ts.appended) {
				if c, err := recordCount(txn, t.event, t.serial); err != nil || c < 2 {
					if err != nil {
						return err
					}
					continue
				}
				n, err := l.checkTicket(txn, t.event, t.serial)
				if err != nil {
					return err
				}
				bst.Conflicts += n
			}
			return nil
		})
		if errors.Is(err, badger.ErrTxnTooBig) && budget > 1 {
			budget /= 2
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("ingest: %w", err))
			st.Rejected += len(recs)
			break
		}
		for o, v := range ts.hold {
			l.setMayHold(o, v)
		}
		recs = recs[consumed:]
		unfinished = ts.unfinished
		st.Stored += len(ts.appended)
		st.Duplicates += bst.Duplicates
		st.Held += bst.Held
		st.Rejected += bst.Rejected
		st.Conflicts += bst.Conflicts
		errs = append(errs, berrs...)
		stored = append(stored, ts.appended...)
	}
	for _, v := range stored {
		l.hlc.Observe(v.rec.HLC, l.cfg.MaxClockSkew)
	}
	l.stats.conflicts.Add(uint64(st.Conflicts))
	l.stats.ingested.Add(uint64(st.Stored))
	l.stats.duplicates.Add(uint64(st.Duplicates))
	l.stats.held.Add(uint64(st.Held))
	if len(stored) > 0 {
		raws := make([][]byte, len(stored))
		for i, v := range stored {
			raws[i] = v.raw
		}
		l.notifyRecords(raws, false)
	}
	return st, errs
}

// skipHeld drops the records the ledger holds already, byte for byte: a
// read costs a few microseconds where a signature check costs eighty, and
// anti-entropy and relays deliver many records twice. Everything else,
// malformed input included, goes on to verification.
func (l *Ledger) skipHeld(raws [][]byte) ([][]byte, int) {
	out := raws[:0:0]
	dups := 0
	err := l.db.View(func(txn *badger.Txn) error {
		heads := map[ticket.KeyID]head{}
		for _, raw := range raws {
			r, err := record.Unmarshal(raw)
			if err == nil {
				h, ok := heads[r.Origin]
				if !ok {
					h, _ = readHead(txn, r.Origin)
					heads[r.Origin] = h
				}
				k := logKey(r.Origin, r.Seq)
				if r.Seq > h.Seq {
					if !l.mayHold(r.Origin) {
						out = append(out, raw)
						continue
					}
					k = pendKey(r.Origin, r.Seq)
				}
				if have, err := getValue(txn, k); err == nil && bytes.Equal(have, raw) {
					dups++
					continue
				}
			}
			out = append(out, raw)
		}
		return nil
	})
	if err != nil {
		return raws, 0 // unread: verified and stored (or refused) as new
	}
	return out, dups
}

// verified is a record whose signature checked out.
type verified struct {
	rec record.Record
	raw []byte
}

// verifyRecords decodes records and checks their origins and signatures
// (record.VerifyBatch: one signature per run of an origin's records).
func (l *Ledger) verifyRecords(raws [][]byte) ([]verified, []error) {
	recs, errs := record.VerifyBatch(raws, func(r *record.Record) (ed25519.PublicKey, error) {
		if err := l.checkOrigin(r); err != nil {
			return nil, err
		}
		cert, _ := l.trust.Device(r.Origin, r.HLC.Time())
		return cert.Key, nil
	})
	var ok []verified
	var bad []error
	for i, err := range errs {
		if err != nil {
			bad = append(bad, err)
		} else {
			ok = append(ok, verified{rec: recs[i], raw: append([]byte(nil), raws[i]...)})
		}
	}
	return ok, bad
}

// ErrUnknownOrigin is wrapped when a record's origin has no trusted,
// unrevoked certificate valid when the record was made.
var ErrUnknownOrigin = errors.New("origin device is not trusted")

// checkOrigin checks that a record's origin has a trusted, unrevoked
// device certificate valid when the record was made.
func (l *Ledger) checkOrigin(r *record.Record) error {
	if l.trust.RevokedAt(r.Origin, r.HLC.Time()) {
		return fmt.Errorf("record %s: %w: device key revoked before this record's time, %s", r.ID(), ErrUnknownOrigin, r.HLC.Time().UTC().Format(time.RFC3339))
	}
	cert, ok := l.trust.Device(r.Origin, r.HLC.Time())
	if !ok {
		return fmt.Errorf("record %s: %w: no certificate valid at %s", r.ID(), ErrUnknownOrigin, r.HLC)
	}
	if cert.Role == ticket.RoleCentral {
		return fmt.Errorf("record %s: %w: central does not scan", r.ID(), ErrUnknownOrigin)
	}
	if (r.Kind == record.KindSale || r.Kind == record.KindVoid || r.Kind.Shift()) && cert.Role != ticket.RoleSeller {
		return fmt.Errorf("record %s: %w: a %s from device %q, which is not a seller", r.ID(), ErrUnknownOrigin, r.Kind, cert.Device)
	}
	return nil
}

type ingestStatus struct {
	code int
	err  error
}

var (
	statusStored    = ingestStatus{code: 1}
	statusDuplicate = ingestStatus{code: 2}
	statusHeld      = ingestStatus{code: 3}
)

// txnState is what one ingest transaction tracks: the heads it moved, and
// how many more records it may append or hold. A record that fills a gap may
// unblock thousands of held ones, and Badger refuses a transaction bigger
// than a slice of its memtable, so draining stops at the budget and goes on
// in the next transaction.
type txnState struct {
	l     *Ledger
	heads map[ticket.KeyID]head
	// hold is what this transaction learnt of mayHold, applied to the
	// ledger only once it commits: Badger may run the closure again.
	hold       map[ticket.KeyID]bool
	budget     int
	unfinished map[ticket.KeyID]bool // origins whose held records may follow their head
	appended   []verified
}

// mayHold is the ledger's mayHold as this transaction has changed it.
func (ts *txnState) mayHold(o ticket.KeyID) bool {
	if v, ok := ts.hold[o]; ok {
		return v
	}
	return ts.l.mayHold(o)
}

func (ts *txnState) head(txn *badger.Txn, o ticket.KeyID) (head, error) {
	if h, ok := ts.heads[o]; ok {
		return h, nil
	}
	h, err := readHead(txn, o)
	if err == nil {
		ts.heads[o] = h
	}
	return h, err
}

// ingestOne stores one verified record within txn, and the held records it
// unblocks as far as the budget goes.
func (l *Ledger) ingestOne(txn *badger.Txn, ts *txnState, v verified) (ingestStatus, error) {
	r := &v.rec
	h, err := ts.head(txn, r.Origin)
	if err != nil {
		return ingestStatus{}, err
	}
	switch {
	case r.Seq <= h.Seq:
		have, err := getValue(txn, logKey(r.Origin, r.Seq))
		if err != nil {
			return ingestStatus{}, fmt.Errorf("record %s: %w", r.ID(), err)
		}
		if bytes.Equal(have, v.raw) {
			return statusDuplicate, nil
		}
		if err := txn.Set(forkKey(r.Origin, r.Seq), v.raw); err != nil {
			return ingestStatus{}, err
		}
		l.log.Error("device signed two different records at one place in its log", "record", r.ID())
		return ingestStatus{code: 4, err: fmt.Errorf("record %s: a different record holds this place: fork kept for review", r.ID())}, nil
	case r.Seq > h.Seq+1:
		ts.hold[r.Origin] = true
		if err := txn.Set(pendKey(r.Origin, r.Seq), v.raw); err != nil {
			return ingestStatus{}, err
		}
		ts.budget--
		return statusHeld, nil
	}
	if status, err := l.appendNext(txn, ts, v); err != nil || status != statusStored {
		return status, err
	}
	return statusStored, l.drainHeld(txn, ts, r.Origin)
}

// appendNext appends a record that must follow its origin's head.
func (l *Ledger) appendNext(txn *badger.Txn, ts *txnState, v verified) (ingestStatus, error) {
	r := &v.rec
	h := ts.heads[r.Origin]
	if r.Prev != h.Hash {
		return ingestStatus{code: 4, err: fmt.Errorf("record %s does not follow %s/%d: previous hash differs", r.ID(), r.Origin, h.Seq)}, nil
	}
	h = head{Seq: r.Seq, Hash: record.HashOf(v.raw), HLC: r.HLC}
	if err := l.appendRecord(txn, r, v.raw, h); err != nil {
		return ingestStatus{}, err
	}
	ts.heads[r.Origin] = h
	ts.appended = append(ts.appended, v)
	ts.budget--
	return statusStored, nil
}

// drainHeld appends the held records that follow an origin's head, while
// the budget lasts; what is left is marked unfinished for the next
// transaction.
func (l *Ledger) drainHeld(txn *badger.Txn, ts *txnState, o ticket.KeyID) error {
	delete(ts.unfinished, o)
	if _, err := ts.head(txn, o); err != nil {
		return err
	}
	for ts.mayHold(o) {
		if ts.budget <= 0 {
			ts.unfinished[o] = true
			return nil
		}
		h := ts.heads[o]
		next, err := getValue(txn, pendKey(o, h.Seq+1))
		if errors.Is(err, badger.ErrKeyNotFound) {
			if !hasPrefix(txn, key(tPendRecord, o[:])) {
				ts.hold[o] = false
			}
			return nil
		}
		if err != nil {
			return err
		}
		if err := txn.Delete(pendKey(o, h.Seq+1)); err != nil {
			return err
		}
		nr, err := record.Unmarshal(next)
		if err != nil {
			l.log.Error("held record is corrupt; dropped", "origin", o, "seq", h.Seq+1, "err", err)
			return nil
		}
		status, err := l.appendNext(txn, ts, verified{rec: nr, raw: next})
		if err != nil {
			return err
		}
		if status != statusStored {
			l.log.Error("held record does not follow its origin's log; dropped", "err", status.err)
			return nil
		}
	}
	return nil
}

// appendOwn numbers, chains, stamps and signs one of this device's own
// records after the head h and appends it in txn; h moves to the new head.
// Only the writer calls it, so the head it reads is the head it extends.
func (l *Ledger) appendOwn(txn *badger.Txn, rec *record.Record, h *head) ([]byte, error) {
	rec.Seq = h.Seq + 1
	rec.Prev = h.Hash
	rec.HLC = l.hlc.Now()
	if err := rec.Sign(l.id.Key); err != nil {
		return nil, err
	}
	raw := rec.Marshal()
	nh := head{Seq: rec.Seq, Hash: record.HashOf(raw), HLC: rec.HLC}
	if err := l.appendRecord(txn, rec, raw, nh); err != nil {
		return nil, err
	}
	*h = nh
	return raw, nil
}

// appendRecord writes a record at the end of its origin's log with its
// derived entries: the head and the ticket index.
func (l *Ledger) appendRecord(txn *badger.Txn, r *record.Record, raw []byte, h head) error {
	if err := txn.Set(logKey(r.Origin, r.Seq), raw); err != nil {
		return err
	}
	if err := txn.Set(headKey(r.Origin), h.marshal()); err != nil {
		return err
	}
	return indexRecord(txn, r, raw)
}

// indexRecord adds a record to its ticket's index and counts it in the
// ticket's mark.
func indexRecord(txn *badger.Txn, r *record.Record, raw []byte) error {
	if !r.Kind.Ticket() {
		return nil // a seller's shift: in its origin's log only
	}
	if err := txn.Set(indexKey(r), raw); err != nil {
		return err
	}
	n, err := recordCount(txn, r.Event, r.Serial)
	if err != nil {
		return err
	}
	return txn.Set(markKey(r.Event, r.Serial), binary.AppendUvarint(nil, n+1))
}

// recordCount is how many records of a ticket the ledger holds, from its
// mark: a Get, where counting the index would take an iterator.
func recordCount(txn *badger.Txn, event, serial uint64) (uint64, error) {
	v, err := getValue(txn, markKey(event, serial))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, w := binary.Uvarint(v)
	if w <= 0 {
		return 0, fmt.Errorf("ticket %d/%d: corrupt mark: run tixgate ledger reindex", event, serial)
	}
	return n, nil
}

// mayHold reports whether records of an origin may be held waiting for a
// gap: when not, ingest skips looking for them. It errs on the side of yes.
func (l *Ledger) mayHold(o ticket.KeyID) bool {
	l.heldMu.Lock()
	defer l.heldMu.Unlock()
	return l.held[o]
}

func (l *Ledger) setMayHold(o ticket.KeyID, v bool) {
	l.heldMu.Lock()
	defer l.heldMu.Unlock()
	if v {
		l.held[o] = true
	} else {
		delete(l.held, o)
	}
}

func hasPrefix(txn *badger.Txn, prefix []byte) bool {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	it.Rewind()
	return it.Valid()
}

// update runs fn in a read-write transaction, retrying on conflicts.
func (l *Ledger) update(fn func(txn *badger.Txn) error) error {
	for attempt := 0; ; attempt++ {
		err := l.db.Update(fn)
		if errors.Is(err, badger.ErrConflict) && attempt < 100 {
			continue
		}
		if err == nil {
			l.stats.commits.Add(1)
		}
		return err
	}
}

// ticketRecords reads every record of a ticket, in HLC order.
func ticketRecords(txn *badger.Txn, event, serial uint64) ([]record.Record, error) {
	var out []record.Record
	// No prefetching: a ticket has a handful of records, and prefetching
	// starts goroutines that cost more than the reads.
	it := txn.NewIterator(badger.IteratorOptions{Prefix: ticketPrefix(event, serial)})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		err := it.Item().Value(func(v []byte) error {
			r, err := record.Unmarshal(v)
			if err != nil {
				return fmt.Errorf("ticket %d/%d: stored record: %w", event, serial, err)
			}
			out = append(out, r)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
