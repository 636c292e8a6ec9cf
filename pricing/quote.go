package pricing

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Cart is what a buyer asks to buy.
type Cart struct {
	Items []Item `json:"items"`
	// Codes are the promotion codes the buyer entered.
	Codes []string `json:"codes,omitempty"`
	// Roles are the buyer's roles ("vip", "sponsor"): they unlock
	// role-restricted types, prices and promotions.
	Roles []string `json:"roles,omitempty"`
}

// Item is a quantity of one ticket type.
type Item struct {
	Type     TypeID `json:"type"`
	Quantity int    `json:"quantity"`
}

// Quotation is a priced cart: what each line costs, which discounts applied and
// why, the totals per currency, and what was refused.
type Quotation struct {
	At    time.Time `json:"at"`
	Lines []Line    `json:"lines"`
	// Totals has one entry per currency of the lines, by ISO code.
	Totals []Total `json:"totals"`
	// Applied are the promotions that discounted something, in the order
	// they applied; an order that takes this quote uses each once.
	Applied []string `json:"applied,omitempty"`
	// Refused are the lines and codes that were refused; refused lines are
	// not in Lines and refused codes discount nothing.
	Refused []Refusal `json:"refused,omitempty"`
}

// OK reports whether nothing was refused: every item is priced and every
// code applied. An order takes only an OK quote; a storefront shows the
// refusals and lets the buyer change the cart.
func (q Quotation) OK() bool { return len(q.Refused) == 0 }

// Line is the tickets of one type at one price.
type Line struct {
	Type     TypeID `json:"type"`
	Name     string `json:"name"`
	Quantity int    `json:"quantity"`
	// Unit is the list price of one ticket (one bundle), and Price the name
	// of the rule that set it ("early bird"; "bundle" for a bundle priced
	// from its components).
	Unit  Money  `json:"unit"`
	Price string `json:"price"`
	// Proof is what a reduced ticket's holder shows at the gate.
	Proof     string     `json:"proof,omitempty"`
	Subtotal  Money      `json:"subtotal"`
	Discounts []Discount `json:"discounts,omitempty"`
	Total     Money      `json:"total"`
	// Tickets is each ticket of the line, a bundle's components one by one,
	// with what it lists at and what is paid for it after discounts. The
	// paid amounts sum to Total exactly; refunds start from them.
	Tickets []TicketPrice `json:"tickets"`
}

// Discount is what one promotion took off one line.
type Discount struct {
	Promotion string `json:"promotion"`
	Name      string `json:"name"`
	Code      string `json:"code,omitempty"`
	// Why says what the promotion does: "20% off each ticket".
	Why    string `json:"why"`
	Amount Money  `json:"amount"`
}

// TicketPrice is one ticket's part of a line.
type TicketPrice struct {
	Type TypeID `json:"type"`
	// Bundle is the bundle type it was sold in, when InBundle.
	Bundle   TypeID `json:"bundle,omitempty"`
	InBundle bool   `json:"in_bundle,omitempty"`
	List     Money  `json:"list"`
	Paid     Money  `json:"paid"`
}

// Total sums the lines of one currency.
type Total struct {
	Currency Currency `json:"currency"`
	Subtotal Money    `json:"subtotal"`
	Discount Money    `json:"discount"`
	Total    Money    `json:"total"`
}

// Total returns the total in c, and whether the quote has one.
func (q Quotation) Total(c Currency) (Total, bool) {
	for _, t := range q.Totals {
		if t.Currency == c {
			return t, true
		}
	}
	return Total{}, false
}

// work is a line while promotions apply: what is left to pay per unit.
type work struct {
	t          TicketType
	rule       string
	unit       int64
	left       []int64 // per unit (ticket or bundle), after the discounts so far
	discounts  []Discount
	discounted bool // some promotion took something off
	locked     bool // an exclusive promotion applied: nothing more
	parts      []TicketPrice
	weights    []int64 // the bundle's parts' list prices, to allocate a unit
}

// Quote prices a cart against a catalog and promotions at a time. It is the
// one pricing function: the storefront shows its result, the order charges
// it, the offline seller sells at it, and Refund and Exchange start from
// the paid amounts it allocates to each ticket.
//
// Lines follow the cart's first mention of each type (quantities of one type
// are added up); a type whose tickets cross a stock tier makes one line per
// price. A malformed catalog or promotion is an error; what a buyer asks for
// that cannot be had is a Refusal in the quote, never an error.
//
// Invariants, fuzzed: no total is negative; no line's discounts exceed its
// subtotal; every line's tickets sum to its total and every currency's
// lines to its total.
func Quote(cart Cart, cat Catalog, promos []Promotion, at time.Time) (Quotation, error) {
	if err := cat.Validate(); err != nil {
		return Quotation{}, err
	}
	for _, p := range promos {
		if err := p.Validate(); err != nil {
			return Quotation{}, err
		}
	}
	q := Quotation{At: at}
	lines, err := priceItems(&q, cart, cat, at)
	if err != nil {
		return Quotation{}, err
	}
	if err := applyPromotions(&q, lines, cart, promos, at); err != nil {
		return Quotation{}, err
	}
	if err := finish(&q, lines); err != nil {
		return Quotation{}, err
	}
	return q, nil
}

