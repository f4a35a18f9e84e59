package escalation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/smtp"
	"strings"
	"testing"
	"time"
)

// botAnswer is a bot decision as the widget stores it.
const botAnswer = `{"kind":"answer","lang":"fr","text":"Voici ce que dit le centre d'aide :",` +
	`"quote":"Du lundi au vendredi de 9 h à 18 h.","article":{"id":"contact/hours","title":"Horaires <du> chat",` +
	`"url":"/fr/contact/hours#nos-horaires"},"confidence":0.8}`

// chatWithEverything is a conversation with each kind of message: the
// visitor, the bot's answer, a system note, an agent's reply with a file.
func chatWithEverything(t *testing.T, d *Desk, s *Store) (Conversation, Agent) {
	t.Helper()
	ctx := context.Background()
	conv, _ := newConversation(t, s)
	appendMsg(t, s, NewMessage{ConversationID: conv.ID, Role: RoleVisitor, ClientID: "q1", Kind: "text", Body: "quels sont les horaires <b>du chat</b> ?"})
	appendMsg(t, s, NewMessage{ConversationID: conv.ID, Role: RoleBot, ReplyTo: 1, Kind: "answer", Body: botAnswer})
	appendMsg(t, s, NewMessage{ConversationID: conv.ID, Role: RoleSystem, Kind: "person_request", Body: `{"text":"Votre demande est enregistrée.","channel":"chat"}`})
	agent, _, err := s.AddAgent(ctx, "lea@help.example", "Léa")
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := appendMsg(t, s, NewMessage{ConversationID: conv.ID, Role: RoleAgent, Kind: KindAgentReply, Body: "Voici une capture."})
	if _, err := s.write.Exec(`INSERT INTO message_agents (conversation_id, seq, agent_id) VALUES (?, ?, ?)`, conv.ID, msg.Seq, agent.ID); err != nil {
		t.Fatal(err)
	}
	tx, _ := s.beginWrite(ctx)
	if _, err := d.opt.Files.attachTx(ctx, tx, conv.ID, msg.Seq, []NewAttachment{{Name: "écran.png", Data: screenshotPNG}}, s.now()); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return conv, agent
}

// withFiles gives the desk an attachments folder and a base URL.
func withFiles(t *testing.T, d *Desk) {
	t.Helper()
	files, err := NewFiles(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	d.opt.Files, d.opt.BaseURL = files, "https://help.example"
}

type threading struct{ ReplyTo, InReplyTo, Refs string }

func threadingOf(t *testing.T, s *Store, messageID string) threading {
	t.Helper()
	var th threading
	if err := s.read.QueryRow(`SELECT reply_to, in_reply_to, refs FROM outbox WHERE message_id = ?`, messageID).
		Scan(&th.ReplyTo, &th.InReplyTo, &th.Refs); err != nil {
		t.Fatal(err)
	}
	return th
}

func TestTranscriptMailCarriesTheWholeConversationInTheVisitorsLanguage(t *testing.T) {
	tests := []struct {
		lang     string
		subject  string
		wantText []string
	}{
		{"fr", "Transcription de votre conversation", []string{"Bonjour,", "Les heures sont en UTC",
			"] Vous : quels sont les horaires <b>du chat</b> ?",
			"] Assistant : Voici ce que dit le centre d'aide :", "« Du lundi au vendredi de 9 h à 18 h. »",
			"Horaires <du> chat <https://help.example/fr/contact/hours#nos-horaires>",
			"] Note : Votre demande est enregistrée.", "] Léa : Voici une capture.", "Fichier joint : écran.png",
			"répondez simplement à ce message"}},
		{"en", "Transcript of your conversation", []string{"Hello,", "Times are UTC", "] You: quels sont", "“Du lundi",
			"] Léa: Voici une capture.", "Attached file: écran.png", "just reply to this message"}},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			d, s := newTestDesk(t)
			withFiles(t, d)
			conv, _ := chatWithEverything(t, d, s)
			note, err := d.SendTranscript(context.Background(), conv.ID, " ana@example.org ", tt.lang, "")
			if err != nil {
				t.Fatal(err)
			}
			if note.Role != RoleSystem || note.Kind != KindTranscriptSent || note.Seq != 5 ||
				!strings.Contains(note.Body, "ana@example.org") {
				t.Errorf("note %+v, want a system note after the four messages, naming the address", note)
			}
			mails := queued(t, s, conv.ID)
			if len(mails) != 1 {
				t.Fatalf("queued %d mails, want the transcript", len(mails))
			}
			m := mails[0]
			if m.Kind != "transcript" || m.To != "<ana@example.org>" || m.Subject != tt.subject {
				t.Errorf("headers: kind %q to %q subject %q", m.Kind, m.To, m.Subject)
			}
			for _, want := range tt.wantText {
				if !strings.Contains(m.Text, want) {
					t.Errorf("text lacks %q:\n%s", want, m.Text)
				}
			}
			if strings.Contains(m.Text, "transcript_sent") || strings.Contains(m.Text, `{"`) {
				t.Errorf("text shows raw JSON or the note itself:\n%s", m.Text)
			}
			for _, want := range []string{"quels sont les horaires &lt;b&gt;du chat&lt;/b&gt; ?",
				`<a href="https://help.example/fr/contact/hours#nos-horaires">Horaires &lt;du&gt; chat</a>`, "écran.png"} {
				if !strings.Contains(m.HTML, want) {
					t.Errorf("HTML lacks %q:\n%s", want, m.HTML)
				}
			}
		})
	}
}

