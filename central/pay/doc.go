// Package pay takes the money for the box office's orders through payment
// providers: Alipay's open platform, WeChat Pay API v3 and Stripe, one
// UnionPay's online gateway, one adapter per provider (alipay.go,
// wechat.go, stripe.go, unionpay.go) behind Provider.
//
// A payment starts with Start: central stores an intent (the order, the
// provider, the amount) under a key that is the provider's idempotency key
// and the merchant order number the provider reports back, and the adapter
// answers with what the buyer's browser needs, chosen by the browser: the
// JSAPI parameters inside WeChat, the provider's own page inside Alipay, a
// redirect to the H5/WAP cashier on a phone, a QR code on a desktop.
//
// The money is known to have arrived only from the provider's
// notification. Notify verifies its signature before reading anything
// else; then the amount and currency must be the intent's, the payment is
// appended to the transactions (once: a replay finds it there and changes
// nothing), and the first payment of an order claims it and pays it
// through the box office, which issues the tickets. Whatever arrives in
// whatever order ends the same way: a second payment of a paid order is
// refunded, a payment of an order whose hold ran out pays it when its
// stock can still be held and is refunded when it cannot, a payment of a
// cancelled order is refunded. A forged, replayed or mismatched
// notification changes nothing and is logged.
//
// Money is integer minor units with a currency, everywhere; every request
// to a provider carries an idempotency key, so a request retried after a
// lost answer is the same request. The package never sees card data (the
// providers' pages and scripts take it), never logs a key or a signature,
// and never trusts an amount a buyer sends: it charges the order's total.
package pay
