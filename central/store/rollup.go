package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The sales reports read a month of a million tickets from an hourly
// roll-up (sales_rollup) instead of the facts themselves, and stay exact:
//
//   - RollUpSales sums each hour of sale once it has settled (rollupAfter
//     after its end) and records how far it reaches (rolled_until);
//   - a sale or refund that lands in an hour that may be rolled already (a
//     roaming seller's upload of yesterday's sales, a refund) marks that
//     hour of its event dirty, and the reports read dirty hours from the
//     facts until RollUpSales recomputes them;
//   - entries (the no-shows' other side) arrive at any time: the roll-up
//     counts the admissions that reached central before entries_until, and
//     the reports add those that came since, a few minutes' worth;
//   - a report takes whole hours inside its period and before rolled_until
//     from the roll-up, and the rest (the period's ragged ends, the hours
//     not rolled yet, the dirty ones) from the facts, in one snapshot.
const (
	hourMicros = int64(time.Hour / time.Microsecond)
	// rollupAfter is how long after an hour ends RollUpSales rolls it; a
	// transaction that sells into an hour commits well within it.
	rollupAfter = 10 * time.Minute
	// rollupMarkAfter is how long after an hour ends a sale or refund in
	// it marks it dirty: before rollupAfter, so that no change falls
	// between the roll-up and the mark.
	rollupMarkAfter = 5 * time.Minute
	// entriesSettle: admissions that arrived this long ago are committed.
	entriesSettle = 5 * time.Minute
	// rollupStep is the most hours of sale one roll-up transaction sums,
	// so that catching up never holds the database's writers for long.
	rollupStep = 48
)

func init() { Tables = append(Tables, "sales_rollup", "sales_rollup_dirty", "sales_rollup_state") }

// hourSQL is the hour of sale of the facts aliased f, as hour_start.
const hourSQL = `(f.sold_at - f.sold_at % 3600000000)`

// markRolledUpChanged marks the hour of sale soldAt of event dirty when it
// may be rolled up already.
func (t *Tx) markRolledUpChanged(event uint64, soldAt int64) error {
	h := soldAt - soldAt%hourMicros
	if h+hourMicros > time.Now().Add(-rollupMarkAfter).UnixMicro() {
		return nil // not rolled yet, and will not be before this commits
	}
	_, err := t.exec(`INSERT INTO sales_rollup_dirty (event, hour_start) VALUES ($1, $2) ON CONFLICT DO NOTHING`, int64(event), h)
	if err != nil {
		return fmt.Errorf("sales roll-up: mark hour %d of event %d: %w", h, event, err)
	}
	return nil
}

