package widget

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/coder/websocket"
)

func TestAskAQuestionGetsAckThenAnswer(t *testing.T) {
	env := newEnv(t, nil)
	c := env.dial(t, "https://shop.example")
	w := c.hello("fr")
	if w.Token == "" || w.Resumed || w.Conversation.ID == 0 || w.Conversation.Lang != "fr" {
		t.Fatalf("welcome: got %+v, want a new French conversation with a token", w)
	}
	ack, echo, reply := c.ask("q1", askHours)
	if ack.ClientID != "q1" || ack.Seq != 1 {
		t.Errorf("ack: got %+v, want client_id q1, seq 1", ack)
	}
	if echo.Seq != 1 || echo.Role != "visitor" || echo.Text != askHours || echo.ClientID != "q1" {
		t.Errorf("echo: got %+v, want the visitor message as seq 1", echo)
	}
	if reply.Seq != 2 || reply.Role != "bot" || reply.Kind != "answer" || reply.ReplyTo != 1 || reply.Decision == nil {
		t.Fatalf("reply: got %+v, want a bot answer as seq 2", reply)
	}
	if a := reply.Decision.Article; a == nil || a.ID != "contact/hours" || a.Lang != "fr" || !strings.HasPrefix(a.URL, "/fr/contact/hours") {
		t.Errorf("article: got %+v, want fr contact/hours", a)
	}
	if reply.Decision.Quote == "" || reply.Text != reply.Decision.Text {
		t.Errorf("reply: got quote %q, text %q; want a quote and the decision's text", reply.Decision.Quote, reply.Text)
	}
	c.quiet()

	// Both messages were committed before they were sent.
	msgs, err := env.store.MessagesAfter(context.Background(), w.Conversation.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Role != escalation.RoleVisitor || msgs[1].Role != escalation.RoleBot {
		t.Errorf("stored: got %+v, want the question and the answer", msgs)
	}
}

func TestResendIsAcknowledgedWithTheSameSeqAndStoredOnce(t *testing.T) {
	env := newEnv(t, nil)
	c := env.dial(t, "https://shop.example")
	w := c.hello("fr")
	ack, _, _ := c.ask("same-id", askHours)
	// The page resends after a dropped connection, maybe with the text
	// typed slightly differently: the first copy wins.
	c.send(map[string]any{"type": "message", "client_id": "same-id", "text": askHours + " (bis)"})
	again := c.expect(typeAck)
	if again.Seq != ack.Seq || again.ClientID != "same-id" {
		t.Errorf("second ack: got %+v, want seq %d", again, ack.Seq)
	}
	c.quiet() // no second echo, no second answer
	msgs, err := env.store.MessagesAfter(context.Background(), w.Conversation.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Body != askHours {
		t.Errorf("stored: got %d messages (first %q), want 2 with the first text", len(msgs), msgs[0].Body)
	}
}

func TestReconnectGetsExactlyTheMissedMessages(t *testing.T) {
	env := newEnv(t, nil)
	c := env.dial(t, "https://shop.example")
	w := c.hello("fr")
	for i, q := range []string{askHours, askPassword, askInvoice} {
		c.ask(fmt.Sprint("q", i), q)
	}
	c.conn.Close(websocket.StatusNormalClosure, "page reload")

	tests := []struct {
		name     string
		lastSeq  int64
		wantSeqs []int64
		reset    bool
	}{
		{"saw everything", 6, nil, false},
		{"missed the last answer", 5, []int64{6}, false},
		{"missed two exchanges", 2, []int64{3, 4, 5, 6}, false},
		{"saw nothing", 0, []int64{1, 2, 3, 4, 5, 6}, false},
		{"claims more than exists: starts over", 9, []int64{1, 2, 3, 4, 5, 6}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := env.dial(t, "https://shop.example")
			c.send(map[string]any{"type": "hello", "token": w.Token, "last_seq": tt.lastSeq, "lang": "fr"})
			got := c.expect(typeWelcome)
			if !got.Resumed || got.Reset != tt.reset || got.Conversation.ID != w.Conversation.ID || got.Conversation.LastSeq != 6 {
				t.Errorf("welcome: got %+v, want conversation %d resumed at last_seq 6, reset %v", got, w.Conversation.ID, tt.reset)
			}
			for _, want := range tt.wantSeqs {
				if m := c.expect(typeMessage); m.Seq != want {
					t.Fatalf("got seq %d, want %d", m.Seq, want)
				}
			}
			c.quiet()
		})
	}
	// The resumed conversation goes on where it was.
	c = env.dial(t, "https://shop.example")
	c.send(map[string]any{"type": "hello", "token": w.Token, "last_seq": 6, "lang": "fr"})
	c.expect(typeWelcome)
	if ack, _, reply := c.ask("after", askHours); ack.Seq != 7 || reply.Seq != 8 {
		t.Errorf("after resume: got ack %d and reply %d, want 7 and 8", ack.Seq, reply.Seq)
	}
}

func TestTwoTabsSeeTheSameConversation(t *testing.T) {
	env := newEnv(t, nil)
	a := env.dial(t, "https://shop.example")
	w := a.hello("fr")
	b := env.dial(t, "https://shop.example")
	b.send(map[string]any{"type": "hello", "token": w.Token, "last_seq": 0, "lang": "fr"})
	b.expect(typeWelcome)
	b.quiet()
	a.ask("from-a", askHours)
	for _, want := range []string{"visitor", "bot"} {
		if m := b.expect(typeMessage); m.Role != want {
			t.Errorf("tab b: got %+v, want the %s message", m, want)
		}
	}
	b.quiet()
}

func TestBadFramesGetAnErrorAndTheConnectionGoesOn(t *testing.T) {
	env := newEnv(t, nil)
	c := env.dial(t, "https://shop.example")
	other := env.dial(t, "https://shop.example")
	c.hello("fr")
	other.hello("en")
	tests := []struct {
		name     string
		typ      websocket.MessageType
		data     string
		wantCode string
	}{
		{"over the frame limit", websocket.MessageText, `{"type":"message","client_id":"big","text":"` + strings.Repeat("a", 9000) + `"}`, CodeTooLarge},
		{"not JSON", websocket.MessageText, `hello?`, CodeBadJSON},
		{"JSON but not an object", websocket.MessageText, `[1,2]`, CodeBadJSON},
		{"binary frame", websocket.MessageBinary, `{"type":"ping"}`, CodeBadFrame},
		{"unknown type", websocket.MessageText, `{"type":"dance"}`, CodeBadFrame},
		{"message without client_id", websocket.MessageText, `{"type":"message","text":"hi"}`, CodeBadFrame},
		{"client_id with spaces", websocket.MessageText, `{"type":"message","client_id":"a b","text":"hi"}`, CodeBadFrame},
		{"empty text", websocket.MessageText, `{"type":"message","client_id":"e","text":"  "}`, CodeBadFrame},
		{"text over 2000 characters", websocket.MessageText, `{"type":"message","client_id":"long","text":"` + strings.Repeat("é", 2001) + `"}`, CodeTooLong},
		{"second hello", websocket.MessageText, `{"type":"hello","lang":"fr"}`, CodeBadFrame},
		{"vote without helpful", websocket.MessageText, `{"type":"vote","seq":1}`, CodeBadFrame},
		{"vote on no answer", websocket.MessageText, `{"type":"vote","seq":99,"helpful":true}`, CodeBadVote},
		{"person by fax", websocket.MessageText, `{"type":"person","channel":"fax"}`, CodeBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			c.sendRaw(tt.typ, []byte(tt.data))
			f := c.expectError(tt.wantCode)
			if f.Message == "" {
				t.Error("error frame: got no message, want one")
			}
			if tt.wantCode == CodeTooLong && f.ClientID != "long" {
				t.Errorf("too_long: got client_id %q, want long", f.ClientID)
			}
		})
	}
	c.t = t
	// Still usable, and nothing of the refused frames was stored.
	ack, _, _ := c.ask("ok", askHours)
	if ack.Seq != 1 {
		t.Errorf("after the errors: got seq %d, want 1 (nothing else stored)", ack.Seq)
	}
	other.ask("other", "how do I reset my password")
}

