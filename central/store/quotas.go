package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SellerSerialMin is the first serial of the range central keeps for seller
// quotas. Central's online issuer numbers each event's tickets from 1 and
// stops below it; seller blocks are carved from it upwards, one counter per
// event, so no block overlaps another or central's own tickets. A billion
// online tickets per event is far beyond any venue, and a serial of this
// size still takes only five bytes of a code.
const SellerSerialMin uint64 = 1_000_000_000

// Quota states.
const (
	QuotaActive  = "active"
	QuotaCapped  = "capped"  // the serials above KeptMax are revoked
	QuotaRevoked = "revoked" // every unsold serial is revoked
)

// Quota is a block of serials of one event and ticket type that a seller
// device may sell offline, with the issuer certificate central signed for
// the device's key and the price it sells at.
type Quota struct {
	ID        int64
	Device    string
	Venue     string
	Event     uint64
	Type      uint64
	SerialMin uint64
	SerialMax uint64
	Zones     uint64
	NotBefore time.Time
	NotAfter  time.Time
	Price     int64 // minor units of Currency, one ticket
	Currency  string
	Cert      string // the signed ticket.IssuerCert, JSON
	Status    string
	KeptMax   uint64 // the last serial still sellable: SerialMax, lower once capped, SerialMin-1 once revoked
	Reason    string // why it was capped or revoked
	Asked     bool   // granted on the device's own request
	Created   time.Time
	Changed   time.Time
}

// SellerLimit bounds what a seller device may ask for itself, for one
// event and type: blocks of Block serials, while it holds at most MaxTotal.
type SellerLimit struct {
	Device   string
	Event    uint64
	Type     uint64
	Block    uint64
	MaxTotal uint64
}

// ReserveSellerSerials takes the next n serials of an event's seller range,
// returning the first and last.
func (t *Tx) ReserveSellerSerials(event, n uint64) (uint64, uint64, error) {
	if n == 0 {
		return 0, 0, errors.New("reserve seller serials: none asked for")
	}
	v, err := t.Next(fmt.Sprintf("seller-serial:%d", event), int64(n))
	if err != nil {
		return 0, 0, err
	}
	last := SellerSerialMin + uint64(v) - 1
	return last - n + 1, last, nil
}

