package kb

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
)

// fakeVotes is an in-memory VoteStore: one answer per voter per article.
type fakeVotes struct {
	mu    sync.Mutex
	votes map[[3]string]bool // lang, id, voter → helpful
	err   error              // returned by every call when set
}

var _ VoteStore = (*fakeVotes)(nil)

func newFakeVotes() *fakeVotes { return &fakeVotes{votes: map[[3]string]bool{}} }

func (f *fakeVotes) RecordVote(_ context.Context, lang, articleID, voterID string, helpful bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.votes[[3]string{lang, articleID, voterID}] = helpful
	return nil
}

func (f *fakeVotes) VoteTally(_ context.Context, lang, articleID string) (helpful, total int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return 0, 0, f.err
	}
	for k, h := range f.votes {
		if k[0] == lang && k[1] == articleID {
			total++
			if h {
				helpful++
			}
		}
	}
	return helpful, total, nil
}

func (f *fakeVotes) VoterVote(_ context.Context, lang, articleID, voterID string) (helpful, found bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return false, false, f.err
	}
	helpful, found = f.votes[[3]string{lang, articleID, voterID}]
	return helpful, found, nil
}

// siteArticles is the help center the HTTP tests serve.
var siteArticles = map[string]string{
	"en/contact/hours.md": `---
title: Opening hours
description: When the support team answers.
topic: contact
weight: 20
---
Our team answers on weekdays.

## Weekend support

On weekends, leave a message and we reply on Monday.
`,
	"fr/contact/hours.md": `---
title: "Horaires d'ouverture"
description: "Quand l'équipe répond."
topic: contact
weight: 20
---
L'équipe répond en semaine.

## Assistance le week-end

Le week-end, laissez un message : nous répondons le lundi.
`,
	"en/bulle/install.md": `---
title: Install Bulle with Docker
description: Run the single binary or the Docker image.
topic: bulle
weight: 10
---
Pull the docker image and start the container.
`,
	"fr/policies/refunds.md": `---
title: Remboursements
description: Quand un remboursement est possible.
topic: policies
---
Les remboursements sont possibles pendant trente jours.
`,
	"en/misc/evil.md": `---
title: "<script>alert(1)</script> Evil title"
description: "<b>bold</b> description"
topic: getting-started
---
Before <script>alert(1)</script> after.

<img src=x onerror=alert(2)>

[click](javascript:alert(3))
`,
}

