// Package paysim is a payment provider simulator: real HTTP servers that
// speak the providers' documented formats, for tests and demos, so that
// central's adapters sign and verify exactly as they would against the
// providers themselves.
//
// Alipay speaks the open platform's gateway: it verifies each request's
// RSA2 signature with the application's public key (over the sorted
// parameters but sign), refuses a stale timestamp or another app, keeps
// trades and refunds (out_trade_no and out_request_no are idempotent, a
// refund never exceeds what was paid), signs each answer's
// "…_response" object with its own key and posts signed asynchronous
// notifications (over the sorted parameters but sign and sign_type).
// WeChat speaks WeChat Pay API v3: WECHATPAY2-SHA256-RSA2048 request
// signatures checked against the merchant's certificate key, answers and
// notifications signed with its platform key, notification resources
// sealed with AES-256-GCM under the APIv3 key.
//
// Its keys are made when it starts and live in memory only; it never
// writes a private key anywhere. It is not a place for production
// traffic: it pays whatever it is asked to.
package paysim
