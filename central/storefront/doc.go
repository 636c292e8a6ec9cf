// Package storefront is central's box office for buyers, served at `/`:
// server-rendered pages in Simplified Chinese and English (the shared
// layout of central/web) over the shop's Go API — the events on sale, an
// event's types and prices, registration and login (email and password,
// or a phone and an SMS code), the checkout with the pricing package's
// quote, the buyer's orders with their status as a timeline, and the
// tickets page: an installable web app whose service worker keeps the
// buyer's tickets and their QR codes on the phone, so they show at the
// gate when the stadium's network has collapsed.
//
// Every form posts to the server (no script is needed to buy) and carries
// a CSRF token: before login a random value in a cookie the form repeats,
// after it a value derived from the session token, which lives only in an
// HttpOnly, SameSite=Lax cookie (Secure over HTTPS). The pages call the
// shop directly, never central's HTTP API.
//
// It never prices anything itself (the shop's Quote and Place do, with
// the pricing package), never trusts a price, a total or an order id from
// a form without reading it back as the buyer's, and never hands a page
// an event's rotation secret.
package storefront
