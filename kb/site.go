package kb

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file builds the help-center pages' models: what each page shows, in
// which language, without knowing about HTTP. http.go only decodes requests,
// calls these functions and writes what they return. The words of the pages
// live in site_text.go.

// VoteStore is what the help-center pages need to record "was this helpful?" votes.
type VoteStore interface {
	RecordVote(ctx context.Context, lang, articleID, voterID string, helpful bool) error
	VoteTally(ctx context.Context, lang, articleID string) (helpful, total int, err error)
	VoterVote(ctx context.Context, lang, articleID, voterID string) (helpful, found bool, err error)
}

// Activity records what visitors search and read, for the editors'
// insights. Its methods return no error and must not block: a page never
// waits for, nor fails because of, what it records.
type Activity interface {
	// SearchDone records a search (its trimmed query, at most
	// maxRecordedQuery characters, and how many results it showed) and
	// returns its id, a positive number that the result links carry (?s=).
	SearchDone(lang, query string, results int) (id int64)
	// ResultOpened records that the article articleID was opened from the
	// results of search id; only the first article opened counts. The id
	// comes from a URL, so it may be one no search ever had.
	ResultOpened(id int64, articleID string)
	// ArticleRead counts one view of an article's page.
	ArticleRead(lang, articleID string)
}

// SiteOptions configure the help-center pages.
type SiteOptions struct {
	Name          string // shown in the header and page titles; "Bulle" when empty
	SecureCookies bool   // mark the voter cookie Secure: set it when served over HTTPS
	// ContactURL and RequestsURL, when set, are linked from every page's
	// header ("?lang=" and the page's language are appended).
	ContactURL, RequestsURL string
	// BaseURL, when set, makes the article pages' canonical links absolute
	// (search engines prefer them so); without it they are paths.
	BaseURL string
	// Activity, when set, records searches, the results opened and the
	// articles read (GET requests answered with a page, not errors).
	Activity Activity
}

// Site serves the public help center: home pages, search, articles and
// their votes, in each language the corpus and the page catalog share.
type Site struct {
	base  *Base
	votes VoteStore // nil hides the vote form
	opt   SiteOptions
	pages map[string]*template.Template
	css   asset
}

// asset is an embedded static file with its checksum, for ETag and cache busting.
type asset struct {
	data []byte
	sum  string // hex SHA-256
}

//go:embed web
var webFS embed.FS

// pageNames are the templates in web/, each rendered inside web/layout.html.
var pageNames = []string{"home", "search", "article", "notice", "error"}

// NewSite prepares the pages of b. votes may be nil, which hides the vote
// form. It panics if the embedded templates are broken, which a test catches.
func NewSite(b *Base, votes VoteStore, opt SiteOptions) *Site {
	if opt.Name == "" {
		opt.Name = "Bulle"
	}
	s := &Site{base: b, votes: votes, opt: opt, pages: map[string]*template.Template{}}
	for _, name := range pageNames {
		s.pages[name] = template.Must(template.New("layout.html").ParseFS(webFS, "web/layout.html", "web/"+name+".html"))
	}
	css, err := webFS.ReadFile("web/site.css")
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(css)
	s.css = asset{data: css, sum: hex.EncodeToString(sum[:])}
	return s
}

// view is a page to send: its template, status and model.
type view struct {
	Template string
	Status   int
	Data     any
}

// render executes a view into HTML.
func (s *Site) render(v view) ([]byte, error) {
	t, ok := s.pages[v.Template]
	if !ok {
		return nil, fmt.Errorf("kb: no page template %q", v.Template)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v.Data); err != nil {
		return nil, fmt.Errorf("kb: render %s: %w", v.Template, err)
	}
	return buf.Bytes(), nil
}

// fallbackLang is the language whose articles are listed, marked, on the
// home pages of languages that lack a translation of them.
const fallbackLang = "en"

// maxQueryRunes bounds a search query: longer text is not a question, and
// analysing it costs time for nothing.
const maxQueryRunes = 500

