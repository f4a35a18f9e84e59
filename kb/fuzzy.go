package kb

import (
	"sort"
	"sync"
	"unicode/utf8"
)

// nearTerm is a known term within a few edits of an unknown query term.
type nearTerm struct {
	term  string
	edits int
}

// typoIndex finds the indexed terms near a misspelt one, per field, as
// Bleve's fuzzy query does. Terms are bucketed by first rune, since a typo
// rarely hits the first letter, and by length, since k edits change it by
// at most k. Building the buckets once per index snapshot, on the first
// fuzzy query, replaces the Levenshtein automaton Bleve would build for
// every field of every fuzzy query.
type typoIndex struct {
	mu      sync.Mutex
	buckets map[string]map[rune]map[int][]string // field -> first rune -> length in runes -> terms
}

func (ix *Index) fieldBuckets(field string) map[rune]map[int][]string {
	ti := ix.typos
	ti.mu.Lock()
	defer ti.mu.Unlock()
	if b, ok := ti.buckets[field]; ok {
		return b
	}
	byRune := map[rune]map[int][]string{}
	if d, err := ix.bleve.FieldDict(field); err == nil {
		for e, err := d.Next(); err == nil && e != nil; e, err = d.Next() {
			t := e.Term
			r, _ := utf8.DecodeRuneInString(t)
			if byRune[r] == nil {
				byRune[r] = map[int][]string{}
			}
			n := utf8.RuneCountInString(t)
			byRune[r][n] = append(byRune[r][n], t)
		}
		d.Close()
	}
	if ti.buckets == nil {
		ti.buckets = map[string]map[rune]map[int][]string{}
	}
	ti.buckets[field] = byRune
	return byRune
}

// near returns the terms of field within maxEdits of term, closest first.
func (ix *Index) near(field, term string, maxEdits int) []nearTerm {
	r, _ := utf8.DecodeRuneInString(term)
	byLen := ix.fieldBuckets(field)[r]
	word := []rune(term)
	var out []nearTerm
	for n := len(word) - maxEdits; n <= len(word)+maxEdits; n++ {
		for _, t := range byLen[n] {
			if d := editDistance(word, []rune(t), maxEdits); d <= maxEdits {
				out = append(out, nearTerm{t, d})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].edits != out[j].edits {
			return out[i].edits < out[j].edits
		}
		return out[i].term < out[j].term
	})
	return out
}

// editDistance counts the insertions, deletions, substitutions and swaps of
// adjacent letters that turn a into b ("sevrer" is one swap from "server"),
// or returns max+1 as soon as it must exceed max.
func editDistance(a, b []rune, max int) int {
	before, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], before[j-2]+1)
			}
			best = min(best, cur[j])
		}
		if best > max {
			return max + 1
		}
		before, prev, cur = prev, cur, before
	}
	return prev[len(b)]
}
