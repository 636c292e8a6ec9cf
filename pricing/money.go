package pricing

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// Money is an amount in integer minor units of one currency: New(12800, CNY)
// is ¥128.00. There are no floats anywhere: amounts are int64 minor units,
// ratios are basis points, and every division names its rounding.
//
// Arithmetic returns an error instead of a wrong answer: mixing currencies
// (ErrCurrencyMismatch) or leaving the int64 range (ErrOverflow). The zero
// Money has no currency; Zero(c) is nothing in c.
type Money struct {
	minor int64
	cur   Currency
}

var (
	// ErrCurrencyMismatch: an operation on amounts of two currencies.
	ErrCurrencyMismatch = errors.New("currencies differ")
	// ErrOverflow: a result beyond the int64 range of minor units.
	ErrOverflow = errors.New("amount out of range")
	// ErrNoCurrency: an amount without a currency.
	ErrNoCurrency = errors.New("no currency")
)

// New is minor units of c: New(12800, CNY) is ¥128.00, New(500, JPY) ¥500.
func New(minor int64, c Currency) Money { return Money{minor: minor, cur: c} }

// Zero is nothing in c.
func Zero(c Currency) Money { return Money{cur: c} }

// Minor is the amount in minor units.
func (m Money) Minor() int64 { return m.minor }

// Currency is the amount's currency.
func (m Money) Currency() Currency { return m.cur }

// IsZero reports a zero amount (in any currency).
func (m Money) IsZero() bool { return m.minor == 0 }

// Sign is -1, 0 or 1.
func (m Money) Sign() int {
	switch {
	case m.minor < 0:
		return -1
	case m.minor > 0:
		return 1
	}
	return 0
}

func (m Money) same(o Money) error {
	if m.cur.IsZero() || o.cur.IsZero() {
		return ErrNoCurrency
	}
	if m.cur != o.cur {
		return fmt.Errorf("%w: %s and %s", ErrCurrencyMismatch, m.cur, o.cur)
	}
	return nil
}

// Add is m + o.
func (m Money) Add(o Money) (Money, error) {
	if err := m.same(o); err != nil {
		return Money{}, fmt.Errorf("add: %w", err)
	}
	s, ok := add64(m.minor, o.minor)
	if !ok {
		return Money{}, fmt.Errorf("add %s and %s: %w", m, o, ErrOverflow)
	}
	return Money{s, m.cur}, nil
}

// Sub is m - o.
func (m Money) Sub(o Money) (Money, error) {
	if err := m.same(o); err != nil {
		return Money{}, fmt.Errorf("subtract: %w", err)
	}
	if o.minor == math.MinInt64 {
		return Money{}, fmt.Errorf("subtract %s from %s: %w", o, m, ErrOverflow)
	}
	s, ok := add64(m.minor, -o.minor)
	if !ok {
		return Money{}, fmt.Errorf("subtract %s from %s: %w", o, m, ErrOverflow)
	}
	return Money{s, m.cur}, nil
}

// Neg is -m.
func (m Money) Neg() (Money, error) {
	if m.minor == math.MinInt64 {
		return Money{}, fmt.Errorf("negate %s: %w", m, ErrOverflow)
	}
	return Money{-m.minor, m.cur}, nil
}

// Mul is m × n, for a quantity n.
func (m Money) Mul(n int64) (Money, error) {
	p, ok := mul64(m.minor, n)
	if !ok {
		return Money{}, fmt.Errorf("multiply %s by %d: %w", m, n, ErrOverflow)
	}
	return Money{p, m.cur}, nil
}

// Cmp compares m and o: -1, 0 or 1; an error when the currencies differ.
func (m Money) Cmp(o Money) (int, error) {
	if err := m.same(o); err != nil {
		return 0, fmt.Errorf("compare: %w", err)
	}
	switch {
	case m.minor < o.minor:
		return -1, nil
	case m.minor > o.minor:
		return 1, nil
	}
	return 0, nil
}

// Min is the smaller of m and o (same currency).
func (m Money) Min(o Money) (Money, error) {
	c, err := m.Cmp(o)
	if err != nil {
		return Money{}, err
	}
	if c <= 0 {
		return m, nil
	}
	return o, nil
}

// Sum adds amounts of one currency; the sum of nothing is Zero(c).
func Sum(c Currency, amounts ...Money) (Money, error) {
	total := Zero(c)
	for _, a := range amounts {
		var err error
		if total, err = total.Add(a); err != nil {
			return Money{}, fmt.Errorf("sum: %w", err)
		}
	}
	return total, nil
}

// String is the ISO form, "128.00 CNY", for logs and errors; Format and
// Display are the forms for people.
func (m Money) String() string {
	if m.cur.IsZero() {
		return fmt.Sprintf("%d (no currency)", m.minor)
	}
	return m.Format() + " " + m.cur.code
}

type moneyJSON struct {
	Amount   string   `json:"amount"`
	Currency Currency `json:"currency"`
}

// MarshalJSON writes {"amount":"128.00","currency":"CNY"}: a decimal string,
// never a JSON number, so no reader turns it into a float.
func (m Money) MarshalJSON() ([]byte, error) {
	if m.cur.IsZero() {
		return nil, fmt.Errorf("marshal money: %w", ErrNoCurrency)
	}
	return json.Marshal(moneyJSON{m.Format(), m.cur})
}

// UnmarshalJSON reads what MarshalJSON writes; too many decimals for the
// currency is an error, not a rounding.
func (m *Money) UnmarshalJSON(b []byte) error {
	var j moneyJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("money: %w", err)
	}
	if j.Currency.IsZero() {
		return fmt.Errorf("money: %w", ErrNoCurrency)
	}
	p, err := Parse(j.Amount, j.Currency)
	if err != nil {
		return err
	}
	*m = p
	return nil
}

func add64(a, b int64) (int64, bool) {
	s := a + b
	// Overflow when both operands share a sign that the sum lacks.
	if (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0) {
		return 0, false
	}
	return s, true
}

func mul64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	p := a * b
	if p/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	return p, true
}