// maxRecordedQuery bounds, in characters, the query a search records:
// enough for any question, and the insights table stays small.
const maxRecordedQuery = 200

// searchParam names the query parameter of the result links that carries
// the search's id, so that opening one is recorded against its search.
const searchParam = "s"

// voterCookie names the cookie holding a visitor's anonymous voter id.
const voterCookie = "bulle_voter"

// page is what every page shares: its language, words and language switch.
type page struct {
	Lang     string
	SiteName string
	Title    string // the <title> and the page heading
	T        map[string]string
	Switch   []langLink
	CSS      string // stylesheet URL, versioned by checksum
	Query    string // the search box's text
	Contact  string // the contact page, "" when there is none
	Requests string // the visitor's past requests, "" when there are none
	// Canonical is the page's address without the query parameters that
	// only record where the visitor came from (?s=), so that shared links
	// and search engines keep the plain one; "" adds no canonical link.
	Canonical string
}

// homePage lists a language's articles by topic.
type homePage struct {
	page
	Topics []topicGroup
}

// searchPage shows the search box and, after a search, its results.
type searchPage struct {
	page
	Searched    bool
	ResultsFor  string
	Hits        []searchHit
	OnlyEnglish string // the notice on hits in the fallback language
	Message     string // why the query was refused
}

// articlePage shows one article and its vote form.
type articlePage struct {
	page
	Crumbs      []crumb
	Description string
	Body        template.HTML
	Vote        *voteBox // nil when votes are off
}

// noticePage stands in for an article written only in another language.
type noticePage struct {
	page
	Crumbs    []crumb
	OtherLang string
	Notice    string
	LinkText  string
	URL       string
}

// errorPage explains a refused request or a missing page.
type errorPage struct {
	page
	Message string
}

// langLink leads to the same page, or the nearest one, in another language.
type langLink struct {
	Lang string
	Name string // the language's name in itself
	URL  string
}

// topicGroup is one topic of the home page and its articles.
type topicGroup struct {
	Slug     string
	Title    string
	Articles []articleLink
}

// articleLink is one article in a list.
type articleLink struct {
	URL         string
	Lang        string
	Title       string
	Description string
	EnglishOnly bool
}

// crumb is one step of a breadcrumb.
type crumb struct {
	Title string
	URL   string
}

// searchHit is one result of the search page.
type searchHit struct {
	URL         string
	Lang        string
	Title       string
	Heading     string
	Passage     string
	EnglishOnly bool
}

// voteBox is the "was this helpful?" form under an article.
type voteBox struct {
	Action  string
	ID      string
	Line    string // "96 of 2011 found this helpful"; empty when nobody voted
	Voted   bool
	Helpful bool
}

// articleURL is the page of an article, with an optional heading anchor.
func articleURL(lang, id, anchor string) string {
	u := url.URL{Path: "/" + lang + "/" + id, Fragment: anchor}
	return u.String()
}

// homeURL is the home page of a language, with an optional topic anchor.
func homeURL(lang, topic string) string {
	u := url.URL{Path: "/" + lang + "/"}
	if topic != "" {
		u.Fragment = "topic-" + topic
	}
	return u.String()
}

