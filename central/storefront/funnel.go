package storefront

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
)

// VisitorCookie holds a random id per browser, for the funnel's counts
// only: it says nothing of the person, is never shared, and no third
// party sees it (there is no tracker).
const VisitorCookie = "tixgate_v"

// step records that this browser reached a step of the funnel for an
// event (view, cart, checkout, payment), giving the browser its visitor
// id on its first step. A failure is logged and the page goes on.
func (f *Front) step(w http.ResponseWriter, r *http.Request, event uint64, step string) {
	id := ""
	if c, err := r.Cookie(VisitorCookie); err == nil && len(c.Value) == 32 {
		if _, err := hex.DecodeString(c.Value); err == nil {
			id = c.Value
		}
	}
	if id == "" {
		b := make([]byte, 16)
		rand.Read(b)
		id = hex.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{Name: VisitorCookie, Value: id, Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true, Secure: f.cfg.Secure,
			SameSite: http.SameSiteLaxMode})
	}
	if err := f.cfg.Store.AddFunnelStep(r.Context(), event, step, id, f.now()); err != nil {
		f.cfg.Logger.Warn("storefront: funnel step not recorded", "step", step, "event", event, "err", err)
	}
}
