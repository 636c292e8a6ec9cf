package edge

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	"golang.org/x/text/language"

	"github.com/tixgate/tixgate/edge/deviceapi"
)

// web holds the UI: one stylesheet, the page templates, the scripts and one
// string catalog per language. It is compiled in, so a device serves the UI
// its binary was tested with, and nothing is built or fetched at run time.
//
//go:embed web/app.css web/pages.html web/*.js web/locale/*.json
var web embed.FS

// Languages of the UI, the first the fallback.
var uiLangs = []language.Tag{language.English, language.SimplifiedChinese}

// uiLangCodes are the catalogs' names, in the order of uiLangs.
var uiLangCodes = []string{"en", "zh"}

var langMatcher = language.NewMatcher(uiLangs)

// Cookies that remember a browser's choices. Neither is a secret.
const (
	LangCookie  = "tixgate_lang"
	ThemeCookie = "tixgate_theme"
)

// ui is the parsed UI: templates, catalogs, the stylesheet and its hash for
// the Content-Security-Policy.
type ui struct {
	pages    map[string]*template.Template // by language
	catalogs map[string]map[string]string
	css      template.CSS
	csp      string
	static   http.Handler
}

// loadUI parses the embedded UI. It fails only on a broken build.
func loadUI() (*ui, error) {
	u := &ui{catalogs: map[string]map[string]string{}, pages: map[string]*template.Template{}}
	for _, code := range uiLangCodes {
		data, err := web.ReadFile("web/locale/" + code + ".json")
		if err != nil {
			return nil, fmt.Errorf("ui catalog %s: %w", code, err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("ui catalog %s: %w", code, err)
		}
		u.catalogs[code] = m
	}
	css, err := web.ReadFile("web/app.css")
	if err != nil {
		return nil, fmt.Errorf("ui stylesheet: %w", err)
	}
	u.css = template.CSS(css)
	sum := sha256.Sum256(css)
	// The stylesheet is inline, so the login page needs nothing a session
	// guards; the policy admits exactly that stylesheet and scripts from
	// this device.
	u.csp = "default-src 'self'; script-src 'self'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; img-src 'self' data:; media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	for _, code := range uiLangCodes {
		t := template.New("pages").Funcs(template.FuncMap{"t": u.translate(code)})
		if u.pages[code], err = t.ParseFS(web, "web/pages.html"); err != nil {
			return nil, fmt.Errorf("ui templates: %w", err)
		}
	}
	sub, _ := fs.Sub(web, "web")
	files := http.FileServerFS(sub)
	u.static = http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, ".js") || strings.Contains(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	}))
	return u, nil
}

// translate is the catalog lookup of one language: the key itself when a
// string is missing (a test keeps every catalog complete), with {name}
// placeholders filled from pairs of arguments.
func (u *ui) translate(lang string) func(string, ...string) string {
	cat := u.catalogs[lang]
	return func(key string, args ...string) string {
		s, ok := cat[key]
		if !ok {
			return key
		}
		for i := 0; i+1 < len(args); i += 2 {
			s = strings.ReplaceAll(s, "{"+args[i]+"}", args[i+1])
		}
		return s
	}
}

// langOf picks the UI language: the remembered choice, else the browser's
// Accept-Language.
func langOf(r *http.Request) string {
	if c, err := r.Cookie(LangCookie); err == nil {
		for _, code := range uiLangCodes {
			if c.Value == code {
				return code
			}
		}
	}
	tags, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	_, i, _ := langMatcher.Match(tags...)
	return uiLangCodes[i]
}

// themeOf is the remembered theme, or "" to follow the system's.
func themeOf(r *http.Request) string {
	if c, err := r.Cookie(ThemeCookie); err == nil && (c.Value == "dark" || c.Value == "light") {
		return c.Value
	}
	return ""
}

// rememberChoice handles ?lang= and ?theme= on a page: the choice goes into
// a cookie for a year and the browser is sent back to the page without the
// query. It reports whether it answered.
func rememberChoice(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	set := func(name, v string, allowed ...string) bool {
		for _, a := range allowed {
			if v == a {
				http.SetCookie(w, &http.Cookie{Name: name, Value: v, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode})
				return true
			}
		}
		return false
	}
	changed := false
	if v := q.Get("lang"); v != "" {
		changed = set(LangCookie, v, uiLangCodes...) || changed
	}
	if v := q.Get("theme"); v != "" {
		changed = set(ThemeCookie, v, "dark", "light") || changed
	}
	if !changed && !q.Has("lang") && !q.Has("theme") {
		return false
	}
	http.Redirect(w, r, r.URL.Path, http.StatusSeeOther)
	return true
}

