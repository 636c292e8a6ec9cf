package edge

import (
	"net"
	"net/http"
	"strings"
	"time"
)

// SessionCookie is the name of the staff session cookie.
const SessionCookie = "tixgate_session"

// showLogin renders the login form in the request's language; errKey is
// a catalog key ("login.error.wrong") or empty.
func (n *Node) showLogin(w http.ResponseWriter, r *http.Request, status int, name, errKey string) {
	n.render(w, r, status, "login", pageView{Name: name, Error: errKey})
}

func (n *Node) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	if rememberChoice(w, r) {
		return
	}
	if _, ok := n.session(r); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	n.showLogin(w, r, http.StatusOK, "", "")
}

// remoteHost is the address part of r.RemoteAddr, what attempts are
// limited per.
func remoteHost(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// handleLogin checks a name and PIN from the form and starts a session.
func (n *Node) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		n.showLogin(w, r, http.StatusBadRequest, "", "login.error.form")
		return
	}
	name, pin := strings.TrimSpace(r.PostForm.Get("name")), r.PostForm.Get("pin")
	addr := remoteHost(r)
	if !n.sessions.allowed(name, addr) {
		n.refuse(r, "login_limited", "too many failed logins")
		n.showLogin(w, r, http.StatusTooManyRequests, name, "login.error.limited")
		return
	}
	acct, ok := n.checkStaff(name, pin)
	if !ok {
		n.sessions.failed(name, addr)
		n.refuse(r, "login", "wrong name or PIN")
		n.showLogin(w, r, http.StatusUnauthorized, name, "login.error.wrong")
		return
	}
	id, _ := n.sessions.create(acct)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(n.cfg.Session.TTL / time.Second)})
	n.log.Info("staff logged in", "name", acct.Name, "role", acct.Role, "remote", addr)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// checkStaff reads the staff file afresh (an account added while the
// device runs counts at once) and checks the PIN. A name without an
// account costs a hash too, so timing does not tell names apart.
func (n *Node) checkStaff(name, pin string) (*StaffAccount, bool) {
	n.logins <- struct{}{}
	defer func() { <-n.logins }()
	accounts, err := LoadStaff(n.cfg.Dir)
	if err != nil {
		n.log.Error("staff accounts unreadable: nobody can log in", "error", err)
	}
	for i := range accounts {
		if accounts[i].Name == name {
			return &accounts[i], accounts[i].CheckPIN(pin)
		}
	}
	dummy := StaffAccount{Salt: make([]byte, 16), Params: DefaultArgon2, Hash: make([]byte, DefaultArgon2.KeyLen)}
	dummy.CheckPIN(pin)
	return nil, false
}

// handleLogout ends the session (a state change: it needs the CSRF token).
func (n *Node) handleLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		n.sessions.end(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// session returns the request's live staff session.
func (n *Node) session(r *http.Request) (*Session, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil, false
	}
	return n.sessions.get(c.Value)
}

// csrfOf is the token a request carries: the X-CSRF-Token header, or the
// csrf field of a form.
func csrfOf(r *http.Request) string {
	if h := r.Header.Get("X-CSRF-Token"); h != "" {
		return h
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		r.Body = http.MaxBytesReader(nil, r.Body, 4<<10)
		return r.PostFormValue("csrf")
	}
	return ""
}

// stateChanging says whether a method may change the device's state.
func stateChanging(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// handleSession tells the page who is logged in and its CSRF token; with
// the bearer token there is no session to describe.
func (n *Node) handleSession(w http.ResponseWriter, r *http.Request) {
	sess, ok := n.session(r)
	if !ok {
		writeError(w, http.StatusNotFound, "no staff session: the bearer token needs none")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"name": sess.Name, "role": string(sess.Role), "csrf": sess.CSRF})
}
