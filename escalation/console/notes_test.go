package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bulle-help/bulle/escalation"
)

func TestInternalNotesAreWrittenAndShownOnlyInTheConsole(t *testing.T) {
	f := newDeskFixture(t, Options{DefaultLang: "fr"}, false)
	ctx := context.Background()
	tk := f.ticket("Ana", "ana@example.org", "billing", "Facture en double")
	res := f.b.post("/console/tickets/"+tk.Ref+"/notes?lang=fr", url.Values{"csrf": {f.csrf}, "body": {"Rappelée le 3 : remboursement validé"}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/tickets/"+tk.Ref+"?noted=1&lang=fr#notes" {
		t.Fatalf("note on a ticket: got %d %q", res.status, res.header.Get("Location"))
	}
	page := f.b.get("/console/tickets/" + tk.Ref + "?noted=1&lang=fr")
	for _, want := range []string{"Note ajoutée.", `<article class="entry note">`, "note interne", "Rappelée le 3 : remboursement validé"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("ticket page: want %q in %s", want, page.body)
		}
	}

	conv, _, err := f.store.CreateConversation(ctx, "en", "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.store.AppendMessage(ctx, escalation.NewMessage{ConversationID: conv.ID, Role: escalation.RoleVisitor,
		ClientID: "c1", Kind: "text", Body: "is anyone there?"}); err != nil {
		t.Fatal(err)
	}
	convURL := "/console/conversations/" + itoa(conv.ID)
	res = f.b.post(convURL+"/notes?lang=en", url.Values{"csrf": {f.csrf}, "body": {"Probably a reseller"}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("note on a conversation: got %d, want 303", res.status)
	}
	page = f.b.get(convURL + "?lang=en")
	for _, want := range []string{"is anyone there?", "Probably a reseller", "internal note", "Léa"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("conversation page: want %q in %s", want, page.body)
		}
	}
	msgs, err := f.store.MessagesAfter(ctx, conv.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if strings.Contains(m.Body, "reseller") {
			t.Errorf("the note became a message the bubble replays: %+v", m)
		}
	}

	if res := f.b.get("/console/conversations/" + itoa(tk.ConversationID) + "?lang=fr"); res.status != http.StatusSeeOther ||
		res.header.Get("Location") != "/console/tickets/"+tk.Ref+"?lang=fr" {
		t.Errorf("a ticket's conversation: got %d %q, want 303 to the ticket's page", res.status, res.header.Get("Location"))
	}
	tests := []struct {
		name       string
		path       string
		body       string
		wantStatus int
	}{
		{"an empty note", convURL + "/notes", " ", http.StatusUnprocessableEntity},
		{"an unknown conversation", "/console/conversations/999/notes", "note", http.StatusNotFound},
		{"a conversation id that is not a number", "/console/conversations/abc/notes", "note", http.StatusNotFound},
		{"an unknown ticket", "/console/tickets/ZZZ-0000/notes", "note", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if res := f.b.post(tt.path, url.Values{"csrf": {f.csrf}, "body": {tt.body}}); res.status != tt.wantStatus {
				t.Errorf("got %d, want %d", res.status, tt.wantStatus)
			}
		})
	}
	if res := f.b.get("/console/conversations/999"); res.status != http.StatusNotFound {
		t.Errorf("an unknown conversation's page: got %d, want 404", res.status)
	}
}

func TestAttachmentsDownloadForSignedInAgents(t *testing.T) {
	f := newDeskFixture(t, Options{DefaultLang: "fr"}, false)
	tk := f.ticket("Ana", "ana@example.org", "bug", "capture")
	files, err := f.store.ConversationAttachments(context.Background(), tk.ConversationID)
	if err != nil || len(files) != 1 {
		t.Fatalf("got %v, %v; want one attachment", files, err)
	}
	path := "/console/attachments/" + itoa(files[0].ID)
	res := f.b.get(path)
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Disposition"), "attachment;") ||
		res.header.Get("Content-Type") != "image/png" || res.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("download: got %d %v", res.status, res.header)
	}
	if res := f.b.get("/console/attachments/999"); res.status != http.StatusNotFound {
		t.Errorf("an unknown attachment: got %d, want 404", res.status)
	}
	if res := f.browser().get(path); res.status != http.StatusSeeOther {
		t.Errorf("signed out: got %d, want 303 to sign in", res.status)
	}
}