// newTestSite serves siteArticles from a temp folder with a fake vote store.
func newTestSite(t *testing.T, opt SiteOptions) (*echo.Echo, *fakeVotes) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range siteArticles {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := Open(context.Background(), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	votes := newFakeVotes()
	e := echo.New()
	NewSite(b, votes, opt).Register(e)
	return e, votes
}

// scenario is one request to the help center and what must come back.
type scenario struct {
	name           string
	method         string
	url            string
	body           url.Values
	header         map[string]string
	wantStatus     int
	wantContains   []string
	wantNotContain []string
	wantHeader     map[string]string
}

func (sc scenario) run(t *testing.T, e *echo.Echo, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	var req *http.Request
	if sc.body != nil {
		req = httptest.NewRequest(sc.method, sc.url, strings.NewReader(sc.body.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(sc.method, sc.url, nil)
	}
	for k, v := range sc.header {
		req.Header.Set(k, v)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	got := rec.Body.String()
	if rec.Code != sc.wantStatus {
		t.Errorf("%s: got status %d, want %d\n%s", sc.name, rec.Code, sc.wantStatus, got)
	}
	for _, want := range sc.wantContains {
		if !strings.Contains(got, want) {
			t.Errorf("%s: body lacks %q\n%s", sc.name, want, got)
		}
	}
	for _, bad := range sc.wantNotContain {
		if strings.Contains(got, bad) {
			t.Errorf("%s: body contains %q\n%s", sc.name, bad, got)
		}
	}
	for k, want := range sc.wantHeader {
		if v := rec.Header().Get(k); v != want {
			t.Errorf("%s: header %s got %q, want %q", sc.name, k, v, want)
		}
	}
	return rec
}

func TestSitePages(t *testing.T) {
	e, _ := newTestSite(t, SiteOptions{})
	scenarios := []scenario{
		{name: "root redirects to English by default", method: "GET", url: "/",
			wantStatus: 302, wantHeader: map[string]string{"Location": "/en/"}},
		{name: "root redirects to French by Accept-Language", method: "GET", url: "/",
			header:     map[string]string{"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.8"},
			wantStatus: 302, wantHeader: map[string]string{"Location": "/fr/", "Vary": "Accept-Language"}},
		{name: "language without slash redirects", method: "GET", url: "/fr",
			wantStatus: 301, wantHeader: map[string]string{"Location": "/fr/"}},
		{name: "English home", method: "GET", url: "/en/", wantStatus: 200,
			wantContains: []string{`<html lang="en">`, `name="viewport"`, "Bulle", "Contact and support",
				"Using Bulle", "Getting started", `href="/en/contact/hours"`, "When the support team answers.",
				`action="/en/search"`, `href="/fr/" hreflang="fr" lang="fr">Français</a>`, `/static/site.css?v=`},
			wantNotContain: []string{"Remboursements", "en anglais"}},
		{name: "French home lists English-only articles, marked", method: "GET", url: "/fr/", wantStatus: 200,
			wantContains: []string{`<html lang="fr">`, "Contact et assistance", "Horaires d&#39;ouverture",
				"Remboursements", "Nos règles", "Utiliser Bulle", `href="/en/bulle/install"`,
				`<span class="badge" lang="fr">en anglais</span>`, `href="/en/" hreflang="en" lang="en">English</a>`},
			wantNotContain: []string{"Opening hours"}},
		{name: "page title names the site", method: "GET", url: "/en/", wantStatus: 200,
			wantContains: []string{"<title>Help center – Bulle</title>"}},
		{name: "search form without a query", method: "GET", url: "/fr/search", wantStatus: 200,
			wantContains: []string{`name="q"`}, wantNotContain: []string{"Résultats pour", "Aucun article"}},
		{name: "search in English", method: "GET", url: "/en/search?q=weekend+message", wantStatus: 200,
			wantContains: []string{"Results for “weekend message”", `href="/en/contact/hours#weekend-support"`,
				"Weekend support", "leave a message"},
			wantNotContain: []string{"anglais"}},
		{name: "French search finds an English-only article, marked", method: "GET", url: "/fr/search?q=docker", wantStatus: 200,
			wantContains: []string{"Résultats pour «\u00a0docker\u00a0»", `href="/en/bulle/install"`,
				"Cet article n&#39;est disponible qu&#39;en anglais", `value="docker"`}},
		{name: "search without results", method: "GET", url: "/en/search?q=zzzqqq", wantStatus: 200,
			wantContains: []string{"No article matches your search."}},
		{name: "search query too long", method: "GET", url: "/fr/search?q=" + strings.Repeat("a", 501), wantStatus: 400,
			wantContains: []string{"Votre recherche est trop longue"}},
		{name: "search query of 500 characters is fine", method: "GET", url: "/en/search?q=" + strings.Repeat("é", 500), wantStatus: 200},
		{name: "article page", method: "GET", url: "/en/contact/hours", wantStatus: 200,
			wantContains: []string{"<h1>Opening hours</h1>", "When the support team answers.",
				`<h2 id="weekend-support">Weekend support</h2>`, `href="/en/#topic-contact">Contact and support</a>`,
				`href="/en/">Home</a>`, `href="/fr/contact/hours" hreflang="fr"`, "Was this article helpful?",
				`<form method="post" action="/en/vote">`, `name="id" value="contact/hours"`,
				`name="helpful" value="yes"`, `name="helpful" value="no"`},
			wantNotContain: []string{"found this helpful", "Thanks for your feedback"},
			wantHeader:     map[string]string{"Content-Type": "text/html; charset=UTF-8"}},
		{name: "article page with a trailing slash", method: "GET", url: "/fr/contact/hours/", wantStatus: 200,
			wantContains: []string{"<h1>Horaires d&#39;ouverture</h1>", `id="assistance-le-week-end"`,
				"Cet article vous a-t-il été utile\u00a0?", ">Oui</button>", ">Non</button>", `href="/en/contact/hours"`}},
		{name: "French page of an English-only article", method: "GET", url: "/fr/bulle/install", wantStatus: 200,
			wantContains: []string{"Cet article n&#39;est disponible qu&#39;en anglais", `href="/en/bulle/install"`,
				`<html lang="fr">`, `<h1 lang="en">Install Bulle with Docker</h1>`},
			wantNotContain: []string{"<form method=\"post\""}},
		{name: "English page of a French-only article", method: "GET", url: "/en/policies/refunds", wantStatus: 200,
			wantContains: []string{"This article is only available in French", `href="/fr/policies/refunds"`}},
		{name: "hostile article content is escaped or dropped", method: "GET", url: "/en/misc/evil", wantStatus: 200,
			wantContains:   []string{"&lt;script&gt;alert(1)&lt;/script&gt; Evil title", "&lt;b&gt;bold&lt;/b&gt; description", "Before", "after."},
			wantNotContain: []string{"<script", "onerror", "javascript:", "<b>bold"},
			wantHeader:     map[string]string{"X-Content-Type-Options": "nosniff"}},
		{name: "unknown article is a French 404 page", method: "GET", url: "/fr/nope/nothing", wantStatus: 404,
			wantContains: []string{`<html lang="fr">`, "Page introuvable", `action="/fr/search"`}},
		{name: "unknown article is an English 404 page", method: "GET", url: "/en/nope", wantStatus: 404,
			wantContains: []string{`<html lang="en">`, "Page not found"}},
		{name: "unknown language is a 404", method: "GET", url: "/de/contact/hours", wantStatus: 404,
			wantContains: []string{"Page not found"}},
		{name: "unknown language home is a 404 in the browser's language", method: "GET", url: "/xx/",
			header: map[string]string{"Accept-Language": "fr"}, wantStatus: 404, wantContains: []string{"Page introuvable"}},
		{name: "vote for an unknown article", method: "POST", url: "/fr/vote",
			body: url.Values{"id": {"nope"}, "helpful": {"yes"}}, wantStatus: 400,
			wantContains: []string{"Cet article n&#39;existe pas."}},
		{name: "vote for an article of another language", method: "POST", url: "/fr/vote",
			body: url.Values{"id": {"bulle/install"}, "helpful": {"yes"}}, wantStatus: 400},
		{name: "vote without an id", method: "POST", url: "/en/vote",
			body: url.Values{"helpful": {"yes"}}, wantStatus: 400, wantContains: []string{"This article does not exist."}},
		{name: "vote with a bad answer", method: "POST", url: "/en/vote",
			body: url.Values{"id": {"contact/hours"}, "helpful": {"maybe"}}, wantStatus: 400,
			wantContains: []string{"Choose Yes or No."}},
		{name: "cross-origin vote", method: "POST", url: "/en/vote",
			body:   url.Values{"id": {"contact/hours"}, "helpful": {"yes"}},
			header: map[string]string{"Origin": "https://evil.example"}, wantStatus: 403,
			wantContains: []string{"cross-site form post refused"}},
		{name: "cross-site vote by Sec-Fetch-Site", method: "POST", url: "/en/vote",
			body:   url.Values{"id": {"contact/hours"}, "helpful": {"yes"}},
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}, wantStatus: 403},
		{name: "vote with an opaque origin", method: "POST", url: "/fr/vote",
			body:   url.Values{"id": {"contact/hours"}, "helpful": {"yes"}},
			header: map[string]string{"Origin": "null"}, wantStatus: 403,
			wantContains: []string{"cross-site form post refused"}},
		{name: "vote from the same origin", method: "POST", url: "/en/vote",
			body:   url.Values{"id": {"contact/hours"}, "helpful": {"yes"}},
			header: map[string]string{"Origin": "http://example.com"}, wantStatus: 303,
			wantHeader: map[string]string{"Location": "/en/contact/hours#vote"}},
		{name: "GET on the vote URL is no article", method: "GET", url: "/en/vote", wantStatus: 404},
		{name: "HEAD of a page", method: "HEAD", url: "/en/contact/hours", wantStatus: 200},
	}
	for _, sc := range scenarios {
		sc.run(t, e)
	}
}

func TestSiteVoteFlow(t *testing.T) {
	e, votes := newTestSite(t, SiteOptions{SecureCookies: true})
	post := func(answer string) scenario {
		return scenario{name: "vote " + answer, method: "POST", url: "/fr/vote",
			body:       url.Values{"id": {"contact/hours"}, "helpful": {answer}},
			header:     map[string]string{"Origin": "http://example.com"},
			wantStatus: 303, wantHeader: map[string]string{"Location": "/fr/contact/hours#vote"}}
	}
	page := func(name string, contains, notContain []string) scenario {
		return scenario{name: name, method: "GET", url: "/fr/contact/hours", wantStatus: 200,
			wantContains: contains, wantNotContain: notContain}
	}

	page("before any vote", []string{"Cet article vous a-t-il été utile\u00a0?"},
		[]string{"ont trouvé cela utile", "Merci pour votre avis"}).run(t, e)

	rec := post("yes").run(t, e)
	var voter *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == "bulle_voter" {
			voter = c
		}
	}
	if voter == nil {
		t.Fatal("first vote: got no bulle_voter cookie")
	}
	if !validVoterID(voter.Value) || !voter.HttpOnly || !voter.Secure ||
		voter.SameSite != http.SameSiteLaxMode || voter.MaxAge != 365*24*3600 || voter.Path != "/" {
		t.Errorf("voter cookie: got %+v, want 32 hex digits, HttpOnly, Secure, SameSite=Lax, a year, Path=/", voter)
	}

	page("after voting yes", []string{"1 sur 1 ont trouvé cela utile", "Merci pour votre avis",
		`value="yes" class="chosen" aria-pressed="true"`}, nil).run(t, e, voter)
	page("another visitor sees the count, not the thanks", []string{"1 sur 1 ont trouvé cela utile"},
		[]string{"Merci pour votre avis"}).run(t, e)

	rec = post("no").run(t, e, voter)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "bulle_voter" {
			t.Errorf("second vote: got a new cookie %q, want the first one kept", c.Value)
		}
	}
	page("after changing to no", []string{"0 sur 1 ont trouvé cela utile", "Merci pour votre avis",
		`value="no" class="chosen" aria-pressed="true"`}, []string{`value="yes" class="chosen"`}).run(t, e, voter)

	post("yes").run(t, e) // a second visitor, without a cookie
	page("two visitors", []string{"1 sur 2 ont trouvé cela utile"}, nil).run(t, e)

	if h, n, _ := votes.VoteTally(context.Background(), "fr", "contact/hours"); h != 1 || n != 2 {
		t.Errorf("store: got %d of %d, want 1 of 2", h, n)
	}
	if _, n, _ := votes.VoteTally(context.Background(), "en", "contact/hours"); n != 0 {
		t.Errorf("English version: got %d votes, want 0 (votes are per language version)", n)
	}

	forged := &http.Cookie{Name: "bulle_voter", Value: "not-a-voter-id"}
	rec = post("yes").run(t, e, forged)
	if len(rec.Result().Cookies()) != 1 || !validVoterID(rec.Result().Cookies()[0].Value) {
		t.Errorf("forged cookie: got cookies %v, want a fresh voter id", rec.Result().Cookies())
	}
}

func TestSiteStoreFailureIsInternal(t *testing.T) {
	e, votes := newTestSite(t, SiteOptions{})
	votes.err = errors.New("disk I/O error")
	for _, sc := range []scenario{
		{name: "article page", method: "GET", url: "/en/contact/hours", wantStatus: 500,
			wantNotContain: []string{"disk I/O"}},
		{name: "vote", method: "POST", url: "/en/vote", body: url.Values{"id": {"contact/hours"}, "helpful": {"yes"}},
			wantStatus: 500, wantNotContain: []string{"disk I/O"}},
	} {
		sc.run(t, e)
	}
}

func TestSiteWithoutVoteStore(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "en", "a.md")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("---\ntitle: A\n---\nText.\n"), 0o644)
	b, err := Open(context.Background(), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	e := echo.New()
	NewSite(b, nil, SiteOptions{Name: "Aide"}).Register(e)
	scenario{name: "no vote form", method: "GET", url: "/en/a", wantStatus: 200,
		wantContains: []string{"<title>A – Aide</title>"}, wantNotContain: []string{"helpful"}}.run(t, e)
	scenario{name: "no vote route", method: "POST", url: "/en/vote",
		body: url.Values{"id": {"a"}, "helpful": {"yes"}}, wantStatus: 404}.run(t, e)
}

