// Package invoice issues the box office's invoices and credit notes, as
// PDFs and as e-invoices.
//
// Every paid order gets an invoice; every refund of its payment (a refund
// transaction the payment layer recorded, partial or full) gets a credit
// note with negative amounts that names the invoice it credits; an order
// paid at the counter and then cancelled gets a credit note for what no
// credit note credited yet. Each organizer numbers its documents in two
// series per year, INV-2026-000001… and CN-2026-000001… (prefixes per
// organizer, store.InvoiceSettings), without gaps or duplicates: a number
// is taken by updating the series' counter row in the transaction that
// inserts the document, so a document that is not stored gives its
// number back. Documents never change once issued.
//
// Issuing never misses an order and never issues two documents for one
// thing: each has a source ("order:12", "refund:34", "cancel:12") that is
// unique in the store, Ensure issues what an order's stored state calls
// for and nothing else, the shop calls it after each payment and
// cancellation (shop.Config.Settled), and Sweep runs it for whatever the
// store shows is missing (a crash between a payment's commit and the
// hook, a refund recorded by the payment layer).
//
// Amounts come from the pricing package's quotation the order was priced
// with, in integer minor units. Prices include tax: an organizer's tax
// rate (0 by default, then no tax is shown) gives the tax contained in
// each total.
//
// E-invoices go through a Provider: ChinaPlatform for China's fully
// digital e-invoice (数电票), blue for an invoice when the buyer asks
// with their invoice title and tax number, red for each credit note of
// an invoice that has one; einvsim is its simulator.
//
// It never changes an order or moves money, and never logs a platform's
// secret.
package invoice
