package shop

import (
	"strconv"
	"time"

	"github.com/tixgate/tixgate/pricing"
)

// RefundView is a refund quote as the buyer's and the box office's pages
// show it: every ticket with what it paid, the fee and why, and the
// total back. The ops screens use it too, so both show the same quote.
type RefundView struct {
	Lines   []RefundLineView
	Refused []string // why tickets asked for cannot be refunded, in the reader's language
	Paid    string
	Fee     string
	Back    string
	// BackMinor is Back in minor units: the confirming form carries it, so
	// a quote that changed meanwhile is shown again, not made.
	BackMinor int64
	OK        bool
	// Used: a ticket asked for was scanned in (a supervisor may approve).
	Used bool
	// Method is the catalog key of how the money goes back.
	Method string
	// Rules are the event's ladder in words, for "why".
	Rules []string
}

// RefundLineView is one ticket of a refund quote.
type RefundLineView struct {
	Serial                string
	Type                  string
	Paid, Fee, Back, Why  string
	FeeZero, FreeOfCharge bool
}

// DescribeRefund says a refund plan in the reader's language; types names
// the ticket types, t translates.
func DescribeRefund(p RefundPlan, policy pricing.RefundPolicy, types map[uint64]string, lang string, t func(string, ...any) string) RefundView {
	v := RefundView{OK: p.OK(), Used: len(p.Used) > 0}
	for _, l := range p.Quote.Tickets {
		lv := RefundLineView{Serial: l.Ticket, Type: types[uint64(l.Type)], Paid: l.Paid.Display(lang), Fee: l.Fee.Display(lang), Back: l.Refund.Display(lang),
			FeeZero: l.Fee.IsZero(), FreeOfCharge: l.Free}
		switch {
		case l.Free:
			lv.Why = t("refund.why.free", "hours", hours(policy.FreeWithin))
		case l.Step >= 0 && l.Step < len(policy.Ladder):
			s := policy.Ladder[l.Step]
			lv.Why = t("refund.why.step", "fee", s.Fee.String(), "before", span(s.Before, t))
		default:
			lv.Why = l.Why
		}
		v.Lines = append(v.Lines, lv)
	}
	for _, rf := range p.Quote.Refused {
		key := "refund.refused." + string(rf.Reason)
		msg := t(key, "ticket", rf.Ticket)
		if msg == key {
			msg = rf.Detail
		}
		v.Refused = append(v.Refused, msg)
	}
	back, fee := p.Total()
	v.Back, v.Fee, v.BackMinor = back.Display(lang), fee.Display(lang), back.Minor()
	if paid, err := back.Add(fee); err == nil {
		v.Paid = paid.Display(lang)
	}
	switch p.Method {
	case MethodTest:
		v.Method = "refund.method.test"
	case MethodBoxOffice:
		v.Method = "refund.method.box_office"
	default:
		v.Method = "refund.method.provider"
	}
	if policy.FreeWithin > 0 {
		v.Rules = append(v.Rules, t("refund.rule.free", "hours", hours(policy.FreeWithin)))
	}
	for _, s := range policy.Ladder {
		v.Rules = append(v.Rules, t("refund.rule.step", "fee", s.Fee.String(), "before", span(s.Before, t)))
	}
	if n := len(policy.Ladder); n > 0 {
		v.Rules = append(v.Rules, t("refund.rule.none", "before", span(policy.Ladder[n-1].Before, t)))
	} else {
		v.Rules = append(v.Rules, t("refund.rule.never"))
	}
	if policy.RefundUsed {
		v.Rules = append(v.Rules, t("refund.rule.used_ok"))
	} else {
		v.Rules = append(v.Rules, t("refund.rule.used_no"))
	}
	return v
}

func hours(d time.Duration) string { return strconv.FormatInt(int64(d/time.Hour), 10) }

// span says a time before the start: whole days as days, else hours.
func span(d time.Duration, t func(string, ...any) string) string {
	if d == 0 {
		return t("refund.span.start")
	}
	if d == 24*time.Hour {
		return t("refund.span.day")
	}
	if d%(24*time.Hour) == 0 {
		return t("refund.span.days", "n", int64(d/(24*time.Hour)))
	}
	return t("refund.span.hours", "n", int64(d/time.Hour))
}

// ExchangeView is an exchange quote as the pages show it.
type ExchangeView struct {
	From, To                  string // the types' names
	Credit, Price, Fee, Total string
	// Pay: the buyer pays Total more; Back: Total comes back; neither:
	// the exchange is even.
	Pay, Back bool
	Refused   []string
	OK        bool
	SoldOut   bool
	Method    string // the catalog key of how the money goes back
}

// DescribeExchange says an exchange plan in the reader's language.
func DescribeExchange(p ExchangePlan, types map[uint64]string, lang string, t func(string, ...any) string) ExchangeView {
	q := p.Quote
	v := ExchangeView{From: types[uint64(q.From.Type)], Credit: q.Credit.Display(lang), Fee: q.Fee.Display(lang), OK: p.OK(), SoldOut: p.Left <= 0}
	if len(q.To.Lines) == 1 {
		v.To = types[uint64(q.To.Lines[0].Type)]
	}
	if tot, ok := q.To.Total(q.Credit.Currency()); ok {
		v.Price = tot.Total.Display(lang)
	}
	d := q.Difference
	switch d.Sign() {
	case 1:
		v.Pay, v.Total = true, d.Display(lang)
	case -1:
		neg, _ := d.Neg()
		v.Back, v.Total = true, neg.Display(lang)
	default:
		v.Total = d.Display(lang)
	}
	for _, rf := range q.Refused {
		key := "refund.refused." + string(rf.Reason)
		msg := t(key, "ticket", rf.Ticket)
		if msg == key {
			msg = rf.Detail
		}
		v.Refused = append(v.Refused, msg)
	}
	switch p.Order.Method {
	case MethodTest:
		v.Method = "refund.method.test"
	case MethodBoxOffice:
		v.Method = "refund.method.box_office"
	default:
		v.Method = "refund.method.provider"
	}
	return v
}
