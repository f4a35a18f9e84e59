package console

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bulle-help/bulle/escalation"
)

// hostile is text a visitor, an agent or a stored decision might carry,
// which every page must show as text.
const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)>`

// deskFixture is a console with a desk (replies by mail, attachments) on
// the fixture's store, and a signed-in browser.
type deskFixture struct {
	*fixture
	desk *escalation.Desk
	b    *browser
	csrf string // the session's CSRF token
}

// newDeskFixture signs in an agent (an admin when admin is true).
func newDeskFixture(t *testing.T, opt Options, admin bool) *deskFixture {
	t.Helper()
	f := newFixture(t, opt, false)
	tokens, err := escalation.NewReplyTokens(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	files, err := escalation.NewFiles(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	desk, err := escalation.NewDesk(f.store, escalation.DeskOptions{From: "Bulle <no-reply@help.example>",
		ReplyDomain: "help.example", Tokens: tokens, Files: files})
	if err != nil {
		t.Fatal(err)
	}
	f.con.opt.Desk = desk
	role := escalation.AgentRoleAgent
	if admin {
		role = escalation.AgentRoleAdmin
	}
	inv := f.invite(testEmail, "Léa", role)
	if _, err := f.store.SetAgentPassword(context.Background(), inv.SetupToken, testPassword); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	home := b.signIn(testEmail, testPassword)
	return &deskFixture{fixture: f, desk: desk, b: b, csrf: csrfOf(t, home.body)}
}

// pngBytes is enough of a PNG for the type sniffer.
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 64)...)

// ticket opens a ticket from a bubble conversation: the visitor's
// question, the bot's answer (JSON, as the widget stores it), then the
// ticket's message with a screenshot.
func (f *deskFixture) ticket(name, email, topic, message string) escalation.CreatedTicket {
	f.t.Helper()
	ctx := context.Background()
	conv, token, err := f.store.CreateConversation(ctx, "fr", "https://shop.example")
	if err != nil {
		f.t.Fatal(err)
	}
	for _, m := range []escalation.NewMessage{
		{ConversationID: conv.ID, Role: escalation.RoleVisitor, ClientID: "q1", Kind: "text", Body: "Question : " + message},
		{ConversationID: conv.ID, Role: escalation.RoleBot, ReplyTo: 1, Kind: "answer",
			Body: `{"kind":"answer","text":"Réponse ` + jsonText(message) + `","quote":"Passage ` + jsonText(message) +
				`","article":{"title":"Article ` + jsonText(message) + `","url":"javascript:alert(1)"}}`},
	} {
		if _, _, err := f.store.AppendMessage(ctx, m); err != nil {
			f.t.Fatal(err)
		}
	}
	tk, err := f.desk.CreateTicket(ctx, escalation.NewTicket{ConversationToken: token, Lang: "fr", Topic: topic,
		Email: email, Name: name, Message: message,
		Attachments: []escalation.NewAttachment{{Name: "écran " + message + ".png", Data: pngBytes}}})
	if err != nil {
		f.t.Fatal(err)
	}
	return tk
}

