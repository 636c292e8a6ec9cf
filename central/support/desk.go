package support

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tixgate/tixgate/central/shop"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/web"
	"github.com/tixgate/tixgate/ticket"
)

//go:embed shop/pages/*.html shop/locale/*.json ops/pages/*.html ops/locale/*.json chat.js
var files embed.FS

// The cookies of the desk: the staff's session is the ops screens' and
// the buyer's the storefront's; a chat without a login is known by
// ChatCookie, a random value whose hash the conversation keeps.
const (
	OpsSessionCookie  = "tixgate_ops"
	ShopSessionCookie = "tixgate_shop"
	ChatCookie        = "tixgate_chat"
)

// Config is what the desk needs.
type Config struct {
	Store *store.DB
	// Shop knows the buyers' sessions and their orders.
	Shop *shop.Shop
	// Accounts knows the staff's sessions.
	Accounts *staff.Accounts
	// Mailer sends the staff's answers to buyers who are not in the chat;
	// nil logs that they were not sent (the buyer still sees them on the
	// conversation's page).
	Mailer shop.Mailer
	// BaseURL is central's address as buyers reach it, for the link in
	// the mails.
	BaseURL string
	// Address is the desk's mail address (support@example.com): the
	// Reply-To of its mails becomes support+TOKEN@example.com, so an
	// answer finds its conversation even when the buyer edits the subject
	// (which carries [ref:TOKEN] too). "": no Reply-To.
	Address string
	// ShopWords and OpsWords are the storefront's and the ops screens'
	// catalogs, by language: the bar's words on the desk's pages.
	ShopWords, OpsWords map[string]map[string]string
	// BuyerCSRF is the storefront's form token of a buyer's session, so
	// the bar's logout works from the desk's pages too.
	BuyerCSRF func(session string) string
	// OpsNav is the ops screens' bar with a section marked current.
	OpsNav func(section string) []web.NavItem
	// Secure marks cookies Secure: central serves HTTPS.
	Secure bool
	// MaxMessage bounds one message's text, in characters; 0: 4000.
	MaxMessage int
	// MaxMailBytes bounds an incoming mail; 0: 1 MiB.
	MaxMailBytes int64
	// ChatBurst messages a buyer's socket may send at once, and one more
	// every ChatEvery: a person types far slower, a script gone wrong is
	// told to wait instead of filling the inbox. 0: 10 and 1 s; a negative
	// ChatEvery turns the limit off (benchmarks).
	ChatBurst int
	ChatEvery time.Duration
	// SendQueue is how many events a socket may have waiting before it is
	// dropped as too slow (it reconnects and reloads); 0: 256.
	SendQueue int
	Clock     ticket.Clock
	Logger    *slog.Logger
}

// Desk is the support desk.
type Desk struct {
	cfg      Config
	shopSite *web.Site
	opsSite  *web.Site
	Hub      *Hub
}

// New parses the desk's pages; it fails only on a broken build.
func New(cfg Config) (*Desk, error) {
	if cfg.Clock == nil {
		cfg.Clock = ticket.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = 4000
	}
	if cfg.MaxMailBytes <= 0 {
		cfg.MaxMailBytes = 1 << 20
	}
	if cfg.ChatBurst <= 0 {
		cfg.ChatBurst = 10
	}
	if cfg.ChatEvery == 0 {
		cfg.ChatEvery = time.Second
	}
	if cfg.SendQueue <= 0 {
		cfg.SendQueue = 256
	}
	if cfg.BuyerCSRF == nil {
		return nil, errors.New("support: Config.BuyerCSRF is required")
	}
	if cfg.OpsNav == nil {
		cfg.OpsNav = func(string) []web.NavItem { return nil }
	}
	js, err := files.ReadFile("chat.js")
	if err != nil {
		return nil, err
	}
	d := &Desk{cfg: cfg, Hub: newHub(cfg.SendQueue)}
	for _, side := range []struct {
		dir   string
		words map[string]map[string]string
		site  **web.Site
	}{{"shop", cfg.ShopWords, &d.shopSite}, {"ops", cfg.OpsWords, &d.opsSite}} {
		sub, err := fs.Sub(files, side.dir)
		if err != nil {
			return nil, err
		}
		site, err := web.New(sub, []string{"pages/*.html"}, sub)
		if err != nil {
			return nil, fmt.Errorf("support: %s pages: %w", side.dir, err)
		}
		// The bar's words come from the screens the desk sits among; the
		// desk's own win.
		for lang, m := range side.words {
			for k, v := range m {
				if _, ok := site.Catalogs[lang][k]; !ok && site.Catalogs[lang] != nil {
					site.Catalogs[lang][k] = v
				}
			}
		}
		site.Secure = cfg.Secure
		site.AddScript("chat", string(js))
		*side.site = site
	}
	return d, nil
}

// Mount serves the desk's paths on m: the buyers' under /support, the
// staff's under /ops/support.
func (d *Desk) Mount(m *http.ServeMux) {
	m.HandleFunc("GET /support", d.buyerPage(d.listPage))
	m.HandleFunc("GET /support/new", d.buyerPage(d.newPage))
	m.HandleFunc("POST /support", d.buyerForm(d.create))
	m.HandleFunc("GET /support/{id}", d.buyerPage(d.conversationPage))
	m.HandleFunc("POST /support/{id}", d.buyerForm(d.buyerReply))
	m.HandleFunc("GET /support/chat", d.chatPage)
	m.HandleFunc("POST /support/chat", d.chatPost)
	m.HandleFunc("GET /support/chat/ws", d.buyerSocket)

	m.HandleFunc("GET /ops/support", d.staff(mayRead, d.inboxPage))
	m.HandleFunc("GET /ops/support/{id}", d.staff(mayRead, d.staffConversation))
	m.HandleFunc("POST /ops/support/{id}/reply", d.staff(mayAnswer, d.staffReply))
	m.HandleFunc("POST /ops/support/{id}/assign", d.staff(mayAnswer, d.staffAssign))
	m.HandleFunc("POST /ops/support/{id}/status", d.staff(mayAnswer, d.staffStatus))
	m.HandleFunc("GET /ops/support/ws", d.staff(mayRead, d.staffSocket))
}

