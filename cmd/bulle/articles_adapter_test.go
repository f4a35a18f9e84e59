package main

import (
	"reflect"
	"testing"

	"github.com/bulle-help/bulle/escalation/console"
	"github.com/bulle-help/bulle/kb"
)

func TestInsightsArticlesNameArticlesAndListMissingTranslations(t *testing.T) {
	c := kb.NewCorpus([]string{"fr", "en", "de"}, "fr")
	for _, a := range []*kb.Article{
		{ID: "reset", Lang: "fr", Title: "Réinitialiser", Path: "reset.fr.md"},
		{ID: "reset", Lang: "en", Title: "Reset", Path: "reset.en.md"},
		{ID: "reset", Lang: "de", Title: "Zurücksetzen", Path: "reset.de.md"},
		{ID: "refunds", Lang: "fr", Title: "Remboursements", Path: "refunds.fr.md"},
		{ID: "api", Lang: "en", Title: "API", Path: "api.en.md"},
	} {
		c.Add(a)
	}
	a := insightsArticles{corpus: func() *kb.Corpus { return c }}
	if got := a.Langs(); !reflect.DeepEqual(got, []string{"fr", "en", "de"}) {
		t.Errorf("Langs: got %v", got)
	}
	if got := a.Title("en", "reset"); got != "Reset" {
		t.Errorf("Title of a version: got %q", got)
	}
	if got := a.Title("de", "refunds"); got != "" {
		t.Errorf("Title of a missing version: got %q, want none", got)
	}
	want := []console.MissingTranslation{
		{ID: "api", Title: "API", Path: "api.en.md", Have: []string{"en"}, Missing: []string{"fr", "de"}},
		{ID: "refunds", Title: "Remboursements", Path: "refunds.fr.md", Have: []string{"fr"}, Missing: []string{"en", "de"}},
	}
	if got := a.MissingTranslations(); !reflect.DeepEqual(got, want) {
		t.Errorf("MissingTranslations:\ngot  %+v\nwant %+v", got, want)
	}
}
