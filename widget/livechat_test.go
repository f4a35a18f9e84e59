package widget

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
)

// online is an Agents with a fixed count.
type online int

func (n online) Online() int { return int(n) }

// hoursClosed is ChatHours outside the chat hours.
type hoursClosed struct{}

func (hoursClosed) ChatStatus(context.Context, time.Time) escalation.ChannelStatus {
	return escalation.ChannelStatus{}
}

// liveFrame is a server frame with the live-chat fields.
type liveFrame struct {
	Type     string `json:"type"`
	Code     string `json:"code"`
	ClientID string `json:"client_id"`
	Seq      int64  `json:"seq"`
	Role     string `json:"role"`
	Kind     string `json:"kind"`
	Text     string `json:"text"`
	Channel  string `json:"channel"`
	ReplyTo  int64  `json:"reply_to"`
	Agent    string `json:"agent"`
	Position int    `json:"position"`
	WaitS    int    `json:"wait_s"`
	Rating   int    `json:"rating"`
	Reason   string `json:"reason"`
	On       bool   `json:"on"`
	Token    string `json:"token"`
	Conv     struct {
		ID int64 `json:"id"`
	} `json:"conversation"`
}

// next reads the next frame with its live-chat fields.
func (c *client) next() liveFrame {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := c.conn.Read(ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var f liveFrame
	if err := json.Unmarshal(data, &f); err != nil {
		c.t.Fatalf("bad frame from server: %s", data)
	}
	return f
}

// nextOf reads the next frame and checks its type (and, for messages, its kind).
func (c *client) nextOf(typ, kind string) liveFrame {
	c.t.Helper()
	f := c.next()
	if f.Type != typ || (kind != "" && f.Kind != kind) {
		c.t.Fatalf("got frame %+v, want %s %s", f, typ, kind)
	}
	return f
}

// liveEnv serves a widget with live chat on its store, sharing hub with
// the test, which plays the agent's console through the store.
type liveEnv struct {
	*testEnv
	hub *escalation.Hub
}

func newLiveEnv(t *testing.T, change func(*Options)) liveEnv {
	t.Helper()
	hub := escalation.NewHub(escalation.HubOptions{})
	store := openStore(t)
	base := openBase(t, writeArticles(t, testArticles))
	env := newEnvOn(t, base, bot.New(base, chatClosed{}, bot.DefaultConfig()), store, func(o *Options) {
		o.LiveChat, o.Agents, o.Hub = store, online(1), hub
		if change != nil {
			change(o)
		}
	})
	return liveEnv{testEnv: env, hub: hub}
}

// askChat sends a person frame for chat and reads the ack and the request note.
func (c *client) askChat(clientID string) {
	c.t.Helper()
	c.send(map[string]any{"type": "person", "channel": "chat", "client_id": clientID,
		"page_url": "https://shop.example/panier", "topic": "billing/invoice"})
	ack := c.nextOf(typeAck, "")
	req := c.nextOf(typeMessage, kindPersonRequest)
	if ack.ClientID != clientID || ack.Seq != req.Seq || req.Channel != "chat" {
		c.t.Fatalf("request: got ack %+v and note %+v, want the note acked", ack, req)
	}
}

// agentEvent waits for the next event of an agent-side subscription.
func agentEvent(t *testing.T, sub *escalation.Subscription) escalation.Event {
	t.Helper()
	select {
	case ev, ok := <-sub.C():
		if !ok {
			t.Fatal("agent subscription: got closed, want an event")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("agent subscription: got nothing, want an event")
	}
	return escalation.Event{}
}

func TestLiveChatFromQueueToRatingOverRealSockets(t *testing.T) {
	env := newLiveEnv(t, nil)
	ctx := context.Background()
	store, hub := env.store, env.hub
	ana, _, err := store.AddAgent(ctx, "ana@team.example", "Ana")
	if err != nil {
		t.Fatal(err)
	}

	// The visitor asks for a person and is queued, first.
	c := env.dial(t, "https://shop.example")
	c.send(map[string]any{"type": "hello", "lang": "fr"})
	w := c.nextOf(typeWelcome, "")
	convID := w.Conv.ID
	console := hub.Subscribe(convID) // the agent's console, following the conversation
	defer console.Close()
	c.askChat("p1")
	queued := c.nextOf(typeMessage, escalation.KindChatQueued)
	if queued.Position != 1 || queued.Text != "Vous êtes n° 1 dans la file, attente estimée : 2 min" {
		t.Errorf("queued note: got %+v, want position 1 with its French text", queued)
	}
	if q := c.nextOf(typeQueue, ""); q.Position != 1 || q.WaitS != 120 {
		t.Errorf("queue frame: got %+v, want position 1, 120 s", q)
	}
	if chat, err := store.ChatOf(ctx, convID); err != nil || chat.PageURL != "https://shop.example/panier" || chat.Topic != "billing/invoice" {
		t.Errorf("chat: got %+v, %v; want the page and topic the bubble sent", chat, err)
	}

	// An agent claims it: the visitor sees who, and leaves the queue.
	claim, err := store.ClaimChat(ctx, convID, ana.ID)
	if err != nil {
		t.Fatal(err)
	}
	hub.PublishChange(claim)
	if m := c.nextOf(typeMessage, escalation.KindChatClaimed); m.Agent != "Ana" || m.Text != "Ana a rejoint la conversation." {
		t.Errorf("claim note: got %+v, want Ana", m)
	}
	if q := c.nextOf(typeQueue, ""); q.Position != 0 {
		t.Errorf("queue frame after the claim: got %+v, want position 0", q)
	}

	// Typing, both ways.
	hub.PublishTyping(convID, escalation.RoleAgent, true)
	if f := c.nextOf(typeTyping, ""); f.Role != "agent" || !f.On {
		t.Errorf("agent typing: got %+v, want role agent, on", f)
	}
	for len(console.C()) > 0 {
		<-console.C() // what the console saw so far
	}
	c.send(map[string]any{"type": "typing", "on": true})
	if ev := agentEvent(t, console); ev.Kind != escalation.EventTyping || ev.Role != escalation.RoleVisitor || !ev.On {
		t.Errorf("visitor typing at the console: got %+v, want the visitor typing", ev)
	}

	// The agent's message arrives live, with the agent's name.
	say := func(id, text string) int64 {
		t.Helper()
		m, _, err := store.AppendAgentMessage(ctx, ana.ID, escalation.NewMessage{ConversationID: convID, ClientID: id, Body: text})
		if err != nil {
			t.Fatal(err)
		}
		hub.Publish(convID)
		return m.Seq
	}
	seq := say("a1", "Bonjour, je regarde votre facture.")
	if m := c.nextOf(typeMessage, "text"); m.Seq != seq || m.Role != "agent" || m.Agent != "Ana" || m.Text != "Bonjour, je regarde votre facture." {
		t.Errorf("agent message: got %+v, want seq %d by Ana", m, seq)
	}

	// The visitor answers: stored for the agent, and the bot stays quiet.
	c.send(map[string]any{"type": "message", "client_id": "v1", "text": "Merci !"})
	c.nextOf(typeAck, "")
	last := c.nextOf(typeMessage, "text")
	c.quiet()
	if ev := agentEvent(t, console); ev.Kind != escalation.EventMessages {
		t.Errorf("visitor message at the console: got %+v, want new messages", ev)
	}

	// The socket drops; the agent writes twice; the visitor comes back
	// with their last seq and gets exactly those two, in order.
	c.conn.CloseNow()
	first, second := say("a2", "Je vois le problème."), say("a3", "C'est corrigé.")
	c = env.dial(t, "https://shop.example")
	c.send(map[string]any{"type": "hello", "lang": "fr", "token": w.Token, "last_seq": last.Seq})
	c.nextOf(typeWelcome, "")
	if m := c.nextOf(typeMessage, ""); m.Seq != first || m.Text != "Je vois le problème." || m.Agent != "Ana" {
		t.Errorf("first replayed: got %+v, want seq %d", m, first)
	}
	if m := c.nextOf(typeMessage, ""); m.Seq != second || m.Text != "C'est corrigé." {
		t.Errorf("second replayed: got %+v, want seq %d", m, second)
	}
	c.quiet()

	// The agent closes; the visitor rates 4, once.
	closed, err := store.CloseChat(ctx, convID, ana.ID)
	if err != nil {
		t.Fatal(err)
	}
	hub.PublishChange(closed)
	c.nextOf(typeMessage, escalation.KindChatClosed)
	c.send(map[string]any{"type": "rate", "client_id": "r1", "rating": 4, "comment": "Efficace"})
	ack := c.nextOf(typeAck, "")
	rated := c.nextOf(typeMessage, escalation.KindChatRated)
	if ack.Seq != rated.Seq || rated.Rating != 4 || rated.Text != "Merci pour votre note : 4/5." {
		t.Errorf("rating: got ack %+v and note %+v, want the note acked, 4/5", ack, rated)
	}
	c.send(map[string]any{"type": "rate", "client_id": "r1", "rating": 4, "comment": "Efficace"})
	if again := c.nextOf(typeAck, ""); again.Seq != rated.Seq {
		t.Errorf("rating resent: got ack %+v, want seq %d again", again, rated.Seq)
	}
	c.send(map[string]any{"type": "rate", "client_id": "r2", "rating": 1})
	if e := c.nextOf(typeError, ""); e.Code != CodeAlreadyRated {
		t.Errorf("second rating: got %+v, want already_rated", e)
	}
	c.quiet()
	chat, err := store.ChatOf(ctx, convID)
	if err != nil || chat.Rating != 4 || chat.RatingComment != "Efficace" {
		t.Errorf("stored rating: got %+v, %v; want 4 with its comment", chat, err)
	}
	msgs, err := store.MessagesAfter(ctx, convID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if m.Kind == escalation.KindChatRated {
			n++
		}
	}
	if n != 1 {
		t.Errorf("rating notes: got %d, want 1", n)
	}
}

func TestChatRequestOffersEmailWhenChatIsNotOpen(t *testing.T) {
	tests := []struct {
		name       string
		change     func(*Options)
		wantReason string
		wantText   string
	}{
		{"nobody online", func(o *Options) { o.Agents = nil }, reasonNoAgent,
			"Personne n'est disponible pour discuter en direct en ce moment. Réessayez un peu plus tard."},
		{"no agent among those connected", func(o *Options) { o.Agents = online(0) }, reasonNoAgent, ""},
		{"outside the chat hours", func(o *Options) { o.ChatHours = hoursClosed{} }, reasonClosed,
			"Le chat en direct est fermé en ce moment. Réessayez un peu plus tard."},
		{"a wait over the limit", func(o *Options) { o.ChatMaxWait = time.Minute }, reasonWait,
			"L'attente pour discuter en direct dépasse 1 min en ce moment. Réessayez un peu plus tard."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newLiveEnv(t, tt.change)
			c := env.dial(t, "https://shop.example")
			c.send(map[string]any{"type": "hello", "lang": "fr"})
			w := c.nextOf(typeWelcome, "")
			c.askChat("p1")
			m := c.nextOf(typeMessage, kindChatUnavailable)
			if m.Reason != tt.wantReason || m.ReplyTo != 1 || m.Channel != "" {
				t.Errorf("got %+v, want reason %s replying to the request, no channel without tickets", m, tt.wantReason)
			}
			if tt.wantText != "" && m.Text != tt.wantText {
				t.Errorf("text: got %q, want %q", m.Text, tt.wantText)
			}
			// A resend decides nothing twice.
			c.send(map[string]any{"type": "person", "channel": "chat", "client_id": "p1"})
			if ack := c.nextOf(typeAck, ""); ack.Seq != 1 {
				t.Errorf("resend: got ack %+v, want seq 1", ack)
			}
			c.quiet()
			if _, err := env.store.ChatOf(context.Background(), w.Conv.ID); !strings.Contains(errString(err), "not found") {
				t.Errorf("chat: got %v, want none queued", err)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestQueuedVisitorHearsTheirPlaceMoveAndLeavesByEmail(t *testing.T) {
	store := openStore(t)
	tokens, err := escalation.NewReplyTokens(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	desk, err := escalation.NewDesk(store, escalation.DeskOptions{From: "no-reply@help.example", ReplyDomain: "help.example", Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	hub := escalation.NewHub(escalation.HubOptions{})
	base := openBase(t, writeArticles(t, testArticles))
	env := newEnvOn(t, base, bot.New(base, chatClosed{}, bot.DefaultConfig()), store, func(o *Options) {
		o.LiveChat, o.Agents, o.Hub, o.Tickets = store, online(2), hub, desk
	})
	ctx := context.Background()
	queue := hub.SubscribeQueue() // the consoles' view of the queue
	defer queue.Close()

	first := env.dial(t, "https://shop.example")
	first.send(map[string]any{"type": "hello", "lang": "en"})
	firstConv := first.nextOf(typeWelcome, "").Conv.ID
	first.askChat("p1")
	first.nextOf(typeMessage, escalation.KindChatQueued)
	first.nextOf(typeQueue, "")
	if ev := agentEvent(t, queue); ev.Kind != escalation.EventQueue {
		t.Errorf("console: got %+v, want a queue event", ev)
	}

	second := env.dial(t, "https://shop.example")
	second.send(map[string]any{"type": "hello", "lang": "en"})
	w := second.nextOf(typeWelcome, "")
	second.askChat("p1")
	if m := second.nextOf(typeMessage, escalation.KindChatQueued); m.Position != 2 || m.Text != "You are number 2 in the queue, estimated wait: 4 min" {
		t.Errorf("second queued: got %+v, want number 2", m)
	}
	if q := second.nextOf(typeQueue, ""); q.Position != 2 || q.WaitS != 240 {
		t.Errorf("second's place: got %+v, want 2, 240 s", q)
	}
	if q := first.nextOf(typeQueue, ""); q.Position != 1 {
		t.Errorf("first's place after the second joined: got %+v, want 1 still", q)
	}

	// The first visitor takes the email route: the second moves up.
	first.send(map[string]any{"type": "ticket", "client_id": "t1", "topic": "billing", "email": "ana@example.org",
		"text": "Ma facture est fausse."})
	first.nextOf(typeAck, "")
	first.nextOf(typeMessage, escalation.KindTicket)
	first.nextOf(typeMessage, "ticket_created")
	first.nextOf(typeMessage, escalation.KindChatConverted)
	if q := first.nextOf(typeQueue, ""); q.Position != 0 {
		t.Errorf("first after the ticket: got %+v, want out of the queue", q)
	}
	if chat, err := store.ChatOf(ctx, firstConv); err != nil || chat.Status != escalation.ChatConverted {
		t.Errorf("first chat: got %+v, %v; want converted", chat, err)
	}
	if q := second.nextOf(typeQueue, ""); q.Position != 1 {
		t.Errorf("second after the first left: got %+v, want 1", q)
	}

	// A reconnecting visitor hears their place again after the replay.
	second.conn.CloseNow()
	second = env.dial(t, "https://shop.example")
	second.send(map[string]any{"type": "hello", "lang": "en", "token": w.Token, "last_seq": 2})
	second.nextOf(typeWelcome, "")
	if q := second.nextOf(typeQueue, ""); q.Position != 1 {
		t.Errorf("second after reconnecting: got %+v, want 1", q)
	}
	second.quiet()

	// While queued, the visitor's messages wait for a person: no bot answer.
	second.send(map[string]any{"type": "message", "client_id": "m1", "text": askInvoice})
	second.nextOf(typeAck, "")
	second.nextOf(typeMessage, "text")
	second.quiet()
}

func TestRateAndTypingRefusals(t *testing.T) {
	env := newLiveEnv(t, nil)
	c := env.dial(t, "https://shop.example")
	c.send(map[string]any{"type": "hello", "lang": "en"})
	c.nextOf(typeWelcome, "")
	steps := []struct {
		name  string
		frame map[string]any
		code  string
	}{
		{"a rating without a chat", map[string]any{"type": "rate", "rating": 4}, CodeNotClosed},
		{"a rating without a number", map[string]any{"type": "rate"}, CodeBadFrame},
		{"a rating of 7", map[string]any{"type": "rate", "rating": 7}, CodeBadRating},
		{"a rating with a half", map[string]any{"type": "rate", "rating": 3.5}, CodeBadJSON},
		{"typing without on", map[string]any{"type": "typing"}, CodeBadFrame},
	}
	for _, st := range steps {
		c.send(st.frame)
		if e := c.nextOf(typeError, ""); e.Code != st.code {
			t.Errorf("%s: got %+v, want %s", st.name, e, st.code)
		}
	}
	c.send(map[string]any{"type": "typing", "on": false}) // fine, and silent
	c.quiet()

	plain := newEnv(t, nil) // no live chat
	p := plain.dial(t, "https://shop.example")
	p.hello("en")
	p.send(map[string]any{"type": "rate", "rating": 4})
	p.expectError(CodeNoChat)
	p.send(map[string]any{"type": "typing", "on": true})
	p.quiet()
}

func TestUnavailableTextAlwaysSaysWhatToDo(t *testing.T) {
	for _, lang := range []string{"fr", "en"} {
		for _, reason := range []string{reasonClosed, reasonNoAgent, reasonWait} {
			for _, tickets := range []bool{true, false} {
				txt := unavailableText(lang, reason, 10*time.Minute, tickets)
				wantWay := map[bool]map[string]string{true: {"fr": "par e-mail", "en": "by email"},
					false: {"fr": "Réessayez", "en": "try again"}}[tickets][lang]
				if !strings.Contains(txt, wantWay) {
					t.Errorf("%s/%s/tickets=%v: got %q, want it to say %q", lang, reason, tickets, txt, wantWay)
				}
			}
		}
	}
}
