package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/coder/websocket"
)

// readUntil reads the bubble's frames until one satisfies done, and
// returns them all.
func readUntil(t *testing.T, c *websocket.Conn, done func(map[string]any) bool) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []map[string]any
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("reading the bubble after %v: %v", out, err)
		}
		var f map[string]any
		decodeJSON(t, data, &f)
		out = append(out, f)
		if done(f) {
			return out
		}
	}
}

// noteSecret is an internal note's text: it must appear in the console
// and nowhere a visitor can read.
const noteSecret = "NOTE-INTERNE-4417 client difficile, geste commercial accordé"

// TestInternalNoteNeverReachesTheVisitorEndToEnd runs the whole server:
// a visitor opens a ticket from the bubble; an agent writes an internal
// note and answers from the console. The bubble (live and replayed), the
// agent's reply mail, the transcript mail and "My requests" carry the
// answer and never the note; the console's ticket page shows both.
func TestInternalNoteNeverReachesTheVisitorEndToEnd(t *testing.T) {
	m := runWidgetMain(t)
	ctx := context.Background()
	c, _, err := dialBubble(t, m, "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	welcome := exchange(t, c, `{"type":"hello","lang":"fr"}`, 1)[0]
	token := welcome["token"].(string)
	exchange(t, c, `{"type":"message","client_id":"q1","text":"ma facture de mars est en double"}`, 3)
	write := func(frame string) {
		t.Helper()
		if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"type":"ticket","client_id":"t1","topic":"billing","email":"ana@example.org","name":"Ana","text":"Elle est comptée deux fois."}`)
	readUntil(t, c, func(f map[string]any) bool { return f["kind"] == "ticket_created" })
	convID := int64(welcome["conversation"].(map[string]any)["id"].(float64))
	tk, err := m.store.TicketOfConversation(ctx, convID)
	if err != nil {
		t.Fatal(err)
	}

	// The agent signs in to the console, writes the note, then answers.
	inv, err := m.store.InviteAgent(ctx, "lea@help.example.com", "Léa", escalation.AgentRoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	const password = "une phrase de passe assez longue"
	if _, err := m.store.SetAgentPassword(ctx, inv.SetupToken, password); err != nil {
		t.Fatal(err)
	}
	origin := "http://" + m.Addr()
	b := newConsoleBrowser(t, origin)
	_, _, page := b.do("GET", origin+"/console/login", nil, nil)
	if status, _, _ := b.do("POST", origin+"/console/login", url.Values{"csrf": {csrfFrom(t, page)},
		"email": {inv.Agent.Email}, "password": {password}}, nil); status != http.StatusSeeOther {
		t.Fatalf("sign in: %d", status)
	}
	_, _, home := b.do("GET", origin+"/console/", nil, nil)
	csrf := csrfFrom(t, home)
	ticketURL := origin + "/console/tickets/" + tk.Ref
	if status, _, body := b.do("POST", ticketURL+"/notes?lang=fr", url.Values{"csrf": {csrf}, "body": {noteSecret}}, nil); status != http.StatusSeeOther {
		t.Fatalf("note: %d %s", status, body)
	}
	if status, _, body := b.do("POST", ticketURL+"/reply?lang=fr", url.Values{"csrf": {csrf}, "text": {"Nous avons annulé le doublon."}}, nil); status != http.StatusSeeOther {
		t.Fatalf("reply: %d %s", status, body)
	}
	if _, _, body := b.do("GET", ticketURL+"?lang=fr", nil, nil); !strings.Contains(body, noteSecret) ||
		!strings.Contains(body, "Nous avons annulé le doublon.") {
		t.Errorf("the console's ticket page: want the note and the reply in %s", body)
	}

	leaks := func(where, text string) {
		t.Helper()
		if strings.Contains(text, "NOTE-INTERNE-4417") {
			t.Errorf("%s shows the internal note: %s", where, text)
		}
	}
	// The open bubble gets the answer at once, and nothing else.
	live := readUntil(t, c, func(f map[string]any) bool { return f["kind"] == escalation.KindAgentReply })
	frames, _ := json.Marshal(live)
	leaks("the live bubble", string(frames))
	// A bubble that comes back replays the whole conversation.
	c2, _, err := dialBubble(t, m, "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.CloseNow()
	if err := c2.Write(ctx, websocket.MessageText, []byte(`{"type":"hello","lang":"fr","last_seq":0,"token":"`+token+`"}`)); err != nil {
		t.Fatal(err)
	}
	replay := readUntil(t, c2, func(f map[string]any) bool { return f["kind"] == escalation.KindAgentReply })
	frames, _ = json.Marshal(replay)
	leaks("the replayed bubble", string(frames))

	// The transcript, then "My requests".
	write(`{"type":"transcript","client_id":"tr1","email":"ana@example.org"}`)
	readUntil(t, c, func(f map[string]any) bool { return f["kind"] == escalation.KindTranscriptSent })
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	res, err := hc.PostForm(m.URL()+"/requests?lang=fr", url.Values{"csrf": {pageCSRF(t, hc, m.URL()+"/requests?lang=fr")}, "email": {"ana@example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	mails, err := m.store.OutboxMails(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	var link []string
	for _, mail := range mails {
		kinds[mail.Kind] = true
		leaks("the "+mail.Kind+" mail's text", mail.Text)
		leaks("the "+mail.Kind+" mail's HTML", mail.HTML)
		if mail.Kind == "magic_link" {
			link = regexp.MustCompile(`/requests/login\?t=(\S+)`).FindStringSubmatch(mail.Text)
		}
	}
	for _, kind := range []string{"confirmation", "agent_reply", "transcript", "magic_link"} {
		if !kinds[kind] {
			t.Errorf("no %s mail in the outbox: %v", kind, kinds)
		}
	}
	if link == nil {
		t.Fatal("no sign-in link")
	}
	res, err = hc.PostForm(m.URL()+"/requests/login", url.Values{"csrf": {pageCSRF(t, hc, m.URL()+"/requests/login?t="+link[1])}, "t": {link[1]}})
	if err != nil {
		t.Fatal(err)
	}
	list, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(list), "#"+tk.Ref) || !strings.Contains(string(list), "Nous avons annulé le doublon.") {
		t.Fatalf("My requests: %d, want the ticket and the answer:\n%s", res.StatusCode, list)
	}
	leaks("My requests", string(list))
}
