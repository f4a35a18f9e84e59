package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
)

// TestLiveChatBetweenTheBubbleAndTheConsole runs a whole live chat
// through the running server, over real sockets: the visitor asks for a
// person, the agent's console sees it arrive, claims it and replies; the
// visitor's socket drops while the agent writes twice, and the visitor's
// reconnect replays exactly those two; the agent's own reconnect replays
// its gap; the close reaches the visitor, whose rating reaches the agent.
func TestLiveChatBetweenTheBubbleAndTheConsole(t *testing.T) {
	m := runChatMain(t)
	ana := signInAgent(t, m, "ana@team.example", "Ana")

	v, w := bubble(t, m, map[string]any{"lang": "fr"})
	convID, token := w.Conversation.ID, w.Token
	v.send(map[string]any{"type": "message", "client_id": "q1", "text": "je veux parler à un conseiller"})
	v.nextOf("ack", "")
	v.nextOf("message", "text")
	if bot := v.nextOf("message", ""); bot.Role != "bot" || !slices.Contains(bot.Decision.Channels, "chat") {
		t.Fatalf("bot: got %+v, want an offer of chat (Ana is online)", bot)
	}
	if f := askForChat(t, v); f.Kind != "chat_queued" || f.Position != 1 {
		t.Fatalf("after the request: got %+v, want chat_queued at 1", f)
	}

	// The console sees it at once, with what Ana needs.
	if c := ana.queueWith(convID); c.Lang != "fr" || c.PageURL != "https://shop.example/panier" || c.Topic != "billing/invoice" || c.Verified {
		t.Errorf("queued chat: got %+v, want fr, the page and the topic, unverified", c)
	}
	ana.sock.send(map[string]any{"type": "follow", "conversation_id": convID, "last_seq": 0})
	ana.sock.nextOf("chat", "")
	var history []string
	for range 4 {
		history = append(history, ana.sock.nextOf("message", "").Kind)
	}
	if !slices.Equal(history, []string{"text", "handoff", "person_request", "chat_queued"}) &&
		!slices.Equal(history, []string{"text", "offer_person", "person_request", "chat_queued"}) {
		t.Errorf("history: got %v, want the question, the bot's offer, the request and the queue note", history)
	}

	ana.sock.send(map[string]any{"type": "claim", "conversation_id": convID})
	ana.sock.nextOf("message", "chat_claimed")
	if c := ana.sock.nextOf("chat", ""); c.Chat.Status != "active" || c.Chat.AgentID != ana.id {
		t.Errorf("claim: got %+v, want active, Ana's", c.Chat)
	}
	if f := v.nextOf("message", "chat_claimed"); f.Agent != "Ana" {
		t.Errorf("visitor: got %+v, want Ana joined", f)
	}

	say := func(a *agent, id, text string) int64 {
		t.Helper()
		a.sock.send(map[string]any{"type": "message", "conversation_id": convID, "client_id": id, "text": text})
		ack := a.sock.nextOf("ack", "")
		if ack.ClientID != id || ack.Seq == 0 {
			t.Fatalf("ack: got %+v, want %s stored", ack, id)
		}
		if f := a.sock.nextOf("message", ""); f.Seq != ack.Seq {
			t.Fatalf("agent's own message: got %+v, want seq %d", f, ack.Seq)
		}
		return ack.Seq
	}
	seq := say(ana, "a1", "Bonjour, je suis Ana.")
	f := v.nextOf("message", "text")
	if f.Seq != seq || f.Role != "agent" || f.Agent != "Ana" || f.Text != "Bonjour, je suis Ana." {
		t.Errorf("visitor: got %+v, want Ana's message at %d", f, seq)
	}
	visitorLast := f.Seq

	// The visitor's socket drops; Ana writes twice; the visitor comes back.
	v.conn.CloseNow()
	two := []int64{say(ana, "a2", "Je regarde votre facture."), say(ana, "a3", "C'est corrigé.")}
	v, _ = bubble(t, m, map[string]any{"lang": "fr", "token": token, "last_seq": visitorLast})
	for i, want := range two {
		if f := v.nextOf("message", ""); f.Seq != want || f.Role != "agent" {
			t.Errorf("replay %d: got %+v, want Ana's message at %d", i, f, want)
		}
	}
	v.quiet()

	// Typing, both ways.
	v.send(map[string]any{"type": "typing", "on": true})
	for {
		f := ana.sock.next()
		if f.Type == "typing" {
			if f.Role != "visitor" || !f.On || f.ConversationID != convID {
				t.Errorf("console: got %+v, want the visitor typing", f)
			}
			break
		}
	}
	ana.sock.send(map[string]any{"type": "typing", "conversation_id": convID, "on": true})
	for {
		f := v.next()
		if f.Type == "typing" {
			if f.Role != "agent" || !f.On {
				t.Errorf("bubble: got %+v, want the agent typing", f)
			}
			break
		}
	}

	// Ana's console drops; the visitor writes twice; her reconnect
	// replays exactly those.
	ana.sock.conn.CloseNow()
	var gap []int64
	for _, text := range []string{"Merci !", "Vraiment."} {
		v.send(map[string]any{"type": "message", "client_id": "v-" + text[:3], "text": text})
		gap = append(gap, v.nextOf("ack", "").Seq)
		v.nextOf("message", "text")
	}
	ana.connect()
	ana.sock.send(map[string]any{"type": "follow", "conversation_id": convID, "last_seq": two[1]})
	ana.sock.nextOf("chat", "")
	for i, want := range gap {
		if f := ana.sock.nextOf("message", ""); f.Seq != want || f.Role != "visitor" {
			t.Errorf("agent replay %d: got %+v, want the visitor's message at %d", i, f, want)
		}
	}
	ana.sock.quiet()

	// Ana ends the chat: the visitor sees it and rates it; Ana sees that.
	ana.sock.send(map[string]any{"type": "close", "conversation_id": convID})
	ana.sock.nextOf("message", "chat_closed")
	if c := ana.sock.nextOf("chat", ""); c.Chat.Status != "closed" {
		t.Errorf("after the close: got %+v, want closed", c.Chat)
	}
	v.nextOf("message", "chat_closed")
	v.send(map[string]any{"type": "rate", "client_id": "r1", "rating": 4})
	v.nextOf("ack", "")
	v.nextOf("message", "chat_rated")
	if f := ana.sock.nextOf("message", "chat_rated"); f.Rating != 4 {
		t.Errorf("console: got %+v, want the rating 4", f)
	}
}

