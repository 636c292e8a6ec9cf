package storefront

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/invoice"
	"github.com/tixgate/tixgate/central/pdftext"
	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/web"
	"github.com/tixgate/tixgate/ticket"
)

//go:embed pages/*.html pages/*.js locale/*.json
var files embed.FS

// SessionCookie holds a buyer's session token.
const SessionCookie = "tixgate_shop"

// Config is what the storefront needs.
type Config struct {
	Shop  *shop.Shop
	Store *store.DB
	// QR draws a ticket's code as a PNG size pixels wide (the scanner's
	// renderer, given by the command: central imports no device package);
	// nil shows the codes as text only, which no gate can scan.
	QR func(text string, size int) ([]byte, error)
	// Fonts draw the tickets' PDF; zero: DefaultFonts. Missing fonts
	// leave the PDF out (the page says so), nothing else.
	Fonts Fonts
	// Invoices are the orders' invoices and credit notes, shown and
	// downloaded from the order page; nil shows none.
	Invoices *invoice.Issuer
	// Secure marks cookies Secure: central serves HTTPS.
	Secure bool
	Clock  ticket.Clock
	Logger *slog.Logger
}

// Front is the storefront.
type Front struct {
	cfg   Config
	site  *web.Site
	mux   *http.ServeMux
	sw    []byte // the service worker's script
	fonts *pdftext.Loader
}

// New parses the pages; it fails only on a broken build.
func New(cfg Config) (*Front, error) {
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	site, err := web.New(files, []string{"pages/*.html"}, files)
	if err != nil {
		return nil, err
	}
	site.Secure = cfg.Secure
	app, err := files.ReadFile("pages/app.js")
	if err != nil {
		return nil, err
	}
	site.AddScript("app", string(app))
	site.AllowApp()
	sw, err := files.ReadFile("pages/sw.js")
	if err != nil {
		return nil, err
	}
	if cfg.Fonts == (Fonts{}) {
		cfg.Fonts = DefaultFonts()
	}
	f := &Front{cfg: cfg, site: site, mux: http.NewServeMux(), sw: sw, fonts: pdftext.NewLoader(cfg.Fonts)}
	f.routes()
	return f, nil
}

func (f *Front) routes() {
	m := f.mux
	m.HandleFunc("GET /{$}", f.home)
	m.HandleFunc("GET /events/{event}", f.eventPage)
	m.HandleFunc("GET /checkout", f.checkout)
	m.HandleFunc("GET /register", f.registerPage)
	m.HandleFunc("POST /register", f.form(f.register))
	m.HandleFunc("GET /verify", f.verify)
	m.HandleFunc("GET /login", f.loginPage)
	m.HandleFunc("POST /login", f.form(f.login))
	m.HandleFunc("POST /login/sms", f.form(f.sendCode))
	m.HandleFunc("POST /login/sms/verify", f.form(f.loginByCode))
	m.HandleFunc("POST /logout", f.action(f.logout))
	m.HandleFunc("POST /orders", f.action(f.place))
	m.HandleFunc("GET /orders", f.page(f.orderList))
	m.HandleFunc("GET /orders/{id}", f.page(f.orderPage))
	m.HandleFunc("GET /orders/{id}/tickets.pdf", f.page(f.ticketsPDF))
	m.HandleFunc("POST /orders/{id}/pay", f.action(f.pay))
	m.HandleFunc("GET /orders/{id}/invoice.pdf", f.page(f.invoicePDF))
	m.HandleFunc("GET /orders/{id}/credit-notes/{file}", f.page(f.invoicePDF))
	m.HandleFunc("POST /orders/{id}/invoice-title", f.action(f.invoiceTitle))
	m.HandleFunc("POST /orders/{id}/einvoice", f.action(f.requestEInvoice))
	m.HandleFunc("POST /orders/{id}/cancel", f.action(f.cancel))
	m.HandleFunc("GET /orders/{id}/refund", f.page(f.refundQuote))
	m.HandleFunc("POST /orders/{id}/refund", f.action(f.refundConfirm))
	m.HandleFunc("GET /orders/{id}/exchange", f.page(f.exchangePage))
	m.HandleFunc("POST /orders/{id}/exchange", f.action(f.exchangeConfirm))
	m.HandleFunc("GET /tickets/{$}", f.page(f.tickets))
	m.Handle("GET /tickets", http.RedirectHandler("/tickets/", http.StatusMovedPermanently))
	m.HandleFunc("GET /app.webmanifest", f.manifest)
	m.HandleFunc("GET /sw.js", f.serviceWorker)
	m.HandleFunc("GET /icon.svg", f.icon)
	m.HandleFunc("GET /help", f.helpPage)
	m.HandleFunc("GET /help/{slug}", f.articlePage)
}

// Handler serves the storefront's paths.
func (f *Front) Handler() http.Handler { return f.mux }

// Site is the parsed layout and catalogs, for tests.
func (f *Front) Site() *web.Site { return f.site }

