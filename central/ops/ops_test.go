package ops

import "testing"

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
