package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// runWidgetMain runs the whole server with the bubble allowed on one site.
func runWidgetMain(t *testing.T) *Main {
	t.Helper()
	m := NewMain()
	m.Config.Addr = "127.0.0.1:0"
	m.Config.DataDir = filepath.Join(t.TempDir(), "data")
	m.Config.ArticlesDir = writeArticles(t, testArticles)
	m.Config.Widget.AllowedOrigins = []string{"https://shop.example"}
	m.Getenv = noEnv
	m.Stderr = t.Output()
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// dialBubble opens the visitor WebSocket of m with an Origin header.
func dialBubble(t testing.TB, m *Main, origin string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(m.URL(), "http")+"/widget/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
}

// exchange writes a frame and reads the next n.
func exchange(t *testing.T, c *websocket.Conn, frame string, n int) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for range n {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("after %s: %v", frame, err)
		}
		var f map[string]any
		decodeJSON(t, data, &f)
		out = append(out, f)
	}
	return out
}

func TestServeTheBubble(t *testing.T) {
	m := runWidgetMain(t)

	c, _, err := dialBubble(t, m, "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if f := exchange(t, c, `{"type":"hello","lang":"en"}`, 1)[0]; f["type"] != "welcome" {
		t.Fatalf("got %v, want welcome", f)
	}
	frames := exchange(t, c, `{"type":"message","client_id":"q1","text":"how do I reset my password"}`, 3)
	reply := frames[2]
	d, _ := reply["decision"].(map[string]any)
	a, _ := d["article"].(map[string]any)
	if frames[0]["type"] != "ack" || reply["kind"] != "answer" || a["id"] != "account/reset-password" {
		t.Errorf("got %v, want an ack then an answer from account/reset-password", frames)
	}

	if _, resp, err := dialBubble(t, m, "https://evil.example"); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("unknown origin: got %v, want 403", err)
	}

	for _, tt := range []struct{ url, wantType, wantCSP, wantBody string }{
		{"/widget.js", "application/javascript; charset=utf-8", "", "attachShadow"},
		{"/demo", "text/html", "script-src 'self'", `<script src="/widget.js" data-lang="fr" async></script>`},
	} {
		resp, err := http.Get(m.URL() + tt.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.wantType) || !strings.Contains(string(body), tt.wantBody) {
			t.Errorf("%s: got %d %s, want 200 %s with %q", tt.url, resp.StatusCode, resp.Header.Get("Content-Type"), tt.wantType, tt.wantBody)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, tt.wantCSP) {
			t.Errorf("%s: got CSP %q, want it to contain %q", tt.url, csp, tt.wantCSP)
		}
	}
}

// TestCloseEndsBubbleSockets checks that Close does not wait for visitors
// to leave: their WebSockets are closed, then the store.
func TestCloseEndsBubbleSockets(t *testing.T) {
	m := runWidgetMain(t)
	c, _, err := dialBubble(t, m, "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	exchange(t, c, `{"type":"hello","lang":"fr"}`, 1)
	start := time.Now()
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err = c.Read(ctx)
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read during Close: got %v, want the socket closed", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("close: got %v, want nil", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v, want it not to wait for the visitor", d)
	}
}
