package store

import (
	"context"
	"fmt"
	"time"
)

// Room is an event's on-sale waiting room.
type Room struct {
	Event uint64
	// Rate is how many buyers are admitted a minute after the first
	// Burst, from Opens; AdmitLife how long an admitted buyer has.
	Rate, Burst int64
	Opens       time.Time
	AdmitLife   time.Duration
	Active      bool
	Arrivals    int64
}

// PutRoom creates or changes an event's room; its arrivals stay.
func (t *Tx) PutRoom(r Room) error {
	_, err := t.exec(`INSERT INTO shop_rooms (event, rate, burst, opens, admit_life, active, arrivals) VALUES ($1, $2, $3, $4, $5, $6, 0)
		ON CONFLICT (event) DO UPDATE SET rate = $2, burst = $3, opens = $4, admit_life = $5, active = $6`,
		int64(r.Event), r.Rate, r.Burst, micros(r.Opens), r.AdmitLife.Microseconds(), boolInt(r.Active))
	if err != nil {
		return fmt.Errorf("put room %d: %w", r.Event, err)
	}
	return nil
}

// Room reads an event's room; none is ErrNotFound.
func (d *DB) Room(ctx context.Context, event uint64) (Room, error) {
	r := Room{Event: event}
	var opens, life int64
	var active int
	err := d.db.QueryRowContext(ctx, `SELECT rate, burst, opens, admit_life, active, arrivals FROM shop_rooms WHERE event = $1`, int64(event)).
		Scan(&r.Rate, &r.Burst, &opens, &life, &active, &r.Arrivals)
	r.Opens, r.AdmitLife, r.Active = fromMicros(opens), time.Duration(life)*time.Microsecond, active == 1
	return r, notFound(err, fmt.Sprintf("room of event %d", event))
}

// QueueEntry is one arrival in a waiting room: its place is Seq.
type QueueEntry struct {
	Event   uint64
	Seq     int64
	Account int64
	Arrived time.Time
}

// JoinQueue numbers a new arrival in an event's room (the room's row lock
// orders arrivals across processes) and stores its token's hash.
func (t *Tx) JoinQueue(event uint64, hash []byte, account int64, now time.Time) (int64, error) {
	var seq int64
	err := t.queryRow(`UPDATE shop_rooms SET arrivals = arrivals + 1 WHERE event = $1 RETURNING arrivals`, int64(event)).Scan(&seq)
	if err != nil {
		return 0, notFound(err, fmt.Sprintf("room of event %d", event))
	}
	if _, err := t.exec(`INSERT INTO shop_queue (token_hash, event, seq, account, arrived) VALUES ($1, $2, $3, $4, $5)`,
		hash, int64(event), seq, account, micros(now)); err != nil {
		return 0, fmt.Errorf("join room %d: %w", event, err)
	}
	return seq, nil
}

// QueueEntry reads an arrival by its token's hash.
func (d *DB) QueueEntry(ctx context.Context, hash []byte) (QueueEntry, error) {
	var e QueueEntry
	var ev, arrived int64
	err := d.db.QueryRowContext(ctx, `SELECT event, seq, account, arrived FROM shop_queue WHERE token_hash = $1`, hash).Scan(&ev, &e.Seq, &e.Account, &arrived)
	e.Event, e.Arrived = uint64(ev), fromMicros(arrived)
	return e, notFound(err, "waiting-room token")
}

// BindQueue ties an arrival to the account that uses it first and reports
// whether it is that account's.
func (d *DB) BindQueue(ctx context.Context, hash []byte, account int64) (bool, error) {
	res, err := d.db.ExecContext(ctx, `UPDATE shop_queue SET account = $2 WHERE token_hash = $1 AND (account = 0 OR account = $2)`, hash, account)
	if err != nil {
		return false, fmt.Errorf("waiting-room token: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
