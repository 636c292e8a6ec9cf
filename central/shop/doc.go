// Package shop is central's online box office as a JSON API under
// /api/v1/shop/: buyer accounts (email and password, argon2id, the email
// verified by a mailed link), what is on sale and at what price, stock
// that cannot be oversold, and orders from pending_payment to issued
// tickets.
//
// Prices come from the pricing package's Quote, never from a sum of its
// own: the offers and promotions stored here become a pricing.Catalog for
// each quote. Stock lives in the store's pools (a type's quota, the hall's
// capacity across types, an event day's, an account's purchase limit); an
// order takes from every pool it touches in the transaction that creates
// it, so a buyer told pending_payment has the tickets held, and one told
// sold_out was told at once. A hold runs out after Config.Hold and its
// stock returns. A paid order's tickets are issued by central's catalog in
// the transaction that marks it paid, so they reach the gates with the next
// manifest pull, and a cancelled paid order's tickets are revoked there.
//
// Around the order: a proof-of-work captcha on registration and checkout
// (captcha.go; self-hosted, no third party), rate limits per address and
// account, and a log of every refusal for staff (blocked.go); purchase
// limits per account, phone and payment instrument (pools like stock, so
// they hold under races too); an on-sale waiting room that lets buyers
// through at a set rate in arrival order (room.go, computed from the
// clock, nothing in the background); waiting lists that offer freed
// tickets in order as held orders (waitlist.go); sponsors' allocations of
// complimentary tickets issued to named guests (sponsors.go); the buyer's
// profile, consent records, export and deletion (profile.go); SMS through
// a Sender, with Alibaba Cloud SMS as a real provider (sms_aliyun.go).
//
// It never stores a password, a session or a verification token in the
// clear (argon2id for passwords, SHA-256 for tokens), and it never trusts
// a price or a total sent by a buyer. It keeps phone numbers out of its
// pool names and blocked log (hashed, masked) and payment instruments only
// as hashes, and it never logs an SMS provider's secret.
package shop
