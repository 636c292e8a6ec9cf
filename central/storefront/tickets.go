package storefront

import (
	"encoding/json"
	"net/http"

	"github.com/tixgate/tixgate/central/shop"
)

// tickets is the buyer's tickets page: every valid ticket of their paid
// orders with its QR code drawn into the page, so the one response the
// service worker keeps shows them all with no network.
func (f *Front) tickets(w http.ResponseWriter, r *http.Request, b *buyer) {
	os, err := f.cfg.Shop.Orders(r.Context(), b.ID, 100)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	lang := langOf(r)
	var all []ticketView
	tz := "UTC"
	for _, o := range os {
		if o.Status != shop.StatusPaid {
			continue
		}
		_, tickets, err := f.cfg.Shop.Order(r.Context(), o.ID)
		if err != nil {
			f.internal(w, r, err)
			return
		}
		var name string
		name, tz = f.eventName(r, o.Event)
		evWhen := ""
		if ev, err := f.cfg.Store.Event(r.Context(), o.Event); err == nil {
			evWhen = when(ev.Starts, tz, lang)
		}
		for _, t := range f.ticketViews(r, o, tickets, name, evWhen) {
			if t.Status == "valid" {
				all = append(all, t)
			}
		}
	}
	// The copy on the phone says when it was made: offline, that is
	// how old what it shows is.
	f.render(w, r, http.StatusOK, b, "tickets", "tickets.title", data{Page: ticketsData{Tickets: all, Saved: when(f.now(), tz, lang)}})
}

type ticketsData struct {
	Tickets []ticketView
	Saved   string // when the page was made, in the last event's zone
}

// manifest is the web app manifest: the tickets page installs as an app
// that opens on it.
func (f *Front) manifest(w http.ResponseWriter, r *http.Request) {
	t := f.t(r)
	m := map[string]any{
		"name": t("app.name"), "short_name": t("app.short"), "lang": map[string]string{"en": "en", "zh": "zh-Hans"}[langOf(r)],
		"start_url": "/tickets/", "scope": "/", "display": "standalone", "background_color": "#ffffff", "theme_color": "#0b57d0",
		"icons": []map[string]string{{"src": "/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"}},
	}
	w.Header().Set("Content-Type", "application/manifest+json")
	w.Header().Set("Cache-Control", "no-cache")
	json.NewEncoder(w).Encode(m)
}

// serviceWorker serves the worker that keeps the tickets page on the
// phone (pages/sw.js says how).
func (f *Front) serviceWorker(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "no-cache") // a new version reaches phones at their next visit
	h.Set("Service-Worker-Allowed", "/")
	w.Write(f.sw)
}

const iconSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512"><rect width="512" height="512" rx="96" fill="#0b57d0"/>` +
	`<path d="M128 272l80 80 176-192" stroke="#fff" stroke-width="56" fill="none" stroke-linecap="round" stroke-linejoin="round"/></svg>`

func (f *Front) icon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write([]byte(iconSVG))
}
