package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/bulle-help/bulle/escalation"
)

// contactClient is a visitor's browser on the contact form: it keeps the
// form's cookie, and posts the form with its token, files and headers.
type contactClient struct {
	t  *testing.T
	m  *Main
	hc *http.Client
}

func newContactClient(t *testing.T, m *Main) *contactClient {
	jar, _ := cookiejar.New(nil)
	return &contactClient{t: t, m: m, hc: &http.Client{Jar: jar}}
}

// post fetches the form, then posts fields and files (name → content)
// with extra headers; it returns the status and the page.
func (c *contactClient) post(fields map[string]string, files map[string]string, header http.Header) (int, string) {
	c.t.Helper()
	res, err := c.hc.Get(c.m.URL() + "/contact?lang=en")
	if err != nil {
		c.t.Fatal(err)
	}
	form, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", csrfFrom(c.t, string(form)))
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for name, data := range files {
		fw, _ := mw.CreateFormFile("files", name)
		io.WriteString(fw, data)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", c.m.URL()+"/contact?lang=en", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for k, v := range header {
		req.Header[k] = v
	}
	res, err = c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// TestHostileContactFormLimitIgnoresForwardedFor: the contact form allows
// each client a few tickets a minute, counted by the connection's
// address. A header anyone can send (X-Forwarded-For, X-Real-IP) must
// not make every post a new client.
func TestHostileContactFormLimitIgnoresForwardedFor(t *testing.T) {
	m := runWidgetMain(t)
	c := newContactClient(t, m)
	refused := 0
	for i := range 6 {
		status, _ := c.post(map[string]string{"topic": "bug", "email": fmt.Sprintf("v%d@example.org", i), "message": "Ça plante"}, nil,
			http.Header{"X-Forwarded-For": {fmt.Sprintf("203.0.113.%d", i+1)}, "X-Real-Ip": {fmt.Sprintf("198.51.100.%d", i+1)}})
		if status == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused < 3 {
		t.Errorf("6 forms in a row, each with another forwarded address: %d refused, want the 4th and later", refused)
	}
}

// TestHostileConsoleForgedPostsChangeNothing sends every state-changing
// post of the console, signed in, the ways another site could forge it:
// without the token, with another agent's token, from another origin,
// cross-site without an Origin, from a sandboxed frame, and without the
// session cookie a cross-site form would not carry. Each is refused, and
// nothing changed: no note, reply, mail, status, canned response, away
// flag, password, sign-in or sign-out.
func TestHostileConsoleForgedPostsChangeNothing(t *testing.T) {
	m := runChatMain(t)
	ctx := context.Background()
	origin := "http://" + m.Addr()
	bo := signInAgent(t, m, "bo@team.example", "Bo")
	// Ada is an admin, so the canned responses' posts would go through.
	adminInv, err := m.store.InviteAgent(ctx, "ada@team.example", "Ada", escalation.AgentRoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.store.SetAgentPassword(ctx, adminInv.SetupToken, agentPassword); err != nil {
		t.Fatal(err)
	}
	ada := newConsoleBrowser(t, origin)
	_, _, page := ada.do("GET", origin+"/console/login", nil, nil)
	if status, _, _ := ada.do("POST", origin+"/console/login", url.Values{"csrf": {csrfFrom(t, page)},
		"email": {"ada@team.example"}, "password": {agentPassword}}, nil); status != http.StatusSeeOther {
		t.Fatalf("sign in: %d", status)
	}
	_, _, home := ada.do("GET", origin+"/console/", nil, nil)
	adaCSRF := csrfFrom(t, home)
	pending, err := m.store.InviteAgent(ctx, "new@team.example", "New", escalation.AgentRoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	canned, err := m.store.CreateCannedResponse(ctx, adminInv.Agent.ID, escalation.CannedInput{Title: "Bonjour", Lang: "fr", Body: "Bonjour !"})
	if err != nil {
		t.Fatal(err)
	}
	// A queued chat, and a ticket.
	v, chat := bubble(t, m, map[string]any{"lang": "fr"})
	askForChat(t, v)
	tv, tw := bubble(t, m, map[string]any{"lang": "fr"})
	tv.send(map[string]any{"type": "ticket", "client_id": "t1", "topic": "billing", "email": "ana@example.org", "text": "Facture"})
	tv.nextOf("ack", "")
	tk, err := m.store.TicketOfConversation(ctx, tw.Conversation.ID)
	if err != nil {
		t.Fatal(err)
	}
	before := func() (notes, mails, canneds int) {
		for _, id := range []int64{chat.Conversation.ID, tw.Conversation.ID} {
			n, _ := m.store.AgentNotes(ctx, id)
			notes += len(n)
		}
		all, _ := m.store.OutboxMails(ctx, 0, 500)
		c, _ := m.store.CannedResponses(ctx, "")
		return notes, len(all), len(c)
	}
	notes0, mails0, canned0 := before()

	posts := []struct {
		path string
		form url.Values
	}{
		{"/console/login", url.Values{"email": {"lea@team.example"}, "password": {agentPassword}}},
		{"/console/setup", url.Values{"t": {pending.SetupToken}, "password": {"une autre phrase de passe"}, "confirm": {"une autre phrase de passe"}}},
		{"/console/logout", url.Values{}},
		{"/console/away", url.Values{"away": {"1"}}},
		{fmt.Sprintf("/console/chats/%d/notes", chat.Conversation.ID), url.Values{"body": {"forgée"}}},
		{"/console/tickets/" + tk.Ref + "/reply", url.Values{"text": {"forgée"}}},
		{"/console/tickets/" + tk.Ref + "/status", url.Values{"status": {"solved"}}},
		{"/console/tickets/" + tk.Ref + "/notes", url.Values{"body": {"forgée"}}},
		{fmt.Sprintf("/console/conversations/%d/notes", tw.Conversation.ID), url.Values{"body": {"forgée"}}},
		{"/console/canned", url.Values{"title": {"Forgée"}, "canned_lang": {"fr"}, "body": {"forgée"}}},
		{fmt.Sprintf("/console/canned/%d", canned.ID), url.Values{"title": {"Forgée"}, "canned_lang": {"fr"}, "body": {"forgée"}}},
		{fmt.Sprintf("/console/canned/%d/delete", canned.ID), url.Values{}},
	}
	forgeries := []struct {
		name   string
		b      *consoleBrowser
		csrf   string
		header http.Header
	}{
		{"without the token", ada, "", nil},
		{"with another agent's token", ada, bo.csrf, nil},
		{"with a made-up token", ada, strings.Repeat("A", 43), nil},
		{"from another site", ada, adaCSRF, http.Header{"Origin": {"https://evil.example"}}},
		{"from the bubble's site", ada, adaCSRF, http.Header{"Origin": {"https://shop.example"}}},
		{"cross-site, without an Origin", ada, adaCSRF, http.Header{"Origin": nil, "Sec-Fetch-Site": {"cross-site"}}},
		{"from a sandboxed frame of another site", ada, adaCSRF, http.Header{"Origin": {"null"}, "Sec-Fetch-Site": {"cross-site"}}},
		{"without the session cookie", newConsoleBrowser(t, origin), adaCSRF, http.Header{"Origin": {"https://evil.example"}}},
	}
	for _, p := range posts {
		for _, f := range forgeries {
			t.Run(p.path+" "+f.name, func(t *testing.T) {
				form := url.Values{}
				for k, v := range p.form {
					form[k] = v
				}
				if f.csrf != "" {
					form.Set("csrf", f.csrf)
				}
				f.b.t = t
				status, h, body := f.b.do("POST", origin+p.path, form, f.header)
				if status != http.StatusForbidden && !(status == http.StatusSeeOther && strings.HasPrefix(h.Get("Location"), "/console/login")) {
					t.Errorf("got %d %q, want 403: %.300s", status, h.Get("Location"), body)
				}
				for _, c := range h.Values("Set-Cookie") {
					if strings.HasPrefix(c, "bulle_console=") && !strings.HasPrefix(c, "bulle_console=;") {
						t.Errorf("a refused post set the session cookie: %s", c)
					}
				}
			})
		}
	}

	ada.t = t // the subtests borrowed it

	// Nothing changed.
	if notes, mails, canneds := before(); notes != notes0 || mails != mails0 || canneds != canned0 {
		t.Errorf("after the forged posts: %d notes, %d mails, %d canned responses; want %d, %d, %d", notes, mails, canneds, notes0, mails0, canned0)
	}
	if c, err := m.store.CannedResponse(ctx, canned.ID); err != nil || c.Title != "Bonjour" {
		t.Errorf("canned response after the forged posts: %+v (%v), want it unchanged", c, err)
	}
	if got, _ := m.store.TicketByRef(ctx, tk.Ref); got.Status != escalation.StatusOpen {
		t.Errorf("ticket status after the forged posts: %q, want open", got.Status)
	}
	if a, _ := m.store.AgentByEmail(ctx, "ada@team.example"); a.Away {
		t.Error("the agent is away after the forged posts")
	}
	if _, err := m.store.SetupTokenAgent(ctx, pending.SetupToken); err != nil {
		t.Errorf("the setup link after the forged posts: %v, want it unused", err)
	}
	if status, _, _ := ada.do("GET", origin+"/console/", nil, nil); status != http.StatusOK {
		t.Errorf("the console after the forged posts: %d, want still signed in", status)
	}
	// The same post with its token goes through: the forgeries were
	// refused for what they lacked.
	if status, _, body := ada.do("POST", origin+"/console/tickets/"+tk.Ref+"/status", url.Values{"csrf": {adaCSRF}, "status": {"solved"}}, nil); status != http.StatusSeeOther {
		t.Errorf("the real post: %d %s", status, body)
	}
}

// TestHostileLoginBruteForce guesses an agent's password on the wired
// server: after 5 failures the address is locked, the right password
// included, with a clear message and Retry-After; a forwarded-for header
// changes nothing.
func TestHostileLoginBruteForce(t *testing.T) {
	m := runChatMain(t)
	ctx := context.Background()
	inv, err := m.store.InviteAgent(ctx, "lea@team.example", "Léa", escalation.AgentRoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.store.SetAgentPassword(ctx, inv.SetupToken, agentPassword); err != nil {
		t.Fatal(err)
	}
	origin := "http://" + m.Addr()
	b := newConsoleBrowser(t, origin)
	try := func(password string, i int) (int, http.Header, string) {
		t.Helper()
		_, _, page := b.do("GET", origin+"/console/login?lang=en", nil, nil)
		return b.do("POST", origin+"/console/login?lang=en", url.Values{"csrf": {csrfFrom(t, page)}, "email": {"LEA@team.example"},
			"password": {password}}, http.Header{"X-Forwarded-For": {fmt.Sprintf("203.0.113.%d", i)}, "X-Real-Ip": {fmt.Sprintf("198.51.100.%d", i)}})
	}
	for i := range 5 {
		if status, _, _ := try("a wrong guess number "+strconv.Itoa(i), i); status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i+1, status)
		}
	}
	status, h, body := try(agentPassword, 9)
	if status != http.StatusTooManyRequests {
		t.Fatalf("the right password after 5 failures: %d, want 429", status)
	}
	if secs, err := strconv.Atoi(h.Get("Retry-After")); err != nil || secs < 60 {
		t.Errorf("Retry-After %q: want the wait in seconds", h.Get("Retry-After"))
	}
	if !strings.Contains(shownText(body), "Try again in") {
		t.Errorf("the refusal: want it to say when to try again:\n%s", body)
	}
	for _, c := range h.Values("Set-Cookie") {
		if strings.HasPrefix(c, "bulle_console=") {
			t.Errorf("a locked sign-in set the session cookie: %s", c)
		}
	}
}
