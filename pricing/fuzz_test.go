package pricing

import (
	"math"
	"testing"
	"time"
)

var fuzzCurrencies = []Currency{CNY, USD, JPY, KWD, EUR, HKD}

// Parse and Format round-trip: what Parse accepts, Format writes back in a
// form Parse reads to the same amount; every int64 formats and parses back.
func FuzzParseFormat(f *testing.F) {
	for _, s := range []string{"100.00", "100", "0.5", "-12.30", "0.005", "1e3", "", "-", "92233720368547758.07", "+0", "00.10"} {
		f.Add(s, int64(12800), uint8(0))
	}
	f.Add("1.500", int64(math.MinInt64), uint8(3))
	f.Add("500", int64(math.MaxInt64), uint8(2))
	f.Fuzz(func(t *testing.T, s string, v int64, ci uint8) {
		c := fuzzCurrencies[int(ci)%len(fuzzCurrencies)]
		if m, err := Parse(s, c); err == nil {
			back, err := Parse(m.Format(), c)
			if err != nil || back != m {
				t.Fatalf("Parse(%q) = %v; Format %q parses to %v, %v", s, m, m.Format(), back, err)
			}
			_ = m.Display("zh-CN")
		}
		m := New(v, c)
		back, err := Parse(m.Format(), c)
		if err != nil || back != m {
			t.Fatalf("New(%d, %s).Format() = %q parses to %v, %v", v, c, m.Format(), back, err)
		}
		for _, lang := range []string{"zh-CN", "en"} {
			if d := m.Display(lang); d == "" {
				t.Fatalf("empty display of %v", m)
			}
		}
	})
}

// Allocate never loses or makes a unit, and each share is within one unit
// of its exact part.
func FuzzAllocate(f *testing.F) {
	f.Add(int64(10000), []byte{1, 1, 1})
	f.Add(int64(-7), []byte{0, 5, 200, 3})
	f.Add(int64(math.MaxInt64), []byte{255, 255})
	f.Fuzz(func(t *testing.T, total int64, ws []byte) {
		if len(ws) > 64 {
			ws = ws[:64]
		}
		weights := make([]int64, len(ws))
		var sum int64
		for i, w := range ws {
			weights[i] = int64(w) * int64(w) * 1000
			sum += weights[i]
		}
		shares, err := Allocate(New(total, CNY), weights...)
		if err != nil {
			if sum != 0 && len(ws) > 0 && total != math.MinInt64 {
				t.Fatalf("Allocate(%d, %v): %v", total, weights, err)
			}
			return
		}
		var got int64
		for i, s := range shares {
			got += s.Minor()
			exact, _, err := mulDiv(total, weights[i], sum, RoundDown)
			if err != nil {
				t.Fatal(err)
			}
			if d := s.Minor() - exact; d < -1 || d > 1 {
				t.Fatalf("share %d = %d, exact part %d", i, s.Minor(), exact)
			}
			if weights[i] == 0 && s.Minor() != 0 {
				t.Fatalf("zero weight got %d", s.Minor())
			}
		}
		if got != total {
			t.Fatalf("shares sum to %d, want %d", got, total)
		}
	})
}

// Quote keeps its invariants for any cart and mix of promotions: no
// negative total, discounts within the price, tickets summing to lines and
// lines to totals; and the refund of what it sold never exceeds what was
// paid.
func FuzzQuote(f *testing.F) {
	f.Add([]byte{1, 2, 4, 1, 6, 1}, []byte{0, 1, 2}, uint16(100))
	f.Add([]byte{2, 200, 3, 10, 8, 2, 9, 1}, []byte{3, 4, 5, 6}, uint16(5000))
	f.Add([]byte{12, 3, 1, 1}, []byte{1, 7}, uint16(0))
	f.Fuzz(func(t *testing.T, cartBytes, promoBytes []byte, minutes uint16) {
		if len(cartBytes) > 24 || len(promoBytes) > 12 {
			return
		}
		var cart Cart
		for i := 0; i+1 < len(cartBytes); i += 2 {
			cart.Items = append(cart.Items, Item{Type: TypeID(cartBytes[i] % 14), Quantity: int(cartBytes[i+1]) - 5})
		}
		var promos []Promotion
		for i, b := range promoBytes {
			p := Promotion{ID: string(rune('a' + i)), Name: "p", Priority: int(b>>6) - 1, Stackable: b&1 == 1, Rounding: Rounding(1 + b%5)}
			if b&2 == 0 {
				p.Off = Rate(int64(b) * 40 % int64(Whole+1))
				if p.Off == 0 {
					p.Off = 1
				}
			} else {
				p.Amount = cny(int64(b) * 137)
			}
			if b&4 != 0 {
				p.Scope = PerOrder
			}
			if b&8 != 0 {
				p.Code = string(rune('A' + i))
				cart.Codes = append(cart.Codes, p.Code)
			}
			if b&16 != 0 {
				p.Types = []TypeID{TypeID(b % 13)}
			}
			if b&32 != 0 {
				p.MinQuantity = int(b % 7)
			}
			promos = append(promos, p)
		}
		if minutes%3 == 0 {
			cart.Roles = []string{"vip"}
		}
		when := at("2026-04-25T00:00:00+08:00").Add(time.Duration(minutes) * time.Minute * 10)
		q, err := Quote(cart, festival(), promos, when)
		if err != nil {
			t.Fatalf("Quote: %v", err)
		}
		checkQuote(t, q)
		var tickets []PaidTicket
		for _, l := range q.Lines {
			for _, tk := range l.Tickets {
				tickets = append(tickets, PaidTicket{ID: "t", Type: tk.Type, Paid: tk.Paid, PurchasedAt: when})
			}
		}
		r, err := Refund(festival(), tickets, when.Add(time.Hour))
		if err != nil {
			t.Fatalf("Refund: %v", err)
		}
		for _, tot := range r.Totals {
			qt, _ := q.Total(tot.Currency)
			if tot.Refund.Minor() > qt.Total.Minor() || tot.Refund.Sign() < 0 || tot.Fee.Sign() < 0 {
				t.Fatalf("refund %+v of a quote totalling %v", tot, qt.Total)
			}
		}
	})
}
