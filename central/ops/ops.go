package ops

import (
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/catalog"
	"github.com/tixgate/tixgate/central/conflicts"
	"github.com/tixgate/tixgate/central/devices"
	"github.com/tixgate/tixgate/central/invoice"
	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/web"
	"github.com/tixgate/tixgate/ticket"
)

//go:embed pages/*.html pages/live.js locale/*.json
var files embed.FS

// SessionCookie holds a staff session's token.
const SessionCookie = "tixgate_ops"

// Config is what the screens need.
type Config struct {
	Store     *store.DB
	Accounts  *staff.Accounts
	Conflicts *conflicts.Keeper
	// Catalog makes the venue's changes (events, zones, gates, ticket
	// types, tickets), each a signed manifest change with its audit entry.
	Catalog *catalog.Catalog
	Devices *devices.Registry
	// Shop is the online box office: the counter finds an order by its
	// number, marks it paid or cancels it; nil leaves the screen empty.
	Shop *shop.Shop
	// Invoices are the orders' invoices and credit notes, listed and
	// downloaded with the order at the counter; nil lists none.
	Invoices *invoice.Issuer
	// QR draws a device's setup code as a PNG size pixels wide; nil shows
	// the code as text only. Central is given the scanner's renderer: it
	// imports no device package itself.
	QR func(text string, size int) ([]byte, error)
	// PublicURL is central's address as devices reach it, for the setup
	// code; empty: the address the browser used.
	PublicURL string
	// Refresh is how often the dashboard asks for its figures.
	Refresh time.Duration
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
	cfg    Config
	site   *web.Site
	mux    *http.ServeMux
	routes []Route
	tally  tally
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
	if cfg.Refresh <= 0 {
		cfg.Refresh = 5 * time.Second
	}
	site, err := web.New(files, []string{"pages/*.html"}, files)
	if err != nil {
		return nil, err
	}
	site.Secure = cfg.Secure
	live, err := files.ReadFile("pages/live.js")
	if err != nil {
		return nil, err
	}
	site.AddScript("live", string(live))
	u := &UI{cfg: cfg, site: site, mux: http.NewServeMux()}
	u.mux.HandleFunc("GET /ops/login", u.loginPage)
	u.mux.HandleFunc("POST /ops/login", u.login)
	read, venue, issue, resolve := staff.Role.MayRead, staff.Role.MayRunVenue, staff.Role.MayIssue, staff.Role.MayResolve
	u.route("POST /ops/logout", read, u.logout)
	u.route("GET /ops/{$}", read, u.dashboard)
	u.route("GET /ops/live.json", read, u.liveJSON)
	u.route("GET /ops/conflicts", read, u.conflictList)
	u.route("POST /ops/conflicts/{id}/resolve", resolve, u.resolve)
	u.route("GET /ops/devices", read, u.deviceList)
	u.route("POST /ops/devices", venue, u.deviceAdd)
	u.route("POST /ops/devices/{name}/revoke", venue, u.deviceRevoke)
	u.route("POST /ops/devices/{name}/setup", venue, u.deviceRenew)
	u.route("POST /ops/devices/{name}/suspend", venue, u.deviceSuspend)
	u.route("POST /ops/devices/{name}/resume", venue, u.deviceResume)
	u.route("POST /ops/devices/{name}/roll", venue, u.deviceRoll)
	u.route("GET /ops/venue", read, u.venuePage)
	u.route("POST /ops/venue", venue, u.venueSave)
	u.route("GET /ops/events", read, u.eventList)
	u.route("GET /ops/events/new", read, u.eventNew)
	u.route("POST /ops/events", venue, u.eventSave)
	u.route("GET /ops/events/{event}", read, u.eventEdit)
	u.route("POST /ops/events/{event}", venue, u.eventSave)
	u.route("GET /ops/events/{event}/types/new", read, u.typeNew)
	u.route("POST /ops/events/{event}/types", venue, u.typeSave)
	u.route("GET /ops/events/{event}/types/{type}", read, u.typeEdit)
	u.route("POST /ops/events/{event}/types/{type}", venue, u.typeSave)
	u.route("GET /ops/tickets", read, u.ticketList)
	u.route("POST /ops/tickets", issue, u.ticketIssue)
	u.route("POST /ops/tickets/{event}/{serial}/revoke", issue, u.ticketRevoke)
	u.route("GET /ops/audit", read, u.auditLog)
	u.route("GET /ops/sales", read, u.salesPage)
	u.route("GET /ops/sales.csv", read, u.salesPage)
	u.route("GET /ops/help", read, u.helpList)
	u.route("GET /ops/help/{slug}", read, u.helpEdit)
	u.route("POST /ops/help/{slug}", venue, u.helpSave)
	u.route("GET /ops/orders", read, u.boxOffice)
	u.route("POST /ops/orders/{id}/paid", issue, u.boxOfficePaid)
	u.route("POST /ops/orders/{id}/cancel", issue, u.boxOfficeCancel)
	u.route("GET /ops/orders/{id}/invoices/{file}", read, u.invoicePDF)
	u.route("GET /ops/orders/{id}/refund", issue, u.refundForm)
	u.route("POST /ops/orders/{id}/refund", issue, u.refundSave)
	u.route("GET /ops/orders/{id}/exchange", issue, u.exchangeForm)
	u.route("POST /ops/orders/{id}/exchange", issue, u.exchangeSave)
	u.route("GET /ops/events/{event}/refunds", read, u.policyForm)
	u.route("POST /ops/events/{event}/refunds", venue, u.policySave)
	u.route("POST /ops/events/{event}/refund-all", maySupervise, u.refundAll)
	return u, nil
}