// pageView is what every page template reads.
type pageView struct {
	Page, Title         string
	Lang, Theme         string
	HTMLLang            string
	OtherLang           string
	OtherLangName       string
	CSS                 template.CSS
	Device, Gate, Staff string
	// Seller: the device sells (its screens are sell and shift).
	Seller bool
	CSRF   string
	Health deviceapi.Health
	TLS    string
	// Data is the page's script data (pageData), serialised by the
	// template into its JSON block.
	Data any
	// The login form's name and error (a catalog key).
	Name, Error string
}

// pageData is what a page's script reads: the language, the venue's time
// zone (times are shown as the venue's clocks show them), the session's
// CSRF token and the catalog.
type pageData struct {
	Lang    string            `json:"lang"`
	TZ      string            `json:"tz"`
	Gate    string            `json:"gate,omitempty"`
	CSRF    string            `json:"csrf"`
	Staff   string            `json:"staff"`
	Role    string            `json:"role"`
	Strings map[string]string `json:"strings"`
}

// render writes a page of the node in the request's language.
func (n *Node) render(w http.ResponseWriter, r *http.Request, status int, name string, v pageView) {
	if id := n.ledger.Identity(); id != nil {
		v.Device = id.Cert.Device
	}
	v.Gate, v.Health, v.TLS = n.cfg.Gate, n.Health(), n.tlsFingerprint
	v.Seller = n.isSeller()
	if err := n.ui.render(w, r, status, name, v); err != nil {
		n.log.Error("page could not be rendered", "page", name, "err", err)
	}
}

// render writes a page in the request's language.
func (u *ui) render(w http.ResponseWriter, r *http.Request, status int, name string, v pageView) error {
	v.Page, v.Lang, v.Theme, v.CSS = name, langOf(r), themeOf(r), u.css
	if v.Title == "" {
		v.Title = "page." + name
	}
	for _, code := range uiLangCodes {
		if code != v.Lang {
			v.OtherLang, v.OtherLangName = code, u.catalogs[code]["lang.name"]
			break
		}
	}
	v.HTMLLang = v.Lang
	if v.Lang == "zh" {
		v.HTMLLang = "zh-Hans"
	}
	var buf bytes.Buffer
	if err := u.pages[v.Lang].ExecuteTemplate(&buf, name, v); err != nil {
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", u.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Permissions-Policy", "camera=(self), microphone=()")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// wantsPage says whether a request is a browser asking for a page.
func wantsPage(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html") && !strings.HasPrefix(r.URL.Path, "/api/")
}

// page guards a screen: without a session, the browser goes to /login.
func (n *Node) page(h func(http.ResponseWriter, *http.Request, *Session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, ok := n.session(r)
		if !ok {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if rememberChoice(w, r) {
			return
		}
		h(w, r, sess)
	}
}

// screenView is the view of a screen behind the login.
func (n *Node) screenView(r *http.Request, sess *Session) pageView {
	lang := langOf(r)
	tz := "UTC"
	if v, ok := n.ledger.Venue(); ok && v.TimeZone != "" {
		tz = v.TimeZone
	}
	return pageView{Staff: sess.Name, CSRF: sess.CSRF, Data: pageData{Lang: lang, TZ: tz, Gate: n.cfg.Gate, CSRF: sess.CSRF,
		Staff: sess.Name, Role: string(sess.Role), Strings: n.ui.catalogs[lang]}}
}

// handleScanPage serves the device's first screen: scan on a gate, sell
// on a seller.
func (n *Node) handleScanPage(w http.ResponseWriter, r *http.Request, sess *Session) {
	if n.isSeller() {
		n.render(w, r, http.StatusOK, "sell", n.screenView(r, sess))
		return
	}
	n.render(w, r, http.StatusOK, "scan", n.screenView(r, sess))
}

// handleShiftPage serves the till's screen of a seller device.
func (n *Node) handleShiftPage(w http.ResponseWriter, r *http.Request, sess *Session) {
	if !n.isSeller() {
		http.NotFound(w, r)
		return
	}
	n.render(w, r, http.StatusOK, "shift", n.screenView(r, sess))
}

func (n *Node) handleStatusPage(w http.ResponseWriter, r *http.Request, sess *Session) {
	n.render(w, r, http.StatusOK, "status", n.screenView(r, sess))
}

// handleStatic serves the scripts, to sessions only.
func (n *Node) handleStatic(w http.ResponseWriter, r *http.Request, _ *Session) {
	n.ui.static.ServeHTTP(w, r)
}

// handleNotFound sends a browser without a session to the login page and
// answers 404 to one with a session.
func (n *Node) handleNotFound(w http.ResponseWriter, r *http.Request, _ *Session) {
	http.NotFound(w, r)
}
