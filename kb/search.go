package kb

import (
	"context"
	"sort"
	"strings"
	"unicode"
)

// Query is a visitor's question in the language the widget reports.
type Query struct {
	Text  string
	Lang  string
	Limit int // best articles wanted; 0 means 10
}

// Hit is one article that answers a query, with the passage that matched best.
type Hit struct {
	ID          string  `json:"id"`
	Lang        string  `json:"lang"`
	Title       string  `json:"title"`
	Score       float64 `json:"score"`
	Passage     string  `json:"passage"`
	Heading     string  `json:"heading,omitempty"`
	Anchor      string  `json:"anchor"`
	EnglishOnly bool    `json:"english_only"`
	// Signals for the bot's confidence, each in [0,1].
	Coverage   float64 `json:"coverage"`    // share of the query's terms found in the article, by weight
	TitleMatch float64 `json:"title_match"` // share of the query's terms found in its title, by weight
	Fuzzy      bool    `json:"fuzzy"`       // found only after the typo-tolerant fallback
}

// Tuning holds the ranking weights. The defaults were chosen on the dev sets
// in ../shared/eval/dev (see docs/ranking.md); change them only with an eval run.
type Tuning struct {
	Title, Meta, Body float64 // article-level field boosts
	Head, Text        float64 // passage-level field boosts
	Passage           float64 // weight of the best passage's score in the article's
	Block             float64 // weight of the best single paragraph or list item
	OtherLang         float64 // factor on articles found only in another language
	Synonym           float64 // boost of glossary expansions
	Function          float64 // boost of stop words ("what", "comment"), which BM25 alone overrates in short questions
	StopCoverage      float64 // a stop word's part in coverage, against 1 for other words
	Coverage          float64 // exponent on the share of query terms a document covers
	Candidates        int     // index documents fetched before grouping by article
}

// DefaultTuning is the ranking the product ships with.
var DefaultTuning = Tuning{
	Title: 2.5, Meta: 0.5, Body: 1,
	Head: 1, Text: 1,
	Passage:      1,
	Block:        2,
	OtherLang:    0.9,
	Synonym:      0.5,
	Coverage:     1,
	Function:     1,
	StopCoverage: 0.3,
	Candidates:   60,
}

// Search ranks articles for q: the visitor's language first, then articles
// that exist only in another language (marked so), with typo tolerance only
// when the exact query finds too little.
func (ix *Index) Search(ctx context.Context, q Query) ([]Hit, error) {
	if q.Limit <= 0 {
		q.Limit = 10
	}
	lang := q.Lang
	if ix.corpus == nil || !ix.knowsLang(lang) {
		lang = ix.corpus.DefaultLang
	}
	terms := ix.analyze(lang, q.Text)
	if len(terms) == 0 {
		return nil, nil
	}
	hits, err := ix.search(ctx, lang, terms, q, false)
	if err != nil {
		return nil, err
	}
	if ix.weak(hits, lang, terms) {
		fuzzy, err := ix.search(ctx, lang, terms, q, true)
		if err != nil {
			return nil, err
		}
		if len(fuzzy) > 0 {
			hits = fuzzy
		}
	}
	return hits, nil
}

func (ix *Index) knowsLang(lang string) bool {
	for _, l := range ix.corpus.Langs {
		if l == lang {
			return true
		}
	}
	return false
}

// weak says the exact results leave part of the question unexplained: no
// hit, or a query word the index has never seen (often a typo).
func (ix *Index) weak(hits []Hit, lang string, terms []string) bool {
	if len(hits) == 0 {
		return true
	}
	for _, t := range terms {
		if fuzziness(t) > 0 && !ix.known(lang, t) {
			return true
		}
	}
	return false
}

// fuzziness gates edits by length: short words have too many neighbours.
func fuzziness(term string) int {
	n := len([]rune(term))
	switch {
	case n >= 9:
		return 2
	case n >= 5:
		return 1
	}
	return 0
}

