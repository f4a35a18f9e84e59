package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

// chatWithFiles opens a ticket with a screenshot named after message on a
// bubble conversation (deskFixture.ticket), then queues that conversation
// for live chat, as a visitor who filled the form then asked for a person.
func (f *deskFixture) chatWithFiles(message string) escalation.CreatedTicket {
	f.t.Helper()
	tk := f.ticket("Zoé", "zoe@example.org", "billing", message)
	if _, err := f.store.EnqueueChat(context.Background(), tk.ConversationID, "https://shop.example/panier", "billing/invoice"); err != nil {
		f.t.Fatal(err)
	}
	return tk
}

func TestChatPageShowsTheVisitorsFilesAsDownloads(t *testing.T) {
	f := newDeskFixture(t, Options{DefaultLang: "fr"}, false)
	tk := f.chatWithFiles(hostile)
	files, err := f.store.ConversationAttachments(context.Background(), tk.ConversationID)
	if err != nil || len(files) != 1 {
		t.Fatalf("got %v, %v; want one attachment", files, err)
	}
	page := f.b.get("/console/chats/" + itoa(tk.ConversationID) + "?lang=fr")
	if page.status != http.StatusOK {
		t.Fatalf("chat page: got %d, want 200: %s", page.status, page.body)
	}
	link := `<a href="/console/attachments/` + itoa(files[0].ID) + `" download>`
	if n := strings.Count(page.body, link); n != 2 {
		t.Errorf("download links: got %d, want 2 (the facts and the message that carried it): %s", n, page.body)
	}
	for _, want := range []string{"Fichiers de la conversation :", "&lt;script&gt;alert(", "&lt;img src=x onerror=alert(1)&gt;", " B</span>"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("chat page: want %q in %s", want, page.body)
		}
	}
	for _, bad := range []string{"<script>alert", "<img src=x"} {
		if strings.Contains(page.body, bad) {
			t.Errorf("chat page: got %q unescaped", bad)
		}
	}
	if res := f.b.get("/console/attachments/" + itoa(files[0].ID)); res.status != http.StatusOK ||
		!strings.HasPrefix(res.header.Get("Content-Disposition"), "attachment;") {
		t.Errorf("the link: got %d %v, want the file as a download", res.status, res.header)
	}
}

