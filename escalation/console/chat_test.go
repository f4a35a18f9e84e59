package console

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/coder/websocket"
)

func TestQueueFramesShowWhatAnAgentNeedsAtOnce(t *testing.T) {
	f := newFixture(t, Options{}, false)
	ana := f.console("ana@team.example", "Ana")
	v := f.queuedVisitor("Ma facture est fausse")
	q := ana.nextOf(typeQueue)
	if len(q.Chats) != 1 || len(q.Active) != 0 {
		t.Fatalf("queue: got %+v, want one queued chat and none under way", q)
	}
	c := q.Chats[0]
	if c.ConversationID != v.conv.ID || c.Status != "queued" || c.Lang != "fr" || c.PageURL != "https://shop.example/panier?q=<x>" ||
		c.Topic != "billing/invoice" || c.Verified || c.WaitS < 0 || c.LastSeq != 4 {
		t.Errorf("queued chat: got %+v, want conversation %d, fr, its page and topic, unverified, 4 messages", c, v.conv.ID)
	}

	// The site vouches for the visitor: the badge shows at the next change.
	secret := bytes.Repeat([]byte{7}, escalation.MinIdentitySecret)
	ids, err := escalation.NewIdentities(f.store, secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	signed := escalation.SignIdentity(secret, escalation.Identity{Email: "zoe@example.org", IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()})
	if _, err := ids.Attach(context.Background(), v.conv.ID, signed); err != nil {
		t.Fatal(err)
	}
	f.con.hub.PublishQueue()
	if c := ana.nextOf(typeQueue).Chats[0]; !c.Verified || c.VerifiedEmail != "zoe@example.org" {
		t.Errorf("after the identity: got %+v, want verified as zoe@example.org", c)
	}
}

func TestClaimRaceBetweenConsolesHasOneWinner(t *testing.T) {
	f := newFixture(t, Options{}, false)
	ana := f.console("ana@team.example", "Ana")
	bo := f.console("bo@team.example", "Bo")
	for round := range 5 {
		v := f.queuedVisitor(fmt.Sprintf("question %d", round))
		var wg sync.WaitGroup
		for _, a := range []*agentConsole{ana, bo} {
			wg.Go(func() { a.send(map[string]any{"type": typeClaim, "conversation_id": v.conv.ID}) })
		}
		wg.Wait()
		winners, taken := 0, 0
		for _, a := range []*agentConsole{ana, bo} {
			for {
				fr := a.next()
				if fr.Type == typeChat && fr.Chat.ConversationID == v.conv.ID {
					if fr.Chat.Status != "active" || fr.Chat.AgentID != a.agent.ID {
						t.Errorf("round %d: winner's chat frame %+v, want active, held by %d", round, fr.Chat, a.agent.ID)
					}
					winners++
					break
				}
				if fr.Type == typeError {
					if fr.Code != CodeTaken || fr.ConversationID != v.conv.ID {
						t.Errorf("round %d: loser got %+v, want taken", round, fr)
					}
					taken++
					break
				}
			}
		}
		if winners != 1 || taken != 1 {
			t.Errorf("round %d: got %d winners and %d taken, want one of each", round, winners, taken)
		}
		claims := 0
		for _, m := range v.messages(0) {
			if m.Kind == escalation.KindChatClaimed {
				claims++
			}
		}
		if claims != 1 {
			t.Errorf("round %d: got %d claim notes, want 1", round, claims)
		}
	}
}

func TestOnlyTheHolderWritesInAChat(t *testing.T) {
	f := newFixture(t, Options{}, false)
	ana := f.console("ana@team.example", "Ana")
	bo := f.console("bo@team.example", "Bo")
	v := f.queuedVisitor("Bonjour")
	ana.send(map[string]any{"type": typeClaim, "conversation_id": v.conv.ID})
	ana.nextOf(typeChat)
	before := len(v.messages(0))
	v.drain()
	on := true
	tests := []struct {
		name  string
		frame map[string]any
	}{
		{"a message", map[string]any{"type": typeMessage, "conversation_id": v.conv.ID, "client_id": "b1", "text": "Je prends la main"}},
		{"typing", map[string]any{"type": typeTyping, "conversation_id": v.conv.ID, "on": on}},
		{"a transfer to themselves", map[string]any{"type": typeTransfer, "conversation_id": v.conv.ID, "to_agent_id": bo.agent.ID}},
		{"a transfer to another", map[string]any{"type": typeTransfer, "conversation_id": v.conv.ID, "to_agent_id": ana.agent.ID}},
		{"a close", map[string]any{"type": typeClose, "conversation_id": v.conv.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bo.send(tt.frame)
			e := bo.nextOf(typeError)
			want := CodeNotHolder
			if tt.frame["to_agent_id"] == bo.agent.ID {
				want = CodeBadFrame
			}
			if e.Code != want || e.ConversationID != v.conv.ID {
				t.Errorf("got %+v, want %s for conversation %d", e, want, v.conv.ID)
			}
		})
	}
	if got := len(v.messages(0)); got != before {
		t.Errorf("messages: got %d, want %d: nothing stored", got, before)
	}
	select {
	case ev := <-v.sub.C():
		t.Errorf("bubble: got %+v, want nothing", ev)
	case <-time.After(100 * time.Millisecond):
	}
	if chat, err := f.store.ChatOf(context.Background(), v.conv.ID); err != nil || chat.AgentID != ana.agent.ID || chat.Status != escalation.ChatActive {
		t.Errorf("chat: got %+v, %v; want still Ana's", chat, err)
	}
}

func TestAgentMessageIsStoredAckedThenDeliveredOnce(t *testing.T) {
	f := newFixture(t, Options{}, false)
	ana := f.console("ana@team.example", "Ana")
	v := f.queuedVisitor("Bonjour")
	if c := ana.follow(v.conv.ID, 4); c.Status != "queued" || c.LastSeq != 4 {
		t.Fatalf("follow: got %+v, want queued, last seq 4", c)
	}
	ana.send(map[string]any{"type": typeClaim, "conversation_id": v.conv.ID})
	if m := ana.nextOf(typeMessage); m.Seq != 5 || m.Kind != escalation.KindChatClaimed || m.Agent != "Ana" {
		t.Errorf("claim note: got %+v, want seq 5 chat_claimed by Ana", m)
	}
	if c := ana.nextOf(typeChat).Chat; c.Status != "active" || c.AgentID != ana.agent.ID || c.Agent != "Ana" {
		t.Errorf("chat after the claim: got %+v, want active, Ana's", c)
	}
	v.drain()

	ana.send(map[string]any{"type": typeMessage, "conversation_id": v.conv.ID, "client_id": "a1", "text": "  Bonjour, je regarde.  "})
	ack := ana.nextOf(typeAck)
	if ack.ClientID != "a1" || ack.Seq != 6 || ack.ConversationID != v.conv.ID {
		t.Errorf("ack: got %+v, want a1 at seq 6", ack)
	}
	if m := ana.nextOf(typeMessage); m.Seq != 6 || m.Role != "agent" || m.Agent != "Ana" || m.Text != "Bonjour, je regarde." || m.ClientID != "a1" {
		t.Errorf("message: got %+v, want seq 6 by Ana, trimmed", m)
	}
	if ev := v.event(); ev.Kind != escalation.EventMessages || ev.ConversationID != v.conv.ID {
		t.Errorf("bubble: got %+v, want new messages", ev)
	}
	if msgs := v.messages(5); len(msgs) != 1 || msgs[0].Role != escalation.RoleAgent || msgs[0].Body != "Bonjour, je regarde." {
		t.Errorf("stored: got %+v, want the agent message", msgs)
	}

	// A resend (the console reconnected before it saw the ack) stores
	// nothing and is acked with the same seq.
	ana.send(map[string]any{"type": typeMessage, "conversation_id": v.conv.ID, "client_id": "a1", "text": "Bonjour, je regarde."})
	if ack := ana.nextOf(typeAck); ack.Seq != 6 {
		t.Errorf("resend: got %+v, want seq 6 again", ack)
	}
	ana.quiet()
	if n := len(v.messages(0)); n != 6 {
		t.Errorf("messages after the resend: got %d, want 6", n)
	}
	// A client id the visitor used names their message, not the agent's.
	ana.send(map[string]any{"type": typeMessage, "conversation_id": v.conv.ID, "client_id": "v1", "text": "Coucou"})
	if e := ana.nextOf(typeError); e.Code != CodeBadFrame || e.ClientID != "v1" {
		t.Errorf("the visitor's client id: got %+v, want bad_frame", e)
	}
}

func TestFollowReplaysExactlyTheGapAfterAReconnect(t *testing.T) {
	f := newFixture(t, Options{}, false)
	ana := f.console("ana@team.example", "Ana")
	v := f.queuedVisitor("<script>alert(1)</script>")
	ana.follow(v.conv.ID, 0)
	var got []chatFrameIn
	for range 4 {
		got = append(got, ana.nextOf(typeMessage))
	}
	if got[0].Seq != 1 || got[0].Text != "<script>alert(1)</script>" || got[1].Role != "bot" ||
		got[1].Quote != "<img src=x onerror=alert(2)>" || got[1].Article == nil || got[1].Article.Title != "Factures <b>PDF</b>" ||
		got[1].Article.URL != "/fr/billing/invoice" || got[3].Kind != escalation.KindChatQueued {
		t.Errorf("history: got %+v, want the question, the bot's answer with its quote and article, the request and the queue note", got)
	}
	ana.send(map[string]any{"type": typeClaim, "conversation_id": v.conv.ID})
	ana.nextOf(typeMessage) // seq 5, claimed
	ana.nextOf(typeChat)
	ana.send(map[string]any{"type": typeClose, "conversation_id": v.conv.ID})
	if m := ana.nextOf(typeMessage); m.Seq != 6 || m.Kind != escalation.KindChatClosed {
		t.Errorf("close note: got %+v, want seq 6 chat_closed", m)
	}
	ana.nextOf(typeChat)

	// The console drops; meanwhile the visitor rates the chat and writes.
	ana.conn.Close(websocket.StatusGoingAway, "")
	ch, err := f.store.RateChat(context.Background(), v.conv.ID, escalation.ChatRating{Rating: 5, ClientID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	f.con.hub.PublishChange(ch)
	v.say("Merci !")

	ana.reconnect()
	if c := ana.follow(v.conv.ID, 6); c.Status != "closed" || c.Rating != 5 || c.LastSeq != 8 {
		t.Errorf("follow after reconnecting: got %+v, want closed, rated 5, last seq 8", c)
	}
	if m := ana.nextOf(typeMessage); m.Seq != 7 || m.Kind != escalation.KindChatRated || m.Text != "Merci pour votre note : 5/5." {
		t.Errorf("replay: got %+v, want seq 7 chat_rated", m)
	}
	if m := ana.nextOf(typeMessage); m.Seq != 8 || m.Text != "Merci !" {
		t.Errorf("replay: got %+v, want seq 8 Merci !", m)
	}
	ana.quiet()

	// A last_seq past the conversation's (a database restored from an
	// older backup) resets the console's copy.
	ana.send(map[string]any{"type": typeFollow, "conversation_id": v.conv.ID, "last_seq": 99})
	if fr := ana.nextOf(typeChat); !fr.Reset {
		t.Errorf("follow past the end: got %+v, want reset", fr)
	}
	if m := ana.nextOf(typeMessage); m.Seq != 1 {
		t.Errorf("after the reset: got %+v, want seq 1 again", m)
	}
}

// typingEvent is the bubble's next typing event: the claim's message
// event is published after the claim commits, so it may still arrive
// after drain.
func (v *visitor) typingEvent() escalation.Event {
	for {
		if ev := v.event(); ev.Kind == escalation.EventTyping {
			return ev
		}
	}
}

func TestTypingGoesBothWays(t *testing.T) {
	f := newFixture(t, Options{}, false)
	ana := f.console("ana@team.example", "Ana")
	v := f.queuedVisitor("Bonjour")
	ana.follow(v.conv.ID, 4)
	ana.send(map[string]any{"type": typeClaim, "conversation_id": v.conv.ID})
	ana.nextOf(typeMessage)
	ana.nextOf(typeChat)
	v.drain()

	v.sub.PublishTyping(v.conv.ID, escalation.RoleVisitor, true)
	if fr := ana.nextOf(typeTyping); fr.ConversationID != v.conv.ID || fr.Role != "visitor" || !fr.On {
		t.Errorf("visitor typing: got %+v, want the visitor typing", fr)
	}
	ana.send(map[string]any{"type": typeTyping, "conversation_id": v.conv.ID, "on": true})
	if ev := v.typingEvent(); ev.Role != escalation.RoleAgent || !ev.On {
		t.Errorf("bubble: got %+v, want the agent typing", ev)
	}
	ana.send(map[string]any{"type": typeTyping, "conversation_id": v.conv.ID, "on": false})
	if ev := v.typingEvent(); ev.On {
		t.Errorf("bubble: got %+v, want the agent stopped", ev)
	}
}

func TestTransferHandsTheChatToAnOnlineAgent(t *testing.T) {
	f := newFixture(t, Options{}, false)
	ana := f.console("ana@team.example", "Ana")
	bo := f.console("bo@team.example", "Bo")
	carl := f.agentNamed("carl@team.example", "Carl") // no console open
	v := f.queuedVisitor("Bonjour")
	ana.follow(v.conv.ID, 4)
	ana.send(map[string]any{"type": typeClaim, "conversation_id": v.conv.ID})
	ana.nextOf(typeMessage)
	ana.nextOf(typeChat)

	ana.send(map[string]any{"type": typeTransfer, "conversation_id": v.conv.ID, "to_agent_id": carl.ID})
	if e := ana.nextOf(typeError); e.Code != CodeOffline {
		t.Errorf("transfer to an agent offline: got %+v, want offline", e)
	}
	ana.send(map[string]any{"type": typeTransfer, "conversation_id": v.conv.ID, "to_agent_id": bo.agent.ID})
	if m := ana.nextOf(typeMessage); m.Kind != escalation.KindChatTransferred || m.Agent != "Bo" || m.FromAgent != "Ana" {
		t.Errorf("transfer note: got %+v, want from Ana to Bo", m)
	}
	if c := ana.nextOf(typeChat).Chat; c.AgentID != bo.agent.ID || c.Status != "active" {
		t.Errorf("chat after the transfer: got %+v, want Bo's", c)
	}
	// Bo's lists say it is his now.
	for {
		q := bo.nextOf(typeQueue)
		if len(q.Active) == 1 && q.Active[0].AgentID == bo.agent.ID {
			break
		}
	}
	bo.send(map[string]any{"type": typeMessage, "conversation_id": v.conv.ID, "client_id": "b1", "text": "Bo ici."})
	if ack := bo.nextOf(typeAck); ack.Seq != 7 {
		t.Errorf("Bo's message: got %+v, want acked at 7", ack)
	}
	if m := ana.nextOf(typeMessage); m.Seq != 7 || m.Agent != "Bo" {
		t.Errorf("Ana, still following: got %+v, want Bo's message", m)
	}
	ana.send(map[string]any{"type": typeMessage, "conversation_id": v.conv.ID, "client_id": "a2", "text": "Encore moi"})
	if e := ana.nextOf(typeError); e.Code != CodeNotHolder || e.ClientID != "a2" {
		t.Errorf("Ana after the transfer: got %+v, want not_holder for a2", e)
	}
}

func TestConsoleFramesRefused(t *testing.T) {
	f := newFixture(t, Options{}, false)
	ana := f.console("ana@team.example", "Ana")
	bo := f.console("bo@team.example", "Bo")
	held := f.queuedVisitor("Bonjour")
	bo.send(map[string]any{"type": typeClaim, "conversation_id": held.conv.ID})
	bo.nextOf(typeChat)
	bo.send(map[string]any{"type": typeClose, "conversation_id": held.conv.ID})
	bo.nextOf(typeChat) // closed: Bo's, and no one else's to read
	noChat, _, err := f.store.CreateConversation(context.Background(), "en", "")
	if err != nil {
		t.Fatal(err)
	}
	open := f.queuedVisitor("Hello")
	tests := []struct {
		name  string
		frame string
		code  string
	}{
		{"not JSON", `hello`, CodeBadJSON},
		{"a field of the wrong type", `{"type":"follow","conversation_id":"12"}`, CodeBadJSON},
		{"an unknown type", `{"type":"dance","conversation_id":1}`, CodeBadFrame},
		{"no conversation", `{"type":"claim"}`, CodeBadFrame},
		{"follow a conversation without a chat", fmt.Sprintf(`{"type":"follow","conversation_id":%d}`, noChat.ID), CodeNotFound},
		{"follow another agent's ended chat", fmt.Sprintf(`{"type":"follow","conversation_id":%d}`, held.conv.ID), CodeNotFound},
		{"follow from a negative seq", fmt.Sprintf(`{"type":"follow","conversation_id":%d,"last_seq":-1}`, open.conv.ID), CodeBadFrame},
		{"claim a chat taken and ended", fmt.Sprintf(`{"type":"claim","conversation_id":%d}`, held.conv.ID), CodeTaken},
		{"claim a conversation without a chat", fmt.Sprintf(`{"type":"claim","conversation_id":%d}`, noChat.ID), CodeNotFound},
		{"a message without client id", fmt.Sprintf(`{"type":"message","conversation_id":%d,"text":"hi"}`, open.conv.ID), CodeBadFrame},
		{"a message with a bad client id", fmt.Sprintf(`{"type":"message","conversation_id":%d,"client_id":"a b","text":"hi"}`, open.conv.ID), CodeBadFrame},
		{"an empty message", fmt.Sprintf(`{"type":"message","conversation_id":%d,"client_id":"a1","text":"  "}`, open.conv.ID), CodeBadFrame},
		{"a message too long", fmt.Sprintf(`{"type":"message","conversation_id":%d,"client_id":"a1","text":"%s"}`, open.conv.ID, strings.Repeat("é", maxAgentText+1)), CodeTooLong},
		{"a message in a queued chat", fmt.Sprintf(`{"type":"message","conversation_id":%d,"client_id":"a1","text":"hi"}`, open.conv.ID), CodeNotHolder},
		{"typing without on", fmt.Sprintf(`{"type":"typing","conversation_id":%d}`, open.conv.ID), CodeBadFrame},
		{"a transfer to nobody", fmt.Sprintf(`{"type":"transfer","conversation_id":%d}`, open.conv.ID), CodeBadFrame},
		{"close a queued chat", fmt.Sprintf(`{"type":"close","conversation_id":%d}`, open.conv.ID), CodeNotHolder},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := ana.conn.Write(ctx, websocket.MessageText, []byte(tt.frame)); err != nil {
				t.Fatal(err)
			}
			if e := ana.nextOf(typeError); e.Code != tt.code {
				t.Errorf("got %+v, want %s", e, tt.code)
			}
		})
	}
	t.Run("a binary frame", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ana.conn.Write(ctx, websocket.MessageBinary, []byte(`{"type":"ping"}`)); err != nil {
			t.Fatal(err)
		}
		if e := ana.nextOf(typeError); e.Code != CodeBadFrame {
			t.Errorf("got %+v, want bad_frame", e)
		}
	})
	t.Run("ping", func(t *testing.T) {
		ana.send(map[string]any{"type": typePing})
		ana.nextOf(typePong)
	})
}

