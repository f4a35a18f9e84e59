package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulle-help/bulle/escalation"
	"github.com/bulle-help/bulle/kb"
	"github.com/labstack/echo/v4"
	"github.com/mattn/go-sqlite3"
)

// fakeDB is a pinger whose answer the test chooses.
type fakeDB struct{ err error }

func (f fakeDB) Ping(context.Context) error { return f.err }

var _ pinger = fakeDB{}

func TestHealthz(t *testing.T) {
	tests := []struct {
		name       string
		db         fakeDB
		wantStatus int
		wantBody   string
	}{
		{"database answers", fakeDB{}, 200, `{"articles":7,"status":"ok"}`},
		{"database down", fakeDB{errors.New("disk gone")}, 503, `"status":"unavailable"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := slog.New(slog.NewTextHandler(t.Output(), nil))
			e := newEcho(log)
			e.GET("/healthz", healthz(log, tt.db, func() int { return 7 }))
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
			if rec.Code != tt.wantStatus {
				t.Errorf("status: got %d, want %d", rec.Code, tt.wantStatus)
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("body: got %s, want it to contain %s", rec.Body, tt.wantBody)
			}
			if strings.Contains(rec.Body.String(), "disk gone") {
				t.Errorf("body: got %s, want no internal detail", rec.Body)
			}
		})
	}
}

func TestErrorHandler(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		accept     string
		wantStatus int
		wantBody   string
		wantLogged bool
	}{
		{"echo error keeps its code", echo.NewHTTPError(http.StatusTeapot, "short and stout"), "application/json",
			418, `{"error":"short and stout"}`, false},
		{"store validation is 400", fmt.Errorf("vote: %w", &escalation.ValidationError{Field: "lang", Msg: "unknown language"}), "application/json",
			400, `{"error":"lang: unknown language"}`, false},
		{"store not found is 404", fmt.Errorf("get: %w", escalation.ErrNotFound), "application/json",
			404, `{"error":"Not found."}`, false},
		{"an index being rebuilt is 503", fmt.Errorf("search: %w", kb.ErrUnavailable), "application/json",
			503, `{"error":"The search is being rebuilt; try again in a moment."}`, false},
		{"a locked database is 503, and logged", fmt.Errorf("store: create ticket: %w", sqlite3.Error{Code: sqlite3.ErrBusy}), "application/json",
			503, `{"error":"Nothing could be saved just now; please try again in a moment."}`, true},
		{"a full disk is 503, and logged", fmt.Errorf("store: commit: %w", sqlite3.Error{Code: sqlite3.ErrFull}), "application/json",
			503, `{"error":"Nothing could be saved just now; please try again in a moment."}`, true},
		{"anything else is hidden", errors.New("secret table exploded"), "application/json",
			500, `{"error":"Internal error."}`, true},
		{"page for browsers", errors.New("secret table exploded"), "text/html,*/*",
			500, "<p>Internal error.</p>", true},
		{"page escapes messages", echo.NewHTTPError(400, "<script>"), "",
			400, "&lt;script&gt;", false},
		{"panic is recovered", errPanic, "application/json",
			500, `{"error":"Internal error."}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			e := newEcho(slog.New(slog.NewTextHandler(&logs, nil)))
			e.GET("/fail", func(echo.Context) error {
				if tt.err == errPanic {
					panic("boom")
				}
				return tt.err
			})
			req := httptest.NewRequest("GET", "/fail?q=my+private+question", nil)
			req.Header.Set("Accept", tt.accept)
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Errorf("status: got %d, want %d", rec.Code, tt.wantStatus)
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("body: got %s, want it to contain %s", rec.Body, tt.wantBody)
			}
			if strings.Contains(rec.Body.String(), "exploded") {
				t.Errorf("body: got %s, want no internal detail", rec.Body)
			}
			if got := strings.Contains(logs.String(), "level=ERROR"); got != tt.wantLogged {
				t.Errorf("logged as error: got %v, want %v; logs %s", got, tt.wantLogged, logs.String())
			}
			if !strings.Contains(logs.String(), fmt.Sprintf("msg=request method=GET path=/fail status=%d", tt.wantStatus)) {
				t.Errorf("request log: got %s, want method, path and status", logs.String())
			}
			if strings.Contains(logs.String(), "private") {
				t.Errorf("request log: got %s, want no query string", logs.String())
			}
		})
	}
}

var errPanic = errors.New("panic")

func TestBodyLimit(t *testing.T) {
	e := newEcho(slog.New(slog.NewTextHandler(t.Output(), nil)))
	e.POST("/echo", func(c echo.Context) error { return c.NoContent(204) })
	req := httptest.NewRequest("POST", "/echo", strings.NewReader(strings.Repeat("x", 1<<20+1)))
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status: got %d, want 413", rec.Code)
	}
}

func TestSecureHeaders(t *testing.T) {
	e := newEcho(slog.New(slog.NewTextHandler(t.Output(), nil)))
	e.GET("/x", func(c echo.Context) error { return c.String(200, "ok") })
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	for h, want := range map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "SAMEORIGIN",
		"Referrer-Policy":         "strict-origin-when-cross-origin",
		"Content-Security-Policy": contentSecurityPolicy,
	} {
		if got := rec.Header().Get(h); got != want {
			t.Errorf("%s: got %q, want %q", h, got, want)
		}
	}
}