func TestChatPageNotesAreForAgentsOnly(t *testing.T) {
	f := newDeskFixture(t, Options{DefaultLang: "fr"}, false)
	ctx := context.Background()
	tk := f.chatWithFiles("Facture en double")
	convID := tk.ConversationID
	bubble := f.con.hub.Subscribe(convID)
	defer bubble.Close()
	notesURL := "/console/chats/" + itoa(convID) + "/notes?lang=fr"

	// A chat another agent held and ended: not this agent's to read.
	bo := f.agentNamed("bo@team.example", "Bo")
	ended, _, err := f.store.CreateConversation(ctx, "fr", "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() (escalation.ChatChange, error){
		func() (escalation.ChatChange, error) { return f.store.EnqueueChat(ctx, ended.ID, "", "") },
		func() (escalation.ChatChange, error) { return f.store.ClaimChat(ctx, ended.ID, bo.ID) },
		func() (escalation.ChatChange, error) { return f.store.CloseChat(ctx, ended.ID, bo.ID) },
	} {
		if _, err := step(); err != nil {
			t.Fatal(err)
		}
	}
	noChat, _, err := f.store.CreateConversation(ctx, "fr", "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	other := *f.b
	other.origin = "https://evil.example"
	signedOut := f.browser()

	const note = `Rappelée : <b>remboursement</b> validé <img src=x onerror=alert(1)>`
	tests := []struct {
		name       string
		b          *browser
		path       string
		form       url.Values
		json       bool
		wantStatus int
		wantIn     string // in the Location, or the body
		stored     bool
	}{
		{"a note from the page's form", f.b, notesURL, url.Values{"csrf": {f.csrf}, "body": {note}}, false,
			http.StatusSeeOther, "/console/chats/" + itoa(convID) + "?noted=1&lang=fr#notes", true},
		{"a note from chat.js", f.b, notesURL, url.Values{"csrf": {f.csrf}, "body": {"  Client fidèle  "}}, true,
			http.StatusCreated, `"body":"Client fidèle"`, true},
		{"an empty note, from the form", f.b, notesURL, url.Values{"csrf": {f.csrf}, "body": {"  "}}, false,
			http.StatusUnprocessableEntity, "note", false},
		{"an empty note, from chat.js", f.b, notesURL, url.Values{"csrf": {f.csrf}, "body": {""}}, true,
			http.StatusUnprocessableEntity, `"error":"invalid"`, false},
		{"a note too long", f.b, notesURL, url.Values{"csrf": {f.csrf}, "body": {strings.Repeat("é", 10_001)}}, true,
			http.StatusUnprocessableEntity, `"error":"invalid"`, false},
		{"without the CSRF token", f.b, notesURL, url.Values{"body": {"sans jeton"}}, false, http.StatusForbidden, "", false},
		{"with another session's token", f.b, notesURL, url.Values{"csrf": {sessionCSRF(randomToken())}, "body": {"autre"}}, true,
			http.StatusForbidden, "", false},
		{"from another site", &other, notesURL, url.Values{"csrf": {f.csrf}, "body": {"d'ailleurs"}}, false,
			http.StatusForbidden, "", false},
		{"signed out", signedOut, notesURL, url.Values{"csrf": {f.csrf}, "body": {"anonyme"}}, false,
			http.StatusSeeOther, "/console/login", false},
		{"a chat another agent ended", f.b, "/console/chats/" + itoa(ended.ID) + "/notes", url.Values{"csrf": {f.csrf}, "body": {"x"}}, true,
			http.StatusNotFound, `"error":"not_found"`, false},
		{"a conversation without a chat", f.b, "/console/chats/" + itoa(noChat.ID) + "/notes", url.Values{"csrf": {f.csrf}, "body": {"x"}}, false,
			http.StatusNotFound, "", false},
		{"an id that is not a number", f.b, "/console/chats/abc/notes", url.Values{"csrf": {f.csrf}, "body": {"x"}}, true,
			http.StatusNotFound, `"error":"not_found"`, false},
	}
	stored := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.b.header = http.Header{}
			if tt.json {
				tt.b.header.Set("Accept", "application/json")
			}
			defer func() { tt.b.header = http.Header{} }()
			res := tt.b.post(tt.path, tt.form)
			if res.status != tt.wantStatus {
				t.Errorf("got %d, want %d: %s", res.status, tt.wantStatus, res.body)
			}
			if got := res.header.Get("Location") + res.body; !strings.Contains(got, tt.wantIn) {
				t.Errorf("got %q, want %q in it", got, tt.wantIn)
			}
			if tt.json && res.status != http.StatusForbidden && !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type: got %q, want JSON", res.header.Get("Content-Type"))
			}
			if tt.stored {
				stored++
			}
			notes, err := f.store.AgentNotes(ctx, convID)
			if err != nil {
				t.Fatal(err)
			}
			if len(notes) != stored {
				t.Errorf("notes stored: got %d, want %d", len(notes), stored)
			}
		})
	}

	t.Run("chat.js gets the note with its author and time", func(t *testing.T) {
		f.b.header = http.Header{"Accept": {"application/json"}}
		defer func() { f.b.header = http.Header{} }()
		res := f.b.post(notesURL, url.Values{"csrf": {f.csrf}, "body": {"<script>alert(1)</script>"}})
		var n noteJSON
		if err := json.Unmarshal([]byte(res.body), &n); err != nil {
			t.Fatalf("body %q: %v", res.body, err)
		}
		if n.ID == 0 || n.Agent != "Léa" || n.Body != "<script>alert(1)</script>" || n.CreatedAt.IsZero() {
			t.Errorf("got %+v, want the note by Léa", n)
		}
		if strings.Contains(res.body, "<script>") {
			t.Errorf("JSON body %q: want < escaped", res.body)
		}
	})

	page := f.b.get("/console/chats/" + itoa(convID) + "?noted=1&lang=fr")
	for _, want := range []string{
		`<p id="notice" class="notice" role="status">Note ajoutée.</p>`,
		`<span class="who">Léa</span>`,
		`Rappelée : &lt;b&gt;remboursement&lt;/b&gt; validé &lt;img src=x onerror=alert(1)&gt;`,
		`<form id="note-form" method="post" action="/console/chats/` + itoa(convID) + `/notes?lang=fr">`,
		`<input type="hidden" name="csrf" value="` + f.csrf + `">`,
		`Visible des agents seulement : jamais du visiteur.`,
		`<span class="count" id="notes-count">3</span>`,
	} {
		if !strings.Contains(page.body, want) {
			t.Errorf("chat page: want %s in %s", want, page.body)
		}
	}
	for _, bad := range []string{"<b>remboursement", "<img src=x", "<script>alert"} {
		if strings.Contains(page.body, bad) {
			t.Errorf("chat page: got %q unescaped", bad)
		}
	}

	// What the visitor sees is the conversation's messages: no note is one,
	// and no note woke the bubble.
	msgs, err := f.store.MessagesAfter(ctx, convID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		for _, text := range []string{"Rappelée", "Client fidèle", "alert(1)</script>"} {
			if strings.Contains(m.Body, text) {
				t.Errorf("the note %q became message %d, which the bubble replays", text, m.Seq)
			}
		}
	}
	select {
	case ev := <-bubble.C():
		t.Errorf("bubble: got %+v, want no event for a note", ev)
	case <-time.After(100 * time.Millisecond):
	}
}