// TestChatOpensOnlyWhileAnAgentIsOnline: presence is wired into the
// availability and the bubble.
func TestChatOpensOnlyWhileAnAgentIsOnline(t *testing.T) {
	m := runChatMain(t)
	chatOpen := func() bool {
		t.Helper()
		res, err := http.Get(m.URL() + "/api/availability")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var r struct {
			Chat struct {
				Open bool `json:"open"`
			} `json:"chat"`
		}
		body, _ := io.ReadAll(res.Body)
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("availability %s: %v", body, err)
		}
		return r.Chat.Open
	}
	if chatOpen() {
		t.Error("nobody online: got chat open, want closed")
	}
	v, _ := bubble(t, m, map[string]any{"lang": "en"})
	if f := askForChat(t, v); f.Kind != "chat_unavailable" || f.Reason != "no_agent" {
		t.Errorf("nobody online: got %+v, want chat_unavailable, no_agent", f)
	}

	signInAgent(t, m, "ana@team.example", "Ana")
	if !chatOpen() {
		t.Error("Ana online: got chat closed, want open")
	}
	v2, _ := bubble(t, m, map[string]any{"lang": "en"})
	if f := askForChat(t, v2); f.Kind != "chat_queued" {
		t.Errorf("Ana online: got %+v, want chat_queued", f)
	}
}

