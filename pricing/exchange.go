package pricing

import (
	"fmt"
	"time"
)

// ExchangeQuote is what exchanging a paid ticket for another costs.
type ExchangeQuote struct {
	At time.Time `json:"at"`
	// From is the ticket given back and Credit what it is worth: what was
	// paid for it less what was returned for it already.
	From   PaidTicket `json:"from"`
	Credit Money      `json:"credit"`
	// To is the quotation of the new ticket, at today's prices and
	// promotions for this buyer.
	To  Quotation `json:"to"`
	Fee Money     `json:"fee"`
	// Difference is the new ticket's price plus the fee less the credit:
	// positive, the buyer pays it; negative, it is refunded (never more
	// than the credit).
	Difference Money     `json:"difference"`
	Refused    []Refusal `json:"refused,omitempty"`
}

// OK reports whether the exchange can go ahead.
func (e ExchangeQuote) OK() bool { return len(e.Refused) == 0 }

// Exchange prices swapping one paid ticket for one ticket of another type
// or day: the new ticket through Quote (to holds one item of quantity one,
// with the buyer's roles and codes), the old one at its credit, and the
// catalog's ExchangeFee. A ticket whose day has started, or that was
// scanned in, is refused, as is a new ticket Quote refuses.
func Exchange(cat Catalog, promos []Promotion, from PaidTicket, to Cart, at time.Time) (ExchangeQuote, error) {
	if len(to.Items) != 1 || to.Items[0].Quantity != 1 {
		return ExchangeQuote{}, fmt.Errorf("exchange ticket %s: want exactly one new ticket", from.ID)
	}
	if err := checkPaid(from); err != nil {
		return ExchangeQuote{}, fmt.Errorf("exchange ticket %s: %w", from.ID, err)
	}
	old, ok := cat.find(from.Type)
	if !ok {
		return ExchangeQuote{}, fmt.Errorf("exchange ticket %s: type %d: not in the catalog", from.ID, from.Type)
	}
	q, err := Quote(to, cat, promos, at)
	if err != nil {
		return ExchangeQuote{}, fmt.Errorf("exchange ticket %s: %w", from.ID, err)
	}
	c := from.Paid.cur
	e := ExchangeQuote{At: at, From: from, Credit: Money{refundable(from), c}, To: q, Fee: Zero(c), Difference: Zero(c)}
	if f := cat.Refunds.ExchangeFee; !f.IsZero() {
		if f.cur != c {
			return ExchangeQuote{}, fmt.Errorf("exchange ticket %s: fee in %s, ticket in %s: %w", from.ID, f.cur, c, ErrCurrencyMismatch)
		}
		e.Fee = f
	}
	refuse := func(r Reason, format string, args ...any) {
		e.Refused = append(e.Refused, Refusal{Reason: r, Type: from.Type, Ticket: from.ID, Detail: fmt.Sprintf(format, args...)})
	}
	switch {
	case !old.Starts.IsZero() && !at.Before(old.Starts):
		refuse(ReasonEventStarted, "%s started at %s", old.Name, old.Starts.UTC().Format(time.RFC3339))
	case from.Used:
		refuse(ReasonUsed, "ticket %s was scanned in", from.ID)
	}
	if !q.OK() {
		for _, r := range q.Refused {
			refuse(ReasonNotExchangeable, "%s: %s", r.Reason, r.Detail)
		}
		return e, nil
	}
	total, ok := q.Total(c)
	if !ok || len(q.Totals) != 1 {
		return ExchangeQuote{}, fmt.Errorf("exchange ticket %s: the new ticket is not sold in %s: %w", from.ID, c, ErrCurrencyMismatch)
	}
	d, err := total.Total.Add(e.Fee)
	if err == nil {
		d, err = d.Sub(e.Credit)
	}
	if err != nil {
		return ExchangeQuote{}, fmt.Errorf("exchange ticket %s: %w", from.ID, err)
	}
	e.Difference = d
	return e, nil
}
