package ops

import (
	"errors"
	"net/http"

	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/web"
)

type loginData struct {
	Name, Error string
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	u.showLogin(w, r, http.StatusOK, loginData{})
}

func (u *UI) showLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	u.site.Render(w, r, status, web.Page{Page: "login", Title: "login.title", Area: "area.ops", CSRF: u.site.FormToken(w, r), Data: d})
}

func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if !web.CheckForm(r, "") {
		u.showLogin(w, r, http.StatusForbidden, loginData{Error: "login.error.stale"})
		return
	}
	name := r.PostFormValue("name")
	tok, s, err := u.cfg.Accounts.Login(r.Context(), name, r.PostFormValue("password"))
	switch {
	case errors.Is(err, staff.ErrBadLogin):
		u.showLogin(w, r, http.StatusUnauthorized, loginData{Name: name, Error: "login.error.bad"})
		return
	case errors.Is(err, staff.ErrLocked):
		u.showLogin(w, r, http.StatusTooManyRequests, loginData{Name: name, Error: "login.error.locked"})
		return
	case err != nil:
		u.internal(w, r, err)
		return
	}
	u.site.SetSession(w, SessionCookie, tok, "/ops/", int(s.Expires.Sub(u.cfg.Clock.Now()).Seconds()))
	http.Redirect(w, r, "/ops/", http.StatusSeeOther)
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request, s staff.Session) {
	c, _ := r.Cookie(SessionCookie)
	if err := u.cfg.Accounts.Logout(r.Context(), c.Value, s.User); err != nil {
		u.internal(w, r, err)
		return
	}
	u.site.SetSession(w, SessionCookie, "", "/ops/", -1)
	http.Redirect(w, r, "/ops/login", http.StatusSeeOther)
}
