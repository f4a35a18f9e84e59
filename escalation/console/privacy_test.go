package console

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bulle-help/bulle/escalation"
)

func TestAdminsFindExportAndEraseOneAddressFromTheConsole(t *testing.T) {
	f := newDeskFixture(t, Options{DefaultLang: "fr"}, true)
	f.con.opt.Privacy = f.desk
	ctx := context.Background()
	ana := f.ticket("Ana", "Ana@Example.org", "billing", "Facture en double")
	bob := f.ticket("Bob", "bob@example.org", "billing", "Autre facture")

	if page := f.b.get("/console/privacy?lang=fr"); page.status != http.StatusOK ||
		!strings.Contains(page.body, `name="email"`) || !strings.Contains(page.body, `href="/console/privacy?lang=fr" aria-current="page"`) {
		t.Fatalf("the form: got %d %s", page.status, page.body)
	}
	found := f.b.post("/console/privacy?lang=fr", url.Values{"csrf": {f.csrf}, "email": {" ana@example.org "}})
	for _, want := range []string{"Trouvé pour ana@example.org", "1 demandes", "1 conversations (3 messages, 1 pièces jointes)",
		`action="/console/privacy/export?lang=fr"`, `name="confirm"`} {
		if !strings.Contains(found.body, want) {
			t.Errorf("lookup: want %q in %d %s", want, found.status, found.body)
		}
	}

	res := f.b.post("/console/privacy/export?lang=fr", url.Values{"csrf": {f.csrf}, "email": {"ana@example.org"}})
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Disposition"), "attachment;") ||
		res.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("export: got %d %v", res.status, res.header)
	}
	var x escalation.AddressExport
	if err := json.Unmarshal([]byte(res.body), &x); err != nil {
		t.Fatalf("export: not JSON: %v", err)
	}
	if len(x.Tickets) != 1 || x.Tickets[0].Ref != ana.Ref || len(x.Conversations) != 1 {
		t.Errorf("export: got %+v, want Ana's ticket and conversation only", x)
	}

	tests := []struct {
		name, path string
		form       url.Values
		wantStatus int
		wantText   string
	}{
		{"an address that is not one", "/console/privacy", url.Values{"email": {"pas une adresse"}}, 422, "pas valide"},
		{"erasing without typing the address again", "/console/privacy/delete", url.Values{"email": {"ana@example.org"}}, 422, "ne correspond pas"},
		{"erasing with another address typed", "/console/privacy/delete", url.Values{"email": {"ana@example.org"}, "confirm": {"bob@example.org"}}, 422, "ne correspond pas"},
		{"a form without its CSRF token", "/console/privacy/delete", url.Values{"email": {"ana@example.org"}, "confirm": {"ana@example.org"}, "csrf": {"forged"}}, 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.form.Get("csrf") == "" {
				tt.form.Set("csrf", f.csrf)
			}
			res := f.b.post(tt.path+"?lang=fr", tt.form)
			if res.status != tt.wantStatus || !strings.Contains(res.body, tt.wantText) {
				t.Errorf("got %d, want %d with %q: %s", res.status, tt.wantStatus, tt.wantText, res.body)
			}
			if _, err := f.store.TicketByRef(ctx, ana.Ref); err != nil {
				t.Errorf("a refused form erased Ana's ticket: %v", err)
			}
		})
	}

	erased := f.b.post("/console/privacy/delete?lang=fr", url.Values{"csrf": {f.csrf}, "email": {"ana@example.org"},
		"confirm": {"ANA@example.org"}})
	if erased.status != http.StatusOK || !strings.Contains(erased.body, "Effacé pour cette adresse") ||
		!strings.Contains(erased.body, "1 conversations (3 messages, 1 pièces jointes)") {
		t.Fatalf("erase: got %d %s", erased.status, erased.body)
	}
	if _, err := f.store.TicketByRef(ctx, ana.Ref); escalation.ErrorCode(err) != escalation.ENOTFOUND {
		t.Errorf("Ana's ticket after the erasure: %v, want not found", err)
	}
	if _, err := f.store.TicketByRef(ctx, bob.Ref); err != nil {
		t.Errorf("Bob's ticket went with Ana's: %v", err)
	}
	again := f.b.post("/console/privacy?lang=fr", url.Values{"csrf": {f.csrf}, "email": {"ana@example.org"}})
	if !strings.Contains(html.UnescapeString(again.body), "Rien n'est enregistré pour cette adresse.") {
		t.Errorf("lookup after the erasure: %s", again.body)
	}
}

func TestOnlyAdminsReachThePrivacyPage(t *testing.T) {
	f := newDeskFixture(t, Options{DefaultLang: "en"}, false)
	f.con.opt.Privacy = f.desk
	tk := f.ticket("Ana", "ana@example.org", "billing", "Invoice")
	if page := f.b.get("/console/privacy?lang=en"); page.status != http.StatusForbidden {
		t.Errorf("the page for an agent: got %d, want 403", page.status)
	}
	if list := f.b.get("/console/tickets?lang=en"); strings.Contains(list.body, "/console/privacy") {
		t.Errorf("an agent's menu links to the privacy page")
	}
	for _, path := range []string{"/console/privacy", "/console/privacy/export", "/console/privacy/delete"} {
		res := f.b.post(path+"?lang=en", url.Values{"csrf": {f.csrf}, "email": {"ana@example.org"}, "confirm": {"ana@example.org"}})
		if res.status != http.StatusForbidden || strings.Contains(res.body, "tickets") && strings.Contains(res.body, `"ref"`) {
			t.Errorf("%s by an agent: got %d, want 403 and no data", path, res.status)
		}
	}
	if _, err := f.store.TicketByRef(context.Background(), tk.Ref); err != nil {
		t.Errorf("an agent's post erased the ticket: %v", err)
	}
}
