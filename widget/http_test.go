package widget

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestStaticRoutes(t *testing.T) {
	env := newEnv(t, nil)
	tests := []struct {
		name        string
		url         string
		header      map[string]string
		wantStatus  int
		wantHeaders map[string]string // value prefixes
		wantBody    []string
		notBody     []string
	}{
		{"widget script", "/widget.js", nil, 200,
			map[string]string{"Content-Type": "application/javascript; charset=utf-8", "Cache-Control": "public, max-age=300", "ETag": `"`},
			[]string{"attachShadow", "textContent", "data-lang", "/widget/ws"}, []string{"innerHTML"}},
		{"demo in French by default", "/demo", nil, 200,
			map[string]string{"Content-Type": "text/html", "Content-Security-Policy": "default-src 'none'; script-src 'self'; connect-src 'self' ws://"},
			[]string{`<html lang="fr">`, `<script src="/widget.js" data-lang="fr" async></script>`, "Les Thés de Margot"}, nil},
		{"demo in English", "/demo?lang=en", nil, 200, nil,
			[]string{`<script src="/widget.js" data-lang="en" async></script>`, "Margot's Teas"}, nil},
		{"demo with an unknown language", "/demo?lang=%22%3E%3Cscript%3E", nil, 200, nil,
			[]string{`data-lang="fr"`}, []string{"<script>"}},
		{"websocket without upgrade", "/widget/ws", nil, http.StatusUpgradeRequired, nil, nil, nil},
		{"websocket from an unknown site", "/widget/ws", map[string]string{"Origin": "https://evil.example"}, 403, nil,
			[]string{"widget.allowed_origins"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", env.srv.URL+tt.url, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status: got %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			for h, want := range tt.wantHeaders {
				if got := resp.Header.Get(h); !strings.HasPrefix(got, want) {
					t.Errorf("%s: got %q, want it to start with %q", h, got, want)
				}
			}
			for _, want := range tt.wantBody {
				if !strings.Contains(string(body), want) {
					t.Errorf("body: want it to contain %q", want)
				}
			}
			for _, not := range tt.notBody {
				if strings.Contains(string(body), not) {
					t.Errorf("body: got %q in it, want none", not)
				}
			}
		})
	}
}

func TestScriptRevalidatesWithETag(t *testing.T) {
	env := newEnv(t, nil)
	resp, err := http.Get(env.srv.URL + "/widget.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	req, _ := http.NewRequest("GET", env.srv.URL+"/widget.js", nil)
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("with If-None-Match %s: got %d, want 304", etag, resp.StatusCode)
	}
}

func TestParseOrigin(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"https://shop.example", "https://shop.example", false},
		{"https://Shop.Example/", "https://shop.example", false},
		{"https://shop.example:443", "https://shop.example", false},
		{"http://shop.example:80", "http://shop.example", false},
		{"http://localhost:3000", "http://localhost:3000", false},
		{"http://[::1]:8080", "http://[::1]:8080", false},
		{"https://shop.example:8443", "https://shop.example:8443", false},
		{"shop.example", "", true},
		{"https://", "", true},
		{"https://shop.example/path", "", true},
		{"https://shop.example?x=1", "", true},
		{"https://user@shop.example", "", true},
		{"https://*.example", "", true},
		{"ws://shop.example", "", true},
		{"null", "", true},
	}
	for _, tt := range tests {
		got, err := ParseOrigin(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseOrigin(%q): got %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestNewRefusesABadOrigin(t *testing.T) {
	if _, err := New(openStore(t), &fakeAssistant{}, Options{AllowedOrigins: []string{"*"}}); err == nil {
		t.Error(`New with origin "*": got no error, want one`)
	}
}
