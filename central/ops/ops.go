package ops

import (
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/conflicts"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/web"
	"github.com/tixgate/tixgate/ticket"
)

//go:embed pages/*.html locale/*.json
var files embed.FS

// SessionCookie holds a staff session's token.
const SessionCookie = "tixgate_ops"

// Config is what the screens need.
type Config struct {
	Store     *store.DB
	Accounts  *staff.Accounts
	Conflicts *conflicts.Keeper
	// Secure marks cookies Secure: central serves HTTPS.
	Secure bool
	// Online is how recently a device must have synced to count as
	// online: a few sync intervals.
	Online time.Duration
	Clock  ticket.Clock
	Logger *slog.Logger
}

// UI is the ops screens.
type UI struct {
	cfg  Config
	site *web.Site
	mux  *http.ServeMux
}

// New parses the screens; it fails only on a broken build.
func New(cfg Config) (*UI, error) {
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Online <= 0 {
		cfg.Online = 2 * time.Minute
	}
	site, err := web.New(files, []string{"pages/*.html"}, files)
	if err != nil {
		return nil, err
	}
	site.Secure = cfg.Secure
	u := &UI{cfg: cfg, site: site, mux: http.NewServeMux()}
	u.mux.HandleFunc("GET /ops/login", u.loginPage)
	u.mux.HandleFunc("POST /ops/login", u.login)
	u.mux.HandleFunc("POST /ops/logout", u.session(u.logout))
	u.mux.HandleFunc("GET /ops/{$}", u.session(u.dashboard))
	u.mux.HandleFunc("GET /ops/conflicts", u.session(u.conflictList))
	u.mux.HandleFunc("POST /ops/conflicts/{id}/resolve", u.session(u.resolve))
	u.mux.HandleFunc("GET /ops/devices", u.session(u.deviceList))
	return u, nil
}

// Handler serves /ops/.
func (u *UI) Handler() http.Handler { return u.mux }

// Site is the parsed layout and catalogs, for tests.
func (u *UI) Site() *web.Site { return u.site }

// session wraps a screen for logged-in staff: without a session it leads
// to the login.
func (u *UI) session(h func(http.ResponseWriter, *http.Request, staff.Session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(SessionCookie)
		var s staff.Session
		if err == nil {
			s, err = u.cfg.Accounts.Session(r.Context(), c.Value)
		}
		if errors.Is(err, staff.ErrNoSession) || errors.Is(err, http.ErrNoCookie) {
			if r.Method != http.MethodGet {
				http.Error(w, "log in first", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/ops/login", http.StatusSeeOther)
			return
		}
		if err != nil {
			u.internal(w, r, err)
			return
		}
		if r.Method == http.MethodPost && !web.CheckForm(r, s.CSRF) {
			http.Error(w, "the form is stale or from another site: reload the page", http.StatusForbidden)
			return
		}
		h(w, r, s)
	}
}

func (u *UI) internal(w http.ResponseWriter, r *http.Request, err error) {
	u.cfg.Logger.Error("ops page failed", "path", r.URL.Path, "err", err)
	http.Error(w, "central could not show this page; it is logged", http.StatusInternalServerError)
}

// page fills the layout's part of a logged-in screen.
func (u *UI) page(s staff.Session, name, title string, data any) web.Page {
	nav := []web.NavItem{{Href: "/ops/", Label: "nav.dashboard"}, {Href: "/ops/conflicts", Label: "nav.conflicts"}, {Href: "/ops/devices", Label: "nav.devices"}}
	for i := range nav {
		nav[i].Current = strings.TrimPrefix(nav[i].Label, "nav.") == name
	}
	return web.Page{Page: name, Title: title, Area: "area.ops", User: s.User, CSRF: s.CSRF, Nav: nav, LogoutPath: "/ops/logout", Data: data}
}