func TestTranscriptWithoutATicketRepliesToItsConversation(t *testing.T) {
	d, s := newTestDesk(t)
	withFiles(t, d)
	ctx := context.Background()
	conv, _ := chatWithEverything(t, d, s)
	if _, err := d.SendTranscript(ctx, conv.ID, "ana@example.org", "", ""); err != nil {
		t.Fatal(err)
	}
	m := queued(t, s, conv.ID)[0]
	th := threadingOf(t, s, m.MessageID)
	token := strings.TrimSuffix(strings.TrimPrefix(th.ReplyTo, "reply+"), "@help.example")
	if target, ok := d.opt.Tokens.ParseTarget(token); !ok || target.ConversationID != conv.ID || target.TicketID != 0 {
		t.Fatalf("Reply-To %q names %+v, want conversation %d", th.ReplyTo, target, conv.ID)
	}
	if th.InReplyTo != "" || th.Refs != "" {
		t.Errorf("threading %+v, want none without a ticket", th)
	}

	// An out-of-office answer opens nothing.
	if err := d.DeliverReply(ctx, InboundReply{ConversationID: conv.ID, From: "ana@example.org", MessageID: "<ooo@mail.example.org>",
		Text: "Je suis absente.", AutoSubmitted: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TicketOfConversation(ctx, conv.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an automatic reply opened a ticket (%v)", err)
	}

	// The visitor's reply opens the ticket, once.
	reply := InboundReply{ConversationID: conv.ID, From: "Ana@Example.org", MessageID: "<r1@mail.example.org>",
		Text: "Merci, mais le lien ne marche pas."}
	for range 2 { // the sending server retries after a lost 250
		if err := d.DeliverReply(ctx, reply); err != nil {
			t.Fatal(err)
		}
	}
	tk, err := s.TicketOfConversation(ctx, conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Topic != "other" || tk.Email != "Ana@Example.org" || tk.Status != StatusOpen || tk.LastMessageID != "<r1@mail.example.org>" {
		t.Errorf("ticket %+v, want topic other, the sender's address, open, threaded on the reply", tk)
	}
	msgs, _ := s.MessagesAfter(ctx, conv.ID, 5, 0)
	if len(msgs) != 1 || msgs[0].Kind != KindEmail || msgs[0].Body != "Merci, mais le lien ne marche pas." {
		t.Errorf("messages after the transcript note: %+v, want the reply once", msgs)
	}
	mails := queued(t, s, conv.ID)
	if len(mails) != 2 || mails[1].Kind != "confirmation" || !strings.Contains(mails[1].Subject, tk.Ref) ||
		!strings.Contains(mails[1].Text, "Merci, mais le lien ne marche pas.") {
		t.Fatalf("mails %+v, want the transcript then one confirmation of the new ticket", mails)
	}
	if th := threadingOf(t, s, mails[1].MessageID); th.InReplyTo != "<r1@mail.example.org>" {
		t.Errorf("confirmation threading %+v, want it to answer the reply", th)
	}

	// The next transcript joins the ticket's thread.
	if _, err := d.SendTranscript(ctx, conv.ID, "ana@example.org", "fr", ""); err != nil {
		t.Fatal(err)
	}
	mails = queued(t, s, conv.ID)
	last := mails[len(mails)-1]
	th = threadingOf(t, s, last.MessageID)
	if th.ReplyTo != d.replyAddress(tk.ID) || th.InReplyTo != "<r1@mail.example.org>" ||
		th.Refs != tk.RootMessageID+" <r1@mail.example.org>" || !strings.HasPrefix(last.Subject, "[#"+tk.Ref+"] ") ||
		!strings.Contains(last.Text, "Référence : #"+tk.Ref) {
		t.Errorf("transcript of a ticket: %+v %+v, want the ticket's reply address and thread", last, th)
	}
}

func TestConversationReplyTokensAreTheirOwnKind(t *testing.T) {
	r, err := NewReplyTokens(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewReplyTokens(bytes.Repeat([]byte{8}, 32))
	conv := r.MakeConversation(42)
	if got, ok := r.ParseTarget(conv); !ok || got != (ReplyTarget{ConversationID: 42}) {
		t.Errorf("ParseTarget(MakeConversation(42)) = %+v, %v", got, ok)
	}
	if got, ok := r.ParseTarget(strings.ToUpper(conv)); !ok || got.ConversationID != 42 {
		t.Errorf("upper case: %+v, %v", got, ok)
	}
	if got, ok := r.ParseTarget(r.Make(42)); !ok || got != (ReplyTarget{TicketID: 42}) {
		t.Errorf("a ticket token still names its ticket: got %+v, %v", got, ok)
	}
	if id, ok := r.Parse(conv); ok {
		t.Errorf("Parse took a conversation token for ticket %d", id)
	}
	flipped := []byte(conv)
	flipped[len(flipped)-1] ^= 1
	raw, _ := tokenEncoding.DecodeString(strings.ToUpper(conv))
	raw[0] = 'x' // another kind byte, same MAC
	for name, bad := range map[string]string{
		"another key's":     other.MakeConversation(42),
		"a changed letter":  string(flipped),
		"another kind byte": strings.ToLower(tokenEncoding.EncodeToString(raw)),
		"truncated":         conv[:len(conv)-1],
	} {
		if got, ok := r.ParseTarget(bad); ok {
			t.Errorf("%s: accepted as %+v", name, got)
		}
	}
}

func TestTranscriptRefusesBadAddressesResendsAndFloods(t *testing.T) {
	d, s := newTestDesk(t)
	ctx := context.Background()
	conv, _ := newConversation(t, s)
	var ve *ValidationError
	if _, err := d.SendTranscript(ctx, conv.ID, "ana@example.org", "", ""); !errors.As(err, &ve) || ve.Field != "conversation" {
		t.Errorf("empty conversation: %v, want a validation error", err)
	}
	appendMsg(t, s, NewMessage{ConversationID: conv.ID, Role: RoleVisitor, ClientID: "q1", Kind: "text", Body: "bonjour"})
	for _, bad := range []string{"ana@example.org\r\nBcc: all@evil.test", "ana@example.org, bo@example.org", "Ana <ana@example.org>", "ana", ""} {
		if _, err := d.SendTranscript(ctx, conv.ID, bad, "fr", ""); !errors.As(err, &ve) || ve.Field != "email" {
			t.Errorf("address %q: %v, want a validation error on email", bad, err)
		}
	}
	if _, err := d.SendTranscript(ctx, conv.ID+99, "ana@example.org", "fr", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown conversation: %v, want ErrNotFound", err)
	}
	first, err := d.SendTranscript(ctx, conv.ID, "ana@example.org", "fr", "tr1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := d.SendTranscript(ctx, conv.ID, "ana@example.org", "fr", "tr1")
	if err != nil || again.Seq != first.Seq {
		t.Errorf("resend: %+v %v, want the first note (seq %d)", again, err, first.Seq)
	}
	if n := len(queued(t, s, conv.ID)); n != 1 {
		t.Errorf("a resend queued %d mails, want 1", n)
	}
	for i := 2; i <= maxTranscriptsPerHour; i++ {
		if _, err := d.SendTranscript(ctx, conv.ID, "ana@example.org", "fr", ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.SendTranscript(ctx, conv.ID, "eve@example.org", "fr", ""); !errors.Is(err, ErrTooMany) || ErrorCode(err) != ETOOMANY {
		t.Errorf("transcript %d in an hour: %v, want ErrTooMany", maxTranscriptsPerHour+1, err)
	}
	s.Now = func() time.Time { return time.Now().Add(61 * time.Minute) }
	if _, err := d.SendTranscript(ctx, conv.ID, "ana@example.org", "fr", ""); err != nil {
		t.Errorf("an hour later: %v, want the transcript sent", err)
	}
	var notes int
	s.read.QueryRow(`SELECT COUNT(*) FROM messages WHERE kind = ?`, KindTranscriptSent).Scan(&notes)
	if mails := len(queued(t, s, conv.ID)); notes != mails {
		t.Errorf("%d notes for %d mails: each note goes with its mail, in one transaction", notes, mails)
	}
	var body struct{ Text, Email string }
	json.Unmarshal([]byte(first.Body), &body)
	if body.Text != "La transcription de cette conversation part à ana@example.org." {
		t.Errorf("note text %q", body.Text)
	}
}

func TestInboundAcceptsConversationAddressesAndFlagsMachines(t *testing.T) {
	h := startInbound(t, nil)
	to := "reply+" + h.tokens.MakeConversation(7) + "@" + replyDomain
	if err := h.send("ana@example.com", to, plainReply); err != nil {
		t.Fatal(err)
	}
	auto := strings.Replace(plainReply, "Subject:", "Auto-Submitted: auto-replied\nSubject:", 1)
	if err := h.send("ana@example.com", to, auto); err != nil {
		t.Fatal(err)
	}
	got := h.delivered()
	if len(got) != 2 || got[0].ConversationID != 7 || got[0].TicketID != 0 || got[0].AutoSubmitted || !got[1].AutoSubmitted {
		t.Fatalf("delivered %+v, want two replies to conversation 7, the second flagged automatic", got)
	}
	// One message goes to one ticket or conversation, not both.
	err := smtp.SendMail(h.addr, nil, "ana@example.com", []string{to, h.rcpt(7)}, []byte("Subject: x\r\n\r\nhi\r\n"))
	if code := smtpCode(err); code != 452 {
		t.Errorf("a ticket and a conversation in one message: %v, want 452", err)
	}
}