// Close ends every chat socket, for a server that stops.
func (d *Desk) Close() { d.Hub.closeAll() }

// Sites are the parsed pages, for tests: the buyers' and the staff's.
func (d *Desk) Sites() (shopSite, opsSite *web.Site) { return d.shopSite, d.opsSite }

func mayRead(r staff.Role) bool { return r.MayRead() }

// mayAnswer: everyone who serves buyers; an auditor reads only.
func mayAnswer(r staff.Role) bool { return r == staff.BoxOffice || r == staff.Ops || r == staff.Admin }

// staff wraps a screen or action of logged-in staff whose role may; a POST
// must carry the session's form token.
func (d *Desk) staff(may func(staff.Role) bool, h func(http.ResponseWriter, *http.Request, staff.Session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		}
		c, err := r.Cookie(OpsSessionCookie)
		var s staff.Session
		if err == nil {
			s, err = d.cfg.Accounts.Session(r.Context(), c.Value)
		}
		if errors.Is(err, staff.ErrNoSession) || errors.Is(err, http.ErrNoCookie) {
			if r.Method != http.MethodGet || strings.HasSuffix(r.URL.Path, "/ws") {
				http.Error(w, "log in first", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/ops/login", http.StatusSeeOther)
			return
		}
		if err != nil {
			d.internal(w, r, err)
			return
		}
		if !may(s.Role) {
			d.cfg.Logger.Warn("support: refused for the role", "user", s.User, "role", s.Role, "path", r.URL.Path)
			http.Error(w, d.opsSite.T(r, "forbidden", "role", d.opsSite.T(r, "role."+string(s.Role))), http.StatusForbidden)
			return
		}
		if r.Method == http.MethodPost && !web.CheckForm(r, s.CSRF) {
			http.Error(w, "the form is stale or from another site: reload the page", http.StatusForbidden)
			return
		}
		h(w, r, s)
	}
}

// buyer is a logged-in buyer.
type buyer struct {
	store.Account
	token string
}

func (b *buyer) label() string {
	switch {
	case b.Name != "":
		return b.Name
	case b.Email != "":
		return b.Email
	}
	return b.Phone
}

// who is the request's buyer, nil when nobody is logged in.
func (d *Desk) who(r *http.Request) (*buyer, error) {
	c, err := r.Cookie(ShopSessionCookie)
	if err != nil {
		return nil, nil
	}
	a, err := d.cfg.Shop.Session(r.Context(), c.Value)
	if errors.Is(err, shop.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &buyer{Account: a, token: c.Value}, nil
}

// buyerPage wraps a page of logged-in buyers: others log in first.
func (d *Desk) buyerPage(h func(http.ResponseWriter, *http.Request, *buyer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := d.who(r)
		if err != nil {
			d.internal(w, r, err)
			return
		}
		if b == nil {
			http.Redirect(w, r, "/login?next="+urlQuery(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		h(w, r, b)
	}
}

// buyerForm wraps a form of a logged-in buyer: its token must be the
// session's.
func (d *Desk) buyerForm(h func(http.ResponseWriter, *http.Request, *buyer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		b, err := d.who(r)
		if err != nil {
			d.internal(w, r, err)
			return
		}
		if b == nil {
			http.Redirect(w, r, "/login?next=/support", http.StatusSeeOther)
			return
		}
		if !web.CheckForm(r, d.cfg.BuyerCSRF(b.token)) {
			d.shopMessage(w, r, http.StatusForbidden, b, "support.stale")
			return
		}
		h(w, r, b)
	}
}

func (d *Desk) internal(w http.ResponseWriter, r *http.Request, err error) {
	d.cfg.Logger.Error("support page failed", "path", r.URL.Path, "err", err)
	http.Error(w, "central could not show this page; it is logged", http.StatusInternalServerError)
}

func (d *Desk) now() time.Time { return d.cfg.Clock.Now() }

// loc is the time zone the desk shows times in: the first venue's.
func (d *Desk) loc(ctx context.Context) *time.Location {
	names, err := d.cfg.Store.Venues(ctx)
	if err != nil || len(names) == 0 {
		return time.UTC
	}
	v, err := d.cfg.Store.Venue(ctx, names[0])
	if err != nil {
		return time.UTC
	}
	l, err := time.LoadLocation(v.TimeZone)
	if err != nil {
		return time.UTC
	}
	return l
}

// word is a catalog's sentence in lang, for mails.
func (d *Desk) word(lang, key string, args ...any) string {
	cat := d.shopSite.Catalogs[lang]
	if cat == nil {
		cat = d.shopSite.Catalogs["en"]
	}
	v, ok := cat[key]
	if !ok {
		return key
	}
	for i := 0; i+1 < len(args); i += 2 {
		v = strings.ReplaceAll(v, "{"+fmt.Sprint(args[i])+"}", fmt.Sprint(args[i+1]))
	}
	return v
}
