package pricing

import (
	"fmt"
	"strings"

	"golang.org/x/text/currency"
)

// Currency is an ISO 4217 currency and the number of its minor-unit digits
// (its exponent): CNY, USD and EUR 2, JPY and KRW 0, KWD and BHD 3. The zero
// Currency is no currency; every function refuses it.
//
// Currency is comparable: two values are equal exactly when they name the
// same currency.
type Currency struct {
	code   string
	digits int8
	unit   currency.Unit
}

// The currencies tixgate sells in most. Any other ISO 4217 code comes from
// ParseCurrency.
var (
	CNY = mustCurrency("CNY")
	USD = mustCurrency("USD")
	EUR = mustCurrency("EUR")
	HKD = mustCurrency("HKD")
	JPY = mustCurrency("JPY")
	KWD = mustCurrency("KWD")
)

// maxDigits bounds the exponent: 10^maxDigits must fit an int64 with room.
const maxDigits = 4

// ParseCurrency returns the currency of an ISO 4217 code ("CNY", case
// insensitive), with its exponent from the CLDR data in golang.org/x/text.
// Codes that are not currencies ("XAU", gold) or not known are an error.
func ParseCurrency(code string) (Currency, error) {
	u, err := currency.ParseISO(code)
	if err != nil || len(code) != 3 {
		return Currency{}, fmt.Errorf("currency %q: not an ISO 4217 code", code)
	}
	upper := strings.ToUpper(code)
	if upper[0] == 'X' {
		// X codes are precious metals, SDRs, test and "no currency" codes.
		return Currency{}, fmt.Errorf("currency %q: not a currency one can sell in", code)
	}
	digits, _ := currency.Standard.Rounding(u)
	if digits < 0 || digits > maxDigits {
		return Currency{}, fmt.Errorf("currency %q: %d minor digits is beyond %d", code, digits, maxDigits)
	}
	return Currency{code: upper, digits: int8(digits), unit: u}, nil
}

func mustCurrency(code string) Currency {
	c, err := ParseCurrency(code)
	if err != nil {
		panic(err) // only for the package's own constants, checked by tests
	}
	return c
}

// Code is the ISO 4217 code, "CNY"; "" for the zero Currency.
func (c Currency) Code() string { return c.code }

// Digits is the number of minor-unit digits: 2 for CNY (1 yuan = 100 fen).
func (c Currency) Digits() int { return int(c.digits) }

// IsZero reports whether c is the zero Currency (no currency).
func (c Currency) IsZero() bool { return c.code == "" }

// String is the ISO code, or "no currency".
func (c Currency) String() string {
	if c.code == "" {
		return "no currency"
	}
	return c.code
}

// scale is 10^digits: the minor units in one major unit.
func (c Currency) scale() int64 {
	s := int64(1)
	for range c.digits {
		s *= 10
	}
	return s
}

// MarshalText writes the ISO code.
func (c Currency) MarshalText() ([]byte, error) {
	if c.IsZero() {
		return nil, fmt.Errorf("marshal currency: no currency")
	}
	return []byte(c.code), nil
}

// UnmarshalText reads an ISO code.
func (c *Currency) UnmarshalText(b []byte) error {
	p, err := ParseCurrency(string(b))
	if err != nil {
		return err
	}
	*c = p
	return nil
}
