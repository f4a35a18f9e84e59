package kb

import (
	"maps"
	"math"
	"slices"
	"strings"
)

// vocabulary numbers the analysed terms of one language's articles, so that
// an article's term sets are small sorted slices that load fast from the
// corpus cache instead of maps rebuilt by re-analysing every article.
type vocabulary map[string]uint32

// termSet is the analysed vocabulary of one article, for coverage signals
// and for picking the passage to quote.
type termSet struct {
	Title    []uint32   // sorted term ids of the title
	All      []uint32   // sorted term ids of the whole article
	Passages [][]uint32 // sorted term ids of each passage, heading included
}

// has reports whether a sorted id set holds id.
func has(set []uint32, id uint32) bool {
	_, ok := slices.BinarySearch(set, id)
	return ok
}

// termData is what the index derives from the corpus by analysis.
type termData struct {
	vocab map[string]vocabulary // lang -> term ids
	terms map[string]*termSet   // article key -> its terms
	df    map[string][]int32    // lang -> term id -> articles using it
	count map[string]int        // lang -> articles
}

// analyzeTerms derives the term data of every article.
func analyzeTerms(c *Corpus, analyze func(lang, text string) []string) *termData {
	td := &termData{vocab: map[string]vocabulary{}, terms: map[string]*termSet{}}
	for _, l := range c.Langs {
		td.vocab[l] = vocabulary{}
	}
	for _, a := range c.Articles() {
		td.add(a, analyze)
	}
	td.countDocs()
	return td
}

// countDocs derives document frequencies from the term sets.
func (td *termData) countDocs() {
	td.df, td.count = map[string][]int32{}, map[string]int{}
	for l, v := range td.vocab {
		td.df[l] = make([]int32, len(v))
	}
	for key, ts := range td.terms {
		lang, _, _ := strings.Cut(key, "/")
		td.count[lang]++
		df := td.df[lang]
		for _, id := range ts.All {
			if int(id) < len(df) {
				df[id]++
			}
		}
	}
}

// weight is a query term's inverse document frequency: rare words say more
// about what a question is about. A word no article uses weighs as much as
// the rarest known word.
func (td *termData) weight(lang string, id int64) float64 {
	n := float64(td.count[lang])
	df := 1.0
	if id >= 0 && int(id) < len(td.df[lang]) && td.df[lang][id] > 0 {
		df = float64(td.df[lang][id])
	}
	return math.Log(1 + n/df)
}

// add analyses one article, giving new terms the next free ids.
func (td *termData) add(a *Article, analyze func(lang, text string) []string) {
	v := td.vocab[a.Lang]
	if v == nil {
		v = vocabulary{}
		td.vocab[a.Lang] = v
	}
	ids := func(texts ...string) []uint32 {
		var out []uint32
		for _, t := range analyze(a.Lang, strings.Join(texts, "\n")) {
			id, ok := v[t]
			if !ok {
				id = uint32(len(v))
				v[t] = id
			}
			out = append(out, id)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	ts := &termSet{Title: ids(a.Title)}
	all := append(ids(a.Description, strings.Join(a.Tags, "\n")), ts.Title...)
	for _, p := range a.Passages {
		pt := ids(p.Heading, p.Text)
		ts.Passages = append(ts.Passages, pt)
		all = append(all, pt...)
	}
	slices.Sort(all)
	ts.All = slices.Compact(all)
	td.terms[a.Key()] = ts
}

// with returns term data for corpus c after the articles in changed were
// edited or added. Maps are copied, never mutated, since searches may be
// reading the old ones.
func (td *termData) with(c *Corpus, changed []*Article, analyze func(lang, text string) []string) *termData {
	next := &termData{vocab: map[string]vocabulary{}, terms: make(map[string]*termSet, len(c.articles))}
	for l, v := range td.vocab {
		next.vocab[l] = maps.Clone(v)
	}
	for k, ts := range td.terms {
		if c.articles[k] != nil {
			next.terms[k] = ts
		}
	}
	for _, a := range changed {
		next.add(a, analyze)
	}
	next.countDocs()
	return next
}

// ids looks up query terms: -1 marks a term no article uses.
func (td *termData) ids(lang string, terms []string) []int64 {
	v := td.vocab[lang]
	out := make([]int64, len(terms))
	for i, t := range terms {
		out[i] = -1
		if id, ok := v[t]; ok {
			out[i] = int64(id)
		}
	}
	return out
}

// known reports whether some article of lang uses term.
func (td *termData) known(lang, term string) bool {
	_, ok := td.vocab[lang][term]
	return ok
}
