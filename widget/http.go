package widget

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"
)

//go:embed static/min/loader.js static/min/panel.js static/demo.html static/contact.html
var staticFS embed.FS

// Cache lifetimes of the bubble's files (assets.go).
const (
	// scriptMaxAge is how long browsers may keep the loader (/widget.js)
	// without asking again. Sites embed a fixed URL, so it must stay short
	// for a new version to reach them; the ETag makes the re-check cheap.
	scriptMaxAge = 300
	// immutableCache is for the panel and strings files under their
	// content-hashed URLs, which never serve other bytes.
	immutableCache = "public, max-age=31536000, immutable"
)

// demoTemplate is parsed once; it holds no mutable state.
var demoTemplate = template.Must(template.ParseFS(staticFS, "static/demo.html"))

// Register mounts the bubble script, the visitor WebSocket and the demo
// page on e.
func (w *Widget) Register(e *echo.Echo) {
	b, err := builtBubble()
	if err != nil {
		panic(err) // embedded at build time, and built by the tests: cannot fail
	}
	get := []string{http.MethodGet, http.MethodHead}
	e.Match(get, "/widget.js", func(c echo.Context) error {
		return serveScript(c, b.loader, fmt.Sprintf("public, max-age=%d", scriptMaxAge))
	})
	// The panel and the strings files, fetched by the loader on first open.
	bubbleFile := func(c echo.Context) error {
		a, immutable, ok := b.lookup(c.Request().URL.Path)
		if !ok {
			return echo.ErrNotFound
		}
		if immutable {
			return serveScript(c, a, immutableCache)
		}
		return serveScript(c, a, "no-cache")
	}
	e.Match(get, "/widget/:file", bubbleFile)
	e.Match(get, "/widget/i18n/:file", bubbleFile)
	e.GET("/widget/ws", w.handleWS)
	e.Match([]string{http.MethodGet, http.MethodHead}, "/demo", w.handleDemo)
	if w.opt.Tickets != nil {
		e.GET("/contact", w.handleContactForm)
		e.POST("/contact", w.handleContactPost)
		e.POST("/contact/verify", w.handleContactVerify)
	}
	// Plain net/http handlers (attachments.go, uploads.go, requests.go), mounted here.
	e.Match([]string{http.MethodGet, http.MethodOptions}, attachmentsPath+":id", echo.WrapHandler(http.HandlerFunc(w.handleAttachment)))
	// The ticket form's files (uploads.go); a server that takes none
	// answers 404 no_uploads there, in the same JSON as every refusal.
	e.Match([]string{http.MethodPost, http.MethodOptions}, uploadsPath, echo.WrapHandler(w.uploadHandler()))
	if w.opt.Requests != nil {
		pages := echo.WrapHandler(w.newRequestsPages().handler())
		e.Any("/requests", pages)
		e.Any("/requests/*", pages)
	}
}

// contactCookie carries the contact form's CSRF token.
const contactCookie = "bulle_contact"

