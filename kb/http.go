package kb

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// The help center's HTTP side: each handler decodes the request, asks
// site.go for a page, and writes it. Errors that are not the visitor's
// fault are returned to echo's HTTPErrorHandler, which logs them and shows
// "Internal error.".

// maxVoteForm bounds the vote form's body: an id and a yes or no.
const maxVoteForm = 4 << 10

// voterCookieAge keeps a visitor's votes theirs for a year.
const voterCookieAge = 365 * 24 * time.Hour

// pageCSP allows the pages nothing they do not use: no script at all,
// styles from here (goldmark writes table alignment as inline styles),
// images from anywhere an article links to, forms posted only here.
const pageCSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src * data:; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'self'"

// Register mounts the help-center pages on e.
func (s *Site) Register(e *echo.Echo) {
	// Pages answer HEAD too, for uptime monitors and link checkers.
	get := func(path string, h echo.HandlerFunc) {
		e.Match([]string{http.MethodGet, http.MethodHead}, path, h)
	}
	get("/", s.handleRoot)
	get("/static/site.css", s.handleCSS)
	get("/:lang", s.handleLangRoot)
	get("/:lang/", s.handleHome)
	get("/:lang/search", s.handleSearch)
	get("/:lang/*", s.handleArticle)
	e.POST("/:lang/vote", s.handleVote)
}

// handleRoot sends visitors to the home page in the language their browser prefers.
func (s *Site) handleRoot(c echo.Context) error {
	lang := pageLang(s.base.Corpus(), c.Request().Header.Get("Accept-Language"))
	c.Response().Header().Add("Vary", "Accept-Language")
	return c.Redirect(http.StatusFound, homeURL(lang, ""))
}

// handleLangRoot adds the slash to /fr.
func (s *Site) handleLangRoot(c echo.Context) error {
	lang, ok := s.lang(c)
	if !ok {
		return s.notFound(c)
	}
	return c.Redirect(http.StatusMovedPermanently, homeURL(lang, ""))
}

func (s *Site) handleHome(c echo.Context) error {
	lang, ok := s.lang(c)
	if !ok {
		return s.notFound(c)
	}
	return s.send(c, s.homeView(lang))
}

func (s *Site) handleSearch(c echo.Context) error {
	lang, ok := s.lang(c)
	if !ok {
		return s.notFound(c)
	}
	v, err := s.searchView(c.Request().Context(), lang, c.QueryParam("q"), s.activity(c))
	if err != nil {
		return fmt.Errorf("kb: search page: %w", err)
	}
	return s.send(c, v)
}

func (s *Site) handleArticle(c echo.Context) error {
	lang, ok := s.lang(c)
	if !ok {
		return s.notFound(c)
	}
	// The id may hold slashes; read it from the decoded path rather than
	// from echo's raw wildcard.
	id := strings.TrimPrefix(c.Request().URL.Path, "/"+lang+"/")
	id = strings.TrimSuffix(id, "/")
	if id == "" {
		return s.send(c, s.homeView(lang))
	}
	v, err := s.articleView(c.Request().Context(), lang, id, voterID(c),
		parseSearchID(c.QueryParam(searchParam)), s.activity(c))
	if err != nil {
		return fmt.Errorf("kb: article page: %w", err)
	}
	return s.send(c, v)
}

// handleVote records a "was this helpful?" answer and goes back to the
// article (303, so reloading does not post again).
func (s *Site) handleVote(c echo.Context) error {
	lang, ok := s.lang(c)
	if !ok || s.votes == nil {
		return s.notFound(c)
	}
	r := c.Request()
	// The form is anonymous, so there is no session to bind a token to: the
	// browser's Origin (and Sec-Fetch-Site) headers are the CSRF defence.
	if !sameOrigin(r.Header.Get("Origin"), r.Host) || r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return s.send(c, s.errorView(lang, http.StatusForbidden, "cross_site"))
	}
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxVoteForm)
	id := r.PostFormValue("id")
	helpful, problem := s.checkVote(lang, id, r.PostFormValue("helpful"))
	if problem != "" {
		return s.send(c, s.errorView(lang, http.StatusBadRequest, problem))
	}
	voter := voterID(c)
	if !validVoterID(voter) {
		voter = newVoterID()
		c.SetCookie(&http.Cookie{
			Name:     voterCookie,
			Value:    voter,
			Path:     "/",
			MaxAge:   int(voterCookieAge / time.Second),
			HttpOnly: true,
			Secure:   s.opt.SecureCookies,
			SameSite: http.SameSiteLaxMode,
		})
	}
	if err := s.votes.RecordVote(r.Context(), lang, id, voter, helpful); err != nil {
		return fmt.Errorf("kb: vote: %w", err)
	}
	return c.Redirect(http.StatusSeeOther, articleURL(lang, id, "vote"))
}

// handleCSS serves the stylesheet with a checksum ETag. The pages link it
// with ?v=checksum, so a request carrying the current checksum may be cached
// for a year; any other is revalidated.
func (s *Site) handleCSS(c echo.Context) error {
	h := c.Response().Header()
	etag := `"` + s.css.sum[:32] + `"`
	h.Set("ETag", etag)
	if c.QueryParam("v") == s.css.sum[:12] {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, no-cache")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	if etagMatch(c.Request().Header.Get("If-None-Match"), etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", s.css.data)
}

// lang is the page language named in the URL, and whether it has pages.
func (s *Site) lang(c echo.Context) (string, bool) {
	lang := c.Param("lang")
	return lang, knownLang(s.base.Corpus(), lang)
}

// notFound answers in the visitor's preferred language, since the URL's is unknown.
func (s *Site) notFound(c echo.Context) error {
	lang := pageLang(s.base.Corpus(), c.Request().Header.Get("Accept-Language"))
	return s.send(c, s.errorView(lang, http.StatusNotFound, "not_found"))
}

// send renders a page. Pages may show the visitor's own vote, so shared
// caches must not keep them.
func (s *Site) send(c echo.Context, v view) error {
	body, err := s.render(v)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	// Search queries sit in URLs; keep them from the sites articles link to.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "private, no-cache")
	return c.HTMLBlob(v.Status, body)
}

// activity is where a request's page records searches and reads: nowhere
// for HEAD, which uptime monitors and link checkers send, not readers.
func (s *Site) activity(c echo.Context) Activity {
	if c.Request().Method != http.MethodGet {
		return nil
	}
	return s.opt.Activity
}

// voterID is the visitor's voter cookie, "" when absent.
func voterID(c echo.Context) string {
	ck, err := c.Cookie(voterCookie)
	if err != nil {
		return ""
	}
	return ck.Value
}

// etagMatch reports whether an If-None-Match header names etag.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
