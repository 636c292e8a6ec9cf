package store

import (
	"context"
	"database/sql"
)

// Tx is one transaction of domain writes: everything done through it is
// stored together or not at all. Its methods live beside the nouns they
// write.
type Tx struct {
	ctx context.Context
	tx  *sql.Tx
	d   *DB
}

// Update runs fn in a transaction (see DB.Tx: it may run more than once on
// PostgreSQL, so fn must only touch the database through tx and compute
// what it returns afresh each time).
func (d *DB) Update(ctx context.Context, fn func(tx *Tx) error) error {
	return d.Tx(ctx, func(stx *sql.Tx) error { return fn(&Tx{ctx: ctx, tx: stx, d: d}) })
}

func (t *Tx) exec(query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.ctx, query, args...)
}

func (t *Tx) queryRow(query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(t.ctx, query, args...)
}

// Next increments a named counter and returns its new value.
func (t *Tx) Next(name string, by int64) (int64, error) { return next(t.ctx, t.tx, name, by) }
