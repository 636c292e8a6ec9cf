package pricing

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// RefundPolicy is an event's ladder of refund fees. A refund is asked at
// some time before the ticket's day starts (its type's Starts); the ladder's
// first step that the time before the start reaches sets the fee, a rate of
// what was paid for the ticket. Nearer the start than the last step, or
// after it, there is no refund. Within FreeWithin of the purchase the fee
// is waived, but only where the ladder allows a refund at all: a ticket
// bought an hour before the gates open is not refundable for free.
//
// "Free within 48 hours of purchase, then 20% up to 30 days before, 30% up
// to 7 days before, 50% up to the day before, none in the last day":
//
//	RefundPolicy{FreeWithin: 48 * time.Hour, Rounding: RoundHalfEven, Ladder: []RefundStep{
//		{Before: 30 * 24 * time.Hour, Fee: Percent(20)},
//		{Before: 7 * 24 * time.Hour, Fee: Percent(30)},
//		{Before: 24 * time.Hour, Fee: Percent(50)},
//	}}
//
// Fees are counted per ticket on what the ticket was paid after discounts,
// so refunding an order whole or ticket by ticket returns the same amount,
// and a refund never exceeds what was paid.
type RefundPolicy struct {
	// FreeWithin waives the fee this long after the purchase; 0: never.
	FreeWithin time.Duration `json:"free_within,omitempty"`
	// Ladder is the steps, longest Before first. Empty: no refunds.
	Ladder []RefundStep `json:"ladder,omitempty"`
	// RefundUsed allows refunding a ticket already scanned in; by default
	// that is refused (used), and staff decide outside the ladder.
	RefundUsed bool `json:"refund_used,omitempty"`
	// ExchangeFee is charged for each ticket exchanged for another (in the
	// ticket's currency); zero: exchanges are free.
	ExchangeFee Money `json:"exchange_fee,omitzero"`
	// Rounding rounds the fees.
	Rounding Rounding `json:"rounding,omitempty"`
}

// RefundStep is one rung: the fee while the start is at least Before away.
type RefundStep struct {
	Before time.Duration `json:"before"`
	Fee    Rate          `json:"fee"`
}

// Validate reports what is wrong with the ladder.
func (p RefundPolicy) Validate() error {
	if p.FreeWithin < 0 {
		return fmt.Errorf("refunds: negative free period %s", p.FreeWithin)
	}
	for i, s := range p.Ladder {
		switch {
		case s.Before < 0:
			return fmt.Errorf("refunds: step %d: negative time %s", i, s.Before)
		case i > 0 && s.Before >= p.Ladder[i-1].Before:
			return fmt.Errorf("refunds: step %d: %s is not shorter than the step before it", i, s.Before)
		case s.Fee < 0 || s.Fee > Whole:
			return fmt.Errorf("refunds: step %d: fee %s outside 0–100%%", i, s.Fee)
		}
		if s.Fee != 0 && s.Fee != Whole {
			if err := p.Rounding.valid(); err != nil {
				return fmt.Errorf("refunds: %w", err)
			}
		}
	}
	if p.ExchangeFee.Sign() < 0 {
		return fmt.Errorf("refunds: negative exchange fee %s", p.ExchangeFee)
	}
	return nil
}

// PaidTicket is a sold ticket as refunds and exchanges see it.
type PaidTicket struct {
	// ID names the ticket (its serial) in the answer.
	ID   string `json:"id"`
	Type TypeID `json:"type"`
	// Paid is what the buyer paid for it: the TicketPrice.Paid of the
	// quote that sold it.
	Paid Money `json:"paid"`
	// Refunded is what was returned for it already (an exchange to a
	// cheaper ticket, an earlier goodwill refund); zero when nothing was.
	Refunded    Money     `json:"refunded,omitzero"`
	PurchasedAt time.Time `json:"purchased_at"`
	// Used: the ticket was scanned in.
	Used bool `json:"used,omitempty"`
}

// RefundQuote is what a refund would return, ticket by ticket.
type RefundQuote struct {
	At      time.Time     `json:"at"`
	Tickets []RefundLine  `json:"tickets"`
	Totals  []RefundTotal `json:"totals"`
	Refused []Refusal     `json:"refused,omitempty"`
}

// OK reports whether every ticket asked for can be refunded.
func (r RefundQuote) OK() bool { return len(r.Refused) == 0 }

// RefundLine is one ticket's refund.
type RefundLine struct {
	Ticket string `json:"ticket"`
	Type   TypeID `json:"type"`
	Paid   Money  `json:"paid"`
	Fee    Money  `json:"fee"`
	Refund Money  `json:"refund"`
	// Why names the rule: "free within 48h0m0s of purchase", "20% fee, 720h0m0s or more before the start".
	Why string `json:"why"`
	// Step is the index of the ladder's step that applied, and Free that
	// the fee was waived within FreeWithin of the purchase: for pages that
	// say Why in the reader's language.
	Step int  `json:"step"`
	Free bool `json:"free,omitempty"`
}

// RefundTotal sums the refunds of one currency.
type RefundTotal struct {
	Currency Currency `json:"currency"`
	Paid     Money    `json:"paid"`
	Fee      Money    `json:"fee"`
	Refund   Money    `json:"refund"`
}

