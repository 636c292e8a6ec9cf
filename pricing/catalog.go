package pricing

import (
	"fmt"
	"slices"
	"time"
)

// TypeID is a ticket type's id: the Type of a ticket code.
type TypeID uint64

// Catalog is what is on sale for one event, as Quote, Refund and Exchange
// read it: the ticket types with their price schedules and the refund rules.
// It is a snapshot: the caller fills in the counts that change (each type's
// Sold, each promotion's Used) from its store when it asks for a quote.
type Catalog struct {
	Types []TicketType `json:"types"`
	// Refunds is the event's refund ladder.
	Refunds RefundPolicy `json:"refunds"`
}

// TicketType is one kind of ticket and how it is priced.
type TicketType struct {
	ID   TypeID `json:"id"`
	Name string `json:"name"`
	// Currency of every price of the type.
	Currency Currency `json:"currency"`
	// Prices is the price schedule, tried in order: the first rule that
	// applies to a ticket sets its price. Put narrow rules first (a VIP
	// price, an early-bird window, the first stock tier) and an open rule
	// last. A bundle with no Prices is priced from its Components.
	Prices []PriceRule `json:"prices,omitempty"`
	// Roles, when not empty, are the buyer roles that may buy the type at
	// all (a VIP-only type); refused role_required for anyone else.
	Roles []string `json:"roles,omitempty"`
	// GroupMin is the fewest tickets of the type one order may hold (a
	// group ticket); 0 or 1 sets no minimum.
	GroupMin int `json:"group_min,omitempty"`
	// MaxPerOrder is the most tickets of the type one order may hold; 0 sets
	// no maximum.
	MaxPerOrder int `json:"max_per_order,omitempty"`
	// Proof is what a holder of a reduced ticket shows at the gate
	// ("student card"); empty for a regular type. Quote carries it to the
	// line so the storefront, the receipt and the ticket can say it.
	Proof string `json:"proof,omitempty"`
	// Components make the type a bundle: one bundle is these tickets. A
	// bundle without Prices costs the sum of its components' prices less
	// BundleOff; with Prices it costs what they say. Either way what the
	// buyer pays is allocated to the component tickets by their prices, so
	// each can be refunded alone.
	Components []Component `json:"components,omitempty"`
	// BundleOff is the rate off the components' sum, rounded by Rounding.
	BundleOff Rate     `json:"bundle_off,omitempty"`
	Rounding  Rounding `json:"rounding,omitempty"`
	// Starts is when the type's event day or session begins: refund fees
	// count the time before it.
	Starts time.Time `json:"starts"`
	// Sold is how many tickets of the type are sold so far (state, not
	// configuration): stock tiers price by it.
	Sold int64 `json:"sold"`
}

// PriceRule is one price of a type's schedule and when it applies.
type PriceRule struct {
	// Name says why this price: "early bird", "tier 2", "VIP".
	Name  string `json:"name"`
	Price Money  `json:"price"`
	// From and Until bound when the price applies: [From, Until); a zero
	// time leaves that side open.
	From  time.Time `json:"from,omitzero"`
	Until time.Time `json:"until,omitzero"`
	// SoldBelow makes a stock tier: the price applies to the type's tickets
	// numbered below it (counting from 0, the first ever sold), so a cart
	// that crosses the bound pays both prices. 0 sets no bound. With tiers
	// of 100 and 300 and then an open rule: the first 100 at one price, the
	// next 200 at the next, the rest at the last.
	SoldBelow int64 `json:"sold_below,omitempty"`
	// Roles, when not empty, restrict the price to buyers with one of them.
	Roles []string `json:"roles,omitempty"`
}

// Component is one part of a bundle.
type Component struct {
	Type     TypeID `json:"type"`
	Quantity int    `json:"quantity"`
}

// maxQuantity bounds one line; beyond it an order is a mistake or an attack.
const maxQuantity = 100000

