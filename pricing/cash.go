package pricing

import (
	"errors"
	"fmt"
	"slices"
)

// ErrShort: the cash given is less than what is due.
var ErrShort = errors.New("not enough cash given")

// Change is what to hand back when given is tendered for due.
func Change(due, given Money) (Money, error) {
	c, err := given.Sub(due)
	if err != nil {
		return Money{}, fmt.Errorf("change: %w", err)
	}
	if c.Sign() < 0 {
		return Money{}, fmt.Errorf("change: %s given for %s: %w", given, due, ErrShort)
	}
	return c, nil
}

// Denomination is a note or a coin.
type Denomination struct {
	Value Money `json:"value"`
	Coin  bool  `json:"coin,omitempty"`
}

// denominations in circulation, largest first, in minor units. Where one
// value exists both as a note and a coin (CNY ¥1, 5 and 1 jiao), the till
// counts them together and lists the coin.
var denominations = map[string][]struct {
	minor int64
	coin  bool
}{
	// Renminbi, fifth series: notes ¥100 to ¥1, coins ¥1, 5 jiao and 1 jiao.
	"CNY": {{10000, false}, {5000, false}, {2000, false}, {1000, false}, {500, false}, {100, true}, {50, true}, {10, true}},
	"USD": {{10000, false}, {5000, false}, {2000, false}, {1000, false}, {500, false}, {200, false}, {100, false}, {25, true}, {10, true}, {5, true}, {1, true}},
	"EUR": {{50000, false}, {20000, false}, {10000, false}, {5000, false}, {2000, false}, {1000, false}, {500, false}, {200, true}, {100, true}, {50, true}, {20, true}, {10, true}, {5, true}, {2, true}, {1, true}},
	"HKD": {{100000, false}, {50000, false}, {10000, false}, {5000, false}, {2000, false}, {1000, true}, {500, true}, {200, true}, {100, true}, {50, true}, {20, true}, {10, true}},
	"JPY": {{10000, false}, {5000, false}, {2000, false}, {1000, false}, {500, true}, {100, true}, {50, true}, {10, true}, {5, true}, {1, true}},
}

// Denominations lists the notes and coins of c a till counts, largest
// first; false when tixgate does not know them.
func Denominations(c Currency) ([]Denomination, bool) {
	ds, ok := denominations[c.code]
	if !ok {
		return nil, false
	}
	out := make([]Denomination, len(ds))
	for i, d := range ds {
		out[i] = Denomination{Value: Money{d.minor, c}, Coin: d.coin}
	}
	return out, true
}

// Count is how many of one note or coin.
type Count struct {
	Value Money `json:"value"`
	Count int64 `json:"count"`
}

// MakeChange breaks amount into notes and coins of its currency, largest
// first, and returns what no coin is small enough for (CNY has no fen in
// circulation: ¥0.05 is left over, to round as the seller decides).
func MakeChange(amount Money) ([]Count, Money, error) {
	ds, ok := Denominations(amount.cur)
	if !ok {
		return nil, Money{}, fmt.Errorf("make change: no denominations known for %s", amount.cur)
	}
	if amount.Sign() < 0 {
		return nil, Money{}, fmt.Errorf("make change: %s is negative", amount)
	}
	left := amount.minor
	var out []Count
	for _, d := range ds {
		if n := left / d.Value.minor; n > 0 {
			out = append(out, Count{Value: d.Value, Count: n})
			left -= n * d.Value.minor
		}
	}
	return out, Money{left, amount.cur}, nil
}

// Counted sums a till counted by denomination. A value that is not a note
// or coin of c, or a negative count, is an error: a typing mistake must not
// become a difference.
func Counted(c Currency, counts []Count) (Money, error) {
	ds, ok := Denominations(c)
	if !ok {
		return Money{}, fmt.Errorf("count till: no denominations known for %s", c)
	}
	total := Zero(c)
	for _, n := range counts {
		if n.Value.cur != c {
			return Money{}, fmt.Errorf("count till: %s in a %s till: %w", n.Value, c, ErrCurrencyMismatch)
		}
		if !slices.ContainsFunc(ds, func(d Denomination) bool { return d.Value == n.Value }) {
			return Money{}, fmt.Errorf("count till: %s is not a note or coin of %s", n.Value, c)
		}
		if n.Count < 0 {
			return Money{}, fmt.Errorf("count till: %d × %s is negative", n.Count, n.Value)
		}
		v, err := n.Value.Mul(n.Count)
		if err == nil {
			total, err = total.Add(v)
		}
		if err != nil {
			return Money{}, fmt.Errorf("count till: %w", err)
		}
	}
	return total, nil
}

// MovementKind is what moved money in or out during a shift.
type MovementKind uint8

const (
	// Sale: tickets sold; Amount is the price, Given the cash tendered
	// (zero when exact or not cash).
	Sale MovementKind = iota + 1
	// Void: a sale undone within the shift; Amount is what is handed back.
	Void
	// CashIn: cash put into the till (more change), with a Reason.
	CashIn
	// CashOut: cash taken out (a drop to the safe), with a Reason.
	CashOut
)