func TestConsoleSocketLimitsFramesAndTheirSize(t *testing.T) {
	t.Run("a flood is slowed, then closed with 1008", func(t *testing.T) {
		f := newFixture(t, Options{}, false)
		ana := f.console("ana@team.example", "Ana")
		limited := 0
		for range agentBurst + maxLimitedInARow + 10 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := ana.conn.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`))
			cancel()
			if err != nil {
				break // closed already
			}
		}
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, data, err := ana.conn.Read(ctx)
			cancel()
			if err != nil {
				if s := websocket.CloseStatus(err); s != websocket.StatusPolicyViolation {
					t.Errorf("closed with %v (%v), want 1008", s, err)
				}
				break
			}
			if strings.Contains(string(data), CodeRateLimited) {
				limited++
			}
		}
		if limited < maxLimitedInARow-1 {
			t.Errorf("rate_limited frames: got %d, want %d before the close", limited, maxLimitedInARow-1)
		}
	})
	t.Run("a frame over the limit closes with 1009", func(t *testing.T) {
		f := newFixture(t, Options{}, false)
		ana := f.console("ana@team.example", "Ana")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		big := `{"type":"message","conversation_id":1,"client_id":"a","text":"` + strings.Repeat("x", maxAgentFrame) + `"}`
		ana.conn.Write(ctx, websocket.MessageText, []byte(big))
		for {
			_, _, err := ana.conn.Read(ctx)
			if err != nil {
				if s := websocket.CloseStatus(err); s != websocket.StatusMessageTooBig {
					t.Errorf("closed with %v (%v), want 1009", s, err)
				}
				return
			}
		}
	})
}

func TestChatPagesShowEveryFieldAsText(t *testing.T) {
	f := newFixture(t, Options{DefaultLang: "fr"}, false)
	ana := f.console("ana@team.example", "Ana")
	v := f.queuedVisitor(`<script>alert(1)</script>`)

	list := ana.b.get("/console/chats?lang=fr")
	page := ana.b.get(fmt.Sprintf("/console/chats/%d?lang=fr", v.conv.ID))
	for name, res := range map[string]response{"list": list, "conversation": page} {
		if res.status != http.StatusOK {
			t.Fatalf("%s: got %d, want 200: %s", name, res.status, res.body)
		}
		if csp := res.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: CSP %q, want script-src 'self'", name, csp)
		}
		if n := strings.Count(res.body, "<script"); n != 2 || !strings.Contains(res.body, `<script src="/console/static/chat.js?v=`) ||
			!strings.Contains(res.body, `<script src="/console/static/alert.js?v=`) {
			t.Errorf("%s: got %d script tags, want only alert.js and chat.js", name, n)
		}
		if strings.Contains(res.body, "<x>") || !strings.Contains(res.body, "https://shop.example/panier?q=%3cx%3e") {
			t.Errorf("%s: the page URL is not escaped: %s", name, res.body)
		}
		if !strings.Contains(res.body, "billing/invoice") || !strings.Contains(res.body, `<span class="lang">fr</span>`) && name == "list" {
			t.Errorf("%s: want the topic and the language: %s", name, res.body)
		}
	}
	for _, want := range []string{
		`<p class="text">&lt;script&gt;alert(1)&lt;/script&gt;</p>`,
		`<blockquote class="quote">&lt;img src=x onerror=alert(2)&gt;</blockquote>`,
		`<a href="/fr/billing/invoice" target="_blank" rel="noopener noreferrer">Factures &lt;b&gt;PDF&lt;/b&gt;</a>`,
		`data-conversation="` + fmt.Sprint(v.conv.ID) + `" data-last-seq="4"`,
		`Prendre en charge`, `Non vérifié`,
	} {
		if !strings.Contains(page.body, want) {
			t.Errorf("conversation page: want %s in %s", want, page.body)
		}
	}
	for _, bad := range []string{"<script>alert", "<img src=x", "<b>PDF"} {
		if strings.Contains(page.body, bad) {
			t.Errorf("conversation page: got %q unescaped", bad)
		}
	}
}

func TestChatPageOpensOnlyForChatsTheAgentMayRead(t *testing.T) {
	f := newFixture(t, Options{}, false)
	ana := f.console("ana@team.example", "Ana")
	bo := f.console("bo@team.example", "Bo")
	queued := f.queuedVisitor("Bonjour")
	bos := f.queuedVisitor("Salut")
	bo.send(map[string]any{"type": typeClaim, "conversation_id": bos.conv.ID})
	bo.nextOf(typeChat)
	anas := f.queuedVisitor("Coucou")
	ana.send(map[string]any{"type": typeClaim, "conversation_id": anas.conv.ID})
	ana.nextOf(typeChat)
	ana.send(map[string]any{"type": typeClose, "conversation_id": anas.conv.ID})
	ana.nextOf(typeChat)
	ended := f.queuedVisitor("Fini")
	bo.send(map[string]any{"type": typeClaim, "conversation_id": ended.conv.ID})
	bo.nextOf(typeChat)
	bo.send(map[string]any{"type": typeClose, "conversation_id": ended.conv.ID})
	bo.nextOf(typeChat)
	tests := []struct {
		name       string
		b          *browser
		path       string
		wantStatus int
		want       string
	}{
		{"a queued chat", ana.b, fmt.Sprintf("/console/chats/%d?lang=en", queued.conv.ID), 200, `<button type="button" id="claim">Claim</button>`},
		{"another agent's chat under way", ana.b, fmt.Sprintf("/console/chats/%d?lang=en", bos.conv.ID), 200, `<form class="box reply" id="reply" hidden>`},
		{"the holder's chat", bo.b, fmt.Sprintf("/console/chats/%d?lang=en", bos.conv.ID), 200, `<form class="box reply" id="reply">`},
		{"a chat the agent ended", ana.b, fmt.Sprintf("/console/chats/%d?lang=en", anas.conv.ID), 200, "ended"},
		{"a chat another agent ended", ana.b, fmt.Sprintf("/console/chats/%d?lang=en", ended.conv.ID), 404, "no longer open"},
		{"no such chat", ana.b, "/console/chats/999999?lang=en", 404, "does not exist"},
		{"not a number", ana.b, "/console/chats/abc?lang=en", 404, "does not exist"},
		{"signed out", f.browser(), fmt.Sprintf("/console/chats/%d?lang=en", queued.conv.ID), 303, ""},
		{"the lists, signed out", f.browser(), "/console/chats?lang=en", 303, ""},
		{"the lists", bo.b, "/console/chats?lang=en", 200, "My chats"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.b.get(tt.path)
			if res.status != tt.wantStatus || !strings.Contains(res.body, tt.want) {
				t.Errorf("got %d, want %d with %q; body %s", res.status, tt.wantStatus, tt.want, res.body)
			}
			if tt.wantStatus == 303 && !strings.HasPrefix(res.header.Get("Location"), "/console/login") {
				t.Errorf("redirect to %q, want sign-in", res.header.Get("Location"))
			}
		})
	}
}

