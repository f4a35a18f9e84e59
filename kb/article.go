// Package kb owns the knowledge base: it loads markdown articles written in
// Hugo or Grav layouts, splits them into passages, indexes them in Bleve with
// one analyzer per language, searches them, and renders them as help-center
// pages. It imports no other package of this project.
package kb

import (
	"sort"
	"strings"
)

// Article is one language version of a help article.
type Article struct {
	ID          string // translation key, shared by every language version
	Lang        string
	Title       string
	Description string
	Tags        []string
	Topic       string
	Type        string // "glossary" marks the page whose table pairs terms across languages
	Weight      int
	Draft       bool
	Path        string   // source file, relative to the articles root
	Routes      []string // extra URL paths that link to this article (Grav routes)
	Source      []byte   // markdown body after shortcodes are removed
	Passages    []Passage
	Links       []Link   // internal links found in the body
	Anchors     []string // every #anchor a link may name: heading ids at any level, HTML ids
}

// Passage is the part of an article under one heading: the unit the bot quotes.
type Passage struct {
	Anchor  string // heading id, "" for the text before the first heading
	Heading string
	Text    string // plain text, no markup
	Quote   string // the start of Text, short enough to quote in the bubble
}

// Link is an internal link from an article body.
type Link struct {
	Target string
	Line   int
}

// Key identifies one language version of an article.
func (a *Article) Key() string { return a.Lang + "/" + a.ID }

// Text returns the plain text of the whole article body.
func (a *Article) Text() string {
	var b strings.Builder
	for i, p := range a.Passages {
		if i > 0 {
			b.WriteString("\n")
		}
		if p.Heading != "" {
			b.WriteString(p.Heading)
			b.WriteString("\n")
		}
		b.WriteString(p.Text)
	}
	return b.String()
}

// Corpus is every article that loaded, by language and id.
type Corpus struct {
	Langs       []string
	DefaultLang string
	articles    map[string]*Article // by Key()
}

// NewCorpus returns an empty corpus for the given languages.
func NewCorpus(langs []string, defaultLang string) *Corpus {
	return &Corpus{Langs: langs, DefaultLang: defaultLang, articles: map[string]*Article{}}
}

// Add stores a, replacing any article with the same language and id.
func (c *Corpus) Add(a *Article) { c.articles[a.Key()] = a }

// Get returns the article with this id in this language, or nil.
func (c *Corpus) Get(lang, id string) *Article { return c.articles[lang+"/"+id] }

// Len is the number of article versions.
func (c *Corpus) Len() int { return len(c.articles) }

// Translations returns the languages in which the article id exists, in corpus order.
func (c *Corpus) Translations(id string) []string {
	var out []string
	for _, l := range c.Langs {
		if c.Get(l, id) != nil {
			out = append(out, l)
		}
	}
	return out
}

// Articles returns every article, sorted by language then topic, weight and title.
func (c *Corpus) Articles() []*Article {
	out := make([]*Article, 0, len(c.articles))
	for _, a := range c.articles {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Lang != b.Lang {
			return a.Lang < b.Lang
		}
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		if a.Weight != b.Weight {
			return a.Weight < b.Weight
		}
		if a.Title != b.Title {
			return a.Title < b.Title
		}
		return a.ID < b.ID
	})
	return out
}

// InLang returns the articles of one language, in Articles order.
func (c *Corpus) InLang(lang string) []*Article {
	var out []*Article
	for _, a := range c.Articles() {
		if a.Lang == lang {
			out = append(out, a)
		}
	}
	return out
}

// hasMissing reports whether some article exists in lang but not in other.
func (c *Corpus) hasMissing(lang, other string) bool {
	for _, a := range c.articles {
		if a.Lang == lang && c.Get(other, a.ID) == nil {
			return true
		}
	}
	return false
}
