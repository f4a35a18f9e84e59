package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bulle-help/bulle/escalation"
)

func TestCannedResponsesAreWrittenByAdminsAndInsertedIntoReplies(t *testing.T) {
	f := newDeskFixture(t, Options{DefaultLang: "fr"}, true)
	res := f.b.post("/console/canned?lang=fr", url.Values{"csrf": {f.csrf}, "title": {"Facture en double"}, "canned_lang": {"fr"},
		"body": {"Nous avons annulé la facture en double."}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/canned?saved=1&lang=fr" {
		t.Fatalf("create: got %d %q: %s", res.status, res.header.Get("Location"), res.body)
	}
	if res := f.b.post("/console/canned?lang=fr", url.Values{"csrf": {f.csrf}, "title": {"Invoice"}, "canned_lang": {"en"},
		"body": {"We cancelled the duplicate invoice."}}); res.status != http.StatusSeeOther {
		t.Fatalf("create in English: got %d", res.status)
	}
	tests := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantText   string
	}{
		{"the same title in the same language", url.Values{"title": {"Facture en double"}, "canned_lang": {"fr"}, "body": {"x"}}, 422, "conflit"},
		{"no body", url.Values{"title": {"Autre"}, "canned_lang": {"fr"}, "body": {""}}, 422, "Refusé"},
		{"a language other than fr or en", url.Values{"title": {"Autre"}, "canned_lang": {"de"}, "body": {"x"}}, 422, "Refusé"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("csrf", f.csrf)
			res := f.b.post("/console/canned?lang=fr", tt.form)
			if res.status != tt.wantStatus || !strings.Contains(res.body, tt.wantText) {
				t.Errorf("got %d, want %d with %q: %s", res.status, tt.wantStatus, tt.wantText, res.body)
			}
		})
	}
	list := f.b.get("/console/canned?lang=fr")
	for _, want := range []string{"Facture en double", "Nous avons annulé la facture en double.", "modifiée par Léa", "Modifier",
		"Nouvelle réponse type"} {
		if !strings.Contains(list.body, want) {
			t.Errorf("list: want %q in %s", want, list.body)
		}
	}
	if strings.Index(list.body, "Facture en double") > strings.Index(list.body, "Invoice") {
		t.Errorf("list: want the page's language first")
	}

	// The ticket's page offers them, the visitor's language first, and
	// inserts one without the script.
	tk := f.ticket("Ana", "ana@example.org", "billing", "Facture en double")
	page := f.b.get("/console/tickets/" + tk.Ref + "?lang=fr")
	for _, want := range []string{`<select name="canned">`, `data-body="Nous avons annulé la facture en double."`,
		`data-canned-insert`, `<script src="/console/static/canned.js?v=`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("ticket page: want %q in %s", want, page.body)
		}
	}
	if strings.Index(page.body, `label="Français"`) > strings.Index(page.body, `label="English"`) {
		t.Errorf("ticket page: want the French canned responses first for a French ticket")
	}
	res = f.b.post("/console/tickets/"+tk.Ref+"/reply?lang=fr", url.Values{"csrf": {f.csrf}, "text": {"Bonjour Ana,"},
		"canned": {"1"}, "insert": {"1"}})
	if res.status != http.StatusOK || !strings.Contains(res.body, ">Bonjour Ana,\n\nNous avons annulé la facture en double.</textarea>") {
		t.Errorf("insert without the script: got %d %s", res.status, res.body)
	}
	if got := f.outbox(tk.ConversationID); len(got) != 1 {
		t.Errorf("inserting sent mail: got %d mails, want only the confirmation", len(got))
	}
	if res := f.b.get("/console/static/canned.js"); res.status != http.StatusOK || !strings.Contains(res.body, "data-canned-insert") {
		t.Errorf("canned.js: got %d", res.status)
	}

	edit := f.b.get("/console/canned/1?lang=fr")
	if edit.status != http.StatusOK || !strings.Contains(edit.body, `value="Facture en double"`) {
		t.Fatalf("edit page: got %d %s", edit.status, edit.body)
	}
	if res := f.b.post("/console/canned/1?lang=fr", url.Values{"csrf": {f.csrf}, "title": {"Doublon"}, "canned_lang": {"fr"},
		"body": {"Texte revu."}}); res.status != http.StatusSeeOther {
		t.Errorf("update: got %d", res.status)
	}
	if cr, err := f.store.CannedResponse(context.Background(), 1); err != nil || cr.Title != "Doublon" || cr.Body != "Texte revu." {
		t.Errorf("after the update: got %+v, %v", cr, err)
	}
	if res := f.b.post("/console/canned/1/delete?lang=fr", url.Values{"csrf": {f.csrf}}); res.status != http.StatusSeeOther {
		t.Errorf("delete: got %d", res.status)
	}
	if res := f.b.get("/console/canned/1?lang=fr"); res.status != http.StatusNotFound {
		t.Errorf("a deleted response's page: got %d, want 404", res.status)
	}
}

func TestOnlyAdminsWriteCannedResponses(t *testing.T) {
	f := newDeskFixture(t, Options{DefaultLang: "en"}, false)
	admin := f.invite("boss@help.example", "Boss", "admin")
	ctx := context.Background()
	a, err := f.store.AgentByEmail(ctx, admin.Agent.Email)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.CreateCannedResponse(ctx, a.ID, cannedInput("Hello", "en", "Hello there")); err != nil {
		t.Fatal(err)
	}
	list := f.b.get("/console/canned?lang=en")
	if !strings.Contains(list.body, "Hello there") || strings.Contains(list.body, "New canned response") || strings.Contains(list.body, ">Edit<") {
		t.Errorf("an agent's list: want the responses, no forms: %s", list.body)
	}
	for _, path := range []string{"/console/canned", "/console/canned/1", "/console/canned/1/delete"} {
		res := f.b.post(path+"?lang=en", url.Values{"csrf": {f.csrf}, "title": {"x"}, "canned_lang": {"en"}, "body": {"y"}})
		if res.status != http.StatusForbidden || !strings.Contains(res.body, "Administrators only.") {
			t.Errorf("%s by an agent: got %d, want 403", path, res.status)
		}
	}
	if res := f.b.get("/console/canned/1?lang=en"); res.status != http.StatusForbidden {
		t.Errorf("the edit page for an agent: got %d, want 403", res.status)
	}
	if cr, err := f.store.CannedResponse(ctx, 1); err != nil || cr.Title != "Hello" {
		t.Errorf("the agent's posts changed it: %+v, %v", cr, err)
	}
}

func cannedInput(title, lang, body string) escalation.CannedInput {
	return escalation.CannedInput{Title: title, Lang: lang, Body: body}
}
