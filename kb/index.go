package kb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	index "github.com/blevesearch/bleve_index_api"
)

// Field names carry their language, so each is always analysed by its own
// language's chain (a shared "title" field would get a random analyzer).
func fieldName(kind, lang string) string { return kind + "_" + lang }

// Document kinds in the index: a whole article, or one passage of it.
const (
	kindArticle = "a"
	kindPassage = "p"
	kindBlock   = "b" // one paragraph, list item or table row of a passage
)

// docID names an index document: "a|fr|contact/hours" or "p|fr|contact/hours|2".
func docID(kind string, a *Article, passage int) string {
	if kind == kindArticle {
		return kind + "|" + a.Lang + "|" + a.ID
	}
	return fmt.Sprintf("%s|%s|%s|%d", kind, a.Lang, a.ID, passage)
}

// parseDocID is docID's inverse; passage is -1 for article documents.
func parseDocID(id string) (kind, lang, articleID string, passage int) {
	// Cut rather than Split: this runs for every candidate of every query.
	kind, rest, ok1 := strings.Cut(id, "|")
	lang, rest, ok2 := strings.Cut(rest, "|")
	if !ok1 || !ok2 {
		return "", "", "", -1
	}
	articleID, rest, more := strings.Cut(rest, "|")
	passage = -1
	if kind != kindArticle && more {
		p, _, _ := strings.Cut(rest, "|")
		passage, _ = strconv.Atoi(p)
	}
	return kind, lang, articleID, passage
}

// newMapping builds the index mapping: per-language text fields, BM25.
func newMapping(langs []string) (*mapping.IndexMappingImpl, error) {
	m := bleve.NewIndexMapping()
	if err := addAnalyzers(m); err != nil {
		return nil, err
	}
	// TF-IDF, not BM25: Bleve averages BM25's field lengths over every
	// document of the index, whatever its kind, so article, passage and
	// block documents would skew each other's length normalisation. TF-IDF
	// with per-field norms ranked better on every dev set.
	m.ScoringModel = index.TFIDFScoring
	m.IndexDynamic = false
	m.StoreDynamic = false
	m.DocValuesDynamic = false
	doc := bleve.NewDocumentStaticMapping()
	for _, lang := range langs {
		for _, f := range []string{"title", "meta", "body", "head", "text", "block"} {
			fm := bleve.NewTextFieldMapping()
			fm.Analyzer = analyzerFor(lang)
			fm.Store = false
			fm.IncludeInAll = false
			fm.IncludeTermVectors = false
			fm.DocValues = false
			doc.AddFieldMappingsAt(fieldName(f, lang), fm)
		}
	}
	m.DefaultMapping = doc
	return m, nil
}

// documents returns the index documents of one article version.
func documents(a *Article) map[string]map[string]any {
	docs := map[string]map[string]any{}
	l := a.Lang
	docs[docID(kindArticle, a, 0)] = map[string]any{
		fieldName("title", l): a.Title,
		fieldName("meta", l):  a.Description + "\n" + strings.Join(a.Tags, "\n"),
		fieldName("body", l):  a.Text(),
	}
	for i, p := range a.Passages {
		docs[docID(kindPassage, a, i)] = map[string]any{
			fieldName("head", l): p.Heading,
			fieldName("text", l): p.Text,
		}
		for j, b := range blocks(p.Text) {
			docs[fmt.Sprintf("%s|%s|%s|%d|%d", kindBlock, l, a.ID, i, j)] = map[string]any{
				fieldName("block", l): b,
			}
		}
	}
	return docs
}

// analyzers looks up each language's analyzer once, for query analysis.
func analyzers(m mapping.IndexMapping, langs []string) (map[string]analysis.Analyzer, error) {
	out := map[string]analysis.Analyzer{}
	for _, l := range langs {
		a := m.AnalyzerNamed(analyzerFor(l))
		if a == nil {
			return nil, errors.New("kb: analyzer missing for " + l)
		}
		out[l] = a
	}
	return out, nil
}

// buildIndex writes every article of c into a new Bleve index at dir ("" keeps
// it in memory). progress, if set, is told how many articles are done.
func buildIndex(ctx context.Context, dir string, c *Corpus, progress func(done, total int)) (bleve.Index, error) {
	m, err := newMapping(c.Langs)
	if err != nil {
		return nil, err
	}
	var idx bleve.Index
	if dir == "" {
		// Scorch without a path keeps its segments in memory; Bleve's
		// NewMemOnly would use the older upsidedown store, several times
		// slower to search.
		idx, err = bleve.NewUsing("", m, scorch.Name, scorch.Name, nil)
	} else {
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("kb: remove old index: %w", err)
		}
		idx, err = bleve.New(dir, m)
	}
	if err != nil {
		return nil, fmt.Errorf("kb: create index: %w", err)
	}
	all := c.Articles()
	// Batches of a few hundred articles keep memory flat while letting
	// Bleve analyse documents in parallel within each batch.
	const batchArticles = 500
	b := idx.NewBatch()
	for i, a := range all {
		if err := ctx.Err(); err != nil {
			idx.Close()
			return nil, err
		}
		for id, d := range documents(a) {
			if err := b.Index(id, d); err != nil {
				idx.Close()
				return nil, fmt.Errorf("kb: index %s: %w", a.Path, err)
			}
		}
		if (i+1)%batchArticles == 0 || i == len(all)-1 {
			if err := idx.Batch(b); err != nil {
				idx.Close()
				return nil, fmt.Errorf("kb: index batch: %w", err)
			}
			b.Reset()
			if progress != nil {
				progress(i+1, len(all))
			}
		}
	}
	return idx, nil
}

// blocks splits a passage's text into its paragraphs, list items and table
// rows: a question often matches one item of a list better than the whole.
func blocks(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	if len(out) < 2 {
		return nil // the passage document already covers a single block
	}
	return out
}
