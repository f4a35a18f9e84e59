package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

const agentPassword = "une phrase de passe assez longue"

// runChatMain runs the whole server with chat open around the clock and
// the bubble allowed on shop.example.
func runChatMain(t testing.TB) *Main {
	t.Helper()
	m := NewMain()
	m.Config.Addr = "127.0.0.1:0"
	m.Config.DataDir = filepath.Join(t.TempDir(), "data")
	m.Config.ArticlesDir = writeArticles(t, testArticles)
	m.Config.Widget.AllowedOrigins = []string{"https://shop.example"}
	const allDay = "00:00-24:00"
	m.Config.Hours.ChannelHours = escalation.ChannelHours{Monday: allDay, Tuesday: allDay, Wednesday: allDay,
		Thursday: allDay, Friday: allDay, Saturday: allDay, Sunday: allDay}
	m.Getenv = noEnv
	m.Stderr = t.Output()
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return m
}

// frame is any frame of either socket, with the fields the tests read.
type frame struct {
	Type           string `json:"type"`
	Code           string `json:"code"`
	Status         string `json:"status"`
	Token          string `json:"token"`
	ConversationID int64  `json:"conversation_id"`
	ClientID       string `json:"client_id"`
	Seq            int64  `json:"seq"`
	Role           string `json:"role"`
	Kind           string `json:"kind"`
	Text           string `json:"text"`
	Agent          string `json:"agent"`
	Reason         string `json:"reason"`
	Position       int    `json:"position"`
	Rating         int    `json:"rating"`
	On             bool   `json:"on"`
	Conversation   struct {
		ID int64 `json:"id"`
	} `json:"conversation"`
	Decision struct {
		Channels []string `json:"channels"`
	} `json:"decision"`
	Chat struct {
		ConversationID int64  `json:"conversation_id"`
		Status         string `json:"status"`
		AgentID        int64  `json:"agent_id"`
		LastSeq        int64  `json:"last_seq"`
	} `json:"chat"`
	Chats []chatRow `json:"chats"`
}

type chatRow struct {
	ConversationID int64  `json:"conversation_id"`
	Status         string `json:"status"`
	Lang           string `json:"lang"`
	PageURL        string `json:"page_url"`
	Topic          string `json:"topic"`
	Verified       bool   `json:"verified"`
}

// ws is one WebSocket of a test: the bubble's or a console's.
type ws struct {
	t    testing.TB
	conn *websocket.Conn
}

func (w *ws) send(v any) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := wsjson.Write(ctx, w.conn, v); err != nil {
		w.t.Fatalf("send %v: %v", v, err)
	}
}

func (w *ws) next() frame {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := w.conn.Read(ctx)
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		w.t.Fatalf("bad frame %s: %v", data, err)
	}
	return f
}

// nextOf reads up to the next frame of type typ (and kind, when given),
// skipping the ones that come whenever something changes: presence,
// queue, typing. Any other frame first fails the test.
func (w *ws) nextOf(typ, kind string) frame {
	w.t.Helper()
	for {
		f := w.next()
		if f.Type == typ && (kind == "" || f.Kind == kind) {
			return f
		}
		switch f.Type {
		case "presence", "queue", "typing":
			continue
		}
		w.t.Fatalf("got frame %+v, want %s %s", f, typ, kind)
	}
}

// quiet checks nothing but presence, queue or typing comes before the
// pong of a ping sent after a pause.
func (w *ws) quiet() {
	w.t.Helper()
	time.Sleep(200 * time.Millisecond)
	w.send(map[string]any{"type": "ping"})
	w.nextOf("pong", "")
}

// closedWith reads until the server closes the socket and returns the status.
func (w *ws) closedWith() websocket.StatusCode {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if _, _, err := w.conn.Read(ctx); err != nil {
			if ctx.Err() != nil {
				w.t.Fatal("socket still open")
			}
			return websocket.CloseStatus(err)
		}
	}
}

// bubble opens the visitor socket from shop.example and says hello.
func bubble(t *testing.T, m *Main, hello map[string]any) (*ws, frame) {
	t.Helper()
	c, _, err := dialBubble(t, m, "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	w := &ws{t: t, conn: c}
	hello["type"] = "hello"
	w.send(hello)
	return w, w.nextOf("welcome", "")
}

// agent is a signed-in agent of the running server.
type agent struct {
	t     testing.TB
	m     *Main
	b     *consoleBrowser
	id    int64
	csrf  string
	sock  *ws
	email string
}

// signInAgent adds an agent with a password, signs them in through the
// form and opens their console socket.
func signInAgent(t testing.TB, m *Main, email, name string) *agent {
	t.Helper()
	ctx := context.Background()
	inv, err := m.store.InviteAgent(ctx, email, name, escalation.AgentRoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.store.SetAgentPassword(ctx, inv.SetupToken, agentPassword); err != nil {
		t.Fatal(err)
	}
	origin := "http://" + m.Addr()
	b := newConsoleBrowser(t, origin)
	_, _, page := b.do("GET", origin+"/console/login", nil, nil)
	status, h, _ := b.do("POST", origin+"/console/login", url.Values{"csrf": {csrfFrom(t, page)},
		"email": {email}, "password": {agentPassword}}, nil)
	if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/console/") {
		t.Fatalf("sign in %s: %d %q", email, status, h.Get("Location"))
	}
	_, _, home := b.do("GET", origin+"/console/", nil, nil)
	a := &agent{t: t, m: m, b: b, id: inv.Agent.ID, csrf: csrfFrom(t, home), email: email}
	a.connect()
	return a
}

// dial opens the console socket with an Origin ("" for none) and a CSRF token.
func (a *agent) dial(origin, csrf string) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	return websocket.Dial(ctx, "ws://"+a.m.Addr()+"/console/events?csrf="+url.QueryEscape(csrf),
		&websocket.DialOptions{HTTPClient: a.b.c, HTTPHeader: h})
}

// connect opens a new console socket and reads its presence and queue.
func (a *agent) connect() {
	a.t.Helper()
	c, _, err := a.dial("http://"+a.m.Addr(), a.csrf)
	if err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(func() { c.CloseNow() })
	a.sock = &ws{t: a.t, conn: c}
	if f := a.sock.next(); f.Type != "presence" || f.Status != "online" {
		a.t.Fatalf("first frame %+v: want presence online", f)
	}
	if f := a.sock.next(); f.Type != "queue" {
		a.t.Fatalf("second frame %+v: want the queue", f)
	}
}

// queueWith reads queue frames until one lists the conversation.
func (a *agent) queueWith(convID int64) chatRow {
	a.t.Helper()
	for {
		f := a.sock.next()
		if f.Type != "queue" {
			continue
		}
		for _, c := range f.Chats {
			if c.ConversationID == convID {
				return c
			}
		}
	}
}

// askForChat has the bubble ask for a person by chat, and reads the ack
// and the request note; it returns the next frame.
func askForChat(t *testing.T, v *ws) frame {
	t.Helper()
	v.send(map[string]any{"type": "person", "channel": "chat", "client_id": "p1",
		"page_url": "https://shop.example/panier", "topic": "billing/invoice"})
	v.nextOf("ack", "")
	v.nextOf("message", "person_request")
	return v.next()
}
