package widget

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
	"github.com/bulle-help/bulle/kb"
	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"
)

// testArticles are a small help center in both languages.
var testArticles = map[string]string{
	"fr/contact/hours.md": `---
title: Horaires du chat
tags: [horaires, ouverture, chat]
---
Le chat est ouvert du lundi au vendredi.

## Nos horaires

Les horaires du chat : de 9 h à 18 h, du lundi au vendredi. Fermé le week-end.
`,
	"en/contact/hours.md": `---
title: Chat hours
tags: [hours, opening, chat]
---
Live chat is open on weekdays.

## Our hours

Chat hours: 9:00 to 18:00, Monday to Friday. Closed at weekends.
`,
	"fr/account/password.md": `---
title: Réinitialiser votre mot de passe
tags: [mot de passe, connexion]
---
Vous pouvez réinitialiser votre mot de passe vous-même.

## Mot de passe oublié

Cliquez sur « Mot de passe oublié » sur la page de connexion et suivez le lien reçu par e-mail.
`,
	"en/account/password.md": `---
title: Reset your password
tags: [password, sign in]
---
You can reset your password yourself.

## Forgotten password

Click "Forgot password" on the sign-in page and follow the link we email you.
`,
	"en/billing/invoice.md": `---
title: Download an invoice
tags: [invoice, billing, receipt]
---
Every payment has an invoice.

## Download

Open Billing, then Invoices, and click the invoice to download it as a PDF.
`,
	"fr/billing/invoice.md": `---
title: Télécharger une facture
tags: [facture, paiement, reçu]
---
Chaque paiement a sa facture.

## Téléchargement

Ouvrez Facturation, puis Factures, et cliquez sur la facture pour la télécharger en PDF.
`,
}

// Questions whose answers are known in testArticles.
const (
	askHours    = "quels sont les horaires du chat ?"
	askPassword = "comment réinitialiser mon mot de passe ?"
	askInvoice  = "où télécharger ma facture ?"
)

// writeArticles writes files under a new temp folder and returns it.
func writeArticles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// chatClosed is an Availability with chat closed and no known reopening.
type chatClosed struct{}

func (chatClosed) ChatStatus(context.Context, time.Time) bot.ChatStatus { return bot.ChatStatus{} }

// testEnv is a widget served over real HTTP, with a real store, index and bot.
type testEnv struct {
	srv    *httptest.Server
	store  *escalation.Store
	widget *Widget
	base   *kb.Base
}

// openBase indexes the articles in dir in memory.
func openBase(t testing.TB, dir string) *kb.Base {
	t.Helper()
	base, err := kb.Open(context.Background(), kb.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { base.Close() })
	return base
}

