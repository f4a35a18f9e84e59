package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// chatFrameIn is any frame the console socket sends, with every field
// live chat uses.
type chatFrameIn struct {
	Type           string       `json:"type"`
	Code           string       `json:"code"`
	Message        string       `json:"message"`
	Status         string       `json:"status"`
	ConversationID int64        `json:"conversation_id"`
	ClientID       string       `json:"client_id"`
	Seq            int64        `json:"seq"`
	Role           string       `json:"role"`
	Kind           string       `json:"kind"`
	Text           string       `json:"text"`
	Agent          string       `json:"agent"`
	FromAgent      string       `json:"from_agent"`
	Quote          string       `json:"quote"`
	Article        *articleLink `json:"article"`
	On             bool         `json:"on"`
	Chat           chatInfo     `json:"chat"`
	Reset          bool         `json:"reset"`
	Chats          []chatInfo   `json:"chats"`
	Active         []chatInfo   `json:"active"`
}

// agentConsole is a signed-in agent with their console socket open.
type agentConsole struct {
	t     *testing.T
	f     *fixture
	b     *browser
	csrf  string
	conn  *websocket.Conn
	agent escalation.Agent
}

// agentNamed adds an agent with a password and returns them.
func (f *fixture) agentNamed(email, name string) escalation.Agent {
	f.t.Helper()
	inv := f.invite(email, name, escalation.AgentRoleAgent)
	a, err := f.store.SetAgentPassword(context.Background(), inv.SetupToken, testPassword)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// console signs a new agent in and opens their socket; it reads the
// presence and the first queue frame.
func (f *fixture) console(email, name string) *agentConsole {
	f.t.Helper()
	a := f.agentNamed(email, name)
	b := f.browser()
	csrf := csrfOf(f.t, b.signIn(email, testPassword).body)
	ac := &agentConsole{t: f.t, f: f, b: b, csrf: csrf, agent: a}
	ac.reconnect()
	return ac
}

// reconnect opens a new socket for the same session.
func (a *agentConsole) reconnect() {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := a.b.dial(ctx, a.csrf, a.f.srv.URL)
	if err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(func() { c.CloseNow() })
	a.conn = c
	if f := a.next(); f.Type != typePresence {
		a.t.Fatalf("first frame: got %+v, want presence", f)
	}
	if f := a.next(); f.Type != typeQueue {
		a.t.Fatalf("second frame: got %+v, want the queue", f)
	}
}

func (a *agentConsole) send(v any) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := wsjson.Write(ctx, a.conn, v); err != nil {
		a.t.Fatalf("send %v: %v", v, err)
	}
}

// next reads the next frame, whatever it is.
func (a *agentConsole) next() chatFrameIn {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := a.conn.Read(ctx)
	if err != nil {
		a.t.Fatalf("read: %v", err)
	}
	var f chatFrameIn
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&f); err != nil {
		a.t.Fatalf("bad frame %s: %v", data, err)
	}
	return f
}

// nextOf reads up to the next frame of type typ, skipping presence and
// queue frames (which come whenever something changes) unless typ is
// one of them; any other frame first fails the test.
func (a *agentConsole) nextOf(typ string) chatFrameIn {
	a.t.Helper()
	for {
		f := a.next()
		if f.Type == typ {
			return f
		}
		if f.Type != typePresence && f.Type != typeQueue {
			a.t.Fatalf("got frame %+v, want %s", f, typ)
		}
	}
}

// quiet checks that no frame but presence and queue comes for a moment:
// after a pause, a ping's pong is the next frame. (A read with a deadline
// would close the socket: the library closes on any error.)
func (a *agentConsole) quiet() {
	a.t.Helper()
	time.Sleep(200 * time.Millisecond)
	a.send(map[string]any{"type": typePing})
	a.nextOf(typePong)
}

// follow follows a conversation from last and reads its chat frame.
func (a *agentConsole) follow(convID, last int64) chatInfo {
	a.t.Helper()
	a.send(map[string]any{"type": typeFollow, "conversation_id": convID, "last_seq": last})
	return a.nextOf(typeChat).Chat
}

// visitor plays a bubble through the store and the hub.
type visitor struct {
	t    *testing.T
	f    *fixture
	conv escalation.Conversation
	sub  *escalation.Subscription // the bubble's subscription
	sent int                      // messages said, for their client ids
}

// queuedVisitor starts a French conversation with a question, a bot
// answer and a chat request, and queues it as the bubble does: seq 1 to 4.
func (f *fixture) queuedVisitor(question string) *visitor {
	f.t.Helper()
	ctx := context.Background()
	conv, _, err := f.store.CreateConversation(ctx, "fr", "https://shop.example")
	if err != nil {
		f.t.Fatal(err)
	}
	v := &visitor{t: f.t, f: f, conv: conv, sub: f.con.hub.Subscribe(conv.ID)}
	f.t.Cleanup(v.sub.Close)
	v.say(question)
	decision := `{"kind":"answer","lang":"fr","text":"Voici ce que dit le centre d'aide :",` +
		`"quote":"<img src=x onerror=alert(2)>","article":{"id":"billing/invoice","lang":"fr","title":"Factures <b>PDF</b>","url":"/fr/billing/invoice"},"confidence":0.8}`
	if _, _, err := f.store.AppendMessage(ctx, escalation.NewMessage{ConversationID: conv.ID, Role: escalation.RoleBot,
		ReplyTo: 1, Kind: "answer", Body: decision}); err != nil {
		f.t.Fatal(err)
	}
	if _, _, err := f.store.AppendMessage(ctx, escalation.NewMessage{ConversationID: conv.ID, Role: escalation.RoleSystem,
		ClientID: "p1", Kind: "person_request", Body: `{"text":"Vous avez demandé à discuter avec une personne.","channel":"chat"}`}); err != nil {
		f.t.Fatal(err)
	}
	ch, err := f.store.EnqueueChat(ctx, conv.ID, "https://shop.example/panier?q=<x>", "billing/invoice")
	if err != nil {
		f.t.Fatal(err)
	}
	f.con.hub.PublishChange(ch)
	return v
}

// say stores a visitor message and wakes the consoles.
func (v *visitor) say(text string) int64 {
	v.t.Helper()
	v.sent++
	m, _, err := v.f.store.AppendMessage(context.Background(), escalation.NewMessage{ConversationID: v.conv.ID,
		Role: escalation.RoleVisitor, ClientID: fmt.Sprintf("v%d", v.sent), Kind: "text", Body: text})
	if err != nil {
		v.t.Fatal(err)
	}
	v.sub.Publish(v.conv.ID)
	return m.Seq
}

// event waits for the bubble's next event.
func (v *visitor) event() escalation.Event {
	v.t.Helper()
	select {
	case ev, ok := <-v.sub.C():
		if !ok {
			v.t.Fatal("bubble subscription closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		v.t.Fatal("bubble: got no event")
	}
	return escalation.Event{}
}

// drain forgets the bubble's pending events.
func (v *visitor) drain() {
	for len(v.sub.C()) > 0 {
		<-v.sub.C()
	}
}

// messages reads the conversation's messages after seq.
func (v *visitor) messages(after int64) []escalation.Message {
	v.t.Helper()
	msgs, err := v.f.store.MessagesAfter(context.Background(), v.conv.ID, after, 0)
	if err != nil {
		v.t.Fatal(err)
	}
	return msgs
}