func TestFrameFarOverTheLimitClosesOnlyThatConnection(t *testing.T) {
	env := newEnv(t, nil)
	c := env.dial(t, "https://shop.example")
	other := env.dial(t, "https://shop.example")
	other.hello("fr")
	c.sendRaw(websocket.MessageText, []byte(strings.Repeat("x", int(hardLimit(DefaultMaxFrameBytes))+1)))
	_, err := c.read()
	if got := websocket.CloseStatus(err); got != websocket.StatusMessageTooBig {
		t.Errorf("got %v (status %d), want close status 1009", err, got)
	}
	other.ask("q", askHours)
}

func TestNoHelloFirst(t *testing.T) {
	env := newEnv(t, nil)
	c := env.dial(t, "")
	for _, f := range []map[string]any{
		{"type": "message", "client_id": "x", "text": "hi"},
		{"type": "vote", "seq": 1, "helpful": true},
		{"type": "person", "channel": "email"},
	} {
		c.send(f)
		c.expectError(CodeNoHello)
	}
	c.hello("en")
}

func TestBadTokenIsRefusedWithoutStartingAConversation(t *testing.T) {
	env := newEnv(t, nil)
	c := env.dial(t, "https://shop.example")
	real := c.hello("fr")
	c.conn.Close(websocket.StatusNormalClosure, "")

	forged := strings.Repeat("A", len(real.Token))
	for _, token := range []string{forged, "short", real.Token + "x"} {
		c := env.dial(t, "https://shop.example")
		c.send(map[string]any{"type": "hello", "token": token, "last_seq": 3, "lang": "fr"})
		c.expectError(CodeBadToken)
		// Nothing was created: a message now is refused for want of a hello.
		c.send(map[string]any{"type": "message", "client_id": "x", "text": "hi"})
		c.expectError(CodeNoHello)
		// The page may then start afresh, and gets a new conversation.
		w := c.hello("fr")
		if w.Token == token || w.Token == real.Token || w.Conversation.ID == real.Conversation.ID || w.Resumed {
			t.Errorf("after bad_token: got %+v, want a new conversation", w)
		}
	}
}

