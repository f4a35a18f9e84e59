package kb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
)

// indexVersion changes whenever the mapping, the analyzers or the documents
// change shape, so that an index built by an older binary is rebuilt.
const indexVersion = "bulle-index-3"

// Options configure a knowledge base.
type Options struct {
	Dir       string // the articles folder
	IndexDir  string // where the Bleve index persists; "" keeps it in memory
	Load      LoadOptions
	Tuning    Tuning
	Logger    *slog.Logger
	Progress  io.Writer // told about long builds; a terminal gets a bar
	LiveDelay time.Duration
}

// Base is the live knowledge base: the articles of a folder, their index,
// and the problems found while loading them. It is safe for concurrent use;
// Search always sees a consistent snapshot.
type Base struct {
	opt      Options
	log      *slog.Logger
	fsys     fs.FS
	mu       sync.Mutex // serialises rebuilds and live updates
	cur      atomic.Pointer[snapshot]
	reloaded chan struct{}
}

type snapshot struct {
	index        *Index
	loadProblems []Problem // per-file problems, kept for live updates
	problems     []Problem // loadProblems plus the corpus-wide checks
	hash         string
}

// Open loads the articles in opt.Dir and opens their index, reusing the
// persisted one when the articles have not changed since it was built.
func Open(ctx context.Context, opt Options) (*Base, error) {
	if opt.Load.Langs == nil {
		opt.Load = DefaultLoadOptions
	}
	if opt.Tuning == (Tuning{}) {
		opt.Tuning = DefaultTuning
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if st, err := os.Stat(opt.Dir); err != nil {
		return nil, fmt.Errorf("kb: articles folder: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("kb: articles folder %s is not a folder", opt.Dir)
	}
	b := &Base{opt: opt, log: opt.Logger, fsys: os.DirFS(opt.Dir), reloaded: make(chan struct{}, 1)}
	if err := b.rebuild(ctx, false); err != nil {
		return nil, err
	}
	return b, nil
}

// Search ranks articles for q in the current snapshot.
func (b *Base) Search(ctx context.Context, q Query) ([]Hit, error) {
	return b.cur.Load().index.Search(ctx, q)
}

// Corpus is the current set of articles.
func (b *Base) Corpus() *Corpus { return b.cur.Load().index.corpus }

// Problems are the load and check problems of the current articles.
func (b *Base) Problems() []Problem { return b.cur.Load().problems }

// Close releases the index.
func (b *Base) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cur.Load().index.Close()
}

// rebuild loads every article and swaps in a new index. Unless force is
// set, a persisted index whose content hash matches is reopened instead.
func (b *Base) rebuild(ctx context.Context, force bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	start := time.Now()
	hash, err := contentHash(b.fsys)
	if err != nil {
		return fmt.Errorf("kb: hash articles: %w", err)
	}
	var (
		c            *Corpus
		loadProblems []Problem
		td           *termData
		bi           bleve.Index
	)
	if b.opt.IndexDir != "" && !force {
		c, loadProblems, td = b.cached(hash)
		if bi, err = reopen(b.opt.IndexDir, hash); err != nil && !errors.Is(err, errStale) {
			b.log.Warn("index unreadable, rebuilding", "path", b.opt.IndexDir, "err", err)
		}
	}
	fromCache, reused := c != nil, bi != nil
	if c == nil {
		c, loadProblems = Load(b.fsys, b.opt.Load)
	}
	problems := Check(c, loadProblems)
	for _, p := range problems {
		if p.Severity == Error {
			b.log.Warn("article problem", "file", p.File, "line", p.Line, "problem", p.Msg)
		}
	}
	if bi == nil {
		bi, err = buildIndex(ctx, b.opt.IndexDir, c, newProgress(b.opt.Progress, c.Len()))
		if err != nil {
			return err
		}
		if err := bi.SetInternal([]byte(hashKey), []byte(hash)); err != nil {
			bi.Close()
			return fmt.Errorf("kb: record index hash: %w", err)
		}
	}
	ix, err := wrapIndex(bi, c, b.opt.Tuning, td)
	if err != nil {
		bi.Close()
		return err
	}
	if b.opt.IndexDir != "" && !fromCache {
		// Only a slower next start is lost if this fails.
		if err := writeCache(b.opt.IndexDir, hash, c, loadProblems, ix.termData); err != nil {
			b.log.Warn("corpus cache not written", "err", err)
		}
	}
	old := b.cur.Swap(&snapshot{index: ix, loadProblems: loadProblems, problems: problems, hash: hash})
	if old != nil {
		old.index.Close()
	}
	b.log.Info("articles indexed", "articles", c.Len(), "reused_index", reused, "cached_corpus", fromCache,
		"problems", len(problems), "ms", time.Since(start).Milliseconds())
	return nil
}

const hashKey = "bulle_content_hash"

var errStale = errors.New("kb: persisted index is stale")

// cached returns the parsed corpus saved with the index, if it was parsed
// from articles with this hash; nils otherwise.
func (b *Base) cached(hash string) (*Corpus, []Problem, *termData) {
	c, loadProblems, td, err := readCache(b.opt.IndexDir, hash)
	if err != nil {
		if !errors.Is(err, errStale) {
			b.log.Warn("corpus cache unreadable, parsing articles", "err", err)
		}
		return nil, nil, nil
	}
	return c, loadProblems, td
}

// reopen opens the index at dir if it was built from articles with this hash.
func reopen(dir, hash string) (bleve.Index, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, errStale
	}
	bi, err := bleve.Open(dir)
	if err != nil {
		return nil, err
	}
	got, err := bi.GetInternal([]byte(hashKey))
	if err != nil || string(got) != hash {
		bi.Close()
		return nil, errStale
	}
	return bi, nil
}

// contentHash digests every article file's path and bytes, plus the index
// version, so any edit, addition, removal or upgrade changes it.
func contentHash(fsys fs.FS) (string, error) {
	h := sha256.New()
	io.WriteString(h, indexVersion+"\n")
	var paths []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // reported by Load
		}
		if !d.IsDir() && (filepath.Ext(p) == ".md" || filepath.Ext(p) == ".markdown") {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(paths)
	for _, p := range paths {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			continue
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
