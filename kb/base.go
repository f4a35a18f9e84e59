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
	"runtime/debug"
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
	// SearchObserved, when set, is told how long each search took, every
	// caller's (the bot's, the search page's), for monitoring; a search
	// refused at once while the index is rebuilt is not one.
	SearchObserved func(time.Duration)
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

	// Repairs of an index found broken while serving run in the
	// background; Close stops them and waits for them.
	life        sync.Mutex // guards closed and repairs.Add
	closed      bool
	repairs     sync.WaitGroup
	repairCtx   context.Context
	stopRepairs context.CancelFunc
}

type snapshot struct {
	index        *Index
	loadProblems []Problem // per-file problems, kept for live updates
	problems     []Problem // loadProblems plus the corpus-wide checks
	hash         string
	// broken is set when the index failed under a search or a live
	// update; Search refuses it until a rebuild replaces the snapshot.
	broken atomic.Bool
}

// ErrUnavailable says the index cannot answer for now: it was found
// broken (a damaged or deleted index folder) and is being rebuilt from
// the articles. Ask again in a moment.
var ErrUnavailable = errors.New("kb: index unavailable while it is rebuilt")

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
	b.repairCtx, b.stopRepairs = context.WithCancel(context.WithoutCancel(ctx))
	if err := b.rebuild(ctx, false); err != nil {
		b.stopRepairs()
		return nil, err
	}
	return b, nil
}

// Search ranks articles for q in the current snapshot. While the index is
// being rebuilt after it was found broken, it returns ErrUnavailable.
func (b *Base) Search(ctx context.Context, q Query) (hits []Hit, err error) {
	s := b.cur.Load()
	if s.broken.Load() {
		return nil, ErrUnavailable
	}
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			b.fail(s, fmt.Errorf("search panicked: %v", r), debug.Stack())
			hits, err = nil, ErrUnavailable
		}
		if b.opt.SearchObserved != nil {
			b.opt.SearchObserved(time.Since(start))
		}
	}()
	// Bleve reads its segments through mmap: a file truncated under it
	// faults on access, which must fail this search, not end the process.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return s.index.Search(ctx, q)
}

// fail marks snapshot s broken and rebuilds the index from the articles
// in the background, once. Bleve does not recover from a damaged folder
// (a segment it cannot read or write leaves it failing, even panicking,
// on later searches), so only a new index helps.
func (b *Base) fail(s *snapshot, err error, stack []byte) {
	if !s.broken.CompareAndSwap(false, true) {
		return
	}
	b.log.Error("index broken, rebuilding it from the articles", "path", b.opt.IndexDir, "err", err)
	if stack != nil {
		b.log.Debug("index failure", "stack", string(stack))
	}
	b.life.Lock()
	defer b.life.Unlock()
	if b.closed {
		return
	}
	b.repairs.Add(1)
	go func() {
		defer b.repairs.Done()
		b.repair(b.repairCtx, s)
	}()
}

// batchFailed is told when a live update could not be written to the
// index g: when g still serves, it is broken and must be rebuilt.
func (b *Base) batchFailed(g *guardedIndex, err error) {
	if s := b.cur.Load(); s.index.bleve == bleve.Index(g) {
		b.fail(s, err, nil)
	}
}

// repair replaces the broken snapshot s with an index built from the
// articles: in the index folder, or in memory when the folder cannot
// take it (the next start builds it again).
func (b *Base) repair(ctx context.Context, s *snapshot) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur.Load() != s || ctx.Err() != nil {
		return
	}
	// Stop the broken index's own work in the folder before the folder is
	// replaced; a search still running on it fails and is recovered.
	s.index.Close()
	err := b.rebuildLocked(ctx, b.opt.IndexDir, true)
	if err != nil && b.opt.IndexDir != "" && ctx.Err() == nil {
		b.log.Error("index folder unusable, serving an index in memory until the next start", "path", b.opt.IndexDir, "err", err)
		err = b.rebuildLocked(ctx, "", true)
	}
	if err != nil {
		if ctx.Err() == nil { // not merely stopped by Close
			b.log.Error("index rebuild failed; searches stay unavailable", "err", err)
		}
		return
	}
	select {
	case b.reloaded <- struct{}{}:
	default:
	}
}

// Corpus is the current set of articles.
func (b *Base) Corpus() *Corpus { return b.cur.Load().index.corpus }

// Problems are the load and check problems of the current articles.
func (b *Base) Problems() []Problem { return b.cur.Load().problems }

// Close stops any rebuild under way and releases the index.
func (b *Base) Close() error {
	b.life.Lock()
	b.closed = true
	b.life.Unlock()
	b.stopRepairs()
	b.repairs.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cur.Load().index.Close()
}

// rebuild loads every article and swaps in a new index. Unless force is
// set, a persisted index whose content hash matches is reopened instead.
func (b *Base) rebuild(ctx context.Context, force bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rebuildLocked(ctx, b.opt.IndexDir, force)
}

// rebuildLocked is rebuild with b.mu held, building in dir ("" for memory).
func (b *Base) rebuildLocked(ctx context.Context, dir string, force bool) error {
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
	if dir != "" && !force {
		c, loadProblems, td = b.cached(dir, hash)
		if bi, err = reopen(dir, hash); err != nil && !errors.Is(err, errStale) {
			b.log.Warn("index unreadable, rebuilding", "path", dir, "err", err)
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
		bi, err = buildIndex(ctx, dir, c, newProgress(b.opt.Progress, c.Len()))
		if err != nil {
			return err
		}
		if err := bi.SetInternal([]byte(hashKey), []byte(hash)); err != nil {
			bi.Close()
			return fmt.Errorf("kb: record index hash: %w", err)
		}
	}
	if dir != "" {
		bi = &guardedIndex{bleveIndex: bi, failed: b.batchFailed}
	}
	ix, err := wrapIndex(bi, c, b.opt.Tuning, td)
	if err != nil {
		bi.Close()
		return err
	}
	if dir != "" && !fromCache {
		// Only a slower next start is lost if this fails.
		if err := writeCache(dir, hash, c, loadProblems, ix.termData); err != nil {
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
func (b *Base) cached(dir, hash string) (*Corpus, []Problem, *termData) {
	c, loadProblems, td, err := readCache(dir, hash)
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
	if err := verifySegments(bi); err != nil {
		bi.Close()
		return nil, err
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