func (k MovementKind) String() string {
	switch k {
	case Sale:
		return "sale"
	case Void:
		return "void"
	case CashIn:
		return "cash_in"
	case CashOut:
		return "cash_out"
	}
	return fmt.Sprintf("movement(%d)", k)
}

// Movement is one entry of a shift.
type Movement struct {
	Kind MovementKind `json:"kind"`
	// Method is the payment method of a sale or void: "cash", "card", …
	// Cash in and out are always cash.
	Method string `json:"method,omitempty"`
	Amount Money  `json:"amount"`
	Given  Money  `json:"given,omitzero"`
	Reason string `json:"reason,omitempty"`
}

// MethodCash names the cash payment method.
const MethodCash = "cash"

// MethodTotal is a shift's sales and voids by one payment method.
type MethodTotal struct {
	Method string `json:"method"`
	Sales  Money  `json:"sales"`
	Voids  Money  `json:"voids"`
	Net    Money  `json:"net"`
	Count  int    `json:"count"`
}

// ShiftClose is the arithmetic of a seller's shift closing, recomputed from
// the shift's movements.
type ShiftClose struct {
	Float       Money         `json:"float"`
	Methods     []MethodTotal `json:"methods"`
	ChangeGiven Money         `json:"change_given"`
	CashIn      Money         `json:"cash_in"`
	CashOut     Money         `json:"cash_out"`
	// Expected is the float plus cash sales less cash voids plus cash in
	// less cash out: what the till should hold.
	Expected Money `json:"expected"`
	Counted  Money `json:"counted"`
	// Difference is Counted − Expected: negative, cash is missing.
	Difference Money `json:"difference"`
}

// Balanced reports a till that holds exactly what it should; any other
// closing needs a note.
func (s ShiftClose) Balanced() bool { return s.Difference.IsZero() }

// CloseShift computes a shift's closing from its opening float, its
// movements and the cash counted, all in the float's currency. Sales by
// card and other methods are totalled per method; only cash moves the till.
func CloseShift(float Money, moves []Movement, counted Money) (ShiftClose, error) {
	c := float.cur
	if c.IsZero() {
		return ShiftClose{}, fmt.Errorf("close shift: float: %w", ErrNoCurrency)
	}
	s := ShiftClose{Float: float, ChangeGiven: Zero(c), CashIn: Zero(c), CashOut: Zero(c), Counted: counted}
	expected := float
	byMethod := map[string]int{}
	add := func(dst *Money, v Money) error {
		r, err := dst.Add(v)
		*dst = r
		return err
	}
	for i, m := range moves {
		if m.Amount.cur != c {
			return ShiftClose{}, fmt.Errorf("close shift: movement %d: %s in a %s shift: %w", i, m.Amount, c, ErrCurrencyMismatch)
		}
		if m.Amount.Sign() < 0 {
			return ShiftClose{}, fmt.Errorf("close shift: movement %d: negative amount %s", i, m.Amount)
		}
		cash := m.Method == MethodCash || m.Kind == CashIn || m.Kind == CashOut
		var err error
		switch m.Kind {
		case Sale, Void:
			if m.Method == "" {
				return ShiftClose{}, fmt.Errorf("close shift: movement %d: %s without a payment method", i, m.Kind)
			}
			k, ok := byMethod[m.Method]
			if !ok {
				k = len(s.Methods)
				byMethod[m.Method] = k
				s.Methods = append(s.Methods, MethodTotal{Method: m.Method, Sales: Zero(c), Voids: Zero(c), Net: Zero(c)})
			}
			t := &s.Methods[k]
			t.Count++
			if m.Kind == Sale {
				err = add(&t.Sales, m.Amount)
				if err == nil && cash && !m.Given.IsZero() {
					var ch Money
					if ch, err = Change(m.Amount, m.Given); err == nil {
						err = add(&s.ChangeGiven, ch)
					}
				}
				if err == nil && cash {
					err = add(&expected, m.Amount)
				}
			} else {
				err = add(&t.Voids, m.Amount)
				if err == nil && cash {
					expected, err = expected.Sub(m.Amount)
				}
			}
			if err == nil {
				t.Net, err = t.Sales.Sub(t.Voids)
			}
		case CashIn:
			if err = add(&s.CashIn, m.Amount); err == nil {
				err = add(&expected, m.Amount)
			}
		case CashOut:
			if err = add(&s.CashOut, m.Amount); err == nil {
				expected, err = expected.Sub(m.Amount)
			}
		default:
			return ShiftClose{}, fmt.Errorf("close shift: movement %d: unknown kind %d", i, m.Kind)
		}
		if err != nil {
			return ShiftClose{}, fmt.Errorf("close shift: movement %d: %w", i, err)
		}
	}
	s.Expected = expected
	d, err := counted.Sub(expected)
	if err != nil {
		return ShiftClose{}, fmt.Errorf("close shift: counted: %w", err)
	}
	s.Difference = d
	return s, nil
}