// Validate reports the first thing wrong with the catalog: a duplicate id,
// a price in another currency or not positive, a window that ends before it
// starts, a bundle of unknown or nested types, a missing rounding mode.
func (c Catalog) Validate() error {
	seen := make(map[TypeID]bool, len(c.Types))
	for _, t := range c.Types {
		if seen[t.ID] {
			return fmt.Errorf("catalog: type %d twice", t.ID)
		}
		seen[t.ID] = true
	}
	for _, t := range c.Types {
		if err := c.validateType(t); err != nil {
			return fmt.Errorf("catalog: type %d (%s): %w", t.ID, t.Name, err)
		}
	}
	if err := c.Refunds.Validate(); err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	return nil
}

func (c Catalog) validateType(t TicketType) error {
	if t.Currency.IsZero() {
		return ErrNoCurrency
	}
	if len(t.Prices) == 0 && len(t.Components) == 0 {
		return fmt.Errorf("no price")
	}
	if t.GroupMin < 0 || t.MaxPerOrder < 0 || t.Sold < 0 {
		return fmt.Errorf("negative group minimum, maximum or sold count")
	}
	if t.MaxPerOrder > 0 && t.GroupMin > t.MaxPerOrder {
		return fmt.Errorf("group minimum %d above the maximum per order %d", t.GroupMin, t.MaxPerOrder)
	}
	for i, p := range t.Prices {
		if p.Price.Currency() != t.Currency {
			return fmt.Errorf("price %d (%s): %s, the type sells in %s", i, p.Name, p.Price.Currency(), t.Currency)
		}
		if p.Price.Sign() < 0 {
			return fmt.Errorf("price %d (%s): %s is negative", i, p.Name, p.Price)
		}
		if !p.From.IsZero() && !p.Until.IsZero() && !p.Until.After(p.From) {
			return fmt.Errorf("price %d (%s): ends before it starts", i, p.Name)
		}
		if p.SoldBelow < 0 {
			return fmt.Errorf("price %d (%s): negative stock bound", i, p.Name)
		}
	}
	if len(t.Components) > 0 {
		if t.BundleOff < 0 || t.BundleOff > Whole {
			return fmt.Errorf("bundle discount %s outside 0–100%%", t.BundleOff)
		}
		if t.BundleOff > 0 {
			if err := t.Rounding.valid(); err != nil {
				return fmt.Errorf("bundle discount: %w", err)
			}
		}
		for _, comp := range t.Components {
			ct, ok := c.find(comp.Type)
			switch {
			case !ok:
				return fmt.Errorf("bundle component %d: no such type", comp.Type)
			case len(ct.Components) > 0:
				return fmt.Errorf("bundle component %d: a bundle in a bundle", comp.Type)
			case ct.Currency != t.Currency:
				return fmt.Errorf("bundle component %d: sells in %s, the bundle in %s", comp.Type, ct.Currency, t.Currency)
			case comp.Quantity <= 0 || comp.Quantity > maxQuantity:
				return fmt.Errorf("bundle component %d: quantity %d", comp.Type, comp.Quantity)
			}
		}
	}
	return nil
}

func (c Catalog) find(id TypeID) (TicketType, bool) {
	for _, t := range c.Types {
		if t.ID == id {
			return t, true
		}
	}
	return TicketType{}, false
}

// within reports whether at lies in [from, until), zero times being open.
func within(at, from, until time.Time) bool {
	return (from.IsZero() || !at.Before(from)) && (until.IsZero() || at.Before(until))
}

// anyRole reports whether want is empty or has one of the buyer's roles.
func anyRole(want, have []string) bool {
	if len(want) == 0 {
		return true
	}
	for _, r := range have {
		if slices.Contains(want, r) {
			return true
		}
	}
	return false
}

// priceRule returns the index of the rule pricing ticket number n of t for
// a buyer with roles at a time, or -1 when none applies.
func (t TicketType) priceRule(n int64, roles []string, at time.Time) int {
	for i, p := range t.Prices {
		if within(at, p.From, p.Until) && (p.SoldBelow == 0 || n < p.SoldBelow) && anyRole(p.Roles, roles) {
			return i
		}
	}
	return -1
}
