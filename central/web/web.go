package web

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/text/language"
)

//go:embed assets/app.css assets/layout.html locale/*.json
var base embed.FS

// Langs are the pages' languages, the first the fallback.
var Langs = []string{"en", "zh"}

var matcher = language.NewMatcher([]language.Tag{language.English, language.SimplifiedChinese})

// Cookies that remember a browser's choices, and the login forms' CSRF
// token.
const (
	LangCookie  = "tixgate_lang"
	ThemeCookie = "tixgate_theme"
	CSRFCookie  = "tixgate_csrf"
)

// Site is a set of pages on the shared layout.
type Site struct {
	pages    map[string]*template.Template
	Catalogs map[string]map[string]string // by language: the layout's keys and the pages'
	css      template.CSS
	cssHash  string
	csp      string
	scripts  map[string]template.JS // by name: the pages' scripts, allowed by hash
	// Secure marks cookies Secure: set when served over HTTPS.
	Secure bool
	app    bool // AllowApp was called
}

// New parses the layout with the pages' templates (patterns in pages) and
// merges the pages' catalogs (locale/LANG.json in locales) over the
// layout's. Every language must have every key of English.
func New(pages fs.FS, patterns []string, locales fs.FS) (*Site, error) {
	s := &Site{pages: map[string]*template.Template{}, Catalogs: map[string]map[string]string{}}
	for _, lang := range Langs {
		m := map[string]string{}
		for _, src := range []fs.FS{base, locales} {
			data, err := fs.ReadFile(src, "locale/"+lang+".json")
			if err != nil {
				return nil, fmt.Errorf("web: catalog %s: %w", lang, err)
			}
			part := map[string]string{}
			if err := json.Unmarshal(data, &part); err != nil {
				return nil, fmt.Errorf("web: catalog %s: %w", lang, err)
			}
			maps.Copy(m, part)
		}
		s.Catalogs[lang] = m
	}
	for k := range s.Catalogs["en"] {
		for _, lang := range Langs {
			if s.Catalogs[lang][k] == "" {
				return nil, fmt.Errorf("web: catalog %s lacks %q", lang, k)
			}
		}
	}
	css, err := base.ReadFile("assets/app.css")
	if err != nil {
		return nil, err
	}
	s.css = template.CSS(css)
	sum := sha256.Sum256(css)
	s.cssHash = base64.StdEncoding.EncodeToString(sum[:])
	s.scripts = map[string]template.JS{}
	s.setCSP()
	for _, lang := range Langs {
		t := template.New("site").Funcs(template.FuncMap{"t": s.translator(lang), "list": func(v ...string) []string { return v }})
		if t, err = t.ParseFS(base, "assets/layout.html"); err != nil {
			return nil, fmt.Errorf("web: layout: %w", err)
		}
		if s.pages[lang], err = t.ParseFS(pages, patterns...); err != nil {
			return nil, fmt.Errorf("web: pages: %w", err)
		}
	}
	return s, nil
}

