package pricing

import (
	"fmt"
	"strings"
	"time"
)

// Scope says what a promotion's discount is counted on.
type Scope uint8

const (
	// PerItem: the discount is counted on each ticket (each bundle) alone:
	// 10% off each, ¥20.00 off each (never more than the ticket costs).
	PerItem Scope = iota
	// PerOrder: the discount is counted once on the sum of the tickets it
	// applies to (¥50.00 off the order, 10% off the order rounded once) and
	// allocated back to those tickets by what they cost, so each ticket
	// knows what it was paid and can be refunded alone.
	PerOrder
)

func (s Scope) String() string {
	if s == PerOrder {
		return "order"
	}
	return "item"
}

// MarshalText writes "item" or "order".
func (s Scope) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads "item" or "order".
func (s *Scope) UnmarshalText(b []byte) error {
	switch string(b) {
	case "item", "":
		*s = PerItem
	case "order":
		*s = PerOrder
	default:
		return fmt.Errorf("scope %q: want item or order", b)
	}
	return nil
}

// Promotion is a discount: a rate (Off) or an amount (Amount) off, applied
// automatically or when the cart carries its Code (a voucher), for a
// validity window, a number of uses, some types and some buyers.
//
// Precedence is deterministic: Quote tries promotions by Priority, highest
// first, then by ID. A promotion that is not Stackable is exclusive: it
// applies only to tickets no earlier promotion discounted, and once applied
// nothing later discounts those tickets. A Stackable promotion applies on
// top of earlier stackable ones, each on what is left after the ones before
// it, so discounts compound and never exceed the price.
type Promotion struct {
	// ID names the promotion in discounts and breaks precedence ties.
	ID   string `json:"id"`
	Name string `json:"name"`
	// Code, when set, makes a voucher: it applies only when the cart
	// carries this code (compared without case). Empty: automatic.
	Code string `json:"code,omitempty"`
	// Off is a rate off (0–100%), rounded per Rounding; or Amount is a fixed
	// amount off, in the currency of the tickets it applies to. Exactly one
	// of the two.
	Off      Rate     `json:"off,omitempty"`
	Amount   Money    `json:"amount,omitzero"`
	Rounding Rounding `json:"rounding,omitempty"`
	Scope    Scope    `json:"scope"`
	// Types it applies to; empty: every type.
	Types []TypeID `json:"types,omitempty"`
	// Roles, when not empty, restrict it to buyers with one of them.
	Roles []string `json:"roles,omitempty"`
	// MinQuantity is the fewest matching tickets the cart must hold ("4 or
	// more"); 0 sets no minimum.
	MinQuantity int `json:"min_quantity,omitempty"`
	// From and Until bound its validity: [From, Until), zero being open.
	From  time.Time `json:"from,omitzero"`
	Until time.Time `json:"until,omitzero"`
	// Limit is how many orders may use it in all; 0: no limit. Used is how
	// many did so far (state the caller fills in). An order that applies it
	// uses it once, whatever its quantity.
	Limit int `json:"limit,omitempty"`
	Used  int `json:"used,omitempty"`
	// Stackable lets it combine with other stackable promotions.
	Stackable bool `json:"stackable,omitempty"`
	// Priority orders the promotions: higher first.
	Priority int `json:"priority,omitempty"`
}

// Validate reports what is wrong with the promotion.
func (p Promotion) Validate() error {
	if p.ID == "" {
		return fmt.Errorf("promotion %q: no id", p.Name)
	}
	switch {
	case p.Off != 0 && !p.Amount.IsZero():
		return fmt.Errorf("promotion %s: both a rate and an amount off", p.ID)
	case p.Off == 0 && p.Amount.IsZero():
		return fmt.Errorf("promotion %s: neither a rate nor an amount off", p.ID)
	case p.Off < 0 || p.Off > Whole:
		return fmt.Errorf("promotion %s: %s off is outside 0–100%%", p.ID, p.Off)
	case p.Amount.Sign() < 0:
		return fmt.Errorf("promotion %s: %s off is negative", p.ID, p.Amount)
	case !p.Amount.IsZero() && p.Amount.Currency().IsZero():
		return fmt.Errorf("promotion %s: amount off: %w", p.ID, ErrNoCurrency)
	case p.Limit < 0 || p.Used < 0 || p.MinQuantity < 0:
		return fmt.Errorf("promotion %s: negative limit, use count or minimum", p.ID)
	case !p.From.IsZero() && !p.Until.IsZero() && !p.Until.After(p.From):
		return fmt.Errorf("promotion %s: ends before it starts", p.ID)
	case p.Scope > PerOrder:
		return fmt.Errorf("promotion %s: unknown scope %d", p.ID, p.Scope)
	}
	if p.Off != 0 {
		if err := p.Rounding.valid(); err != nil {
			return fmt.Errorf("promotion %s: %w", p.ID, err)
		}
	}
	return nil
}

func (p Promotion) appliesTo(t TypeID) bool {
	if len(p.Types) == 0 {
		return true
	}
	for _, x := range p.Types {
		if x == t {
			return true
		}
	}
	return false
}

// describe says what the promotion takes off, for the discount's Why.
func (p Promotion) describe() string {
	what := "each ticket"
	if p.Scope == PerOrder {
		what = "the order"
	}
	if p.Off != 0 {
		return p.Off.String() + " off " + what
	}
	return p.Amount.Format() + " " + p.Amount.Currency().Code() + " off " + what
}

func normalizeCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }
