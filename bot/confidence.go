package bot

import (
	"math"

	"github.com/bulle-help/bulle/kb"
)

// features are the signals confidence is computed from, each about the
// ranking, never about the words of a particular question.
type features struct {
	coverage   float64 // share of the question's terms in the top article
	titleMatch float64 // share of them in its title
	margin     float64 // how far the top article leads the second, 0..1
	strength   float64 // the top score, squashed to 0..1
	fuzzy      float64 // 1 when only typo-tolerant matching found it
}

func extract(hits []kb.Hit) features {
	top := hits[0]
	f := features{coverage: top.Coverage, titleMatch: top.TitleMatch, margin: 1,
		strength: top.Score / (top.Score + 1)}
	if len(hits) > 1 && top.Score > 0 {
		f.margin = (top.Score - hits[1].Score) / top.Score
	}
	if top.Fuzzy {
		f.fuzzy = 1
	}
	return f
}

// confidenceWeights are a logistic regression fitted on the four dev sets
// together, each weighing the same, to predict "the top article is right"
// against "wrong or out of scope"; docs/confidence.md has the fit and the
// threshold curve.
var confidenceWeights = struct {
	bias, coverage, titleMatch, margin, strength, fuzzy float64
}{bias: -3.27, coverage: 3.54, titleMatch: 1.00, margin: 0.47, strength: 2.66, fuzzy: -0.51}

// Confidence is how likely the top hit answers the question, in [0,1].
func Confidence(hits []kb.Hit) float64 {
	if len(hits) == 0 {
		return 0
	}
	f := extract(hits)
	w := confidenceWeights
	z := w.bias + w.coverage*f.coverage + w.titleMatch*f.titleMatch + w.margin*f.margin +
		w.strength*f.strength + w.fuzzy*f.fuzzy
	return 1 / (1 + math.Exp(-z))
}
