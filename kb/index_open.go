package kb

import (
	"context"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
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

// Close releases the Bleve index.
func (ix *Index) Close() error { return ix.bleve.Close() }

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
