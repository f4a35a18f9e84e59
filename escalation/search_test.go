package escalation

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// searchFixture is a store with a few conversations at known times:
//
//	anaTicket  2026-03-02 09:00 UTC, ticket for Ana@Example.org, about a password
//	bobChat    2026-03-02 14:30 UTC, a bubble conversation vouched for bob@example.org, about an invoice
//	noted      2026-03-03 10:00 UTC, a bubble conversation with an internal note
type searchFixture struct {
	s                          *Store
	anaTicket                  Ticket
	anaConv, bobConv, notedCnv int64
}

func newSearchFixture(t *testing.T) searchFixture {
	t.Helper()
	d, s := newTestDesk(t)
	ctx := context.Background()
	c := &clock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	s.Now = c.Now
	var f searchFixture
	f.s = s
	tk, err := d.CreateTicket(ctx, NewTicket{Lang: "fr", Topic: "account", Email: "Ana@Example.org", Name: "Ana",
		Message: "Je n'arrive pas à réinitialiser mon mot de passe depuis mardi."})
	if err != nil {
		t.Fatal(err)
	}
	f.anaTicket, f.anaConv = tk.Ticket, tk.ConversationID

	c.now = time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)
	bob, _ := newConversation(t, s)
	f.bobConv = bob.ID
	if _, err := s.write.Exec(`UPDATE conversations SET identity_email = 'bob@example.org', identity_expires_at = '2099-01-01T00:00:00Z' WHERE id = ?`, bob.ID); err != nil {
		t.Fatal(err)
	}
	appendMsg(t, s, NewMessage{ConversationID: bob.ID, Role: RoleVisitor, ClientID: "b1", Kind: "text", Body: "Où est ma facture de février ?"})
	c.advance(30 * time.Second)
	appendMsg(t, s, NewMessage{ConversationID: bob.ID, Role: RoleBot, ReplyTo: 1, Kind: "answer",
		Body: `{"kind":"answer","text":"Voici ce que dit le centre d'aide :","quote":"Ouvrez Facturation, puis Factures.","article":{"title":"Télécharger une facture","url":"/fr/billing/invoice"}}`})

	c.now = time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	noted, _ := newConversation(t, s)
	f.notedCnv = noted.ID
	appendMsg(t, s, NewMessage{ConversationID: noted.ID, Role: RoleVisitor, ClientID: "n1", Kind: "text", Body: "bonjour, une question"})
	agent := addTestAgent(t, s, "Léa")
	if _, err := s.AddAgentNote(ctx, agent.ID, noted.ID, "Client grossiste, remise exceptionnelle accordée"); err != nil {
		t.Fatal(err)
	}
	return f
}

func utcAt(day, hour, min int) time.Time { return time.Date(2026, 3, day, hour, min, 0, 0, time.UTC) }

func TestSearchFindsConversationsByReferenceEmailTextAndTime(t *testing.T) {
	f := newSearchFixture(t)
	ctx := context.Background()
	tests := []struct {
		name     string
		q        SearchQuery
		wantMode SearchMode
		want     []int64
	}{
		{"a reference, exactly", SearchQuery{Text: f.anaTicket.Ref}, SearchRef, []int64{f.anaConv}},
		{"a reference in lower case with #", SearchQuery{Text: "#" + strings.ToLower(f.anaTicket.Ref)}, SearchRef, []int64{f.anaConv}},
		{"a ticket's address in another case", SearchQuery{Text: "ana@EXAMPLE.org"}, SearchEmail, []int64{f.anaConv}},
		{"an address the site vouched for", SearchQuery{Text: "bob@example.org"}, SearchEmail, []int64{f.bobConv}},
		{"part of an address finds nothing", SearchQuery{Text: "ana@example"}, SearchEmail, nil},
		{"words without their accents", SearchQuery{Text: "reinitialiser mot"}, SearchText, []int64{f.anaConv}},
		{"a prefix", SearchQuery{Text: "réinit"}, SearchText, []int64{f.anaConv}},
		{"a quoted phrase", SearchQuery{Text: `"mot de passe"`}, SearchText, []int64{f.anaConv}},
		{"words in another order are no phrase", SearchQuery{Text: `"passe de mot"`}, SearchText, nil},
		{"every word must match", SearchQuery{Text: "facture mot"}, SearchText, nil},
		{"the bot's quote and article", SearchQuery{Text: "télécharger factures"}, SearchText, []int64{f.bobConv}},
		{"not the JSON of bot messages", SearchQuery{Text: "article url"}, SearchText, nil},
		{"an internal note", SearchQuery{Text: "grossiste"}, SearchText, []int64{f.notedCnv}},
		{"FTS syntax is taken as words", SearchQuery{Text: `facture OR "NEAR( -mot* AND`}, SearchText, nil},
		{"words within a day", SearchQuery{Text: "facture", From: utcAt(2, 0, 0), To: utcAt(3, 0, 0)}, SearchText, []int64{f.bobConv}},
		{"words outside the window", SearchQuery{Text: "facture", From: utcAt(3, 0, 0)}, SearchText, nil},
		{"date and time alone, the latest first", SearchQuery{From: utcAt(2, 0, 0)}, SearchTime, []int64{f.notedCnv, f.bobConv, f.anaConv}},
		{"the minute of the exchange", SearchQuery{From: utcAt(2, 14, 30), To: utcAt(2, 14, 31)}, SearchTime, []int64{f.bobConv}},
		{"the minute before", SearchQuery{From: utcAt(2, 14, 29), To: utcAt(2, 14, 30)}, SearchTime, nil},
		{"an address within a window", SearchQuery{Text: "ana@example.org", From: utcAt(3, 0, 0)}, SearchEmail, nil},
		{"punctuation alone with dates searches the dates", SearchQuery{Text: "?!", To: utcAt(2, 10, 0)}, SearchTime, []int64{f.anaConv}},
		{"nothing to look for", SearchQuery{}, SearchNone, nil},
		{"a reference no ticket has is searched as words", SearchQuery{Text: "ZZZ-0000"}, SearchText, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.s.Search(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, h := range res.Hits {
				got = append(got, h.ID)
			}
			if res.Mode != tt.wantMode || fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %s %v, want %s %v", res.Mode, got, tt.wantMode, tt.want)
			}
		})
	}
}

