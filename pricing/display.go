package pricing

import (
	"strings"
	"unicode"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Display is the amount as a person reading lang expects it: "¥128.00" in
// Chinese (zh, zh-CN), "CN¥128.00" and "$12.50" in English, "-¥5.00" when
// negative, the whole part grouped by three ("¥12,800.00"). The symbols come
// from the CLDR data of golang.org/x/text: a reader's own currency shows its
// narrow symbol (¥ in China, $ in the United States), any other its
// distinct one (CN¥ to an English reader, US$ to a Chinese one); a symbol
// that ends in a letter is set apart by a space ("KWD 1.500").
//
// Both languages tixgate speaks write the number the same way (point,
// comma groups, symbol first), so lang chooses the symbol only. A tag that
// does not parse is read as English.
func (m Money) Display(lang string) string {
	if m.cur.IsZero() {
		return m.String()
	}
	sym := symbol(lang, m.cur)
	num := formatDecimal(m.minor, m.cur.Digits(), ",")
	sign := ""
	if strings.HasPrefix(num, "-") {
		sign, num = "-", num[1:]
	}
	if r := []rune(sym); unicode.IsLetter(r[len(r)-1]) {
		sym += " "
	}
	return sign + sym + num
}

// symbol looks the currency's symbol up for lang. Nothing is cached: lang
// may come from a request header, and a cache keyed by it would grow without
// bound; a lookup takes about a microsecond.
func symbol(lang string, c Currency) string {
	tag, err := language.Parse(lang)
	if err != nil {
		tag = language.English
	}
	var f currency.Formatter = currency.Symbol
	if own, conf := currency.FromTag(tag); conf != language.No && own == c.unit {
		f = currency.NarrowSymbol
	}
	s := message.NewPrinter(tag).Sprint(f(c.unit))
	if s == "" {
		s = c.code
	}
	return s
}
