package storefront

import (
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/tixgate/tixgate/central/help"
	"github.com/tixgate/tixgate/central/store"
)

type helpTopic struct {
	Topic    string
	Articles []store.HelpArticle
}

type eventRules struct {
	Name  string
	Types []help.TypeRules
}

type helpData struct {
	Query    string
	Found    []store.HelpArticle
	Searched bool
	Topics   []helpTopic
	Rules    []eventRules
}

type articleData struct {
	Article store.HelpArticle
	Body    template.HTML
	Rules   []eventRules // on the entry topic's articles
}

// helpPage is /help: the articles by topic, a search over them (?q=), and
// the entry rules of every event on sale, written from their ticket types'
// rules.
func (f *Front) helpPage(w http.ResponseWriter, r *http.Request) {
	b, err := f.who(r)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	lang := langOf(r)
	d := helpData{Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	if d.Query != "" {
		d.Searched = true
		if d.Found, err = f.cfg.Store.SearchHelp(r.Context(), lang, d.Query); err != nil {
			f.internal(w, r, err)
			return
		}
	}
	all, err := f.cfg.Store.HelpArticles(r.Context(), lang)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	for _, t := range help.Topics {
		ht := helpTopic{Topic: t}
		for _, a := range all {
			if a.Topic == t {
				ht.Articles = append(ht.Articles, a)
			}
		}
		if len(ht.Articles) > 0 {
			d.Topics = append(d.Topics, ht)
		}
	}
	if d.Rules, err = f.entryRules(r, b, lang); err != nil {
		f.internal(w, r, err)
		return
	}
	f.render(w, r, http.StatusOK, b, "help", "help.title", data{Page: d})
}

// articlePage is /help/{slug}.
func (f *Front) articlePage(w http.ResponseWriter, r *http.Request) {
	b, err := f.who(r)
	if err != nil {
		f.internal(w, r, err)
		return
	}
	lang := langOf(r)
	a, err := f.cfg.Store.HelpArticle(r.Context(), r.PathValue("slug"), lang)
	if errors.Is(err, store.ErrNotFound) {
		f.message(w, r, http.StatusNotFound, b, "error.no_article")
		return
	}
	if err != nil {
		f.internal(w, r, err)
		return
	}
	d := articleData{Article: a}
	if d.Body, err = help.Render(a.Body); err != nil {
		f.internal(w, r, err)
		return
	}
	if a.Topic == "entry" {
		if d.Rules, err = f.entryRules(r, b, lang); err != nil {
			f.internal(w, r, err)
			return
		}
	}
	f.render(w, r, http.StatusOK, b, "article", "help.title", data{Page: d})
}

// entryRules are the entry rules of every event on sale, in lang.
func (f *Front) entryRules(r *http.Request, b *buyer, lang string) ([]eventRules, error) {
	cards, err := f.cards(r, b)
	if err != nil {
		return nil, err
	}
	var out []eventRules
	for _, c := range cards {
		ev, err := f.cfg.Store.Event(r.Context(), c.ID)
		if err != nil {
			return nil, err
		}
		zones := map[int]string{}
		if v, err := f.cfg.Store.Venue(r.Context(), ev.Venue); err == nil {
			for _, z := range v.Zones {
				zones[z.ID] = z.Name
			}
		}
		all, err := help.EntryRules(r.Context(), f.cfg.Store, c.ID, zones, lang)
		if err != nil {
			return nil, err
		}
		// Only the types this buyer can buy: a crew pass is no buyer's.
		var types []help.TypeRules
		for _, t := range all {
			for _, tr := range c.Types {
				if tr.ID == t.ID {
					types = append(types, t)
				}
			}
		}
		out = append(out, eventRules{Name: c.Name, Types: types})
	}
	return out, nil
}
