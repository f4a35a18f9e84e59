package kb

import (
	"context"
	"maps"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
)

// Index is a searchable snapshot of a corpus.
type Index struct {
	bleve     bleve.Index
	corpus    *Corpus
	analyzers map[string]analysis.Analyzer
	glossary  *Glossary
	vocab     map[string]map[string]bool // lang -> every indexed term
	terms     map[string]*termSet        // article key -> its terms
	stop      map[string]map[string]bool // lang -> analysed stop words
	missing   map[string]bool            // "en>fr": some article exists in en but not in fr
	tuning    Tuning
}

// NewIndex indexes c in memory.
func NewIndex(ctx context.Context, c *Corpus, t Tuning) (*Index, error) {
	b, err := buildIndex(ctx, "", c, nil)
	if err != nil {
		return nil, err
	}
	return wrapIndex(b, c, t)
}

func wrapIndex(b bleve.Index, c *Corpus, t Tuning) (*Index, error) {
	an, err := analyzers(b.Mapping(), c.Langs)
	if err != nil {
		return nil, err
	}
	ix := &Index{bleve: b, corpus: c, analyzers: an, tuning: t,
		vocab: map[string]map[string]bool{}, terms: map[string]*termSet{}}
	for _, l := range c.Langs {
		ix.vocab[l] = map[string]bool{}
	}
	for _, a := range c.Articles() {
		ix.addTerms(a)
	}
	ix.glossary = newGlossary(c, ix.analyze)
	ix.missing = missingPairs(c)
	if ix.stop, err = stopTerms(c.Langs, ix.analyze); err != nil {
		return nil, err
	}
	return ix, nil
}

func (ix *Index) addTerms(a *Article) {
	ts := &termSet{title: map[string]bool{}, all: map[string]bool{}}
	for _, t := range ix.analyze(a.Lang, a.Title) {
		ts.title[t] = true
		ts.all[t] = true
	}
	for _, t := range ix.analyze(a.Lang, a.Description+"\n"+strings.Join(a.Tags, "\n")) {
		ts.all[t] = true
	}
	for _, p := range a.Passages {
		have := map[string]bool{}
		for _, t := range ix.analyze(a.Lang, p.Heading+"\n"+p.Text) {
			have[t] = true
			ts.all[t] = true
		}
		ts.passages = append(ts.passages, have)
	}
	v := ix.vocab[a.Lang]
	for t := range ts.all {
		v[t] = true
	}
	ix.terms[a.Key()] = ts
}

// Close releases the Bleve index.
func (ix *Index) Close() error { return ix.bleve.Close() }

// Corpus is the set of articles this index was built from.
func (ix *Index) Corpus() *Corpus { return ix.corpus }

// with returns an index over corpus c that shares this one's Bleve index,
// whose documents the caller has already updated. The term maps are copied,
// never mutated, since searches may be reading the old ones.
func (ix *Index) with(c *Corpus, changed []*Article) (*Index, error) {
	next := &Index{bleve: ix.bleve, corpus: c, analyzers: ix.analyzers, tuning: ix.tuning, stop: ix.stop,
		vocab: map[string]map[string]bool{}, terms: make(map[string]*termSet, len(c.articles))}
	for l, v := range ix.vocab {
		next.vocab[l] = maps.Clone(v)
	}
	for k, ts := range ix.terms {
		if c.articles[k] != nil {
			next.terms[k] = ts
		}
	}
	for _, a := range changed {
		if next.vocab[a.Lang] == nil {
			next.vocab[a.Lang] = map[string]bool{}
		}
		next.addTerms(a)
	}
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
