package pricing

import (
	"errors"
	"slices"
	"testing"
)

func TestChange(t *testing.T) {
	tests := []struct {
		name       string
		due, given Money
		want       Money
		wantErr    error
	}{
		{"exact", cny(38000), cny(38000), cny(0), nil},
		{"a ¥100 note for ¥68", cny(6800), cny(10000), cny(3200), nil},
		{"short", cny(6800), cny(5000), Money{}, ErrShort},
		{"other currency", cny(6800), New(10000, USD), Money{}, ErrCurrencyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Change(tt.due, tt.given)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("Change = %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestMakeChange(t *testing.T) {
	tests := []struct {
		name   string
		amount Money
		want   []Count
		rest   Money
	}{
		{"¥32", cny(3200), []Count{{cny(2000), 1}, {cny(1000), 1}, {cny(100), 2}}, cny(0)},
		{"¥188.80", cny(18880), []Count{{cny(10000), 1}, {cny(5000), 1}, {cny(2000), 1}, {cny(1000), 1}, {cny(500), 1}, {cny(100), 3}, {cny(50), 1}, {cny(10), 3}}, cny(0)},
		{"fen are left over", cny(1235), []Count{{cny(1000), 1}, {cny(100), 2}, {cny(10), 3}}, cny(5)},
		{"$0.41", New(41, USD), []Count{{New(25, USD), 1}, {New(10, USD), 1}, {New(5, USD), 1}, {New(1, USD), 1}}, New(0, USD)},
		{"nothing", cny(0), nil, cny(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rest, err := MakeChange(tt.amount)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) || rest != tt.rest {
				t.Errorf("MakeChange = %v rest %v, want %v rest %v", got, rest, tt.want, tt.rest)
			}
			back, err := Counted(tt.amount.Currency(), got)
			if err != nil {
				t.Fatal(err)
			}
			if sum, _ := back.Add(rest); sum != tt.amount {
				t.Errorf("notes %v + rest %v ≠ %v", back, rest, tt.amount)
			}
		})
	}
	if _, _, err := MakeChange(New(100, KWD)); err == nil {
		t.Error("no denominations for KWD: no error")
	}
}

func TestDenominations(t *testing.T) {
	ds, ok := Denominations(CNY)
	if !ok || len(ds) != 8 || ds[0].Value != cny(10000) || ds[0].Coin || !ds[len(ds)-1].Coin || ds[len(ds)-1].Value != cny(10) {
		t.Errorf("CNY denominations = %v", ds)
	}
	for _, c := range []Currency{CNY, USD, EUR, HKD, JPY} {
		ds, ok := Denominations(c)
		if !ok {
			t.Errorf("%s: none", c)
		}
		for i := 1; i < len(ds); i++ {
			if ds[i].Value.Minor() >= ds[i-1].Value.Minor() {
				t.Errorf("%s: %v not largest first", c, ds)
			}
		}
	}
}

func TestCounted(t *testing.T) {
	tests := []struct {
		name    string
		counts  []Count
		want    Money
		wantErr bool
	}{
		{"by denomination", []Count{{cny(10000), 3}, {cny(2000), 2}, {cny(50), 4}}, cny(34200), false},
		{"not a note", []Count{{cny(3000), 1}}, Money{}, true},
		{"negative count", []Count{{cny(100), -1}}, Money{}, true},
		{"other currency", []Count{{New(100, USD), 1}}, Money{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Counted(CNY, tt.counts)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("Counted = %v, %v; want %v (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCloseShift(t *testing.T) {
	moves := []Movement{
		{Kind: Sale, Method: MethodCash, Amount: cny(38000), Given: cny(40000)},
		{Kind: Sale, Method: MethodCash, Amount: cny(19000)},
		{Kind: Sale, Method: "card", Amount: cny(76000)},
		{Kind: Void, Method: MethodCash, Amount: cny(19000)},
		{Kind: CashIn, Amount: cny(5000), Reason: "more change"},
		{Kind: CashOut, Amount: cny(20000), Reason: "drop to the safe"},
	}
	float := cny(50000)
	// 500 + 380 + 190 − 190 + 50 − 200 = 730
	s, err := CloseShift(float, moves, cny(73000))
	if err != nil {
		t.Fatal(err)
	}
	if s.Expected != cny(73000) || !s.Balanced() || s.ChangeGiven != cny(2000) || s.CashIn != cny(5000) || s.CashOut != cny(20000) {
		t.Errorf("close = %+v", s)
	}
	want := []MethodTotal{
		{Method: "cash", Sales: cny(57000), Voids: cny(19000), Net: cny(38000), Count: 3},
		{Method: "card", Sales: cny(76000), Voids: cny(0), Net: cny(76000), Count: 1},
	}
	if !slices.Equal(s.Methods, want) {
		t.Errorf("methods = %+v, want %+v", s.Methods, want)
	}
	short, err := CloseShift(float, moves, cny(72950))
	if err != nil {
		t.Fatal(err)
	}
	if short.Balanced() || short.Difference != cny(-50) {
		t.Errorf("a till ¥0.50 short: difference %v, balanced %v", short.Difference, short.Balanced())
	}
	bad := [][]Movement{
		{{Kind: Sale, Amount: cny(1)}},                                    // no method
		{{Kind: Sale, Method: MethodCash, Amount: New(1, USD)}},           // other currency
		{{Kind: Sale, Method: MethodCash, Amount: cny(-1)}},               // negative
		{{Kind: 9, Method: MethodCash, Amount: cny(1)}},                   // unknown kind
		{{Kind: Sale, Method: MethodCash, Amount: cny(5), Given: cny(1)}}, // given less than due
	}
	for i, m := range bad {
		if _, err := CloseShift(float, m, cny(0)); err == nil {
			t.Errorf("bad shift %d: no error", i)
		}
	}
}