// homeTopics groups the articles of lang by topic, each topic ordered by
// weight then title. Articles that exist only in the fallback language are
// listed too, under their topic, marked EnglishOnly.
func homeTopics(c *Corpus, lang string) []topicGroup {
	type entry struct {
		a    *Article
		link articleLink
	}
	byTopic := map[string][]entry{}
	add := func(a *Article, only bool) {
		byTopic[a.Topic] = append(byTopic[a.Topic], entry{a, articleLink{
			URL: articleURL(a.Lang, a.ID, ""), Lang: a.Lang, Title: a.Title,
			Description: a.Description, EnglishOnly: only,
		}})
	}
	for _, a := range c.InLang(lang) {
		add(a, false)
	}
	if lang != fallbackLang {
		for _, a := range c.InLang(fallbackLang) {
			if c.Get(lang, a.ID) == nil {
				add(a, true)
			}
		}
	}
	topics := make([]string, 0, len(byTopic))
	for t := range byTopic {
		topics = append(topics, t)
	}
	slices.SortFunc(topics, topicRank)
	out := make([]topicGroup, 0, len(topics))
	for _, t := range topics {
		es := byTopic[t]
		slices.SortFunc(es, func(x, y entry) int {
			return cmp.Or(
				cmp.Compare(x.a.Weight, y.a.Weight),
				strings.Compare(strings.ToLower(FoldAccents(x.a.Title)), strings.ToLower(FoldAccents(y.a.Title))),
				strings.Compare(x.a.ID, y.a.ID))
		})
		g := topicGroup{Slug: t, Title: topicTitle(lang, t)}
		for _, e := range es {
			g.Articles = append(g.Articles, e.link)
		}
		out = append(out, g)
	}
	return out
}

// homeSwitch links a home page to the home pages of the other languages.
func homeSwitch(langs []string, lang string) []langLink {
	var out []langLink
	for _, l := range langs {
		if l != lang {
			out = append(out, langLink{Lang: l, Name: catalog[l]["lang_name"], URL: homeURL(l, "")})
		}
	}
	return out
}

// articleSwitch links an article to its translations, or to the other
// languages' home pages where it has none.
func articleSwitch(c *Corpus, langs []string, lang, id string) []langLink {
	out := homeSwitch(langs, lang)
	for i, l := range out {
		if c.Get(l.Lang, id) != nil {
			out[i].URL = articleURL(l.Lang, id, "")
		}
	}
	return out
}

// searchSwitch links a search page to the same search in the other languages.
func searchSwitch(langs []string, lang, q string) []langLink {
	out := homeSwitch(langs, lang)
	for i, l := range out {
		u := url.URL{Path: "/" + l.Lang + "/search"}
		if q != "" {
			u.RawQuery = url.Values{"q": {q}}.Encode()
		}
		out[i].URL = u.String()
	}
	return out
}

// searchHits turns search results into the search page's lines. A
// searchID over 0 is added to each link (?s=), for the article page to
// record which result was opened.
func searchHits(hits []Hit, searchID int64) []searchHit {
	out := make([]searchHit, 0, len(hits))
	for _, h := range hits {
		u := url.URL{Path: "/" + h.Lang + "/" + h.ID, Fragment: h.Anchor}
		if searchID > 0 {
			u.RawQuery = searchParam + "=" + strconv.FormatInt(searchID, 10)
		}
		sh := searchHit{URL: u.String(), Lang: h.Lang, Title: h.Title,
			Passage: h.Passage, EnglishOnly: h.EnglishOnly}
		if h.Heading != h.Title {
			sh.Heading = h.Heading
		}
		out = append(out, sh)
	}
	return out
}

// onlyIn finds the language an article missing in lang exists in, preferring
// the fallback language; "" when it exists nowhere.
func onlyIn(c *Corpus, langs []string, lang, id string) string {
	have := c.Translations(id)
	if slices.Contains(have, fallbackLang) && lang != fallbackLang && slices.Contains(langs, fallbackLang) {
		return fallbackLang
	}
	for _, l := range have {
		if l != lang && slices.Contains(langs, l) {
			return l
		}
	}
	return ""
}

// parseHelpful reads the vote form's answer.
func parseHelpful(v string) (helpful, ok bool) {
	switch v {
	case "yes":
		return true, true
	case "no":
		return false, true
	}
	return false, false
}

// sameOrigin reports whether a form post may be accepted: browsers send
// Origin on cross-site POSTs, so an Origin whose host differs from the
// request's Host is another site submitting our form (CSRF). No Origin at
// all is accepted: old browsers and non-browser clients omit it.
func sameOrigin(origin, host string) bool {
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false // includes "null", sent by sandboxed and privacy-sensitive contexts
	}
	return strings.EqualFold(u.Host, host)
}

