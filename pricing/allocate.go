package pricing

import (
	"fmt"
	"math"
	"sort"
)

// Allocate divides total across weights without losing or making a minor
// unit: the shares sum to total exactly. Each share is total × weight ÷ Σ
// weights rounded toward zero; the units left over go one each to the
// shares with the largest remainders (the largest remainder method), ties
// to the earlier share, so the result is deterministic. A zero weight gets
// nothing; weights must not be negative and not all zero.
//
// Allocate(¥100.00, 1, 1, 1) is ¥33.34, ¥33.33, ¥33.33. A negative total is
// allocated as its magnitude, then negated.
func Allocate(total Money, weights ...int64) ([]Money, error) {
	if total.cur.IsZero() {
		return nil, fmt.Errorf("allocate: %w", ErrNoCurrency)
	}
	if len(weights) == 0 {
		return nil, fmt.Errorf("allocate %s: no shares", total)
	}
	if total.minor == math.MinInt64 {
		return nil, fmt.Errorf("allocate %s: %w", total, ErrOverflow)
	}
	var sum int64
	for i, w := range weights {
		if w < 0 {
			return nil, fmt.Errorf("allocate %s: weight %d is negative (%d)", total, i, w)
		}
		var ok bool
		if sum, ok = add64(sum, w); !ok {
			return nil, fmt.Errorf("allocate %s: weights sum: %w", total, ErrOverflow)
		}
	}
	if sum == 0 {
		return nil, fmt.Errorf("allocate %s: every weight is zero", total)
	}
	neg := total.minor < 0
	mag := total.minor
	if neg {
		mag = -mag
	}
	shares := make([]Money, len(weights))
	rems := make([]uint64, len(weights))
	left := mag
	for i, w := range weights {
		q, r, err := mulDiv(mag, w, sum, RoundDown)
		if err != nil {
			return nil, fmt.Errorf("allocate %s: %w", total, err)
		}
		shares[i] = Money{q, total.cur}
		rems[i] = r
		left -= q
	}
	// left < len(weights): each share lost less than one unit.
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return rems[order[a]] > rems[order[b]] })
	for _, i := range order[:left] {
		shares[i].minor++
	}
	if neg {
		for i := range shares {
			shares[i].minor = -shares[i].minor
		}
	}
	return shares, nil
}

// Split divides total into n shares as equal as can be: the first shares get
// the extra units. Split(¥100.00, 3) is ¥33.34, ¥33.33, ¥33.33.
func Split(total Money, n int) ([]Money, error) {
	if n <= 0 {
		return nil, fmt.Errorf("split %s into %d shares: want at least one", total, n)
	}
	w := make([]int64, n)
	for i := range w {
		w[i] = 1
	}
	return Allocate(total, w...)
}
