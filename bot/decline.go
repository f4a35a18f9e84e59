package bot

import (
	"fmt"
	"strings"
)

// Topic is a subject support does not cover. A message naming one of its
// phrases is declined politely, with a pointer to where to go instead.
type Topic struct {
	Name    string              `toml:"name"`
	Phrases map[string][]string `toml:"phrases"` // lang -> phrases, matched word by word, accents ignored
	Pointer map[string]string   `toml:"pointer"` // lang -> link or sentence shown with the decline
}

// DefaultUnsupported follows the help center's own "What support does not
// cover" article: custom code, SEO and marketing, legal and tax advice. The
// phrases name the request, not a word alone: "code" alone may be a
// verification code, "tax" alone an invoice line.
var DefaultUnsupported = []Topic{
	{
		Name: "custom code",
		Phrases: map[string][]string{
			"en": {"custom code", "custom css", "custom javascript", "custom html", "my css", "my javascript", "my js",
				"debug my code", "fix my code", "review my code", "write code for", "write me a script"},
			"fr": {"code personnalise", "css personnalise", "javascript personnalise", "mon css", "mon javascript",
				"mon code", "deboguer", "corriger mon code", "ecrire du code", "ecrire un script"},
		},
		Pointer: map[string]string{"en": "/en/policies/not-covered", "fr": "/fr/policies/not-covered"},
	},
	{
		Name: "seo and marketing",
		Phrases: map[string][]string{
			"en": {"seo", "search engine ranking", "rank higher on google", "marketing advice", "marketing strategy",
				"advertising campaign", "grow my traffic", "more traffic"},
			"fr": {"seo", "referencement", "mieux referencer", "premier sur google", "conseil marketing", "strategie marketing",
				"campagne publicitaire", "augmenter mon trafic", "plus de trafic"},
		},
		Pointer: map[string]string{"en": "/en/policies/not-covered", "fr": "/fr/policies/not-covered"},
	},
	{
		Name: "legal and tax advice",
		Phrases: map[string][]string{
			"en": {"legal advice", "tax advice", "accounting advice", "vat rules", "tax rules", "write my terms of service",
				"write my privacy policy", "is it legal"},
			"fr": {"conseil juridique", "conseil fiscal", "conseil comptable", "regles de tva", "regles fiscales",
				"rediger mes cgv", "rediger mes conditions", "rediger ma politique de confidentialite", "est ce legal"},
		},
		Pointer: map[string]string{"en": "/en/policies/not-covered", "fr": "/fr/policies/not-covered"},
	},
}

// Validate says what is missing from a topic: a name, and for each
// language a phrase and a pointer.
func (t Topic) Validate(langs []string) error {
	var missing []string
	if strings.TrimSpace(t.Name) == "" {
		missing = append(missing, "a name")
	}
	for _, l := range langs {
		ok := false
		for _, p := range t.Phrases[l] {
			ok = ok || len(foldWords(p)) > 0
		}
		if !ok {
			missing = append(missing, "phrases."+l)
		}
		if strings.TrimSpace(t.Pointer[l]) == "" {
			missing = append(missing, "pointer."+l)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("topic %q: want %s", t.Name, strings.Join(missing, ", "))
	}
	return nil
}

type topicMatcher struct {
	topic   Topic
	phrases [][]string // folded words, every language together
}

func compileTopics(topics []Topic) []topicMatcher {
	var out []topicMatcher
	for _, t := range topics {
		m := topicMatcher{topic: t}
		for _, list := range t.Phrases {
			for _, p := range list {
				if w := foldWords(p); len(w) > 0 {
					m.phrases = append(m.phrases, w)
				}
			}
		}
		out = append(out, m)
	}
	return out
}

// unsupported returns the first topic one of whose phrases the message
// contains, word for word; a plural "s" on the message's words is ignored.
func (b *Bot) unsupported(text string) (Topic, bool) {
	words := foldWords(text)
	for i, w := range words {
		words[i] = strings.TrimSuffix(w, "s")
	}
	for _, m := range b.topics {
		for _, p := range m.phrases {
			if containsRun(words, p) {
				return m.topic, true
			}
		}
	}
	return Topic{}, false
}

// containsRun reports whether phrase occurs in words as consecutive words.
func containsRun(words, phrase []string) bool {
	for i := 0; i+len(phrase) <= len(words); i++ {
		match := true
		for j, p := range phrase {
			if words[i+j] != strings.TrimSuffix(p, "s") {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}
