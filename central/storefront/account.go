package storefront

import (
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/web"
)

func langOf(r *http.Request) string { return web.LangOf(r) }

type accountData struct {
	Email, Name, Phone string
	CodeSent           bool // the SMS form asks for the code
	Tab                string
}

func (f *Front) registerPage(w http.ResponseWriter, r *http.Request) {
	f.render(w, r, http.StatusOK, nil, "register", "register.title", data{Next: localPath(r.URL.Query().Get("next"), "/"), Page: accountData{}})
}

// register creates an account; the shop mails the verification link.
func (f *Front) register(w http.ResponseWriter, r *http.Request) {
	d := accountData{Email: strings.TrimSpace(r.PostFormValue("email")), Name: strings.TrimSpace(r.PostFormValue("name"))}
	next := localPath(r.PostFormValue("next"), "/")
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password2") {
		f.render(w, r, http.StatusBadRequest, nil, "register", "register.title", data{Error: "register.error.mismatch", Next: next, Page: d})
		return
	}
	_, err := f.cfg.Shop.Register(r.Context(), shop.Registration{Email: d.Email, Password: pw, Name: d.Name})
	if errors.Is(err, shop.ErrBadRequest) {
		f.render(w, r, http.StatusBadRequest, nil, "register", "register.title", data{Error: registerError(err), Next: next, Page: d})
		return
	}
	if err != nil {
		f.internal(w, r, err)
		return
	}
	// Log in at once: the buyer can look around while the mail arrives,
	// and is asked to confirm before ordering.
	tok, a, err := f.cfg.Shop.Login(r.Context(), d.Email, pw)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	f.startSession(w, tok)
	f.render(w, r, http.StatusOK, &buyer{Account: a, token: tok}, "message", "register.title", data{Done: "done.registered", Next: next})
}

// registerError is the catalog key of a refused registration.
func registerError(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "email exists"):
		return "register.error.exists"
	case strings.HasPrefix(msg, "email"):
		return "register.error.email"
	case strings.HasPrefix(msg, "password"):
		return "register.error.password"
	case strings.HasPrefix(msg, "name"):
		return "register.error.name"
	}
	return "register.error.email"
}

// verify spends the mailed link: the link of the mail leads to the API's
// path, which central hands to this page when a browser opens it.
func (f *Front) verify(w http.ResponseWriter, r *http.Request) {
	b, err := f.who(r)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	err = f.cfg.Shop.Verify(r.Context(), r.URL.Query().Get("token"))
	if errors.Is(err, shop.ErrNotFound) {
		f.message(w, r, http.StatusNotFound, b, "error.verify")
		return
	}
	if err != nil {
		f.internal(w, r, err)
		return
	}
	if b != nil {
		b, _ = f.who(r) // verified now
	}
	f.message(w, r, http.StatusOK, b, "done.verified")
}

// Verify serves the verification page: central routes a browser that
// opens the mailed link here.
func (f *Front) Verify(w http.ResponseWriter, r *http.Request) { f.verify(w, r) }

func (f *Front) loginPage(w http.ResponseWriter, r *http.Request) {
	tab := r.URL.Query().Get("with")
	if tab != "phone" {
		tab = "email"
	}
	f.render(w, r, http.StatusOK, nil, "login", "login.title", data{Next: localPath(r.URL.Query().Get("next"), "/"), Page: accountData{Tab: tab}})
}

func (f *Front) login(w http.ResponseWriter, r *http.Request) {
	d := accountData{Email: strings.TrimSpace(r.PostFormValue("email")), Tab: "email"}
	next := localPath(r.PostFormValue("next"), "/")
	tok, _, err := f.cfg.Shop.Login(r.Context(), d.Email, r.PostFormValue("password"))
	if errors.Is(err, shop.ErrCredentials) {
		f.render(w, r, http.StatusUnauthorized, nil, "login", "login.title", data{Error: "login.error.bad", Next: next, Page: d})
		return
	}
	if err != nil {
		f.internal(w, r, err)
		return
	}
	f.startSession(w, tok)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// sendCode texts a sign-in code to the phone, within the shop's limits.
func (f *Front) sendCode(w http.ResponseWriter, r *http.Request) {
	d := accountData{Phone: phone(r.PostFormValue("phone")), Tab: "phone"}
	next := localPath(r.PostFormValue("next"), "/")
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	err = f.cfg.Shop.SendCode(r.Context(), d.Phone, ip)
	switch {
	case errors.Is(err, shop.ErrBadRequest):
		f.render(w, r, http.StatusBadRequest, nil, "login", "login.title", data{Error: "login.error.phone", Next: next, Page: d})
		return
	case errors.Is(err, shop.ErrRateLimited):
		f.render(w, r, http.StatusTooManyRequests, nil, "login", "login.title", data{Error: "login.error.limited", Next: next, Page: d})
		return
	case err != nil:
		f.internal(w, r, err)
		return
	}
	d.CodeSent = true
	f.render(w, r, http.StatusOK, nil, "login", "login.title", data{Done: "login.code_sent", Next: next, Page: d})
}

func (f *Front) loginByCode(w http.ResponseWriter, r *http.Request) {
	d := accountData{Phone: phone(r.PostFormValue("phone")), Tab: "phone", CodeSent: true}
	next := localPath(r.PostFormValue("next"), "/")
	tok, _, err := f.cfg.Shop.LoginByCode(r.Context(), d.Phone, strings.TrimSpace(r.PostFormValue("code")))
	if errors.Is(err, shop.ErrBadCode) {
		f.render(w, r, http.StatusUnauthorized, nil, "login", "login.title", data{Error: "login.error.code", Next: next, Page: d})
		return
	}
	if err != nil {
		f.internal(w, r, err)
		return
	}
	f.startSession(w, tok)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// phone reads a number as typed: spaces and dashes dropped, and a
// mainland mobile number without its country code (11 digits from 1) is
// given +86.
func phone(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '(' || r == ')' {
			return -1
		}
		return r
	}, s)
	if len(s) == 11 && s[0] == '1' && strings.Trim(s, "0123456789") == "" {
		return "+86" + s
	}
	return s
}

func (f *Front) startSession(w http.ResponseWriter, tok string) {
	f.site.SetSession(w, SessionCookie, tok, "/", 30*86400)
}

func (f *Front) logout(w http.ResponseWriter, r *http.Request, b *buyer) {
	if err := f.cfg.Shop.Logout(r.Context(), b.token); err != nil {
		f.internal(w, r, err)
		return
	}
	f.site.SetSession(w, SessionCookie, "", "/", -1)
	http.Redirect(w, r, "/?done=logged_out", http.StatusSeeOther)
}
