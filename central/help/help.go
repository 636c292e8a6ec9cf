// Package help is the storefront's help: articles staff write and edit in
// both languages (how to buy, refunds and exchanges, entry rules,
// accessibility, event details), found by a search, shown as markdown
// without raw HTML; and the entry rules of each event written out from its
// ticket types' rules, the same rules the gates apply, so the words never
// disagree with what happens at the turnstile.
package help

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/yuin/goldmark"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/ledger/rules"
)

// Topics are the help's sections, in the order shown.
var Topics = []string{"buying", "refunds", "entry", "accessibility", "events"}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Check says what is wrong with an article staff wrote, or nil.
func Check(a store.HelpArticle) error {
	switch {
	case !slugRE.MatchString(a.Slug):
		return fmt.Errorf("address %q: lower-case letters, digits and dashes, up to 63", a.Slug)
	case a.Lang != "en" && a.Lang != "zh":
		return fmt.Errorf("language %q: en or zh", a.Lang)
	case !slices.Contains(Topics, a.Topic):
		return fmt.Errorf("topic %q: one of %s", a.Topic, strings.Join(Topics, ", "))
	case strings.TrimSpace(a.Title) == "" || len(a.Title) > 200:
		return fmt.Errorf("title: 1 to 200 bytes")
	case strings.TrimSpace(a.Body) == "" || len(a.Body) > 20_000:
		return fmt.Errorf("text: 1 to 20,000 bytes")
	}
	return nil
}

var md = goldmark.New() // raw HTML in the text is left out (goldmark's default)

// Render turns an article's markdown into HTML: what staff wrote, never a
// script or a tag of their own.
func Render(body string) (template.HTML, error) {
	var b bytes.Buffer
	if err := md.Convert([]byte(body), &b); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil
}

