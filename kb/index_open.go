package kb

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/index/scorch"
)

// Index is a searchable snapshot of a corpus.
type Index struct {
	bleve     bleve.Index
	corpus    *Corpus
	analyzers map[string]analysis.Analyzer
	glossary  *Glossary
	*termData
	typos   *typoIndex
	stop    map[string]map[string]bool // lang -> analysed stop words
	missing map[string]bool            // "en>fr": some article exists in en but not in fr
	tuning  Tuning

	closeOnce sync.Once // a broken index is closed before its rebuild, then again when replaced
	closeErr  error
}

// NewIndex indexes c in memory.
func NewIndex(ctx context.Context, c *Corpus, t Tuning) (*Index, error) {
	b, err := buildIndex(ctx, "", c, nil)
	if err != nil {
		return nil, err
	}
	return wrapIndex(b, c, t, nil)
}

// wrapIndex puts the search logic around a Bleve index of c. td, when the
// corpus cache has it, spares analysing every article again.
func wrapIndex(b bleve.Index, c *Corpus, t Tuning, td *termData) (*Index, error) {
	an, err := analyzers(b.Mapping(), c.Langs)
	if err != nil {
		return nil, err
	}
	ix := &Index{bleve: b, corpus: c, analyzers: an, tuning: t, termData: td, typos: &typoIndex{}}
	if ix.termData == nil {
		ix.termData = analyzeTerms(c, ix.analyze)
	}
	ix.glossary = newGlossary(c, ix.analyze)
	ix.missing = missingPairs(c)
	if ix.stop, err = stopTerms(c.Langs, ix.analyze); err != nil {
		return nil, err
	}
	return ix, nil
}

// Close releases the Bleve index; closing it again does nothing.
func (ix *Index) Close() error {
	ix.closeOnce.Do(func() { ix.closeErr = ix.bleve.Close() })
	return ix.closeErr
}

// Corpus is the set of articles this index was built from.
func (ix *Index) Corpus() *Corpus { return ix.corpus }

// with returns an index over corpus c that shares this one's Bleve index,
// whose documents the caller has already updated. The term maps are copied,
// never mutated, since searches may be reading the old ones.
func (ix *Index) with(c *Corpus, changed []*Article) (*Index, error) {
	next := &Index{bleve: ix.bleve, corpus: c, analyzers: ix.analyzers, tuning: ix.tuning, stop: ix.stop, typos: &typoIndex{}}
	next.termData = ix.termData.with(c, changed, ix.analyze)
	next.glossary = newGlossary(c, next.analyze)
	next.missing = missingPairs(c)
	return next, nil
}

// missingPairs records, for each ordered pair of languages, whether some
// article exists in the first and not in the second.
func missingPairs(c *Corpus) map[string]bool {
	out := map[string]bool{}
	for _, l := range c.Langs {
		for _, o := range c.Langs {
			if l != o && c.hasMissing(l, o) {
				out[l+">"+o] = true
			}
		}
	}
	return out
}

// bleveIndex names bleve.Index for embedding, whose own method Index
// would clash with a field named Index.
type bleveIndex = bleve.Index

// guardedIndex is a persisted Bleve index whose writes report their
// failures. Bleve does not recover from a segment it could not persist
// (the index folder deleted or damaged under it): later searches fail or
// panic. So a failed or panicking Batch calls failed, which has the
// index rebuilt, and comes back as an error rather than a crash.
type guardedIndex struct {
	bleveIndex
	failed func(*guardedIndex, error)
}

// Batch applies b, turning a panic, or a fault on a segment file
// truncated under its mmap, into an error.
func (g *guardedIndex) Batch(b *bleve.Batch) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kb: index batch panicked: %v", r)
		}
		if err != nil {
			g.failed(g, err)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return g.bleveIndex.Batch(b)
}

// verifySegments checks each segment file that the opened index bi reads
// against the CRC-32 in its last four bytes (zap writes the checksum of
// everything before it there). Bleve checks no checksum when it opens a
// segment: a file damaged in the middle opens fine and panics, or answers
// wrongly, at search time. Files the index no longer reads (left by a
// merge cut short) are not looked at.
func verifySegments(bi bleve.Index) error {
	adv, err := bi.Advanced()
	if err != nil {
		return err
	}
	sc, ok := adv.(*scorch.Scorch)
	if !ok {
		return nil
	}
	r, err := sc.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		return nil
	}
	for _, ss := range snap.Segments() {
		if p, ok := ss.Segment().(interface{ Path() string }); ok {
			if err := verifySegment(p.Path()); err != nil {
				return err
			}
		}
	}
	return nil
}

func verifySegment(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() < 4 {
		return fmt.Errorf("kb: segment %s: %d bytes, too short", filepath.Base(name), st.Size())
	}
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, io.LimitReader(f, st.Size()-4)); err != nil {
		return fmt.Errorf("kb: segment %s: %w", filepath.Base(name), err)
	}
	var sum [4]byte
	if _, err := io.ReadFull(f, sum[:]); err != nil {
		return fmt.Errorf("kb: segment %s: %w", filepath.Base(name), err)
	}
	if got, want := h.Sum32(), binary.BigEndian.Uint32(sum[:]); got != want {
		return fmt.Errorf("kb: segment %s: checksum %08x, want %08x", filepath.Base(name), got, want)
	}
	return nil
}
