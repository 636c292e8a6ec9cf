package pricing

import (
	"slices"
	"testing"
	"time"
)

func TestRefund(t *testing.T) {
	day := 24 * time.Hour
	bought := day1.Add(-60 * day)
	paid := func(id string, v int64) PaidTicket {
		return PaidTicket{ID: id, Type: tDay1, Paid: cny(v), PurchasedAt: bought}
	}
	tests := []struct {
		name     string
		policy   func(*RefundPolicy)
		tickets  []PaidTicket
		at       time.Time
		refunds  []int64 // per refunded ticket
		fees     []int64
		refused  []Reason
		totalRef int64
	}{
		{name: "free within 48 hours of purchase", tickets: []PaidTicket{paid("1", 38000)}, at: bought.Add(47 * time.Hour),
			refunds: []int64{38000}, fees: []int64{0}, totalRef: 38000},
		{name: "20% more than 30 days before", tickets: []PaidTicket{paid("1", 38000)}, at: bought.Add(48 * time.Hour),
			refunds: []int64{30400}, fees: []int64{7600}, totalRef: 30400},
		{name: "exactly 30 days before is still 20%", tickets: []PaidTicket{paid("1", 38000)}, at: day1.Add(-30 * day),
			refunds: []int64{30400}, fees: []int64{7600}, totalRef: 30400},
		{name: "30% from 30 to 7 days", tickets: []PaidTicket{paid("1", 38000)}, at: day1.Add(-30*day + time.Second),
			refunds: []int64{26600}, fees: []int64{11400}, totalRef: 26600},
		{name: "50% in the last week", tickets: []PaidTicket{paid("1", 38000)}, at: day1.Add(-2 * day),
			refunds: []int64{19000}, fees: []int64{19000}, totalRef: 19000},
		{name: "none in the last day", tickets: []PaidTicket{paid("1", 38000)}, at: day1.Add(-23 * time.Hour),
			refused: []Reason{ReasonTooLate}},
		{name: "the last day wins over the free period", tickets: []PaidTicket{{ID: "1", Type: tDay1, Paid: cny(38000), PurchasedAt: day1.Add(-2 * time.Hour)}},
			at: day1.Add(-1 * time.Hour), refused: []Reason{ReasonTooLate}},
		{name: "after the start", tickets: []PaidTicket{paid("1", 38000)}, at: day1, refused: []Reason{ReasonEventStarted}},
		{name: "scanned in", tickets: []PaidTicket{{ID: "1", Type: tDay1, Paid: cny(38000), PurchasedAt: bought, Used: true}},
			at: day1.Add(-10 * day), refused: []Reason{ReasonUsed}},
		{name: "scanned in, allowed by the policy", policy: func(p *RefundPolicy) { p.RefundUsed = true },
			tickets: []PaidTicket{{ID: "1", Type: tDay1, Paid: cny(38000), PurchasedAt: bought, Used: true}},
			at:      day1.Add(-10 * day), refunds: []int64{26600}, fees: []int64{11400}, totalRef: 26600},
		{name: "from what was paid after discounts", tickets: []PaidTicket{paid("1", 30400), paid("2", 30401)}, at: day1.Add(-10 * day),
			refunds: []int64{21280, 21281}, fees: []int64{9120, 9120}, totalRef: 42561}, // 9120.3 → 9120
		{name: "never more than what is left after an earlier refund",
			tickets: []PaidTicket{{ID: "1", Type: tDay1, Paid: cny(38000), Refunded: cny(30000), PurchasedAt: bought}},
			at:      day1.Add(-40 * day), refunds: []int64{8000}, fees: []int64{7600}, totalRef: 8000},
		{name: "nothing left", tickets: []PaidTicket{{ID: "1", Type: tDay1, Paid: cny(38000), Refunded: cny(38000), PurchasedAt: bought}},
			at: day1.Add(-40 * day), refused: []Reason{ReasonAlreadyRefunded}},
		{name: "a day-2 ticket counts from day 2", tickets: []PaidTicket{{ID: "1", Type: tDay2, Paid: cny(38000), PurchasedAt: bought}}, at: day1.Add(-time.Hour),
			refunds: []int64{19000}, fees: []int64{19000}, totalRef: 19000},
		{name: "a 100% step refunds nothing", policy: func(p *RefundPolicy) { p.Ladder[2].Fee = Whole },
			tickets: []PaidTicket{paid("1", 38000)}, at: day1.Add(-2 * day), refused: []Reason{ReasonTooLate}},
		{name: "no ladder: no refunds", policy: func(p *RefundPolicy) { p.Ladder = nil },
			tickets: []PaidTicket{paid("1", 38000)}, at: bought.Add(time.Hour), refused: []Reason{ReasonTooLate}},
		{name: "a whole order, one ticket refused", tickets: []PaidTicket{paid("1", 38000), {ID: "2", Type: tDay1, Paid: cny(38000), PurchasedAt: bought, Used: true}},
			at: day1.Add(-10 * day), refunds: []int64{26600}, fees: []int64{11400}, refused: []Reason{ReasonUsed}, totalRef: 26600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat := festival()
			if tt.policy != nil {
				tt.policy(&cat.Refunds)
			}
			r, err := Refund(cat, tt.tickets, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			var refunds, fees []int64
			for _, l := range r.Tickets {
				refunds = append(refunds, l.Refund.Minor())
				fees = append(fees, l.Fee.Minor())
				if l.Refund.Sign() < 0 || l.Refund.Minor() > l.Paid.Minor() || l.Why == "" {
					t.Errorf("line %+v", l)
				}
			}
			if !slices.Equal(refunds, tt.refunds) || !slices.Equal(fees, tt.fees) {
				t.Errorf("refunds %v fees %v, want %v %v", refunds, fees, tt.refunds, tt.fees)
			}
			var reasons []Reason
			for _, x := range r.Refused {
				reasons = append(reasons, x.Reason)
			}
			if !slices.Equal(reasons, tt.refused) {
				t.Errorf("refused %v, want %v", reasons, tt.refused)
			}
			var total int64
			for _, tot := range r.Totals {
				total += tot.Refund.Minor()
			}
			if total != tt.totalRef {
				t.Errorf("total refund %d, want %d", total, tt.totalRef)
			}
		})
	}
}