func refuse(q *Quotation, r Reason, t TypeID, code, format string, args ...any) {
	q.Refused = append(q.Refused, Refusal{Reason: r, Type: t, Code: code, Detail: fmt.Sprintf(format, args...)})
}

// priceItems sets each item's list price and checks it may be bought.
func priceItems(q *Quotation, cart Cart, cat Catalog, at time.Time) ([]*work, error) {
	var order []TypeID
	qty := map[TypeID]int{}
	bad := map[TypeID]bool{}
	for _, it := range cart.Items {
		if it.Quantity <= 0 || it.Quantity > maxQuantity || qty[it.Type]+it.Quantity > maxQuantity {
			if !bad[it.Type] {
				refuse(q, ReasonBadQuantity, it.Type, "", "type %d: quantity %d: want 1 to %d", it.Type, it.Quantity, maxQuantity)
			}
			bad[it.Type] = true
			continue
		}
		if _, seen := qty[it.Type]; !seen {
			order = append(order, it.Type)
		}
		qty[it.Type] += it.Quantity
	}
	var lines []*work
	for _, id := range order {
		if bad[id] {
			continue
		}
		n := qty[id]
		t, ok := cat.find(id)
		switch {
		case !ok:
			refuse(q, ReasonUnknownType, id, "", "type %d is not on sale for this event", id)
			continue
		case !anyRole(t.Roles, cart.Roles):
			refuse(q, ReasonRoleRequired, id, "", "%s is for %v only", t.Name, t.Roles)
			continue
		case t.GroupMin > 1 && n < t.GroupMin:
			refuse(q, ReasonGroupMinimum, id, "", "%s is sold for groups of at least %d, the cart has %d", t.Name, t.GroupMin, n)
			continue
		case t.MaxPerOrder > 0 && n > t.MaxPerOrder:
			refuse(q, ReasonOverLimit, id, "", "%s: at most %d per order, the cart has %d", t.Name, t.MaxPerOrder, n)
			continue
		}
		ws, err := priceType(q, cat, t, n, cart.Roles, at)
		if err != nil {
			return nil, err
		}
		lines = append(lines, ws...)
	}
	return lines, nil
}

// priceType makes the lines of n tickets of t: one per price rule crossed.
func priceType(q *Quotation, cat Catalog, t TicketType, n int, roles []string, at time.Time) ([]*work, error) {
	if len(t.Prices) == 0 {
		return priceBundle(q, cat, t, n, roles, at)
	}
	var lines []*work
	for i := range int64(n) {
		r := t.priceRule(t.Sold+i, roles, at)
		if r < 0 {
			if i == 0 {
				refuse(q, ReasonNotOnSale, t.ID, "", "%s is not on sale at %s", t.Name, at.UTC().Format(time.RFC3339))
			} else {
				refuse(q, ReasonNotOnSale, t.ID, "", "%s: only %d left at any price, the cart has %d", t.Name, i, n)
			}
			return nil, nil
		}
		p := t.Prices[r]
		if len(lines) > 0 && lines[len(lines)-1].rule == p.Name && lines[len(lines)-1].unit == p.Price.minor {
			last := lines[len(lines)-1]
			last.left = append(last.left, p.Price.minor)
			continue
		}
		lines = append(lines, &work{t: t, rule: p.Name, unit: p.Price.minor, left: []int64{p.Price.minor}})
	}
	if len(t.Components) > 0 {
		// A bundle with its own price: allocate it by the parts' prices.
		parts, weights, ok := bundleParts(q, cat, t, roles, at)
		if !ok {
			return nil, nil
		}
		for _, w := range lines {
			w.parts, w.weights = parts, weights
		}
	}
	return lines, nil
}

// bundleParts lists a bundle's component tickets at their list prices.
func bundleParts(q *Quotation, cat Catalog, t TicketType, roles []string, at time.Time) ([]TicketPrice, []int64, bool) {
	var parts []TicketPrice
	var weights []int64
	for _, comp := range t.Components {
		ct, _ := cat.find(comp.Type) // Validate checked it exists
		r := ct.priceRule(ct.Sold, roles, at)
		if r < 0 {
			refuse(q, ReasonNotOnSale, t.ID, "", "%s: its part %s is not on sale", t.Name, ct.Name)
			return nil, nil, false
		}
		for range comp.Quantity {
			parts = append(parts, TicketPrice{Type: ct.ID, Bundle: t.ID, InBundle: true, List: ct.Prices[r].Price})
			weights = append(weights, ct.Prices[r].Price.minor)
		}
	}
	if !slices.ContainsFunc(weights, func(w int64) bool { return w > 0 }) {
		for i := range weights {
			weights[i] = 1 // free parts share alike
		}
	}
	return parts, weights, true
}