func (ix *Index) search(ctx context.Context, lang string, terms []string, q Query, fuzzy bool) ([]Hit, error) {
	t := ix.tuning
	var clauses []clause
	langTerms := map[string][]string{lang: terms}
	nTerms := 0
	addLang := func(l string, ts, synonyms []string) {
		base := nTerms
		nTerms += len(ts)
		clauses = append(clauses, ix.langClauses(l, ts, synonyms, base, fuzzy)...)
	}
	addLang(lang, terms, ix.glossary.Expand(terms, lang, lang))
	for _, other := range ix.corpus.Langs {
		// Another language only matters for its articles missing in
		// the visitor's: when there are none, skip half the clauses.
		if other == lang || !ix.missing[other+">"+lang] {
			continue
		}
		// The question analysed as if written in the other language, plus
		// the glossary's translations of its terms.
		ot := ix.analyze(other, q.Text)
		langTerms[other] = ot
		addLang(other, ot, ix.glossary.Expand(terms, lang, other))
	}
	if len(clauses) == 0 {
		return nil, nil
	}
	docs, err := ix.collect(ctx, clauses, t.Candidates)
	if err != nil {
		return nil, err
	}
	type agg struct {
		article, passage, block float64
		best, bestBlock         int
	}
	byKey := map[string]*agg{}
	var order []string
	for _, h := range docs {
		kind, l, id, p := parseDocID(h.id)
		if l != lang && ix.corpus.Get(lang, id) != nil {
			continue // the visitor's own language has this article
		}
		key := l + "/" + id
		g, ok := byKey[key]
		if !ok {
			g = &agg{best: -1, bestBlock: -1}
			byKey[key] = g
			order = append(order, key)
		}
		switch kind {
		case kindArticle:
			g.article = h.score
		case kindPassage:
			if h.score > g.passage {
				g.passage, g.best = h.score, p
			}
		case kindBlock:
			if h.score > g.block {
				g.block, g.bestBlock = h.score, p
			}
		}
	}
	type ranked struct {
		key   string
		score float64
	}
	rank := make([]ranked, 0, len(order))
	for _, key := range order {
		g := byKey[key]
		score := g.article + t.Passage*g.passage + t.Block*g.block
		if !strings.HasPrefix(key, lang+"/") {
			score *= t.OtherLang
		}
		rank = append(rank, ranked{key, score})
	}
	sort.SliceStable(rank, func(i, j int) bool { return rank[i].score > rank[j].score })
	// Passages, snippets and coverage cost analysis time: only for the
	// hits that are returned.
	hits := make([]Hit, 0, min(len(rank), q.Limit))
	for _, r := range rank {
		if len(hits) == q.Limit {
			break
		}
		g := byKey[r.key]
		l, id, _ := strings.Cut(r.key, "/")
		a := ix.corpus.Get(l, id)
		if a == nil {
			continue
		}
		h := Hit{ID: id, Lang: l, Title: a.Title, Score: r.score, Fuzzy: fuzzy,
			EnglishOnly: l == "en" && lang != "en"}
		best := g.best
		if best < 0 {
			best = g.bestBlock
		}
		ids := ix.ids(l, langTerms[l])
		if best < 0 {
			best = ix.bestPassage(a, ids)
		}
		if best >= 0 && best < len(a.Passages) {
			p := a.Passages[best]
			h.Passage, h.Heading, h.Anchor = p.Quote, p.Heading, p.Anchor
		}
		h.Coverage, h.TitleMatch = ix.coverage(a, ids)
		hits = append(hits, h)
	}
	return hits, nil
}