func TestASocketFollowsWhatItAsksAndNoMore(t *testing.T) {
	f := newFixture(t, Options{}, false)
	ana := f.console("ana@team.example", "Ana")
	var visitors []*visitor
	for i := range maxFollows + 1 {
		v := f.queuedVisitor(fmt.Sprintf("question %d", i))
		visitors = append(visitors, v)
		if i < maxFollows {
			if i >= agentBurst/2 {
				time.Sleep(time.Second / agentRate) // within the rate limit
			}
			ana.follow(v.conv.ID, 4)
		}
	}
	last := visitors[maxFollows]
	ana.send(map[string]any{"type": typeFollow, "conversation_id": last.conv.ID, "last_seq": 4})
	if e := ana.nextOf(typeError); e.Code != CodeTooMany {
		t.Errorf("follow number %d: got %+v, want too_many", maxFollows+1, e)
	}

	// Unfollowed, a conversation sends nothing more; and it frees a place.
	first := visitors[0]
	ana.send(map[string]any{"type": typeUnfollow, "conversation_id": first.conv.ID})
	ana.send(map[string]any{"type": typePing})
	ana.nextOf(typePong) // the unfollow is done
	first.say("Toujours là ?")
	ana.quiet()
	if c := ana.follow(last.conv.ID, 4); c.ConversationID != last.conv.ID {
		t.Errorf("follow after an unfollow: got %+v, want conversation %d", c, last.conv.ID)
	}
	last.say("Et moi ?")
	if m := ana.nextOf(typeMessage); m.ConversationID != last.conv.ID || m.Text != "Et moi ?" {
		t.Errorf("got %+v, want the new message of conversation %d", m, last.conv.ID)
	}
}
