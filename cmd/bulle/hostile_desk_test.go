package main

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/bulle-help/bulle/escalation"
	"github.com/coder/websocket"
)

// hostileAgent signs an agent in through the form, with a socket kept
// open (and drained) so they count as online; a.sock is left nil, for the
// caller to open when it needs one (agent.connect).
func hostileAgent(t *testing.T, m *Main, email, name string, role escalation.AgentRole) *agent {
	t.Helper()
	ctx := context.Background()
	inv, err := m.store.InviteAgent(ctx, email, name, role)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.store.SetAgentPassword(ctx, inv.SetupToken, agentPassword); err != nil {
		t.Fatal(err)
	}
	origin := "http://" + m.Addr()
	b := newConsoleBrowser(t, origin)
	_, _, page := b.do("GET", origin+"/console/login", nil, nil)
	if status, _, _ := b.do("POST", origin+"/console/login", url.Values{"csrf": {csrfFrom(t, page)},
		"email": {email}, "password": {agentPassword}}, nil); status != http.StatusSeeOther {
		t.Fatalf("sign in %s: %d", email, status)
	}
	_, _, home := b.do("GET", origin+"/console/", nil, nil)
	a := &agent{t: t, m: m, b: b, id: inv.Agent.ID, csrf: csrfFrom(t, home), email: email}
	c, _, err := a.dial(origin, a.csrf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	go func() { // the queue changes with every chat: keep reading
		for {
			if _, _, err := c.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	return a
}

// joinUpTo joins payloads with line breaks into texts of at most n bytes.
func joinUpTo(payloads []string, n int) []string {
	var out []string
	cur := ""
	for _, p := range payloads {
		if cur != "" && len(cur)+1+len(p) > n {
			out = append(out, cur)
			cur = ""
		}
		if cur != "" {
			cur += "\n"
		}
		cur += p
	}
	return append(out, cur)
}

// hostilePage is an http(s) address a visitor's bubble may report, with a
// payload in its query.
func hostilePage(p string) string { return "https://shop.example/page?q=" + p }

var ticketRef = regexp.MustCompile(`#([A-Z][2-9][A-Z]-\d{4})`)

// TestHostileTextStaysInertInTheConsoleMailAndMyRequests runs the whole
// server and puts every payload where visitors and agents write: visitor
// messages (so the bot's answers quote hostile articles too), chat topics
// and page addresses, ticket names and texts, attachment names (the
// contact form's and a reply by email's), agent names, agent messages,
// replies and notes, a chat rating's comment, canned responses. Then it
// reads every console page that shows them, "My requests", the contact
// form sent back with the payloads, /dev/mail, and every mail the outbox
// holds, rendered as it would be sent: nothing a payload wrote is active,
// and no mail has a header the payload made.
func TestHostileTextStaysInertInTheConsoleMailAndMyRequests(t *testing.T) {
	payloads := loadPayloads(t)
	m := runHostileMain(t, payloads, func(m *Main) {
		m.Config.SMTP.InboundAddr = "127.0.0.1:0"
		m.Config.SMTP.ReplyDomain = "reply.example.com"
	})
	ctx := context.Background()
	origin := "http://" + m.Addr()
	// Agents named with payloads: Léa works, Bo is in her hand-over list.
	lea := hostileAgent(t, m, "lea@team.example", "Léa "+payloads[0], escalation.AgentRoleAdmin)
	if inv, err := m.store.InviteAgent(ctx, "bo@team.example", "Bo "+payloads[len(payloads)-1], escalation.AgentRoleAgent); err != nil {
		t.Fatal(err)
	} else if _, err := m.store.SetAgentPassword(ctx, inv.SetupToken, agentPassword); err != nil {
		t.Fatal(err)
	}

	// Each payload: a visitor asks it, then asks for a chat with it as the
	// topic, from a page whose address holds it.
	chats := make([]int64, len(payloads))
	var chatTokens []string
	for i, p := range payloads {
		v, w := bubble(t, m, map[string]any{"lang": "fr"})
		chats[i], chatTokens = w.Conversation.ID, append(chatTokens, w.Token)
		v.send(map[string]any{"type": "message", "client_id": "q1", "text": p})
		v.nextOf("ack", "")
		if f := v.nextOf("message", "text"); f.Text != p {
			t.Errorf("payload %d: the bubble echoes %q, want it as sent", i, f.Text)
		}
		v.nextOf("message", "") // the bot's answer
		v.send(map[string]any{"type": "person", "channel": "chat", "client_id": "p1", "page_url": hostilePage(p), "topic": p})
		v.nextOf("ack", "")
		v.nextOf("message", "person_request")
		if f := v.next(); f.Kind != "chat_queued" {
			t.Fatalf("payload %d: chat request answered %+v, want the chat queued", i, f)
		}
	}
	// Each payload: a ticket from the bubble, by a visitor named with it.
	tickets := make([]string, len(payloads))
	for i, p := range payloads {
		v, w := bubble(t, m, map[string]any{"lang": "en"})
		v.send(map[string]any{"type": "ticket", "client_id": "t1", "topic": "billing", "email": fmt.Sprintf("v%02d@example.org", i),
			"name": p, "text": p, "page_url": hostilePage(p)})
		v.nextOf("ack", "")
		v.nextOf("message", "ticket")
		v.nextOf("message", "ticket_created")
		tk, err := m.store.TicketOfConversation(ctx, w.Conversation.ID)
		if err != nil {
			t.Fatal(err)
		}
		tickets[i] = tk.Ref
	}

	// The contact form: a ticket with files named with payloads…
	visitor := newContactClient(t, m)
	hc := visitor.hc
	firstTen := map[string]string{}
	for _, p := range payloads {
		if len(firstTen) < 10 {
			firstTen[p+".txt"] = "a text file\n"
		}
	}
	all := strings.Join(payloads, "\n")
	status, done := visitor.post(map[string]string{"topic": "bug", "email": "files@example.org", "name": payloads[1], "message": all,
		"page_url": hostilePage(payloads[1])}, firstTen, nil)
	ref := ticketRef.FindStringSubmatch(shownText(done))
	if status != 200 || ref == nil {
		t.Fatalf("contact form with hostile files: %d\n%s", status, done)
	}
	inert(t, "the contact form's confirmation", done, formPage)
	contactTicket := ref[1]
	// …and sent back, refused, with every payload in it.
	status, again := visitor.post(map[string]string{"topic": payloads[2], "email": payloads[3], "name": payloads[4], "message": all,
		"page_url": payloads[5]}, nil, nil)
	if status == 200 && ticketRef.MatchString(shownText(again)) {
		t.Fatalf("a contact form with no address opened a ticket: %s", again)
	}
	inert(t, "the contact form sent back", again, formPage)
	if !strings.Contains(shownText(again), payloads[4]) {
		t.Errorf("the contact form sent back: want the name %q as typed", payloads[4])
	}

	// The visitor replies by email with the other files, 10 to a message
	// (the desk keeps 10 files a message).
	tk, err := m.store.TicketByRef(ctx, contactTicket)
	if err != nil {
		t.Fatal(err)
	}
	var rest []string
	for _, p := range payloads {
		if firstTen[p+".txt"] == "" {
			rest = append(rest, p)
		}
	}
	for len(rest) > 0 {
		batch := rest[:min(10, len(rest))]
		rest = rest[len(batch):]
		replyWithFiles(t, m, tk.ConversationID, "files@example.org", batch)
	}
	files, err := m.store.ConversationAttachments(ctx, tk.ConversationID)
	if err != nil || len(files) != len(payloads) {
		t.Fatalf("the contact ticket's files: %d (%v), want %d", len(files), err, len(payloads))
	}

	// Léa takes the first chat and writes every payload; notes it; ends it.
	lea.connect()
	lea.sock.send(map[string]any{"type": "claim", "conversation_id": chats[0]})
	lea.sock.nextOf("chat", "")
	for i, text := range joinUpTo(payloads, 4000) {
		lea.sock.send(map[string]any{"type": "message", "conversation_id": chats[0], "client_id": fmt.Sprintf("a%d", i), "text": text})
		lea.sock.nextOf("ack", "")
	}
	chatURL := fmt.Sprintf("%s/console/chats/%d", origin, chats[0])
	if status, _, body := lea.b.do("POST", chatURL+"/notes", url.Values{"csrf": {lea.csrf}, "body": {all}}, nil); status != http.StatusSeeOther {
		t.Fatalf("chat note: %d %s", status, body)
	}
	lea.sock.send(map[string]any{"type": "close", "conversation_id": chats[0]})
	lea.sock.nextOf("chat", "")
	lea.sock.send(map[string]any{"type": "claim", "conversation_id": chats[1]}) // held: its page lists Bo
	lea.sock.nextOf("chat", "")
	// The visitor rates it with a payload, and asks for the transcript.
	v, _ := bubble(t, m, map[string]any{"lang": "fr", "token": chatTokens[0]})
	acked := func() { // past the replay
		t.Helper()
		for f := v.next(); f.Type != "ack"; f = v.next() {
			if f.Type == "error" {
				t.Fatalf("got %+v, want an ack", f)
			}
		}
	}
	v.send(map[string]any{"type": "rate", "client_id": "r1", "rating": 1, "comment": payloads[7]})
	acked()
	v.send(map[string]any{"type": "transcript", "client_id": "tr1", "email": "chat@example.org"})
	acked()
	// On the contact ticket: a reply, a note, a status; canned responses.
	ticketURL := origin + "/console/tickets/" + contactTicket
	for path, form := range map[string]url.Values{
		"/reply": {"text": {all}}, "/notes": {"body": {all}}, "/status": {"status": {"pending"}},
	} {
		form.Set("csrf", lea.csrf)
		if status, _, body := lea.b.do("POST", ticketURL+path, form, nil); status != http.StatusSeeOther {
			t.Fatalf("ticket %s: %d %s", path, status, body)
		}
	}
	for i, p := range payloads[:3] {
		if status, _, body := lea.b.do("POST", origin+"/console/canned", url.Values{"csrf": {lea.csrf}, "title": {p},
			"canned_lang": {[]string{"fr", "en", "fr"}[i]}, "body": {all}}, nil); status != http.StatusSeeOther {
			t.Fatalf("canned response %q: %d %s", p, status, body)
		}
	}

	// Every console page that shows them.
	page := func(path string) string {
		t.Helper()
		status, h, body := lea.b.do("GET", origin+path, nil, nil)
		if status != 200 {
			t.Errorf("%s: %d", path, status)
		}
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		inert(t, path, body, consolePage)
		return shownText(body)
	}
	if text := page("/console/?lang=fr"); !strings.Contains(text, payloads[0]) {
		t.Errorf("home: want Léa's name as written")
	}
	list := page("/console/chats?lang=fr")
	for i, p := range payloads {
		if i > 0 && (!strings.Contains(list, p) || !strings.Contains(list, hostilePage(p))) {
			t.Errorf("chats: want the topic and the page %q as written", p)
		}
		if text := page(fmt.Sprintf("/console/chats/%d?lang=fr", chats[i])); !strings.Contains(text, p) {
			t.Errorf("chat %d: want %q as written", chats[i], p)
		}
		if text := page("/console/tickets/" + tickets[i] + "?lang=en"); strings.Count(text, p) < 2 {
			t.Errorf("ticket %s: want the name and the text %q as written", tickets[i], p)
		}
		page("/console/search?q=" + url.QueryEscape(p))
	}
	for _, path := range []string{"/console/tickets?lang=en", "/console/tickets?status=pending&lang=en",
		"/console/tickets?topic=billing&lang=fr", "/console/tickets/" + contactTicket + "?lang=fr",
		fmt.Sprintf("/console/conversations/%d?lang=fr", chats[1]), "/console/search?q=script",
		"/console/search?q=files@example.org", "/console/canned?lang=fr", "/console/canned/1?lang=fr"} {
		page(path)
	}
	if text := page(fmt.Sprintf("/console/chats/%d?lang=en", chats[1])); !strings.Contains(text, "Bo "+payloads[len(payloads)-1]) {
		t.Errorf("hand-over list: want Bo's name as written")
	}
	// Files download as files, under a harmless name.
	for _, f := range files {
		status, h, _ := lea.b.do("GET", fmt.Sprintf("%s/console/attachments/%d", origin, f.ID), nil, nil)
		_, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
		if status != 200 || err != nil || strings.ContainsAny(params["filename"], "/\\\r\n") ||
			h.Get("Content-Security-Policy") != "default-src 'none'; sandbox" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("file %q: %d %v", f.Name, status, h)
		}
	}

	// "My requests", for the visitor of the contact form.
	res, err := hc.Get(m.URL() + "/requests?lang=en")
	if err != nil {
		t.Fatal(err)
	}
	form, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res, err = hc.PostForm(m.URL()+"/requests?lang=en", url.Values{"csrf": {csrfFrom(t, string(form))}, "email": {"files@example.org"}}); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var link []string
	mails, _ := m.store.OutboxMails(ctx, 0, 500)
	for _, om := range mails {
		if om.Kind == "magic_link" {
			link = regexp.MustCompile(`/requests/login\?t=(\S+)`).FindStringSubmatch(om.Text)
			break
		}
	}
	if link == nil {
		t.Fatal("no sign-in link")
	}
	res, err = hc.Get(m.URL() + "/requests/login?t=" + link[1])
	if err != nil {
		t.Fatal(err)
	}
	form, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res, err = hc.PostForm(m.URL()+"/requests/login", url.Values{"csrf": {csrfFrom(t, string(form))}, "t": {link[1]}}); err != nil {
		t.Fatal(err)
	}
	mine, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(mine), "#"+contactTicket) {
		t.Fatalf("My requests: %d, want the contact ticket:\n%s", res.StatusCode, mine)
	}
	inert(t, "My requests", string(mine), formPage)
	// The requests form sent back with a payload for an address.
	res, err = hc.Get(m.URL() + "/requests?lang=en")
	if err != nil {
		t.Fatal(err)
	}
	form, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res, err = hc.PostForm(m.URL()+"/requests?lang=en", url.Values{"csrf": {csrfFrom(t, string(form))}, "email": {payloads[8]}}); err != nil {
		t.Fatal(err)
	}
	back, _ := io.ReadAll(res.Body)
	res.Body.Close()
	inert(t, "the requests form sent back", string(back), formPage)

	// Every mail, rendered as it would be sent, and its /dev/mail pages.
	mails, err = m.store.OutboxMails(ctx, 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, om := range mails {
		kinds[om.Kind]++
		inertMail(t, om, "")
		status, _, body := get(t, fmt.Sprintf("%s/dev/mail/%d", m.URL(), om.ID))
		if status != 200 {
			t.Errorf("/dev/mail/%d: %d", om.ID, status)
		}
		inert(t, fmt.Sprintf("/dev/mail/%d", om.ID), body, devMailPage)
		status, h, _ := get(t, fmt.Sprintf("%s/dev/mail/%d/html", m.URL(), om.ID))
		if csp := h.Get("Content-Security-Policy"); status == 200 && !strings.Contains(csp, "sandbox") {
			t.Errorf("/dev/mail/%d/html: CSP %q, want a sandbox", om.ID, csp)
		}
	}
	for i, p := range payloads {
		to := fmt.Sprintf("v%02d@example.org", i)
		found := false
		for _, om := range mails {
			if om.Kind == "confirmation" && strings.Contains(om.To, to) {
				found = true
				text, htmlPart := inertMail(t, om, to)
				if !strings.Contains(text, p) || !strings.Contains(shownText(htmlPart), p) {
					t.Errorf("confirmation to %s: want %q as written in both parts", to, p)
				}
			}
		}
		if !found {
			t.Errorf("no confirmation to %s", to)
		}
	}
	for _, kind := range []string{"confirmation", "agent_reply", "transcript", "magic_link"} {
		if kinds[kind] == 0 {
			t.Errorf("no %s mail in the outbox: %v", kind, kinds)
		}
	}
	if status, _, body := get(t, m.URL()+"/dev/mail"); status != 200 {
		t.Errorf("/dev/mail: %d", status)
	} else {
		inert(t, "/dev/mail", body, devMailPage)
	}
	lea.sock.conn.Close(websocket.StatusNormalClosure, "")
}
