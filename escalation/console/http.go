package console

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/labstack/echo/v4"
)

// Cookies and limits of the console's pages.
const (
	// sessionCookie holds the session's token: HttpOnly, SameSite=Strict,
	// Path=/console, Secure over https.
	sessionCookie = "bulle_console"
	// csrfCookieAge keeps the pre-session token long enough to fill in a
	// form left open; each page view renews it.
	csrfCookieAge = 2 * time.Hour
	// maxFormBytes bounds a console form: an address and two passwords.
	maxFormBytes = 8 << 10
)

// Register mounts the console:
//
//	GET  /console/               landing page when signed in, else to /console/login
//	GET  /console/login          the sign-in form
//	POST /console/login          signs in (rate-limited) and sets the session cookie
//	GET  /console/setup?t=…      a setup link's password form; looking does not use the link
//	POST /console/setup          sets the password, using the link once
//	POST /console/logout         ends the session and closes its sockets
//	POST /console/away           away=1 sets the agent away, away=0 back
//	GET  /console/events         the console socket: presence and live chat (ws.go)
//	GET  /console/chats          the queue, my chats, all open chats (chat_page.go)
//	GET  /console/chats/{id}     one conversation: its history, files, notes, reply, claim, transfer, close
//	POST /console/chats/{id}/notes  an internal note on it (chat_notes.go)
//	GET  /console/tickets…, /conversations/…, /attachments/{id}, /search,
//	     /canned…                the desk: tickets, search, canned responses, notes (deskRoutes, tickets.go)
//	GET  /console/insights?days=&in=  admins: the editors' to-do list and the figures over time (insights.go)
//	GET  /console/static/{name}  the stylesheets and the scripts
func (c *Console) Register(e *echo.Echo) {
	e.GET("/console", func(ec echo.Context) error {
		return ec.Redirect(http.StatusMovedPermanently, "/console/")
	})
	g := e.Group("/console")
	g.GET("/", c.home)
	g.GET("/login", c.loginPage)
	g.POST("/login", c.login)
	g.GET("/setup", c.setupPage)
	g.POST("/setup", c.setup)
	g.POST("/logout", c.logout)
	g.POST("/away", c.away)
	g.GET("/events", c.events)
	g.GET("/chats", func(ec echo.Context) error { return c.chatsPage(ec.Response(), ec.Request()) })
	g.GET("/chats/:id", func(ec echo.Context) error {
		return c.conversationPage(ec.Response(), ec.Request(), ec.Param("id"))
	})
	g.POST("/chats/:id/notes", func(ec echo.Context) error {
		return c.chatNote(ec.Response(), ec.Request(), ec.Param("id"))
	})
	for _, rt := range deskRoutes {
		g.Add(rt.method, rt.path, func(ec echo.Context) error {
			return rt.handle(c, ec.Response(), ec.Request(), ec.Param(rt.param))
		})
	}
	g.GET("/static/:name", c.static)
}

// home is the landing page: who is signed in, their presence, and the
// away and sign-out buttons. The console's views come with live chat.
func (c *Console) home(ec echo.Context) error {
	r := ec.Request()
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.session(r)
	if err != nil {
		return err
	}
	if sess == nil {
		return ec.Redirect(http.StatusSeeOther, "/console/login?lang="+lang)
	}
	return c.render(ec, http.StatusOK, c.homePage(lang, sess, token))
}

func (c *Console) homePage(lang string, sess *escalation.ConsoleSession, token string) page {
	pg := newPage("home", lang)
	pg.CSRF = sessionCSRF(token)
	pg.Hello = fmt.Sprintf(pg.T["hello"], sess.Agent.Name)
	pg.Role = pg.T[string(sess.Agent.Role)]
	pg.Away = sess.Agent.Away
	return pg
}

// loginPage shows the sign-in form, or sends a signed-in agent home.
func (c *Console) loginPage(ec echo.Context) error {
	r := ec.Request()
	lang := pickLang(r, c.opt.DefaultLang)
	sess, _, err := c.session(r)
	if err != nil {
		return err
	}
	if sess != nil {
		return ec.Redirect(http.StatusSeeOther, "/console/?lang="+lang)
	}
	pg := newPage("login", lang)
	q := r.URL.Query()
	switch {
	case q.Get("out") == "1":
		pg.Notice = pg.T["signed_out"]
	case q.Get("set") == "1":
		pg.Notice = pg.T["set"]
	case q.Get("ended") == "1":
		pg.Notice = pg.T["ended"]
	}
	pg.CSRF = c.preCSRF(ec)
	return c.render(ec, http.StatusOK, pg)
}

