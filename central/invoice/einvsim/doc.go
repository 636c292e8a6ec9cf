// Package einvsim is a simulator of a Chinese e-invoicing platform for
// tests: the open API through which a service provider issues fully
// digital e-invoices (数电票) to the tax authority's system, modelled on
// the JSON APIs such platforms publish. It is the world the invoice
// package's ChinaPlatform adapter talks to; nothing in production uses it.
//
// # The protocol
//
// Two calls, POST with a JSON body:
//
//	/openapi/v2/invoice/blue   issue an invoice (蓝字发票)
//	/openapi/v2/invoice/red    reverse one, in part or in full (红字发票)
//
// Every request carries
//
//	X-App-Id:     the merchant's app id
//	X-Timestamp:  unix seconds; refused more than 300 s from the platform's clock
//	X-Nonce:      16 to 64 characters, never used twice within the window
//	X-Signature:  base64(HMAC-SHA256(app secret, "POST\n" + path + "\n" +
//	              timestamp + "\n" + nonce + "\n" + hex(SHA-256(body))))
//
// and every answer is signed the same way by the platform (X-Timestamp,
// X-Nonce, X-Signature over the HTTP status + "\n" + path + "\n" + timestamp + "\n" +
// nonce + "\n" + hex(SHA-256(body)) with the same secret), so a client
// can tell the platform's answer from anyone else's.
//
// A blue request:
//
//	{"serialNo": "INV-2026-000123", "sellerTaxNo": "…", "sellerName": "…",
//	 "buyerName": "某某公司", "buyerTaxNo": "91110000…" or "", "buyerEmail": "",
//	 "invoiceKind": "normal", "totalAmount": "128.00", "totalTax": "7.25",
//	 "items": [{"name": "…", "quantity": 2, "unitPrice": "64.00",
//	            "amount": "128.00", "taxRate": "0.06", "taxAmount": "7.25"}]}
//
// Amounts are yuan with two decimals, tax included (价税合计); the items
// add up to totalAmount. A red request names the blue one and carries
// negative amounts no larger than what is left of it:
//
//	{"serialNo": "CN-2026-000007", "originalInvoiceNo": "…", "reason": "refund",
//	 "totalAmount": "-64.00", "totalTax": "-3.62", "items": […]}
//
// The answer is {"code": "0000", "msg": "ok", "data": {"invoiceNo":
// "26110000000000000001", "issueTime": RFC 3339, "serialNo": …}}; an
// error is another code with a message: 1001 bad signature, 1002 stale
// timestamp, 1003 replayed nonce, 1004 unknown app (HTTP 401 for these),
// 2001 a malformed request, 2002 a bad tax number, 3001 the original
// invoice unknown, 3002 more reversed than is left, 3003 a serial number
// reused for another document (HTTP 400/409). A serial number sent again
// with the same document returns the first answer.
package einvsim
