package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// HelpArticle is one page of the storefront's help in one language.
type HelpArticle struct {
	Slug, Lang string
	Topic      string // buying, refunds, entry, accessibility, events
	Position   int    // order within the topic
	Title      string
	Body       string // markdown, shown without raw HTML
	Updated    time.Time
	UpdatedBy  string
}

// PutHelpArticle creates or replaces an article in one language.
func (t *Tx) PutHelpArticle(a HelpArticle) error {
	_, err := t.exec(`INSERT INTO help_articles (slug, lang, topic, position, title, body, updated, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (slug, lang) DO UPDATE SET topic = $3, position = $4, title = $5, body = $6, updated = $7, updated_by = $8`,
		a.Slug, a.Lang, a.Topic, a.Position, a.Title, a.Body, micros(a.Updated), a.UpdatedBy)
	if err != nil {
		return fmt.Errorf("help article %s/%s: %w", a.Slug, a.Lang, err)
	}
	return nil
}

const helpColumns = `slug, lang, topic, position, title, body, updated, updated_by`

func scanHelp(sc interface{ Scan(...any) error }) (HelpArticle, error) {
	var a HelpArticle
	var updated int64
	err := sc.Scan(&a.Slug, &a.Lang, &a.Topic, &a.Position, &a.Title, &a.Body, &updated, &a.UpdatedBy)
	a.Updated = fromMicros(updated)
	return a, err
}

// HelpArticles are every article in lang, by topic and position.
func (d *DB) HelpArticles(ctx context.Context, lang string) ([]HelpArticle, error) {
	return d.helpQuery(ctx, `SELECT `+helpColumns+` FROM help_articles WHERE lang = $1 ORDER BY topic, position, slug`, lang)
}

// HelpArticle is one article in lang; ErrNotFound when there is none.
func (d *DB) HelpArticle(ctx context.Context, slug, lang string) (HelpArticle, error) {
	a, err := scanHelp(d.db.QueryRowContext(ctx, `SELECT `+helpColumns+` FROM help_articles WHERE slug = $1 AND lang = $2`, slug, lang))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound(err, "help article "+slug)
	}
	return a, err
}

// SearchHelp finds the articles in lang whose title or text holds every
// word of q (any case), the title's matches first.
func (d *DB) SearchHelp(ctx context.Context, lang, q string) ([]HelpArticle, error) {
	words := strings.Fields(strings.ToLower(q))
	if len(words) == 0 || len(words) > 8 {
		return nil, nil
	}
	var where []string
	args := []any{lang}
	for _, w := range words {
		w = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(w)
		args = append(args, "%"+w+"%")
		n := len(args)
		where = append(where, fmt.Sprintf(`(LOWER(title) LIKE $%d ESCAPE '\' OR LOWER(body) LIKE $%d ESCAPE '\')`, n, n))
	}
	args = append(args, "%"+strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(words[0])+"%")
	q2 := fmt.Sprintf(`SELECT `+helpColumns+` FROM help_articles WHERE lang = $1 AND %s
		ORDER BY CASE WHEN LOWER(title) LIKE $%d ESCAPE '\' THEN 0 ELSE 1 END, topic, position LIMIT 20`, strings.Join(where, " AND "), len(args))
	return d.helpQuery(ctx, q2, args...)
}

func (d *DB) helpQuery(ctx context.Context, q string, args ...any) ([]HelpArticle, error) {
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("help articles: %w", err)
	}
	defer rows.Close()
	var out []HelpArticle
	for rows.Next() {
		a, err := scanHelp(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
