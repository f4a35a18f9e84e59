package kb

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
)

// fakeActivity records what the pages report, in order; search ids count
// from 41, so that an id in a link is this recorder's.
type fakeActivity struct {
	mu       sync.Mutex
	next     int64
	searches []recordedSearch
	opened   []string // "id article"
	reads    []string // "lang/article"
}

type recordedSearch struct {
	id      int64
	lang    string
	query   string
	results int
}

var _ Activity = (*fakeActivity)(nil)

func (f *fakeActivity) SearchDone(lang, query string, results int) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	id := 40 + f.next
	f.searches = append(f.searches, recordedSearch{id, lang, query, results})
	return id
}

func (f *fakeActivity) ResultOpened(id int64, articleID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opened = append(f.opened, strconv.FormatInt(id, 10)+" "+articleID)
}

func (f *fakeActivity) ArticleRead(lang, articleID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads = append(f.reads, lang+"/"+articleID)
}

func (f *fakeActivity) empty() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.searches)+len(f.opened)+len(f.reads) == 0
}

func newActivitySite(t *testing.T, opt SiteOptions) (*echo.Echo, *fakeActivity, *fakeVotes) {
	t.Helper()
	act := &fakeActivity{}
	opt.Activity = act
	e, votes := newTestSite(t, opt)
	return e, act, votes
}

func TestSiteRecordsSearchesAndTheirLinksCarryTheSearchID(t *testing.T) {
	e, act, _ := newActivitySite(t, SiteOptions{})
	long := strings.Repeat("weekend ", 40) // 320 characters, under the search's limit
	for _, sc := range []scenario{
		{name: "a search with results", method: "GET", url: "/en/search?q=++weekend+message+", wantStatus: 200,
			wantContains:   []string{`href="/en/contact/hours?s=41#weekend-support"`},
			wantNotContain: []string{`href="/en/contact/hours#weekend-support"`}},
		{name: "a search without results", method: "GET", url: "/en/search?q=zzzqqq", wantStatus: 200,
			wantContains: []string{"No article matches your search."}},
		{name: "a French search finding an English-only article", method: "GET", url: "/fr/search?q=docker", wantStatus: 200,
			wantContains: []string{`href="/en/bulle/install?s=43"`}},
		{name: "a long search", method: "GET", url: "/en/search?q=" + strings.ReplaceAll(long, " ", "+"), wantStatus: 200},
	} {
		sc.run(t, e)
	}
	want := []recordedSearch{
		{41, "en", "weekend message", 1},
		{42, "en", "zzzqqq", 0},
		{43, "fr", "docker", 1},
		{44, "en", strings.TrimSpace(long[:maxRecordedQuery]), 1},
	}
	if !slices.Equal(act.searches, want) {
		t.Errorf("searches: got %+v, want %+v", act.searches, want)
	}
	if len(act.opened)+len(act.reads) != 0 {
		t.Errorf("a search page recorded reads %q or opened results %q", act.reads, act.opened)
	}
}

func TestSiteRecordsReadsAndTheResultOpenedFromASearch(t *testing.T) {
	e, act, _ := newActivitySite(t, SiteOptions{BaseURL: "https://help.example.org/"})
	for _, sc := range []scenario{
		{name: "an article opened from a search", method: "GET", url: "/en/contact/hours?s=41", wantStatus: 200,
			wantContains: []string{`<link rel="canonical" href="https://help.example.org/en/contact/hours">`}},
		{name: "an article read directly", method: "GET", url: "/fr/contact/hours", wantStatus: 200,
			wantContains: []string{`<link rel="canonical" href="https://help.example.org/fr/contact/hours">`}},
		{name: "an id that is no number", method: "GET", url: "/en/contact/hours?s=abc", wantStatus: 200},
		{name: "an id of 0", method: "GET", url: "/en/contact/hours?s=0", wantStatus: 200},
		{name: "a negative id", method: "GET", url: "/en/contact/hours?s=-5", wantStatus: 200},
		{name: "an id too large", method: "GET", url: "/en/contact/hours?s=9223372036854775808", wantStatus: 200},
		{name: "another result of the same search", method: "GET", url: "/en/bulle/install?s=41", wantStatus: 200},
	} {
		sc.run(t, e)
	}
	// The site reports every opening; the recorder keeps the first.
	if want := []string{"41 contact/hours", "41 bulle/install"}; !slices.Equal(act.opened, want) {
		t.Errorf("opened: got %q, want %q", act.opened, want)
	}
	want := []string{"en/contact/hours", "fr/contact/hours", "en/contact/hours", "en/contact/hours",
		"en/contact/hours", "en/contact/hours", "en/bulle/install"}
	if !slices.Equal(act.reads, want) {
		t.Errorf("reads: got %q, want %q", act.reads, want)
	}
	if len(act.searches) != 0 {
		t.Errorf("article pages recorded searches %+v", act.searches)
	}
}