// priceBundle prices a bundle from its components: their sum less
// BundleOff. Every bundle of one cart costs the same: the components are
// priced at their current tier.
func priceBundle(q *Quotation, cat Catalog, t TicketType, n int, roles []string, at time.Time) ([]*work, error) {
	parts, weights, ok := bundleParts(q, cat, t, roles, at)
	if !ok {
		return nil, nil
	}
	sum := Zero(t.Currency)
	for _, p := range parts {
		var err error
		if sum, err = sum.Add(p.List); err != nil {
			return nil, fmt.Errorf("bundle %d: %w", t.ID, err)
		}
	}
	if t.BundleOff > 0 {
		off, err := t.BundleOff.Of(sum, t.Rounding)
		if err != nil {
			return nil, fmt.Errorf("bundle %d: %w", t.ID, err)
		}
		sum.minor -= off.minor
	}
	left := make([]int64, n)
	for i := range left {
		left[i] = sum.minor
	}
	return []*work{{t: t, rule: "bundle", unit: sum.minor, left: left, parts: parts, weights: weights}}, nil
}

// applyPromotions applies the promotions in precedence order.
func applyPromotions(q *Quotation, lines []*work, cart Cart, promos []Promotion, at time.Time) error {
	entered := map[string]string{} // normalized → as entered
	var codes []string
	for _, c := range cart.Codes {
		n := normalizeCode(c)
		if n == "" || entered[n] != "" {
			continue
		}
		entered[n] = c
		codes = append(codes, n)
	}
	var active []int
	known := map[string]bool{}
	for i, p := range promos {
		code := normalizeCode(p.Code)
		if code == "" {
			active = append(active, i)
		} else if entered[code] != "" {
			known[code] = true
			active = append(active, i)
		}
	}
	for _, c := range codes {
		if !known[c] {
			refuse(q, ReasonUnknownCode, 0, entered[c], "no promotion has the code %q", entered[c])
		}
	}
	slices.SortStableFunc(active, func(a, b int) int {
		if c := cmp.Compare(promos[b].Priority, promos[a].Priority); c != 0 {
			return c
		}
		return cmp.Compare(promos[a].ID, promos[b].ID)
	})
	for _, i := range active {
		p := promos[i]
		reason, detail, err := applyPromotion(lines, p, cart.Roles, at)
		if err != nil {
			return fmt.Errorf("promotion %s: %w", p.ID, err)
		}
		switch {
		case reason == "":
			q.Applied = append(q.Applied, p.ID)
		case p.Code != "":
			refuse(q, reason, 0, entered[normalizeCode(p.Code)], "%s: %s", p.Name, detail)
		}
	}
	return nil
}

// applyPromotion applies one promotion, or says why it does not apply.
func applyPromotion(lines []*work, p Promotion, roles []string, at time.Time) (Reason, string, error) {
	switch {
	case !p.From.IsZero() && at.Before(p.From):
		return ReasonNotYetValid, "valid from " + p.From.UTC().Format(time.RFC3339), nil
	case !p.Until.IsZero() && !at.Before(p.Until):
		return ReasonExpired, "expired at " + p.Until.UTC().Format(time.RFC3339), nil
	case p.Limit > 0 && p.Used >= p.Limit:
		return ReasonExhausted, fmt.Sprintf("all %d uses are taken", p.Limit), nil
	case !anyRole(p.Roles, roles):
		return ReasonNotApplicable, fmt.Sprintf("for %v only", p.Roles), nil
	}
	var eligible []*work
	blocked, count := false, 0
	for _, w := range lines {
		if !p.appliesTo(w.t.ID) || !p.Amount.IsZero() && p.Amount.cur != w.t.Currency {
			continue
		}
		if w.locked || !p.Stackable && w.discounted {
			blocked = true
			continue
		}
		eligible = append(eligible, w)
		count += len(w.left)
	}
	switch {
	case len(eligible) == 0 && blocked:
		return ReasonNotCombinable, "another promotion already discounts these tickets and they do not combine", nil
	case len(eligible) == 0:
		return ReasonNotApplicable, "no ticket in the cart it applies to", nil
	case count < p.MinQuantity:
		return ReasonNotApplicable, fmt.Sprintf("needs %d tickets it applies to, the cart has %d", p.MinQuantity, count), nil
	}
	var (
		took []int64 // per eligible line
		err  error
	)
	if p.Scope == PerOrder {
		took, err = discountOrder(eligible, p)
	} else {
		took, err = discountItems(eligible, p)
	}
	if err != nil {
		return "", "", err
	}
	var any bool
	for i, w := range eligible {
		if took[i] == 0 {
			continue
		}
		any = true
		w.discounted = true
		w.locked = w.locked || !p.Stackable
		w.discounts = append(w.discounts, Discount{
			Promotion: p.ID, Name: p.Name, Code: p.Code, Why: p.describe(),
			Amount: Money{took[i], w.t.Currency},
		})
	}
	if !any {
		return ReasonNotApplicable, "nothing left to discount", nil
	}
	return "", "", nil
}

