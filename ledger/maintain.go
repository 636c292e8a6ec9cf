package ledger

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/tixgate/tixgate/ledger/manifest"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ticket"
)

// Stats describes a ledger.
type Stats struct {
	Device      string            `json:"device"`
	Origin      ticket.KeyID      `json:"origin"`
	ManifestSeq uint64            `json:"manifest_seq"`
	Events      int               `json:"events"`
	TicketTypes int               `json:"ticket_types"`
	Tickets     int               `json:"tickets"`
	Revoked     int               `json:"revoked"`
	Origins     map[string]uint64 `json:"origins"` // device name (key id) → records held without gaps
	Records     int               `json:"records"`
	HeldRecords int               `json:"held_records"`
	HeldChanges int               `json:"held_changes"`
	Conflicts   int               `json:"conflicts"`
	Forks       int               `json:"forks"`
	DiskBytes   int64             `json:"disk_bytes"`
	// SinceOpen counts what this process did with the ledger: absent
	// where nothing could have (a command that opened it to read).
	SinceOpen *Counters `json:"since_open,omitempty"`
}

// Counters are what a process did with an open ledger.
type Counters struct {
	Decisions     uint64 `json:"decisions"`
	Admitted      uint64 `json:"admitted"`
	Refused       uint64 `json:"refused"`
	Ingested      uint64 `json:"ingested"`
	RejectedInput uint64 `json:"rejected_input"`
}

