package bot

// Function words that only one of the two languages uses, folded. A message
// is re-languaged only when it clearly reads as the other language: a few
// words of evidence, and several times more than for the widget's language.
var langMarkers = map[string]map[string]bool{
	"fr": set("le", "la", "les", "un", "une", "des", "du", "je", "tu", "il", "nous", "vous", "mon", "ma", "mes",
		"votre", "vos", "est", "sont", "pour", "avec", "dans", "sur", "pas", "ne", "que", "qui", "quoi", "comment",
		"pourquoi", "quand", "ou", "et", "mais", "ce", "cette", "ces", "puis", "peux", "veux", "faire", "avoir",
		"etre", "bonjour", "merci", "au", "aux", "quel", "quelle", "quels", "quelles", "mot", "passe", "moi", "oui", "non"),
	"en": set("the", "a", "an", "i", "you", "he", "she", "we", "they", "my", "your", "is", "are", "was", "for",
		"with", "in", "on", "not", "don", "t", "what", "who", "how", "why", "when", "where", "and", "but", "this",
		"that", "these", "can", "could", "want", "do", "does", "have", "be", "hello", "thanks", "thank", "please",
		"of", "to", "it", "me", "yes", "no", "should", "would", "there"),
}

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// replyLang is the language to answer in: the widget's, unless the message
// is clearly written in the other one.
func replyLang(text, widget string) string {
	if widget != "fr" && widget != "en" {
		widget = "en"
	}
	other := "fr"
	if widget == "fr" {
		other = "en"
	}
	var own, foreign int
	for _, w := range foldWords(text) {
		if langMarkers[widget][w] {
			own++
		}
		if langMarkers[other][w] {
			foreign++
		}
	}
	if foreign >= 2 && foreign >= 3*own {
		return other
	}
	return widget
}
