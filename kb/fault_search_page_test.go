package kb

import (
	"net/http"
	"os"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestFaultSearchPageWhileTheIndexIsRebuilt: the help center's search page,
// while the index is found broken and rebuilt from the articles, answers
// 503 with a page that says so in the visitor's language and keeps the
// query in its box, not a 500; once rebuilt it finds the articles again.
func TestFaultSearchPageWhileTheIndexIsRebuilt(t *testing.T) {
	articles, data := writeArticles(t, faultArticles), t.TempDir()
	var logs syncBuffer
	b := faultBase(t, articles, data, &logs)
	defer b.Close()
	e := echo.New()
	NewSite(b, nil, SiteOptions{}).Register(e)
	found := scenario{name: "search", method: "GET", url: "/en/search?q=refund", wantStatus: http.StatusOK,
		wantContains: []string{`href="/en/billing/refund#delay"`}, wantNotContain: []string{"rebuilt"}}
	found.run(t, e)

	b.mu.Lock() // hold the rebuild back, to see the pages meanwhile
	for _, f := range segments(t, data) {
		if err := os.Truncate(f, 0); err != nil {
			b.mu.Unlock()
			t.Fatal(err)
		}
	}
	for _, sc := range []scenario{
		{name: "English search while rebuilt", method: "GET", url: "/en/search?q=refund", wantStatus: http.StatusServiceUnavailable,
			wantContains:   []string{`role="alert">The search is being rebuilt from the articles. Try again in a moment`, `value="refund"`},
			wantNotContain: []string{"Internal error", "Results for", "No article matches"}},
		{name: "French search while rebuilt", method: "GET", url: "/fr/search?q=remboursement", wantStatus: http.StatusServiceUnavailable,
			wantContains: []string{"La recherche est en cours de reconstruction", "Réessayez dans un instant", `value="remboursement"`}},
		{name: "the form alone needs no index", method: "GET", url: "/en/search", wantStatus: http.StatusOK,
			wantNotContain: []string{"rebuilt"}},
		{name: "articles are still served", method: "GET", url: "/en/billing/refund", wantStatus: http.StatusOK,
			wantContains: []string{"five days"}},
	} {
		sc.run(t, e)
	}
	b.mu.Unlock()

	waitUpdated(t, b, "rebuild after the fault")
	found.run(t, e)
}
