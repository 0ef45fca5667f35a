package publicpage_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
)

// BenchmarkServePage serves / from memory, as the site does; the baseline,
// BenchmarkRebuildAndServePage, reads the store and renders the page for
// every request instead. Both over the same published incidents. Their
// ratio is in docs/benchmarks.md.
func BenchmarkServePage(b *testing.B) {
	_, h := benchEnv(b)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

func BenchmarkRebuildAndServePage(b *testing.B) {
	e, h := benchEnv(b)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	b.ResetTimer()
	for b.Loop() {
		if err := e.site.Rebuild(b.Context()); err != nil {
			b.Fatal(err)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkRefreshAfterPublication is what a publication costs the page:
// one incident's timeline read and a render. Its baseline,
// BenchmarkRebuildAfterPublication, reads every incident of the past 90
// days instead.
func BenchmarkRefreshAfterPublication(b *testing.B) {
	e, _ := benchEnv(b)
	for b.Loop() {
		if err := e.site.Refresh(b.Context(), 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRebuildAfterPublication(b *testing.B) {
	e, _ := benchEnv(b)
	for b.Loop() {
		if err := e.site.Rebuild(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

// benchEnv publishes 20 incidents of 3 updates each (half resolved).
func benchEnv(b *testing.B) (*pageEnv, http.Handler) {
	e := newPageEnv(b)
	for i := range 20 {
		inc := e.incident(benchService(i), bot.SEV2)
		e.publish(inc, "Checkout errors", "Some payments fail.")
		e.exec(inc, "update --public We found the cause.")
		if i%2 == 0 {
			e.exec(inc, "statuspage resolve Payments work again.")
		}
	}
	return e, e.site.Handler()
}

func benchService(i int) string {
	return []string{"api-gateway", "checkout", "website"}[i%3] + "-" + string(rune('a'+i))
}
