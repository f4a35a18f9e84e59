package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bulle-help/bulle/escalation"
	"github.com/bulle-help/bulle/kb"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// contentSecurityPolicy fits the help-center pages, which load only their
// own stylesheet from /static and may show inline data: images.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'self'"

// bodyLimit bounds every request body; no form or message needs more.
const bodyLimit = "1M"

// newEcho returns the echo server with the middleware every route shares
// and the one error handler. trustedProxies are server.trusted_proxies.
func newEcho(log *slog.Logger, trustedProxies ...*net.IPNet) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(log)
	// A client's address is its connection's: without an extractor, echo's
	// RealIP believes X-Forwarded-For and X-Real-IP, which anyone can send,
	// and a per-client limit (the contact form's) would count each forged
	// value as a new client.
	e.IPExtractor = clientIPExtractor(trustedProxies)
	e.Use(
		requestLogger(log),
		middleware.RecoverWithConfig(middleware.RecoverConfig{
			LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
				log.Error("panic", "method", c.Request().Method, "path", c.Request().URL.Path,
					"err", err, "stack", string(stack))
				// Logged here with its stack, so the handler does not log it again.
				return echo.NewHTTPError(http.StatusInternalServerError, internalError)
			},
		}),
		middleware.SecureWithConfig(middleware.SecureConfig{
			ContentTypeNosniff:    "nosniff",
			XFrameOptions:         "SAMEORIGIN",
			ReferrerPolicy:        "strict-origin-when-cross-origin",
			ContentSecurityPolicy: contentSecurityPolicy,
		}),
		middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: bodyLimit, Skipper: boundsItsOwnBody}),
		utf8Only,
	)
	return e
}

// clientIPExtractor returns how RealIP finds the client: the connection's
// address, or, behind trusted proxies, the right-most X-Forwarded-For entry
// that is not one of them (the proxies append, so entries to its left are
// whatever the client sent). echo trusts loopback, link-local and private
// ranges by default; here only the listed ranges are trusted, so a
// proxy on 127.0.0.1 must be listed as 127.0.0.1/32.
func clientIPExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// utf8Only refuses a request whose path or query, decoded, is not UTF-8.
// Every page is UTF-8 and browsers send nothing else; the pages that show
// their query back (the searches) would otherwise write the bytes into
// their HTML. A query that does not decode is left to its handler.
func utf8Only(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := c.Request().URL
		q, err := url.QueryUnescape(u.RawQuery)
		if !utf8.ValidString(u.Path) || err == nil && !utf8.ValidString(q) {
			return echo.NewHTTPError(http.StatusBadRequest, "The address is not valid UTF-8.")
		}
		return next(c)
	}
}

// boundsItsOwnBody names the routes that take more than bodyLimit and
// bound their body themselves: the contact form with its files (up to
// widget.ContactMaxUpload).
func boundsItsOwnBody(c echo.Context) bool {
	return c.Request().Method == http.MethodPost && c.Path() == "/contact"
}

// requestLogger logs one line per request at info: method, path, status
// and latency. Never the query string, which may hold a visitor's question
// or a token, and never a body.
func requestLogger(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogMethod:   true,
		LogURIPath:  true,
		LogStatus:   true,
		LogLatency:  true,
		HandleError: true, // so the status logged is the error handler's
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			log.LogAttrs(c.Request().Context(), slog.LevelInfo, "request",
				slog.String("method", v.Method),
				slog.String("path", v.URIPath),
				slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency))
			return nil
		},
	})
}

// internalError is all a visitor learns about a failure that is not theirs.
const internalError = "Internal error."

// errorStatus maps an error to the status and message to show: the one
// place where errors become HTTP statuses. internal says the error is the
// server's fault, to be logged and hidden behind "Internal error.".
func errorStatus(err error) (code int, msg string, internal bool) {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if m, ok := he.Message.(string); ok {
			msg = m
		} else {
			msg = http.StatusText(he.Code)
		}
		return he.Code, msg, false
	}
	if errors.Is(err, context.Canceled) {
		// The client left, or the server is shutting down.
		return http.StatusServiceUnavailable, "Try again in a moment.", false
	}
	if errors.Is(err, kb.ErrUnavailable) {
		// The index is being rebuilt from the articles: a moment, not a
		// failure. The search page says so itself (kb/site.go); this is for
		// any other handler that meets it.
		return http.StatusServiceUnavailable, "The search is being rebuilt; try again in a moment.", false
	}
	switch escalation.ErrorCode(err) {
	case escalation.EINVALID:
		return http.StatusBadRequest, escalation.ErrorMessage(err), false
	case escalation.ENOTFOUND:
		return http.StatusNotFound, escalation.ErrorMessage(err), false
	case escalation.ECONFLICT:
		return http.StatusConflict, escalation.ErrorMessage(err), false
	case escalation.ETOOMANY:
		return http.StatusTooManyRequests, escalation.ErrorMessage(err), false
	case escalation.EUNAUTHORIZED:
		return http.StatusUnauthorized, escalation.ErrorMessage(err), false
	case escalation.EUNAVAILABLE:
		// Logged: an operator must learn the disk is full or the database
		// locked, though the visitor is only asked to try again.
		return http.StatusServiceUnavailable, "Nothing could be saved just now; please try again in a moment.", true
	}
	return http.StatusInternalServerError, internalError, true
}

// errorHandler replies to a failed request in JSON when the client accepts
// JSON, else with a small page, and logs internal errors.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		r := c.Request()
		code, msg, internal := errorStatus(err)
		if internal {
			log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		var werr error
		switch {
		case r.Method == http.MethodHead:
			werr = c.NoContent(code)
		case strings.Contains(r.Header.Get(echo.HeaderAccept), echo.MIMEApplicationJSON):
			werr = c.JSON(code, map[string]string{"error": msg})
		default:
			werr = c.HTML(code, fmt.Sprintf(errorPage, code, html.EscapeString(http.StatusText(code)), html.EscapeString(msg)))
		}
		if werr != nil {
			log.Debug("write error response", "err", werr)
		}
	}
}

const errorPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>%[1]d %[2]s</title></head>
<body><h1>%[2]s</h1><p>%[3]s</p><p><a href="/">Help center</a></p></body></html>
`

// mountHandler serves a plain net/http handler at each path, behind the
// same middleware as every route, for packages that must not import echo.
func mountHandler(e *echo.Echo, h http.Handler, paths ...string) {
	for _, p := range paths {
		e.GET(p, echo.WrapHandler(h))
	}
}

// pinger is a database that can say it is reachable.
type pinger interface {
	Ping(ctx context.Context) error
}

// healthz reports whether the database answers and how many articles are
// served, for load balancers and uptime checks.
func healthz(log *slog.Logger, db pinger, articles func() int) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			log.Warn("health check failed", "err", err)
			return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "error": "database unreachable"})
		}
		return c.JSON(http.StatusOK, map[string]any{"status": "ok", "articles": articles()})
	}
}
