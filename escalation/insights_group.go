package escalation

import (
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Grouping of visitors' questions by similarity, for the insights page:
// "how do I reset my password", "reset password?" and "how to reset my
// pasword" are one thing for an editor to write, asked three times. No
// model, no index: words are normalised (case, accents, stop words, a
// crude stem), and a question joins the first group whose seed shares at
// least half of their words (Jaccard of the word sets). Pure functions,
// no storage.

// similarEnough is the least Jaccard index of two questions' word sets
// for them to be the same question. 0.5 lets a typo or an extra word
// through ("reset my password" / "reset my pasword now") and keeps apart
// questions that share a word or two ("reset password" / "change email").
const similarEnough = 0.5

// maxExamples is how many wordings a group shows.
const maxExamples = 3

// Question is one visitor message to group: its text, when it was asked,
// and the conversation it comes from (the page links to it).
type Question struct {
	Text           string
	At             time.Time
	ConversationID int64
}

// QuestionGroup is questions that ask the same thing: how many, and up
// to three distinct wordings, the most recent first.
type QuestionGroup struct {
	Count    int
	Examples []Question
	Latest   time.Time
}

// GroupQuestions groups qs (in any order) by similarity, in lang ("fr",
// "en"; another language uses both stop-word lists). The largest groups
// come first, then the most recently asked. Identical wordings (after
// normalising) are merged first and the most frequent seed the groups, so
// the outcome does not depend on the order of qs.
func GroupQuestions(qs []Question, lang string) []QuestionGroup {
	// Merge the questions that normalise to the same word set.
	type bucket struct {
		key    string
		words  []string
		qs     []Question
		latest time.Time
	}
	byKey := map[string]*bucket{}
	var buckets []*bucket
	for _, q := range qs {
		words := questionWords(q.Text, lang)
		key := strings.Join(words, " ")
		b := byKey[key]
		if b == nil {
			b = &bucket{key: key, words: words}
			byKey[key] = b
			buckets = append(buckets, b)
		}
		b.qs = append(b.qs, q)
		if q.At.After(b.latest) {
			b.latest = q.At
		}
	}
	// The most frequent wordings seed the groups; ties by recency, then
	// by key, so that the result is the same for the same questions.
	slices.SortFunc(buckets, func(a, b *bucket) int {
		if len(a.qs) != len(b.qs) {
			return len(b.qs) - len(a.qs)
		}
		if c := b.latest.Compare(a.latest); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	type group struct {
		seed []string
		qs   []Question
	}
	var groups []*group
	// byWord finds the groups whose seed has a word: a question can only
	// reach similarEnough with a group it shares a word with.
	byWord := map[string][]int{}
	for _, b := range buckets {
		best, bestScore := -1, 0.0
		seen := map[int]bool{}
		for _, w := range b.words {
			for _, gi := range byWord[w] {
				if seen[gi] {
					continue
				}
				seen[gi] = true
				if s := jaccard(b.words, groups[gi].seed); s >= similarEnough && (s > bestScore || (s == bestScore && gi < best)) {
					best, bestScore = gi, s
				}
			}
		}
		if best < 0 {
			best = len(groups)
			groups = append(groups, &group{seed: b.words})
			for _, w := range b.words {
				byWord[w] = append(byWord[w], best)
			}
		}
		groups[best].qs = append(groups[best].qs, b.qs...)
	}
	out := make([]QuestionGroup, 0, len(groups))
	for _, g := range groups {
		out = append(out, newQuestionGroup(g.qs))
	}
	slices.SortStableFunc(out, func(a, b QuestionGroup) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return b.Latest.Compare(a.Latest)
	})
	return out
}

// newQuestionGroup counts qs and picks their examples: distinct wordings
// (case and surrounding spaces aside), the most recent first.
func newQuestionGroup(qs []Question) QuestionGroup {
	slices.SortStableFunc(qs, func(a, b Question) int { return b.At.Compare(a.At) })
	g := QuestionGroup{Count: len(qs)}
	if len(qs) > 0 {
		g.Latest = qs[0].At
	}
	seen := map[string]bool{}
	for _, q := range qs {
		key := strings.ToLower(strings.Join(strings.Fields(q.Text), " "))
		if seen[key] {
			continue
		}
		seen[key] = true
		g.Examples = append(g.Examples, q)
		if len(g.Examples) == maxExamples {
			break
		}
	}
	return g
}

// jaccard is |a ∩ b| / |a ∪ b| of two sorted sets of words; two empty
// sets are the same question (both said nothing but stop words).
func jaccard(a, b []string) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	inter, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch c := strings.Compare(a[i], b[j]); {
		case c == 0:
			inter++
			i++
			j++
		case c < 0:
			i++
		default:
			j++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// questionWords normalises a question to its sorted set of words: lower
// case, accents folded, split at anything not a letter or digit, stop
// words and single letters dropped, each word stemmed. A question of stop
// words only keeps its folded words, so "bonjour ?" does not join every
// other question with nothing left.
func questionWords(text, lang string) []string {
	raw := foldWords(text)
	stop := stopWords[lang]
	if stop == nil {
		stop = stopWordsAll
	}
	set := map[string]bool{}
	for _, w := range raw {
		if len([]rune(w)) < 2 || stop[w] {
			continue
		}
		set[stem(w)] = true
	}
	if len(set) == 0 {
		for _, w := range raw {
			set[w] = true
		}
	}
	out := make([]string, 0, len(set))
	for w := range set {
		out = append(out, w)
	}
	slices.Sort(out)
	return out
}

// foldWords lower-cases text, folds its accents (é → e, œ → oe) and cuts
// it into words of letters and digits.
func foldWords(text string) []string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(text)) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// an accent, now separate from its letter
		case r == 'œ':
			b.WriteString("oe")
		case r == 'æ':
			b.WriteString("ae")
		case r == 'ß':
			b.WriteString("ss")
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Fields(b.String())
}

// suffixes are cut from a word's end, the longest first, one at most: a
// crude stem that makes "réinitialiser", "réinitialisation" and
// "réinitialise" one word, and "passwords" "password". Written folded.
var suffixes = []string{"ements", "ations", "ement", "ation", "ments", "ings", "ment", "ing", "ees", "ers",
	"ies", "ed", "er", "es", "ez", "ee", "ly", "e", "s", "x"}

// minStem is the shortest stem a cut may leave: "les" is not "l".
const minStem = 3

// stem cuts one suffix, then a doubled last letter ("resetting" →
// "resett" → "reset", "passe" → "pass" → "pas"), so that a typo that
// drops a double letter meets the right word.
func stem(w string) string {
	for _, s := range suffixes {
		if strings.HasSuffix(w, s) && len(w)-len(s) >= minStem {
			w = w[:len(w)-len(s)]
			break
		}
	}
	if n := len(w); n > minStem && w[n-1] == w[n-2] && !unicode.IsDigit(rune(w[n-1])) {
		w = w[:n-1]
	}
	return w
}

// stopWords are the words that say nothing of what a question is about,
// folded, by language.
var stopWords = map[string]map[string]bool{
	"fr": wordSet(`le la les un une des de du au aux et ou en pour par sur dans avec sans ce ces cet cette ca
		mon ma mes ton ta tes son sa ses notre nos votre vos leur leurs je tu il elle on nous vous ils elles
		me te se moi toi lui que qui quoi quel quelle quels quelles est sont suis ai as avez ont etre avoir
		ne pas plus comment pourquoi quand faire fait peux peut pouvez puis dois doit veux voudrais
		svp merci bonjour bonsoir salut qu`),
	"en": wordSet(`a an the and or of to in on at for by with without from is are was were be been am do does did
		can could would should will how what why when where which who whom this that these those there here
		i me my we our us you your he she it its they them their please thanks thank hi hello hey not no
		as if so get got have has had want need`),
}

// stopWordsAll serves a language with no list of its own.
var stopWordsAll = func() map[string]bool {
	all := map[string]bool{}
	for _, set := range stopWords {
		for w := range set {
			all[w] = true
		}
	}
	return all
}()

func wordSet(s string) map[string]bool {
	set := map[string]bool{}
	for _, w := range strings.Fields(s) {
		set[w] = true
	}
	return set
}

// searchKey is what groups searches without a click: the same words in
// any order, case, accents, stop words and endings aside.
func searchKey(query, lang string) string {
	return strings.Join(questionWords(query, lang), " ")
}
