package escalation

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// searchRow is a searches row as the insights page reads it.
type searchRow struct {
	lang, query string
	results     int
	clicked     string // "" for NULL
	createdAt   string
}

func readSearch(t *testing.T, s *Store, id int64) (searchRow, bool) {
	t.Helper()
	var r searchRow
	err := s.read.QueryRowContext(context.Background(), `SELECT lang, query, results, COALESCE(clicked_article, ''), created_at
		FROM searches WHERE id = ?`, id).Scan(&r.lang, &r.query, &r.results, &r.clicked, &r.createdAt)
	if err != nil {
		return searchRow{}, false
	}
	return r, true
}

// readViews returns the article_views rows as "day lang article" → views.
func readViews(t *testing.T, s *Store) map[string]int {
	t.Helper()
	rows, err := s.read.QueryContext(context.Background(), `SELECT day, lang, article_id, views FROM article_views`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var day, lang, article string
		var n int
		if err := rows.Scan(&day, &lang, &article, &n); err != nil {
			t.Fatal(err)
		}
		out[day+" "+lang+" "+article] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func newTestRecorder(t *testing.T, opt InsightsOptions) (*InsightsRecorder, *Store, *clock) {
	t.Helper()
	s := openTest(t)
	c := &clock{now: time.Date(2025, 3, 14, 23, 59, 0, 0, time.UTC)}
	s.Now = c.Now
	return NewInsightsRecorder(s, opt), s, c
}

func TestInsightsRecorderWritesSearchesClicksAndViewsInBatches(t *testing.T) {
	ctx := context.Background()
	rec, s, c := newTestRecorder(t, InsightsOptions{})

	refund := rec.SearchDone("en", "refund card", 3)
	hours := rec.SearchDone("fr", "horaires", 2)
	nothing := rec.SearchDone("en", "xyzzy", 0)
	// Opened while the search still waits in memory: set on its row.
	rec.ResultOpened(refund, "billing/refund")
	rec.ResultOpened(refund, "account/password")
	for range 3 {
		rec.ArticleRead("en", "billing/refund")
	}
	rec.ArticleRead("fr", "hours")
	if got := rec.Stats().Pending; got != 5 {
		t.Errorf("pending: got %d, want 5 (3 searches and 2 counters; a click on a waiting search takes no room)", got)
	}
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	// The next day: opened after its search was written, twice in one
	// batch and once more for a search already opened.
	c.advance(2 * time.Minute)
	rec.ResultOpened(hours, "hours")
	rec.ResultOpened(hours, "billing/refund")
	rec.ResultOpened(refund, "hours")
	rec.ResultOpened(123, "hours") // no such search
	rec.ArticleRead("en", "billing/refund")
	rec.ArticleRead("en", "billing/refund")
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// A later batch adds to a day's counter already written.
	c.advance(-2 * time.Minute)
	rec.ArticleRead("en", "billing/refund")
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name string
		id   int64
		want searchRow
	}{
		{"the first article opened while the search waited counts", refund,
			searchRow{"en", "refund card", 3, "billing/refund", "2025-03-14T23:59:00.000000000Z"}},
		{"the first article opened after the search was written counts", hours,
			searchRow{"fr", "horaires", 2, "hours", "2025-03-14T23:59:00.000000000Z"}},
		{"a search without results and without a click is kept", nothing,
			searchRow{"en", "xyzzy", 0, "", "2025-03-14T23:59:00.000000000Z"}},
	} {
		got, ok := readSearch(t, s, tt.id)
		if !ok || got != tt.want {
			t.Errorf("%s: got %+v (found %v), want %+v", tt.name, got, ok, tt.want)
		}
	}
	if n := count(t, s, `SELECT COUNT(*) FROM searches`); n != 3 {
		t.Errorf("got %d searches, want 3 (a click on an unknown id adds none)", n)
	}
	want := map[string]int{
		"2025-03-14 en billing/refund": 4,
		"2025-03-14 fr hours":          1,
		"2025-03-15 en billing/refund": 2,
	}
	got := readViews(t, s)
	if len(got) != len(want) {
		t.Errorf("views: got %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("views %s: got %d, want %d", k, got[k], n)
		}
	}
	if st := rec.Stats(); st != (InsightsStats{}) {
		t.Errorf("stats: got %+v, want nothing pending, dropped or failed", st)
	}
}

func TestInsightsRecorderSearchIDsArePositiveAndDistinct(t *testing.T) {
	rec, _, _ := newTestRecorder(t, InsightsOptions{})
	seen := map[int64]bool{}
	for range 1000 {
		id := rec.SearchDone("en", "q", 1)
		if id <= 0 || seen[id] {
			t.Fatalf("got id %d (seen before: %v), want a new positive id", id, seen[id])
		}
		seen[id] = true
	}
}

func TestInsightsRecorderStoresWhatTheTableAccepts(t *testing.T) {
	ctx := context.Background()
	rec, s, _ := newTestRecorder(t, InsightsOptions{})
	long := rec.SearchDone("fr", strings.Repeat("é", 250), 1)
	invalid := rec.SearchDone("en", "bad \xff byte", 1)
	negative := rec.SearchDone("en", "negative", -4)
	if err := rec.Flush(ctx); err != nil {
		t.Fatalf("a batch with odd values failed: %v", err)
	}
	for _, tt := range []struct {
		name        string
		id          int64
		wantQuery   string
		wantResults int
	}{
		{"a long query is cut to 200 characters", long, strings.Repeat("é", 200), 1},
		{"invalid UTF-8 is replaced", invalid, "bad \uFFFD byte", 1},
		{"a negative count is stored as none", negative, "negative", 0},
	} {
		got, ok := readSearch(t, s, tt.id)
		if !ok || got.query != tt.wantQuery || got.results != tt.wantResults {
			t.Errorf("%s: got %q, %d (found %v), want %q, %d", tt.name, got.query, got.results, ok, tt.wantQuery, tt.wantResults)
		}
	}
}

func TestInsightsRecorderDropsAndCountsWhenFull(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	rec, s, c := newTestRecorder(t, InsightsOptions{MaxPending: 4, FlushAt: 100,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	first := rec.SearchDone("en", "one", 1)
	rec.SearchDone("en", "two", 1)
	rec.ArticleRead("en", "hours")
	rec.ResultOpened(999, "hours") // a click on a written search takes room too
	// Full: new events are dropped...
	rec.SearchDone("en", "three", 1)
	rec.ArticleRead("en", "billing/refund")
	rec.ResultOpened(998, "hours")
	// ...but those that add to a waiting one are not.
	rec.ArticleRead("en", "hours")
	rec.ResultOpened(first, "hours")
	if st := rec.Stats(); st.Pending != 4 || st.Dropped != 3 {
		t.Errorf("stats: got %+v, want 4 pending and 3 dropped", st)
	}
	if n := strings.Count(logs.String(), "insights: events not recorded"); n != 1 {
		t.Errorf("got %d warnings within a minute, want 1:\n%s", n, logs.String())
	}
	c.advance(time.Minute)
	rec.SearchDone("en", "four", 1)
	if n := strings.Count(logs.String(), "insights: events not recorded"); n != 2 {
		t.Errorf("got %d warnings after a minute, want 2:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "dropped_total=4") {
		t.Errorf("the second warning lacks the total dropped:\n%s", logs.String())
	}

	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM searches`); n != 2 {
		t.Errorf("got %d searches written, want the 2 that fitted", n)
	}
	if got := readViews(t, s); len(got) != 1 || got["2025-03-14 en hours"] != 2 {
		t.Errorf("views: got %v, want hours read twice and nothing else", got)
	}
	if got, _ := readSearch(t, s, first); got.clicked != "hours" {
		t.Errorf("click on a waiting search in a full buffer: got %q, want hours", got.clicked)
	}
	// Written, the buffer has room again.
	rec.SearchDone("en", "five", 1)
	if st := rec.Stats(); st.Pending != 1 || st.Dropped != 4 {
		t.Errorf("after the flush: got %+v, want 1 pending, 4 dropped in all", st)
	}
}

func TestInsightsRecorderWakesRunOnceFlushAtEventsWait(t *testing.T) {
	rec, _, _ := newTestRecorder(t, InsightsOptions{FlushAt: 3})
	rec.SearchDone("en", "one", 1)
	rec.ArticleRead("en", "hours")
	if len(rec.wake) != 0 {
		t.Fatal("woken with 2 events waiting, want 3")
	}
	rec.ArticleRead("en", "billing/refund")
	if len(rec.wake) != 1 {
		t.Fatal("not woken with 3 events waiting")
	}
}

func TestInsightsRecorderRunWritesWhatIsLeftWhenStopped(t *testing.T) {
	rec, s, _ := newTestRecorder(t, InsightsOptions{FlushEvery: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); rec.Run(ctx) }()
	id := rec.SearchDone("en", "last words", 1)
	rec.ArticleRead("en", "hours")
	cancel()
	<-done
	if _, ok := readSearch(t, s, id); !ok {
		t.Error("the search recorded before the stop was not written")
	}
	if got := readViews(t, s); got["2025-03-14 en hours"] != 1 {
		t.Errorf("views: got %v, want the view recorded before the stop", got)
	}
}

func TestInsightsRecorderLosesAFailedBatchAndCountsIt(t *testing.T) {
	var logs bytes.Buffer
	rec, s, _ := newTestRecorder(t, InsightsOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	rec.SearchDone("en", "one", 1)
	rec.ArticleRead("en", "hours")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Flush(context.Background()); err == nil {
		t.Fatal("flush to a closed store: got no error")
	}
	if st := rec.Stats(); st != (InsightsStats{Failed: 2}) {
		t.Errorf("stats: got %+v, want 2 failed and nothing left pending", st)
	}
	if !strings.Contains(logs.String(), "failed_total=2") {
		t.Errorf("no warning about the lost batch:\n%s", logs.String())
	}
}
