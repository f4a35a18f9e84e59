package bot

import (
	"strings"
	"unicode"
)

// foldWords splits text into lowercase words without accents, so that
// "Réinitialiser", "reinitialiser" and "RÉINITIALISER" compare equal.
// Apostrophes split words: "l'horaire" is "l" and "horaire".
func foldWords(text string) []string {
	var words []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			words = append(words, b.String())
			b.Reset()
		}
	}
	for _, r := range strings.ToLower(text) {
		if folded, ok := foldLetter(r); ok {
			b.WriteString(folded)
		} else if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		} else {
			flush()
		}
	}
	flush()
	return words
}
