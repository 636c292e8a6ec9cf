package ops

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tixgate/tixgate/central/reconcile"
	"github.com/tixgate/tixgate/ledger/record"
	"github.com/tixgate/tixgate/ledger/rules"
	"github.com/tixgate/tixgate/ticket"
	"github.com/tixgate/tixgate/uplink"
)

// Every key of one language exists, non-empty, in the other.
func TestCatalogsComplete(t *testing.T) {
	u, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	cats := u.Site().Catalogs
	for a, ca := range cats {
		for b, cb := range cats {
			for k := range ca {
				if cb[k] == "" {
					t.Errorf("%s has %q, %s lacks it", a, k, b)
				}
			}
		}
	}
	if len(cats["en"]) < 50 {
		t.Errorf("%d keys in English: the catalogs did not load", len(cats["en"]))
	}
}

// Every key a page or a handler names is in the catalogs: a missing one
// would show the key itself.
func TestKeysUsedExist(t *testing.T) {
	u, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	cat := u.Site().Catalogs["en"]
	used := map[string]string{}
	inPages := regexp.MustCompile(`\bt "([a-z_.]+)"`)
	inGo := regexp.MustCompile(`(?:T\(r, |Title: |done=|page\(s, "[a-z]+", )"?([a-z_]+\.[a-z_.]+)"?`)
	for _, pattern := range []string{"pages/*.html", "*.go"} {
		names, _ := filepath.Glob(pattern)
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			re := inPages
			if strings.HasSuffix(name, ".go") {
				re = inGo
			}
			for _, m := range re.FindAllStringSubmatch(string(src), -1) {
				used[m[1]] = name
			}
		}
	}
	if len(used) < 100 {
		t.Fatalf("found %d keys in use: the scan missed them", len(used))
	}
	for k, where := range used {
		if cat[k] == "" {
			t.Errorf("%s uses %q, which the catalogs lack", where, k)
		}
	}
}

// Every name a screen translates by its value has words in the catalogs:
// uplink states, record kinds, conflict kinds, the reasons of a rule.
func TestDynamicKeysExist(t *testing.T) {
	u, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range []string{uplink.StateIdle, uplink.StateSyncing, uplink.StateOK, uplink.StateOffline, uplink.StateRefused, uplink.StateSuspended} {
		keys = append(keys, "uplink."+s)
	}
	for k := record.Kind(1); k < 32; k++ {
		if n := k.String(); !strings.HasPrefix(n, "kind(") {
			keys = append(keys, "record.kind."+n)
		}
	}
	for _, k := range []reconcile.Kind{reconcile.DoubleEntry, reconcile.RuleBroken, reconcile.RevokedTicket, reconcile.VoidedTicket,
		reconcile.RevokedDevice, reconcile.Fork, reconcile.DoubleSale, reconcile.TooManyRecords} {
		keys = append(keys, "kind."+string(k))
	}
	for _, r := range []ticket.Reason{ticket.ReasonAlreadyUsed, ticket.ReasonTooSoon, ticket.ReasonNotInside, ticket.ReasonExpired,
		ticket.ReasonWrongEvent, ticket.ReasonWrongZone, ticket.ReasonWrongGate, ticket.ReasonWrongDay, ticket.ReasonOutsideHours,
		ticket.ReasonNotAllowed, ticket.ReasonUnknownGate, ticket.ReasonUnknownType, ticket.ReasonRevoked} {
		keys = append(keys, "reason."+string(r))
	}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		keys = append(keys, "weekday."+d)
	}
	for lang, cat := range u.Site().Catalogs {
		for _, k := range keys {
			if cat[k] == "" {
				t.Errorf("%s lacks %q", lang, k)
			}
		}
	}
}

func translator(t *testing.T, lang string) func(string, ...any) string {
	u, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/ops/?lang="+lang, nil)
	return func(k string, a ...any) string { return u.Site().T(r, k, a...) }
}

// An entry rule is said in words in both languages; only a condition
// keeps its JSON.
func TestRuleWords(t *testing.T) {
	en, zh := translator(t, "en"), translator(t, "zh")
	cases := []struct {
		rule   rules.Rule
		en, zh string
	}{
		{rules.Rule{}, "single entry", "单次入场"},
		{rules.Rule{Reentry: true}, "re-entry after an exit", "出场后可再入场"},
		{rules.Rule{MultiEntry: true, MaxEntries: 3, MaxDays: 2}, "several entries without exits; at most 3 entries; entries on at most 2 days", "不出场也可多次入场；最多入场 3 次；最多 2 天可入场"},
		{rules.Rule{MaxEntries: 2}, "at most 2 entries", "最多入场 2 次"},
		{rules.Rule{Weekdays: []string{"sat", "sun"}, Windows: []rules.Window{{From: "09:00", Until: "17:00"}}, Gates: []string{"G1"}},
			"single entry; entry 09:00–17:00; on Saturday, Sunday; gates G1 only", "单次入场；入场时段 09:00–17:00；限周六、周日；仅限闸口 G1"},
	}
	for _, c := range cases {
		if got := ruleWords(en, c.rule); got != c.en {
			t.Errorf("en %+v: %q, want %q", c.rule, got, c.en)
		}
		if got := ruleWords(zh, c.rule); got != c.zh {
			t.Errorf("zh %+v: %q, want %q", c.rule, got, c.zh)
		}
	}
	cond, err := rules.ParseRule([]byte(`{"reentry":true,"when":{"var":"entries_today","op":"<","value":2}}`))
	if err != nil {
		t.Fatal(err)
	}
	got := ruleWords(en, cond)
	if !strings.HasPrefix(got, "re-entry after an exit; when {") || strings.Contains(got, `"reentry"`) {
		t.Errorf("a condition: %q, want the words then the condition's JSON only", got)
	}
}

// A conflict's detail is said from its records in the reader's language,
// times in the venue's zone.
func TestConflictDetail(t *testing.T) {
	zh := translator(t, "zh")
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 6, 12, 11, 31, 4, 0, time.UTC)
	recs := []reconcile.Involved{{Device: "gate-2", Gate: "G2", Kind: record.KindEntry, At: at},
		{Device: "gate-1", Gate: "G1", Kind: record.KindEntry, At: at.Add(-time.Minute)}}
	got := conflictDetail(zh, string(reconcile.DoubleEntry), string(ticket.ReasonAlreadyUsed), recs, loc)
	for _, want := range []string{"2026-06-12 19:31:04", "gate-2", "G2", "入场", "该票已入场", "之前", "gate-1"} {
		if !strings.Contains(got, want) {
			t.Errorf("detail %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "entry") || strings.Contains(got, "already") {
		t.Errorf("detail %q has English in it", got)
	}
	if d := conflictDetail(zh, "something_new", "", recs, loc); d != "" {
		t.Errorf("an unknown kind: %q, want none (the stored detail is shown)", d)
	}
	if s := shortID("c0123456789abcdef0123456789abcdef"); s != "c0123456" {
		t.Errorf("short ID %q", s)
	}
}
