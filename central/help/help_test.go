package help

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/store"
	"github.com/tixgate/tixgate/central/store/storetest"
	"github.com/tixgate/tixgate/ledger/rules"
)

var pg *storetest.Cluster

func TestMain(m *testing.M) { storetest.Main(m, &pg) }

func open(t *testing.T, d store.Dialect) *store.DB {
	t.Helper()
	dsn := ""
	if d == store.Postgres {
		dsn = pg.NewDatabase(t)
	}
	cfg := store.DefaultConfig(dsn, t.TempDir())
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// The defaults are seeded once in both languages, every word of a search
// must match (in any case, a % or _ meaning itself), and markdown is shown
// without the raw HTML someone typed.
func TestArticlesSearchAndRender(t *testing.T) {
	dialects := []store.Dialect{store.SQLite}
	if pg != nil {
		dialects = append(dialects, store.Postgres)
	}
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			db := open(t, d)
			ctx := context.Background()
			now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
			for range 2 {
				if err := Seed(ctx, db, now); err != nil {
					t.Fatal(err)
				}
			}
			en, _ := db.HelpArticles(ctx, "en")
			zh, _ := db.HelpArticles(ctx, "zh")
			if len(en) != len(defaults) || len(zh) != len(defaults) || en[0].Topic != "accessibility" {
				t.Fatalf("seeded %d en, %d zh: %+v", len(en), len(zh), en)
			}
			for _, tc := range []struct {
				lang, q string
				want    []string
			}{
				{"en", "REFUND", []string{"refunds", "payment", "event-details"}}, // the title's match first
				{"en", "waiting list", []string{"how-to-buy"}},
				{"en", "waiting unicorn", nil},
				{"en", "100%", nil},
				{"zh", "退票", []string{"refunds", "event-details"}},
				{"zh", "二维码", []string{"at-the-gate"}},
				{"en", "", nil},
			} {
				got, err := db.SearchHelp(ctx, tc.lang, tc.q)
				var slugs []string
				for _, a := range got {
					slugs = append(slugs, a.Slug)
				}
				if err != nil || strings.Join(slugs, ",") != strings.Join(tc.want, ",") {
					t.Errorf("search %s %q: %v, %v; want %v", tc.lang, tc.q, slugs, err, tc.want)
				}
			}
		})
	}
	h, err := Render("**Bring** your ticket <script>alert(1)</script>\n\n<img src=x onerror=alert(1)>")
	if err != nil || !strings.Contains(string(h), "<strong>Bring</strong>") || strings.Contains(string(h), "<script") || strings.Contains(string(h), "<img") {
		t.Errorf("render: %s, %v", h, err)
	}
	if err := Check(store.HelpArticle{Slug: "Bad Slug", Lang: "en", Topic: "buying", Title: "x", Body: "y"}); err == nil {
		t.Error("a slug with spaces passed")
	}
	if err := Check(store.HelpArticle{Slug: "ok", Lang: "en", Topic: "gossip", Title: "x", Body: "y"}); err == nil || !strings.Contains(err.Error(), "one of buying") {
		t.Errorf("an unknown topic: %v", err)
	}
}

// The entry rules are written from the rule the gates apply.
func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		r     rules.Rule
		lang  string
		zones []string
		want  string
	}{
		{rules.Rule{}, "en", []string{"Floor"}, "Admits to: Floor.|One entry: once the ticket has been scanned in, it does not open a gate again."},
		{rules.Rule{Reentry: true, MaxDays: 2, Dates: []string{"2026-07-01", "2026-07-02", "2026-07-03"}}, "en", nil,
			"You may go out and come back in; scan the ticket on the way out.|Valid on 2 days of your choice.|Valid on 2026-07-01, 2026-07-02, 2026-07-03 only."},
		{rules.Rule{MultiEntry: true, MaxEntries: 3, Windows: []rules.Window{{From: "10:00", Until: "18:00"}}}, "zh", []string{"北区", "VIP"},
			"可进入：北区、VIP。|最多入场 3 次，无需先出场。|入场时间：10:00 至 18:00。"},
		{rules.Rule{Windows: []rules.Window{{From: "admission", Until: "event_end+60"}, {From: "event_start-30"}}}, "en", nil,
			"One entry: once the ticket has been scanned in, it does not open a gate again.|Entry from the doors open until 60 minutes after the end.|Entry from 30 minutes before the start on."},
	} {
		if got := strings.Join(describe(tc.r, tc.zones, tc.lang), "|"); got != tc.want {
			t.Errorf("%+v in %s:\n got %s\nwant %s", tc.r, tc.lang, got, tc.want)
		}
	}
}