// AddQuota stores a new quota and returns its id.
func (t *Tx) AddQuota(q Quota) (int64, error) {
	var id int64
	err := t.queryRow(`INSERT INTO seller_quotas (device, venue, event, type, serial_min, serial_max, zones, not_before, not_after,
		price, currency, cert, status, kept_max, asked, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		RETURNING id`,
		q.Device, q.Venue, int64(q.Event), int64(q.Type), int64(q.SerialMin), int64(q.SerialMax), int64(q.Zones), micros(q.NotBefore),
		micros(q.NotAfter), q.Price, q.Currency, q.Cert, QuotaActive, int64(q.SerialMax), boolInt(q.Asked), micros(q.Created)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("add quota of %s: %w", q.Device, err)
	}
	return id, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

const quotaColumns = `id, device, venue, event, type, serial_min, serial_max, zones, not_before, not_after, price, currency, cert,
	status, kept_max, reason, asked, created, changed`

func scanQuota(s interface{ Scan(...any) error }) (Quota, error) {
	var q Quota
	var ev, typ, smin, smax, zones, nb, na, kept, created, changed int64
	var asked int
	err := s.Scan(&q.ID, &q.Device, &q.Venue, &ev, &typ, &smin, &smax, &zones, &nb, &na, &q.Price, &q.Currency, &q.Cert,
		&q.Status, &kept, &q.Reason, &asked, &created, &changed)
	q.Event, q.Type, q.SerialMin, q.SerialMax, q.Zones, q.KeptMax = uint64(ev), uint64(typ), uint64(smin), uint64(smax), uint64(zones), uint64(kept)
	q.NotBefore, q.NotAfter, q.Created, q.Changed, q.Asked = fromMicros(nb), fromMicros(na), fromMicros(created), fromMicros(changed), asked != 0
	return q, err
}

// Quota reads one quota.
func (t *Tx) Quota(id int64) (Quota, error) {
	q, err := scanQuota(t.queryRow(`SELECT `+quotaColumns+` FROM seller_quotas WHERE id = $1`, id))
	return q, notFound(err, fmt.Sprintf("quota %d", id))
}

// QuotaOf finds the quota whose block holds a serial of an event.
func (t *Tx) QuotaOf(event, serial uint64) (Quota, error) {
	q, err := scanQuota(t.queryRow(`SELECT `+quotaColumns+` FROM seller_quotas WHERE event = $1 AND serial_min <= $2 AND serial_max >= $2`,
		int64(event), int64(serial)))
	return q, notFound(err, fmt.Sprintf("quota of %d/%d", event, serial))
}

// CapQuota keeps a quota's serials up to keptMax and records why.
func (t *Tx) CapQuota(id int64, keptMax uint64, status, reason string, at time.Time) error {
	_, err := t.exec(`UPDATE seller_quotas SET kept_max = $2, status = $3, reason = $4, changed = $5 WHERE id = $1`,
		id, int64(keptMax), status, reason, micros(at))
	if err != nil {
		return fmt.Errorf("cap quota %d: %w", id, err)
	}
	return nil
}

// Quotas lists the quotas of a device, or of every device when device is
// empty, in the order allocated.
func (d *DB) Quotas(ctx context.Context, device string) ([]Quota, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+quotaColumns+` FROM seller_quotas WHERE device = $1 OR $1 = '' ORDER BY id`, device)
	if err != nil {
		return nil, fmt.Errorf("quotas: %w", err)
	}
	defer rows.Close()
	var out []Quota
	for rows.Next() {
		q, err := scanQuota(rows)
		if err != nil {
			return nil, fmt.Errorf("quotas: %w", err)
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// HeldSerials is how many sellable serials a device holds of an event and
// type: the kept part of its quotas.
func (t *Tx) HeldSerials(device string, event, typ uint64) (uint64, error) {
	var n sql.NullInt64
	err := t.queryRow(`SELECT SUM(kept_max - serial_min + 1) FROM seller_quotas WHERE device = $1 AND event = $2 AND type = $3
		AND kept_max >= serial_min`, device, int64(event), int64(typ)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("serials held by %s: %w", device, err)
	}
	return uint64(n.Int64), nil
}

// PutSellerLimit sets what a device may ask for itself.
func (t *Tx) PutSellerLimit(l SellerLimit) error {
	_, err := t.exec(`INSERT INTO seller_limits (device, event, type, block, max_total) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (device, event, type) DO UPDATE SET block = $4, max_total = $5`,
		l.Device, int64(l.Event), int64(l.Type), int64(l.Block), int64(l.MaxTotal))
	if err != nil {
		return fmt.Errorf("seller limit of %s: %w", l.Device, err)
	}
	return nil
}

// SellerLimit reads what a device may ask for itself; ErrNotFound when ops
// set nothing.
func (t *Tx) SellerLimit(device string, event, typ uint64) (SellerLimit, error) {
	l := SellerLimit{Device: device, Event: event, Type: typ}
	var block, total int64
	err := t.queryRow(`SELECT block, max_total FROM seller_limits WHERE device = $1 AND event = $2 AND type = $3`,
		device, int64(event), int64(typ)).Scan(&block, &total)
	l.Block, l.MaxTotal = uint64(block), uint64(total)
	return l, notFound(err, fmt.Sprintf("seller limit of %s for %d/%d", device, event, typ))
}

// SoldSerials returns the serials of an event between lo and hi that
// central holds a seller line of kind saleKind for (a sale arrived).
func (t *Tx) SoldSerials(saleKind int, event, lo, hi uint64) (map[uint64]bool, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT DISTINCT serial FROM seller_lines WHERE kind = $1 AND event = $2 AND serial >= $3 AND serial <= $4`,
		saleKind, int64(event), int64(lo), int64(hi))
	if err != nil {
		return nil, fmt.Errorf("sold serials: %w", err)
	}
	defer rows.Close()
	out := map[uint64]bool{}
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out[uint64(s)] = true
	}
	return out, rows.Err()
}