// jsonText escapes s for a JSON string literal.
func jsonText(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// outbox returns the kinds, text and HTML bodies of a conversation's mails.
func (f *deskFixture) outbox(convID int64) []escalation.OutboxMail {
	f.t.Helper()
	var out []escalation.OutboxMail
	mails, err := f.store.OutboxMails(context.Background(), 0, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, m := range mails {
		if m.ConversationID == convID {
			out = append(out, m)
		}
	}
	return out
}

func TestTicketListsFilterByStatusAndTopic(t *testing.T) {
	f := newDeskFixture(t, Options{DefaultLang: "fr"}, false)
	billing := f.ticket("Ana Lima", "ana@example.org", "billing", "Facture de mars en double")
	bug := f.ticket("Bob", "bob@example.org", "bug", "Le bouton ne répond pas")
	if _, err := f.store.SetTicketStatus(context.Background(), bug.Ref, escalation.StatusSolved); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		url     string
		want    []string
		notWant []string
	}{
		{"open tickets by default, with their counts", "/console/tickets?lang=fr",
			[]string{"#" + billing.Ref, "ana@example.org", "Ana Lima", "Facturation", "billing", "Ouvertes <span class=\"count\">1</span>",
				"Résolues <span class=\"count\">1</span>"},
			[]string{"#" + bug.Ref}},
		{"solved tickets", "/console/tickets?lang=fr&status=solved", []string{"#" + bug.Ref, "résolue"}, []string{"#" + billing.Ref}},
		{"one topic", "/console/tickets?lang=fr&status=solved&topic=billing", []string{"Aucune demande ici."}, []string{"#" + bug.Ref}},
		{"an unknown status lists the open ones", "/console/tickets?lang=en&status=closed", []string{"#" + billing.Ref, "Billing"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.b.get(tt.url)
			if res.status != http.StatusOK {
				t.Fatalf("got %d, want 200", res.status)
			}
			for _, want := range tt.want {
				if !strings.Contains(res.body, want) {
					t.Errorf("want %q in %s", want, res.body)
				}
			}
			for _, not := range tt.notWant {
				if strings.Contains(res.body, not) {
					t.Errorf("want no %q in %s", not, res.body)
				}
			}
		})
	}
}

func TestTicketPageShowsTheThreadAndTheReplyGoesByMail(t *testing.T) {
	f := newDeskFixture(t, Options{DefaultLang: "fr"}, false)
	tk := f.ticket("Ana", "ana@example.org", "billing", "Facture de mars en double")
	page := f.b.get("/console/tickets/" + strings.ToLower(tk.Ref) + "?lang=fr")
	for _, want := range []string{"#" + tk.Ref, "Question : Facture de mars en double", "Réponse Facture de mars en double",
		"<blockquote>Passage Facture de mars en double</blockquote>", "formulaire de demande", "/console/attachments/",
		`download>écran Facture de mars en double.png</a>`, "Répondre par e-mail", "Note interne"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("ticket page: want %q in %s", want, page.body)
		}
	}
	if strings.Contains(page.body, "javascript:") {
		t.Errorf("the bot's article link kept a javascript: URL: %s", page.body)
	}

	res := f.b.post("/console/tickets/"+tk.Ref+"/reply?lang=fr", url.Values{"csrf": {f.csrf}, "text": {"Nous avons annulé le doublon."}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/tickets/"+tk.Ref+"?sent=1&lang=fr" {
		t.Fatalf("reply: got %d %q, want 303 back to the ticket", res.status, res.header.Get("Location"))
	}
	var reply *escalation.OutboxMail
	for _, m := range f.outbox(tk.ConversationID) {
		if m.Kind == "agent_reply" {
			reply = &m
		}
	}
	if reply == nil || !strings.Contains(reply.Text, "Nous avons annulé le doublon.") || !strings.Contains(reply.Text, "Léa, Bulle") ||
		!strings.Contains(reply.To, "ana@example.org") {
		t.Fatalf("the agent reply in the outbox: got %+v", reply)
	}
	page = f.b.get("/console/tickets/" + tk.Ref + "?sent=1&lang=fr")
	for _, want := range []string{"Réponse envoyée", "Nous avons annulé le doublon.", "réponse par e-mail", "en attente du visiteur"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("after the reply: want %q in %s", want, page.body)
		}
	}

	res = f.b.post("/console/tickets/"+tk.Ref+"/status?lang=fr", url.Values{"csrf": {f.csrf}, "status": {"solved"}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("status: got %d, want 303", res.status)
	}
	if got, _ := f.store.TicketByRef(context.Background(), tk.Ref); got.Status != escalation.StatusSolved {
		t.Errorf("status after the post: got %q, want solved", got.Status)
	}

	tests := []struct {
		name       string
		path       string
		form       url.Values
		wantStatus int
		wantText   string
	}{
		{"an empty reply", "/console/tickets/" + tk.Ref + "/reply?lang=fr", url.Values{"text": {"  "}}, 422, "de 1 à 10 000 caractères"},
		{"a reply to an unknown ticket", "/console/tickets/ZZZ-0000/reply?lang=fr", url.Values{"text": {"Bonjour"}}, 404, "Introuvable"},
		{"a status tickets do not have", "/console/tickets/" + tk.Ref + "/status?lang=fr", url.Values{"status": {"closed"}}, 422, "Refusé"},
		{"an unknown ticket's page", "/console/tickets/ZZZ-0000?lang=fr", nil, 404, "Introuvable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res response
			if tt.form != nil {
				tt.form.Set("csrf", f.csrf)
				res = f.b.post(tt.path, tt.form)
			} else {
				res = f.b.get(tt.path)
			}
			if res.status != tt.wantStatus || !strings.Contains(res.body, tt.wantText) {
				t.Errorf("got %d, want %d with %q; body %s", res.status, tt.wantStatus, tt.wantText, res.body)
			}
		})
	}
}