func TestOriginAllowlist(t *testing.T) {
	env := newEnv(t, func(o *Options) {
		o.AllowedOrigins = []string{"https://shop.example", "http://localhost:3000"}
		o.BaseURL = "https://help.example.com"
	})
	own := env.srv.URL // the server's own origin, as its own pages send it
	tests := []struct {
		origin string
		want   int
	}{
		{"https://shop.example", http.StatusSwitchingProtocols},
		{"http://localhost:3000", http.StatusSwitchingProtocols},
		{"https://help.example.com", http.StatusSwitchingProtocols},
		{own, http.StatusSwitchingProtocols},
		{"", http.StatusSwitchingProtocols}, // not a browser page
		{"https://evil.example", http.StatusForbidden},
		{"http://shop.example", http.StatusForbidden},       // another scheme
		{"https://shop.example:8443", http.StatusForbidden}, // another port
		{"https://sub.shop.example", http.StatusForbidden},  // another host
		{"https://shop.example.evil", http.StatusForbidden}, // a suffix trick
		{"null", http.StatusForbidden},                      // sandboxed frame, file://
		{"http://localhost:3001", http.StatusForbidden},     // next port
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			c, resp, err := env.tryDial(tt.origin)
			if c != nil {
				defer c.conn.CloseNow()
			}
			if resp == nil {
				t.Fatalf("got no response (%v), want %d", err, tt.want)
			}
			if resp.StatusCode != tt.want {
				t.Errorf("got %d (%v), want %d", resp.StatusCode, err, tt.want)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	env := newEnv(t, func(o *Options) { o.Rate, o.Burst = 1, 3 })
	c := env.dial(t, "https://shop.example")
	for range 3 {
		c.send(map[string]any{"type": "ping"})
	}
	for range 3 {
		c.expect(typePong)
	}
	c.send(map[string]any{"type": "ping"})
	c.expectError(CodeRateLimited)
	time.Sleep(1100 * time.Millisecond) // one token back
	c.quiet()
}

func TestFloodClosesTheConnection(t *testing.T) {
	env := newEnv(t, func(o *Options) { o.Rate, o.Burst = 1, 1 })
	c := env.dial(t, "https://shop.example")
	for range maxLimitedInARow + 1 {
		c.send(map[string]any{"type": "ping"})
	}
	var err error
	for err == nil {
		_, err = c.read()
	}
	if got := websocket.CloseStatus(err); got != websocket.StatusPolicyViolation {
		t.Errorf("got %v, want close status 1008", err)
	}
}

func TestUnhelpfulAnswersHandOff(t *testing.T) {
	env := newEnv(t, nil)
	c := env.dial(t, "https://shop.example")
	c.hello("fr")
	_, _, a1 := c.ask("q1", askHours)
	_, _, a2 := c.ask("q2", askPassword)
	if a1.Kind != "answer" || a2.Kind != "answer" {
		t.Fatalf("got %s and %s, want two answers", a1.Kind, a2.Kind)
	}
	vote := func(seq int64, helpful bool) {
		c.send(map[string]any{"type": "vote", "seq": seq, "helpful": helpful})
		if v := c.expect(typeVoted); v.Seq != seq || v.Helpful != helpful {
			t.Fatalf("voted: got %+v, want seq %d helpful %v", v, seq, helpful)
		}
	}
	vote(a1.Seq, false)
	c.quiet() // one unhelpful answer: nothing yet
	vote(a2.Seq, false)
	h := c.expect(typeMessage)
	if h.Role != "bot" || h.Kind != "handoff" || h.Decision == nil || len(h.Decision.Channels) == 0 || !strings.Contains(h.Text, "Désolé") {
		t.Errorf("after two unhelpful answers: got %+v, want a French hand-off", h)
	}
	vote(a2.Seq, false) // the same vote again changes nothing
	c.quiet()
	vote(a2.Seq, true) // a change of mind is stored
	c.quiet()
	c.send(map[string]any{"type": "vote", "seq": a1.Seq - 1, "helpful": true})
	c.expectError(CodeBadVote)
}

func TestAskingForAPersonIsRecordedHonestly(t *testing.T) {
	env := newEnv(t, nil)
	c := env.dial(t, "https://shop.example")
	w := c.hello("fr")
	_, _, offer := c.ask("q1", "je veux parler à un conseiller")
	if offer.Kind != "handoff" || offer.Decision == nil || len(offer.Decision.Channels) == 0 {
		t.Fatalf("got %+v, want a hand-off offering channels", offer)
	}
	c.send(map[string]any{"type": "person", "channel": "email", "client_id": "p1"})
	ack := c.expect(typeAck)
	m := c.expect(typeMessage)
	if ack.Seq != m.Seq || m.Role != "system" || m.Kind != "person_request" || m.Channel != "email" {
		t.Errorf("got ack %+v and %+v, want the recorded request", ack, m)
	}
	if !strings.Contains(m.Text, "enregistrée") || strings.Contains(m.Text, "connecté avec") {
		t.Errorf("text: got %q, want an honest French note", m.Text)
	}
	// A double click is one request.
	c.send(map[string]any{"type": "person", "channel": "email", "client_id": "p1"})
	if again := c.expect(typeAck); again.Seq != m.Seq {
		t.Errorf("double click: got seq %d, want %d", again.Seq, m.Seq)
	}
	c.quiet()
	msgs, _ := env.store.MessagesAfter(context.Background(), w.Conversation.ID, 0, 0)
	if len(msgs) != 3 {
		t.Errorf("got %d stored messages, want 3", len(msgs))
	}
}

func TestManyVisitorsAtOnce(t *testing.T) {
	env := newEnv(t, nil)
	const visitors = 10
	var wg sync.WaitGroup
	errs := make(chan error, visitors)
	for i := range visitors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := env.tryDial("https://shop.example")
			if err != nil {
				errs <- err
				return
			}
			defer c.conn.CloseNow()
			c.t = t
			c.send(map[string]any{"type": "hello", "lang": "en"})
			if _, err := c.read(); err != nil {
				errs <- err
				return
			}
			for j := range 3 {
				c.send(map[string]any{"type": "message", "client_id": fmt.Sprintf("v%d-%d", i, j), "text": "how do I reset my password"})
				var seqs []int64
				for range 3 {
					f, err := c.read()
					if err != nil {
						errs <- err
						return
					}
					seqs = append(seqs, f.Seq)
				}
				if want := int64(2*j + 1); seqs[0] != want || seqs[1] != want || seqs[2] != want+1 {
					errs <- fmt.Errorf("visitor %d: got seqs %v, want %d %d %d", i, seqs, want, want, want+1)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestShutdownClosesSockets(t *testing.T) {
	env := newEnv(t, nil)
	c := env.dial(t, "https://shop.example")
	c.hello("fr")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- env.widget.Shutdown(ctx) }()
	_, err := c.read()
	// The server sends 1001 and waits for the echo. coder/websocket's
	// client sometimes reports the end as EOF rather than as the close
	// frame it has just answered, so accept both.
	if got := websocket.CloseStatus(err); got != websocket.StatusGoingAway && !errors.Is(err, io.EOF) {
		t.Errorf("got %v, want close status 1001", err)
	}
	if err := <-done; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("shutdown took %v, want the sockets closed at once", d)
	}
	if _, resp, err := env.tryDial(""); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial after shutdown: got %v, want 503", errors.Join(err))
	}
}