// login checks the address and password, within the rate limits, and
// opens a session. Every refusal but the limit reads the same.
func (c *Console) login(ec echo.Context) error {
	r := ec.Request()
	pg := newPage("login", pickLang(r, c.opt.DefaultLang))
	if err := parseForm(ec); err != nil {
		return err
	}
	pg.Email = strings.TrimSpace(r.PostForm.Get("email"))
	if !sameOrigin(r, c.opt.BaseURL, false) || !c.preCSRFOK(r) {
		return c.refuseForm(ec, "login", pg)
	}
	now := c.opt.Now()
	emailKey, ipKey := strings.ToLower(pg.Email), clientKey(r)
	waitEmail, byEmail := c.byEmail.blocked(emailKey, now)
	waitIP, byIP := c.byIP.blocked(ipKey, now)
	if byEmail || byIP {
		secs := int(math.Ceil(max(waitEmail, waitIP).Seconds()))
		ec.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		c.log.Warn("console sign-in refused", "reason", "rate_limited", "by_address", byEmail, "by_ip", byIP, "retry_after_s", secs)
		pg.Error = fmt.Sprintf(pg.T["too_many"], (secs+59)/60)
		pg.CSRF = c.preCSRF(ec)
		return c.render(ec, http.StatusTooManyRequests, pg)
	}
	a, err := c.store.AgentLogin(r.Context(), pg.Email, r.PostForm.Get("password"))
	if escalation.ErrorCode(err) == escalation.EUNAUTHORIZED {
		c.byEmail.add(emailKey, now)
		c.byIP.add(ipKey, now)
		c.log.Info("console sign-in refused", "reason", "wrong_credentials")
		pg.Error = pg.T["bad_login"]
		pg.CSRF = c.preCSRF(ec)
		return c.render(ec, http.StatusUnauthorized, pg)
	} else if err != nil {
		return err
	}
	c.byEmail.reset(emailKey)
	token, sess, err := c.store.OpenConsoleSession(r.Context(), a.ID)
	if err != nil {
		return err
	}
	ec.SetCookie(&http.Cookie{Name: sessionCookie, Value: token, Path: "/console", HttpOnly: true,
		Secure: c.secure(r.TLS != nil), SameSite: http.SameSiteStrictMode, Expires: sess.ExpiresAt})
	c.log.Info("console sign-in", "agent_id", a.ID, "session_id", sess.ID)
	return ec.Redirect(http.StatusSeeOther, "/console/?lang="+pg.Lang)
}

// setupPage shows a setup link's password form. Looking does not use
// the link: chat and mail previews fetch links, and must not spend them.
func (c *Console) setupPage(ec echo.Context) error {
	r := ec.Request()
	token := r.URL.Query().Get("t")
	pg := newPage("setup", pickLang(r, c.opt.DefaultLang))
	a, err := c.store.SetupTokenAgent(r.Context(), token)
	if escalation.ErrorCode(err) == escalation.ENOTFOUND {
		pg.Page = "dead"
		return c.render(ec, http.StatusNotFound, pg)
	} else if err != nil {
		return err
	}
	pg.Email, pg.Token, pg.CSRF = a.Email, token, c.preCSRF(ec)
	return c.render(ec, http.StatusOK, pg)
}

// setup sets the password of a setup link's agent, using the link once,
// then sends them to sign in.
func (c *Console) setup(ec echo.Context) error {
	r := ec.Request()
	pg := newPage("setup", pickLang(r, c.opt.DefaultLang))
	if err := parseForm(ec); err != nil {
		return err
	}
	pg.Token = r.PostForm.Get("t")
	a, err := c.store.SetupTokenAgent(r.Context(), pg.Token)
	if escalation.ErrorCode(err) == escalation.ENOTFOUND {
		pg.Page, pg.Token = "dead", ""
		return c.render(ec, http.StatusNotFound, pg)
	} else if err != nil {
		return err
	}
	pg.Email = a.Email
	if !sameOrigin(r, c.opt.BaseURL, false) || !c.preCSRFOK(r) {
		return c.refuseForm(ec, "setup", pg)
	}
	pw := r.PostForm.Get("password")
	if pw != r.PostForm.Get("confirm") {
		pg.Error, pg.CSRF = pg.T["mismatch"], c.preCSRF(ec)
		return c.render(ec, http.StatusUnprocessableEntity, pg)
	}
	a, err = c.store.SetAgentPassword(r.Context(), pg.Token, pw)
	var ve *escalation.ValidationError
	switch {
	case errors.As(err, &ve):
		pg.Error, pg.CSRF = pg.T["bad_rule"], c.preCSRF(ec)
		return c.render(ec, http.StatusUnprocessableEntity, pg)
	case escalation.ErrorCode(err) == escalation.ENOTFOUND:
		pg.Page, pg.Token = "dead", ""
		return c.render(ec, http.StatusNotFound, pg)
	case err != nil:
		return err
	}
	// A new password ended the agent's sessions in the store; their
	// sockets close now rather than at the next revalidation.
	c.sessions.EndAgent(a.ID)
	c.log.Info("agent password set", "agent_id", a.ID)
	return ec.Redirect(http.StatusSeeOther, "/console/login?set=1&lang="+pg.Lang)
}

// logout ends the session: its row, its cookie and its sockets.
func (c *Console) logout(ec echo.Context) error {
	r := ec.Request()
	lang := pickLang(r, c.opt.DefaultLang)
	sess, _, err := c.signedInPost(ec)
	if err != nil || sess == nil {
		return err
	}
	if err := c.store.EndConsoleSession(r.Context(), sess.ID); err != nil {
		return err
	}
	c.sessions.EndSession(sess.ID)
	c.clearSessionCookie(ec)
	c.log.Info("console sign-out", "agent_id", sess.Agent.ID, "session_id", sess.ID)
	return ec.Redirect(http.StatusSeeOther, "/console/login?out=1&lang="+lang)
}

