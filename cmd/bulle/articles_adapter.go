package main

import (
	"slices"

	"github.com/bulle-help/bulle/escalation/console"
	"github.com/bulle-help/bulle/kb"
)

// insightsArticles adapts the knowledge base to console.Articles: the
// insights page names articles by their titles and lists the missing
// translations, which the console (it imports escalation only) cannot
// read itself. It asks for the current corpus on each call, so that an
// article edited or added while serving shows at the next page load.
type insightsArticles struct {
	corpus func() *kb.Corpus // (*kb.Base).Corpus
}

var _ console.Articles = insightsArticles{}

// Langs are the help center's languages, in the configured order.
func (a insightsArticles) Langs() []string { return slices.Clone(a.corpus().Langs) }

// Title is the article's title in lang, "" when it has no such version.
func (a insightsArticles) Title(lang, id string) string {
	if art := a.corpus().Get(lang, id); art != nil {
		return art.Title
	}
	return ""
}

// MissingTranslations lists each article that lacks a language once, as
// kb.Check reports it: under its first language's version.
func (a insightsArticles) MissingTranslations() []console.MissingTranslation {
	c := a.corpus()
	var out []console.MissingTranslation
	for _, art := range c.Articles() {
		have := c.Translations(art.ID)
		if len(have) == len(c.Langs) || have[0] != art.Lang {
			continue
		}
		var missing []string
		for _, l := range c.Langs {
			if !slices.Contains(have, l) {
				missing = append(missing, l)
			}
		}
		out = append(out, console.MissingTranslation{ID: art.ID, Title: art.Title, Path: art.Path, Have: have, Missing: missing})
	}
	return out
}
