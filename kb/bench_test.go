package kb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/bulle-help/bulle/kb/kbtest"
)

// yunohost is the real FR/EN corpus used for figures; benchmarks skip
// without it (a user's clone has no ../shared).
const yunohost = "../../shared/corpus/yunohost-doc"

// generateArticles writes n articles made from the words of the product's
// own articles (see kbtest.Generate).
func generateArticles(tb testing.TB, dir string, n int) {
	kbtest.Generate(tb, "../articles", dir, n)
}

func benchBuild(b *testing.B, dir string) {
	ctx := context.Background()
	for b.Loop() {
		base, err := Open(ctx, Options{Dir: dir, IndexDir: filepath.Join(b.TempDir(), "index")})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(base.Corpus().Len()), "articles")
		base.Close()
	}
}

func BenchmarkBuildYunohost(b *testing.B) {
	if _, err := os.Stat(yunohost); err != nil {
		b.Skip("../shared/corpus absent")
	}
	benchBuild(b, yunohost)
}

func BenchmarkBuild2000(b *testing.B) {
	dir := b.TempDir()
	generateArticles(b, dir, 2000)
	benchBuild(b, dir)
}

func BenchmarkBuild10000(b *testing.B) {
	dir := b.TempDir()
	generateArticles(b, dir, 10000)
	benchBuild(b, dir)
}

// BenchmarkColdStart opens a persisted index whose articles are unchanged:
// what `bulle serve` does at every start after the first.
func BenchmarkColdStart2000(b *testing.B) {
	dir, idx := b.TempDir(), filepath.Join(b.TempDir(), "index")
	generateArticles(b, dir, 2000)
	ctx := context.Background()
	base, err := Open(ctx, Options{Dir: dir, IndexDir: idx})
	if err != nil {
		b.Fatal(err)
	}
	base.Close()
	for b.Loop() {
		base, err := Open(ctx, Options{Dir: dir, IndexDir: idx})
		if err != nil {
			b.Fatal(err)
		}
		base.Close()
	}
}

var benchQueries = map[string][]string{
	"en": {"how do I install an application", "backup my server", "configure the domain name DNS", "email client configuration", "reset the admin password", "ssh access"},
	"fr": {"comment installer une application", "sauvegarder mon serveur", "configurer le nom de domaine", "réinitialiser le mot de passe administrateur", "accès ssh", "certificat let's encrypt"},
}

var fuzzyQueries = map[string][]string{
	"en": {"instalation of aplications", "bakcup my sevrer", "certifcate renewl"},
	"fr": {"instalation d'aplication", "sauvegrade du serveru", "certificta expiré"},
}

func benchSearch(b *testing.B, dir string, queries map[string][]string) {
	ctx := context.Background()
	base, err := Open(ctx, Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer base.Close()
	var qs []Query
	for lang, list := range queries {
		for _, q := range list {
			qs = append(qs, Query{Text: q, Lang: lang})
		}
	}
	lat := make([]time.Duration, 0, b.N)
	i := 0
	for b.Loop() {
		start := time.Now()
		if _, err := base.Search(ctx, qs[i%len(qs)]); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		i++
	}
	reportPercentiles(b, lat)
	// The same queries, as many times, on a bare Bleve index of the same
	// articles, in the same run: the ratio says what Bulle's ranking costs.
	bare := bareBleve(b, base.Corpus(), qs, len(lat))
	p99, bareP99 := percentile(lat, 0.99), percentile(bare, 0.99)
	b.ReportMetric(float64(percentile(bare, 0.50).Microseconds())/1000, "bare_bleve_p50_ms")
	b.ReportMetric(float64(bareP99.Microseconds())/1000, "bare_bleve_p99_ms")
	if p50, bareP50 := percentile(lat, 0.50), percentile(bare, 0.50); bareP50 > 0 && bareP99 > 0 {
		b.ReportMetric(float64(p50)/float64(bareP50), "p50_vs_bare")
		b.ReportMetric(float64(p99)/float64(bareP99), "p99_vs_bare")
	}
}

// bareBleve indexes the corpus as stock Bleve would be used (default
// mapping, scorch on disk, title and text fields) and times n match
// queries, five results each.
func bareBleve(b *testing.B, c *Corpus, qs []Query, n int) []time.Duration {
	idx, err := bleve.New(filepath.Join(b.TempDir(), "bare"), bleve.NewIndexMapping())
	if err != nil {
		b.Fatal(err)
	}
	defer idx.Close()
	batch := idx.NewBatch()
	for _, a := range c.Articles() {
		if err := batch.Index(a.Key(), map[string]string{"title": a.Title, "text": a.Text()}); err != nil {
			b.Fatal(err)
		}
	}
	if err := idx.Batch(batch); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, n)
	for i := range n {
		req := bleve.NewSearchRequestOptions(bleve.NewMatchQuery(qs[i%len(qs)].Text), 5, 0, false)
		start := time.Now()
		if _, err := idx.Search(req); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	return lat
}

// percentile returns the q-th quantile of lat (0 for none).
func percentile(lat []time.Duration, q float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	s := append([]time.Duration(nil), lat...)
	for i := 1; i < len(s); i++ { // insertion sort is fine for bench sizes
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	b.ReportMetric(float64(s[len(s)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(s[len(s)*99/100].Microseconds())/1000, "p99_ms")
}

func BenchmarkSearchExactYunohost(b *testing.B) {
	if _, err := os.Stat(yunohost); err != nil {
		b.Skip("../shared/corpus absent")
	}
	benchSearch(b, yunohost, benchQueries)
}

func BenchmarkSearchFuzzyYunohost(b *testing.B) {
	if _, err := os.Stat(yunohost); err != nil {
		b.Skip("../shared/corpus absent")
	}
	benchSearch(b, yunohost, fuzzyQueries)
}

func BenchmarkSearchExact2000(b *testing.B) {
	dir := b.TempDir()
	generateArticles(b, dir, 2000)
	benchSearch(b, dir, benchQueries)
}

func BenchmarkSearchFuzzy2000(b *testing.B) {
	dir := b.TempDir()
	generateArticles(b, dir, 2000)
	benchSearch(b, dir, fuzzyQueries)
}

// BenchmarkLiveReload measures the time from saving an edited article to
// the edit being searchable, through the real file watcher.
func BenchmarkLiveReload(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := b.TempDir()
	generateArticles(b, dir, 2000)
	base, err := Open(ctx, Options{Dir: dir, IndexDir: filepath.Join(b.TempDir(), "index")})
	if err != nil {
		b.Fatal(err)
	}
	defer base.Close()
	go base.Watch(ctx)
	time.Sleep(200 * time.Millisecond)
	n := 0
	for b.Loop() {
		n++
		word := fmt.Sprintf("zebrafish%d", n)
		writeArticle(b, dir, "en/gen/a00001.md", "---\ntitle: Edited\n---\nNow about "+word+".\n")
		for {
			<-base.Updated()
			if topID(b, base, "en", word) == "gen/a00001" {
				break
			}
		}
	}
}
