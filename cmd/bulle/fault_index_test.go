package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// Fault 5 of issue 15, through the whole server: a damaged index folder
// is rebuilt at start and the bot answers; an index damaged under the
// running server makes the bot say it cannot answer (an "unavailable"
// error frame, the question stored), and a resend is answered once the
// index is rebuilt.

// runIndexMain runs the server on data and articles, until the test ends
// or the returned stop is called.
func runIndexMain(t *testing.T, data, articles string) (*Main, func()) {
	t.Helper()
	m := NewMain()
	m.Config.Addr = "127.0.0.1:0"
	m.Config.DataDir, m.Config.ArticlesDir = data, articles
	m.Config.Widget.AllowedOrigins = []string{"https://shop.example"}
	m.Getenv = noEnv
	m.Stderr = t.Output()
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			if err := m.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	return m, stop
}

// botFrame is a bubble frame with what these tests read of the bot.
type botFrame struct {
	Type     string `json:"type"`
	Code     string `json:"code"`
	ClientID string `json:"client_id"`
	Seq      int64  `json:"seq"`
	Role     string `json:"role"`
	Kind     string `json:"kind"`
	ReplyTo  int64  `json:"reply_to"`
	Decision struct {
		Article struct {
			ID string `json:"id"`
		} `json:"article"`
	} `json:"decision"`
}

// ask sends a question and reads the frames up to the bot's reply, or an
// error frame about it. It returns the ack's seq and that last frame.
func ask(t *testing.T, c *websocket.Conn, clientID, text string) (int64, botFrame) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := wsjson.Write(ctx, c, map[string]any{"type": "message", "client_id": clientID, "text": text}); err != nil {
		t.Fatal(err)
	}
	var seq int64
	for {
		var f botFrame
		if err := wsjson.Read(ctx, c, &f); err != nil {
			t.Fatalf("%s: %v", clientID, err)
		}
		switch {
		case f.Type == "ack" && f.ClientID == clientID:
			seq = f.Seq
		case f.Type == "message" && f.Role == "bot" && f.ReplyTo == seq && seq != 0:
			return seq, f
		case f.Type == "error":
			return seq, f
		}
	}
}

// damage writes a fixed pattern into the middle of name.
func damage(t *testing.T, name string) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil || len(data) < 64 {
		t.Fatalf("damage %s: %v", name, err)
	}
	copy(data[len(data)/3:], bytes.Repeat([]byte{0xA5}, min(4096, len(data)/3)))
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFaultDamagedIndexBotAnswersOrSaysItCannot(t *testing.T) {
	data, articles := filepath.Join(t.TempDir(), "data"), writeArticles(t, testArticles)
	_, stop := runIndexMain(t, data, articles)
	stop()
	segments, err := filepath.Glob(filepath.Join(data, "index", "store", "*.zap"))
	if err != nil || len(segments) == 0 {
		t.Fatalf("no segment in %s: %v", data, err)
	}
	for _, f := range append(segments, filepath.Join(data, "index.corpus")) {
		damage(t, f)
	}

	// The start rebuilds both from the articles; the bot answers.
	m, _ := runIndexMain(t, data, articles)
	c, _, err := dialBubble(t, m, "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	ctx := context.Background()
	if err := wsjson.Write(ctx, c, map[string]any{"type": "hello", "lang": "en"}); err != nil {
		t.Fatal(err)
	}
	var welcome map[string]any
	if err := wsjson.Read(ctx, c, &welcome); err != nil || welcome["type"] != "welcome" {
		t.Fatalf("welcome: %v %v", welcome, err)
	}
	const question = "how do I reset my password"
	if _, f := ask(t, c, "q1", question); f.Kind != "answer" || f.Decision.Article.ID != "account/reset-password" {
		t.Fatalf("after a start on a damaged index: got %+v, want an answer from account/reset-password", f)
	}

	// The segments are truncated under the running server: reading them
	// faults. The bot says it cannot answer, the question is stored.
	segments, _ = filepath.Glob(filepath.Join(data, "index", "store", "*.zap"))
	for _, f := range segments {
		if err := os.Truncate(f, 0); err != nil {
			t.Fatal(err)
		}
	}
	seq, f := ask(t, c, "q2", question)
	if f.Type != "error" || f.Code != "unavailable" || f.ClientID != "q2" || seq == 0 {
		t.Fatalf("on a truncated index: got %+v (ack %d), want the question acked, then unavailable", f, seq)
	}

	// Resending the same question is answered once the index is rebuilt,
	// under the same seq.
	deadline := time.Now().Add(20 * time.Second)
	for {
		again, f := ask(t, c, "q2", question)
		if again != seq {
			t.Fatalf("resend: acked at %d, want %d", again, seq)
		}
		if f.Type == "message" {
			if f.Kind != "answer" || f.Decision.Article.ID != "account/reset-password" {
				t.Errorf("after the rebuild: got %+v, want an answer from account/reset-password", f)
			}
			break
		}
		if f.Code != "unavailable" || time.Now().After(deadline) {
			t.Fatalf("while the index is rebuilt: got %+v, want unavailable, then the answer", f)
		}
		time.Sleep(200 * time.Millisecond) // as the bubble would, under the rate limit
	}
	var health map[string]any
	res, err := httpGetJSON(m.URL()+"/healthz", &health)
	if err != nil || res != 200 {
		t.Errorf("healthz after the rebuild: %d %v %v", res, health, err)
	}
}

// httpGetJSON gets url and decodes its JSON body into v.
func httpGetJSON(url string, v any) (int, error) {
	res, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	return res.StatusCode, json.NewDecoder(res.Body).Decode(v)
}
