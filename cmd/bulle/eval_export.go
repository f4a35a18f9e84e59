package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/bulle-help/bulle/kb"
)

// "bulle eval export": an evaluation set (../shared/eval/FORMAT.md) from
// the last weeks of real traffic, so that editors replay what visitors
// really asked before they publish a change to the articles. Like
// "bulle privacy", it opens the data folder's database directly, so it
// runs with the server running or stopped. The rules that label each
// question are in eval_export_label.go, the reading of links and the
// redaction in eval_export_text.go; docs/insights.md ("Replaying real
// traffic") explains them.

const evalExportSynopsis = "--weeks N --out DIR [--force] [--data DIR] [--articles DIR]"

func runEvalExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlagSet("eval export", evalExportSynopsis, stderr)
	weeks := f.fs.Int("weeks", 4, "export the questions of the last N weeks")
	out := f.fs.String("out", "", "folder to write the set to: questions.jsonl, articles/, README.md")
	force := f.fs.Bool("force", false, "write into a folder that is not empty, replacing a set there")
	rest, err := f.parse(args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 0:
		return usageError{err: fmt.Errorf("eval export takes no arguments, got %q", rest)}
	case *out == "":
		return usageError{err: errors.New("eval export: --out DIR is required")}
	case *weeks < 1:
		return usageError{err: fmt.Errorf("eval export: --weeks %d: want 1 or more", *weeks)}
	}
	cfg, _, err := f.load(getenv)
	if err != nil {
		return err
	}
	if err := checkExportOut(*out, cfg.ArticlesDir, *force); err != nil {
		return err
	}

	// Read and label everything before writing anything.
	dbPath := filepath.Join(cfg.DataDir, "bulle.db")
	if _, err := os.Stat(dbPath); err != nil {
		return fmt.Errorf("eval export: no database at %s (pass --data)", dbPath)
	}
	if st, err := os.Stat(cfg.ArticlesDir); err != nil || !st.IsDir() {
		return fmt.Errorf("eval export: no articles folder at %s (pass --articles)", cfg.ArticlesDir)
	}
	corpus, problems := kb.Load(os.DirFS(cfg.ArticlesDir), kb.LoadOptions{Langs: cfg.Langs, DefaultLang: cfg.DefaultLang})
	if kb.HasErrors(problems) {
		fmt.Fprintf(stderr, "bulle: eval export: some articles in %s do not load (see bulle check); the set holds the %d that do\n",
			cfg.ArticlesDir, corpus.Len())
	}
	store, err := escalation.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	defer store.Close()
	now := time.Now().UTC()
	since := now.AddDate(0, 0, -7*(*weeks))
	convs, err := store.TrafficSince(ctx, since)
	if err != nil {
		return fmt.Errorf("eval export: %w", err)
	}
	questions, tally := labelTraffic(convs, since, newArticleLinks(corpus, cfg.BaseURL))

	if err := resetExportOut(*out); err != nil {
		return err
	}
	n, err := copyArticles(cfg.ArticlesDir, corpus, filepath.Join(*out, "articles"))
	if err != nil {
		return fmt.Errorf("eval export: %w", err)
	}
	if err := writeQuestions(filepath.Join(*out, "questions.jsonl"), questions); err != nil {
		return fmt.Errorf("eval export: %w", err)
	}
	readme := exportReadme(exportInfo{since: since, until: now, weeks: *weeks, data: dbPath, articles: cfg.ArticlesDir,
		nArticles: n, nQuestion: len(questions), tally: tally})
	if err := os.WriteFile(filepath.Join(*out, "README.md"), []byte(readme), 0o600); err != nil {
		return fmt.Errorf("eval export: %w", err)
	}
	fmt.Fprintf(stdout, "Exported %d questions (%s) and %d articles to %s; %d questions skipped (see README.md).\n",
		len(questions), tallyLine(tally.labels), n, *out, tallySum(tally.skipped))
	fmt.Fprintf(stdout, "It holds what visitors typed: keep it private. Replay it with\n  bulle eval --articles %s --questions %s\n",
		filepath.Join(*out, "articles"), filepath.Join(*out, "questions.jsonl"))
	return nil
}

