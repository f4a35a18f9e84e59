package escalation

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDevMailPage(t *testing.T) {
	store := openTest(t)
	hostile := testMail(1)
	hostile.Subject = `<script>alert("subject")</script>`
	hostile.To = `"<img src=x onerror=alert(1)>" <ana@example.com>`
	hostile.Text = "</pre><script>alert('text')</script>"
	hostile.HTML = `<p>Hello</p><script>alert('html')</script><img src="https://tracker.example/pixel.gif">`
	queue(t, store, hostile)
	queue(t, store, testMail(2))
	page := NewDevMailPage(store, slog.New(slog.DiscardHandler))

	tests := []struct {
		name       string
		path       string
		remote     string
		host       string
		header     string // "Name: value" added to the request
		wantStatus int
		wantCSP    string
		want       []string
		notWant    []string
	}{
		{"the list, newest first, escaped", "/dev/mail", "127.0.0.1:5000", "localhost:8080", "", 200, "default-src 'none'",
			[]string{"Request 2 received", "&lt;script&gt;alert(&#34;subject&#34;)&lt;/script&gt;", "queued"},
			[]string{"<script>", "<img src=x"}},
		{"one mail with its headers, text and HTML source", "/dev/mail/1", "[::1]:5000", "[::1]:8080", "", 200, "frame-src 'self'",
			[]string{"Message-ID", strings.Trim(hostile.MessageID, "<>"), "&lt;/pre&gt;&lt;script&gt;", `<iframe sandbox src="/dev/mail/1/html"`, "Auto-Submitted"},
			[]string{"<script>", "<img src=\"https://tracker"}},
		{"the HTML part, sandboxed", "/dev/mail/1/html", "127.0.0.1:5000", "127.0.0.1:8080", "", 200, "sandbox; default-src 'none'",
			[]string{"<p>Hello</p>"}, nil},
		{"an unknown mail", "/dev/mail/99", "127.0.0.1:5000", "localhost", "", 404, "", nil, nil},
		{"another machine", "/dev/mail", "203.0.113.7:5000", "localhost", "", 404, "", nil, []string{"Request"}},
		{"through a reverse proxy on this machine", "/dev/mail", "127.0.0.1:5000", "localhost", "X-Forwarded-For: 203.0.113.7", 404, "", nil, nil},
		{"a public host name (DNS rebinding)", "/dev/mail", "127.0.0.1:5000", "evil.example.com", "", 404, "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.path, nil)
			r.RemoteAddr, r.Host = tt.remote, tt.host
			if name, value, ok := strings.Cut(tt.header, ": "); ok {
				r.Header.Set(name, value)
			}
			w := httptest.NewRecorder()
			page.ServeHTTP(w, r)
			body := w.Body.String()
			if w.Code != tt.wantStatus {
				t.Fatalf("status: got %d, want %d", w.Code, tt.wantStatus)
			}
			if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, tt.wantCSP) {
				t.Errorf("CSP: got %q, want it to contain %q", csp, tt.wantCSP)
			}
			for _, s := range tt.want {
				if !strings.Contains(body, s) {
					t.Errorf("body: got %s, want it to contain %q", body, s)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(body, s) && tt.path != "/dev/mail/1/html" {
					t.Errorf("body: got %q in %s, want it escaped or absent", s, body)
				}
			}
		})
	}

	// The list shows the newest mail first.
	r := httptest.NewRequest("GET", "/dev/mail", nil)
	r.RemoteAddr, r.Host = "127.0.0.1:5000", "localhost"
	w := httptest.NewRecorder()
	page.ServeHTTP(w, r)
	if body := w.Body.String(); strings.Index(body, `href="/dev/mail/2"`) > strings.Index(body, `href="/dev/mail/1"`) {
		t.Error("list: got the oldest mail first, want the newest")
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogUnsentMailLogsEachQueuedMailOnce(t *testing.T) {
	store := openTest(t)
	queue(t, store, testMail(1)) // queued before the start: logged too
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		LogUnsentMail(ctx, store, slog.New(slog.NewTextHandler(&out, nil)), "http://localhost:8080/dev/mail")
	}()
	queue(t, store, testMail(2))
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(out.String(), "mail queued, not sent") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	queue(t, store, testMail(3))
	for strings.Count(out.String(), "mail queued, not sent") < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	logs := out.String()
	if n := strings.Count(logs, "mail queued, not sent"); n != 3 {
		t.Errorf("got %d lines, want 3, one per mail:\n%s", n, logs)
	}
	for _, want := range []string{"outbox_id=1", "outbox_id=3", "view=http://localhost:8080/dev/mail/2"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs: got %s, want %q", logs, want)
		}
	}
	if strings.Contains(logs, "@example.com") {
		t.Errorf("logs: got an email address in %s, want none at info level", logs)
	}
}