func TestSearchHitsSayWhatMatchedAndWhose(t *testing.T) {
	f := newSearchFixture(t)
	ctx := context.Background()
	res, err := f.s.Search(ctx, SearchQuery{Text: "mot passe"})
	if err != nil || len(res.Hits) != 1 {
		t.Fatalf("got %+v, %v; want one hit", res, err)
	}
	h := res.Hits[0]
	if h.Ticket == nil || h.Ticket.Ref != f.anaTicket.Ref || h.Email != "Ana@Example.org" || h.Role != RoleVisitor || h.Seq != 1 {
		t.Errorf("hit: got %+v", h)
	}
	var marked []string
	for _, p := range h.Snippet {
		if p.Match {
			marked = append(marked, p.Text)
		}
	}
	if strings.Join(marked, ",") != "mot,passe" {
		t.Errorf("marked words: got %q in %+v, want mot and passe", marked, h.Snippet)
	}

	res, err = f.s.Search(ctx, SearchQuery{Text: "remise"})
	if err != nil || len(res.Hits) != 1 || !res.Hits[0].InNote || res.Hits[0].Seq != 0 {
		t.Errorf("a note's hit: got %+v, %v", res, err)
	}
	res, err = f.s.Search(ctx, SearchQuery{Text: "bob@example.org"})
	if err != nil || len(res.Hits) != 1 {
		t.Fatalf("got %+v, %v", res, err)
	}
	if h := res.Hits[0]; h.Email != "bob@example.org" || h.Ticket != nil || h.Snippet[0].Text != "Où est ma facture de février ?" ||
		!h.At.Equal(time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)) || h.Matches != 2 {
		t.Errorf("an address hit shows the visitor's first message: got %+v", h)
	}
	if _, err := f.s.Search(ctx, SearchQuery{From: utcAt(3, 0, 0), To: utcAt(2, 0, 0)}); ErrorCode(err) != EINVALID {
		t.Errorf("a window that ends before it starts: got %v, want invalid", err)
	}
}

func TestSearchPages(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	for i := range 5 {
		c, _ := newConversation(t, s)
		appendMsg(t, s, NewMessage{ConversationID: c.ID, Role: RoleVisitor, ClientID: "m", Kind: "text", Body: fmt.Sprintf("livraison numéro %d", i)})
	}
	seen := map[int64]bool{}
	for page := 0; ; page++ {
		res, err := s.Search(ctx, SearchQuery{Text: "livraison", Limit: 2, Offset: page * 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range res.Hits {
			if seen[h.ID] {
				t.Errorf("conversation %d on two pages", h.ID)
			}
			seen[h.ID] = true
		}
		if wantMore := page < 2; res.More != wantMore {
			t.Errorf("page %d: More %v, want %v", page, res.More, wantMore)
		}
		if !res.More {
			break
		}
	}
	if len(seen) != 5 {
		t.Errorf("got %d conversations over the pages, want 5", len(seen))
	}
}

func TestFTSQuery(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Réinitialiser mot", "réinitialiser* mot*"},
		{`"mot de passe" oublié`, `"mot de passe" oublié*`},
		{"a OR b AND NOT c", "a or b and* not* c"},
		{"K7Q-4821", "k7q* 4821*"},
		{`"`, ""},
		{"n'arrive", "n arrive*"},
		{"-*()", ""},
	}
	for _, tt := range tests {
		if got := ftsQuery(tt.in); got != tt.want {
			t.Errorf("ftsQuery(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMigrationIndexesTheMessagesStoredBeforeIt(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c, _ := newConversation(t, s)
	appendMsg(t, s, NewMessage{ConversationID: c.ID, Role: RoleVisitor, ClientID: "m", Kind: "text", Body: "colis jamais arrivé"})
	appendMsg(t, s, NewMessage{ConversationID: c.ID, Role: RoleBot, ReplyTo: 1, Kind: "answer", Body: `{"text":"Suivez votre envoi"}`})
	// Back to the database as migration 011 left it, messages included.
	for _, q := range []string{
		`DROP TRIGGER message_search_insert`, `DROP TRIGGER message_search_delete`,
		`DROP TABLE message_search`, `DROP TABLE agent_note_search`, `DROP TABLE agent_notes`, `DROP TABLE canned_responses`,
		`DROP INDEX tickets_status`, `DROP INDEX tickets_topic`, `DROP INDEX tickets_email_lower`,
		`DROP INDEX conversations_identity_email`, `DROP INDEX messages_created`,
		`DELETE FROM migrations WHERE name = 'migrations/012_console.sql'`,
	} {
		if _, err := s.write.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := s.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, words := range []string{"colis arrive", "envoi"} {
		res, err := s.Search(ctx, SearchQuery{Text: words})
		if err != nil || len(res.Hits) != 1 {
			t.Errorf("%q: got %+v, %v; want the earlier conversation", words, res.Hits, err)
		}
	}
}
