package kb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault 5 of issue 15: the index is damaged or deleted on disk. At start
// it is rebuilt from the articles; while serving, the bot answers from
// the last good index, or is told the index is unavailable (ErrUnavailable)
// until a rebuild replaces it, and the process never crashes.

// faultArticles are a small help center whose questions have one clear
// answer each.
var faultArticles = map[string]string{
	"en/hours.md":            "---\ntitle: Chat hours\n---\nLive chat opens on weekdays from nine to six.\n",
	"en/billing/refund.md":   "---\ntitle: Refunds\n---\n## Delay\n\nA refund reaches your card within five days.\n",
	"en/account/password.md": "---\ntitle: Reset your password\n---\nClick forgot password on the sign-in page.\n",
	"fr/hours.md":            "---\ntitle: Horaires du chat\n---\nLe chat ouvre en semaine de neuf à dix-huit heures.\n",
	"fr/billing/refund.md":   "---\ntitle: Remboursements\n---\nUn remboursement arrive sur votre carte sous cinq jours.\n",
}

// faultQueries each name the article that answers them.
var faultQueries = []struct {
	q    Query
	want string
}{
	{Query{Text: "live chat weekdays", Lang: "en"}, "hours"},
	{Query{Text: "refund card", Lang: "en"}, "billing/refund"},
	{Query{Text: "forgot password", Lang: "en"}, "account/password"},
	{Query{Text: "remboursement carte", Lang: "fr"}, "billing/refund"},
	{Query{Text: "horaires du chat", Lang: "fr"}, "hours"},
}

// answers runs every fault query and renders the hits, scores and
// passages, so that two indexes can be compared whole.
func answers(t testing.TB, b *Base) string {
	t.Helper()
	var out strings.Builder
	for _, fq := range faultQueries {
		hits, err := b.Search(context.Background(), fq.q)
		if err != nil {
			t.Fatalf("search %q: %v", fq.q.Text, err)
		}
		if len(hits) == 0 || hits[0].ID != fq.want {
			t.Errorf("search %q: got %v, want %s first", fq.q.Text, hits, fq.want)
		}
		fmt.Fprintf(&out, "%s:", fq.q.Text)
		for _, h := range hits {
			fmt.Fprintf(&out, " %s/%s %.6f %q", h.Lang, h.ID, h.Score, h.Passage)
		}
		out.WriteString("\n")
	}
	return out.String()
}

// faultBase opens the articles in dir with the index under data, logging
// to logs.
func faultBase(t testing.TB, articles, data string, logs *syncBuffer) *Base {
	t.Helper()
	b, err := Open(context.Background(), Options{Dir: articles, IndexDir: filepath.Join(data, "index"),
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return b
}

// syncBuffer is a log destination that goroutines share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func writeArticles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, content := range files {
		writeArticle(t, dir, rel, content)
	}
	return dir
}

// copyTree copies the folder src into dst.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// segments lists the index's segment files.
func segments(t testing.TB, data string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(data, "index", "store", "*.zap"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no segment files in %s (%v)", data, err)
	}
	return files
}

// overwrite writes n bytes of a fixed pattern into name at offset off
// (from the end when off is negative).
func overwrite(t testing.TB, name string, off int64, n int) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if off < 0 {
		st, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		off += st.Size()
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xA5, 0x5A, 0xFF, 0x00}, n/4+1)[:n], off); err != nil {
		t.Fatal(err)
	}
}

