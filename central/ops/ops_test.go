package ops

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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
