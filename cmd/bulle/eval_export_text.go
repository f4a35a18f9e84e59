package main

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/bulle-help/bulle/kb"
)

// What "bulle eval export" reads in free text: the links agents paste
// into their replies, and the addresses and numbers visitors type.

// articleLinks maps the links agents paste to the ids of this help
// center's articles.
type articleLinks struct {
	corpus *kb.Corpus
	// host is base_url's host: a full link to another host is not an
	// article of ours. "" (no base_url) takes any host, so that links
	// pasted from the help center's pages count even unconfigured.
	host string
	// prefix is base_url's path, when the help center is served below
	// one ("/help"): links may carry it.
	prefix string
}

func newArticleLinks(c *kb.Corpus, baseURL string) articleLinks {
	l := articleLinks{corpus: c}
	if u, err := url.Parse(baseURL); err == nil && baseURL != "" {
		l.host, l.prefix = u.Host, strings.TrimRight(u.Path, "/")
	}
	return l
}

// linkIn finds full http(s) links, and paths starting a word or inside
// markdown's brackets and quotes ("see /en/account/reset", "[x](/en/y)");
// a slash inside a word ("and/or") is no link.
var linkIn = regexp.MustCompile("https?://[^\\s<>\"'`]+|(?:^|[\\s(\\[<\"'`*_])(/[^\\s<>\"'`]+)")

// find returns the ids of the articles text links to, in order, each once,
// and how many links named an article of this help center that does not
// exist (renamed or deleted since).
func (l articleLinks) find(text string) (ids []string, stale int) {
	for _, m := range linkIn.FindAllStringSubmatch(text, -1) {
		raw := m[0]
		if m[1] != "" {
			raw = m[1]
		}
		// Sentence and markdown punctuation after a link is not part of it.
		raw = strings.TrimRight(raw, ".,;:!?)]}>'\"*_…")
		id, ours := l.resolve(raw)
		switch {
		case !ours:
		case id == "":
			stale++
		case !slices.Contains(ids, id):
			ids = append(ids, id)
		}
	}
	return ids, stale
}

// resolve maps one link to an article id. ours says it points at an
// article page of this help center, /<lang>/<id>[/][#anchor], which the
// site serves (kb/http.go); id is "" when no such article exists now.
func (l articleLinks) resolve(raw string) (id string, ours bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https") {
		return "", false
	}
	if u.Host != "" && l.host != "" && !strings.EqualFold(u.Host, l.host) {
		return "", false
	}
	p := u.Path
	if l.prefix != "" {
		p = strings.TrimPrefix(p, l.prefix)
	}
	lang, rest, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	rest = strings.Trim(rest, "/")
	if !slices.Contains(l.corpus.Langs, lang) || rest == "" || rest == "search" {
		return "", false // another page: a home page, the search, the contact form
	}
	// The id exists in some language: a French link to an article
	// written in English only still names it.
	if len(l.corpus.Translations(rest)) > 0 {
		return rest, true
	}
	// Else as kb resolves links between articles (Grav's ordering
	// prefixes and parameters).
	if a, _ := l.corpus.Resolve(&kb.Article{Lang: lang}, "/"+lang+"/"+rest, nil); a != nil {
		return a.ID, true
	}
	return "", true
}

// Placeholders of what redact removes. Neither holds a word a search or
// the hand-off detector would read ("phone" is one of its words), so a
// replayed question is searched on what the visitor asked, not on them.
const (
	emailMark = "…@…"
	phoneMark = "…"
)

var (
	emailIn = regexp.MustCompile(`[\p{L}\p{N}._%+\-]+@[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)+`)
	// phoneIn: 8 digits or more, which may be split by spaces, dots,
	// dashes, slashes or brackets, and start with +: phone numbers in any
	// format, and card, account and order numbers with them.
	phoneIn = regexp.MustCompile(`\+?\(?\d(?:[ .\-/()]{0,2}\d){7,}`)
)

// redact replaces email addresses and phone-number-like digit runs: an
// eval set is shared with editors, who need the question, not the person.
func redact(text string) string {
	return phoneIn.ReplaceAllString(emailIn.ReplaceAllString(text, emailMark), phoneMark)
}

// normalQuestion is a question as duplicates compare: case, spacing and
// the punctuation around it do not make another question.
func normalQuestion(text string) string {
	t := strings.Join(strings.Fields(strings.ToLower(text)), " ")
	return strings.TrimFunc(t, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) })
}