func TestFaultDamagedIndexIsRebuiltAtStart(t *testing.T) {
	articles := writeArticles(t, faultArticles)
	good := t.TempDir()
	var logs syncBuffer
	b := faultBase(t, articles, good, &logs)
	want := answers(t, b)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	index := func(data string) string { return filepath.Join(data, "index") }
	corpus := func(data string) string { return filepath.Join(data, "index.corpus") }

	tests := []struct {
		name   string
		damage func(t *testing.T, data string)
		// what the start may still use
		reuseIndex, useCorpus bool
	}{
		{"segment emptied", func(t *testing.T, d string) { os.Truncate(segments(t, d)[0], 0) }, false, true},
		{"segment cut in half", func(t *testing.T, d string) {
			st, _ := os.Stat(segments(t, d)[0])
			os.Truncate(segments(t, d)[0], st.Size()/2)
		}, false, true},
		// Bleve opens such a segment without a word and panics on the
		// first search; only the checksum tells.
		{"garbage in a segment's middle", func(t *testing.T, d string) {
			st, _ := os.Stat(segments(t, d)[0])
			overwrite(t, segments(t, d)[0], st.Size()/3, 4096)
		}, false, true},
		{"garbage in a segment's footer", func(t *testing.T, d string) { overwrite(t, segments(t, d)[0], -40, 36) }, false, true},
		{"segment deleted", func(t *testing.T, d string) { os.Remove(segments(t, d)[0]) }, false, true},
		{"root.bolt garbage", func(t *testing.T, d string) {
			overwrite(t, filepath.Join(index(d), "store", "root.bolt"), 0, 8192)
		}, false, true},
		{"index_meta.json garbage", func(t *testing.T, d string) {
			os.WriteFile(filepath.Join(index(d), "index_meta.json"), []byte("\x00{not json"), 0o600)
		}, false, true},
		{"store folder deleted", func(t *testing.T, d string) { os.RemoveAll(filepath.Join(index(d), "store")) }, false, true},
		{"index folder deleted", func(t *testing.T, d string) { os.RemoveAll(index(d)) }, false, true},
		{"index folder is a file", func(t *testing.T, d string) {
			os.RemoveAll(index(d))
			os.WriteFile(index(d), []byte("index"), 0o600)
		}, false, true},
		{"index.corpus emptied", func(t *testing.T, d string) { os.Truncate(corpus(d), 0) }, true, false},
		{"index.corpus cut in half", func(t *testing.T, d string) {
			st, _ := os.Stat(corpus(d))
			os.Truncate(corpus(d), st.Size()/2)
		}, true, false},
		{"index.corpus garbage", func(t *testing.T, d string) { overwrite(t, corpus(d), 0, 2048) }, true, false},
		// A damaged byte inside a string decodes fine: without the
		// checksum the bot would quote "weekdayz".
		{"index.corpus word changed", func(t *testing.T, d string) {
			data, err := os.ReadFile(corpus(d))
			if err != nil || !bytes.Contains(data, []byte("weekdays")) {
				t.Fatalf("read corpus: %v", err)
			}
			os.WriteFile(corpus(d), bytes.ReplaceAll(data, []byte("weekdays"), []byte("weekdayz")), 0o600)
		}, true, false},
		{"index.corpus deleted", func(t *testing.T, d string) { os.Remove(corpus(d)) }, true, false},
		{"index.corpus is a folder", func(t *testing.T, d string) {
			os.Remove(corpus(d))
			os.Mkdir(corpus(d), 0o700)
		}, true, false},
		{"everything deleted", func(t *testing.T, d string) {
			os.RemoveAll(index(d))
			os.Remove(corpus(d))
		}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := t.TempDir()
			copyTree(t, good, data)
			tt.damage(t, data)
			var logs syncBuffer
			b := faultBase(t, articles, data, &logs)
			got := answers(t, b)
			if err := b.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			if got != want {
				t.Errorf("answers after the damage:\n%s\nwant those of the intact index:\n%s", got, want)
			}
			if reused := strings.Contains(logs.String(), "reused_index=true"); reused != tt.reuseIndex {
				t.Errorf("reused_index: got %v, want %v\n%s", reused, tt.reuseIndex, logs.String())
			}
			if cached := strings.Contains(logs.String(), "cached_corpus=true"); cached != tt.useCorpus {
				t.Errorf("cached_corpus: got %v, want %v\n%s", cached, tt.useCorpus, logs.String())
			}

			// The start repaired the folder: the next one reuses both.
			logs = syncBuffer{}
			b = faultBase(t, articles, data, &logs)
			defer b.Close()
			if got := answers(t, b); got != want {
				t.Errorf("answers on the next start:\n%s\nwant:\n%s", got, want)
			}
			if tt.name != "index.corpus is a folder" && !strings.Contains(logs.String(), "reused_index=true cached_corpus=true") {
				t.Errorf("next start did not reuse the rebuilt index and corpus:\n%s", logs.String())
			}
		})
	}
}

