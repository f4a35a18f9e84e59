package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
	gosmtp "github.com/emersion/go-smtp"
)

// scrape GETs /metrics from loopback and returns each sample by its
// series as the text format writes it, such as
// bulle_messages_total{role="visitor"}.
func scrape(t *testing.T, m *Main) map[string]float64 {
	t.Helper()
	res, err := http.Get(m.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET /metrics from loopback: got %d, want 200: %s", res.StatusCode, body)
	}
	samples := map[string]float64{}
	for line := range strings.Lines(string(body)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics: bad sample %q", line)
		}
		samples[line[:i]] = v
	}
	return samples
}

// startRefusingSMTP starts a real SMTP server on loopback that refuses
// every session with 421, and returns its address.
func startRefusingSMTP(t *testing.T) string {
	t.Helper()
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) {
		return nil, &gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 3, 2}, Message: "Try again later"}
	}))
	srv.Domain = "provider.test"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// TestMetrics drives each thing a series counts through the running
// program (a question answered and one handed off over the bubble's real
// socket, a chat queued and answered by an agent, a search on the help
// center's page, a ticket from the contact form whose confirmation the
// SMTP server refuses) and checks each series is there from the start
// and moved.
func TestMetrics(t *testing.T) {
	smtpAddr := startRefusingSMTP(t)
	host, port, _ := net.SplitHostPort(smtpAddr)
	m := runMailMain(t, func(m *Main) {
		m.Config.Widget.AllowedOrigins = []string{"https://shop.example"}
		const allDay = "00:00-24:00"
		m.Config.Hours.ChannelHours = escalation.ChannelHours{Monday: allDay, Tuesday: allDay, Wednesday: allDay,
			Thursday: allDay, Friday: allDay, Saturday: allDay, Sunday: allDay}
		m.Config.SMTP.Host = host
		m.Config.SMTP.Port, _ = strconv.Atoi(port)
		m.Config.SMTP.TLS = escalation.TLSNone
		m.Config.SMTP.From = "Bulle <no-reply@help.example.com>"
	})
	before := scrape(t, m)
	for _, series := range []string{
		`bulle_messages_total{role="visitor"}`, `bulle_messages_total{role="bot"}`,
		`bulle_messages_total{role="agent"}`, `bulle_messages_total{role="system"}`,
		`bulle_handoffs_total{reason="explicit_request"}`, `bulle_handoffs_total{reason="unhelpful_answers"}`,
		`bulle_handoffs_total{reason="low_confidence"}`, `bulle_handoffs_total{reason="unsupported_topic"}`,
		`bulle_escalations_total{channel="chat"}`, `bulle_escalations_total{channel="email"}`,
		"bulle_smtp_errors_total", "bulle_search_seconds_count", "bulle_answer_seconds_count",
	} {
		if v, ok := before[series]; !ok || v != 0 {
			t.Errorf("metrics at start: got %s = %v (present: %v), want 0", series, v, ok)
		}
	}

	// An agent online opens chat; the visitor asks, is answered, asks for
	// a person and queues; the agent claims the chat and writes.
	ana := signInAgent(t, m, "ana@team.example", "Ana")
	v, w := bubble(t, m, map[string]any{"lang": "en"})
	for _, q := range []struct{ id, text string }{{"c1", "How do I reset my password?"}, {"c2", "I want to talk to a human"}} {
		v.send(map[string]any{"type": "message", "client_id": q.id, "text": q.text})
		for f := v.next(); f.Role != "bot"; f = v.next() {
			if f.Type == "error" {
				t.Fatalf("got %+v, want the bot's reply to %q", f, q.text)
			}
		}
	}
	if f := askForChat(t, v); f.Kind != "chat_queued" {
		t.Fatalf("after the request: got %+v, want chat_queued", f)
	}
	ana.sock.send(map[string]any{"type": "claim", "conversation_id": w.Conversation.ID})
	ana.sock.send(map[string]any{"type": "message", "conversation_id": w.Conversation.ID, "client_id": "a1", "text": "Hello, Ana here."})
	for f := ana.sock.next(); f.Type != "ack" || f.ClientID != "a1"; f = ana.sock.next() {
		if f.Type == "error" {
			t.Fatalf("agent: got %+v, want the message stored", f)
		}
	}

	// The search page searches too.
	mid := scrape(t, m)
	if code, _, _ := get(t, m.URL()+"/en/search?q=password"); code != 200 {
		t.Fatalf("search page: got %d, want 200", code)
	}
	if got := scrape(t, m)["bulle_search_seconds_count"]; got <= mid["bulle_search_seconds_count"] {
		t.Errorf("bulle_search_seconds_count: got %v after the search page, want more than %v", got, mid["bulle_search_seconds_count"])
	}

	// A ticket from the contact page; its confirmation meets the refusing
	// server.
	if code, page := newContactClient(t, m).post(map[string]string{"topic": "bug", "email": "leo@example.org",
		"message": "The app crashes."}, nil, nil); code != 200 && code != 303 {
		t.Fatalf("contact form: got %d %s", code, page)
	}

	// The sender and the widget report after the exchanges above return:
	// wait for their counts, then check everything on one scrape.
	var after map[string]float64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		after = scrape(t, m)
		if after["bulle_smtp_errors_total"] >= 1 && after["bulle_answer_seconds_count"] >= 1 || time.Now().After(deadline) {
			break
		}
	}
	for _, tt := range []struct {
		series string
		moved  float64 // at least this much since the start
	}{
		{`bulle_messages_total{role="visitor"}`, 3}, // two questions and the ticket's message
		{`bulle_messages_total{role="bot"}`, 2},
		{`bulle_messages_total{role="agent"}`, 1},
		{`bulle_messages_total{role="system"}`, 2}, // the request for a person, the queue, the claim…
		{`bulle_handoffs_total{reason="explicit_request"}`, 1},
		{`bulle_escalations_total{channel="chat"}`, 1},
		{`bulle_escalations_total{channel="email"}`, 1},
		{"bulle_smtp_errors_total", 1},
		{"bulle_search_seconds_count", 2}, // the bot's and the page's
		{"bulle_answer_seconds_count", 1},
		{`bulle_bot_decisions_total{kind="answer"}`, 1},
		{`bulle_bot_decisions_total{kind="handoff"}`, 1},
	} {
		if got := after[tt.series] - before[tt.series]; got < tt.moved {
			t.Errorf("%s: moved by %v, want at least %v", tt.series, got, tt.moved)
		}
	}
	if got := after[`bulle_handoffs_total{reason="low_confidence"}`]; got != 0 {
		t.Errorf(`bulle_handoffs_total{reason="low_confidence"}: got %v, want 0: every question had an answer or asked for a person`, got)
	}
	for series, want := range map[string]float64{
		"bulle_outbox_queued": 1, "bulle_outbox_failed": 0, "bulle_kb_articles": 4, "bulle_widget_open_sockets": 1,
	} {
		if got, ok := after[series]; !ok || got != want {
			t.Errorf("%s: got %v (present: %v), want %v", series, got, ok, want)
		}
	}
	if after["bulle_index_size_bytes"] <= 0 || after["bulle_outbox_oldest_seconds"] < 0 {
		t.Errorf("got index size %v and oldest mail %vs, want a size and an age", after["bulle_index_size_bytes"], after["bulle_outbox_oldest_seconds"])
	}
	for _, prefix := range []string{"bulle_build_info{goversion=", "go_goroutines", "process_open_fds"} {
		found := false
		for series := range after {
			found = found || strings.HasPrefix(series, prefix)
		}
		if !found {
			t.Errorf("metrics: no series %s…", prefix)
		}
	}
}

// TestMetricsIndexSizeIsMeasuredAtMostEvery30s: scrapes within the TTL are
// served the size measured first; past it, the folder is walked again.
func TestMetricsIndexSizeIsMeasuredAtMostEvery30s(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, n int) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("index_meta.json", 100)
	write("store/000000000001.zap", 1000)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	d := &dirSize{dir: dir, ttl: indexSizeTTL, now: clock}
	for _, step := range []struct {
		name    string
		advance time.Duration
		segment int // bytes of a new segment written before the read, 0 for none
		want    float64
	}{
		{"the first read walks the folder", 0, 0, 1100},
		{"a segment written within 30 s is not seen yet", 29 * time.Second, 500, 1100},
		{"after 30 s the folder is walked again", time.Second, 0, 1600},
	} {
		now = now.Add(step.advance)
		if step.segment > 0 {
			write("store/000000000002.zap", step.segment)
		}
		if got := d.bytes(); got != step.want {
			t.Errorf("%s: got %v, want %v", step.name, got, step.want)
		}
	}
	if got := (&dirSize{dir: filepath.Join(dir, "gone"), ttl: indexSizeTTL, now: clock}).bytes(); got != 0 {
		t.Errorf("a missing folder: got %v, want 0", got)
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
