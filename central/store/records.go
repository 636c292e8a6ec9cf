package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Record is a device's ledger record as central keeps it: the bytes the
// origin signed, and the fields reports and reconciliation read.
type Record struct {
	Origin string // the origin device's key id
	Seq    uint64
	Hash   []byte // SHA-256 of Raw
	Prev   []byte // hash of the origin's record Seq-1; nil for Seq 1
	Raw    []byte
	Kind   int
	Event  uint64
	Serial uint64
	Type   uint64
	Gate   string
	Zone   int
	At     time.Time // the record's own time, by its origin's clock
}

// Outcome is what StoreRecords did with one record.
type Outcome int

const (
	Stored    Outcome = iota + 1 // new, appended to its origin's log
	Duplicate                    // held already, byte for byte
	Gap                          // does not follow the origin's last record held: not stored
	Fork                         // another record holds its number: not stored
)

func (o Outcome) String() string {
	return [...]string{"", "stored", "duplicate", "gap", "fork"}[o]
}

// StoreRecords appends records to their origins' logs in one transaction.
// A record is stored only when it follows the last record held of its
// origin (sequence and hash chain), so each origin's log at central has no
// gaps and its acknowledgement is its length; one held already is a
// duplicate. Records must be verified before they come here; order them by
// origin and sequence. arrived and via (the device that uploaded them) are
// stored with each.
func (d *DB) StoreRecords(ctx context.Context, recs []Record, arrived time.Time, via string) ([]Outcome, error) {
	// Two central processes storing one origin's records at once: the ack
	// row serializes them on PostgreSQL (FOR UPDATE); an origin's very first
	// records have no row yet, and the loser of that race meets the
	// primary key and runs again, finding the winner's records held.
	for attempt := 0; ; attempt++ {
		out, err := d.storeRecords(ctx, recs, arrived, via)
		if err != nil && attempt < 3 && uniqueViolation(err) {
			continue
		}
		return out, err
	}
}

func (d *DB) storeRecords(ctx context.Context, recs []Record, arrived time.Time, via string) ([]Outcome, error) {
	var out []Outcome
	err := d.Update(ctx, func(tx *Tx) error {
		out = make([]Outcome, len(recs))
		type head struct {
			seq   uint64
			hash  []byte
			moved bool
		}
		heads := map[string]*head{}
		var insert []*Record
		for i := range recs {
			r := &recs[i]
			h := heads[r.Origin]
			if h == nil {
				seq, hash, err := tx.ack(r.Origin)
				if err != nil {
					return err
				}
				h = &head{seq: seq, hash: hash}
				heads[r.Origin] = h
			}
			switch {
			case r.Seq <= h.seq:
				held, err := tx.recordHash(r.Origin, r.Seq)
				if err != nil {
					return err
				}
				if bytes.Equal(held, r.Hash) {
					out[i] = Duplicate
				} else {
					out[i] = Fork
				}
				continue
			case r.Seq != h.seq+1 || !bytes.Equal(r.Prev, h.hash):
				out[i] = Gap
				continue
			}
			insert = append(insert, r)
			out[i] = Stored
			h.seq, h.hash, h.moved = r.Seq, r.Hash, true
		}
		if err := tx.insertRecords(insert, arrived, via); err != nil {
			return err
		}
		for origin, h := range heads {
			if !h.moved {
				continue
			}
			_, err := tx.exec(`INSERT INTO acks (origin, seq, hash, updated) VALUES ($1, $2, $3, $4)
				ON CONFLICT (origin) DO UPDATE SET seq = $2, hash = $3, updated = $4`, origin, int64(h.seq), h.hash, micros(arrived))
			if err != nil {
				return fmt.Errorf("ack %s: %w", origin, err)
			}
		}
		return nil
	})
	return out, err
}

// recordsPerInsert is how many rows one INSERT carries: 13 parameters
// each, within PostgreSQL's 65535 and SQLite's 32766; one round trip per
// few hundred records instead of per record.
const recordsPerInsert = 500

