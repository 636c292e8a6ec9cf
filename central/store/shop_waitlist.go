package store

import (
	"context"
	"fmt"
	"time"
)

// WaitEntry is a buyer's place on a sold-out type's waiting list. Status
// is waiting, offered (Order holds the stock for them), bought, lapsed
// (the offer ran out or could not be made) or left.
type WaitEntry struct {
	ID        int64
	Event     uint64
	Type      uint64
	Account   int64
	Quantity  int
	Joined    time.Time
	Status    string
	Order     int64
	OfferedAt time.Time
}

const waitColumns = `id, event, type, account, quantity, joined, status, order_id, offered_at`

func scanWait(s interface{ Scan(...any) error }) (WaitEntry, error) {
	var w WaitEntry
	var ev, typ, joined, offered int64
	err := s.Scan(&w.ID, &ev, &typ, &w.Account, &w.Quantity, &joined, &w.Status, &w.Order, &offered)
	w.Event, w.Type, w.Joined, w.OfferedAt = uint64(ev), uint64(typ), fromMicros(joined), fromMicros(offered)
	return w, err
}

func (d *DB) waits(ctx context.Context, where string, args ...any) ([]WaitEntry, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+waitColumns+` FROM shop_waitlist `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("waiting list: %w", err)
	}
	defer rows.Close()
	out := []WaitEntry{}
	for rows.Next() {
		w, err := scanWait(rows)
		if err != nil {
			return nil, fmt.Errorf("waiting list: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// JoinWaitlist adds a place at the end of a type's line.
func (t *Tx) JoinWaitlist(w WaitEntry) (int64, error) {
	var id int64
	err := t.queryRow(`INSERT INTO shop_waitlist (event, type, account, quantity, joined, status) VALUES ($1, $2, $3, $4, $5, 'waiting') RETURNING id`,
		int64(w.Event), int64(w.Type), w.Account, w.Quantity, micros(w.Joined)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("join waiting list: %w", err)
	}
	return id, nil
}

// AccountWaits lists an account's places, oldest first.
func (d *DB) AccountWaits(ctx context.Context, account int64) ([]WaitEntry, error) {
	return d.waits(ctx, `WHERE account = $1 ORDER BY id`, account)
}

// FirstWaiting lists the first n still waiting for a type, in order.
func (d *DB) FirstWaiting(ctx context.Context, event, typ uint64, n int) ([]WaitEntry, error) {
	return d.waits(ctx, `WHERE event = $1 AND type = $2 AND status = 'waiting' ORDER BY id LIMIT $3`, int64(event), int64(typ), n)
}

// WaitByToken finds the place an offer's link was sent for.
func (d *DB) WaitByToken(ctx context.Context, hash []byte) (WaitEntry, error) {
	w, err := scanWait(d.db.QueryRowContext(ctx, `SELECT `+waitColumns+` FROM shop_waitlist WHERE token_hash = $1`, hash))
	return w, notFound(err, "waiting-list offer")
}

// WaitingCounts is how many wait per type of an event.
func (d *DB) WaitingCounts(ctx context.Context, event uint64) (map[uint64]int, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT type, COUNT(*) FROM shop_waitlist WHERE event = $1 AND status = 'waiting' GROUP BY type`, int64(event))
	if err != nil {
		return nil, fmt.Errorf("waiting list of %d: %w", event, err)
	}
	defer rows.Close()
	out := map[uint64]int{}
	for rows.Next() {
		var typ int64
		var n int
		if err := rows.Scan(&typ, &n); err != nil {
			return nil, err
		}
		out[uint64(typ)] = n
	}
	return out, rows.Err()
}

// WaitPosition is a waiting place's position in its line, 1 first.
func (d *DB) WaitPosition(ctx context.Context, w WaitEntry) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM shop_waitlist WHERE event = $1 AND type = $2 AND status = 'waiting' AND id <= $3`,
		int64(w.Event), int64(w.Type), w.ID).Scan(&n)
	return n, err
}

// OfferWait marks a waiting place offered with the order holding its
// stock, and reports false when it was not waiting any more.
func (t *Tx) OfferWait(id, order int64, hash []byte, now time.Time) (bool, error) {
	res, err := t.exec(`UPDATE shop_waitlist SET status = 'offered', order_id = $2, token_hash = $3, offered_at = $4 WHERE id = $1 AND status = 'waiting'`,
		id, order, hash, micros(now))
	if err != nil {
		return false, fmt.Errorf("offer place %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SettleWait ends the offer of an order: bought or lapsed.
func (t *Tx) SettleWait(order int64, status string) error {
	if _, err := t.exec(`UPDATE shop_waitlist SET status = $2 WHERE order_id = $1 AND status = 'offered'`, order, status); err != nil {
		return fmt.Errorf("settle offer of order %d: %w", order, err)
	}
	return nil
}

// SetWaitStatus moves a place from waiting to status (left, lapsed) and
// reports whether it did; account 0 matches any.
func (t *Tx) SetWaitStatus(id, account int64, status string) (bool, error) {
	res, err := t.exec(`UPDATE shop_waitlist SET status = $3 WHERE id = $1 AND (CAST($2 AS BIGINT) = 0 OR account = $2) AND status = 'waiting'`, id, account, status)
	if err != nil {
		return false, fmt.Errorf("place %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetOrderInstrument records the hash of the instrument an order is paid with.
func (t *Tx) SetOrderInstrument(order int64, instrument string) error {
	_, err := t.exec(`UPDATE shop_orders SET instrument = $2 WHERE id = $1`, order, instrument)
	return err
}

// EventLines is, in one query, whether an event's waiting room is on and
// how many wait per type on its waiting lists: what an order checks
// before it takes stock.
func (d *DB) EventLines(ctx context.Context, event uint64) (bool, map[uint64]int, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT type, COUNT(*) FROM shop_waitlist WHERE event = $1 AND status = 'waiting' GROUP BY type
		UNION ALL SELECT -1, active FROM shop_rooms WHERE event = $1`, int64(event))
	if err != nil {
		return false, nil, fmt.Errorf("lines of %d: %w", event, err)
	}
	defer rows.Close()
	room, waiting := false, map[uint64]int{}
	for rows.Next() {
		var typ int64
		var n int
		if err := rows.Scan(&typ, &n); err != nil {
			return false, nil, fmt.Errorf("lines of %d: %w", event, err)
		}
		if typ == -1 {
			room = n == 1
		} else {
			waiting[uint64(typ)] = n
		}
	}
	return room, waiting, rows.Err()
}
