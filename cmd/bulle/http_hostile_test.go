package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestClientAddressIsTheConnections: RealIP, which per-client limits
// count by (the contact form's), is the connection's address, whatever
// forwarding headers a client sends.
func TestClientAddressIsTheConnections(t *testing.T) {
	e := newEcho(slog.New(slog.NewTextHandler(t.Output(), nil)))
	e.GET("/ip", func(c echo.Context) error { return c.String(200, c.RealIP()) })
	req := httptest.NewRequest("GET", "/ip", nil)
	req.RemoteAddr = "192.0.2.7:51000"
	req.Header.Set("X-Forwarded-For", "203.0.113.1, 192.0.2.7")
	req.Header.Set("X-Real-Ip", "198.51.100.1")
	req.Header.Set("Forwarded", "for=198.51.100.2")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if got := rec.Body.String(); got != "192.0.2.7" {
		t.Errorf("RealIP: got %q, want the connection's 192.0.2.7", got)
	}
}

// TestAddressesThatAreNotUTF8AreRefused: a path or a query that decodes
// to bytes that are not UTF-8 gets 400 before any page can echo it.
func TestAddressesThatAreNotUTF8AreRefused(t *testing.T) {
	e := newEcho(slog.New(slog.NewTextHandler(t.Output(), nil)))
	e.GET("/*", func(c echo.Context) error { return c.String(200, "ok") })
	for _, tt := range []struct {
		target string
		want   int
	}{
		{"/en/search?q=r%C3%A9initialiser", http.StatusOK},
		{"/en/search?q=%E2%80%AE%EF%BC%9C", http.StatusOK},
		{"/en/r%C3%A9sum%C3%A9", http.StatusOK},
		{"/en/search?q=%ZZ", http.StatusOK}, // left to the handler
		{"/en/search?q=%FF%FE", http.StatusBadRequest},
		{"/en/search?q=caf%E9", http.StatusBadRequest},
		{"/en/search?lang=en&q=a%C3", http.StatusBadRequest},
		{"/en/%FF", http.StatusBadRequest},
	} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", tt.target, nil))
		if rec.Code != tt.want {
			t.Errorf("%s: got %d, want %d", tt.target, rec.Code, tt.want)
		}
	}
}
