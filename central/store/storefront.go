package store

import (
	"context"
	"fmt"
)

// RecentAccountOrders lists the ids of a buyer's orders, newest first, at most
// limit.
func (d *DB) RecentAccountOrders(ctx context.Context, account int64, limit int) ([]int64, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id FROM shop_orders WHERE account = $1 ORDER BY id DESC LIMIT $2`, account, limit)
	if err != nil {
		return nil, fmt.Errorf("orders of account %d: %w", account, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("orders of account %d: %w", account, err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// DeleteShopToken removes a buyer's token of a kind (a session at
// logout); an unknown one is not an error.
func (t *Tx) DeleteShopToken(hash []byte, kind string) error {
	if _, err := t.exec(`DELETE FROM shop_tokens WHERE hash = $1 AND kind = $2`, hash, kind); err != nil {
		return fmt.Errorf("delete %s token: %w", kind, err)
	}
	return nil
}
