package pricing

import (
	"fmt"
	"strconv"
	"strings"
)

// maxDecimalLen bounds the text Parse reads: an int64 has 19 digits.
const maxDecimalLen = 32

// Parse reads a decimal amount in c: "100.00", "100", "0.5", "-12.30".
// It accepts an optional sign, at least one digit before an optional point,
// and at most c.Digits() digits after it; nothing else (no grouping, no
// spaces, no exponent, no symbol). More decimals than the currency has is
// an error, never a silent rounding: "0.005" CNY, "100.5" JPY.
func Parse(s string, c Currency) (Money, error) {
	if c.IsZero() {
		return Money{}, fmt.Errorf("parse amount %q: %w", s, ErrNoCurrency)
	}
	if len(s) > maxDecimalLen {
		return Money{}, fmt.Errorf("parse amount: %d characters is too long", len(s))
	}
	text := s
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	whole, frac, dotted := strings.Cut(s, ".")
	if whole == "" || !digitsOnly(whole) {
		return Money{}, fmt.Errorf("parse amount %q: not a decimal number", text)
	}
	if dotted && (frac == "" || !digitsOnly(frac)) {
		return Money{}, fmt.Errorf("parse amount %q: not a decimal number", text)
	}
	if len(frac) > c.Digits() {
		return Money{}, fmt.Errorf("parse amount %q: %s has %d decimals, %q has %d", text, c, c.Digits(), text, len(frac))
	}
	frac += strings.Repeat("0", c.Digits()-len(frac))
	// Read the digits as one number, so the range check is one check.
	digits := strings.TrimLeft(whole+frac, "0")
	if digits == "" {
		return Money{cur: c}, nil
	}
	if neg {
		digits = "-" + digits
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return Money{}, fmt.Errorf("parse amount %q: %w", text, ErrOverflow)
	}
	return Money{minor: v, cur: c}, nil
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Format is the plain decimal form that Parse reads back: "128.00",
// "-0.50", "500" (JPY), "1.500" (KWD). No symbol, no grouping.
func (m Money) Format() string {
	return formatDecimal(m.minor, m.cur.Digits(), "")
}

// formatDecimal writes minor units with digits decimals, grouping the whole
// part by three with group when it is not empty.
func formatDecimal(minor int64, digits int, group string) string {
	neg := minor < 0
	// Work on the magnitude as uint64: -MinInt64 does not fit an int64.
	u := uint64(minor)
	if neg {
		u = -u
	}
	s := strconv.FormatUint(u, 10)
	if len(s) <= digits {
		s = strings.Repeat("0", digits-len(s)+1) + s
	}
	whole, frac := s[:len(s)-digits], s[len(s)-digits:]
	if group != "" && len(whole) > 3 {
		var b strings.Builder
		lead := len(whole) % 3
		if lead > 0 {
			b.WriteString(whole[:lead])
		}
		for i := lead; i < len(whole); i += 3 {
			if b.Len() > 0 {
				b.WriteString(group)
			}
			b.WriteString(whole[i : i+3])
		}
		whole = b.String()
	}
	out := whole
	if digits > 0 {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}
