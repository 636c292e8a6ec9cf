// Package pricing is tixgate's money and prices: amounts in integer minor
// units of a currency, ticket types' price schedules, promotions, refund
// fees, exchanges and the cash of a seller's till. The storefront, the
// order, the refund and the offline seller all call the same functions, so
// a buyer is charged what the page showed and refunded by the rule they
// were shown, whether central or a handheld in a car park does the sum.
//
// It is pure code: no I/O, no storage, no logging, no clock reads (every
// function that depends on time takes it as a parameter), no floats
// anywhere, and it imports nothing of tixgate. Its one dependency,
// golang.org/x/text, supplies the ISO 4217 and CLDR data (each currency's
// exponent, its symbols per language). It must never round silently, mix
// currencies, overflow or panic on any input: each of those is an error.
//
// # Money
//
// Money is an int64 of minor units and a Currency: New(12800, CNY) is
// ¥128.00; JPY has no minor unit, KWD three. Parse reads "128", "128.5" and
// "128.50" and refuses "128.505" (too many decimals for CNY) rather than
// rounding it; Format writes back what Parse reads; Display writes what a
// person expects: "¥128.00" in Chinese, "CN¥128.00" or "$12.50" in English.
// A division names its Rounding (RoundHalfEven, RoundHalfUp, …); there is no
// default. Rates are basis points (Percent(20) is 2000). Allocate divides an
// amount across weights by the largest remainder method, so the shares add
// up to the amount exactly.
//
// # Quote
//
// Quote(cart, catalog, promotions, at) is the one pricing function. In
// order:
//
//  1. each item: the type exists, the buyer's roles may buy it, the
//     quantity meets the group minimum and the per-order maximum;
//  2. each ticket's list price: the first rule of the type's schedule that
//     applies at that time, to that buyer, for that stock count (a cart
//     crossing a stock tier pays both prices, as two lines); a bundle
//     without its own price costs its components less its discount;
//  3. the promotions, by Priority then ID: automatic ones always, vouchers
//     when the cart carries their code; each either applies or, for a code,
//     is refused with its reason (expired, exhausted, not applicable, not
//     combinable). A stackable one takes its part of what is left after the
//     earlier ones; an exclusive one applies only to tickets nothing else
//     discounted and then admits nothing after it. A per-order promotion is
//     counted on the sum and allocated back to the tickets;
//  4. the lines, each ticket's paid amount (a bundle's split across its
//     component tickets by their list prices), the totals per currency.
//
// What the buyer asked for that cannot be had is a Refusal in the
// quotation, with a Reason a page can translate; a malformed catalog is an
// error. The counts that change (a type's Sold, a promotion's Used) come in
// the catalog snapshot: a seller's handheld, which cannot know central's
// counts while offline, should be given price lists without stock tiers or
// usage limits.
//
// # Refunds, exchanges, cash
//
// Refund applies the event's ladder of fees (RefundPolicy) to each ticket's
// paid amount, so a refund never exceeds what was paid and refunding an
// order whole or ticket by ticket gives the same sum. Exchange prices the
// new ticket with Quote and returns the difference to charge or refund.
// Change, MakeChange, Counted and CloseShift are the arithmetic of a seller's
// till: change due, notes and coins, expected against counted.
package pricing