// RollUpSales brings the sales roll-up up to date: the hours of sale that
// settled since the last run, the dirty hours again, and the admissions
// that arrived since. It returns how many hours it summed. Central runs it
// every half minute; it is safe to run at any time, from anywhere.
func (d *DB) RollUpSales(ctx context.Context) (int, error) {
	total := 0
	for {
		n, more, err := d.rollUpStep(ctx, time.Now())
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

// enteredSQL counts the facts f, not refunded, that a gate admitted (an
// entry, or a supervisor's override) by an admission that arrived before
// the parameter before.
func enteredSQL(before string) string {
	return `SUM(CASE WHEN f.refunded_at = 0 AND EXISTS (SELECT 1 FROM records e WHERE e.event = f.event AND e.serial = f.serial
	AND e.kind IN (1, 3) AND e.arrived < ` + before + `) THEN 1 ELSE 0 END)`
}

// rollupSums are the roll-up's columns, summed from the facts f; $1 is
// entries_until.
var rollupSums = hourSQL + `, f.event, f.type, f.channel, f.method, f.region, f.age, f.currency, f.day, f.hour,
	COUNT(*), SUM(f.amount), SUM(CASE WHEN f.refunded_at > 0 THEN 1 ELSE 0 END), SUM(f.refund), ` + enteredSQL("$1")

const rollupGroup = ` GROUP BY ` + hourSQL + `, f.event, f.type, f.channel, f.method, f.region, f.age, f.currency, f.day, f.hour`

const rollupColumns = `INSERT INTO sales_rollup (hour_start, event, type, channel, method, region, age, currency, day, hour,
	tickets, revenue, refunded, refunds, entered) `

func (d *DB) rollUpStep(ctx context.Context, now time.Time) (hours int, more bool, err error) {
	limit := now.Add(-rollupAfter).UnixMicro()
	limit -= limit % hourMicros // hours before it have settled
	entries := now.Add(-entriesSettle).UnixMicro()
	err = d.Update(ctx, func(tx *Tx) error {
		hours, more = 0, false
		lock := `SELECT rolled_until, entries_until FROM sales_rollup_state WHERE id = 1`
		if d.dialect == Postgres {
			lock += ` FOR UPDATE`
		}
		var rolled, entered int64
		if err := tx.queryRow(lock).Scan(&rolled, &entered); err != nil {
			return fmt.Errorf("sales roll-up: %w", err)
		}
		newEntered := max(entered, entries)
		if rolled == 0 { // the first run starts at the first sale
			var first sql.NullInt64
			if err := tx.queryRow(`SELECT MIN(sold_at) FROM sales_facts`).Scan(&first); err != nil {
				return fmt.Errorf("sales roll-up: %w", err)
			}
			rolled = limit
			if first.Valid && first.Int64 < limit {
				rolled = first.Int64 - first.Int64%hourMicros
			}
		} else if newEntered > entered {
			// The first admissions of tickets in rolled hours that arrived
			// since the last run.
			_, err := tx.exec(`UPDATE sales_rollup SET entered = sales_rollup.entered + x.n FROM (
				SELECT `+hourSQL+` AS hs, f.event, f.type, f.channel, f.method, f.region, f.age, f.currency, f.day, f.hour, COUNT(*) AS n
				FROM sales_facts f WHERE (f.event, f.serial) IN (SELECT r.event, r.serial FROM records r
					WHERE r.arrived >= $1 AND r.arrived < $2 AND r.kind IN (1, 3) AND NOT EXISTS (SELECT 1 FROM records p
						WHERE p.event = r.event AND p.serial = r.serial AND p.kind IN (1, 3) AND p.arrived < $1))
				AND f.refunded_at = 0 AND f.sold_at < $3`+rollupGroup+`) x
				WHERE sales_rollup.hour_start = x.hs AND sales_rollup.event = x.event AND sales_rollup.type = x.type
				AND sales_rollup.channel = x.channel AND sales_rollup.method = x.method AND sales_rollup.region = x.region
				AND sales_rollup.age = x.age AND sales_rollup.currency = x.currency AND sales_rollup.day = x.day AND sales_rollup.hour = x.hour`,
				entered, newEntered, rolled)
			if err != nil {
				return fmt.Errorf("sales roll-up: entries: %w", err)
			}
		}
		// The dirty hours: forgotten first (a mark made meanwhile stays
		// for the next run), then summed again if they were rolled.
		rows, err := tx.tx.QueryContext(ctx, `SELECT event, hour_start FROM sales_rollup_dirty ORDER BY hour_start LIMIT 1000`)
		if err != nil {
			return fmt.Errorf("sales roll-up: %w", err)
		}
		var dirty [][2]int64
		for rows.Next() {
			var k [2]int64
			if err := rows.Scan(&k[0], &k[1]); err != nil {
				rows.Close()
				return err
			}
			dirty = append(dirty, k)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, k := range dirty {
			if _, err := tx.exec(`DELETE FROM sales_rollup_dirty WHERE event = $1 AND hour_start = $2`, k[0], k[1]); err != nil {
				return fmt.Errorf("sales roll-up: %w", err)
			}
			if k[1] >= rolled {
				continue // summed afresh below, or by a later run
			}
			if _, err := tx.exec(`DELETE FROM sales_rollup WHERE hour_start = $1 AND event = $2`, k[1], k[0]); err != nil {
				return fmt.Errorf("sales roll-up: %w", err)
			}
			_, err := tx.exec(rollupColumns+`SELECT `+rollupSums+` FROM sales_facts f
				WHERE f.event = $2 AND f.sold_at >= $3 AND f.sold_at < $4`+rollupGroup, newEntered, k[0], k[1], k[1]+hourMicros)
			if err != nil {
				return fmt.Errorf("sales roll-up: hour %d of event %d: %w", k[1], k[0], err)
			}
			hours++
		}
		more = len(dirty) == 1000
		if rolled < limit {
			until := min(limit, rolled+rollupStep*hourMicros)
			_, err := tx.exec(rollupColumns+`SELECT `+rollupSums+` FROM sales_facts f
				WHERE f.sold_at >= $2 AND f.sold_at < $3`+rollupGroup, newEntered, rolled, until)
			if err != nil {
				return fmt.Errorf("sales roll-up: hours from %d: %w", rolled, err)
			}
			hours += int((until - rolled) / hourMicros)
			more = more || until < limit
			rolled = until
		}
		_, err = tx.exec(`UPDATE sales_rollup_state SET rolled_until = $1, entries_until = $2 WHERE id = 1`, rolled, newEntered)
		return err
	})
	return hours, more, err
}

// SalesDimensions are what a sales report groups by, and the column each
// one is.
var SalesDimensions = map[string]string{
	"type":    "event, type",
	"event":   "event",
	"day":     "day",
	"hour":    "hour",
	"channel": "channel",
	"method":  "method",
	"region":  "region",
	"age":     "age",
}

// SalesFilter selects the tickets a report counts: sold from From
// (inclusive) until Until (exclusive), of Event when not 0.
type SalesFilter struct {
	From, Until time.Time
	Event       uint64
	// FactsOnly reads every ticket from the facts, not the roll-up (what
	// the roll-up is checked against).
	FactsOnly bool
}

// SalesRow is one group of a sales report, per currency.
type SalesRow struct {
	Event, Type uint64 // by type (both) or event
	Key         string // by day, hour, channel, method, region or age
	Currency    string
	Tickets     int64
	Revenue     int64 // what they sold for, minor units
	Refunded    int64 // tickets refunded
	Refunds     int64 // paid back, minor units
	// Entered is how many of them, not refunded, a gate admitted (by
	// type or event; the others not refunded are no-shows so far).
	Entered int64
}

// SalesReport sums the tickets sold by the dimension by (a key of
// SalesDimensions), in its order.
func (d *DB) SalesReport(ctx context.Context, by string, f SalesFilter) ([]SalesRow, error) {
	cols, ok := SalesDimensions[by]
	if !ok {
		return nil, fmt.Errorf("sales report: no dimension %q", by)
	}
	from, until := micros(f.From), micros(f.Until)
	if f.Until.IsZero() {
		until = 1 << 60
	}
	// One snapshot: the roll-up and the facts as of the same moment.
	opts := &sql.TxOptions{ReadOnly: true}
	if d.dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := d.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("sales report: %w", err)
	}
	defer tx.Rollback()
	// Whole hours inside the period and rolled up: [h1, h2).
	var rolled, entered int64
	if err := tx.QueryRowContext(ctx, `SELECT rolled_until, entries_until FROM sales_rollup_state WHERE id = 1`).Scan(&rolled, &entered); err != nil {
		return nil, fmt.Errorf("sales report: %w", err)
	}
	h1 := from + (hourMicros-from%hourMicros)%hourMicros
	h2 := min(until-until%hourMicros, rolled)
	if f.FactsOnly || h2 <= h1 {
		h1, h2 = until, until
	}
	withEntries := by == "type" || by == "event"
	qualified := "f." + strings.ReplaceAll(cols, ", ", ", f.")
	key := "''"
	switch by {
	case "hour":
		key = "CAST(f.hour AS TEXT)"
	case "type", "event":
	default:
		key = qualified
	}
	selEvent, selType := "0", "0"
	if withEntries {
		selEvent = "f.event"
	}
	if by == "type" {
		selType = "f.type"
	}
	sel := fmt.Sprintf(`SELECT %s, %s, %s, f.currency, `, selEvent, selType, key)
	group := ` GROUP BY ` + qualified + `, f.currency`
	notDirty := func(hour string) string {
		return ` AND NOT EXISTS (SELECT 1 FROM sales_rollup_dirty d WHERE d.event = f.event AND d.hour_start = ` + hour + `)`
	}
	// The facts outside the rolled hours, and in the dirty ones, with
	// every admission ($7 past any arrival).
	entries, rawArgs := "0", []any{from, min(h1, until), h2, until, int64(f.Event)}
	if withEntries {
		entries, rawArgs = enteredSQL("$6"), append(rawArgs, int64(1)<<60)
	}
	type query struct {
		q    string
		args []any
	}
	queries := []query{{sel + `COUNT(*), SUM(f.amount), SUM(CASE WHEN f.refunded_at > 0 THEN 1 ELSE 0 END), SUM(f.refund), ` + entries + ` FROM (
			SELECT * FROM sales_facts WHERE sold_at >= $1 AND sold_at < $2 AND ($5 = 0 OR event = $5)
			UNION ALL SELECT * FROM sales_facts WHERE sold_at >= $3 AND sold_at < $4 AND ($5 = 0 OR event = $5)
			UNION ALL SELECT s.* FROM sales_rollup_dirty d JOIN sales_facts s ON s.event = d.event AND s.sold_at >= d.hour_start AND s.sold_at < d.hour_start + 3600000000
				WHERE d.hour_start >= $2 AND d.hour_start < $3 AND ($5 = 0 OR d.event = $5)) f` + group,
		rawArgs}}
	if h1 < h2 {
		rolledEntries := "0"
		if withEntries {
			rolledEntries = "SUM(f.entered)"
		}
		// The rolled hours, and the admissions that arrived since the
		// roll-up counted them.
		queries = append(queries, query{sel + `SUM(f.tickets), SUM(f.revenue), SUM(f.refunded), SUM(f.refunds), ` + rolledEntries + ` FROM sales_rollup f
			WHERE f.hour_start >= $1 AND f.hour_start < $2 AND ($3 = 0 OR f.event = $3)` + notDirty("f.hour_start") + group,
			[]any{h1, h2, int64(f.Event)}})
		if withEntries {
			queries = append(queries, query{sel + `0, 0, 0, 0, COUNT(*) FROM sales_facts f WHERE (f.event, f.serial) IN (SELECT r.event, r.serial FROM records r
					WHERE r.arrived >= $1 AND r.kind IN (1, 3) AND NOT EXISTS (SELECT 1 FROM records p
						WHERE p.event = r.event AND p.serial = r.serial AND p.kind IN (1, 3) AND p.arrived < $1))
				AND f.refunded_at = 0 AND f.sold_at >= $2 AND f.sold_at < $3 AND ($4 = 0 OR f.event = $4)` + notDirty(hourSQL) + group,
				[]any{entered, h1, h2, int64(f.Event)}})
		}
	}
	type groupKey struct {
		event, typ    uint64
		key, currency string
	}
	sums := map[groupKey]*SalesRow{}
	for _, q := range queries {
		rows, err := tx.QueryContext(ctx, q.q, q.args...)
		if err != nil {
			return nil, fmt.Errorf("sales report by %s: %w", by, err)
		}
		for rows.Next() {
			var r SalesRow
			var ev, typ int64
			if err := rows.Scan(&ev, &typ, &r.Key, &r.Currency, &r.Tickets, &r.Revenue, &r.Refunded, &r.Refunds, &r.Entered); err != nil {
				rows.Close()
				return nil, err
			}
			r.Event, r.Type = uint64(ev), uint64(typ)
			k := groupKey{r.Event, r.Type, r.Key, r.Currency}
			if s := sums[k]; s != nil {
				s.Tickets += r.Tickets
				s.Revenue += r.Revenue
				s.Refunded += r.Refunded
				s.Refunds += r.Refunds
				s.Entered += r.Entered
			} else {
				sums[k] = &r
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sales report by %s: %w", by, err)
		}
	}
	out := make([]SalesRow, 0, len(sums))
	for _, r := range sums {
		if r.Tickets > 0 { // an admission counted without its sale is not a row
			out = append(out, *r)
		}
	}
	slices.SortFunc(out, func(a, b SalesRow) int {
		if by == "hour" {
			ha, _ := strconv.Atoi(a.Key)
			hb, _ := strconv.Atoi(b.Key)
			if c := cmp.Compare(ha, hb); c != 0 {
				return c
			}
		}
		return cmp.Or(cmp.Compare(a.Event, b.Event), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Key, b.Key), cmp.Compare(a.Currency, b.Currency))
	})
	return out, nil
}