// handleContactForm shows the contact form, which works without JavaScript.
func (w *Widget) handleContactForm(c echo.Context) error {
	p := w.contactPage(w.contactLang(c.QueryParam("lang")))
	p.Form.PageURL = c.QueryParam("page")
	p.CSRF = newCSRF()
	c.SetCookie(&http.Cookie{Name: contactCookie, Value: p.CSRF, Path: "/contact", HttpOnly: true,
		Secure: c.Scheme() == "https", SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	return renderContact(c, http.StatusOK, p)
}

// handleContactPost opens a ticket from the form.
func (w *Widget) handleContactPost(c echo.Context) error {
	r := c.Request()
	files, err := parseContactForm(c.Response(), r) // plain, or multipart with files (contact_files.go)
	defer dropContactFiles(r)
	if errors.Is(err, errContactTooLarge) {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "The form is too large.")
	} else if err != nil {
		return err
	}
	cookie, _ := r.Cookie(contactCookie)
	csrfOK := cookie != nil && sameCSRF(r.PostForm.Get("csrf"), cookie.Value)
	f := ContactForm{Topic: r.PostForm.Get("topic"), Email: r.PostForm.Get("email"), Name: r.PostForm.Get("name"),
		PageURL: r.PostForm.Get("page_url"), Message: r.PostForm.Get("message"), Website: r.PostForm.Get("website"), Files: files}
	p, err := w.submitContact(r.Context(), w.contactLang(c.QueryParam("lang")), c.RealIP(), f, csrfOK)
	status := http.StatusOK
	switch {
	case errors.Is(err, errContactTooFast):
		status = http.StatusTooManyRequests
	case err != nil:
		return err
	case p.Error != "":
		status = http.StatusUnprocessableEntity
	}
	if p.Ticket == "" || p.Verify != nil {
		p.CSRF = newCSRF()
		c.SetCookie(&http.Cookie{Name: contactCookie, Value: p.CSRF, Path: "/contact", HttpOnly: true,
			Secure: c.Scheme() == "https", SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	}
	if p.conversationToken != "" {
		c.SetCookie(&http.Cookie{Name: contactConvCookie, Value: p.conversationToken, Path: "/contact", HttpOnly: true,
			Secure: c.Scheme() == "https", SameSite: http.SameSiteStrictMode, MaxAge: contactConvMaxAge})
	}
	return renderContact(c, status, p)
}

// handleContactVerify checks the code that proves a contact-form ticket's
// address, or sends a new one (contact_verify.go). The ticket is the one
// whose conversation token the HttpOnly cookie holds.
func (w *Widget) handleContactVerify(c echo.Context) error {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "The form is too large.")
	}
	token := ""
	if conv, err := r.Cookie(contactConvCookie); err == nil {
		token = conv.Value
	}
	cookie, _ := r.Cookie(contactCookie)
	csrfOK := cookie != nil && sameCSRF(r.PostForm.Get("csrf"), cookie.Value)
	p, status, err := w.submitContactVerify(r.Context(), w.contactLang(c.QueryParam("lang")), token,
		r.PostForm.Get("action"), r.PostForm.Get("code"), csrfOK)
	if err != nil {
		return err
	}
	if status == http.StatusNotFound {
		return echo.NewHTTPError(status, "This help center verifies no addresses.")
	}
	p.CSRF = newCSRF()
	c.SetCookie(&http.Cookie{Name: contactCookie, Value: p.CSRF, Path: "/contact", HttpOnly: true,
		Secure: c.Scheme() == "https", SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	return renderContact(c, status, p)
}

func renderContact(c echo.Context, status int, p contactPage) error {
	var buf bytes.Buffer
	if err := contactTemplate.Execute(&buf, p); err != nil {
		return fmt.Errorf("widget: contact page: %w", err)
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'")
	h.Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// serveScript sends one of the bubble's scripts with a checksum ETag,
// gzipped for the browsers that take it (all of them).
func serveScript(c echo.Context, a asset, cache string) error {
	h := c.Response().Header()
	gz := acceptsGzip(c.Request().Header.Get("Accept-Encoding"))
	etag := a.etag(gz)
	h.Set("ETag", etag)
	h.Set("Cache-Control", cache)
	h.Add("Vary", "Accept-Encoding")
	// Other sites load it; let them even when they isolate themselves (COEP).
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	if inm := c.Request().Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, etag) {
		return c.NoContent(http.StatusNotModified)
	}
	body := a.data
	if gz {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	return c.Blob(http.StatusOK, "application/javascript; charset=utf-8", body)
}

// acceptsGzip reads an Accept-Encoding header: gzip, unless refused with q=0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") || strings.TrimSpace(name) == "*" {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// hostPattern is what a Host header may look like to be written into the
// demo page's CSP: a name or address and a port, nothing that could end the
// directive.
var hostPattern = regexp.MustCompile(`^[A-Za-z0-9.\-\[\]:]+$`)

// handleDemo serves a page about a fictitious shop that embeds the bubble
// with its one script line, in the language of ?lang= (French by default).
func (w *Widget) handleDemo(c echo.Context) error {
	lang := c.QueryParam("lang")
	if lang != "en" {
		lang = "fr"
	}
	var buf bytes.Buffer
	if err := demoTemplate.Execute(&buf, map[string]string{"Lang": lang}); err != nil {
		return fmt.Errorf("widget: demo page: %w", err)
	}
	h := c.Response().Header()
	// The demo page's own policy: its script from here, the socket to here
	// (named with ws:/wss: because older browsers do not count them as
	// 'self'), inline styles for the page itself.
	connect := "'self'"
	if host := c.Request().Host; hostPattern.MatchString(host) {
		connect += " ws://" + host + " wss://" + host
	}
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; connect-src "+connect+
		"; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
	h.Set("Cache-Control", "no-cache")
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}