// openStore opens a store in a temp folder.
func openStore(t testing.TB) *escalation.Store {
	t.Helper()
	s, err := escalation.Open(context.Background(), filepath.Join(t.TempDir(), "bulle.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newEnv serves a widget on the test articles; change adjusts its options.
func newEnv(t testing.TB, change func(*Options)) *testEnv {
	t.Helper()
	base := openBase(t, writeArticles(t, testArticles))
	return newEnvWith(t, base, bot.New(base, chatClosed{}, bot.DefaultConfig()), change)
}

func newEnvWith(t testing.TB, base *kb.Base, a Assistant, change func(*Options)) *testEnv {
	t.Helper()
	return newEnvOn(t, base, a, openStore(t), change)
}

// newEnvOn serves a widget on a given store.
func newEnvOn(t testing.TB, base *kb.Base, a Assistant, store *escalation.Store, change func(*Options)) *testEnv {
	t.Helper()
	// Tests send frames faster than anyone types; TestRateLimit sets its own.
	opt := Options{AllowedOrigins: []string{"https://shop.example"}, Langs: []string{"en", "fr"}, DefaultLang: "en",
		Rate: 1000, Burst: 1000}
	if change != nil {
		change(&opt)
	}
	w, err := New(store, a, opt)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	w.Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := w.Shutdown(ctx); err != nil {
			t.Errorf("widget shutdown: %v", err)
		}
		srv.Close()
	})
	return &testEnv{srv: srv, store: store, widget: w, base: base}
}

// frame is any server frame, decoded.
type frame struct {
	Type         string        `json:"type"`
	Code         string        `json:"code"`
	Message      string        `json:"message"`
	ClientID     string        `json:"client_id"`
	Seq          int64         `json:"seq"`
	Role         string        `json:"role"`
	Kind         string        `json:"kind"`
	Text         string        `json:"text"`
	Channel      string        `json:"channel"`
	ReplyTo      int64         `json:"reply_to"`
	Token        string        `json:"token"`
	Resumed      bool          `json:"resumed"`
	Reset        bool          `json:"reset"`
	Helpful      bool          `json:"helpful"`
	Decision     *bot.Decision `json:"decision"`
	Field        string        `json:"field"`
	Ticket       string        `json:"ticket"`
	Topics       []topicInfo   `json:"topics"`
	Conversation struct {
		ID      int64  `json:"id"`
		Lang    string `json:"lang"`
		LastSeq int64  `json:"last_seq"`
	} `json:"conversation"`
}

// client is a visitor's side of the WebSocket.
type client struct {
	t    testing.TB
	conn *websocket.Conn
}

// dial opens the visitor WebSocket with an Origin header ("" for none).
func (env *testEnv) dial(t testing.TB, origin string) *client {
	t.Helper()
	c, resp, err := env.tryDial(origin)
	if err != nil {
		t.Fatalf("dial with origin %q: %v (%v)", origin, err, resp)
	}
	return c.with(t)
}

func (env *testEnv) tryDial(origin string) (*client, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(env.srv.URL, "http")+"/widget/ws",
		&websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		return nil, resp, err
	}
	conn.SetReadLimit(1 << 20)
	return &client{conn: conn}, resp, nil
}

func (c *client) with(t testing.TB) *client {
	c.t = t
	t.Cleanup(func() { c.conn.CloseNow() })
	return c
}

// send writes a frame given as a Go value.
func (c *client) send(v any) {
	c.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(websocket.MessageText, data)
}

func (c *client) sendRaw(typ websocket.MessageType, data []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, typ, data); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// recv reads the next frame.
func (c *client) recv() frame {
	c.t.Helper()
	f, err := c.read()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

func (c *client) read() (frame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := c.conn.Read(ctx)
	if err != nil {
		return frame{}, err
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		return frame{}, errors.New("bad frame from server: " + string(data))
	}
	return f, nil
}

// expect reads the next frame and checks its type.
func (c *client) expect(typ string) frame {
	c.t.Helper()
	f := c.recv()
	if f.Type != typ {
		c.t.Fatalf("got frame %+v, want type %q", f, typ)
	}
	return f
}

// expectError reads the next frame and checks it is an error with code.
func (c *client) expectError(code string) frame {
	c.t.Helper()
	f := c.expect(typeError)
	if f.Code != code {
		c.t.Fatalf("got error %q (%s), want %q", f.Code, f.Message, code)
	}
	return f
}

// quiet checks the server has nothing more queued: a ping's pong comes next.
func (c *client) quiet() {
	c.t.Helper()
	c.send(map[string]any{"type": "ping"})
	if f := c.recv(); f.Type != typePong {
		c.t.Fatalf("got frame %+v, want nothing before the pong", f)
	}
}

// hello starts a new conversation and returns the welcome.
func (c *client) hello(lang string) frame {
	c.t.Helper()
	c.send(map[string]any{"type": "hello", "lang": lang})
	return c.expect(typeWelcome)
}

// ask sends a question and reads its ack, its echo and the bot's reply.
func (c *client) ask(clientID, text string) (ack, echo, reply frame) {
	c.t.Helper()
	c.send(map[string]any{"type": "message", "client_id": clientID, "text": text})
	ack = c.expect(typeAck)
	echo = c.expect(typeMessage)
	reply = c.expect(typeMessage)
	return ack, echo, reply
}