func (t *Tx) insertRecords(recs []*Record, arrived time.Time, via string) error {
	for len(recs) > 0 {
		n := min(len(recs), recordsPerInsert)
		var q strings.Builder
		q.WriteString(`INSERT INTO records (origin, seq, hash, raw, kind, event, serial, type, gate, zone, at, arrived, via) VALUES `)
		args := make([]any, 0, n*13)
		for i, r := range recs[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteByte('(')
			for j := 1; j <= 13; j++ {
				if j > 1 {
					q.WriteString(", ")
				}
				// SQLite binds $N by name, one lookup per parameter
				// among all of them: plain ? is linear.
				if t.d.dialect == SQLite {
					q.WriteByte('?')
				} else {
					q.WriteByte('$')
					q.WriteString(strconv.Itoa(i*13 + j))
				}
			}
			q.WriteByte(')')
			args = append(args, r.Origin, int64(r.Seq), r.Hash, r.Raw, r.Kind, int64(r.Event), int64(r.Serial), int64(r.Type), r.Gate, r.Zone,
				micros(r.At), micros(arrived), via)
		}
		if _, err := t.exec(q.String(), args...); err != nil {
			return fmt.Errorf("store %d records from %s/%d: %w", n, recs[0].Origin, recs[0].Seq, err)
		}
		recs = recs[n:]
	}
	return nil
}

// ack is an origin's acknowledged head: the sequence and hash of its last
// record held, 0 and nil when none.
func (t *Tx) ack(origin string) (uint64, []byte, error) {
	var seq int64
	var hash []byte
	q := `SELECT seq, hash FROM acks WHERE origin = $1`
	if t.d.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	err := t.queryRow(q, origin).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("ack %s: %w", origin, err)
	}
	return uint64(seq), hash, nil
}

func (t *Tx) recordHash(origin string, seq uint64) ([]byte, error) {
	var hash []byte
	err := t.queryRow(`SELECT hash FROM records WHERE origin = $1 AND seq = $2`, origin, int64(seq)).Scan(&hash)
	if err != nil {
		return nil, fmt.Errorf("record %s/%d: %w", origin, seq, err)
	}
	return hash, nil
}

// Acks returns every origin's acknowledged sequence: its records 1 to that
// number are held.
func (d *DB) Acks(ctx context.Context) (map[string]uint64, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT origin, seq FROM acks`)
	if err != nil {
		return nil, fmt.Errorf("acks: %w", err)
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var o string
		var seq int64
		if err := rows.Scan(&o, &seq); err != nil {
			return nil, err
		}
		out[o] = uint64(seq)
	}
	return out, rows.Err()
}

// Records calls fn for every record of an event's ticket, or of the whole
// event when serial is 0, in arrival order.
func (d *DB) Records(ctx context.Context, event, serial uint64, fn func(Record, time.Time, string) error) error {
	rows, err := d.db.QueryContext(ctx, `SELECT origin, seq, hash, raw, kind, event, serial, type, gate, zone, at, arrived, via
		FROM records WHERE event = $1 AND (serial = $2 OR $2 = 0) ORDER BY arrived, origin, seq`, int64(event), int64(serial))
	if err != nil {
		return fmt.Errorf("records of %d: %w", event, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Record
		var seq, ev, ser, typ, at, arrived int64
		var via string
		if err := rows.Scan(&r.Origin, &seq, &r.Hash, &r.Raw, &r.Kind, &ev, &ser, &typ, &r.Gate, &r.Zone, &at, &arrived, &via); err != nil {
			return fmt.Errorf("records: %w", err)
		}
		r.Seq, r.Event, r.Serial, r.Type, r.At = uint64(seq), uint64(ev), uint64(ser), uint64(typ), fromMicros(at)
		if err := fn(r, fromMicros(arrived), via); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Refusal is a record central would not store, and why.
type Refusal struct {
	Record string // origin/seq, or what could be read of it
	Reason string // a short code: bad_signature, unknown_origin, gap, fork, malformed
	Detail string
	Via    string
	At     time.Time
}

// AddRefusals keeps refused records' reasons for ops to see.
func (d *DB) AddRefusals(ctx context.Context, rs []Refusal) error {
	if len(rs) == 0 {
		return nil
	}
	return d.Update(ctx, func(tx *Tx) error {
		for _, r := range rs {
			if _, err := tx.exec(`INSERT INTO refusals (record, reason, detail, via, at) VALUES ($1, $2, $3, $4, $5)`,
				r.Record, r.Reason, r.Detail, r.Via, micros(r.At)); err != nil {
				return fmt.Errorf("refusal: %w", err)
			}
		}
		return nil
	})
}