// setCSP allows the stylesheet and the pages' scripts by their hashes, and
// nothing else but images of this site (and data: URLs) and requests back
// to it.
func (s *Site) setCSP() {
	script := ""
	names := slices.Sorted(maps.Keys(s.scripts))
	for _, name := range names {
		sum := sha256.Sum256([]byte(s.scripts[name]))
		script += " 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	s.csp = "default-src 'none'; style-src 'sha256-" + s.cssHash + "'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
	if script != "" {
		s.csp += "; script-src" + script + "; connect-src 'self'"
	}
	if s.app {
		s.csp += "; manifest-src 'self'; worker-src 'self'"
	}
}

// AllowApp lets the pages name a web app manifest and register a service
// worker, both from this site. Call it before serving.
func (s *Site) AllowApp() {
	s.app = true
	s.setCSP()
}

// AddScript registers a script a page may carry inline (Page.Script names
// it): the policy allows exactly its text by hash. Call it before serving.
func (s *Site) AddScript(name, js string) {
	s.scripts[name] = template.JS(js)
	s.setCSP()
}

// Fragment renders one of the pages' templates alone in the request's
// language: a part of a page that a script fetches to refresh it.
func (s *Site) Fragment(r *http.Request, name string, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := s.pages[LangOf(r)].ExecuteTemplate(&buf, name, data); err != nil {
		return nil, fmt.Errorf("web: fragment %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

func (s *Site) translator(lang string) func(string, ...any) string {
	cat := s.Catalogs[lang]
	return func(key string, args ...any) string {
		v, ok := cat[key]
		if !ok {
			return key
		}
		for i := 0; i+1 < len(args); i += 2 {
			v = strings.ReplaceAll(v, "{"+fmt.Sprint(args[i])+"}", fmt.Sprint(args[i+1]))
		}
		return v
	}
}

// T translates key into the request's language.
func (s *Site) T(r *http.Request, key string, args ...any) string {
	return s.translator(LangOf(r))(key, args...)
}

// NavItem is a link of the bar.
type NavItem struct {
	Href, Label string
	Current     bool
}

// Page is what the layout shows around a page's own Data.
type Page struct {
	Page, Title, Area string
	User              string // "" when nobody is logged in: no navigation
	CSRF              string // the token the page's forms carry
	Nav               []NavItem
	LogoutPath        string
	Data              any
	Script            string // the name of a script of AddScript the page carries, or ""
	Manifest          string // the path of a web app manifest the page links, or ""
	// Share is what a link to the page shows where it is shared (Open
	// Graph, read by Weibo, WeChat's link cards, and most others); nil:
	// nothing beyond the title.
	Share *Share

	ScriptJS                                        template.JS
	Lang, HTMLLang, OtherLang, OtherLangName, Theme string
	CSS                                             template.CSS
}

// Share is a page's share card: a title, a summary, its address, and an
// image's address ("" for none).
type Share struct {
	Title, Description, URL, Image string
}

// LangOf is a request's language: ?lang=, the remembered choice, or the
// browser's Accept-Language.
func LangOf(r *http.Request) string {
	for _, v := range []string{r.URL.Query().Get("lang"), cookie(r, LangCookie)} {
		for _, l := range Langs {
			if v == l {
				return l
			}
		}
	}
	tags, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	_, i, _ := matcher.Match(tags...)
	return Langs[i]
}

func themeOf(r *http.Request) string {
	for _, v := range []string{r.URL.Query().Get("theme"), cookie(r, ThemeCookie)} {
		if v == "light" || v == "dark" {
			return v
		}
	}
	return ""
}

func cookie(r *http.Request, name string) string {
	if c, err := r.Cookie(name); err == nil {
		return c.Value
	}
	return ""
}

// Render writes a page with the layout, remembering a language or theme
// chosen by ?lang= or ?theme=.
func (s *Site) Render(w http.ResponseWriter, r *http.Request, status int, p Page) {
	lang := LangOf(r)
	q := r.URL.Query()
	if v := q.Get("lang"); v == lang {
		http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: v, Path: "/", MaxAge: 365 * 86400, SameSite: http.SameSiteLaxMode, Secure: s.Secure, HttpOnly: true})
	}
	p.Theme = themeOf(r)
	if v := q.Get("theme"); v == p.Theme && v != "" {
		http.SetCookie(w, &http.Cookie{Name: ThemeCookie, Value: v, Path: "/", MaxAge: 365 * 86400, SameSite: http.SameSiteLaxMode, Secure: s.Secure, HttpOnly: true})
	}
	p.Lang, p.CSS = lang, s.css
	p.ScriptJS = s.scripts[p.Script]
	p.HTMLLang = map[string]string{"en": "en", "zh": "zh-Hans"}[lang]
	p.OtherLang = "zh"
	if lang == "zh" {
		p.OtherLang = "en"
	}
	p.OtherLangName = s.Catalogs[p.OtherLang]["lang.name"]
	var buf bytes.Buffer
	if err := s.pages[lang].ExecuteTemplate(&buf, p.Page, p); err != nil {
		http.Error(w, "page failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", s.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// FormToken is the CSRF token of forms shown before a session exists (a
// login): a random value in an HttpOnly cookie that the form repeats.
func (s *Site) FormToken(w http.ResponseWriter, r *http.Request) string {
	if v := cookie(r, CSRFCookie); len(v) >= 32 {
		return v
	}
	b := make([]byte, 24)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: v, Path: "/", HttpOnly: true, Secure: s.Secure, SameSite: http.SameSiteStrictMode})
	return v
}

// CheckForm reports whether a POST may be acted on: it comes from this
// site (Origin or Sec-Fetch-Site, when the browser sends them) and its
// csrf field equals want (a session's token, or FormToken's cookie when
// want is "").
func CheckForm(r *http.Request, want string) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	if want == "" {
		want = cookie(r, CSRFCookie)
	}
	got := r.PostFormValue("csrf")
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// SetSession sets a session cookie: HttpOnly, SameSite=Lax, Secure over
// HTTPS, for path.
func (s *Site) SetSession(w http.ResponseWriter, name, value, path string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true, Secure: s.Secure, SameSite: http.SameSiteLaxMode})
}