// A whole order refunds what its tickets refund one by one, and no more
// than the order paid.
func TestRefundWholeEqualsSingles(t *testing.T) {
	q, err := Quote(Cart{Items: items(1, 3, 4, 2, 6, 1), Codes: []string{"FIFTY"}}, festival(), []Promotion{fiftyOff}, may)
	if err != nil {
		t.Fatal(err)
	}
	var tickets []PaidTicket
	for _, l := range q.Lines {
		for i, tk := range l.Tickets {
			tickets = append(tickets, PaidTicket{ID: string(rune('a'+len(tickets))) + string(rune('0'+i)), Type: tk.Type, Paid: tk.Paid, PurchasedAt: may})
		}
	}
	when := day1.Add(-10 * 24 * time.Hour)
	whole, err := Refund(festival(), tickets, when)
	if err != nil {
		t.Fatal(err)
	}
	var singles int64
	for _, tk := range tickets {
		r, err := Refund(festival(), []PaidTicket{tk}, when)
		if err != nil || len(r.Totals) != 1 {
			t.Fatalf("refund %s: %v %+v", tk.ID, err, r)
		}
		singles += r.Totals[0].Refund.Minor()
	}
	total, _ := q.Total(CNY)
	if whole.Totals[0].Refund.Minor() != singles {
		t.Errorf("whole order refunds %d, its tickets one by one %d", whole.Totals[0].Refund.Minor(), singles)
	}
	if whole.Totals[0].Paid != total.Total || whole.Totals[0].Refund.Minor() > total.Total.Minor() {
		t.Errorf("refund %+v of an order that paid %v", whole.Totals[0], total.Total)
	}
	if want := total.Total.Minor() * 7 / 10; abs(whole.Totals[0].Refund.Minor()-want) > int64(len(tickets)) {
		t.Errorf("refund %d, about %d expected at 30%%", whole.Totals[0].Refund.Minor(), want)
	}
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func TestRefundPolicyValidate(t *testing.T) {
	bad := []RefundPolicy{
		{Ladder: []RefundStep{{Before: time.Hour, Fee: Percent(10)}, {Before: 2 * time.Hour, Fee: Percent(20)}}, Rounding: RoundHalfUp},
		{Ladder: []RefundStep{{Before: time.Hour, Fee: Percent(10)}}},
		{Ladder: []RefundStep{{Before: time.Hour, Fee: Percent(110)}}, Rounding: RoundHalfUp},
		{FreeWithin: -time.Hour},
		{ExchangeFee: cny(-1)},
	}
	for i, p := range bad {
		if err := p.Validate(); err == nil {
			t.Errorf("policy %d: no error", i)
		}
	}
	if err := ladder().Validate(); err != nil {
		t.Errorf("the example ladder: %v", err)
	}
	if _, err := Refund(festival(), []PaidTicket{{ID: "1", Type: tDay1, Paid: New(1, USD), Refunded: cny(1)}}, may); err == nil {
		t.Error("refunded in another currency than paid: no error")
	}
	if _, err := Refund(festival(), []PaidTicket{{ID: "1", Type: 99, Paid: cny(1)}}, may); err == nil {
		t.Error("unknown type: no error")
	}
}

func TestExchange(t *testing.T) {
	old := PaidTicket{ID: "7", Type: tDay1, Paid: cny(28000), PurchasedAt: at("2026-04-01T10:00:00+08:00")}
	tests := []struct {
		name    string
		from    PaidTicket
		to      Cart
		promos  []Promotion
		fee     Money
		at      time.Time
		diff    int64
		refused []Reason
	}{
		{name: "to a dearer day: pay the difference", from: old, to: Cart{Items: items(7, 1)}, at: may, diff: 10000},
		{name: "to a cheaper type: refund the difference", from: old, to: Cart{Items: items(4, 1)}, at: may, diff: -9000},
		{name: "with a fee", from: old, to: Cart{Items: items(4, 1)}, fee: cny(1000), at: may, diff: -8000},
		{name: "the new ticket at today's promotions", from: old, to: Cart{Items: items(7, 1), Codes: []string{"SPRING"}}, promos: []Promotion{spring}, at: may, diff: 30400 - 28000},
		{name: "credit less what was refunded already", from: PaidTicket{ID: "7", Type: tDay1, Paid: cny(28000), Refunded: cny(8000)}, to: Cart{Items: items(4, 1)}, at: may, diff: -1000},
		{name: "after the start", from: old, to: Cart{Items: items(7, 1)}, at: day1, refused: []Reason{ReasonEventStarted}},
		{name: "scanned in", from: PaidTicket{ID: "7", Type: tDay1, Paid: cny(28000), Used: true}, to: Cart{Items: items(7, 1)}, at: may, refused: []Reason{ReasonUsed}},
		{name: "to a type the buyer may not have", from: old, to: Cart{Items: items(5, 1)}, at: may, refused: []Reason{ReasonNotExchangeable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat := festival()
			if !tt.fee.IsZero() {
				cat.Refunds.ExchangeFee = tt.fee
			}
			e, err := Exchange(cat, tt.promos, tt.from, tt.to, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			var reasons []Reason
			for _, r := range e.Refused {
				reasons = append(reasons, r.Reason)
			}
			if !slices.Equal(reasons, tt.refused) {
				t.Fatalf("refused %v, want %v", reasons, tt.refused)
			}
			if e.OK() && e.Difference.Minor() != tt.diff {
				t.Errorf("difference %v, want %d", e.Difference, tt.diff)
			}
			if -e.Difference.Minor() > e.Credit.Minor() {
				t.Errorf("refunds %v, more than the credit %v", e.Difference, e.Credit)
			}
		})
	}
	if _, err := Exchange(festival(), nil, old, Cart{Items: items(7, 2)}, may); err == nil {
		t.Error("exchange for two tickets: no error")
	}
	if _, err := Exchange(festival(), nil, old, Cart{Items: items(8, 1)}, may); err == nil {
		t.Error("exchange CNY for USD: no error")
	}
}
