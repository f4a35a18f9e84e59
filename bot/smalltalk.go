package bot

// Small talk is a message made only of courtesy words: a greeting, thanks or
// a goodbye. A greeting followed by a question is a question.
var courtesy = map[string]map[string]bool{
	msgGreeting: set("bonjour", "bonsoir", "salut", "coucou", "hello", "hi", "hey", "hiya", "morning", "evening", "afternoon"),
	msgThanks:   set("merci", "thanks", "thank", "thx", "ty", "cheers", "parfait", "perfect", "great", "genial", "super", "ok", "okay"),
	msgGoodbye:  set("revoir", "bye", "goodbye", "bientot", "ciao", "later", "journee", "soiree", "day"),
}

// Words that qualify a courtesy without making it a question.
var courtesyFiller = set("you", "u", "vous", "toi", "et", "and", "the", "a", "so", "very", "tres", "de", "for",
	"your", "votre", "help", "aide", "bot", "assistant", "there", "tout", "all", "le", "la", "beaucoup", "bien",
	"much", "lot", "good", "au", "see", "plus", "bonne", "have", "nice", "madame", "monsieur", "again", "encore")

// smallTalk names the courtesy a message is made of: greeting, thanks or
// goodbye (the last one written wins: "merci, au revoir" is a goodbye).
func smallTalk(text string) (string, bool) {
	words := foldWords(text)
	if len(words) == 0 || len(words) > 6 {
		return "", false
	}
	kind := ""
	for _, w := range words {
		found := false
		for _, k := range []string{msgGreeting, msgThanks, msgGoodbye} {
			if courtesy[k][w] {
				kind, found = k, true
			}
		}
		if !found && !courtesyFiller[w] {
			return "", false
		}
	}
	return kind, kind != ""
}
