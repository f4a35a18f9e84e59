package main

import (
	"bytes"
	"context"
	"fmt"
	"net/smtp"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bulle-help/bulle/widget"
	"github.com/coder/websocket"
)

// TestHostileInvalidUTF8 sends bytes that are not UTF-8 wherever the
// server reads text: a visitor's and an agent's frames, forms of the
// contact page, the console and the help center, search queries, a reply
// by email. Each is refused or stored as valid UTF-8 (bad bytes become
// U+FFFD), no answer is a server error, and every page stays UTF-8.
func TestHostileInvalidUTF8(t *testing.T) {
	m := runHostileMain(t, nil, func(m *Main) {
		m.Config.SMTP.InboundAddr = "127.0.0.1:0"
		m.Config.SMTP.ReplyDomain = "reply.example.com"
	})
	ctx := context.Background()
	origin := "http://" + m.Addr()
	lea := signInAgent(t, m, "lea@team.example", "Léa")

	// The visitor's socket: in a JSON string, the bytes become U+FFFD; a
	// frame that is not JSON is bad_json, and the connection goes on.
	v, w := bubble(t, m, map[string]any{"lang": "fr"})
	raw := func(s string) {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := v.conn.Write(cctx, websocket.MessageText, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	raw("\xff\xfe{\"type\":\"ping\"}")
	if f := v.next(); f.Type != "error" || f.Code != "bad_json" {
		t.Errorf("a frame that is not UTF-8: got %+v, want bad_json", f)
	}
	raw(`{"type":"message","client_id":"u1","text":"caf` + "\xe9 \xff\xfe" + ` ?"}`)
	v.nextOf("ack", "")
	if f := v.nextOf("message", "text"); f.Text != "caf\ufffd \ufffd\ufffd ?" {
		t.Errorf("echo: got %q, want the bad bytes as U+FFFD", f.Text)
	}
	v.nextOf("message", "")
	raw(`{"type":"ticket","client_id":"t1","topic":"billing","email":"utf8@example.org","name":"An` + "\xff" + `a","text":"Fact` + "\xc3" + `ure"}`)
	v.nextOf("ack", "")
	if f := v.nextOf("message", "ticket"); f.Text != "Fact\ufffdure" {
		t.Errorf("the ticket's text: got %q, want the bad byte as U+FFFD", f.Text)
	}
	v.nextOf("message", "ticket_created")
	askForChat(t, v)
	// The agent's socket.
	lea.connect()
	lea.sock.send(map[string]any{"type": "claim", "conversation_id": w.Conversation.ID})
	lea.sock.nextOf("chat", "")
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	lea.sock.conn.Write(cctx, websocket.MessageText, []byte(fmt.Sprintf(`{"type":"message","conversation_id":%d,"client_id":"a1","text":"Bonjo`+"\xff"+`ur"}`, w.Conversation.ID)))
	cancel()
	lea.sock.nextOf("ack", "")
	msgs, err := m.store.MessagesAfter(ctx, w.Conversation.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range msgs {
		if !utf8.ValidString(msg.Body) {
			t.Errorf("stored message %d: %q, want valid UTF-8", msg.Seq, msg.Body)
		}
	}
	tk, err := m.store.TicketOfConversation(ctx, w.Conversation.ID)
	if err != nil || !utf8.ValidString(tk.Name) {
		t.Errorf("ticket %+v (%v): want its name valid UTF-8", tk, err)
	}

	// Forms: refused, never a server error. (A refused form shows what was
	// typed back to whoever typed it, bad bytes included: a browser reads
	// them as U+FFFD, and no one else sees them.)
	refused := func(what string, status int, body string) {
		t.Helper()
		if status >= 500 || status < 400 {
			t.Errorf("%s: %d, want it refused, and no server error: %.300s", what, status, body)
		}
	}
	c := newContactClient(t, m)
	status, page := c.post(map[string]string{"topic": "bug", "email": "form@example.org", "name": "An\xffa", "message": "Ça pl\xe2nte"}, nil, nil)
	refused("the contact form", status, page)
	for _, p := range []struct{ path, field string }{
		{"/console/tickets/" + tk.Ref + "/reply", "text"},
		{"/console/tickets/" + tk.Ref + "/notes", "body"},
		{fmt.Sprintf("/console/chats/%d/notes", w.Conversation.ID), "body"},
		{"/console/tickets/" + tk.Ref + "/status", "status"},
	} {
		status, _, body := lea.b.do("POST", origin+p.path, url.Values{"csrf": {lea.csrf}, p.field: {"R\xe9ponse \xff"}}, nil)
		refused(p.path, status, body)
	}
	status, _, body := newConsoleBrowser(t, origin).do("POST", origin+"/console/login", url.Values{"email": {"l\xffa@team.example"}, "password": {"\xff"}}, nil)
	refused("the sign-in form", status, body)
	// Addresses: refused, or answered in UTF-8; never a server error.
	for _, path := range []string{"/console/search?q=%FF%FE", "/console/search?q=caf%E9", "/console/tickets?topic=%FF",
		"/console/chats/%FF", "/console/tickets/%FF", "/en/search?q=%FF%FE", "/fr/search?q=r%E9initialiser", "/en/%FF",
		"/%FF/", "/contact?lang=%FF", "/requests?lang=%FF", "/api/availability?lang=%FF&tz=%FF", "/en/search?q=%ZZ"} {
		status, _, body := lea.b.do("GET", origin+path, nil, nil)
		if status >= 500 || !utf8.ValidString(body) {
			t.Errorf("%s: %d, want no server error and a UTF-8 page: %.300s", path, status, body)
		}
	}

	// A reply by email whose UTF-8 body holds bad bytes is kept, as UTF-8.
	mails, _ := m.store.OutboxMails(ctx, 0, 500)
	var replyTo string
	for _, om := range mails {
		if om.ConversationID == w.Conversation.ID && om.ReplyTo != "" {
			replyTo = strings.Trim(om.ReplyTo, "<>")
		}
	}
	msg := "From: utf8@example.org\r\nTo: " + replyTo + "\r\nSubject: Re\xff\r\nMessage-ID: <u1@mail.example.org>\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nMerci \xff\xfe pour la r\xe9ponse\r\n"
	if err := smtp.SendMail(m.InboundAddr(), nil, "utf8@example.org", []string{replyTo}, []byte(msg)); err != nil {
		t.Fatalf("a reply with bytes that are not UTF-8: %v, want it accepted", err)
	}
	after, _ := m.store.MessagesAfter(ctx, w.Conversation.ID, int64(len(msgs)), 0)
	if len(after) == 0 || !utf8.ValidString(after[len(after)-1].Body) || !strings.Contains(after[len(after)-1].Body, "Merci") {
		t.Errorf("the reply: %+v, want it stored as valid UTF-8", after)
	}
}

// TestHostileVisitorFramesAtTheServersLimits runs the wired server with
// its default limits: a frame over max_frame_bytes is answered too_large
// and the connection goes on; one far over it closes the connection with
// 1009; a flood of frames is answered rate_limited, then closed with 1008.
// Other visitors go on meanwhile.
func TestHostileVisitorFramesAtTheServersLimits(t *testing.T) {
	m := runWidgetMain(t)
	other, _, err := dialBubble(t, m, "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	defer other.CloseNow()
	exchange(t, other, `{"type":"hello","lang":"fr"}`, 1)

	c, _, err := dialBubble(t, m, "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	v := &ws{t: t, conn: c}
	v.send(map[string]any{"type": "hello", "lang": "fr"})
	v.nextOf("welcome", "")
	v.send(map[string]any{"type": "message", "client_id": "big", "text": strings.Repeat("a", widget.DefaultMaxFrameBytes)})
	if f := v.next(); f.Code != "too_large" {
		t.Errorf("a frame over %d bytes: got %+v, want too_large", widget.DefaultMaxFrameBytes, f)
	}
	v.send(map[string]any{"type": "ping"})
	v.nextOf("pong", "")

	// A flood: rate_limited, then 1008.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		for range widget.DefaultBurst + 60 {
			if c.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`)) != nil {
				return
			}
		}
	}()
	limited := 0
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			if s := websocket.CloseStatus(err); s != websocket.StatusPolicyViolation {
				t.Errorf("after a flood: closed with %v (%v), want 1008", s, err)
			}
			break
		}
		if bytes.Contains(data, []byte(`"rate_limited"`)) {
			limited++
		}
	}
	if limited < 40 {
		t.Errorf("a flood: %d rate_limited answers before the close, want about 50", limited)
	}

	// A frame far over the limit: 1009.
	c2, _, err := dialBubble(t, m, "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.CloseNow()
	c2.Write(ctx, websocket.MessageText, bytes.Repeat([]byte("x"), 8*widget.DefaultMaxFrameBytes+1))
	if _, _, err := c2.Read(ctx); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Errorf("a frame of %d bytes: %v, want 1009", 8*widget.DefaultMaxFrameBytes+1, err)
	}
	// The other visitor never noticed.
	if f := exchange(t, other, `{"type":"ping"}`, 1)[0]; f["type"] != "pong" {
		t.Errorf("the other visitor: got %v, want pong", f)
	}
}

// TestHostileVisitorCannotNameAnotherConversation: a visitor's frames act
// on the conversation their hello opened, whatever ids they carry. A
// sends every frame naming B's conversation; B's socket hears nothing and
// B's conversation is unchanged.
func TestHostileVisitorCannotNameAnotherConversation(t *testing.T) {
	m := runChatMain(t)
	signInAgent(t, m, "lea@team.example", "Léa")
	ctx := context.Background()
	b, wb := bubble(t, m, map[string]any{"lang": "fr"})
	b.send(map[string]any{"type": "message", "client_id": "b1", "text": "comment réinitialiser mon mot de passe ?"})
	b.nextOf("ack", "")
	b.nextOf("message", "text")
	answer := b.nextOf("message", "")
	before, _ := m.store.MessagesAfter(ctx, wb.Conversation.ID, 0, 0)

	// A names B everywhere it could.
	a, _, err := dialBubble(t, m, "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	defer a.CloseNow()
	av := &ws{t: t, conn: a}
	bID := wb.Conversation.ID
	av.send(map[string]any{"type": "hello", "lang": "fr", "conversation_id": bID, "conversation": map[string]any{"id": bID}})
	if w := av.nextOf("welcome", ""); w.Conversation.ID == bID || w.Token == wb.Token {
		t.Fatalf("a hello naming B's conversation opened it: %+v", w)
	}
	for _, f := range []map[string]any{
		{"type": "message", "client_id": "a1", "text": "écrit dans B ?"},
		{"type": "vote", "seq": answer.Seq, "helpful": false},
		{"type": "typing", "on": true},
		{"type": "person", "channel": "chat", "client_id": "p1"},
		{"type": "ticket", "client_id": "t1", "topic": "billing", "email": "eve@example.org", "text": "ticket dans B ?"},
		{"type": "transcript", "client_id": "tr1", "email": "eve@example.org"},
		{"type": "rate", "client_id": "r1", "rating": 1},
		{"type": "verify_start", "client_id": "v1"},
	} {
		f["conversation_id"] = bID
		f["token"] = wb.Token[:10]
		av.send(f)
	}
	// Past every answer to A (the ping a moment later, within the rate),
	// then B's socket: quiet.
	time.Sleep(400 * time.Millisecond)
	av.send(map[string]any{"type": "ping"})
	for f := av.next(); f.Type != "pong"; f = av.next() {
	}
	b.quiet()
	after, _ := m.store.MessagesAfter(ctx, bID, 0, 0)
	if len(after) != len(before) {
		t.Errorf("B's conversation: %d messages, want %d: %+v", len(after), len(before), after)
	}
	if tk, err := m.store.TicketOfConversation(ctx, bID); err == nil {
		t.Errorf("B's conversation has a ticket: %+v", tk)
	}
}