// newVoterID returns a random 128-bit voter id in hex.
func newVoterID() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails since Go 1.24; it crashes the program instead
	return hex.EncodeToString(b)
}

// validVoterID accepts only ids this site could have issued, so the store
// never sees arbitrary cookie text.
func validVoterID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// cssURL is the stylesheet's address, changed by every edit so browsers may
// cache it for a year.
func (s *Site) cssURL() string { return "/static/site.css?v=" + s.css.sum[:12] }

func (s *Site) newPage(c *Corpus, lang, title string) page {
	p := page{Lang: lang, SiteName: s.opt.Name, Title: title, T: catalog[lang],
		Switch: homeSwitch(siteLangs(c), lang), CSS: s.cssURL()}
	if s.opt.ContactURL != "" {
		p.Contact = s.opt.ContactURL + "?lang=" + url.QueryEscape(lang)
	}
	if s.opt.RequestsURL != "" {
		p.Requests = s.opt.RequestsURL + "?lang=" + url.QueryEscape(lang)
	}
	return p
}

// homeView is a language's home page.
func (s *Site) homeView(lang string) view {
	c := s.base.Corpus()
	p := homePage{page: s.newPage(c, lang, catalog[lang]["help_center"]), Topics: homeTopics(c, lang)}
	return view{Template: "home", Status: 200, Data: p}
}

// recordedQuery is a search's query as the insights keep it: trimmed, and
// cut to maxRecordedQuery characters.
func recordedQuery(q string) string {
	q = strings.TrimSpace(q)
	if utf8.RuneCountInString(q) > maxRecordedQuery {
		q = strings.TrimSpace(string([]rune(q)[:maxRecordedQuery]))
	}
	return q
}

