package kb

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds the help center's words in each language, and the
// choices of language: which pages exist, which one a browser prefers, how
// a topic or a vote count reads.

// catalog holds the pages' words, by language then key. It is never
// modified after package initialisation. French puts a no-break space
// (U+00A0) before "?" and ":", as its typography wants, so a narrow screen
// never leaves the mark alone on a line.
var catalog = map[string]map[string]string{
	"en": {
		"lang_name":          "English",
		"help_center":        "Help center",
		"contact":            "Contact us",
		"my_requests":        "My requests",
		"home":               "Home",
		"search":             "Search",
		"search_label":       "Search the help center",
		"search_placeholder": "Ask a question or type a few words",
		"results_for":        "Results for",
		"no_results":         "No article matches your search. Try other words, or browse the topics on the home page.",
		"query_too_long":     "Your search is too long: 500 characters at most.",
		"search_rebuilding":  "The search is being rebuilt from the articles. Try again in a moment; the articles themselves can still be read from the home page.",
		"other_topic":        "Other articles",
		"only_in_other":      "This article is only available in %s",
		"read_in":            "Read it in %s",
		"vote_question":      "Was this article helpful?",
		"yes":                "Yes",
		"no":                 "No",
		"vote_thanks":        "Thanks for your feedback",
		"your_answer":        "Your answer:",
		"vote_change":        "You can change your answer.",
		"vote_line":          "%d of %d found this helpful",
		"not_found_title":    "Page not found",
		"not_found":          "This page does not exist or has moved. Try a search, or start from the home page.",
		"bad_request_title":  "Request refused",
		"unknown_article":    "This article does not exist.",
		"bad_answer":         "Choose Yes or No.",
		"cross_site":         "cross-site form post refused: vote from this help center's own page.",
		"english_only":       "",
		"language":           "Language",
	},
	"fr": {
		"lang_name":          "Français",
		"help_center":        "Centre d'aide",
		"contact":            "Nous contacter",
		"my_requests":        "Mes demandes",
		"home":               "Accueil",
		"search":             "Rechercher",
		"search_label":       "Rechercher dans le centre d'aide",
		"search_placeholder": "Posez une question ou tapez quelques mots",
		"results_for":        "Résultats pour",
		"no_results":         "Aucun article ne correspond à votre recherche. Essayez d'autres mots, ou parcourez les thèmes de la page d'accueil.",
		"query_too_long":     "Votre recherche est trop longue\u00a0: 500 caractères au maximum.",
		"search_rebuilding":  "La recherche est en cours de reconstruction à partir des articles. Réessayez dans un instant\u00a0; les articles restent consultables depuis la page d'accueil.",
		"other_topic":        "Autres articles",
		"only_in_other":      "Cet article n'est disponible qu'en %s",
		"read_in":            "Le lire en %s",
		"vote_question":      "Cet article vous a-t-il été utile\u00a0?",
		"yes":                "Oui",
		"no":                 "Non",
		"vote_thanks":        "Merci pour votre avis",
		"your_answer":        "Votre réponse\u00a0:",
		"vote_change":        "Vous pouvez changer votre réponse.",
		"vote_line":          "%d sur %d ont trouvé cela utile",
		"not_found_title":    "Page introuvable",
		"not_found":          "Cette page n'existe pas ou a été déplacée. Faites une recherche, ou repartez de la page d'accueil.",
		"bad_request_title":  "Requête refusée",
		"unknown_article":    "Cet article n'existe pas.",
		"bad_answer":         "Choisissez Oui ou Non.",
		"cross_site":         "Formulaire envoyé depuis un autre site\u00a0: refusé (cross-site form post refused). Votez depuis la page de ce centre d'aide.",
		"english_only":       "en anglais",
		"language":           "Langue",
	},
}

// langNameIn names a language inside a sentence of another language:
// "Cet article n'est disponible qu'en anglais".
var langNameIn = map[string]map[string]string{
	"en": {"en": "English", "fr": "French"},
	"fr": {"en": "anglais", "fr": "français"},
}

// topicOrder lists the known topics in the order the home page shows them;
// other topics follow alphabetically, and articles without one come last.
var topicOrder = []string{"contact", "account", "policies", "bulle", "reference"}

// topicTitles translates the known topic slugs.
var topicTitles = map[string]map[string]string{
	"contact":   {"en": "Contact and support", "fr": "Contact et assistance"},
	"account":   {"en": "Your account and data", "fr": "Votre compte et vos données"},
	"policies":  {"en": "Policies", "fr": "Nos règles"},
	"bulle":     {"en": "Using Bulle", "fr": "Utiliser Bulle"},
	"reference": {"en": "Reference", "fr": "Référence"},
}

// siteLangs are the corpus languages the pages have words for, in corpus order.
func siteLangs(c *Corpus) []string {
	var out []string
	for _, l := range c.Langs {
		if catalog[l] != nil {
			out = append(out, l)
		}
	}
	return out
}

// preferredLang picks the first of supported that the Accept-Language header
// ranks highest, or def. Regional variants count for their base language.
func preferredLang(header string, supported []string, def string) string {
	best, bestQ := def, 0.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					f = 0
				}
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if q > bestQ && slices.Contains(supported, base) {
			best, bestQ = base, q
		}
	}
	return best
}

// topicTitle translates a topic slug; unknown topics show the slug
// capitalised, with spaces for dashes.
func topicTitle(lang, topic string) string {
	if topic == "" {
		return catalog[lang]["other_topic"]
	}
	if t := topicTitles[topic][lang]; t != "" {
		return t
	}
	s := strings.NewReplacer("-", " ", "_", " ").Replace(topic)
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// topicRank orders topics: known ones as topicOrder says, then the others
// alphabetically, then articles without a topic.
func topicRank(a, b string) int {
	rank := func(t string) int {
		if t == "" {
			return len(topicOrder) + 1
		}
		if i := slices.Index(topicOrder, t); i >= 0 {
			return i
		}
		return len(topicOrder)
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a, b))
}

// onlyInNotice is the sentence and link text shown on lang's page for an
// article written only in other.
func onlyInNotice(lang, other string) (notice, link string) {
	name := langNameIn[lang][other]
	return fmt.Sprintf(catalog[lang]["only_in_other"], name), fmt.Sprintf(catalog[lang]["read_in"], name)
}

// voteLine is the public count under an article, "" when nobody voted.
func voteLine(lang string, helpful, total int) string {
	if total <= 0 {
		return ""
	}
	return fmt.Sprintf(catalog[lang]["vote_line"], helpful, total)
}

// knownLang reports whether lang has pages: articles and words.
func knownLang(c *Corpus, lang string) bool { return slices.Contains(siteLangs(c), lang) }

// pageLang is the language of a page whose URL names none or an unknown one.
func pageLang(c *Corpus, acceptLanguage string) string {
	langs := siteLangs(c)
	def := c.DefaultLang
	if !slices.Contains(langs, def) {
		def = "en"
	}
	return preferredLang(acceptLanguage, langs, def)
}
