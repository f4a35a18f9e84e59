package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestConfigTrustedProxies(t *testing.T) {
	for _, tt := range []struct {
		name    string
		proxies []string
		wantErr string
	}{
		{"none", nil, ""},
		{"loopback and a private range", []string{"127.0.0.1/32", "10.0.0.0/8", "::1/128"}, ""},
		{"an address without a prefix", []string{"127.0.0.1"}, `server.trusted_proxies: "127.0.0.1" is not a CIDR`},
		{"a name", []string{"10.0.0.0/8", "proxy.local"}, `"proxy.local" is not a CIDR`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Server.TrustedProxies = tt.proxies
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want valid", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}

	c := DefaultConfig()
	env := map[string]string{"BULLE_SERVER_TRUSTED_PROXIES": " 127.0.0.1/32, 10.0.0.0/8 ,"}
	if err := ApplyEnv(&c, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Server.TrustedProxies, " "); got != "127.0.0.1/32 10.0.0.0/8" {
		t.Errorf("from the environment: got %q, want 127.0.0.1/32 10.0.0.0/8", got)
	}
	if n := len(c.TrustedProxyNets()); n != 2 {
		t.Errorf("got %d nets, want 2", n)
	}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "config", c)
	if !strings.Contains(logs.String(), "config.server_trusted_proxies=127.0.0.1/32,10.0.0.0/8") {
		t.Errorf("startup line %q does not show the trusted proxies", logs.String())
	}
}

// TestClientAddressBehindTrustedProxies: with trusted proxies, RealIP is
// the right-most X-Forwarded-For address that is not one of them, and
// only for requests that come from one of them.
func TestClientAddressBehindTrustedProxies(t *testing.T) {
	c := DefaultConfig()
	c.Server.TrustedProxies = []string{"192.0.2.0/24"}
	e := newEcho(slog.New(slog.NewTextHandler(t.Output(), nil)), c.TrustedProxyNets()...)
	e.GET("/ip", func(c echo.Context) error { return c.String(200, c.RealIP()) })
	for _, tt := range []struct {
		name, remote, xff, want string
	}{
		{"through the proxy", "192.0.2.7:51000", "203.0.113.1", "203.0.113.1"},
		{"a forged entry left of the real one", "192.0.2.7:51000", "198.51.100.9, 203.0.113.1", "203.0.113.1"},
		{"through two trusted hops", "192.0.2.7:51000", "203.0.113.1, 192.0.2.8", "203.0.113.1"},
		{"straight from a client", "203.0.113.5:40000", "198.51.100.9", "203.0.113.5"},
		{"from loopback, not listed", "127.0.0.1:40000", "198.51.100.9", "127.0.0.1"},
		{"from a private address, not listed", "10.1.2.3:40000", "198.51.100.9", "10.1.2.3"},
		{"no header", "192.0.2.7:51000", "", "192.0.2.7"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/ip", nil)
			req.RemoteAddr = tt.remote
			if tt.xff != "" {
				req.Header.Set("X-Forwarded-For", tt.xff)
			}
			req.Header.Set("X-Real-Ip", "198.51.100.1")
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if got := rec.Body.String(); got != tt.want {
				t.Errorf("RealIP: got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestContactFormLimitBehindTrustedProxy: behind a trusted proxy (here
// the test itself, on loopback), the contact form counts each client by
// its X-Forwarded-For address, so clients sharing the proxy are not
// limited together, and one client is still limited.
func TestContactFormLimitBehindTrustedProxy(t *testing.T) {
	m := NewMain()
	m.Config.Addr = "127.0.0.1:0"
	m.Config.DataDir = filepath.Join(t.TempDir(), "data")
	m.Config.ArticlesDir = writeArticles(t, testArticles)
	m.Config.Server.TrustedProxies = []string{"127.0.0.1/32", "::1/128"}
	m.Getenv = noEnv
	m.Stderr = t.Output()
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	c := newContactClient(t, m)
	post := func(i int, client string) int {
		status, _ := c.post(map[string]string{"topic": "bug", "email": fmt.Sprintf("v%d@example.org", i), "message": "Ça plante"}, nil,
			http.Header{"X-Forwarded-For": {client}})
		return status
	}
	for i := range 6 {
		if status := post(i, fmt.Sprintf("203.0.113.%d", i+1)); status == http.StatusTooManyRequests {
			t.Errorf("form %d from its own client behind the proxy: got 429, want it accepted", i)
		}
	}
	refused := 0
	for i := range 6 {
		if post(10+i, "198.51.100.1") == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused < 3 {
		t.Errorf("6 forms from one client behind the proxy: %d refused, want the 4th and later", refused)
	}
}