// searchUntilClosed searches in a loop until stop is closed, and reports
// any answer that is neither right nor ErrUnavailable.
func searchUntilClosed(t *testing.T, b *Base, stop <-chan struct{}) (done <-chan int) {
	out := make(chan int, 1)
	go func() {
		unavailable := 0
		defer func() { out <- unavailable }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, fq := range faultQueries {
				hits, err := b.Search(context.Background(), fq.q)
				switch {
				case errors.Is(err, ErrUnavailable):
					unavailable++
					time.Sleep(time.Millisecond) // as a visitor would wait
				case err != nil:
					t.Errorf("search %q while the index is repaired: %v, want hits or ErrUnavailable", fq.q.Text, err)
					return
				case len(hits) == 0 || hits[0].ID != fq.want:
					t.Errorf("search %q while the index is repaired: got %v, want %s", fq.q.Text, hits, fq.want)
					return
				}
			}
		}
	}()
	return out
}

// waitUpdated waits for the base to report a live update or a rebuild.
func waitUpdated(t *testing.T, b *Base, what string) {
	t.Helper()
	select {
	case <-b.Updated():
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no update", what)
	}
}

// TestFaultIndexDeletedWhileServing deletes the index folder under a
// running base. Searches go on from the last good index; the next live
// edit cannot be written (Bleve then fails, even panics, on every later
// search), so the index is rebuilt from the articles, and meanwhile a
// search either answers right or says the index is unavailable.
func TestFaultIndexDeletedWhileServing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	articles, data := writeArticles(t, faultArticles), t.TempDir()
	var logs syncBuffer
	b := faultBase(t, articles, data, &logs)
	want := answers(t, b)
	watching := make(chan error, 1)
	go func() { watching <- b.Watch(ctx) }()
	time.Sleep(100 * time.Millisecond) // the watcher must see the first change

	if err := os.RemoveAll(filepath.Join(data, "index")); err != nil {
		t.Fatal(err)
	}
	if got := answers(t, b); got != want {
		t.Errorf("after the folder was deleted: got\n%s\nwant the last good index's\n%s", got, want)
	}

	stop := make(chan struct{})
	searched := searchUntilClosed(t, b, stop)
	writeArticle(t, articles, "en/billing/invoice.md", "---\ntitle: Invoices\n---\nDownload each invoice as a PDF.\n")
	waitUpdated(t, b, "rebuild after the failed live update")
	close(stop)
	unavailable := <-searched
	t.Logf("searches told the index was unavailable: %d", unavailable)

	if !strings.Contains(logs.String(), "index broken, rebuilding it from the articles") {
		t.Errorf("the failed update was not taken for a broken index:\n%s", logs.String())
	}
	answers(t, b) // the same articles answer (scores differ: there is one more)
	if got := topID(t, b, "en", "invoice pdf"); got != "billing/invoice" {
		t.Errorf("the edit that failed: got %q, want billing/invoice (in the rebuilt index)", got)
	}
	// Live updates work again on the rebuilt index.
	writeArticle(t, articles, "en/billing/invoice.md", "---\ntitle: Invoices\n---\nDownload each invoice as a spreadsheet.\n")
	deadline := time.Now().Add(10 * time.Second)
	for topID(t, b, "en", "spreadsheet") != "billing/invoice" && time.Now().Before(deadline) {
		select {
		case <-b.Updated():
		case <-time.After(100 * time.Millisecond):
		}
	}
	if got := topID(t, b, "en", "spreadsheet"); got != "billing/invoice" {
		t.Errorf("live update after the rebuild: got %q, want billing/invoice", got)
	}
	cancel()
	<-watching
	if err := b.Close(); err != nil {
		t.Errorf("close: %v", err)
	}

	// The rebuilt folder is whole: the next start reuses it.
	logs = syncBuffer{}
	b = faultBase(t, articles, data, &logs)
	defer b.Close()
	answers(t, b)
	if got := topID(t, b, "en", "spreadsheet"); got != "billing/invoice" {
		t.Errorf("next start: got %q, want billing/invoice", got)
	}
	if !strings.Contains(logs.String(), "reused_index=true") {
		t.Errorf("next start rebuilt the index again:\n%s", logs.String())
	}
}