// Stats counts what the ledger holds.
func (l *Ledger) Stats() (Stats, error) {
	st := Stats{Device: l.id.Cert.Device, Origin: l.id.ID(), ManifestSeq: l.ManifestSeq(), Origins: map[string]uint64{}}
	l.mu.RLock()
	st.Events, st.TicketTypes = len(l.events), len(l.types)
	l.mu.RUnlock()
	counts := map[byte]*int{tTicket: &st.Tickets, tRevoked: &st.Revoked, tLog: &st.Records, tPendRecord: &st.HeldRecords,
		tPendChange: &st.HeldChanges, tConflict: &st.Conflicts, tFork: &st.Forks}
	err := l.db.View(func(txn *badger.Txn) error {
		for table, n := range counts {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{table}})
			for it.Rewind(); it.Valid(); it.Next() {
				*n++
			}
			it.Close()
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	vv, err := l.VersionVector()
	if err != nil {
		return st, err
	}
	now := l.cfg.Clock.Now()
	for id, seq := range vv {
		st.Origins[fmt.Sprintf("%s (%s)", l.deviceName(id, now), id)] = seq
	}
	st.DiskBytes = l.DiskSize()
	st.SinceOpen = &Counters{Decisions: l.stats.decisions.Load(), Admitted: l.stats.admitted.Load(), Refused: l.stats.refused.Load(),
		Ingested: l.stats.ingested.Load(), RejectedInput: l.stats.rejected.Load()}
	return st, nil
}

// Problem is something Verify found wrong.
type Problem struct {
	Where string `json:"where"` // e.g. "record 1a2b3c4d/17", "manifest change 12"
	What  string `json:"what"`
}

func (p Problem) String() string { return p.Where + ": " + p.What }

// Verify checks the truth: every manifest change's signature and number,
// every record's form, signature, place and link to the record before it,
// and that the derived heads and ticket index agree with the log. It
// reports every problem it finds; none means the ledger is sound.
func (l *Ledger) Verify() ([]Problem, error) {
	var probs []Problem
	add := func(where, format string, a ...any) { probs = append(probs, Problem{where, fmt.Sprintf(format, a...)}) }
	err := l.db.View(func(txn *badger.Txn) error {
		// Manifest changes: numbered 1..applied, each signed by a trusted key.
		var want uint64 = 1
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tChange}, PrefetchValues: true})
		for it.Rewind(); it.Valid(); it.Next() {
			seq := decodeU64(it.Item().Key()[1:])
			where := fmt.Sprintf("manifest change %d", seq)
			if seq != want {
				add(where, "expected change %d next", want)
			}
			want = seq + 1
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				it.Close()
				return err
			}
			c, err := manifest.Parse(v)
			if err == nil && c.Seq != seq {
				err = fmt.Errorf("stored under %d but numbered %d", seq, c.Seq)
			}
			if err == nil {
				// Judge the signer's certificate when the change was made,
				// not now: it may have expired since.
				at := l.cfg.Clock.Now()
				if c.Cert != nil && !c.Cert.ValidAt(at) {
					at = c.Cert.NotBefore
				}
				err = c.Verify(l.trust, at)
			}
			if err != nil {
				add(where, "%v", err)
			}
		}
		it.Close()
		if want-1 != l.ManifestSeq() {
			add("manifest", "changes end at %d but %d are marked applied", want-1, l.ManifestSeq())
		}

		// Records: per origin 1, 2, 3, … each linked and signed.
		type originState struct {
			seq  uint64
			hash record.Hash
			hlc  record.HLC
		}
		origins := map[ticket.KeyID]*originState{}
		indexed := 0
		it = txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tLog}, PrefetchValues: true, PrefetchSize: 256})
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != 13 {
				add(fmt.Sprintf("log key %x", k), "malformed key")
				continue
			}
			origin, seq := ticket.KeyID(k[1:5]), decodeU64(k[5:])
			where := fmt.Sprintf("record %s/%d", origin, seq)
			o := origins[origin]
			if o == nil {
				o = &originState{}
				origins[origin] = o
			}
			if seq != o.seq+1 {
				add(where, "gap: the record before it is %s/%d", origin, o.seq)
			}
			raw, err := it.Item().ValueCopy(nil)
			if err != nil {
				it.Close()
				return err
			}
			r, err := record.Unmarshal(raw)
			if err != nil {
				add(where, "%v", err)
				o.seq = seq
				continue
			}
			if r.Origin != origin || r.Seq != seq {
				add(where, "holds record %s", r.ID())
			}
			if cert, ok := l.trust.Device(origin, r.HLC.Time()); !ok {
				add(where, "no certificate for the origin device")
			} else if err := r.Verify(cert.Key); err != nil {
				add(where, "signature does not verify: the record was altered")
			}
			if seq == o.seq+1 && r.Prev != o.hash {
				add(where, "previous-record hash does not match %s/%d: the log was altered", origin, o.seq)
			}
			if !r.Kind.Ticket() {
				// a seller's shift names no ticket: not indexed
			} else if _, err := txn.Get(indexKey(&r)); err != nil {
				add(where, "missing from the ticket index: run tixgate ledger reindex")
			} else {
				indexed++
			}
			o.seq, o.hash, o.hlc = seq, record.HashOf(raw), r.HLC
		}
		it.Close()
		for origin, o := range origins {
			h, err := readHead(txn, origin)
			if err != nil {
				add(fmt.Sprintf("origin %s", origin), "%v", err)
				continue
			}
			if h.Seq != o.seq || h.Hash != o.hash {
				add(fmt.Sprintf("origin %s", origin), "head says %d, the log ends at %d: run tixgate ledger reindex", h.Seq, o.seq)
			}
		}
		// Held records that follow their origin's head could be stored:
		// something stopped draining them.
		it = txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tPendRecord}})
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != 13 {
				continue
			}
			origin, seq := ticket.KeyID(k[1:5]), decodeU64(k[5:])
			h, err := readHead(txn, origin)
			if err == nil && seq <= h.Seq+1 {
				add(fmt.Sprintf("held record %s/%d", origin, seq), "follows the head (%d) but is still held: run tixgate ledger reindex", h.Seq)
			}
		}
		it.Close()
		n := 0
		it = txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tTicketIndex}})
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		it.Close()
		if n != indexed {
			add("ticket index", "%d entries for %d records: run tixgate ledger reindex", n, indexed)
		}
		return nil
	})
	return probs, err
}

