package pricing

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParseCurrency(t *testing.T) {
	tests := []struct {
		code    string
		want    string
		digits  int
		wantErr bool
	}{
		{"CNY", "CNY", 2, false},
		{"cny", "CNY", 2, false},
		{"USD", "USD", 2, false},
		{"EUR", "EUR", 2, false},
		{"JPY", "JPY", 0, false},
		{"KRW", "KRW", 0, false},
		{"KWD", "KWD", 3, false},
		{"BHD", "BHD", 3, false},
		{"XAU", "", 0, true}, // gold
		{"XXX", "", 0, true}, // no currency
		{"ABC", "", 0, true},
		{"", "", 0, true},
		{"CNYY", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			got, err := ParseCurrency(tt.code)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseCurrency(%q) error %v, want error %v", tt.code, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got.Code() != tt.want || got.Digits() != tt.digits {
				t.Errorf("ParseCurrency(%q) = %s with %d digits, want %s with %d", tt.code, got.Code(), got.Digits(), tt.want, tt.digits)
			}
		})
	}
	if c, _ := ParseCurrency("cny"); c != CNY {
		t.Errorf("ParseCurrency(cny) != CNY: currencies must compare equal")
	}
}

func TestArithmetic(t *testing.T) {
	cny := func(v int64) Money { return New(v, CNY) }
	tests := []struct {
		name    string
		op      func() (Money, error)
		want    Money
		wantErr error
	}{
		{"add", func() (Money, error) { return cny(12800).Add(cny(50)) }, cny(12850), nil},
		{"add negative", func() (Money, error) { return cny(100).Add(cny(-300)) }, cny(-200), nil},
		{"add mixed currencies", func() (Money, error) { return cny(100).Add(New(100, USD)) }, Money{}, ErrCurrencyMismatch},
		{"add no currency", func() (Money, error) { return cny(100).Add(Money{}) }, Money{}, ErrNoCurrency},
		{"add overflow", func() (Money, error) { return cny(math.MaxInt64).Add(cny(1)) }, Money{}, ErrOverflow},
		{"add underflow", func() (Money, error) { return cny(math.MinInt64).Add(cny(-1)) }, Money{}, ErrOverflow},
		{"sub", func() (Money, error) { return cny(100).Sub(cny(250)) }, cny(-150), nil},
		{"sub min", func() (Money, error) { return cny(0).Sub(cny(math.MinInt64)) }, Money{}, ErrOverflow},
		{"sub mixed", func() (Money, error) { return New(1, JPY).Sub(cny(1)) }, Money{}, ErrCurrencyMismatch},
		{"neg", func() (Money, error) { return cny(5).Neg() }, cny(-5), nil},
		{"neg min", func() (Money, error) { return cny(math.MinInt64).Neg() }, Money{}, ErrOverflow},
		{"mul", func() (Money, error) { return cny(12800).Mul(3) }, cny(38400), nil},
		{"mul zero", func() (Money, error) { return cny(math.MaxInt64).Mul(0) }, cny(0), nil},
		{"mul overflow", func() (Money, error) { return cny(math.MaxInt64 / 2).Mul(3) }, Money{}, ErrOverflow},
		{"mul min by -1", func() (Money, error) { return cny(math.MinInt64).Mul(-1) }, Money{}, ErrOverflow},
		{"min", func() (Money, error) { return cny(3).Min(cny(2)) }, cny(2), nil},
		{"sum", func() (Money, error) { return Sum(CNY, cny(1), cny(2), cny(3)) }, cny(6), nil},
		{"sum of nothing", func() (Money, error) { return Sum(JPY) }, Zero(JPY), nil},
		{"sum mixed", func() (Money, error) { return Sum(CNY, cny(1), New(2, EUR)) }, Money{}, ErrCurrencyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.op()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := New(1, CNY).Cmp(New(1, USD)); !errors.Is(err, ErrCurrencyMismatch) {
		t.Errorf("Cmp across currencies: %v, want ErrCurrencyMismatch", err)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		cur     Currency
		want    int64
		wantErr string
	}{
		{"100.00", CNY, 10000, ""},
		{"100", CNY, 10000, ""},
		{"0.5", CNY, 50, ""},
		{"0.05", CNY, 5, ""},
		{"-12.30", CNY, -1230, ""},
		{"+7", CNY, 700, ""},
		{"000128.00", CNY, 12800, ""},
		{"0", CNY, 0, ""},
		{"-0.00", CNY, 0, ""},
		{"500", JPY, 500, ""},
		{"1.500", KWD, 1500, ""},
		{"92233720368547758.07", CNY, math.MaxInt64, ""},
		{"-92233720368547758.08", CNY, math.MinInt64, ""},
		{"92233720368547758.08", CNY, 0, "out of range"},
		{"0.005", CNY, 0, "decimals"},
		{"100.5", JPY, 0, "decimals"},
		{"1.2345", KWD, 0, "decimals"},
		{"", CNY, 0, "not a decimal"},
		{"-", CNY, 0, "not a decimal"},
		{".5", CNY, 0, "not a decimal"},
		{"5.", CNY, 0, "not a decimal"},
		{"1,000.00", CNY, 0, "not a decimal"},
		{"1e3", CNY, 0, "not a decimal"},
		{" 1", CNY, 0, "not a decimal"},
		{"¥1", CNY, 0, "not a decimal"},
		{"--1", CNY, 0, "not a decimal"},
		{"1.2.3", CNY, 0, "not a decimal"},
		{"NaN", CNY, 0, "not a decimal"},
		{strings.Repeat("1", 40), CNY, 0, "too long"},
		{"1", Currency{}, 0, "no currency"},
	}
	for _, tt := range tests {
		t.Run(tt.in+" "+tt.cur.Code(), func(t *testing.T) {
			got, err := Parse(tt.in, tt.cur)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Minor() != tt.want || got.Currency() != tt.cur {
				t.Errorf("Parse(%q) = %d %s, want %d %s", tt.in, got.Minor(), got.Currency(), tt.want, tt.cur)
			}
		})
	}
}

func TestFormatAndDisplay(t *testing.T) {
	tests := []struct {
		m      Money
		format string
		zh, en string
	}{
		{New(12800, CNY), "128.00", "¥128.00", "CN¥128.00"},
		{New(1250, USD), "12.50", "US$12.50", "$12.50"},
		{New(5, CNY), "0.05", "¥0.05", "CN¥0.05"},
		{New(-50, CNY), "-0.50", "-¥0.50", "-CN¥0.50"},
		{New(1280000, CNY), "12800.00", "¥12,800.00", "CN¥12,800.00"},
		{New(123456789, USD), "1234567.89", "US$1,234,567.89", "$1,234,567.89"},
		{New(500, JPY), "500", "JP¥500", "¥500"},
		{New(1500, KWD), "1.500", "KWD 1.500", "KWD 1.500"},
		{New(1999, EUR), "19.99", "€19.99", "€19.99"},
		{New(0, CNY), "0.00", "¥0.00", "CN¥0.00"},
		{New(math.MinInt64, CNY), "-92233720368547758.08", "-¥92,233,720,368,547,758.08", "-CN¥92,233,720,368,547,758.08"},
	}
	for _, tt := range tests {
		t.Run(tt.m.String(), func(t *testing.T) {
			if got := tt.m.Format(); got != tt.format {
				t.Errorf("Format = %q, want %q", got, tt.format)
			}
			if got := tt.m.Display("zh-CN"); got != tt.zh {
				t.Errorf("Display(zh-CN) = %q, want %q", got, tt.zh)
			}
			if got := tt.m.Display("zh"); got != tt.zh {
				t.Errorf("Display(zh) = %q, want %q", got, tt.zh)
			}
			if got := tt.m.Display("en"); got != tt.en {
				t.Errorf("Display(en) = %q, want %q", got, tt.en)
			}
		})
	}
	if got, want := New(100, USD).Display("not a tag!"), "$1.00"; got != want {
		t.Errorf("Display with a bad tag = %q, want the English %q", got, want)
	}
}

func TestJSON(t *testing.T) {
	type order struct {
		Total Money `json:"total"`
	}
	b, err := json.Marshal(order{New(12850, CNY)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"total":{"amount":"128.50","currency":"CNY"}}`; got != want {
		t.Errorf("marshal = %s, want %s", got, want)
	}
	var back order
	if err := json.Unmarshal(b, &back); err != nil || back.Total != New(12850, CNY) {
		t.Errorf("unmarshal = %v, %v", back.Total, err)
	}
	for _, bad := range []string{
		`{"total":{"amount":"1.005","currency":"CNY"}}`,
		`{"total":{"amount":"1","currency":"ABC"}}`,
		`{"total":{"amount":"1"}}`,
		`{"total":{"amount":1.5,"currency":"CNY"}}`,
	} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("unmarshal %s: no error", bad)
		}
	}
	if _, err := json.Marshal(Money{}); err == nil {
		t.Errorf("marshal of money without a currency: no error")
	}
}

func TestRounding(t *testing.T) {
	// a × num ÷ den for halves and near-halves, positive and negative.
	tests := []struct {
		name          string
		a, num, den   int64
		even, up, dn  int64
		down, awayOne int64
	}{
		{"0.5", 1, 1, 2, 0, 1, 0, 0, 1},
		{"1.5", 3, 1, 2, 2, 2, 1, 1, 2},
		{"2.5", 5, 1, 2, 2, 3, 2, 2, 3},
		{"-0.5", -1, 1, 2, 0, -1, 0, 0, -1},
		{"-2.5", -5, 1, 2, -2, -3, -2, -2, -3},
		{"0.4", 2, 1, 5, 0, 0, 0, 0, 1},
		{"0.6", 3, 1, 5, 1, 1, 1, 0, 1},
		{"exact", 10, 3, 5, 6, 6, 6, 6, 6},
		{"20% of 128.00", 12800, 2000, 10000, 2560, 2560, 2560, 2560, 2560},
		{"12.5% of 0.99", 99, 1250, 10000, 12, 12, 12, 12, 13}, // 12.375
		{"15% of 0.30", 30, 1500, 10000, 4, 5, 4, 4, 5},        // 4.5
		{"big: MaxInt64 × 1/1", math.MaxInt64, 10000, 10000, math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for mode, want := range map[Rounding]int64{RoundHalfEven: tt.even, RoundHalfUp: tt.up, RoundHalfDown: tt.dn, RoundDown: tt.down, RoundUp: tt.awayOne} {
				got, err := New(tt.a, CNY).MulDiv(tt.num, tt.den, mode)
				if err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
				if got.Minor() != want {
					t.Errorf("%d × %d / %d %s = %d, want %d", tt.a, tt.num, tt.den, mode, got.Minor(), want)
				}
			}
		})
	}
	if _, err := New(1, CNY).MulDiv(1, 2, 0); err == nil {
		t.Error("the zero Rounding: no error, want one (no default mode)")
	}
	if _, err := New(math.MaxInt64, CNY).MulDiv(3, 2, RoundDown); !errors.Is(err, ErrOverflow) {
		t.Errorf("MaxInt64 × 3/2: %v, want ErrOverflow", err)
	}
	if _, err := New(1, CNY).MulDiv(1, 0, RoundDown); err == nil {
		t.Error("divide by zero: no error")
	}
}

func TestRate(t *testing.T) {
	tests := []struct {
		in      string
		want    Rate
		str     string
		wantErr bool
	}{
		{"20%", Percent(20), "20%", false},
		{"12.5%", 1250, "12.5%", false},
		{"12.5", 1250, "12.5%", false},
		{"0.01%", 1, "0.01%", false},
		{"100%", Whole, "100%", false},
		{"12.345%", 0, "", true},
		{"abc", 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseRate(%q) error %v", tt.in, err)
			}
			if err == nil && (got != tt.want || got.String() != tt.str) {
				t.Errorf("ParseRate(%q) = %d (%s), want %d (%s)", tt.in, got, got, tt.want, tt.str)
			}
		})
	}
	fee, err := Percent(20).Of(New(12800, CNY), RoundHalfEven)
	if err != nil || fee != New(2560, CNY) {
		t.Errorf("20%% of ¥128.00 = %v, %v; want ¥25.60", fee, err)
	}
}

func TestAllocate(t *testing.T) {
	tests := []struct {
		name    string
		total   Money
		weights []int64
		want    []int64
		wantErr bool
	}{
		{"thirds", New(10000, CNY), []int64{1, 1, 1}, []int64{3334, 3333, 3333}, false},
		{"by price", New(1000, CNY), []int64{12800, 6400, 6400}, []int64{500, 250, 250}, false},
		{"largest remainder wins", New(100, CNY), []int64{1, 2, 3}, []int64{17, 33, 50}, false}, // 16.67 33.33 50
		{"ties to the earlier", New(2, CNY), []int64{1, 1, 1}, []int64{1, 1, 0}, false},
		{"zero weight gets nothing", New(101, CNY), []int64{0, 1, 1}, []int64{0, 51, 50}, false},
		{"negative total", New(-10000, CNY), []int64{1, 1, 1}, []int64{-3334, -3333, -3333}, false},
		{"nothing", New(0, CNY), []int64{3, 4}, []int64{0, 0}, false},
		{"JPY", New(1000, JPY), []int64{1, 1, 1, 1, 1, 1}, []int64{167, 167, 167, 167, 166, 166}, false},
		{"huge", New(math.MaxInt64, CNY), []int64{math.MaxInt64 / 2, math.MaxInt64 / 2}, []int64{math.MaxInt64/2 + 1, math.MaxInt64 / 2}, false},
		{"all zero", New(100, CNY), []int64{0, 0}, nil, true},
		{"negative weight", New(100, CNY), []int64{2, -1}, nil, true},
		{"no weights", New(100, CNY), nil, nil, true},
		{"weights overflow", New(100, CNY), []int64{math.MaxInt64, 1}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Allocate(tt.total, tt.weights...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d shares, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i].Minor() != tt.want[i] || got[i].Currency() != tt.total.Currency() {
					t.Errorf("share %d = %v, want %d", i, got[i], tt.want[i])
				}
			}
		})
	}
	if _, err := Split(New(1, CNY), 0); err == nil {
		t.Error("Split into 0: no error")
	}
}