// TestConsoleClaimRaceAndTheHolderAlone: two consoles claim at once and
// one wins; the other may read but not write.
func TestConsoleClaimRaceAndTheHolderAlone(t *testing.T) {
	m := runChatMain(t)
	ana := signInAgent(t, m, "ana@team.example", "Ana")
	bo := signInAgent(t, m, "bo@team.example", "Bo")
	v, w := bubble(t, m, map[string]any{"lang": "fr"})
	askForChat(t, v)
	convID := w.Conversation.ID

	var wg sync.WaitGroup
	for _, a := range []*agent{ana, bo} {
		wg.Go(func() { a.sock.send(map[string]any{"type": "claim", "conversation_id": convID}) })
	}
	wg.Wait()
	var winner, loser *agent
	for _, a := range []*agent{ana, bo} {
		for {
			f := a.sock.next()
			if f.Type == "chat" {
				winner = a
				break
			}
			if f.Type == "error" {
				if f.Code != "taken" {
					t.Errorf("loser: got %+v, want taken", f)
				}
				loser = a
				break
			}
		}
	}
	if winner == nil || loser == nil {
		t.Fatalf("got winner %v and loser %v, want one of each", winner, loser)
	}

	// The loser follows the conversation (agents share the queue) but
	// cannot write in it.
	loser.sock.send(map[string]any{"type": "follow", "conversation_id": convID, "last_seq": 0})
	loser.sock.nextOf("chat", "")
	for range 3 {
		loser.sock.nextOf("message", "") // the request, queued, claimed
	}
	loser.sock.send(map[string]any{"type": "message", "conversation_id": convID, "client_id": "x1", "text": "C'est moi !"})
	if f := loser.sock.nextOf("error", ""); f.Code != "not_holder" || f.ClientID != "x1" {
		t.Errorf("loser's message: got %+v, want not_holder", f)
	}
	msgs, err := m.store.MessagesAfter(t.Context(), convID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	claims := 0
	for _, msg := range msgs {
		if msg.Kind == "chat_claimed" {
			claims++
		}
		if strings.Contains(msg.Body, "C'est moi") {
			t.Errorf("the loser's message was stored: %+v", msg)
		}
	}
	if claims != 1 {
		t.Errorf("claim notes: got %d, want 1", claims)
	}
	v.nextOf("message", "chat_claimed")
	v.quiet()
}

// TestConsoleSocketHandshakeAndLogout: the agent socket opens only from
// the console's own origin with the session's CSRF token, and the
// agent's logout closes it.
func TestConsoleSocketHandshakeAndLogout(t *testing.T) {
	m := runChatMain(t)
	ana := signInAgent(t, m, "ana@team.example", "Ana")
	tests := []struct {
		name, origin, csrf string
		want               int
	}{
		{"another site", "https://evil.example", ana.csrf, http.StatusForbidden},
		{"the bubble's site", "https://shop.example", ana.csrf, http.StatusForbidden},
		{"no Origin", "", ana.csrf, http.StatusForbidden},
		{"no CSRF token", "http://" + m.Addr(), "", http.StatusForbidden},
		{"a wrong CSRF token", "http://" + m.Addr(), strings.Repeat("A", 43), http.StatusForbidden},
		{"this site with the token", "http://" + m.Addr(), ana.csrf, http.StatusSwitchingProtocols},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, res, err := ana.dial(tt.origin, tt.csrf)
			if c != nil {
				c.CloseNow()
			}
			if res == nil || res.StatusCode != tt.want {
				t.Errorf("got %v (%v), want %d", res, err, tt.want)
			}
		})
	}

	status, _, _ := ana.b.do("POST", "http://"+m.Addr()+"/console/logout", url.Values{"csrf": {ana.csrf}}, nil)
	if status != http.StatusSeeOther {
		t.Fatalf("logout: %d", status)
	}
	if got := ana.sock.closedWith(); got != 4001 {
		t.Errorf("after logout: socket closed with %v, want 4001", got)
	}
	if _, res, _ := ana.dial("http://"+m.Addr(), ana.csrf); res == nil || res.StatusCode != http.StatusUnauthorized {
		t.Errorf("handshake after logout: got %v, want 401", res)
	}
}