func TestDeskFormsAndPagesNeedASessionAndItsCSRFToken(t *testing.T) {
	f := newDeskFixture(t, Options{DefaultLang: "en"}, true)
	tk := f.ticket("Ana", "ana@example.org", "bug", "Ça plante")
	posts := []string{"/console/tickets/" + tk.Ref + "/reply", "/console/tickets/" + tk.Ref + "/status",
		"/console/tickets/" + tk.Ref + "/notes", "/console/conversations/1/notes", "/console/canned",
		"/console/canned/1", "/console/canned/1/delete"}
	for _, path := range posts {
		t.Run("post "+path+" without the token", func(t *testing.T) {
			res := f.b.post(path, url.Values{"text": {"x"}, "status": {"solved"}, "body": {"x"}})
			if res.status != http.StatusForbidden || !strings.Contains(res.body, "The form expired") {
				t.Errorf("got %d, want 403 and the reload notice", res.status)
			}
		})
		t.Run("post "+path+" from another site", func(t *testing.T) {
			b := *f.b
			b.origin = "https://evil.example"
			if res := b.post(path, url.Values{"csrf": {f.csrf}, "text": {"x"}, "body": {"x"}}); res.status != http.StatusForbidden {
				t.Errorf("got %d, want 403", res.status)
			}
		})
	}
	out := f.browser()
	for _, path := range []string{"/console/tickets", "/console/tickets/" + tk.Ref, "/console/conversations/1",
		"/console/search?q=x", "/console/canned", "/console/attachments/1"} {
		t.Run("get "+path+" signed out", func(t *testing.T) {
			res := out.get(path)
			if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/console/login") {
				t.Errorf("got %d %q, want 303 to sign in", res.status, res.header.Get("Location"))
			}
		})
	}
	if got, _ := f.store.TicketByRef(context.Background(), tk.Ref); got.Status != escalation.StatusOpen {
		t.Errorf("the refused posts changed the ticket: status %q", got.Status)
	}
}

// unescaped finds hostile markup that reached a page as markup.
var unescaped = regexp.MustCompile(`<script>alert|<img`)

func TestDeskPagesShowHostileTextAsText(t *testing.T) {
	f := newDeskFixture(t, Options{DefaultLang: "en"}, true)
	tk := f.ticket("Ana "+hostile, "ana@example.org", "billing", "Bonjour "+hostile)
	ctx := context.Background()
	agent, err := f.store.AgentByEmail(ctx, testEmail)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.desk.AgentReply(ctx, agent, tk.Ref, "Réponse "+hostile); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.AddAgentNote(ctx, agent.ID, tk.ConversationID, "Note "+hostile); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.CreateCannedResponse(ctx, agent.ID, escalation.CannedInput{Title: "Titre " + hostile, Lang: "fr",
		Body: "Texte " + hostile}); err != nil {
		t.Fatal(err)
	}
	chat, _, err := f.store.CreateConversation(ctx, "en", "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.store.AppendMessage(ctx, escalation.NewMessage{ConversationID: chat.ID, Role: escalation.RoleVisitor,
		ClientID: "c1", Kind: "text", Body: "Chat " + hostile}); err != nil {
		t.Fatal(err)
	}
	pages := []string{"/console/tickets?status=pending", "/console/tickets/" + tk.Ref, "/console/conversations/" + itoa(chat.ID),
		"/console/search?q=alert", "/console/search?q=ana@example.org", "/console/canned", "/console/canned/1"}
	for _, path := range pages {
		t.Run(path, func(t *testing.T) {
			res := f.b.get(path)
			if res.status != http.StatusOK {
				t.Fatalf("got %d, want 200: %s", res.status, res.body)
			}
			if m := unescaped.FindString(res.body); m != "" {
				t.Errorf("markup %q reached the page: %s", m, res.body)
			}
			if !strings.Contains(res.body, "&lt;script&gt;alert(") && !strings.Contains(res.body, "&lt;script&gt;alert&#40;") {
				t.Errorf("want the hostile text shown, escaped, in %s", res.body)
			}
			for _, inline := range []string{"<script>", "<style", " style=", " onclick=", " onload=", "javascript:"} {
				if strings.Contains(res.body, inline) {
					t.Errorf("page has inline code %q", inline)
				}
			}
			if csp := res.header.Get("Content-Security-Policy"); csp != contentSecurityPolicy {
				t.Errorf("CSP: got %q", csp)
			}
		})
	}
	for _, m := range f.outbox(tk.ConversationID) {
		if unescaped.MatchString(m.HTML) {
			t.Errorf("the %s mail's HTML carries the markup: %s", m.Kind, m.HTML)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
