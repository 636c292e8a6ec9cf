package ops

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/tixgate/tixgate/central/help"
	"github.com/tixgate/tixgate/central/staff"
	"github.com/tixgate/tixgate/central/store"
)

type helpRow struct {
	Slug, Topic, TitleEN, TitleZH, Updated, By string
}

type helpListData struct {
	base
	Rows []helpRow
}

type helpEditData struct {
	base
	Slug, Topic   string
	Position      int
	New           bool
	Topics        []string
	EN, ZH        store.HelpArticle
	UpdatedAt, By string
}

// helpList shows the storefront's help articles, both languages side by
// side.
func (u *UI) helpList(w http.ResponseWriter, r *http.Request, s staff.Session) {
	b, _, loc, err := u.venue(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	en, err := u.cfg.Store.HelpArticles(r.Context(), "en")
	if err != nil {
		u.internal(w, r, err)
		return
	}
	zh, err := u.cfg.Store.HelpArticles(r.Context(), "zh")
	if err != nil {
		u.internal(w, r, err)
		return
	}
	titles := map[string]string{}
	for _, a := range zh {
		titles[a.Slug] = a.Title
	}
	b.Done = r.URL.Query().Get("done")
	d := helpListData{base: b}
	for _, a := range en {
		d.Rows = append(d.Rows, helpRow{Slug: a.Slug, Topic: a.Topic, TitleEN: a.Title, TitleZH: titles[a.Slug], Updated: when(a.Updated, loc), By: a.UpdatedBy})
	}
	u.site.Render(w, r, http.StatusOK, u.page(s, "helpdesk", "helpdesk.title", d))
}

// helpEdit shows one article's form in both languages (a new one at
// /ops/help/new).
func (u *UI) helpEdit(w http.ResponseWriter, r *http.Request, s staff.Session) {
	b, _, loc, err := u.venue(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	d := helpEditData{base: b, Topics: help.Topics, Slug: r.PathValue("slug"), Topic: help.Topics[0]}
	if d.Slug == "new" {
		d.New, d.Slug = true, ""
	} else {
		var errEN, errZH error
		d.EN, errEN = u.cfg.Store.HelpArticle(r.Context(), d.Slug, "en")
		d.ZH, errZH = u.cfg.Store.HelpArticle(r.Context(), d.Slug, "zh")
		if errors.Is(errEN, store.ErrNotFound) && errors.Is(errZH, store.ErrNotFound) {
			http.NotFound(w, r)
			return
		}
		for _, a := range []store.HelpArticle{d.EN, d.ZH} {
			if a.Topic != "" {
				d.Topic, d.Position = a.Topic, a.Position
			}
			if !a.Updated.IsZero() {
				d.UpdatedAt, d.By = when(a.Updated, loc), a.UpdatedBy
			}
		}
	}
	u.site.Render(w, r, http.StatusOK, u.page(s, "helpedit", "helpdesk.title", d))
}

// helpSave stores an article in both languages, checked, in one
// transaction with its audit entry.
func (u *UI) helpSave(w http.ResponseWriter, r *http.Request, s staff.Session) {
	b, _, _, err := u.venue(r, s)
	if err != nil {
		u.internal(w, r, err)
		return
	}
	slug := strings.TrimSpace(r.PostFormValue("slug"))
	if p := r.PathValue("slug"); p != "new" {
		slug = p
	}
	pos, _ := strconv.Atoi(r.PostFormValue("position"))
	now := u.cfg.Clock.Now()
	d := helpEditData{base: b, Topics: help.Topics, Slug: slug, Topic: r.PostFormValue("topic"), Position: pos, New: r.PathValue("slug") == "new"}
	for _, lang := range []string{"en", "zh"} {
		a := store.HelpArticle{Slug: slug, Lang: lang, Topic: d.Topic, Position: pos, Title: strings.TrimSpace(r.PostFormValue("title_" + lang)),
			Body: strings.TrimSpace(r.PostFormValue("body_" + lang)), Updated: now, UpdatedBy: s.User}
		if lang == "en" {
			d.EN = a
		} else {
			d.ZH = a
		}
		if err == nil {
			if cerr := help.Check(a); cerr != nil {
				err = errors.New(lang + ": " + cerr.Error())
			}
		}
	}
	if err == nil {
		err = u.cfg.Store.Update(r.Context(), func(tx *store.Tx) error {
			for _, a := range []store.HelpArticle{d.EN, d.ZH} {
				if err := tx.PutHelpArticle(a); err != nil {
					return err
				}
			}
			return tx.Audit(store.AuditEntry{At: now, Actor: s.User, Action: "help.put", Target: slug, Detail: d.EN.Title})
		})
	}
	if err != nil {
		d.Error = err.Error()
		u.site.Render(w, r, http.StatusBadRequest, u.page(s, "helpedit", "helpdesk.title", d))
		return
	}
	http.Redirect(w, r, "/ops/help?done=helpdesk.saved", http.StatusSeeOther)
}
