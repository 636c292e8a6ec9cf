package store

import (
	"context"
	"fmt"
	"time"
)

// Allocation is complimentary tickets of a type granted to a sponsor:
// Granted of them, Issued so far to guests; the rest is held as the stock
// of HoldOrder.
type Allocation struct {
	ID        int64
	Event     uint64
	Type      uint64
	Sponsor   int64
	Granted   int64
	Issued    int64
	HoldOrder int64
	GrantedBy string
	Created   time.Time
}

// AddAllocation stores a grant.
func (t *Tx) AddAllocation(a Allocation) (int64, error) {
	var id int64
	err := t.queryRow(`INSERT INTO shop_allocations (event, type, sponsor, granted, issued, hold_order, granted_by, created)
		VALUES ($1, $2, $3, $4, 0, $5, $6, $7) RETURNING id`,
		int64(a.Event), int64(a.Type), a.Sponsor, a.Granted, a.HoldOrder, a.GrantedBy, micros(a.Created)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("add allocation: %w", err)
	}
	return id, nil
}

// Allocations lists a sponsor's grants (0: everyone's), oldest first.
func (d *DB) Allocations(ctx context.Context, sponsor int64) ([]Allocation, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, event, type, sponsor, granted, issued, hold_order, granted_by, created
		FROM shop_allocations WHERE CAST($1 AS BIGINT) = 0 OR sponsor = $1 ORDER BY id`, sponsor)
	if err != nil {
		return nil, fmt.Errorf("allocations: %w", err)
	}
	defer rows.Close()
	out := []Allocation{}
	for rows.Next() {
		var a Allocation
		var ev, typ, created int64
		if err := rows.Scan(&a.ID, &ev, &typ, &a.Sponsor, &a.Granted, &a.Issued, &a.HoldOrder, &a.GrantedBy, &created); err != nil {
			return nil, fmt.Errorf("allocations: %w", err)
		}
		a.Event, a.Type, a.Created = uint64(ev), uint64(typ), fromMicros(created)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Allocation reads one grant.
func (d *DB) Allocation(ctx context.Context, id int64) (Allocation, error) {
	var a Allocation
	var ev, typ, created int64
	err := d.db.QueryRowContext(ctx, `SELECT id, event, type, sponsor, granted, issued, hold_order, granted_by, created FROM shop_allocations WHERE id = $1`, id).
		Scan(&a.ID, &ev, &typ, &a.Sponsor, &a.Granted, &a.Issued, &a.HoldOrder, &a.GrantedBy, &created)
	a.Event, a.Type, a.Created = uint64(ev), uint64(typ), fromMicros(created)
	return a, notFound(err, fmt.Sprintf("allocation %d", id))
}

// IssueFromAllocation counts n more issued, unless fewer than n are left
// (ErrSoldOut): the same conditional update as stock.
func (t *Tx) IssueFromAllocation(id, n int64) error {
	res, err := t.exec(`UPDATE shop_allocations SET issued = issued + $2 WHERE id = $1 AND issued + $2 <= granted`, id, n)
	if err != nil {
		return fmt.Errorf("allocation %d: %w", id, err)
	}
	if k, err := res.RowsAffected(); err != nil || k != 1 {
		return fmt.Errorf("allocation %d: %w", id, ErrSoldOut)
	}
	return nil
}

// MoveHolds moves n of each of an order's holds to another order: the
// stock stays taken, now by the second.
func (t *Tx) MoveHolds(from, to, n int64) error {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT pool FROM shop_holds WHERE order_id = $1 ORDER BY pool`, from)
	if err != nil {
		return fmt.Errorf("move holds of %d: %w", from, err)
	}
	var pools []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return err
		}
		pools = append(pools, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, p := range pools {
		res, err := t.exec(`UPDATE shop_holds SET quantity = quantity - $3 WHERE order_id = $1 AND pool = $2 AND quantity >= $3`, from, p, n)
		if err != nil {
			return fmt.Errorf("move hold %s: %w", p, err)
		}
		if k, err := res.RowsAffected(); err != nil || k != 1 {
			return fmt.Errorf("move hold %s of order %d: %w", p, from, ErrSoldOut)
		}
		if _, err := t.exec(`INSERT INTO shop_holds (order_id, pool, quantity) VALUES ($1, $2, $3)`, to, p, n); err != nil {
			return fmt.Errorf("move hold %s: %w", p, err)
		}
	}
	return nil
}
