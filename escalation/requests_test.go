package escalation

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

// linkIn finds the sign-in link's token in a mail.
var linkIn = regexp.MustCompile(`/requests/login\?t=([A-Za-z0-9_-]{43})`)

// magicLinks returns the sign-in mails queued so far, oldest first.
func magicLinks(t *testing.T, s *Store) []Mail {
	t.Helper()
	rows, err := s.read.Query(`SELECT to_addr, subject, text_body, html_body, reply_to FROM outbox WHERE kind = 'magic_link' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []Mail
	for rows.Next() {
		var m Mail
		if err := rows.Scan(&m.To, &m.Subject, &m.Text, &m.HTML, &m.ReplyTo); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// clock lets a test move the store's time.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) advance(d time.Duration) { c.now = c.now.Add(d) }

func TestRequestsLinkIsMailedOnlyToKnownAddressesAndWorksOnce(t *testing.T) {
	d, s := newTestDesk(t)
	ctx := context.Background()
	c := &clock{now: time.Now()}
	s.Now = c.Now
	if _, err := d.CreateTicket(ctx, NewTicket{Lang: "fr", Topic: "bug", Email: "Ana@Example.org", Message: "Ça plante"}); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"nobody@example.org", "ana@example.org"} {
		if err := d.SendRequestsLink(ctx, email, "fr", "https://help.example"); err != nil {
			t.Fatalf("%s: %v", email, err)
		}
	}
	links := magicLinks(t, s)
	if len(links) != 1 || links[0].To != "<ana@example.org>" || links[0].ReplyTo != "" {
		t.Fatalf("links mailed %+v, want one, to the address with a ticket", links)
	}
	m := linkIn.FindStringSubmatch(links[0].Text)
	if m == nil || !strings.Contains(links[0].Text, "https://help.example/requests/login?t=") ||
		!strings.Contains(links[0].Text, "20 minutes") || !strings.Contains(links[0].HTML, `href="https://help.example/requests/login?t=`) {
		t.Fatalf("mail:\n%s\n%s", links[0].Text, links[0].HTML)
	}
	token := m[1]
	hash, _ := tokenHash(token)
	var stored, clear int
	s.read.QueryRow(`SELECT COUNT(*) FROM request_links WHERE token_hash = ?`, hash).Scan(&stored)
	s.read.QueryRow(`SELECT COUNT(*) FROM request_links WHERE instr(token_hash, ?) OR instr(email, ?)`, token, token).Scan(&clear)
	if stored != 1 || clear != 0 {
		t.Errorf("link rows with the token's hash: %d, with the token in clear: %d; want 1 and 0", stored, clear)
	}

	// Looking does not use it (mail scanners fetch links); the click does.
	for range 2 {
		if lang, err := d.RequestsLinkLang(ctx, token); err != nil || lang != "fr" {
			t.Fatalf("RequestsLinkLang: %q %v", lang, err)
		}
	}
	cookie, sess, err := d.OpenRequestsSession(ctx, token)
	if err != nil || sess.Email != "ana@example.org" || cookie == "" {
		t.Fatalf("OpenRequestsSession: %+v %v", sess, err)
	}
	if _, _, err := d.OpenRequestsSession(ctx, token); !errors.Is(err, ErrNotFound) {
		t.Errorf("second use of a link: %v, want ErrNotFound", err)
	}
	if _, err := d.RequestsLinkLang(ctx, token); !errors.Is(err, ErrNotFound) {
		t.Errorf("a used link still looks good: %v", err)
	}
	if got, err := d.RequestsSession(ctx, cookie); err != nil || got.Email != "ana@example.org" {
		t.Errorf("session: %+v %v", got, err)
	}

	// A link not used in time dies.
	d.SendRequestsLink(ctx, "ana@example.org", "en", "https://help.example")
	late := linkIn.FindStringSubmatch(magicLinks(t, s)[1].Text)[1]
	c.advance(RequestsLinkTTL + time.Second)
	if _, _, err := d.OpenRequestsSession(ctx, late); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired link: %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"", "forged", strings.Repeat("A", 43)} {
		if _, _, err := d.OpenRequestsSession(ctx, bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("link %q: %v, want ErrNotFound", bad, err)
		}
	}
	var ve *ValidationError
	if err := d.SendRequestsLink(ctx, "ana@example.org\r\nBcc: x@evil.test", "fr", "https://help.example"); !errors.As(err, &ve) {
		t.Errorf("header injection: %v, want a validation error", err)
	}
	if err := d.SendRequestsLink(ctx, "ana@example.org", "fr", "javascript:alert(1)"); err == nil {
		t.Error("a link base that is not an http(s) URL was accepted")
	}
}