func TestSiteCanonicalLinkIsAPathWithoutBaseURL(t *testing.T) {
	e, _, _ := newActivitySite(t, SiteOptions{})
	scenario{name: "article from a search", method: "GET", url: "/en/contact/hours?s=41", wantStatus: 200,
		wantContains:   []string{`<link rel="canonical" href="/en/contact/hours">`},
		wantNotContain: []string{`s=41`}}.run(t, e)
	scenario{name: "home page", method: "GET", url: "/en/", wantStatus: 200,
		wantNotContain: []string{`rel="canonical"`}}.run(t, e)
}

func TestSiteRecordsNothingForHeadRequestsAndErrorPages(t *testing.T) {
	e, act, votes := newActivitySite(t, SiteOptions{})
	for _, sc := range []scenario{
		{name: "HEAD of a search", method: "HEAD", url: "/en/search?q=weekend", wantStatus: 200},
		{name: "HEAD of an article from a search", method: "HEAD", url: "/en/contact/hours?s=41", wantStatus: 200},
		{name: "the search form alone", method: "GET", url: "/en/search", wantStatus: 200},
		{name: "a blank search", method: "GET", url: "/en/search?q=+++", wantStatus: 200},
		{name: "a search too long", method: "GET", url: "/en/search?q=" + strings.Repeat("a", 501), wantStatus: 400},
		{name: "an unknown article", method: "GET", url: "/en/nope?s=41", wantStatus: 404},
		{name: "an unknown language", method: "GET", url: "/de/contact/hours?s=41", wantStatus: 404},
		{name: "the notice for an article in another language", method: "GET", url: "/fr/bulle/install?s=41", wantStatus: 200},
		{name: "a home page", method: "GET", url: "/en/", wantStatus: 200},
	} {
		sc.run(t, e)
	}
	votes.err = errors.New("disk on fire")
	scenario{name: "an article whose votes fail", method: "GET", url: "/en/contact/hours?s=41",
		wantStatus: http.StatusInternalServerError}.run(t, e)
	if !act.empty() {
		t.Errorf("recorded searches %+v, opened %q, reads %q; want nothing", act.searches, act.opened, act.reads)
	}
}

// TestSiteRecordsNoSearchWhileTheIndexIsRebuilt: the 503 page shown while
// the index is rebuilt is no search, and records none.
func TestSiteRecordsNoSearchWhileTheIndexIsRebuilt(t *testing.T) {
	articles, data := writeArticles(t, faultArticles), t.TempDir()
	var logs syncBuffer
	b := faultBase(t, articles, data, &logs)
	defer b.Close()
	act := &fakeActivity{}
	e := echo.New()
	NewSite(b, nil, SiteOptions{Activity: act}).Register(e)

	b.mu.Lock() // hold the rebuild back, to see the page meanwhile
	for _, f := range segments(t, data) {
		if err := os.Truncate(f, 0); err != nil {
			b.mu.Unlock()
			t.Fatal(err)
		}
	}
	req := httptest.NewRequest("GET", "/en/search?q=refund", nil)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	b.mu.Unlock()
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("got status %d, want 503\n%s", rec.Code, rec.Body)
	}
	if !act.empty() {
		t.Errorf("recorded searches %+v while the index was rebuilt, want none", act.searches)
	}
	waitUpdated(t, b, "rebuild after the fault")
}
