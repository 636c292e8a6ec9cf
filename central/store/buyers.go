package store

import (
	"context"
	"fmt"
)

// BuyerFigures are the buyers' behaviour over a period: how many bought,
// how many of them have bought for more than one event (repeat buyers),
// how long after a type went on sale its tickets sold (hours, counted per
// ticket of the online channel with a sale start), and the other events
// the same buyers bought for.
type BuyerFigures struct {
	Buyers, Repeat int64
	// SinceOnSale counts tickets by whole hours from their type's sale
	// start to the sale.
	SinceOnSale map[int64]int64
	// AlsoBought is, for an event filter, the other events its buyers
	// bought for, with how many of them did, most first (at most 10).
	AlsoBought []EventBuyers
}

// EventBuyers is how many buyers of one event bought for another.
type EventBuyers struct {
	Event  uint64
	Buyers int64
}

// Buyers computes the buyer figures of the tickets f selects.
func (d *DB) Buyers(ctx context.Context, f SalesFilter) (BuyerFigures, error) {
	from, until := micros(f.From), micros(f.Until)
	if f.Until.IsZero() {
		until = 1 << 60
	}
	out := BuyerFigures{SinceOnSale: map[int64]int64{}}
	err := d.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN (SELECT COUNT(DISTINCT g.event) FROM sales_facts g WHERE g.buyer = b.buyer) > 1 THEN 1 ELSE 0 END), 0)
		FROM (SELECT DISTINCT buyer FROM sales_facts WHERE buyer <> 0 AND sold_at >= $1 AND sold_at < $2 AND ($3 = 0 OR event = $3)) b`,
		from, until, int64(f.Event)).Scan(&out.Buyers, &out.Repeat)
	if err != nil {
		return out, fmt.Errorf("buyers: %w", err)
	}
	rows, err := d.db.QueryContext(ctx, `SELECT (f.sold_at - o.sale_from) / 3600000000, COUNT(*) FROM sales_facts f
		JOIN shop_offers o ON o.event = f.event AND o.type = f.type
		WHERE f.channel = 'online' AND o.sale_from > 0 AND f.sold_at >= o.sale_from AND f.sold_at >= $1 AND f.sold_at < $2 AND ($3 = 0 OR f.event = $3)
		GROUP BY (f.sold_at - o.sale_from) / 3600000000`, from, until, int64(f.Event))
	if err != nil {
		return out, fmt.Errorf("buyers: time from on-sale: %w", err)
	}
	for rows.Next() {
		var h, n int64
		if err := rows.Scan(&h, &n); err != nil {
			rows.Close()
			return out, err
		}
		out.SinceOnSale[h] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, err
	}
	if f.Event == 0 {
		return out, nil
	}
	out.AlsoBought, err = d.AlsoBought(ctx, f.Event, 0, 10)
	return out, err
}

// AlsoBought lists the other events the buyers of event bought for, most
// buyers first, at most limit, of those with at least min buyers.
func (d *DB) AlsoBought(ctx context.Context, event uint64, min int64, limit int) ([]EventBuyers, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT g.event, COUNT(DISTINCT g.buyer) FROM sales_facts g
		WHERE g.event <> $1 AND g.refunded_at = 0 AND g.buyer IN (SELECT DISTINCT buyer FROM sales_facts WHERE event = $1 AND buyer <> 0 AND refunded_at = 0)
		GROUP BY g.event HAVING COUNT(DISTINCT g.buyer) >= $2 ORDER BY COUNT(DISTINCT g.buyer) DESC, g.event LIMIT $3`, int64(event), min, limit)
	if err != nil {
		return nil, fmt.Errorf("also bought with event %d: %w", event, err)
	}
	defer rows.Close()
	var out []EventBuyers
	for rows.Next() {
		var e EventBuyers
		var ev int64
		if err := rows.Scan(&ev, &e.Buyers); err != nil {
			return nil, err
		}
		e.Event = uint64(ev)
		out = append(out, e)
	}
	return out, rows.Err()
}