// Reindex rebuilds everything derived from the truth: the manifest state
// from the stored changes, heads and the ticket index from the log, and the
// conflicts. Held items stay held.
func (l *Ledger) Reindex(ctx context.Context) error {
	if !l.db.enter() {
		return ErrClosed
	}
	defer l.db.exit()
	l.manifestMu.Lock()
	defer l.manifestMu.Unlock()
	l.ingestMu.Lock()
	defer l.ingestMu.Unlock()
	for _, t := range derivedTables {
		if err := l.db.DropPrefix([]byte{t}); err != nil {
			return fmt.Errorf("reindex: clear %q: %w", t, err)
		}
	}
	l.mu.Lock()
	l.applied, l.venue, l.loc = 0, nil, time.UTC
	l.events = map[uint64]*manifest.Event{}
	l.types = map[[2]uint64]*manifest.TicketType{}
	l.mu.Unlock()
	// Manifest: replay the stored changes in order.
	var seq uint64 = 1
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var raw []byte
		err := l.db.View(func(txn *badger.Txn) error {
			v, err := getValue(txn, changeKey(seq))
			raw = v
			return err
		})
		if errors.Is(err, badger.ErrKeyNotFound) {
			break
		}
		if err != nil {
			return err
		}
		c, err := manifest.Parse(raw)
		if err != nil {
			return fmt.Errorf("reindex: manifest change %d: %w", seq, err)
		}
		if err := l.apply(&c, raw, nil); err != nil {
			return fmt.Errorf("reindex: %w", err)
		}
		seq++
	}
	// Log: walk each origin's records, rebuilding heads and the index.
	several := map[ticketID]bool{} // tickets with two records or more
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tLog}, PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		wb := l.db.NewWriteBatch()
		defer wb.Cancel()
		heads := map[ticket.KeyID]head{}
		counts := map[ticketID]uint64{}
		for it.Rewind(); it.Valid(); it.Next() {
			raw, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			r, err := record.Unmarshal(raw)
			if err != nil {
				return fmt.Errorf("reindex: record %x: %w (run tixgate ledger verify)", it.Item().Key(), err)
			}
			h := heads[r.Origin]
			if r.Seq != h.Seq+1 || r.Prev != h.Hash {
				return fmt.Errorf("reindex: record %s does not follow %s/%d (run tixgate ledger verify)", r.ID(), r.Origin, h.Seq)
			}
			heads[r.Origin] = head{Seq: r.Seq, Hash: record.HashOf(raw), HLC: r.HLC}
			if !r.Kind.Ticket() {
				continue
			}
			if err := wb.Set(indexKey(&r), raw); err != nil {
				return err
			}
			counts[ticketID{r.Event, r.Serial}]++
		}
		for t, n := range counts {
			if n >= 2 {
				several[t] = true
			}
			if err := wb.Set(markKey(t.event, t.serial), binary.AppendUvarint(nil, n)); err != nil {
				return err
			}
		}
		for origin, h := range heads {
			if err := wb.Set(headKey(origin), h.marshal()); err != nil {
				return err
			}
		}
		return wb.Flush()
	})
	l.heads.drop() // the heads were rewritten
	if err != nil {
		return err
	}
	l.detectConflicts(several)
	return nil
}

// Backup format: gzip-compressed JSON lines. A header, then every manifest
// change as it arrived, the certificates of the devices whose records it
// holds, then every record, base64. It holds the truth only;
// Restore derives the rest. It holds holder names and rotation secrets:
// keep it as carefully as the device (the file is written 0600).
type backupHeader struct {
	Format      string       `json:"format"` // "tixgate-ledger-backup"
	Version     int          `json:"version"`
	Device      string       `json:"device"`
	Origin      ticket.KeyID `json:"origin"`
	Created     time.Time    `json:"created"`
	ManifestSeq uint64       `json:"manifest_seq"`
}