// langClauses matches terms against one language's fields, one clause per
// (term, field), so that scoring can weigh coverage and fields itself.
func (ix *Index) langClauses(lang string, terms, synonyms []string, base int, fuzzy bool) []clause {
	t := ix.tuning
	fields := []struct {
		name    string
		boost   float64
		passage bool
	}{{fieldName("title", lang), t.Title, false}, {fieldName("meta", lang), t.Meta, false},
		{fieldName("body", lang), t.Body, false}, {fieldName("head", lang), t.Head, true},
		{fieldName("text", lang), t.Text, true}, {fieldName("block", lang), t.Block, false}}
	var out []clause
	stop := ix.stop[lang]
	weight := func(term string) float64 {
		if stop[term] {
			return t.StopCoverage
		}
		return 1
	}
	var of float64
	for _, term := range terms {
		of += weight(term)
	}
	add := func(term string, idx int, boost float64) {
		w := 0.0
		if idx >= 0 {
			w = weight(term)
			if stop[term] {
				boost *= t.Function
			}
		}
		for _, f := range fields {
			if f.boost == 0 || (f.passage && t.Passage == 0) {
				continue
			}
			field := f.name
			c := clause{field: field, term: idx, weight: w, of: of,
				terms: []weighted{{term, f.boost * boost}}}
			// Only words the index has never seen are worth a fuzzy
			// match: a known word is spelled as some article spells it.
			if fz := fuzziness(term); fuzzy && fz > 0 && !ix.known(lang, term) {
				c.terms, c.fuzzy = nil, true
				for _, n := range ix.near(field, term, fz) {
					// Each correction weighs less the more edits it
					// takes, as in Bleve's own fuzzy query.
					c.terms = append(c.terms, weighted{n.term, f.boost * boost / float64(n.edits+1)})
				}
				if len(c.terms) == 0 {
					continue
				}
			}
			out = append(out, c)
		}
	}
	for i, term := range terms {
		add(term, base+i, 1)
	}
	for _, term := range synonyms {
		add(term, -1, t.Synonym)
	}
	return out
}

// coverage is the share of the query's weight found in the article and in
// its title, each term weighing its inverse document frequency, so that
// "what is the weather" covered by "what is the" alone scores low.
func (ix *Index) coverage(a *Article, ids []int64) (all, title float64) {
	ts := ix.terms[a.Key()]
	if ts == nil || len(ids) == 0 {
		return 0, 0
	}
	var total, in, inTitle float64
	for _, id := range ids {
		w := ix.weight(a.Lang, id)
		total += w
		if id < 0 {
			continue
		}
		if has(ts.All, uint32(id)) {
			in += w
		}
		if has(ts.Title, uint32(id)) {
			inTitle += w
		}
	}
	if total == 0 {
		return 0, 0
	}
	return in / total, inTitle / total
}

// bestPassage picks the passage sharing the most query terms, when the index
// did not return one.
func (ix *Index) bestPassage(a *Article, ids []int64) int {
	ts := ix.terms[a.Key()]
	if ts == nil || len(ts.Passages) == 0 {
		return -1
	}
	best, bestN := 0, -1
	for i, set := range ts.Passages {
		n := 0
		for _, id := range ids {
			if id >= 0 && has(set, uint32(id)) {
				n++
			}
		}
		if n > bestN {
			best, bestN = i, n
		}
	}
	return best
}

// snippet shortens a passage to a quotable length, at a sentence or word
// end. It reads only as much of the passage as it keeps.
func snippet(s string) string {
	const max = 320
	var b strings.Builder
	n, space := 0, false
	truncated := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if n == max {
			truncated = true
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
			if n++; n == max {
				truncated = true
				break
			}
		}
		b.WriteRune(r)
		n++
	}
	cut := strings.TrimSpace(b.String())
	if !truncated {
		return cut
	}
	if i := strings.LastIndexAny(cut, ".!?"); i > len(cut)/2 {
		return cut[:i+1]
	}
	if i := strings.LastIndexByte(cut, ' '); i > 0 {
		cut = cut[:i]
	}
	return cut + "…"
}

// analyze turns text into the index's terms for lang, without duplicates.
func (ix *Index) analyze(lang, text string) []string {
	an, ok := ix.analyzers[lang]
	if !ok {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, tok := range an.Analyze([]byte(text)) {
		t := string(tok.Term)
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}
