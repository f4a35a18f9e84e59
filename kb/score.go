package kb

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"math/bits"
	"sync"

	index "github.com/blevesearch/bleve_index_api"
)

// clause is one query term (or its typo corrections) in one field.
type clause struct {
	field  string
	terms  []weighted // the term itself, or its corrections when fuzzy
	fuzzy  bool
	term   int     // index of the query term this clause matches, -1 for a synonym
	weight float64 // the term's part in coverage: 1, less for a stop word
	of     float64 // sum of the weights of this clause's language's query terms
}

// weighted is one term to look up, with its boost.
type weighted struct {
	term  string
	boost float64
}

// docScore is one index document and its combined score.
type docScore struct {
	id    string
	score float64
}

// acc accumulates one document's clause scores.
type acc struct {
	sum     float64
	of      float64
	covered uint64 // bit i: query term i matched
	seen    bool
}

// accPool recycles the per-query accumulators, indexed by Bleve's document
// number, so that a query allocates nothing per matching document.
var accPool = sync.Pool{New: func() any { return new([]acc) }}

// collect scores every document matching a clause and returns the best n.
//
// It reads Bleve's postings directly rather than running a Bleve query:
// the scores are Bleve's own TF-IDF (sqrt(freq) x field norm x idf², times
// the boost and the query norm), but summed per document in a flat array
// instead of through Bleve's searcher tree, which allocated a match and a
// score-breakdown map for every matching document and cost ten times more.
// A document's score is the sum of its clause scores scaled by the share of
// the query it covers, so that an article matching every word of a
// question beats one repeating a single word; stop words count for less in
// that share.
func (ix *Index) collect(ctx context.Context, clauses []clause, n int) ([]docScore, error) {
	adv, err := ix.bleve.Advanced()
	if err != nil {
		return nil, fmt.Errorf("kb: search: %w", err)
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, fmt.Errorf("kb: search: %w", err)
	}
	defer r.Close()
	total, err := r.DocCount()
	if err != nil {
		return nil, fmt.Errorf("kb: search: %w", err)
	}
	type postings struct {
		tfr   index.TermFieldReader
		idf   float64
		boost float64
	}
	// Open every term's postings first: the query norm needs every idf.
	lists := make([][]postings, len(clauses))
	defer func() {
		for _, l := range lists {
			for _, p := range l {
				p.tfr.Close()
			}
		}
	}()
	var sumSquares float64
	for i, c := range clauses {
		for _, w := range c.terms {
			tfr, err := r.TermFieldReader(ctx, []byte(w.term), c.field, true, true, false)
			if err != nil {
				return nil, fmt.Errorf("kb: search: %w", err)
			}
			idf := 1 + math.Log(float64(total)/float64(tfr.Count()+1))
			lists[i] = append(lists[i], postings{tfr, idf, w.boost})
			sumSquares += (w.boost * idf) * (w.boost * idf)
		}
	}
	if sumSquares == 0 {
		return nil, nil
	}
	norm := 1 / math.Sqrt(sumSquares)

	accsp := accPool.Get().(*[]acc)
	accs := *accsp
	var touched []uint64
	defer func() {
		for _, d := range touched {
			accs[d] = acc{}
		}
		*accsp = accs
		accPool.Put(accsp)
	}()
	add := func(doc uint64, s float64, c *clause) {
		if doc >= uint64(len(accs)) {
			accs = append(accs, make([]acc, int(doc)+1-len(accs)+1024)...)
		}
		a := &accs[doc]
		if !a.seen {
			a.seen = true
			touched = append(touched, doc)
		}
		a.sum += s
		if c.term >= 0 && c.term < 64 {
			a.covered |= 1 << c.term
			a.of = c.of
		}
	}
	var tfd index.TermFieldDoc
	for i := range clauses {
		c := &clauses[i]
		// A fuzzy clause scores like Bleve's fuzzy query: the sum of its
		// corrections' scores times the share of corrections matched.
		var fuzzy map[uint64]*struct {
			sum float64
			n   int
		}
		if c.fuzzy {
			fuzzy = map[uint64]*struct {
				sum float64
				n   int
			}{}
		}
		for _, p := range lists[i] {
			weight := p.boost * p.idf * p.idf * norm
			for {
				d, err := p.tfr.Next(&tfd)
				if err != nil {
					return nil, fmt.Errorf("kb: search: %w", err)
				}
				if d == nil {
					break
				}
				s := math.Sqrt(float64(d.Freq)) * d.Norm * weight
				doc := d.ID.Value()
				if fuzzy == nil {
					add(doc, s, c)
					continue
				}
				f := fuzzy[doc]
				if f == nil {
					f = &struct {
						sum float64
						n   int
					}{}
					fuzzy[doc] = f
				}
				f.sum += s
				f.n++
			}
		}
		for doc, f := range fuzzy {
			add(doc, f.sum*float64(f.n)/float64(len(c.terms)), c)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}

	// Keep the n best in a min-heap.
	var termWeight [64]float64
	for _, c := range clauses {
		if c.term >= 0 && c.term < 64 {
			termWeight[c.term] = c.weight
		}
	}
	h := &scoreHeap{}
	for _, d := range touched {
		a := &accs[d]
		s := a.sum * 0.5
		if a.of > 0 {
			var covered float64
			for m := a.covered; m != 0; m &= m - 1 {
				covered += termWeight[bits.TrailingZeros64(m)]
			}
			s = a.sum * math.Pow(covered/a.of, ix.tuning.Coverage)
		}
		if h.Len() < n {
			heap.Push(h, scored{d, s})
		} else if s > (*h)[0].score {
			(*h)[0] = scored{d, s}
			heap.Fix(h, 0)
		}
	}
	out := make([]docScore, h.Len())
	for i := len(out) - 1; i >= 0; i-- {
		top := heap.Pop(h).(scored)
		id, err := r.ExternalID(index.NewIndexInternalID(nil, top.doc))
		if err != nil {
			return nil, fmt.Errorf("kb: search: %w", err)
		}
		out[i] = docScore{id: id, score: top.score}
	}
	return out, nil
}

type scored struct {
	doc   uint64
	score float64
}

// scoreHeap is a min-heap on score, ties broken towards keeping the lower
// document number (the older document).
type scoreHeap []scored

func (h scoreHeap) Len() int { return len(h) }
func (h scoreHeap) Less(i, j int) bool {
	if h[i].score != h[j].score {
		return h[i].score < h[j].score
	}
	return h[i].doc > h[j].doc
}
func (h scoreHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *scoreHeap) Push(x any)   { *h = append(*h, x.(scored)) }
func (h *scoreHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
