package main

import (
	"context"
	"database/sql"
	"html"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3" // the test reads the database file the program wrote
)

// TestInsightsCaptureRecordsASearchItsClickAndTheReads: a visitor searches
// the help center and opens a result; once the program is closed (which
// writes the last batch), the database holds the search with its query,
// its count and the article opened, and the day's reads of that article.
func TestInsightsCaptureRecordsASearchItsClickAndTheReads(t *testing.T) {
	m := mustRunMain(t, nil)
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(m.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: got %d, %v\n%s", path, resp.StatusCode, err, body)
		}
		return string(body)
	}

	page := get("/en/search?q=+forgot+password+")
	link := regexp.MustCompile(`href="(/en/account/reset-password\?s=(\d+)[^"]*)"`).FindStringSubmatch(page)
	if link == nil {
		t.Fatalf("no result link carrying the search's id:\n%s", page)
	}
	searchID, err := strconv.ParseInt(link[2], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	article := get(html.UnescapeString(link[1]))
	if want := `<link rel="canonical" href="/en/account/reset-password">`; !strings.Contains(article, want) {
		t.Errorf("the article opened from the search lacks %s", want)
	}
	get("/en/account/reset-password") // read again, directly
	get("/en/search?q=zzzqqq")        // a search that finds nothing

	dbPath := filepath.Join(m.Config.DataDir, "bulle.db")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	var lang, query, clicked string
	var results int
	if err := db.QueryRowContext(ctx, `SELECT lang, query, results, COALESCE(clicked_article, '') FROM searches WHERE id = ?`,
		searchID).Scan(&lang, &query, &results, &clicked); err != nil {
		t.Fatalf("the search of the link: %v", err)
	}
	if lang != "en" || query != "forgot password" || results < 1 || clicked != "account/reset-password" {
		t.Errorf("search: got %s %q, %d results, opened %q; want en \"forgot password\", some results, account/reset-password",
			lang, query, results, clicked)
	}
	var empty int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM searches WHERE query = 'zzzqqq' AND results = 0
		AND clicked_article IS NULL`).Scan(&empty); err != nil || empty != 1 {
		t.Errorf("the search without results: got %d rows, %v; want 1", empty, err)
	}
	var views int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(SUM(views), 0) FROM article_views
		WHERE lang = 'en' AND article_id = 'account/reset-password'`).Scan(&views); err != nil || views != 2 {
		t.Errorf("reads of the article: got %d, %v; want 2", views, err)
	}
}