func TestSiteStylesheet(t *testing.T) {
	e, _ := newTestSite(t, SiteOptions{})
	rec := scenario{name: "stylesheet", method: "GET", url: "/static/site.css", wantStatus: 200,
		wantContains: []string{"max-width: 46rem", "img, video { max-width: 100%", "overflow-x: auto"},
		wantHeader:   map[string]string{"Content-Type": "text/css; charset=utf-8", "Cache-Control": "public, no-cache"}}.run(t, e)
	etag := rec.Header().Get("ETag")
	if len(etag) != 34 || etag[0] != '"' {
		t.Fatalf("ETag: got %q, want a quoted checksum", etag)
	}
	scenario{name: "stylesheet not modified", method: "GET", url: "/static/site.css",
		header: map[string]string{"If-None-Match": etag}, wantStatus: 304}.run(t, e)
	scenario{name: "stylesheet changed", method: "GET", url: "/static/site.css",
		header: map[string]string{"If-None-Match": `"old"`}, wantStatus: 200}.run(t, e)

	home := scenario{name: "home", method: "GET", url: "/en/", wantStatus: 200}.run(t, e)
	i := strings.Index(home.Body.String(), "/static/site.css?v=")
	if i < 0 {
		t.Fatal("home page does not link the stylesheet")
	}
	versioned := home.Body.String()[i : i+len("/static/site.css?v=")+12]
	scenario{name: "versioned stylesheet", method: "GET", url: versioned, wantStatus: 200,
		wantHeader: map[string]string{"Cache-Control": "public, max-age=31536000, immutable", "ETag": etag}}.run(t, e)
}

func TestEtagMatch(t *testing.T) {
	cases := []struct {
		header string
		want   bool
	}{
		{`"abc"`, true},
		{`W/"abc"`, true},
		{`"x", "abc"`, true},
		{`*`, true},
		{`"abcd"`, false},
		{``, false},
	}
	for _, c := range cases {
		if got := etagMatch(c.header, `"abc"`); got != c.want {
			t.Errorf("etagMatch(%q): got %v, want %v", c.header, got, c.want)
		}
	}
}

func TestHeaderLinksToContactAndRequestsWhenTheyExist(t *testing.T) {
	e, _ := newTestSite(t, SiteOptions{ContactURL: "/contact", RequestsURL: "/requests"})
	scenario{name: "french home", method: "GET", url: "/fr/", wantStatus: 200,
		wantContains: []string{`href="/contact?lang=fr"`, "Nous contacter", `href="/requests?lang=fr"`, "Mes demandes"}}.run(t, e)
	bare, _ := newTestSite(t, SiteOptions{})
	scenario{name: "no contact page", method: "GET", url: "/en/", wantStatus: 200,
		wantNotContain: []string{`href="/contact?`, "My requests"}}.run(t, bare)
}
