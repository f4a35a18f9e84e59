package kb

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeArticle writes one article file under dir.
func writeArticle(t testing.TB, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func topID(t testing.TB, b *Base, lang, q string) string {
	t.Helper()
	hits, err := b.Search(context.Background(), Query{Text: q, Lang: lang})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) == 0 {
		return ""
	}
	return hits[0].ID
}

func TestPersistedIndexIsReusedOnlyWhenArticlesAreUnchanged(t *testing.T) {
	ctx := context.Background()
	articles, data := t.TempDir(), t.TempDir()
	writeArticle(t, articles, "en/hours.md", "---\ntitle: Chat hours\n---\nLive chat opens on weekdays.\n")
	opt := Options{Dir: articles, IndexDir: filepath.Join(data, "index")}

	b, err := Open(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	first := b.cur.Load().hash
	b.Close()

	b, err = Open(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.cur.Load().hash; got != first {
		t.Errorf("unchanged articles: got hash %s, want %s", got, first)
	}
	if got := topID(t, b, "en", "chat hours"); got != "hours" {
		t.Errorf("reopened index: got %q, want hours", got)
	}
	b.Close()

	writeArticle(t, articles, "en/refund.md", "---\ntitle: Refunds\n---\nHow refunds work.\n")
	b, err = Open(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := topID(t, b, "en", "refunds"); got != "refund" {
		t.Errorf("after an offline edit: got %q, want refund (index rebuilt)", got)
	}
}

func TestCorruptIndexIsRebuilt(t *testing.T) {
	ctx := context.Background()
	articles, data := t.TempDir(), t.TempDir()
	writeArticle(t, articles, "en/hours.md", "---\ntitle: Chat hours\n---\nLive chat opens on weekdays.\n")
	idx := filepath.Join(data, "index")
	if err := os.MkdirAll(idx, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(idx, "index_meta.json"), []byte("{not json"), 0o644)
	b, err := Open(ctx, Options{Dir: articles, IndexDir: idx})
	if err != nil {
		t.Fatalf("corrupt index: got %v, want a rebuild", err)
	}
	defer b.Close()
	if got := topID(t, b, "en", "chat hours"); got != "hours" {
		t.Errorf("got %q, want hours", got)
	}
}

func TestCorpusCacheSparesParsingAndACorruptOneIsIgnored(t *testing.T) {
	ctx := context.Background()
	articles, data := t.TempDir(), t.TempDir()
	writeArticle(t, articles, "en/hours.md", "---\ntitle: Chat hours\n---\n## Weekdays\n\nLive chat opens on weekdays.\n")
	var logs strings.Builder
	opt := Options{Dir: articles, IndexDir: filepath.Join(data, "index"),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	open := func() (cached bool, h Hit) {
		t.Helper()
		logs.Reset()
		b, err := Open(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		hits, err := b.Search(ctx, Query{Text: "weekdays", Lang: "en"})
		if err != nil || len(hits) == 0 {
			t.Fatalf("search: %v, %d hits", err, len(hits))
		}
		return strings.Contains(logs.String(), "cached_corpus=true"), hits[0]
	}

	if cached, _ := open(); cached {
		t.Fatal("first start: cache used before it was written")
	}
	cached, h := open()
	if !cached {
		t.Errorf("second start: articles parsed again, want the cached corpus\n%s", logs.String())
	}
	if h.ID != "hours" || h.Anchor != "weekdays" || h.Coverage != 1 {
		t.Errorf("from the cache: got %+v, want hours#weekdays with full coverage", h)
	}

	if err := os.WriteFile(cachePath(opt.IndexDir), []byte("not a cache"), 0o644); err != nil {
		t.Fatal(err)
	}
	if cached, h := open(); cached || h.ID != "hours" {
		t.Errorf("corrupt cache: cached=%v top=%q, want articles parsed again and hours found", cached, h.ID)
	}
	if !strings.Contains(logs.String(), "corpus cache unreadable") {
		t.Errorf("corrupt cache not reported:\n%s", logs.String())
	}
	if cached, _ := open(); !cached {
		t.Error("the cache was not rewritten after a corrupt one")
	}
}

func TestLiveReload(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	articles := t.TempDir()
	writeArticle(t, articles, "en/hours.md", "---\ntitle: Chat hours\n---\nLive chat opens on weekdays.\n")
	writeArticle(t, articles, "fr/hours.md", "---\ntitle: Horaires du chat\n---\nLe chat ouvre en semaine.\n")
	b, err := Open(ctx, Options{Dir: articles, IndexDir: filepath.Join(t.TempDir(), "index")})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	done := make(chan error, 1)
	go func() { done <- b.Watch(ctx) }()
	// Wait until the watcher is running: the first change must be seen.
	time.Sleep(100 * time.Millisecond)

	wait := func(step string) {
		t.Helper()
		select {
		case <-b.Updated():
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no live update", step)
		}
	}
	steps := []struct {
		name   string
		change func()
		lang   string
		query  string
		want   string
	}{
		{"added file", func() {
			writeArticle(t, articles, "en/billing/refund.md", "---\ntitle: Refunds\n---\nHow a refund reaches your card.\n")
		}, "en", "refund card", "billing/refund"},
		{"edited file", func() {
			writeArticle(t, articles, "en/hours.md", "---\ntitle: Chat hours\n---\nLive chat also opens on holidays.\n")
		}, "en", "holidays", "hours"},
		{"deleted file", func() {
			os.Remove(filepath.Join(articles, "en/billing/refund.md"))
		}, "en", "refund card", ""},
		{"new folder with a file", func() {
			writeArticle(t, articles, "fr/compte/mot-de-passe.md", "---\ntitle: Réinitialiser le mot de passe\n---\nCliquez sur « mot de passe oublié ».\n")
		}, "fr", "réinitialisation du mot de passe", "compte/mot-de-passe"},
		{"removed folder", func() {
			os.RemoveAll(filepath.Join(articles, "fr/compte"))
		}, "fr", "mot de passe", ""},
	}
	for _, s := range steps {
		s.change()
		wait(s.name)
		// A burst of events may span two updates; settle on the result.
		deadline := time.Now().Add(5 * time.Second)
		got := topID(t, b, s.lang, s.query)
		for got != s.want && time.Now().Before(deadline) {
			select {
			case <-b.Updated():
			case <-time.After(200 * time.Millisecond):
			}
			got = topID(t, b, s.lang, s.query)
		}
		if got != s.want {
			t.Errorf("%s: search %q got %q, want %q", s.name, s.query, got, s.want)
		}
	}

	writeArticle(t, articles, "en/broken.md", "---\ntitle: [unclosed\n---\nbody\n")
	wait("broken file")
	if got := topID(t, b, "en", "chat hours"); got != "hours" {
		t.Errorf("after a broken file: got %q, want hours still served", got)
	}
	found := false
	for _, p := range b.Problems() {
		if p.File == "en/broken.md" && p.Severity == Error {
			found = true
		}
	}
	if !found {
		t.Errorf("broken file not reported in Problems(): %v", b.Problems())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch: %v", err)
	}
}