// discountItems takes the promotion off each unit alone.
func discountItems(lines []*work, p Promotion) ([]int64, error) {
	took := make([]int64, len(lines))
	for i, w := range lines {
		for u, left := range w.left {
			var d int64
			if p.Off != 0 {
				v, _, err := mulDiv(left, int64(p.Off), int64(Whole), p.Rounding)
				if err != nil {
					return nil, err
				}
				d = v
			} else {
				d = min(p.Amount.minor, left)
			}
			w.left[u] -= d
			took[i] += d
		}
	}
	return took, nil
}

// discountOrder takes the promotion off the sum of the units of each
// currency and allocates it back by what each unit has left.
func discountOrder(lines []*work, p Promotion) ([]int64, error) {
	took := make([]int64, len(lines))
	var currencies []Currency
	for _, w := range lines {
		if !slices.Contains(currencies, w.t.Currency) {
			currencies = append(currencies, w.t.Currency)
		}
	}
	for _, c := range currencies {
		var weights []int64
		var base int64
		for _, w := range lines {
			if w.t.Currency != c {
				continue
			}
			for _, left := range w.left {
				var ok bool
				if base, ok = add64(base, left); !ok {
					return nil, ErrOverflow
				}
				weights = append(weights, left)
			}
		}
		if base == 0 {
			continue
		}
		var d int64
		if p.Off != 0 {
			v, _, err := mulDiv(base, int64(p.Off), int64(Whole), p.Rounding)
			if err != nil {
				return nil, err
			}
			d = v
		} else {
			d = min(p.Amount.minor, base)
		}
		shares, err := Allocate(Money{d, c}, weights...)
		if err != nil {
			return nil, err
		}
		k := 0
		for i, w := range lines {
			if w.t.Currency != c {
				continue
			}
			for u := range w.left {
				w.left[u] -= shares[k].minor
				took[i] += shares[k].minor
				k++
			}
		}
	}
	return took, nil
}

// finish turns the work lines into the quote's lines and totals.
func finish(q *Quotation, lines []*work) error {
	totals := map[Currency]*Total{}
	for _, w := range lines {
		c := w.t.Currency
		unit := Money{w.unit, c}
		sub, err := unit.Mul(int64(len(w.left)))
		if err != nil {
			return fmt.Errorf("type %d: %w", w.t.ID, err)
		}
		total := Zero(c)
		var tickets []TicketPrice
		for _, left := range w.left {
			if total, err = total.Add(Money{left, c}); err != nil {
				return fmt.Errorf("type %d: %w", w.t.ID, err)
			}
			if w.parts == nil {
				tickets = append(tickets, TicketPrice{Type: w.t.ID, List: unit, Paid: Money{left, c}})
				continue
			}
			paid, err := Allocate(Money{left, c}, w.weights...)
			if err != nil {
				return fmt.Errorf("bundle %d: %w", w.t.ID, err)
			}
			for k, part := range w.parts {
				part.Paid = paid[k]
				tickets = append(tickets, part)
			}
		}
		q.Lines = append(q.Lines, Line{
			Type: w.t.ID, Name: w.t.Name, Quantity: len(w.left), Unit: unit, Price: w.rule,
			Proof: w.t.Proof, Subtotal: sub, Discounts: w.discounts, Total: total, Tickets: tickets,
		})
		t := totals[c]
		if t == nil {
			t = &Total{Currency: c, Subtotal: Zero(c), Discount: Zero(c), Total: Zero(c)}
			totals[c] = t
		}
		if t.Subtotal, err = t.Subtotal.Add(sub); err != nil {
			return err
		}
		if t.Total, err = t.Total.Add(total); err != nil {
			return err
		}
		if t.Discount, err = t.Subtotal.Sub(t.Total); err != nil {
			return err
		}
	}
	for _, t := range totals {
		q.Totals = append(q.Totals, *t)
	}
	slices.SortFunc(q.Totals, func(a, b Total) int { return cmp.Compare(a.Currency.code, b.Currency.code) })
	return nil
}
