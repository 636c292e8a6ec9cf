package pricing

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Rounding says how a division that does not come out even is rounded to
// whole minor units. There is no default: the zero Rounding is an error, so
// every percentage in a promotion or a fee names its mode.
type Rounding uint8

const (
	// RoundHalfEven: to the nearest, a half to the even neighbour (banker's
	// rounding): 0.5 → 0, 1.5 → 2, 2.5 → 2. No bias over many sums.
	RoundHalfEven Rounding = iota + 1
	// RoundHalfUp: to the nearest, a half away from zero: 0.5 → 1, -0.5 → -1
	// (what a till and most people expect).
	RoundHalfUp
	// RoundHalfDown: to the nearest, a half toward zero: 0.5 → 0.
	RoundHalfDown
	// RoundDown: toward zero (truncate): 1.9 → 1, -1.9 → -1.
	RoundDown
	// RoundUp: away from zero: 1.1 → 2, -1.1 → -2.
	RoundUp
)

var roundingNames = [...]string{"", "half_even", "half_up", "half_down", "down", "up"}

func (r Rounding) String() string {
	if int(r) < len(roundingNames) && r != 0 {
		return roundingNames[r]
	}
	return "rounding(" + strconv.Itoa(int(r)) + ")"
}

// MarshalText writes the mode's name, "half_even".
func (r Rounding) MarshalText() ([]byte, error) {
	if err := r.valid(); err != nil {
		return nil, err
	}
	return []byte(r.String()), nil
}

// UnmarshalText reads a mode's name.
func (r *Rounding) UnmarshalText(b []byte) error {
	for i, n := range roundingNames {
		if n != "" && n == string(b) {
			*r = Rounding(i)
			return nil
		}
	}
	return fmt.Errorf("rounding %q: want one of half_even, half_up, half_down, down, up", b)
}

func (r Rounding) valid() error {
	if r == 0 || int(r) >= len(roundingNames) {
		return fmt.Errorf("rounding mode not set: name one (half_even, half_up, …)")
	}
	return nil
}

// Rate is a ratio in basis points: 1% is 100, 100% is 10000, 12.5% is 1250.
// Discounts and fees are rates of an amount.
type Rate int64

// Whole is 100%.
const Whole Rate = 10000

// Percent is p whole percent: Percent(20) is 20%.
func Percent(p int64) Rate { return Rate(p * 100) }

// ParseRate reads "20%", "12.5%" or "12.5" (percent, at most two decimals).
func ParseRate(s string) (Rate, error) {
	m, err := Parse(strings.TrimSuffix(s, "%"), rateUnits)
	if err != nil {
		return 0, fmt.Errorf("parse rate %q: want a percentage with at most two decimals", s)
	}
	return Rate(m.minor), nil
}

// rateUnits lets Parse read percentages: two decimals, like CNY.
var rateUnits = Currency{code: "%", digits: 2}

// String is "12.5%".
func (r Rate) String() string {
	s := formatDecimal(int64(r), 2, "")
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}

// MarshalText writes "12.5%".
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads what ParseRate reads.
func (r *Rate) UnmarshalText(b []byte) error {
	v, err := ParseRate(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Of is r of m, rounded by mode: Percent(20).Of(¥128.00, RoundHalfEven) is
// ¥25.60.
func (r Rate) Of(m Money, mode Rounding) (Money, error) {
	v, err := m.MulDiv(int64(r), int64(Whole), mode)
	if err != nil {
		return Money{}, fmt.Errorf("%s of %s: %w", r, m, err)
	}
	return v, nil
}

// MulDiv is m × num ÷ den, rounded by mode, computed in 128 bits so the
// product never overflows on the way; den must be positive.
func (m Money) MulDiv(num, den int64, mode Rounding) (Money, error) {
	q, _, err := mulDiv(m.minor, num, den, mode)
	if err != nil {
		return Money{}, err
	}
	return Money{q, m.cur}, nil
}

// mulDiv returns a × num ÷ den rounded by mode, and the magnitude of the
// remainder before rounding.
func mulDiv(a, num, den int64, mode Rounding) (int64, uint64, error) {
	if err := mode.valid(); err != nil {
		return 0, 0, err
	}
	if den <= 0 {
		return 0, 0, fmt.Errorf("divide by %d: the divisor must be positive", den)
	}
	neg := (a < 0) != (num < 0)
	ua, un := abs64(a), abs64(num)
	hi, lo := bits.Mul64(ua, un)
	ud := uint64(den)
	if hi >= ud {
		return 0, 0, ErrOverflow
	}
	q, r := bits.Div64(hi, lo, ud)
	up := false
	switch mode {
	case RoundUp:
		up = r > 0
	case RoundDown:
	case RoundHalfUp:
		up = r >= ud-r
	case RoundHalfDown:
		up = r > ud-r
	case RoundHalfEven:
		up = r > ud-r || r == ud-r && q%2 == 1
	}
	if r == 0 {
		up = false
	}
	if up {
		q++
	}
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	if q > limit || q == 0 && up {
		return 0, 0, ErrOverflow
	}
	if neg {
		return int64(-q), r, nil
	}
	return int64(q), r, nil
}

func abs64(v int64) uint64 {
	if v < 0 {
		return -uint64(v)
	}
	return uint64(v)
}
