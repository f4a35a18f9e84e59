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
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteString(foldRune(r))
		default:
			flush()
		}
	}
	flush()
	return words
}

// foldRune strips the accents French uses and spells out its ligatures.
func foldRune(r rune) string {
	switch r {
	case 'à', 'â', 'ä', 'á', 'ã':
		return "a"
	case 'é', 'è', 'ê', 'ë':
		return "e"
	case 'î', 'ï', 'í', 'ì':
		return "i"
	case 'ô', 'ö', 'ó', 'ò', 'õ':
		return "o"
	case 'ù', 'û', 'ü', 'ú':
		return "u"
	case 'ç':
		return "c"
	case 'ÿ':
		return "y"
	case 'ñ':
		return "n"
	case 'œ':
		return "oe"
	case 'æ':
		return "ae"
	}
	return string(r)
}
