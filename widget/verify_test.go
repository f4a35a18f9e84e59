package widget

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
)

// verifySecret is the identity secret the shop shares with the server.
var verifySecret = []byte("the-shop-and-bulle-share-this-32+-byte-secret")

// verifyClock is a clock the test moves while the server reads it.
type verifyClock struct{ ns atomic.Int64 }

func (c *verifyClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *verifyClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// verifyEnv is a widget with a real desk and, when asked, signed
// identities, on a store whose clock the test moves.
type verifyEnv struct {
	*testEnv
	clock *verifyClock
}

func newVerifyEnv(t *testing.T, identities bool) *verifyEnv {
	t.Helper()
	store := openStore(t)
	clock := &verifyClock{}
	clock.ns.Store(time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC).UnixNano())
	store.Now = clock.Now
	tokens, err := escalation.NewReplyTokens(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	desk, err := escalation.NewDesk(store, escalation.DeskOptions{From: "no-reply@help.example",
		ReplyDomain: "help.example", Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	var ids Identities
	if identities {
		if ids, err = escalation.NewIdentities(store, verifySecret); err != nil {
			t.Fatal(err)
		}
	}
	base := openBase(t, writeArticles(t, testArticles))
	env := newEnvOn(t, base, bot.New(base, chatClosed{}, bot.DefaultConfig()), store, func(o *Options) {
		o.Tickets, o.Identities = desk, ids
	})
	return &verifyEnv{testEnv: env, clock: clock}
}

// codeMailed returns the code of the newest code mail, and how many were
// queued.
func (env *verifyEnv) codeMailed(t *testing.T) (string, int) {
	t.Helper()
	mails, err := env.store.OutboxMails(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	code, n := "", 0
	for _, m := range mails { // newest first
		if m.Kind != "code" {
			continue
		}
		if n++; code == "" {
			if m.To != "ana@example.org" && !strings.Contains(m.To, "<ana@example.org>") {
				t.Errorf("code mailed to %q, want the ticket's address", m.To)
			}
			code = regexp.MustCompile(`\b\d{6}\b`).FindString(m.Text)
		}
	}
	return code, n
}

// vframe is a server frame with the verification fields.
type vframe struct {
	frame
	Verify   bool `json:"verify"`
	Identity *struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	} `json:"identity"`
}

func (c *client) expectV(typ string) vframe {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := c.conn.Read(ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var f vframe
	if err := json.Unmarshal(data, &f); err != nil || f.Type != typ {
		c.t.Fatalf("got frame %s, want type %q", data, typ)
	}
	return f
}

// openAccountTicket opens a ticket on the account topic from the bubble
// and returns its note.
func openAccountTicket(c *client, topic string) vframe {
	c.t.Helper()
	c.send(map[string]any{"type": "ticket", "client_id": "t1", "topic": topic, "email": "ana@example.org",
		"name": "Ana", "text": "Je ne peux plus me connecter."})
	c.expect(typeAck)
	c.expect(typeMessage) // the request
	return c.expectV(typeMessage)
}

func TestBubbleVerifiesTheTicketAddressWithACodeByEmail(t *testing.T) {
	env := newVerifyEnv(t, false)
	ctx := context.Background()
	c := env.dial(t, "https://shop.example")
	w := c.hello("fr")
	other := env.dial(t, "https://shop.example") // a second tab of the same conversation
	other.send(map[string]any{"type": "hello", "token": w.Token, "lang": "fr"})
	other.expect(typeWelcome)

	note := openAccountTicket(c, "account")
	if note.Kind != "ticket_created" || !note.Verify {
		t.Fatalf("ticket note %+v: want it to offer verification (account topic)", note)
	}
	other.expect(typeMessage)
	if n := other.expectV(typeMessage); n.Kind != "ticket_created" || !n.Verify {
		t.Fatalf("other tab's note %+v: want the offer too", n)
	}

	c.send(map[string]any{"type": "verify_code", "client_id": "c0", "code": "123456"})
	c.expectError(CodeNoCode)

	c.send(map[string]any{"type": "verify_start", "client_id": "v1"})
	ack := c.expect(typeAck)
	sent := c.expect(typeMessage)
	if ack.ClientID != "v1" || sent.Seq != ack.Seq || sent.Role != "system" || sent.Kind != escalation.KindVerifySent ||
		!strings.Contains(sent.Text, "ana@example.org") {
		t.Fatalf("after verify_start: ack %+v, note %+v; want the note naming the address", ack, sent)
	}
	code, n := env.codeMailed(t)
	if n != 1 || code == "" || strings.Contains(sent.Text, code) {
		t.Fatalf("%d code mails, code %q; want one, and never the code in the conversation", n, code)
	}
	if f := other.expect(typeMessage); f.Kind != escalation.KindVerifySent {
		t.Errorf("other tab: got %+v, want the note live", f)
	}
	// A resend after a lost ack sends no second code.
	c.send(map[string]any{"type": "verify_start", "client_id": "v1"})
	if again := c.expect(typeAck); again.Seq != ack.Seq {
		t.Errorf("resend acked as %d, want %d", again.Seq, ack.Seq)
	}
	if _, n := env.codeMailed(t); n != 1 {
		t.Errorf("%d code mails after a resend, want 1", n)
	}

	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	c.send(map[string]any{"type": "verify_code", "client_id": "c1", "code": wrong})
	if e := c.expectError(CodeBadCode); e.ClientID != "c1" || !strings.Contains(e.Message, "4 tries left") {
		t.Errorf("wrong code: %+v, want bad_code with the tries left", e)
	}
	c.send(map[string]any{"type": "verify_code", "client_id": "c2", "code": code})
	ack = c.expect(typeAck)
	done := c.expect(typeMessage)
	if done.Seq != ack.Seq || done.Kind != escalation.KindVerified || done.Text != "Adresse vérifiée" {
		t.Fatalf("after the right code: ack %+v, note %+v; want the verified note", ack, done)
	}
	if f := other.expect(typeMessage); f.Kind != escalation.KindVerified {
		t.Errorf("other tab: got %+v, want the verified note live", f)
	}
	tk, err := env.store.TicketOfConversation(ctx, w.Conversation.ID)
	if err != nil || !tk.Verified || tk.VerifiedBy != escalation.VerifiedByCode {
		t.Fatalf("ticket %+v (%v): want verified by code", tk, err)
	}
	c.send(map[string]any{"type": "verify_start", "client_id": "v2"})
	c.expectError(CodeAlreadyVerified)
	c.quiet()
	other.quiet()

	// On reload the bubble finds the whole story in the conversation.
	r := env.dial(t, "https://shop.example")
	r.send(map[string]any{"type": "hello", "token": w.Token, "lang": "fr", "last_seq": note.Seq})
	r.expect(typeWelcome)
	if f := r.expect(typeMessage); f.Kind != escalation.KindVerifySent {
		t.Errorf("resumed: got %+v, want the code note", f)
	}
	if f := r.expect(typeMessage); f.Kind != escalation.KindVerified {
		t.Errorf("resumed: got %+v, want the verified note", f)
	}
}

func TestBubbleVerificationRefusals(t *testing.T) {
	start := func(c *client, id string) { c.send(map[string]any{"type": "verify_start", "client_id": id}) }
	check := func(c *client, id, code string) {
		c.send(map[string]any{"type": "verify_code", "client_id": id, "code": code})
	}
	started := func(c *client, id string) {
		c.t.Helper()
		start(c, id)
		c.expect(typeAck)
		c.expect(typeMessage)
	}
	wrongCode := func(env *verifyEnv, t *testing.T) string {
		code, _ := env.codeMailed(t)
		if code == "999999" {
			return "999998"
		}
		return "999999"
	}
	tests := []struct {
		name   string
		ticket string // topic of the ticket opened first; "" for none
		run    func(t *testing.T, env *verifyEnv, c *client)
		want   string
	}{
		{"no ticket to verify", "", func(t *testing.T, env *verifyEnv, c *client) { start(c, "v1") }, CodeNoTicket},
		{"a client id that is not one", "account", func(t *testing.T, env *verifyEnv, c *client) { start(c, "a b") }, CodeBadFrame},
		{"a code of five digits", "account", func(t *testing.T, env *verifyEnv, c *client) {
			started(c, "v1")
			check(c, "c1", "12345")
		}, CodeBadCode},
		{"an expired code", "account", func(t *testing.T, env *verifyEnv, c *client) {
			started(c, "v1")
			env.clock.advance(10 * time.Minute)
			code, _ := env.codeMailed(t)
			check(c, "c1", code)
		}, CodeCodeExpired},
		{"five wrong codes lock the code", "account", func(t *testing.T, env *verifyEnv, c *client) {
			started(c, "v1")
			for i := 0; i < 4; i++ {
				check(c, "w"+string(rune('0'+i)), wrongCode(env, t))
				c.expectError(CodeBadCode)
			}
			check(c, "w4", wrongCode(env, t))
			c.expectError(CodeTooManyTries)
			code, _ := env.codeMailed(t)
			check(c, "c1", code)
		}, CodeTooManyTries},
		{"a fourth code within the hour", "account", func(t *testing.T, env *verifyEnv, c *client) {
			for _, id := range []string{"v1", "v2", "v3"} {
				started(c, id)
			}
			start(c, "v4")
		}, CodeTooManyCodes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newVerifyEnv(t, false)
			c := env.dial(t, "https://shop.example")
			c.hello("en")
			if tt.ticket != "" {
				openAccountTicket(c, tt.ticket)
			}
			tt.run(t, env, c)
			c.expectError(tt.want)
			c.quiet()
		})
	}
}

func TestBubbleOffersVerificationOnlyForAccountTopics(t *testing.T) {
	env := newVerifyEnv(t, false)
	c := env.dial(t, "https://shop.example")
	c.hello("en")
	if note := openAccountTicket(c, "bug"); note.Kind != "ticket_created" || note.Verify {
		t.Errorf("note %+v: want no verification offered for a bug report", note)
	}
	noDesk := newEnv(t, nil)
	c = noDesk.dial(t, "https://shop.example")
	c.hello("en")
	c.send(map[string]any{"type": "verify_start"})
	c.expectError(CodeNoTickets)
}

func TestBubbleSignedIdentity(t *testing.T) {
	now := time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC)
	sign := func(email string, iat time.Time) string {
		return escalation.SignIdentity(verifySecret, escalation.Identity{Email: email, Name: "Ana",
			IssuedAt: iat.Unix(), ExpiresAt: iat.Add(time.Hour).Unix()})
	}
	valid := sign("ana@example.org", now)
	p, sig, _ := strings.Cut(valid, ".")
	tests := []struct {
		name       string
		identities bool // the server has widget.identity_secret
		identity   string
		wantError  string // "" when accepted
		verified   bool   // the ticket on ana@example.org opens verified
	}{
		{"a valid identity verifies a ticket on its address", true, valid, "", true},
		{"no identity", true, "", "", false},
		{"an expired identity", true, sign("ana@example.org", now.Add(-2*time.Hour)), CodeBadIdentity, false},
		{"a tampered signature", true, p + "." + map[bool]string{true: "B", false: "A"}[sig[0] == 'A'] + sig[1:], CodeBadIdentity, false},
		{"a server without a secret", false, valid, CodeBadIdentity, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newVerifyEnv(t, tt.identities)
			c := env.dial(t, "https://shop.example")
			c.send(map[string]any{"type": "hello", "lang": "fr", "identity": tt.identity})
			w := c.expectV(typeWelcome)
			if accepted := tt.identity != "" && tt.wantError == ""; accepted != (w.Identity != nil) ||
				accepted && (w.Identity.Email != "ana@example.org" || w.Identity.Name != "Ana") {
				t.Errorf("welcome identity %+v, want it only when accepted", w.Identity)
			}
			if tt.wantError != "" {
				c.expectError(tt.wantError)
			}
			c.send(map[string]any{"type": "ticket", "client_id": "t1", "topic": "account", "email": "ana@example.org",
				"text": "Changer mon adresse."})
			c.expect(typeAck)
			c.expect(typeMessage) // the request
			if tt.verified {
				if f := c.expect(typeMessage); f.Kind != escalation.KindVerified || f.Text != "Adresse vérifiée" {
					t.Errorf("got %+v, want the verified note before the ticket's", f)
				}
			}
			if note := c.expectV(typeMessage); note.Kind != "ticket_created" || note.Verify == tt.verified {
				t.Errorf("note %+v: want verification offered only when not verified already", note)
			}
			c.quiet()
			tk, err := env.store.TicketOfConversation(context.Background(), w.Conversation.ID)
			if err != nil || tk.Verified != tt.verified || (tk.VerifiedBy == escalation.VerifiedByIdentity) != tt.verified {
				t.Errorf("ticket %+v (%v): want verified by identity %v", tk, err, tt.verified)
			}
		})
	}
}

func TestContactPageVerifiesAnAccountTicketWithoutJavaScript(t *testing.T) {
	env := newVerifyEnv(t, false)
	hc := contactClient(t)
	resp, err := hc.Get(env.srv.URL + "/contact?lang=fr")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := string(csrfField.FindSubmatch(page)[1])
	post := func(path string, form url.Values) (int, string) {
		t.Helper()
		resp, err := hc.PostForm(env.srv.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if m := csrfField.FindSubmatch(body); m != nil {
			csrf = string(m[1])
		}
		return resp.StatusCode, string(body)
	}

	code, body := post("/contact?lang=fr", url.Values{"csrf": {csrf}, "topic": {"account"}, "email": {"ana@example.org"},
		"message": {"Je ne peux plus me connecter."}})
	if code != http.StatusOK || !strings.Contains(body, `action="/contact/verify?lang=fr"`) ||
		!strings.Contains(body, "Vérifier votre adresse") || !strings.Contains(body, "<strong>ana@example.org</strong>") {
		t.Fatalf("account ticket: %d, want the code form:\n%s", code, body)
	}
	u, _ := url.Parse(env.srv.URL + "/contact/verify")
	var token string
	for _, ck := range hc.Jar.Cookies(u) {
		if ck.Name == contactConvCookie {
			token = ck.Value
		}
	}
	if token == "" || strings.Contains(body, token) {
		t.Fatalf("want the conversation token in a cookie for /contact/verify, and never in the page")
	}
	first, n := env.codeMailed(t)
	if n != 1 {
		t.Fatalf("%d code mails, want one sent with the ticket", n)
	}

	tests := []struct {
		name       string
		form       url.Values
		noCSRF     bool
		wantStatus int
		wantBody   string
	}{
		{"a wrong code", url.Values{"action": {"check"}, "code": {"000000"}}, false, 422, "ce code ne correspond pas"},
		{"a post from another site", url.Values{"action": {"check"}, "code": {first}}, true, 422, "le formulaire a expiré"},
		{"a new code", url.Values{"action": {"send"}}, false, 200, "Un nouveau code est parti"},
		{"the old code after a new one", url.Values{"action": {"check"}, "code": {first}}, false, 422, "ce code ne correspond pas"},
		{"the new code", url.Values{"action": {"check"}, "code": {"NEW"}}, false, 200, "Adresse vérifiée."},
		{"once verified", url.Values{"action": {"check"}, "code": {"NEW"}}, false, 200, "Adresse vérifiée."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.form.Get("code") == "NEW" {
				tt.form.Set("code", func() string { c, _ := env.codeMailed(t); return c }())
			}
			if tt.form.Get("code") == "000000" && first == "000000" {
				tt.form.Set("code", "000001")
			}
			tt.form.Set("csrf", csrf)
			if tt.noCSRF {
				tt.form.Set("csrf", "forged")
			}
			code, body := post("/contact/verify?lang=fr", tt.form)
			if code != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
				t.Fatalf("got %d, want %d with %q:\n%s", code, tt.wantStatus, tt.wantBody, body)
			}
		})
	}
	tk, err := env.store.TicketByRef(context.Background(), regexp.MustCompile(`#([A-Z][2-9][A-Z]-\d{4})`).FindStringSubmatch(body)[1])
	if err != nil || !tk.Verified || tk.VerifiedBy != escalation.VerifiedByCode {
		t.Errorf("ticket %+v (%v): want it verified by code", tk, err)
	}

	// Without the cookie (another browser), nothing is found.
	resp, err = http.PostForm(env.srv.URL+"/contact/verify?lang=en", url.Values{"action": {"check"}, "code": {first}})
	if err != nil {
		t.Fatal(err)
	}
	lost, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 422 || !strings.Contains(string(lost), "can&#39;t find your request") {
		t.Errorf("without the cookie: %d, want the request not found:\n%s", resp.StatusCode, lost)
	}
}

func TestContactPageAsksNoCodeForOtherTopics(t *testing.T) {
	env := newVerifyEnv(t, false)
	hc := contactClient(t)
	resp, err := hc.Get(env.srv.URL + "/contact?lang=en")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp, err = hc.PostForm(env.srv.URL+"/contact?lang=en", url.Values{"csrf": {string(csrfField.FindSubmatch(page)[1])},
		"topic": {"bug"}, "email": {"ana@example.org"}, "message": {"The page is blank."}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Contains(string(body), "/contact/verify") {
		t.Errorf("bug report: %d, want no code form:\n%s", resp.StatusCode, body)
	}
	if _, n := env.codeMailed(t); n != 0 {
		t.Errorf("%d code mails, want none", n)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == contactConvCookie {
			t.Errorf("conversation cookie set for a ticket that needs no code")
		}
	}
}