type backupLine struct {
	Change json.RawMessage    `json:"change,omitempty"`
	Cert   *ticket.DeviceCert `json:"cert,omitempty"`
	Record string             `json:"record,omitempty"`
}

const backupFormat = "tixgate-ledger-backup"

// Backup writes the ledger's truth to w and returns how many changes and
// records it wrote. It reads one consistent snapshot.
func (l *Ledger) Backup(w io.Writer) (changes, records int, err error) {
	zw := gzip.NewWriter(w)
	bw := bufio.NewWriter(zw)
	enc := json.NewEncoder(bw)
	err = l.db.View(func(txn *badger.Txn) error {
		h := backupHeader{Format: backupFormat, Version: 1, Device: l.id.Cert.Device, Origin: l.id.ID(),
			Created: l.cfg.Clock.Now().UTC(), ManifestSeq: l.ManifestSeq()}
		if err := enc.Encode(h); err != nil {
			return err
		}
		for _, c := range l.trust.Devices() {
			if err := enc.Encode(backupLine{Cert: &c}); err != nil {
				return err
			}
		}
		for _, table := range []byte{tChange, tLog} {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{table}, PrefetchValues: true, PrefetchSize: 256})
			for it.Rewind(); it.Valid(); it.Next() {
				v, err := it.Item().ValueCopy(nil)
				if err != nil {
					it.Close()
					return err
				}
				var line backupLine
				if table == tChange {
					line.Change = v
					changes++
				} else {
					line.Record = base64.StdEncoding.EncodeToString(v)
					records++
				}
				if err := enc.Encode(line); err != nil {
					it.Close()
					return err
				}
			}
			it.Close()
		}
		return nil
	})
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return 0, 0, fmt.Errorf("backup: %w", err)
	}
	return changes, records, nil
}

// Restore reads a backup into the ledger: its manifest changes are applied
// and its records ingested, each verified as if it came from a peer. It
// merges: what the ledger holds already stays, so restoring twice is
// harmless. The whole backup is read and checked before anything is
// stored — the gzip checksum, every line, every certificate, every manifest
// change's signature and every record's signature, against the trust the
// backup itself would build — so a damaged, cut or forged backup restores
// nothing.
func (l *Ledger) Restore(ctx context.Context, r io.Reader) (changes int, ist IngestStats, err error) {
	tmp, err := os.CreateTemp(l.cfg.Dir, ".restore-*")
	if err != nil {
		return 0, ist, fmt.Errorf("restore: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := io.Copy(tmp, r); err != nil {
		return 0, ist, fmt.Errorf("restore: read the backup: %w", err)
	}
	for _, apply := range []bool{false, true} {
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return 0, ist, fmt.Errorf("restore: %w", err)
		}
		if changes, ist, err = l.restore(ctx, tmp, apply); err != nil {
			return changes, ist, err
		}
	}
	return changes, ist, nil
}

