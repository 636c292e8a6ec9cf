package storefront

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkEventPage renders the event page as an anonymous visitor sees
// it: the shop's sale read from SQLite, prices displayed, the template run.
func BenchmarkEventPage(b *testing.B) {
	f := newFixture(b, 1000)
	h := f.front.Handler()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/events/1042?lang=zh", nil))
			if w.Code != http.StatusOK {
				b.Fatalf("event page: %d", w.Code)
			}
		}
	})
}
