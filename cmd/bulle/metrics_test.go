package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestMetrics(t *testing.T) {
	m := runChatMain(t)
	w, _ := bubble(t, m, map[string]any{"lang": "en"})
	w.send(map[string]any{"type": "message", "client_id": "c1", "text": "How do I reset my password?"})
	for f := w.next(); f.Role != "bot"; f = w.next() {
		if f.Type == "error" {
			t.Fatalf("got %+v, want the bot's reply", f)
		}
	}

	// The widget reports the latency just after it sends the reply.
	count := regexp.MustCompile(`(?m)^bulle_answer_seconds_count [1-9]`)
	var text string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		res, err := http.Get(m.URL() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("GET /metrics from loopback: got %d, want 200: %s", res.StatusCode, body)
		}
		if text = string(body); count.MatchString(text) || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range []string{"bulle_build_info{goversion=", "go_goroutines ", "process_open_fds ",
		"bulle_outbox_queued 0", "bulle_outbox_oldest_seconds 0", "bulle_outbox_failed 0",
		"bulle_kb_articles 4", "bulle_widget_open_sockets 1", `bulle_bot_decisions_total{kind="answer"} 1`} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics: got no %q in:\n%s", want, text)
		}
	}
	if !count.MatchString(text) {
		t.Errorf("metrics: got no bulle_answer_seconds_count of at least 1 in:\n%s", text)
	}
}

func TestMetricsRefusedToOthers(t *testing.T) {
	met := newMetrics(&Main{})
	for _, tt := range []struct {
		name   string
		remote string
		header string
		public bool
		want   int
	}{
		{"loopback v4", "127.0.0.1:4000", "", false, 200},
		{"loopback v6", "[::1]:4000", "", false, 200},
		{"other machine", "192.0.2.7:4000", "", false, 404},
		{"through a proxy", "127.0.0.1:4000", "198.51.100.1", false, 404},
		{"other machine, public", "192.0.2.7:4000", "", true, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/metrics", nil)
			req.RemoteAddr = tt.remote
			if tt.header != "" {
				req.Header.Set("X-Forwarded-For", tt.header)
			}
			rec := httptest.NewRecorder()
			met.handler(tt.public).ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("got %d, want %d", rec.Code, tt.want)
			}
			if tt.want == 404 && strings.Contains(rec.Body.String(), "go_goroutines") {
				t.Error("refused, but the body has metrics")
			}
		})
	}
}
