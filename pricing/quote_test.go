package pricing

import (
	"slices"
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func cny(v int64) Money { return New(v, CNY) }

// The event: a two-day festival, day 1 on 2026-06-12, day 2 on 2026-06-13.
var (
	day1 = at("2026-06-12T18:00:00+08:00")
	day2 = at("2026-06-13T18:00:00+08:00")
	// Early bird ends on 1 May.
	earlyEnd = at("2026-05-01T00:00:00+08:00")
	// Most quotes are made in late May.
	may = at("2026-05-20T12:00:00+08:00")
)

const (
	tDay1 TypeID = iota + 1
	tTiered
	tGroup
	tReduced
	tLounge
	tWeekend
	tDay2
	tUSD
	tWeekendFixed
	tLimited
	tSoldOut
	tFree
)

func festival() Catalog {
	return Catalog{
		Types: []TicketType{
			{ID: tDay1, Name: "Day 1", Currency: CNY, Starts: day1, Prices: []PriceRule{
				{Name: "VIP", Price: cny(25000), Roles: []string{"vip"}},
				{Name: "early bird", Price: cny(28000), Until: earlyEnd},
				{Name: "regular", Price: cny(38000)},
			}},
			{ID: tTiered, Name: "Pit", Currency: CNY, Starts: day1, Sold: 98, Prices: []PriceRule{
				{Name: "tier 1", Price: cny(10000), SoldBelow: 100},
				{Name: "tier 2", Price: cny(15000), SoldBelow: 300},
				{Name: "tier 3", Price: cny(20000)},
			}},
			{ID: tGroup, Name: "Group", Currency: CNY, Starts: day1, GroupMin: 10, Prices: []PriceRule{{Name: "group", Price: cny(20000)}}},
			{ID: tReduced, Name: "Student", Currency: CNY, Starts: day1, Proof: "student card", Prices: []PriceRule{{Name: "reduced", Price: cny(19000)}}},
			{ID: tLounge, Name: "VIP lounge", Currency: CNY, Starts: day1, Roles: []string{"vip"}, Prices: []PriceRule{{Name: "VIP", Price: cny(88000)}}},
			{ID: tWeekend, Name: "Weekend", Currency: CNY, Starts: day1, BundleOff: Percent(10), Rounding: RoundHalfEven,
				Components: []Component{{Type: tDay1, Quantity: 1}, {Type: tDay2, Quantity: 1}}},
			{ID: tDay2, Name: "Day 2", Currency: CNY, Starts: day2, Prices: []PriceRule{{Name: "regular", Price: cny(38000)}}},
			{ID: tUSD, Name: "Day 1 (USD)", Currency: USD, Starts: day1, Prices: []PriceRule{{Name: "regular", Price: New(5000, USD)}}},
			{ID: tWeekendFixed, Name: "Weekend fixed", Currency: CNY, Starts: day1, Prices: []PriceRule{{Name: "bundle price", Price: cny(60000)}},
				Components: []Component{{Type: tDay1, Quantity: 1}, {Type: tDay2, Quantity: 1}}},
			{ID: tLimited, Name: "Meet and greet", Currency: CNY, Starts: day1, MaxPerOrder: 4, Prices: []PriceRule{{Name: "regular", Price: cny(50000)}}},
			{ID: tSoldOut, Name: "Front row", Currency: CNY, Starts: day1, Sold: 20, Prices: []PriceRule{{Name: "only", Price: cny(99900), SoldBelow: 21}}},
			{ID: tFree, Name: "Child", Currency: CNY, Starts: day1, Prices: []PriceRule{{Name: "free", Price: cny(0)}}},
		},
		Refunds: ladder(),
	}
}

func ladder() RefundPolicy {
	return RefundPolicy{FreeWithin: 48 * time.Hour, Rounding: RoundHalfEven, Ladder: []RefundStep{
		{Before: 30 * 24 * time.Hour, Fee: Percent(20)},
		{Before: 7 * 24 * time.Hour, Fee: Percent(30)},
		{Before: 24 * time.Hour, Fee: Percent(50)},
	}}
}

func items(pairs ...int) []Item {
	var out []Item
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, Item{Type: TypeID(pairs[i]), Quantity: pairs[i+1]})
	}
	return out
}