// Seed writes the default articles, in both languages, when there are
// none yet; staff edit them afterwards.
func Seed(ctx context.Context, db *store.DB, now time.Time) error {
	have, err := db.HelpArticles(ctx, "en")
	if err != nil || len(have) > 0 {
		return err
	}
	return db.Update(ctx, func(tx *store.Tx) error {
		for _, a := range defaults {
			for lang, text := range map[string][2]string{"en": a.en, "zh": a.zh} {
				err := tx.PutHelpArticle(store.HelpArticle{Slug: a.slug, Lang: lang, Topic: a.topic, Position: a.pos, Title: text[0], Body: text[1],
					Updated: now, UpdatedBy: "tixgate"})
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// TypeRules is one ticket type's entry rule, written out.
type TypeRules struct {
	ID    uint64
	Name  string
	Lines []string
}

// EntryRules writes out the entry rules of every ticket type of an event
// in lang, from the rules the gates apply; zones names the venue's zones
// by id.
func EntryRules(ctx context.Context, db *store.DB, event uint64, zones map[int]string, lang string) ([]TypeRules, error) {
	types, err := db.TicketTypes(ctx, event)
	if err != nil {
		return nil, err
	}
	var out []TypeRules
	for _, t := range types {
		var r rules.Rule
		if len(t.Rule) > 0 {
			if err := json.Unmarshal(t.Rule, &r); err != nil {
				return nil, fmt.Errorf("ticket type %d/%d's rule: %w", t.Event, t.ID, err)
			}
		}
		var names []string
		for _, z := range t.Zones {
			if n := zones[z]; n != "" {
				names = append(names, n)
			}
		}
		out = append(out, TypeRules{ID: t.ID, Name: t.Name, Lines: describe(r, names, lang)})
	}
	return out, nil
}

// describe says a rule in lang, a sentence a line.
func describe(r rules.Rule, zones []string, lang string) []string {
	zh := lang == "zh"
	say := func(en, cn string, a ...any) string {
		if zh {
			return fmt.Sprintf(cn, a...)
		}
		return fmt.Sprintf(en, a...)
	}
	sep := ", "
	if zh {
		sep = "、"
	}
	var out []string
	if len(zones) > 0 {
		out = append(out, say("Admits to: %s.", "可进入：%s。", strings.Join(zones, sep)))
	}
	switch {
	case r.MultiEntry && r.MaxEntries > 0:
		out = append(out, say("Up to %d entries, no need to go out in between.", "最多入场 %d 次，无需先出场。", r.MaxEntries))
	case r.MultiEntry:
		out = append(out, say("As many entries as you like.", "可多次入场。"))
	case r.Reentry && r.MaxEntries > 0:
		out = append(out, say("You may go out and come back in, up to %d entries; scan the ticket on the way out.", "可出场后再入场，最多 %d 次；出场时请扫码。", r.MaxEntries))
	case r.Reentry:
		out = append(out, say("You may go out and come back in; scan the ticket on the way out.", "可出场后再入场；出场时请扫码。"))
	default:
		out = append(out, say("One entry: once the ticket has been scanned in, it does not open a gate again.", "仅限入场一次：检票入场后，票不能再次使用。"))
	}
	if r.MaxEntriesPerDay > 0 {
		out = append(out, say("At most %d entries a day.", "每天最多入场 %d 次。", r.MaxEntriesPerDay))
	}
	if r.MaxDays > 0 {
		out = append(out, say("Valid on %d days of your choice.", "可在任选的 %d 天使用。", r.MaxDays))
	}
	if len(r.Dates) > 0 {
		out = append(out, say("Valid on %s only.", "仅限 %s 使用。", strings.Join(r.Dates, sep)))
	}
	if len(r.Weekdays) > 0 {
		out = append(out, say("Valid on %s only.", "仅限 %s 使用。", strings.Join(r.Weekdays, sep)))
	}
	for _, w := range r.Windows {
		switch {
		case w.Until == "":
			out = append(out, say("Entry from %s on.", "%s起可入场。", bound(w.From, lang)))
		case w.From == "":
			out = append(out, say("Entry until %s.", "入场截止：%s。", bound(w.Until, lang)))
		default:
			out = append(out, say("Entry from %s until %s.", "入场时间：%s 至 %s。", bound(w.From, lang), bound(w.Until, lang)))
		}
	}
	if r.MinMinutesBetween > 0 {
		out = append(out, say("At least %d minutes between two entries.", "两次入场至少间隔 %d 分钟。", r.MinMinutesBetween))
	}
	if r.MaxMinutesAfterFirst > 0 {
		out = append(out, say("Valid for %d minutes after the first entry.", "首次入场后 %d 分钟内有效。", r.MaxMinutesAfterFirst))
	}
	if len(r.Gates) > 0 {
		out = append(out, say("Only through gates %s.", "仅限从 %s 闸口通行。", strings.Join(r.Gates, sep)))
	}
	if r.When != nil {
		out = append(out, say("Further conditions apply; ask the staff at the gate.", "另有附加条件，请咨询闸口工作人员。"))
	}
	return out
}

var boundRE = regexp.MustCompile(`^(admission|event_start|event_end)(?:([+-])(\d+))?$`)

// bound says a window's end as people would: a time of day as it is, the
// event's moments by name, N minutes before or after them.
func bound(s, lang string) string {
	zh := lang == "zh"
	if s == "" {
		return "—"
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.Format("2006-01-02 15:04")
	}
	m := boundRE.FindStringSubmatch(s)
	if m == nil {
		return s // a time of day, 18:00
	}
	names := map[string][2]string{"admission": {"the doors open", "开门"}, "event_start": {"the start", "开始"}, "event_end": {"the end", "结束"}}
	name := names[m[1]][0]
	if zh {
		name = names[m[1]][1]
	}
	if m[3] == "" || m[3] == "0" {
		return name
	}
	switch {
	case zh && m[2] == "+":
		return name + "后 " + m[3] + " 分钟"
	case zh:
		return name + "前 " + m[3] + " 分钟"
	case m[2] == "+":
		return m[3] + " minutes after " + name
	}
	return m[3] + " minutes before " + name
}