// restore reads a backup; only with apply does it store what it reads.
func (l *Ledger) restore(ctx context.Context, r io.Reader, apply bool) (changes int, ist IngestStats, err error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return 0, ist, fmt.Errorf("restore: not a tixgate backup (%w)", err)
	}
	dec := json.NewDecoder(zr)
	var h backupHeader
	if err := dec.Decode(&h); err != nil || h.Format != backupFormat {
		return 0, ist, fmt.Errorf("restore: not a tixgate backup: header %v", err)
	}
	if h.Version != 1 {
		return 0, ist, fmt.Errorf("restore: backup version %d is not supported", h.Version)
	}
	var batch [][]byte
	var chk *restoreCheck
	if !apply {
		chk = l.newRestoreCheck()
	}
	flush := func() error {
		if !apply {
			err := chk.records(batch)
			batch = batch[:0]
			return err
		}
		st, errs := l.Ingest(batch)
		ist.Stored += st.Stored
		ist.Duplicates += st.Duplicates
		ist.Held += st.Held
		ist.Rejected += st.Rejected
		ist.Conflicts += st.Conflicts
		batch = batch[:0]
		if len(errs) > 0 {
			return fmt.Errorf("restore: %d records refused, first: %w", len(errs), errs[0])
		}
		return nil
	}
	for n := 2; ; n++ {
		if err := ctx.Err(); err != nil {
			return changes, ist, err
		}
		var line backupLine
		err := dec.Decode(&line)
		if err == io.EOF {
			break
		}
		if err != nil {
			return changes, ist, fmt.Errorf("restore: line %d: %w (the backup is damaged or cut short)", n, err)
		}
		switch {
		case line.Cert != nil:
			if !apply {
				if err := chk.trust.AddDevice(*line.Cert); err != nil {
					return changes, ist, fmt.Errorf("restore: line %d: %w", n, err)
				}
				continue
			}
			if err := l.AddDeviceCert(*line.Cert); err != nil {
				return changes, ist, fmt.Errorf("restore: line %d: %w", n, err)
			}
		case len(line.Change) > 0:
			if !apply {
				if err := chk.change(line.Change); err != nil {
					return changes, ist, fmt.Errorf("restore: line %d: %w", n, err)
				}
				changes++
				continue
			}
			if _, err := l.ApplyChange(line.Change); err != nil {
				return changes, ist, fmt.Errorf("restore: line %d: %w", n, err)
			}
			changes++
		case line.Record != "":
			raw, err := base64.StdEncoding.DecodeString(line.Record)
			if err != nil {
				return changes, ist, fmt.Errorf("restore: line %d: %w", n, err)
			}
			batch = append(batch, raw)
			if len(batch) >= 1024 {
				if err := flush(); err != nil {
					return changes, ist, err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return changes, ist, err
	}
	return changes, ist, nil
}

// restoreCheck verifies a backup without storing it: a trust store of its
// own learns the backup's certificates as applying it would, and every
// change and record is verified against it.
type restoreCheck struct {
	l       *Ledger
	trust   *ticket.TrustStore
	applied uint64
	now     time.Time
}

func (l *Ledger) newRestoreCheck() *restoreCheck {
	trust := ticket.NewTrustStore(l.trust.Roots()...)
	for _, c := range l.trust.Issuers() {
		_ = trust.AddIssuer(c) // verified when the ledger trusted it
	}
	for _, c := range l.trust.Devices() {
		_ = trust.AddDevice(c)
	}
	return &restoreCheck{l: l, trust: trust, applied: l.ManifestSeq(), now: l.cfg.Clock.Now()}
}

// change verifies a manifest change the ledger does not hold yet and
// learns the certificates and revocations it carries.
func (rc *restoreCheck) change(raw []byte) error {
	c, err := manifest.Parse(bytes.TrimSpace(raw))
	if err != nil {
		return err
	}
	if c.Seq <= rc.applied {
		return nil // held already: applying compares it with what is held
	}
	if err := c.Verify(rc.trust, rc.now); err != nil {
		return err
	}
	if manifest.NeedsPrivate(rc.l.id.Cert.Role) && !c.Complete() {
		return fmt.Errorf("%w: change %d (a backup of a device whose role keeps no private parts)", ErrIncomplete, c.Seq)
	}
	body, err := rc.l.decode(&c)
	if err != nil {
		return err
	}
	learnTrust(rc.trust, body) // a certificate refused here is refused when applied too
	if c.Seq == rc.applied+1 {
		rc.applied = c.Seq
	}
	return nil
}

// records verifies each record's signature by the device that made it.
func (rc *restoreCheck) records(raws [][]byte) error {
	_, errs := record.VerifyBatch(raws, func(r *record.Record) (ed25519.PublicKey, error) {
		cert, ok := rc.trust.Device(r.Origin, r.HLC.Time())
		if !ok {
			return nil, fmt.Errorf("record %s: no certificate in the ledger or the backup for its device", r.ID())
		}
		return cert.Key, nil
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