var (
	spring = Promotion{ID: "spring", Name: "Spring voucher", Code: "SPRING", Off: Percent(20), Rounding: RoundHalfEven,
		From: at("2026-03-01T00:00:00+08:00"), Until: at("2026-06-01T00:00:00+08:00"), Limit: 100, Used: 10, Stackable: true}
	fiftyOff = Promotion{ID: "fifty", Name: "¥50 off the order", Code: "FIFTY", Amount: cny(5000), Scope: PerOrder}
	members  = Promotion{ID: "members", Name: "Members 15%", Off: Percent(15), Rounding: RoundHalfUp, Roles: []string{"member"}, Priority: 10}
	four     = Promotion{ID: "four", Name: "4 or more: 10%", Off: Percent(10), Rounding: RoundHalfEven, MinQuantity: 4, Stackable: true}
)

func with(p Promotion, f func(*Promotion)) Promotion { f(&p); return p }

func TestQuote(t *testing.T) {
	tests := []struct {
		name    string
		cart    Cart
		promos  []Promotion
		at      time.Time
		totals  map[string]int64 // currency → total, minor units
		refused []Reason
		applied []string
		check   func(t *testing.T, q Quotation)
	}{
		{name: "regular price after the early bird", cart: Cart{Items: items(1, 2)}, at: may,
			totals: map[string]int64{"CNY": 76000},
			check: func(t *testing.T, q Quotation) {
				l := q.Lines[0]
				if l.Price != "regular" || l.Unit != cny(38000) || l.Quantity != 2 || len(l.Tickets) != 2 {
					t.Errorf("line = %+v", l)
				}
			}},
		{name: "early bird window", cart: Cart{Items: items(1, 2)}, at: at("2026-04-30T23:59:59+08:00"),
			totals: map[string]int64{"CNY": 56000},
			check:  func(t *testing.T, q Quotation) { wantEq(t, "price", q.Lines[0].Price, "early bird") }},
		{name: "early bird ends at its Until", cart: Cart{Items: items(1, 1)}, at: earlyEnd,
			totals: map[string]int64{"CNY": 38000}},
		{name: "VIP price for the VIP role", cart: Cart{Items: items(1, 1), Roles: []string{"vip"}}, at: may,
			totals: map[string]int64{"CNY": 25000}},
		{name: "stock tiers: a cart crossing a tier pays both", cart: Cart{Items: items(2, 5)}, at: may,
			totals: map[string]int64{"CNY": 2*10000 + 3*15000},
			check: func(t *testing.T, q Quotation) {
				if len(q.Lines) != 2 || q.Lines[0].Quantity != 2 || q.Lines[0].Price != "tier 1" || q.Lines[1].Quantity != 3 || q.Lines[1].Price != "tier 2" {
					t.Errorf("lines = %+v", q.Lines)
				}
			}},
		{name: "items of one type add up", cart: Cart{Items: items(1, 1, 4, 1, 1, 2)}, at: may,
			totals: map[string]int64{"CNY": 3*38000 + 19000},
			check: func(t *testing.T, q Quotation) {
				if len(q.Lines) != 2 || q.Lines[0].Quantity != 3 {
					t.Errorf("lines = %+v", q.Lines)
				}
			}},
		{name: "last tier sold out", cart: Cart{Items: items(11, 2)}, at: may,
			refused: []Reason{ReasonNotOnSale}, totals: map[string]int64{}},
		{name: "group minimum not met", cart: Cart{Items: items(3, 9)}, at: may,
			refused: []Reason{ReasonGroupMinimum}, totals: map[string]int64{}},
		{name: "group minimum met", cart: Cart{Items: items(3, 10)}, at: may,
			totals: map[string]int64{"CNY": 200000}},
		{name: "reduced carries its proof", cart: Cart{Items: items(4, 1)}, at: may,
			totals: map[string]int64{"CNY": 19000},
			check:  func(t *testing.T, q Quotation) { wantEq(t, "proof", q.Lines[0].Proof, "student card") }},
		{name: "VIP-only type without the role", cart: Cart{Items: items(5, 1, 1, 1)}, at: may,
			refused: []Reason{ReasonRoleRequired}, totals: map[string]int64{"CNY": 38000}},
		{name: "VIP-only type with the role", cart: Cart{Items: items(5, 1), Roles: []string{"vip"}}, at: may,
			totals: map[string]int64{"CNY": 88000}},
		{name: "unknown type", cart: Cart{Items: items(99, 1)}, at: may,
			refused: []Reason{ReasonUnknownType}, totals: map[string]int64{}},
		{name: "zero and negative quantities", cart: Cart{Items: items(1, 0, 4, -1)}, at: may,
			refused: []Reason{ReasonBadQuantity, ReasonBadQuantity}, totals: map[string]int64{}},
		{name: "more than the type allows per order", cart: Cart{Items: items(10, 5)}, at: may,
			refused: []Reason{ReasonOverLimit}, totals: map[string]int64{}},
		{name: "bundle priced from its components less 10%", cart: Cart{Items: items(6, 1)}, at: may,
			totals: map[string]int64{"CNY": 68400},
			check: func(t *testing.T, q Quotation) {
				tk := q.Lines[0].Tickets
				if len(tk) != 2 || tk[0].Type != tDay1 || tk[1].Type != tDay2 || tk[0].Paid != cny(34200) || tk[1].Paid != cny(34200) || !tk[0].InBundle || tk[0].Bundle != tWeekend {
					t.Errorf("bundle tickets = %+v", tk)
				}
			}},
		{name: "bundle components follow the buyer's prices", cart: Cart{Items: items(6, 1), Roles: []string{"vip"}}, at: may,
			totals: map[string]int64{"CNY": (25000 + 38000) * 9 / 10}},
		{name: "bundle with its own price, split by the parts' prices", cart: Cart{Items: items(9, 1)}, at: may,
			totals: map[string]int64{"CNY": 60000},
			check: func(t *testing.T, q Quotation) {
				tk := q.Lines[0].Tickets
				if len(tk) != 2 || tk[0].Paid != cny(30000) || tk[1].Paid != cny(30000) || tk[0].List != cny(38000) {
					t.Errorf("bundle tickets = %+v", tk)
				}
			}},
		{name: "free tickets: nothing to discount", cart: Cart{Items: items(12, 2), Codes: []string{"FIFTY"}}, promos: []Promotion{fiftyOff}, at: may,
			totals: map[string]int64{"CNY": 0}, refused: []Reason{ReasonNotApplicable}},
		{name: "voucher 20% off each ticket", cart: Cart{Items: items(1, 2), Codes: []string{"SPRING"}}, promos: []Promotion{spring}, at: may,
			totals: map[string]int64{"CNY": 60800}, applied: []string{"spring"},
			check: func(t *testing.T, q Quotation) {
				d := q.Lines[0].Discounts
				if len(d) != 1 || d[0].Amount != cny(15200) || d[0].Why != "20% off each ticket" || d[0].Code != "SPRING" {
					t.Errorf("discounts = %+v", d)
				}
			}},
		{name: "voucher codes ignore case and spaces", cart: Cart{Items: items(1, 1), Codes: []string{" spring "}}, promos: []Promotion{spring}, at: may,
			totals: map[string]int64{"CNY": 30400}, applied: []string{"spring"}},
		{name: "voucher expired", cart: Cart{Items: items(1, 2), Codes: []string{"SPRING"}}, promos: []Promotion{spring}, at: at("2026-06-01T00:00:00+08:00"),
			totals: map[string]int64{"CNY": 76000}, refused: []Reason{ReasonExpired}},
		{name: "voucher not yet valid", cart: Cart{Items: items(1, 1), Codes: []string{"SPRING"}}, promos: []Promotion{spring}, at: at("2026-02-01T00:00:00+08:00"),
			totals: map[string]int64{"CNY": 28000}, refused: []Reason{ReasonNotYetValid}},
		{name: "voucher exhausted", cart: Cart{Items: items(1, 1), Codes: []string{"SPRING"}}, at: may,
			promos: []Promotion{with(spring, func(p *Promotion) { p.Used = 100 })},
			totals: map[string]int64{"CNY": 38000}, refused: []Reason{ReasonExhausted}},
		{name: "voucher for other types", cart: Cart{Items: items(4, 1), Codes: []string{"SPRING"}}, at: may,
			promos: []Promotion{with(spring, func(p *Promotion) { p.Types = []TypeID{tDay1} })},
			totals: map[string]int64{"CNY": 19000}, refused: []Reason{ReasonNotApplicable}},
		{name: "unknown code", cart: Cart{Items: items(1, 1), Codes: []string{"NOPE"}}, promos: []Promotion{spring}, at: may,
			totals: map[string]int64{"CNY": 38000}, refused: []Reason{ReasonUnknownCode}},
		{name: "an automatic promotion below its minimum stays silent", cart: Cart{Items: items(1, 3)}, promos: []Promotion{four}, at: may,
			totals: map[string]int64{"CNY": 114000}},
		{name: "an automatic promotion at its minimum", cart: Cart{Items: items(1, 3, 4, 1)}, promos: []Promotion{four}, at: may,
			totals: map[string]int64{"CNY": (114000 + 19000) * 9 / 10}, applied: []string{"four"}},
		{name: "a voucher below its minimum is refused", cart: Cart{Items: items(1, 3), Codes: []string{"FOUR"}}, at: may,
			promos: []Promotion{with(four, func(p *Promotion) { p.Code = "FOUR" })},
			totals: map[string]int64{"CNY": 114000}, refused: []Reason{ReasonNotApplicable}},
		{name: "¥50 off the order, allocated by price", cart: Cart{Items: items(1, 2, 4, 1), Codes: []string{"FIFTY"}}, promos: []Promotion{fiftyOff}, at: may,
			totals: map[string]int64{"CNY": 95000 - 5000}, applied: []string{"fifty"},
			check: func(t *testing.T, q Quotation) {
				got := []int64{q.Lines[0].Tickets[0].Paid.minor, q.Lines[0].Tickets[1].Paid.minor, q.Lines[1].Tickets[0].Paid.minor}
				if want := []int64{38000 - 2000, 38000 - 2000, 19000 - 1000}; !slices.Equal(got, want) {
					t.Errorf("paid per ticket = %v, want %v", got, want)
				}
			}},
		{name: "a fixed amount never takes a ticket below zero", cart: Cart{Items: items(4, 2)}, at: may,
			promos: []Promotion{{ID: "big", Name: "big", Amount: cny(50000)}},
			totals: map[string]int64{"CNY": 0}, applied: []string{"big"}},
		{name: "stackable promotions compound", cart: Cart{Items: items(1, 1), Codes: []string{"A", "B"}}, at: may,
			promos: []Promotion{
				{ID: "a", Name: "a", Code: "A", Off: Percent(10), Rounding: RoundHalfEven, Stackable: true},
				{ID: "b", Name: "b", Code: "B", Off: Percent(10), Rounding: RoundHalfEven, Stackable: true},
			},
			totals: map[string]int64{"CNY": 30780}, applied: []string{"a", "b"}},
		{name: "an exclusive promotion first blocks a stackable voucher", cart: Cart{Items: items(1, 2), Codes: []string{"SPRING"}, Roles: []string{"member"}},
			promos: []Promotion{spring, members}, at: may,
			totals: map[string]int64{"CNY": 64600}, refused: []Reason{ReasonNotCombinable}, applied: []string{"members"}},
		{name: "an exclusive promotion after a stackable one finds nothing left", cart: Cart{Items: items(1, 1), Codes: []string{"SPRING"}, Roles: []string{"member"}},
			promos: []Promotion{with(spring, func(p *Promotion) { p.Priority = 20 }), members}, at: may,
			totals: map[string]int64{"CNY": 30400}, applied: []string{"spring"}},
		{name: "equal priority: by id", cart: Cart{Items: items(1, 1)}, at: may,
			promos: []Promotion{
				{ID: "z", Name: "z", Off: Percent(50), Rounding: RoundHalfEven},
				{ID: "m", Name: "m", Off: Percent(5), Rounding: RoundHalfEven},
			},
			totals: map[string]int64{"CNY": 36100}, applied: []string{"m"}},
		{name: "a role-restricted promotion skips other buyers", cart: Cart{Items: items(1, 1)}, promos: []Promotion{members}, at: may,
			totals: map[string]int64{"CNY": 38000}},
		{name: "two currencies, the fixed amount only in its own", cart: Cart{Items: items(1, 1, 8, 2), Codes: []string{"FIFTY"}}, promos: []Promotion{fiftyOff}, at: may,
			totals: map[string]int64{"CNY": 33000, "USD": 10000}, applied: []string{"fifty"}},
		{name: "a percentage per order rounds once", cart: Cart{Items: items(1, 3)}, at: may,
			promos:  []Promotion{{ID: "o", Name: "o", Off: 333, Rounding: RoundHalfUp, Scope: PerOrder}}, // 3.33% of 1140.00 = 37.962
			totals:  map[string]int64{"CNY": 114000 - 3796},
			applied: []string{"o"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Quote(tt.cart, festival(), tt.promos, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			checkQuote(t, q)
			got := map[string]int64{}
			for _, tot := range q.Totals {
				got[tot.Currency.Code()] = tot.Total.Minor()
			}
			if len(got) != len(tt.totals) {
				t.Errorf("totals = %v, want %v", got, tt.totals)
			}
			for c, want := range tt.totals {
				if got[c] != want {
					t.Errorf("total %s = %d, want %d", c, got[c], want)
				}
			}
			var reasons []Reason
			for _, r := range q.Refused {
				reasons = append(reasons, r.Reason)
				if r.Detail == "" {
					t.Errorf("refusal %s without a detail", r.Reason)
				}
			}
			if !slices.Equal(reasons, tt.refused) {
				t.Errorf("refused = %v, want %v (%+v)", reasons, tt.refused, q.Refused)
			}
			if q.OK() != (len(tt.refused) == 0) {
				t.Errorf("OK() = %v with refusals %v", q.OK(), reasons)
			}
			if !slices.Equal(q.Applied, tt.applied) {
				t.Errorf("applied = %v, want %v", q.Applied, tt.applied)
			}
			if tt.check != nil {
				tt.check(t, q)
			}
		})
	}
}

func wantEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// checkQuote asserts the invariants every quotation keeps.
func checkQuote(t testing.TB, q Quotation) {
	t.Helper()
	sums := map[Currency][3]int64{}
	for _, l := range q.Lines {
		c := l.Unit.Currency()
		if l.Total.Sign() < 0 || l.Subtotal.Sign() < 0 {
			t.Errorf("line %d: negative subtotal %v or total %v", l.Type, l.Subtotal, l.Total)
		}
		var disc, paid int64
		for _, d := range l.Discounts {
			if d.Amount.Sign() <= 0 || d.Amount.Currency() != c {
				t.Errorf("line %d: discount %+v", l.Type, d)
			}
			disc += d.Amount.Minor()
		}
		if disc > l.Subtotal.Minor() || l.Subtotal.Minor()-disc != l.Total.Minor() {
			t.Errorf("line %d: subtotal %v − discounts %d ≠ total %v", l.Type, l.Subtotal, disc, l.Total)
		}
		if l.Unit.Minor()*int64(l.Quantity) != l.Subtotal.Minor() {
			t.Errorf("line %d: %d × %v ≠ %v", l.Type, l.Quantity, l.Unit, l.Subtotal)
		}
		for _, tk := range l.Tickets {
			if tk.Paid.Sign() < 0 || tk.Paid.Currency() != c {
				t.Errorf("line %d: ticket paid %v", l.Type, tk.Paid)
			}
			paid += tk.Paid.Minor()
		}
		if paid != l.Total.Minor() {
			t.Errorf("line %d: tickets sum to %d, total %v", l.Type, paid, l.Total)
		}
		s := sums[c]
		s[0] += l.Subtotal.Minor()
		s[1] += disc
		s[2] += l.Total.Minor()
		sums[c] = s
	}
	if len(sums) != len(q.Totals) {
		t.Errorf("%d totals for %d currencies", len(q.Totals), len(sums))
	}
	for _, tot := range q.Totals {
		s := sums[tot.Currency]
		if tot.Subtotal.Minor() != s[0] || tot.Discount.Minor() != s[1] || tot.Total.Minor() != s[2] || tot.Total.Sign() < 0 {
			t.Errorf("total %s = %v/%v/%v, lines sum to %v", tot.Currency, tot.Subtotal, tot.Discount, tot.Total, s)
		}
	}
}

func TestQuoteRefusesMalformed(t *testing.T) {
	dup := festival()
	dup.Types = append(dup.Types, dup.Types[0])
	wrongCur := festival()
	wrongCur.Types[0].Prices[0].Price = New(100, USD)
	nested := festival()
	nested.Types = append(nested.Types, TicketType{ID: 50, Name: "nested", Currency: CNY, Components: []Component{{Type: tWeekend, Quantity: 1}}})
	noRounding := festival()
	noRounding.Types[5].Rounding = 0
	tests := []struct {
		name   string
		cat    Catalog
		promos []Promotion
	}{
		{"duplicate type", dup, nil},
		{"price in another currency", wrongCur, nil},
		{"bundle in a bundle", nested, nil},
		{"bundle discount without a rounding", noRounding, nil},
		{"promotion without a rounding", festival(), []Promotion{{ID: "x", Off: Percent(10)}}},
		{"promotion with rate and amount", festival(), []Promotion{{ID: "x", Off: Percent(10), Amount: cny(1), Rounding: RoundHalfUp}}},
		{"promotion over 100%", festival(), []Promotion{{ID: "x", Off: Percent(101), Rounding: RoundHalfUp}}},
		{"promotion without id", festival(), []Promotion{{Off: Percent(10), Rounding: RoundHalfUp}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Quote(Cart{Items: items(1, 1)}, tt.cat, tt.promos, may); err == nil {
				t.Errorf("Quote: no error")
			}
		})
	}
}