// Route is a screen or action and the permission it needs.
type Route struct {
	Pattern string // as the mux has it: "POST /ops/venue"
	May     func(staff.Role) bool
}

// Routes lists every route behind a session, for the test that walks them
// with each role.
func (u *UI) Routes() []Route { return u.routes }

// route serves a screen or action to logged-in staff whose role may.
func (u *UI) route(pattern string, may func(staff.Role) bool, h func(http.ResponseWriter, *http.Request, staff.Session)) {
	u.routes = append(u.routes, Route{Pattern: pattern, May: may})
	checked := u.session(func(w http.ResponseWriter, r *http.Request, s staff.Session) {
		if !may(s.Role) {
			u.cfg.Logger.Warn("ops: refused for the role", "user", s.User, "role", s.Role, "path", r.URL.Path)
			http.Error(w, u.site.T(r, "forbidden", "role", u.site.T(r, "role."+string(s.Role))), http.StatusForbidden)
			return
		}
		h(w, r, s)
	})
	u.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			// Before the session's check reads the form: no screen's form
			// is near this.
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		}
		checked(w, r)
	})
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

// Nav is the bar's links, the section's marked current: for the screens
// of other packages under /ops/ (the support desk's).
func Nav(section string) []web.NavItem {
	nav := []web.NavItem{{Href: "/ops/", Label: "nav.dashboard"}, {Href: "/ops/events", Label: "nav.events"}, {Href: "/ops/venue", Label: "nav.venue"},
		{Href: "/ops/tickets", Label: "nav.tickets"}, {Href: "/ops/orders", Label: "nav.boxoffice"}, {Href: "/ops/support", Label: "nav.support"}, {Href: "/ops/devices", Label: "nav.devices"}, {Href: "/ops/conflicts", Label: "nav.conflicts"}, {Href: "/ops/sales", Label: "nav.sales"}, {Href: "/ops/help", Label: "nav.help"}, {Href: "/ops/audit", Label: "nav.audit"}}
	for i := range nav {
		nav[i].Current = strings.TrimPrefix(nav[i].Label, "nav.") == section
	}
	return nav
}

// page fills the layout's part of a logged-in screen.
func (u *UI) page(s staff.Session, name, title string, data any) web.Page {
	nav := Nav("")
	section := map[string]string{"event": "events", "type": "events", "setup": "devices", "issued": "tickets", "helpdesk": "help", "helpedit": "help", "refund": "boxoffice", "exchange": "boxoffice", "policy": "events"}[name]
	if section == "" {
		section = name
	}
	q := ""
	if v, ok := data.(interface{ venueQuery() string }); ok {
		q = v.venueQuery()
	}
	for i := range nav {
		nav[i].Current = strings.TrimPrefix(nav[i].Label, "nav.") == section
		nav[i].Href += q
	}
	return web.Page{Page: name, Title: title, Area: "area.ops", User: s.User, CSRF: s.CSRF, Nav: nav, LogoutPath: "/ops/logout", Data: data}
}
