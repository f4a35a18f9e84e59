package widget

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

// screenshotPNG is the start of a real PNG file.
var screenshotPNG = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0}, 40)...)

func TestBubbleFilesAreListedAndServedOnlyToTheirConversation(t *testing.T) {
	env, desk := newDeskEnv(t, nil)
	ctx := context.Background()
	c := env.dial(t, "https://shop.example")
	w := c.hello("fr")
	c.send(map[string]any{"type": "ticket", "client_id": "t1", "topic": "bug", "email": "ana@example.org", "text": "Ça plante"})
	c.expect(typeAck)
	c.expect(typeMessage)
	note := c.expect(typeMessage)
	tk, err := env.store.TicketOfConversation(ctx, w.Conversation.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The visitor answers by email with a screenshot.
	if err := desk.DeliverReply(ctx, escalation.InboundReply{TicketID: tk.ID, From: "ana@example.org",
		MessageID: "<r1@mail.example.org>", Text: "Voici la capture.",
		Attachments: []escalation.InboundAttachment{{Name: "écran \"1\".png", Data: screenshotPNG}}}); err != nil {
		t.Fatal(err)
	}

	// Another visitor, with a conversation of their own.
	eve := env.dial(t, "https://shop.example")
	eveToken := eve.hello("en").Token

	// On resume, the reply's frame lists its file.
	r := env.dial(t, "https://shop.example")
	r.send(map[string]any{"type": "hello", "token": w.Token, "last_seq": note.Seq, "lang": "fr"})
	r.expect(typeWelcome)
	ctx2, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, raw, err := r.conn.Read(ctx2)
	if err != nil {
		t.Fatal(err)
	}
	var reply struct {
		Kind        string           `json:"kind"`
		Text        string           `json:"text"`
		Attachments []attachmentInfo `json:"attachments"`
	}
	json.Unmarshal(raw, &reply)
	if reply.Kind != escalation.KindEmail || len(reply.Attachments) != 1 || reply.Attachments[0].Name != "écran 1.png" ||
		reply.Attachments[0].ContentType != "image/png" || reply.Attachments[0].URL == "" {
		t.Fatalf("reply frame %s, want the email reply listing its file", raw)
	}
	url := env.srv.URL + reply.Attachments[0].URL

	do := func(method, origin, bearer string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, url, nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	tests := []struct {
		name   string
		method string
		origin string
		bearer string
		want   int
	}{
		{"the visitor, from the shop", http.MethodGet, "https://shop.example", w.Token, 200},
		{"the visitor, same origin", http.MethodGet, "", w.Token, 200},
		{"another visitor's token", http.MethodGet, "https://shop.example", eveToken, 404},
		{"a forged token", http.MethodGet, "https://shop.example", "forged", 404},
		{"no token", http.MethodGet, "https://shop.example", "", 401},
		{"another site", http.MethodGet, "https://evil.example", w.Token, 403},
		{"the preflight", http.MethodOptions, "https://shop.example", "", 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(tt.method, tt.origin, tt.bearer)
			if resp.StatusCode != tt.want {
				t.Fatalf("got %d, want %d (%s)", resp.StatusCode, tt.want, body)
			}
			h := resp.Header
			if tt.origin == "https://shop.example" && h.Get("Access-Control-Allow-Origin") != tt.origin {
				t.Errorf("CORS: Access-Control-Allow-Origin %q", h.Get("Access-Control-Allow-Origin"))
			}
			if tt.method == http.MethodOptions && h.Get("Access-Control-Allow-Headers") != "Authorization" {
				t.Errorf("preflight allows headers %q", h.Get("Access-Control-Allow-Headers"))
			}
			if tt.want != 200 {
				return
			}
			for k, want := range map[string]string{
				"Content-Type":            "image/png",
				"Content-Disposition":     `attachment; filename="_cran 1.png"; filename*=UTF-8''%C3%A9cran%201.png`,
				"X-Content-Type-Options":  "nosniff",
				"Cache-Control":           "private, no-store",
				"Content-Security-Policy": "default-src 'none'; sandbox",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s: got %q, want %q", k, got, want)
				}
			}
			if !bytes.Equal(body, screenshotPNG) {
				t.Errorf("body: %d bytes, want the screenshot", len(body))
			}
		})
	}
}