// Patterns are the paths the storefront serves, for central's mux.
var Patterns = []string{"/{$}", "/events/", "/checkout", "/register", "/verify", "/login", "/login/", "/logout", "/orders", "/orders/",
	"/tickets", "/tickets/", "/app.webmanifest", "/sw.js", "/icon.svg", "/help", "/help/"}

// buyer is who is logged in.
type buyer struct {
	store.Account
	token string
}

// csrf is the token a logged-in buyer's forms carry: derived from the
// session token, which no other site can read, so nothing is stored.
func (b *buyer) csrf() string { return CSRF(b.token) }

// CSRF is the token the forms of the buyer with the session token carry,
// for pages of other packages on the storefront's paths.
func CSRF(session string) string {
	sum := sha256.Sum256([]byte("tixgate storefront csrf\x00" + session))
	return base64.RawURLEncoding.EncodeToString(sum[:24])
}

// who is the request's buyer, nil when nobody is logged in.
func (f *Front) who(r *http.Request) (*buyer, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil, nil
	}
	a, err := f.cfg.Shop.Session(r.Context(), c.Value)
	if errors.Is(err, shop.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &buyer{Account: a, token: c.Value}, nil
}

// page wraps a page for logged-in buyers: others are sent to the login
// and back.
func (f *Front) page(h func(http.ResponseWriter, *http.Request, *buyer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := f.who(r)
		if err != nil {
			f.internal(w, r, err)
			return
		}
		if b == nil {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		h(w, r, b)
	}
}

// maxForm bounds a form's body: no form of the storefront is near it.
const maxForm = 16 << 10

// action wraps a form of a logged-in buyer: its CSRF token must be the
// session's.
func (f *Front) action(h func(http.ResponseWriter, *http.Request, *buyer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		b, err := f.who(r)
		if err != nil {
			f.internal(w, r, err)
			return
		}
		if b == nil {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(localPath(r.PostFormValue("next"), "/")), http.StatusSeeOther)
			return
		}
		if !web.CheckForm(r, b.csrf()) {
			f.stale(w, r)
			return
		}
		h(w, r, b)
	}
}

// form wraps a form shown before login: its CSRF token is the cookie's.
func (f *Front) form(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if !web.CheckForm(r, "") {
			f.stale(w, r)
			return
		}
		h(w, r)
	}
}

func (f *Front) stale(w http.ResponseWriter, r *http.Request) {
	f.cfg.Logger.Warn("storefront: form refused: stale or from another site", "path", r.URL.Path)
	f.message(w, r, http.StatusForbidden, nil, "error.stale")
}

func (f *Front) internal(w http.ResponseWriter, r *http.Request, err error) {
	f.cfg.Logger.Error("storefront page failed", "path", r.URL.Path, "err", err)
	f.message(w, r, http.StatusInternalServerError, nil, "error.internal")
}

// localPath is next when it is a path of this site, else def: a login
// never sends a buyer to another site.
func localPath(next, def string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return def
	}
	return next
}

// data is what every page of the storefront carries besides its own.
type data struct {
	Buyer *buyer
	Lang  string
	Next  string
	Error string // a catalog key, or a sentence
	Done  string // a catalog key
	Page  any
	Share *web.Share // the page's share card, or nil
}

// render shows a page: the buyer's navigation, their CSRF token (or the
// login forms' one), the page's data.
func (f *Front) render(w http.ResponseWriter, r *http.Request, status int, b *buyer, name, title string, d data) {
	d.Buyer, d.Lang = b, web.LangOf(r)
	p := web.Page{Page: name, Title: title, Area: "area.shop", Data: d, Script: "app", Manifest: "/app.webmanifest", Share: d.Share}
	if b != nil {
		p.User = b.label()
		p.CSRF = b.csrf()
		p.LogoutPath = "/logout"
		p.Nav = []web.NavItem{{Href: "/", Label: "nav.events", Current: name == "home" || name == "event" || name == "checkout"},
			{Href: "/orders", Label: "nav.orders", Current: name == "orders" || name == "order"},
			{Href: "/tickets/", Label: "nav.tickets", Current: name == "tickets"},
			{Href: "/help", Label: "nav.help", Current: name == "help" || name == "article"}}
	} else {
		p.CSRF = f.site.FormToken(w, r)
	}
	f.site.Render(w, r, status, p)
}

// label is how the bar names the buyer.
func (b *buyer) label() string {
	switch {
	case b.Name != "":
		return b.Name
	case b.Email != "":
		return b.Email
	}
	return b.Phone
}

// message shows a page with one sentence (an error or a confirmation).
func (f *Front) message(w http.ResponseWriter, r *http.Request, status int, b *buyer, key string) {
	d := data{Done: key}
	if status >= 400 {
		d = data{Error: key}
	}
	f.render(w, r, status, b, "message", "message.title", d)
}

func (f *Front) now() time.Time { return f.cfg.Clock.Now() }