func TestRequestsSessionEndsWhenIdleExpiredOrSignedOut(t *testing.T) {
	d, s := newTestDesk(t)
	ctx := context.Background()
	c := &clock{now: time.Now()}
	s.Now = c.Now
	d.CreateTicket(ctx, NewTicket{Lang: "en", Topic: "bug", Email: "ana@example.org", Message: "Broken"})
	open := func() string {
		t.Helper()
		if err := d.SendRequestsLink(ctx, "ana@example.org", "en", "https://help.example"); err != nil {
			t.Fatal(err)
		}
		links := magicLinks(t, s)
		cookie, _, err := d.OpenRequestsSession(ctx, linkIn.FindStringSubmatch(links[len(links)-1].Text)[1])
		if err != nil {
			t.Fatal(err)
		}
		return cookie
	}
	alive := func(cookie string) bool {
		_, err := d.RequestsSession(ctx, cookie)
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}

	idle := open()
	c.advance(RequestsSessionIdle - time.Minute)
	if !alive(idle) {
		t.Fatal("session dead before the idle limit")
	}
	c.advance(RequestsSessionIdle - time.Minute) // used a minute ago: still alive
	if !alive(idle) {
		t.Fatal("a session in use died of idleness")
	}
	c.advance(RequestsSessionIdle)
	if alive(idle) {
		t.Error("a session unused for the idle limit is still alive")
	}

	busy := open()
	for i := 0; i < 26; i++ { // used every hour, for more than a day
		c.advance(time.Hour)
		if i < 23 && !alive(busy) {
			t.Fatalf("session dead after %d hours of use", i+1)
		}
	}
	if alive(busy) {
		t.Errorf("a session lives past %v", RequestsSessionTTL)
	}

	out := open()
	if err := d.EndRequestsSession(ctx, out); err != nil {
		t.Fatal(err)
	}
	if alive(out) {
		t.Error("a signed-out session is alive")
	}
}

func TestRequestsListOnlyTheAddressOwnTicketsAndTranscripts(t *testing.T) {
	d, s := newTestDesk(t)
	withFiles(t, d)
	ctx := context.Background()
	ana, err := d.CreateTicket(ctx, NewTicket{Lang: "fr", Topic: "billing", Email: "Ana@example.org", Message: "Ma facture <b>",
		Attachments: []NewAttachment{{Name: "facture.pdf", Data: []byte("%PDF-1.7\n1 0 obj")}}})
	if err != nil {
		t.Fatal(err)
	}
	bo, err := d.CreateTicket(ctx, NewTicket{Lang: "fr", Topic: "bug", Email: "bo@example.org", Message: "Secret de Bo",
		Attachments: []NewAttachment{{Name: "bo.png", Data: screenshotPNG}}})
	if err != nil {
		t.Fatal(err)
	}
	chat, _ := chatWithEverything(t, d, s)
	if _, err := d.SendTranscript(ctx, chat.ID, "ana@example.org", "fr", ""); err != nil {
		t.Fatal(err)
	}

	got, err := d.Requests(ctx, "ANA@example.org", "fr")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Ticket == nil || got[0].Ticket.Ref != ana.Ref || got[0].TopicLabel != "Facturation" ||
		got[1].Ticket != nil || got[1].ConversationID != chat.ID || got[1].TranscriptSentAt.IsZero() {
		t.Fatalf("requests %+v, want Ana's ticket then the chat whose transcript she got", got)
	}
	if l := got[0].Lines; len(l) != 1 || l[0].Text != "Ma facture <b>" || len(l[0].Files) != 1 || l[0].Files[0].Name != "facture.pdf" {
		t.Errorf("ticket thread %+v", l)
	}
	if l := got[1].Lines; len(l) != 5 || l[1].ArticleTitle != "Horaires <du> chat" || l[3].Who != "Léa" {
		t.Errorf("chat thread %+v", l)
	}
	for _, r := range got {
		for _, l := range r.Lines {
			if strings.Contains(l.Text, "Bo") {
				t.Errorf("Ana sees Bo's message %q", l.Text)
			}
		}
	}
	if none, err := d.Requests(ctx, "nobody@example.org", "fr"); err != nil || len(none) != 0 {
		t.Errorf("unknown address: %+v %v, want nothing", none, err)
	}

	anaFile := got[0].Lines[0].Files[0]
	boFiles, _ := s.ConversationAttachments(ctx, bo.ConversationID)
	tests := []struct {
		name  string
		email string
		id    int64
		want  error
	}{
		{"her ticket's file", "ana@example.org", anaFile.ID, nil},
		{"her transcript's file", "ana@example.org", got[1].Lines[3].Files[0].ID, nil},
		{"another's file", "ana@example.org", boFiles[0].ID, ErrNotFound},
		{"no such file", "ana@example.org", 999, ErrNotFound},
		{"another address", "bo@example.org", anaFile.ID, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, f, err := d.RequestsAttachment(ctx, tt.email, tt.id)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if err == nil {
				defer f.Close()
				if data, _ := io.ReadAll(f); a.ID != tt.id || len(data) != int(a.Size) {
					t.Errorf("file %+v, %d bytes", a, len(data))
				}
			}
		})
	}
}
