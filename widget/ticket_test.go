package widget

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
)

// newTicketEnv serves a widget that opens tickets with a real desk on the
// widget's own store.
func newTicketEnv(t *testing.T) *testEnv {
	t.Helper()
	store := openStore(t)
	tokens, err := escalation.NewReplyTokens(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	desk, err := escalation.NewDesk(store, escalation.DeskOptions{From: "no-reply@help.example",
		ReplyDomain: "help.example", Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	base := openBase(t, writeArticles(t, testArticles))
	return newEnvOn(t, base, bot.New(base, chatClosed{}, bot.DefaultConfig()), store, func(o *Options) { o.Tickets = desk })
}

func TestTicketFromTheBubbleIsOpenedOnceOnTheConversation(t *testing.T) {
	env := newTicketEnv(t)
	ctx := context.Background()
	c := env.dial(t, "https://shop.example")
	w := c.hello("fr")
	if len(w.Topics) == 0 || w.Topics[0].Label != "Compte et connexion" {
		t.Fatalf("welcome topics %+v, want the form's choices in French", w.Topics)
	}
	c.ask("q1", askPassword)

	c.send(map[string]any{"type": "ticket", "client_id": "t1", "topic": "account",
		"email": "ana@example.org\r\nBcc: x@evil.test", "text": "Le lien n'arrive pas."})
	if e := c.expectError(CodeBadTicket); e.Field != "email" || e.ClientID != "t1" {
		t.Errorf("hostile email: %+v, want bad_ticket naming the email field", e)
	}
	if _, err := env.store.TicketOfConversation(ctx, w.Conversation.ID); escalation.ErrorCode(err) != escalation.ENOTFOUND {
		t.Fatalf("a refused form opened a ticket (%v)", err)
	}

	ticket := map[string]any{"type": "ticket", "client_id": "t1", "topic": "account", "email": "ana@example.org",
		"name": "Ana", "text": "Le lien n'arrive pas.", "page_url": "https://shop.example/compte"}
	c.send(ticket)
	ack := c.expect(typeAck)
	msg := c.expect(typeMessage)
	note := c.expect(typeMessage)
	if msg.Role != "visitor" || msg.Kind != escalation.KindTicket || msg.Text != "Le lien n'arrive pas." {
		t.Errorf("first frame after the form: %+v, want the ticket's message in the conversation", msg)
	}
	if note.Role != "system" || note.Kind != "ticket_created" || note.Seq != ack.Seq || note.Ticket == "" ||
		!strings.Contains(note.Text, "#"+note.Ticket) || !strings.Contains(note.Text, "ana@example.org") {
		t.Fatalf("ticket note %+v (ack %+v), want the reference and the address", note, ack)
	}
	tk, err := env.store.TicketOfConversation(ctx, w.Conversation.ID)
	if err != nil || tk.Ref != note.Ticket || tk.Email != "ana@example.org" || tk.Queue != "accounts" {
		t.Fatalf("stored ticket %+v (%v)", tk, err)
	}

	// A resend (a lost ack) finds the same ticket and the same note.
	c.send(ticket)
	if again := c.expect(typeAck); again.Seq != ack.Seq {
		t.Errorf("resend acknowledged as seq %d, want the original %d", again.Seq, ack.Seq)
	}
	c.quiet()
}

func TestTicketFrameWithoutADeskIsRefused(t *testing.T) {
	env := newEnv(t, nil)
	c := env.dial(t, "https://shop.example")
	if w := c.hello("en"); len(w.Topics) != 0 {
		t.Errorf("topics offered with no desk: %+v", w.Topics)
	}
	c.send(map[string]any{"type": "ticket", "topic": "other", "email": "a@b.example", "text": "hi"})
	c.expectError(CodeNoTickets)
}

// contactClient keeps cookies, as a browser filling the form would.
func contactClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func TestContactPageOpensATicketWithoutJavaScript(t *testing.T) {
	env := newTicketEnv(t)
	hc := contactClient(t)
	resp, err := hc.Get(env.srv.URL + "/contact?lang=fr&page=https://shop.example/panier")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	if resp.StatusCode != 200 || m == nil || !bytes.Contains(page, []byte("Compte et connexion")) ||
		!bytes.Contains(page, []byte(`value="https://shop.example/panier"`)) {
		t.Fatalf("form page %d:\n%s", resp.StatusCode, page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self'") {
		t.Errorf("CSP %q", csp)
	}
	post := func(form url.Values) (int, string) {
		t.Helper()
		resp, err := hc.PostForm(env.srv.URL+"/contact?lang=fr", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if m := csrfField.FindSubmatch(body); m != nil {
			form.Set("csrf", string(m[1]))
		}
		return resp.StatusCode, string(body)
	}
	form := url.Values{"csrf": {string(m[1])}, "topic": {"billing"}, "email": {"ana@example.org"}, "name": {"Ana"},
		"message": {"Ma facture <b>est fausse</b>"}, "page_url": {"https://shop.example/panier"}}

	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("email", "pas une adresse")
	if code, body := post(bad); code != http.StatusUnprocessableEntity || !strings.Contains(body, "email") ||
		!strings.Contains(body, "Ma facture &lt;b&gt;est fausse&lt;/b&gt;") {
		t.Fatalf("bad email: %d, want the form again, filled, escaped, naming the field:\n%s", code, body)
	}
	form.Set("csrf", bad.Get("csrf"))

	code, body := post(form)
	ref := regexp.MustCompile(`#([A-Z][2-9][A-Z]-\d{4})`).FindStringSubmatch(body)
	if code != http.StatusOK || ref == nil || !strings.Contains(body, "ana@example.org") {
		t.Fatalf("valid form: %d, want the reference:\n%s", code, body)
	}
	tk, err := env.store.TicketByRef(context.Background(), ref[1])
	if err != nil || tk.Topic != "billing" || tk.PageURL != "https://shop.example/panier" || tk.Lang != "fr" {
		t.Fatalf("stored ticket %+v (%v)", tk, err)
	}
}

func TestContactPageRefusesCrossSitePostsBotsAndFloods(t *testing.T) {
	env := newTicketEnv(t)
	form := url.Values{"topic": {"other"}, "email": {"ana@example.org"}, "message": {"Bonjour"}}
	// No cookie: another site's page posting the form.
	resp, err := http.PostForm(env.srv.URL+"/contact?lang=en", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "expired") {
		t.Errorf("post without the form's token: %d, want it refused as expired", resp.StatusCode)
	}

	hc := contactClient(t)
	get := func() string {
		resp, err := hc.Get(env.srv.URL + "/contact?lang=en")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		page, _ := io.ReadAll(resp.Body)
		return string(csrfField.FindStringSubmatch(string(page))[1])
	}
	trap := url.Values{"csrf": {get()}, "topic": {"other"}, "email": {"bot@example.org"}, "message": {"buy"}, "website": {"http://spam.example"}}
	resp, err = hc.PostForm(env.srv.URL+"/contact?lang=en", trap)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var n int
	codes := []int{}
	for i := 0; i < 5; i++ {
		f := url.Values{"csrf": {get()}, "topic": {"other"}, "email": {"ana@example.org"}, "message": {"Bonjour"}}
		resp, err := hc.PostForm(env.srv.URL+"/contact?lang=en", f)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == http.StatusOK {
			n++
		}
	}
	if n != 3 || codes[4] != http.StatusTooManyRequests {
		t.Errorf("five posts in a row: %v, want three tickets then 429", codes)
	}
}