// TestVisitorTokenNeverReachesAnotherConversation: two visitors chat at
// once; each token opens its own conversation, and nothing of one
// reaches the other's socket, live or replayed.
func TestVisitorTokenNeverReachesAnotherConversation(t *testing.T) {
	m := runChatMain(t)
	ana := signInAgent(t, m, "ana@team.example", "Ana")
	va, wa := bubble(t, m, map[string]any{"lang": "fr"})
	vb, wb := bubble(t, m, map[string]any{"lang": "fr"})
	if wa.Conversation.ID == wb.Conversation.ID || wa.Token == wb.Token {
		t.Fatalf("two visitors share conversation %d", wa.Conversation.ID)
	}
	askForChat(t, va)
	askForChat(t, vb)
	vb.nextOf("queue", "")
	ana.sock.send(map[string]any{"type": "claim", "conversation_id": wb.Conversation.ID})
	ana.sock.nextOf("chat", "")
	ana.sock.send(map[string]any{"type": "message", "conversation_id": wb.Conversation.ID, "client_id": "b1", "text": "Pour B seulement"})
	ana.sock.nextOf("ack", "")
	vb.nextOf("message", "chat_claimed")
	if f := vb.nextOf("message", "text"); f.Text != "Pour B seulement" {
		t.Errorf("B: got %+v, want Ana's message", f)
	}

	// A's socket sees nothing of B, live…
	va.quiet()
	// …nor on a replay with A's token from the start.
	va2, w := bubble(t, m, map[string]any{"lang": "fr", "token": wa.Token, "last_seq": 0})
	if w.Conversation.ID != wa.Conversation.ID {
		t.Errorf("A's token: got conversation %d, want %d", w.Conversation.ID, wa.Conversation.ID)
	}
	for {
		f := va2.next()
		if f.Type == "queue" {
			break // the replay is over: the place in the queue comes after it
		}
		if f.Type == "message" && (f.Role == "agent" || strings.Contains(f.Text, "Pour B")) {
			t.Errorf("A's replay: got %+v from B", f)
		}
	}
	// A token no conversation has opens nothing.
	vx, _, err := dialBubble(t, m, "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	defer vx.CloseNow()
	x := &ws{t: t, conn: vx}
	x.send(map[string]any{"type": "hello", "lang": "fr", "token": strings.Repeat("B", 43), "last_seq": 0})
	if f := x.next(); f.Type != "error" || f.Code != "bad_token" {
		t.Errorf("made-up token: got %+v, want bad_token", f)
	}
}

// TestConsolePageShowsAScriptMessageAsText: what a visitor types reaches
// the agent's page escaped, whatever it holds.
func TestConsolePageShowsAScriptMessageAsText(t *testing.T) {
	m := runChatMain(t)
	ana := signInAgent(t, m, "ana@team.example", "Ana")
	v, w := bubble(t, m, map[string]any{"lang": "fr"})
	v.send(map[string]any{"type": "message", "client_id": "q1", "text": `<script>alert("x")</script><img src=x onerror=alert(1)>`})
	v.nextOf("ack", "")
	v.nextOf("message", "text")
	v.nextOf("message", "") // the bot's reply
	askForChat(t, v)
	status, h, page := ana.b.do("GET", fmt.Sprintf("http://%s/console/chats/%d", m.Addr(), w.Conversation.ID), nil, nil)
	if status != http.StatusOK {
		t.Fatalf("conversation page: %d %s", status, page)
	}
	if !strings.Contains(page, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;`) ||
		strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") {
		t.Errorf("conversation page: want the message as text: %s", page)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q: want no inline script", csp)
	}
	_, _, list := ana.b.do("GET", "http://"+m.Addr()+"/console/chats", nil, nil)
	if !strings.Contains(list, fmt.Sprintf(`href="/console/chats/%d?lang=`, w.Conversation.ID)) {
		t.Errorf("chats page: want a link to the queued chat: %s", list)
	}
	// The script is served, from this site, and the socket closes cleanly.
	ana.sock.conn.Close(websocket.StatusNormalClosure, "")
}