// away sets the agent away (away=1) or back online (away=0).
func (c *Console) away(ec echo.Context) error {
	r := ec.Request()
	sess, _, err := c.signedInPost(ec)
	if err != nil || sess == nil {
		return err
	}
	if err := c.sessions.SetAway(r.Context(), sess.Agent.ID, r.PostForm.Get("away") == "1"); err != nil {
		return err
	}
	return ec.Redirect(http.StatusSeeOther, "/console/?lang="+pickLang(r, c.opt.DefaultLang))
}

// signedInPost checks a signed-in form post: a live session, this site's
// origin, and the session's CSRF token. On refusal it has answered (a
// redirect to sign in, or 403) and returns a nil session.
func (c *Console) signedInPost(ec echo.Context) (*escalation.ConsoleSession, string, error) {
	r := ec.Request()
	lang := pickLang(r, c.opt.DefaultLang)
	if err := parseForm(ec); err != nil {
		return nil, "", err
	}
	sess, token, err := c.session(r)
	if err != nil {
		return nil, "", err
	}
	if sess == nil {
		c.clearSessionCookie(ec)
		return nil, "", ec.Redirect(http.StatusSeeOther, "/console/login?lang="+lang)
	}
	if !sameOrigin(r, c.opt.BaseURL, false) || !sameToken(r.PostForm.Get("csrf"), sessionCSRF(token)) {
		c.log.Warn("console form refused", "action", strings.TrimPrefix(r.URL.Path, "/console/"), "reason", "csrf",
			"agent_id", sess.Agent.ID)
		pg := c.homePage(lang, sess, token)
		pg.Error = pg.T["expired"]
		return nil, "", c.render(ec, http.StatusForbidden, pg)
	}
	return sess, token, nil
}

// refuseForm answers a pre-session form that failed its CSRF check:
// 403, and the form again with a fresh token.
func (c *Console) refuseForm(ec echo.Context, action string, pg page) error {
	c.log.Warn("console form refused", "action", action, "reason", "csrf")
	pg.Error, pg.CSRF = pg.T["expired"], c.preCSRF(ec)
	return c.render(ec, http.StatusForbidden, pg)
}

// static serves the stylesheet and the script.
func (c *Console) static(ec echo.Context) error {
	a, ok := assets[ec.Param("name")]
	if !ok {
		return echo.ErrNotFound
	}
	h := ec.Response().Header()
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	if ec.Request().Header.Get("If-None-Match") == a.etag {
		return ec.NoContent(http.StatusNotModified)
	}
	return ec.Blob(http.StatusOK, a.contentType, a.body)
}

// session returns the live session of the request's cookie and the
// cookie's token; nil when there is none.
func (c *Console) session(r *http.Request) (*escalation.ConsoleSession, string, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, "", nil
	}
	sess, err := c.store.ConsoleSession(r.Context(), ck.Value)
	if escalation.ErrorCode(err) == escalation.EUNAUTHORIZED {
		return nil, "", nil
	} else if err != nil {
		return nil, "", err
	}
	return &sess, ck.Value, nil
}

func (c *Console) clearSessionCookie(ec echo.Context) {
	ec.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/console", HttpOnly: true,
		Secure: c.secure(ec.Request().TLS != nil), SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// preCSRF returns the pre-session CSRF token for a form, keeping the
// cookie's when it has a good one (two tabs do not undo each other), and
// renews the cookie.
func (c *Console) preCSRF(ec echo.Context) string {
	token := ""
	if ck, err := ec.Request().Cookie(csrfCookie); err == nil && wellFormed(ck.Value) {
		token = ck.Value
	} else {
		token = randomToken()
	}
	ec.SetCookie(&http.Cookie{Name: csrfCookie, Value: token, Path: "/console", HttpOnly: true,
		Secure: c.secure(ec.Request().TLS != nil), SameSite: http.SameSiteStrictMode, MaxAge: int(csrfCookieAge.Seconds())})
	return token
}

// preCSRFOK checks a pre-session form's token against its cookie.
func (c *Console) preCSRFOK(r *http.Request) bool {
	ck, err := r.Cookie(csrfCookie)
	return err == nil && wellFormed(ck.Value) && sameToken(r.PostForm.Get("csrf"), ck.Value)
}

// parseForm reads a small urlencoded form into PostForm.
func parseForm(ec echo.Context) error {
	r := ec.Request()
	r.Body = http.MaxBytesReader(ec.Response(), r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "The form is too large.")
	}
	return nil
}

// render writes a console page with its headers.
func (c *Console) render(ec echo.Context, status int, pg page) error {
	body, err := renderPage(pg)
	if err != nil {
		return fmt.Errorf("console: render %s: %w", pg.Page, err)
	}
	pageHeaders(ec.Response().Header())
	return ec.HTMLBlob(status, body)
}