// checkExportOut refuses a folder with something in it, without force,
// and any folder that overlaps the articles: the export replaces
// out/articles, and a set written inside the articles would be loaded
// as articles.
func checkExportOut(out, articles string, force bool) error {
	entries, err := os.ReadDir(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("eval export: --out: %w", err)
	case len(entries) > 0 && !force:
		return usageError{err: fmt.Errorf("eval export: %s is not empty: pass --force to replace the set in it "+
			"(its questions.jsonl, README.md and articles/; nothing else is touched)", out)}
	}
	src, dst := resolvedPath(articles), resolvedPath(out)
	if pathWithin(src, filepath.Join(dst, "articles")) || pathWithin(dst, src) {
		return usageError{err: fmt.Errorf("eval export: --out %s overlaps the articles folder %s: choose a folder outside it", out, articles)}
	}
	return nil
}

// resolvedPath is p absolute, with symbolic links resolved as far as it exists.
func resolvedPath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		return filepath.Join(dir, filepath.Base(abs))
	}
	return abs
}

// pathWithin says whether p is dir or inside it.
func pathWithin(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && (rel == "." || filepath.IsLocal(rel))
}

// resetExportOut makes out, private (it will hold visitors' words), and
// removes a previous set's articles so that none stays behind.
func resetExportOut(out string) error {
	if err := os.MkdirAll(out, 0o700); err != nil {
		return fmt.Errorf("eval export: %w", err)
	}
	if err := os.RemoveAll(filepath.Join(out, "articles")); err != nil {
		return fmt.Errorf("eval export: %w", err)
	}
	return nil
}

// copyArticles writes every article that loaded in FORMAT.md's canonical
// layout, <lang>/<id>.md, each file as its editors wrote it, so a set
// exported from a Hugo or Grav layout (x.fr.md, bundles, ordering
// prefixes) replays as is. Drafts and files that do not load are left
// out, as the server leaves them out. It then loads the copy and checks
// it holds the same articles under the same ids.
func copyArticles(src string, c *kb.Corpus, dst string) (int, error) {
	var keys []string
	for _, a := range c.Articles() {
		if !filepath.IsLocal(filepath.FromSlash(a.ID)) {
			// A translationKey such as "../x" would write outside the set.
			return 0, fmt.Errorf("article %s: id %q cannot be a file name", a.Path, a.ID)
		}
		data, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(a.Path)))
		if err != nil {
			return 0, err
		}
		p := filepath.Join(dst, a.Lang, filepath.FromSlash(a.ID)+".md")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return 0, err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return 0, err
		}
		keys = append(keys, a.Key())
	}
	copied, _ := kb.Load(os.DirFS(dst), kb.LoadOptions{Langs: c.Langs, DefaultLang: c.DefaultLang})
	var got []string
	for _, a := range copied.Articles() {
		got = append(got, a.Key())
	}
	slices.Sort(keys)
	slices.Sort(got)
	if !slices.Equal(keys, got) {
		return 0, fmt.Errorf("the copy of the articles in %s does not load as the original: %d articles, want %d", dst, len(got), len(keys))
	}
	return len(keys), nil
}

// writeQuestions writes one FORMAT.md line per question, readable by the
// owner only, through a temporary file so a failed export leaves no half
// file.
func writeQuestions(path string, qs []exportedQuestion) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // verbatim: "<" stays "<"
	for _, q := range qs {
		if err := enc.Encode(q.evalQuestion); err != nil {
			return err
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// tallyLine writes counts as "2 human, 1 helpful_answer", largest first.
func tallyLine(counts map[string]int) string {
	keys := sortedByCount(counts)
	if len(keys) == 0 {
		return "none"
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", counts[k], k)
	}
	return strings.Join(parts, ", ")
}

// sortedByCount lists the keys, largest count first, then by name.
func sortedByCount(counts map[string]int) []string {
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if counts[a] != counts[b] {
			return counts[b] - counts[a]
		}
		return strings.Compare(a, b)
	})
	return keys
}

func tallySum(counts map[string]int) int {
	n := 0
	for _, v := range counts {
		n += v
	}
	return n
}