// TestFaultSegmentTruncatedWhileServing truncates the segment files under
// a running base: the mmap'd pages are gone, and reading them faults.
// The search that meets the fault fails with ErrUnavailable, so do the
// searches until the rebuild (held here) is done; then answers are right.
func TestFaultSegmentTruncatedWhileServing(t *testing.T) {
	articles, data := writeArticles(t, faultArticles), t.TempDir()
	var logs syncBuffer
	b := faultBase(t, articles, data, &logs)
	defer b.Close()
	want := answers(t, b)

	b.mu.Lock() // hold the rebuild back, to see the searches meanwhile
	for _, f := range segments(t, data) {
		if err := os.Truncate(f, 0); err != nil {
			b.mu.Unlock()
			t.Fatal(err)
		}
	}
	for i, fq := range faultQueries {
		if _, err := b.Search(context.Background(), fq.q); !errors.Is(err, ErrUnavailable) {
			b.mu.Unlock()
			t.Fatalf("search %d on a truncated index: got %v, want ErrUnavailable", i, err)
		}
	}
	b.mu.Unlock()
	waitUpdated(t, b, "rebuild after the fault")
	if got := answers(t, b); got != want {
		t.Errorf("after the rebuild: got\n%s\nwant\n%s", got, want)
	}
	if err := verifySegments(b.cur.Load().index.bleve); err != nil {
		t.Errorf("rebuilt folder: %v", err)
	}
	if !strings.Contains(logs.String(), "search panicked") {
		t.Errorf("the fault was not logged:\n%s", logs.String())
	}
}

// TestFaultRebuildFallsBackToMemory: when the index folder cannot take a
// new index either, the rebuild is made in memory, so the bot still
// answers; the next start builds the folder again.
func TestFaultRebuildFallsBackToMemory(t *testing.T) {
	articles, data := writeArticles(t, faultArticles), t.TempDir()
	var logs syncBuffer
	sub := filepath.Join(data, "sub")
	b, err := Open(context.Background(), Options{Dir: articles, IndexDir: filepath.Join(sub, "index"),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	want := answers(t, b)

	b.mu.Lock()
	for _, f := range segments(t, sub) {
		os.Truncate(f, 0)
	}
	// A file where the index's parent folder was: nothing can be built
	// there, whoever runs the test.
	os.RemoveAll(sub)
	if err := os.WriteFile(sub, nil, 0o600); err != nil {
		b.mu.Unlock()
		t.Fatal(err)
	}
	b.mu.Unlock()
	if _, err := b.Search(context.Background(), faultQueries[0].q); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("search on a truncated index: got %v, want ErrUnavailable", err)
	}
	waitUpdated(t, b, "rebuild in memory")
	if got := answers(t, b); got != want {
		t.Errorf("from memory: got\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(logs.String(), "serving an index in memory") {
		t.Errorf("the fallback was not logged:\n%s", logs.String())
	}
}