// Refund computes what refunding tickets at a time returns, by the
// catalog's ladder: pass one ticket or a whole order. Tickets that cannot
// be refunded are refused with a reason and left out of the totals. A
// malformed catalog or ticket (no currency, negative amounts, unknown type)
// is an error.
func Refund(cat Catalog, tickets []PaidTicket, at time.Time) (RefundQuote, error) {
	if err := cat.Validate(); err != nil {
		return RefundQuote{}, err
	}
	out := RefundQuote{At: at}
	totals := map[Currency]*RefundTotal{}
	for _, tk := range tickets {
		line, refusal, err := refundTicket(cat, tk, at)
		if err != nil {
			return RefundQuote{}, fmt.Errorf("refund ticket %s: %w", tk.ID, err)
		}
		if refusal != nil {
			out.Refused = append(out.Refused, *refusal)
			continue
		}
		out.Tickets = append(out.Tickets, line)
		c := line.Paid.cur
		t := totals[c]
		if t == nil {
			t = &RefundTotal{Currency: c, Paid: Zero(c), Fee: Zero(c), Refund: Zero(c)}
			totals[c] = t
		}
		if t.Paid, err = t.Paid.Add(line.Paid); err != nil {
			return RefundQuote{}, err
		}
		if t.Fee, err = t.Fee.Add(line.Fee); err != nil {
			return RefundQuote{}, err
		}
		if t.Refund, err = t.Refund.Add(line.Refund); err != nil {
			return RefundQuote{}, err
		}
	}
	for _, t := range totals {
		out.Totals = append(out.Totals, *t)
	}
	slices.SortFunc(out.Totals, func(a, b RefundTotal) int { return cmp.Compare(a.Currency.code, b.Currency.code) })
	return out, nil
}

// checkPaid reports a ticket whose amounts cannot be right.
func checkPaid(tk PaidTicket) error {
	if tk.Paid.cur.IsZero() {
		return fmt.Errorf("paid: %w", ErrNoCurrency)
	}
	if tk.Paid.Sign() < 0 {
		return fmt.Errorf("paid %s is negative", tk.Paid)
	}
	if !tk.Refunded.cur.IsZero() && tk.Refunded.cur != tk.Paid.cur || tk.Refunded.Sign() < 0 {
		return fmt.Errorf("refunded %s does not match paid %s", tk.Refunded, tk.Paid)
	}
	return nil
}

// refundable is what is left of a ticket's price to return.
func refundable(tk PaidTicket) int64 { return max(tk.Paid.minor-tk.Refunded.minor, 0) }

func refundTicket(cat Catalog, tk PaidTicket, at time.Time) (RefundLine, *Refusal, error) {
	if err := checkPaid(tk); err != nil {
		return RefundLine{}, nil, err
	}
	t, ok := cat.find(tk.Type)
	if !ok {
		return RefundLine{}, nil, fmt.Errorf("type %d: not in the catalog", tk.Type)
	}
	if t.Starts.IsZero() {
		return RefundLine{}, nil, fmt.Errorf("type %d: no start time to count the ladder from", tk.Type)
	}
	p := cat.Refunds
	no := func(r Reason, format string, args ...any) (RefundLine, *Refusal, error) {
		return RefundLine{}, &Refusal{Reason: r, Type: tk.Type, Ticket: tk.ID, Detail: fmt.Sprintf(format, args...)}, nil
	}
	before := t.Starts.Sub(at)
	left := refundable(tk)
	switch {
	case before <= 0:
		return no(ReasonEventStarted, "%s started at %s", t.Name, t.Starts.UTC().Format(time.RFC3339))
	case tk.Used && !p.RefundUsed:
		return no(ReasonUsed, "ticket %s was scanned in", tk.ID)
	case left == 0:
		return no(ReasonAlreadyRefunded, "ticket %s: nothing paid is left to return", tk.ID)
	}
	step := -1
	for i, s := range p.Ladder {
		if before >= s.Before {
			step = i
			break
		}
	}
	if step < 0 {
		last := time.Duration(0)
		if n := len(p.Ladder); n > 0 {
			last = p.Ladder[n-1].Before
		}
		return no(ReasonTooLate, "no refunds within %s of the start", last)
	}
	s := p.Ladder[step]
	line := RefundLine{Ticket: tk.ID, Type: tk.Type, Paid: tk.Paid, Fee: Zero(tk.Paid.cur), Step: step}
	since := at.Sub(tk.PurchasedAt)
	switch {
	case p.FreeWithin > 0 && since >= 0 && since < p.FreeWithin:
		line.Why = fmt.Sprintf("free within %s of purchase", p.FreeWithin)
		line.Free = true
	case s.Fee == Whole:
		return no(ReasonTooLate, "the fee %s before the start is the whole price", s.Before)
	default:
		fee, err := s.Fee.Of(tk.Paid, p.Rounding)
		if err != nil {
			return RefundLine{}, nil, err
		}
		line.Fee = fee
		line.Why = fmt.Sprintf("%s fee, %s or more before the start", s.Fee, s.Before)
	}
	line.Refund = Money{min(tk.Paid.minor-line.Fee.minor, left), tk.Paid.cur}
	return line, nil, nil
}
