package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

func TestSearchPageReadsDatesInTheHoursZone(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	f := newDeskFixture(t, Options{DefaultLang: "fr", Zone: func() *time.Location { return paris }}, false)
	ctx := context.Background()
	// The exchange happened at 13:30 UTC, 14:30 in Paris: what the
	// visitor says when asked "la date et l'heure de votre échange".
	at := time.Date(2026, 3, 2, 13, 30, 0, 0, time.UTC)
	f.store.Now = func() time.Time { return at }
	tk := f.ticket("Ana", "ana@example.org", "billing", "Ma facture de février est fausse")
	conv, _, err := f.store.CreateConversation(ctx, "fr", "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	f.store.Now = func() time.Time { return at.Add(24 * time.Hour) }
	if _, _, err := f.store.AppendMessage(ctx, escalation.NewMessage{ConversationID: conv.ID, Role: escalation.RoleVisitor,
		ClientID: "c1", Kind: "text", Body: "Livraison en retard, colis bloqué"}); err != nil {
		t.Fatal(err)
	}
	f.store.Now = time.Now

	search := func(q url.Values) string {
		t.Helper()
		q.Set("lang", "fr")
		res := f.b.get("/console/search?" + q.Encode())
		if res.status != http.StatusOK {
			t.Fatalf("search %v: got %d: %s", q, res.status, res.body)
		}
		return res.body
	}
	ticketLink := `href="/console/tickets/` + tk.Ref + `?lang=fr"`
	convLink := `href="/console/conversations/` + itoa(conv.ID) + `?lang=fr"`
	tests := []struct {
		name    string
		q       url.Values
		want    []string
		notWant []string
	}{
		{"the form alone", url.Values{}, []string{"Heures en Europe/Paris", `type="datetime-local"`}, []string{"Aucune conversation"}},
		{"a reference", url.Values{"q": {strings.ToLower(tk.Ref)}}, []string{ticketLink, "Demande trouvée par sa référence."}, []string{convLink}},
		{"an address", url.Values{"q": {"ANA@example.org"}}, []string{ticketLink, "ana@example.org"}, []string{convLink}},
		{"words, marked", url.Values{"q": {"fevrier"}}, []string{ticketLink, "<mark>février</mark>"}, []string{convLink}},
		{"the minute in Paris time", url.Values{"from": {"2026-03-02T14:30"}, "to": {"2026-03-02T14:30"}},
			[]string{ticketLink, "02/03/2026 14:30"}, []string{convLink}},
		{"the same minute read as UTC finds nothing", url.Values{"from": {"2026-03-02T13:30"}, "to": {"2026-03-02T13:30"}},
			[]string{"Aucune conversation trouvée."}, []string{ticketLink}},
		{"words and a day", url.Values{"q": {"colis"}, "from": {"2026-03-03T00:00"}, "to": {"2026-03-03T23:59"}},
			[]string{convLink, "<mark>colis</mark>"}, []string{ticketLink}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := search(tt.q)
			for _, want := range tt.want {
				if !strings.Contains(body, want) {
					t.Errorf("want %q in %s", want, body)
				}
			}
			for _, not := range tt.notWant {
				if strings.Contains(body, not) {
					t.Errorf("want no %q in %s", not, body)
				}
			}
		})
	}
	for _, bad := range []url.Values{{"from": {"hier"}}, {"from": {"2026-03-03T10:00"}, "to": {"2026-03-02T10:00"}}} {
		if res := f.b.get("/console/search?" + bad.Encode()); res.status != http.StatusUnprocessableEntity {
			t.Errorf("search %v: got %d, want 422", bad, res.status)
		}
	}
}

func TestSearchPagePages(t *testing.T) {
	f := newDeskFixture(t, Options{DefaultLang: "en"}, false)
	ctx := context.Background()
	for range escalation.DefaultSearchPage + 1 {
		conv, _, err := f.store.CreateConversation(ctx, "en", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.store.AppendMessage(ctx, escalation.NewMessage{ConversationID: conv.ID, Role: escalation.RoleVisitor,
			ClientID: "c", Kind: "text", Body: "refund please"}); err != nil {
			t.Fatal(err)
		}
	}
	first := f.b.get("/console/search?lang=en&q=refund")
	if n := strings.Count(first.body, `<li class="hit">`); n != escalation.DefaultSearchPage || !strings.Contains(first.body, "page=2") {
		t.Errorf("first page: got %d hits, want %d and a link to page 2", n, escalation.DefaultSearchPage)
	}
	second := f.b.get("/console/search?lang=en&q=refund&page=2")
	if n := strings.Count(second.body, `<li class="hit">`); n != 1 || strings.Contains(second.body, "page=3") {
		t.Errorf("second page: got %d hits, want 1 and no next page", n)
	}
}