// parseSearchID reads the ?s= of a result link: a search id is over 0,
// and anything else is ignored (0).
func parseSearchID(v string) int64 {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// canonicalURL is the absolute address of path when the site knows its
// base URL, else path itself.
func (s *Site) canonicalURL(path string) string {
	return strings.TrimSuffix(s.opt.BaseURL, "/") + path
}

// searchView searches the articles for q; an empty q shows only the form.
// A search that shows results (or says there are none) is recorded in
// act, which is nil when nothing is to be recorded.
func (s *Site) searchView(ctx context.Context, lang, q string, act Activity) (view, error) {
	c := s.base.Corpus()
	p := searchPage{page: s.newPage(c, lang, catalog[lang]["search"])}
	p.Switch = searchSwitch(siteLangs(c), lang, q)
	if utf8.RuneCountInString(q) > maxQueryRunes {
		p.Query = string([]rune(q)[:maxQueryRunes])
		p.Message = catalog[lang]["query_too_long"]
		return view{Template: "search", Status: 400, Data: p}, nil
	}
	p.Query = q
	if strings.TrimSpace(q) == "" {
		return view{Template: "search", Status: 200, Data: p}, nil
	}
	hits, err := s.base.Search(ctx, Query{Text: q, Lang: lang, Limit: 10})
	if errors.Is(err, ErrUnavailable) {
		// The index was found broken and is being rebuilt from the articles
		// (base.go): a moment's wait, not a server failure. The page keeps
		// the query in its box, for the visitor to search again.
		p.Message = catalog[lang]["search_rebuilding"]
		return view{Template: "search", Status: 503, Data: p}, nil
	}
	if err != nil {
		return view{}, err
	}
	p.Searched = true
	p.Title = q + " – " + catalog[lang]["search"]
	p.ResultsFor = catalog[lang]["results_for"] + " «\u00a0" + q + "\u00a0»"
	if lang == "en" {
		p.ResultsFor = catalog[lang]["results_for"] + " “" + q + "”"
	}
	var searchID int64
	if act != nil {
		searchID = act.SearchDone(lang, recordedQuery(q), len(hits))
	}
	p.Hits = searchHits(hits, searchID)
	if lang != fallbackLang {
		p.OnlyEnglish, _ = onlyInNotice(lang, fallbackLang)
	}
	return view{Template: "search", Status: 200, Data: p}, nil
}

// articleView is an article's page with its votes, the notice for an
// article written only in another language, or a 404 page. voterID is the
// visitor's cookie, "" when they have none. An article's page is recorded
// in act (nil records nothing) as a read, and as the result opened from
// fromSearch when that is over 0.
func (s *Site) articleView(ctx context.Context, lang, id, voterID string, fromSearch int64, act Activity) (view, error) {
	c := s.base.Corpus()
	langs := siteLangs(c)
	a := c.Get(lang, id)
	if a == nil {
		other := onlyIn(c, langs, lang, id)
		if other == "" {
			return s.errorView(lang, 404, "not_found"), nil
		}
		oa := c.Get(other, id)
		p := noticePage{page: s.newPage(c, lang, oa.Title), OtherLang: other, URL: articleURL(other, id, ""),
			Crumbs: articleCrumbs(lang, oa.Topic)}
		p.Notice, p.LinkText = onlyInNotice(lang, other)
		p.Switch = articleSwitch(c, langs, lang, id)
		return view{Template: "notice", Status: 200, Data: p}, nil
	}
	body, err := Render(a)
	if err != nil {
		return view{}, fmt.Errorf("kb: render %s: %w", a.Key(), err)
	}
	p := articlePage{page: s.newPage(c, lang, a.Title), Crumbs: articleCrumbs(lang, a.Topic),
		Description: a.Description, Body: body}
	p.Canonical = s.canonicalURL(articleURL(lang, id, ""))
	p.Switch = articleSwitch(c, langs, lang, id)
	if s.votes != nil {
		box := &voteBox{Action: "/" + lang + "/vote", ID: id}
		helpful, total, err := s.votes.VoteTally(ctx, lang, id)
		if err != nil {
			return view{}, err
		}
		box.Line = voteLine(lang, helpful, total)
		if validVoterID(voterID) {
			box.Helpful, box.Voted, err = s.votes.VoterVote(ctx, lang, id, voterID)
			if err != nil {
				return view{}, err
			}
		}
		p.Vote = box
	}
	// Recorded last, once the page is sure to be sent: a failed vote
	// count above is an error page, which is no read.
	if act != nil {
		if fromSearch > 0 {
			act.ResultOpened(fromSearch, id)
		}
		act.ArticleRead(lang, id)
	}
	return view{Template: "article", Status: 200, Data: p}, nil
}

// articleCrumbs leads from an article back to its home page and topic.
func articleCrumbs(lang, topic string) []crumb {
	out := []crumb{{Title: catalog[lang]["home"], URL: homeURL(lang, "")}}
	if topic != "" {
		out = append(out, crumb{Title: topicTitle(lang, topic), URL: homeURL(lang, topic)})
	}
	return out
}

// errorView is a page explaining a refusal; key names its message in the catalog.
func (s *Site) errorView(lang string, status int, key string) view {
	c := s.base.Corpus()
	title := catalog[lang]["bad_request_title"]
	if status == 404 {
		title = catalog[lang]["not_found_title"]
	}
	p := errorPage{page: s.newPage(c, lang, title), Message: catalog[lang][key]}
	return view{Template: "error", Status: status, Data: p}
}

// checkVote validates a vote form: the article must exist in lang and the
// answer be "yes" or "no". problem names the catalog message when it is refused.
func (s *Site) checkVote(lang, id, answer string) (helpful bool, problem string) {
	if id == "" || s.base.Corpus().Get(lang, id) == nil {
		return false, "unknown_article"
	}
	helpful, ok := parseHelpful(answer)
	if !ok {
		return false, "bad_answer"
	}
	return helpful, ""
}
