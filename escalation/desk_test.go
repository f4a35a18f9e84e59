package escalation

import (
	"bytes"
	"context"
	"errors"
	"net/mail"
	"regexp"
	"strings"
	"testing"
)

func newTestDesk(t testing.TB) (*Desk, *Store) {
	t.Helper()
	s := openTest(t)
	tokens, err := NewReplyTokens(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDesk(s, DeskOptions{From: "Bulle <no-reply@help.example>", ReplyDomain: "help.example", Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	return d, s
}

// queued returns the outbox rows of a conversation, oldest first.
func queued(t *testing.T, s *Store, conversationID int64) []Mail {
	t.Helper()
	rows, err := s.read.Query(`SELECT message_id, kind, from_addr, to_addr, reply_to, subject, text_body, html_body
		FROM outbox WHERE conversation_id = ? ORDER BY id`, conversationID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []Mail
	for rows.Next() {
		var m Mail
		if err := rows.Scan(&m.MessageID, &m.Kind, &m.From, &m.To, &m.ReplyTo, &m.Subject, &m.Text, &m.HTML); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestTicketFromTheBubbleKeepsTheThreadAndQueuesTheConfirmation(t *testing.T) {
	d, s := newTestDesk(t)
	ctx := context.Background()
	conv, token := newConversation(t, s)
	appendMsg(t, s, NewMessage{ConversationID: conv.ID, Role: RoleVisitor, ClientID: "c1", Kind: "text", Body: "mon mot de passe ne marche plus"})
	appendMsg(t, s, NewMessage{ConversationID: conv.ID, Role: RoleBot, ReplyTo: 1, Kind: "answer",
		Body: `{"kind":"answer","text":"Voici ce que dit le centre d'aide :","quote":"Choisissez « Mot de passe oublié ».","article":{"title":"Réinitialiser votre mot de passe","url":"/fr/password"}}`})

	got, err := d.CreateTicket(ctx, NewTicket{ConversationToken: token, Lang: "fr", Topic: "account",
		Email: "ana@example.org", Name: "Ana Lima", Message: "Le lien de réinitialisation n'arrive pas.",
		PageURL: "https://shop.example/compte"})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[A-Z][2-9][A-Z]-[0-9]{4}$`).MatchString(got.Ref) {
		t.Errorf("reference %q: want the K7Q-4821 shape", got.Ref)
	}
	if got.ConversationID != conv.ID || got.ConversationToken != "" || got.Queue != "accounts" || got.Status != StatusOpen {
		t.Errorf("ticket %+v: want it on the bubble's conversation, queue accounts, open", got)
	}
	msgs, err := s.MessagesAfter(ctx, conv.ID, 0, 0)
	if err != nil || len(msgs) != 3 || msgs[2].Kind != KindTicket || msgs[2].Role != RoleVisitor {
		t.Fatalf("thread: %+v (%v), want the bot exchange then the ticket message", msgs, err)
	}
	mails := queued(t, s, conv.ID)
	if len(mails) != 1 {
		t.Fatalf("queued %d mails, want the confirmation", len(mails))
	}
	m := mails[0]
	id, ok := d.opt.Tokens.Parse(strings.TrimSuffix(strings.TrimPrefix(m.ReplyTo, "reply+"), "@help.example"))
	if !ok || id != got.ID {
		t.Errorf("Reply-To %q does not name ticket %d", m.ReplyTo, got.ID)
	}
	if m.MessageID != got.RootMessageID || m.Kind != "confirmation" || !strings.Contains(m.To, "ana@example.org") {
		t.Errorf("confirmation headers: %+v", m)
	}
	for _, want := range []string{"[#" + got.Ref + "]", "Nous avons bien reçu"} {
		if !strings.Contains(m.Subject, want) {
			t.Errorf("subject %q lacks %q", m.Subject, want)
		}
	}
	for _, want := range []string{"Bonjour Ana Lima", "#" + got.Ref, "Compte et connexion", "Le lien de réinitialisation",
		"Vous : mon mot de passe ne marche plus", "Assistant : Voici ce que dit le centre d'aide", "(Réinitialiser votre mot de passe)"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text body lacks %q:\n%s", want, m.Text)
		}
	}
	if !strings.Contains(m.HTML, "Le lien de réinitialisation n&#39;arrive pas.") {
		t.Errorf("HTML body does not escape the visitor's text:\n%s", m.HTML)
	}

	// A second form while the ticket is open is more of the same request
	// (ticket_followup_test.go has the rest).
	again, err := d.CreateTicket(ctx, NewTicket{ConversationToken: token, Lang: "fr", Topic: "other",
		Email: "ana@example.org", Message: "Autre chose"})
	if err != nil || !again.FollowUp || again.ID != got.ID {
		t.Errorf("second form on the open ticket: got %+v (%v), want a follow-up of %s", again, err, got.Ref)
	}
}

func TestTicketFromTheContactPageStartsAConversation(t *testing.T) {
	d, s := newTestDesk(t)
	ctx := context.Background()
	got, err := d.CreateTicket(ctx, NewTicket{Lang: "en", Topic: "feature-request", Email: "bo@example.org",
		Message: "Please add dark mode <script>alert(1)</script>"})
	if err != nil {
		t.Fatal(err)
	}
	if got.ConversationToken == "" {
		t.Fatal("no conversation token for a visitor who had none")
	}
	conv, err := s.ConversationByToken(ctx, got.ConversationToken)
	if err != nil || conv.ID != got.ConversationID {
		t.Fatalf("the token opens %+v (%v), want conversation %d", conv, err, got.ConversationID)
	}
	mails := queued(t, s, got.ConversationID)
	if len(mails) != 1 {
		t.Fatalf("queued %d mails, want 1", len(mails))
	}
	m := mails[0]
	if !strings.Contains(m.Subject, "Thank you for your suggestion") || !strings.Contains(m.Text, "can't send news") ||
		strings.Contains(m.Text, "will reply") {
		t.Errorf("feature request acknowledged with a promise, or not at all:\n%s\n%s", m.Subject, m.Text)
	}
	if strings.Contains(m.HTML, "<script>") {
		t.Errorf("HTML body carries the visitor's markup unescaped")
	}
	if !strings.Contains(m.Text, "Topic: Suggest a feature") || !strings.Contains(got.Tags[0], "feature-request") {
		t.Errorf("English typography or tags: %q %v", m.Text, got.Tags)
	}
}

func TestCreateTicketRefusesBadInputAndStoresNothing(t *testing.T) {
	d, s := newTestDesk(t)
	ctx := context.Background()
	ok := NewTicket{Lang: "fr", Topic: "other", Email: "ana@example.org", Name: "Ana", Message: "Bonjour"}
	tests := []struct {
		name  string
		edit  func(*NewTicket)
		field string
	}{
		{"unknown topic", func(n *NewTicket) { n.Topic = "crypto" }, "topic"},
		{"header injection in the email", func(n *NewTicket) { n.Email = "ana@example.org\r\nBcc: all@evil.test" }, "email"},
		{"header injection in the name", func(n *NewTicket) { n.Name = "Ana\r\nBcc: all@evil.test" }, "name"},
		{"two addresses", func(n *NewTicket) { n.Email = "ana@example.org, bo@example.org" }, "email"},
		{"not an address", func(n *NewTicket) { n.Email = "ana" }, "email"},
		{"empty message", func(n *NewTicket) { n.Message = "   " }, "message"},
		{"huge message", func(n *NewTicket) { n.Message = strings.Repeat("a", maxTicketMessage+1) }, "message"},
		{"script URL", func(n *NewTicket) { n.PageURL = "javascript:alert(1)" }, "page_url"},
		{"unknown language", func(n *NewTicket) { n.Lang = "de" }, "lang"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nt := ok
			tt.edit(&nt)
			_, err := d.CreateTicket(ctx, nt)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Fatalf("got %v, want a validation error on %s", err, tt.field)
			}
		})
	}
	var n int
	if err := s.read.QueryRow(`SELECT (SELECT COUNT(*) FROM tickets) + (SELECT COUNT(*) FROM outbox)`).Scan(&n); err != nil || n != 0 {
		t.Errorf("refused tickets left %d rows (%v)", n, err)
	}
	if _, err := d.CreateTicket(ctx, NewTicket{ConversationToken: "forged", Lang: "fr", Topic: "other",
		Email: "ana@example.org", Message: "x"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("forged conversation token: got %v, want ErrNotFound", err)
	}
}

func TestAgentReplyIsStoredAndMailedInTheTicketThread(t *testing.T) {
	d, s := newTestDesk(t)
	ctx := context.Background()
	tk, err := d.CreateTicket(ctx, NewTicket{Lang: "fr", Topic: "other", Email: "ana@example.org", Name: "Ana", Message: "Bonjour"})
	if err != nil {
		t.Fatal(err)
	}
	agent, token, err := s.AddAgent(ctx, "lea@help.example", "Léa")
	if err != nil {
		t.Fatal(err)
	}
	if a, err := s.AgentByToken(ctx, token); err != nil || a.ID != agent.ID {
		t.Fatalf("AgentByToken: %+v %v", a, err)
	}
	msg, err := d.AgentReply(ctx, agent, "#"+strings.ToLower(tk.Ref), "Voici un nouveau lien.")
	if err != nil {
		t.Fatal(err)
	}
	if msg.Role != RoleAgent || msg.Kind != KindAgentReply || msg.Seq != 2 {
		t.Errorf("stored %+v, want the agent's reply as seq 2 of the conversation", msg)
	}
	mails := queued(t, s, tk.ConversationID)
	if len(mails) != 2 {
		t.Fatalf("queued %d mails, want the confirmation and the reply", len(mails))
	}
	var inReplyTo, refs string
	if err := s.read.QueryRow(`SELECT in_reply_to, refs FROM outbox WHERE message_id = ?`, mails[1].MessageID).
		Scan(&inReplyTo, &refs); err != nil {
		t.Fatal(err)
	}
	if inReplyTo != tk.RootMessageID || refs != tk.RootMessageID {
		t.Errorf("threading: In-Reply-To %q References %q, want the confirmation %q", inReplyTo, refs, tk.RootMessageID)
	}
	from, err := mail.ParseAddress(mails[1].From)
	if err != nil {
		t.Fatal(err)
	}
	if mails[1].ReplyTo != mails[0].ReplyTo || from.Name != "Léa (Bulle)" || from.Address != "no-reply@help.example" ||
		!strings.Contains(mails[1].Text, "Voici un nouveau lien.") || !strings.Contains(mails[1].Subject, tk.Ref) {
		t.Errorf("reply mail: %+v", mails[1])
	}
	after, err := s.Ticket(ctx, tk.ID)
	if err != nil || after.Status != StatusPending || after.LastMessageID != mails[1].MessageID {
		t.Errorf("ticket after the reply: %+v (%v), want pending, last mail the reply", after, err)
	}

	if _, err := d.AgentReply(ctx, agent, "AAA-0000", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown reference: got %v, want ErrNotFound", err)
	}
	var ve *ValidationError
	if _, err := d.AgentReply(ctx, agent, tk.Ref, "  "); !errors.As(err, &ve) {
		t.Errorf("empty reply: got %v, want a validation error", err)
	}
	if _, _, err := s.AddAgent(ctx, "x@help.example", "Eve\r\nBcc: all@evil.test"); !errors.As(err, &ve) {
		t.Errorf("agent name with a line break: got %v, want a validation error", err)
	}
	if _, err := s.AgentByToken(ctx, "forged"); !errors.Is(err, ErrNotFound) {
		t.Errorf("forged agent token: got %v, want ErrNotFound", err)
	}
}

func TestReplyByEmailLandsOnItsTicketOnce(t *testing.T) {
	d, s := newTestDesk(t)
	files, err := NewFiles(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	d.opt.Files = files
	ctx := context.Background()
	tk, err := d.CreateTicket(ctx, NewTicket{Lang: "fr", Topic: "bug", Email: "ana@example.org", Message: "Ça plante"})
	if err != nil {
		t.Fatal(err)
	}
	agent, _, _ := s.AddAgent(ctx, "lea@help.example", "Léa")
	if _, err := d.AgentReply(ctx, agent, tk.Ref, "Pouvez-vous envoyer une capture ?"); err != nil {
		t.Fatal(err)
	}
	reply := InboundReply{TicketID: tk.ID, From: "ana@example.org", MessageID: "<r1@mail.example.org>",
		Text: "Voici la capture.", Attachments: []InboundAttachment{
			{Name: "capture.png", ContentType: "image/png", Data: screenshotPNG},
			{Name: "setup.exe", ContentType: "application/octet-stream", Data: []byte("MZ\x90\x00\x03")},
		}}
	if err := d.DeliverReply(ctx, reply); err != nil {
		t.Fatal(err)
	}
	if err := d.DeliverReply(ctx, reply); err != nil { // the sending server retries after a lost 250
		t.Fatal(err)
	}
	msgs, err := s.MessagesAfter(ctx, tk.ConversationID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, m := range msgs {
		kinds = append(kinds, m.Kind)
	}
	if got := strings.Join(kinds, ","); got != "ticket,agent_reply,email,attachments_refused" {
		t.Fatalf("thread kinds %s, want the reply once and a note on the refused file", got)
	}
	if !strings.Contains(msgs[3].Body, "setup.exe") || msgs[2].Body != "Voici la capture." {
		t.Errorf("reply %q, note %q", msgs[2].Body, msgs[3].Body)
	}
	if a, _, err := s.AttachmentFile(ctx, tk.ConversationID, 1); err != nil || a.Seq != msgs[2].Seq || a.Name != "capture.png" {
		t.Errorf("kept attachment %+v (%v)", a, err)
	}
	after, _ := s.Ticket(ctx, tk.ID)
	if after.Status != StatusOpen || after.LastMessageID != "<r1@mail.example.org>" {
		t.Errorf("ticket after the reply: %+v, want open again, threaded on the reply", after)
	}
	// The next answer threads under the visitor's reply.
	if _, err := d.AgentReply(ctx, agent, tk.Ref, "Merci, c'est corrigé."); err != nil {
		t.Fatal(err)
	}
	var inReplyTo, refs string
	s.read.QueryRow(`SELECT in_reply_to, refs FROM outbox WHERE conversation_id = ? ORDER BY id DESC LIMIT 1`,
		tk.ConversationID).Scan(&inReplyTo, &refs)
	if inReplyTo != "<r1@mail.example.org>" || refs != tk.RootMessageID+" <r1@mail.example.org>" {
		t.Errorf("threading after a reply: In-Reply-To %q References %q", inReplyTo, refs)
	}

	if err := d.DeliverReply(ctx, InboundReply{TicketID: tk.ID + 100, Text: "x"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("reply to an unknown ticket: %v, want ErrNotFound", err)
	}
}
