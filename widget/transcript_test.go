package widget

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
)

// newDeskEnv serves a widget wired to a real desk on its own store, with
// an attachments folder, as `bulle serve` wires it: tickets, transcripts,
// downloads and the "My requests" pages.
func newDeskEnv(t *testing.T, change func(*Options)) (*testEnv, *escalation.Desk) {
	t.Helper()
	store := openStore(t)
	tokens, err := escalation.NewReplyTokens(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	files, err := escalation.NewFiles(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	desk, err := escalation.NewDesk(store, escalation.DeskOptions{From: "Bulle <no-reply@help.example>",
		ReplyDomain: "help.example", Tokens: tokens, Files: files, BaseURL: "https://help.example"})
	if err != nil {
		t.Fatal(err)
	}
	base := openBase(t, writeArticles(t, testArticles))
	env := newEnvOn(t, base, bot.New(base, chatClosed{}, bot.DefaultConfig()), store, func(o *Options) {
		o.Tickets, o.Transcripts, o.Attachments, o.Requests = desk, desk, desk, desk
		if change != nil {
			change(o)
		}
	})
	return env, desk
}

// outbox returns the queued mails of one kind, oldest first.
func outbox(t *testing.T, s *escalation.Store, kind string) []escalation.OutboxMail {
	t.Helper()
	all, err := s.OutboxMails(context.Background(), 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	var out []escalation.OutboxMail
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Kind == kind {
			out = append(out, all[i])
		}
	}
	return out
}

func TestTranscriptFrameMailsTheConversationAndNotesIt(t *testing.T) {
	env, _ := newDeskEnv(t, nil)
	c := env.dial(t, "https://shop.example")
	w := c.hello("fr")
	c.ask("q1", askHours)

	c.send(map[string]any{"type": "transcript", "client_id": "tr1", "email": "ana@example.org\r\nBcc: all@evil.test"})
	if e := c.expectError(CodeBadTranscript); e.Field != "email" || e.ClientID != "tr1" {
		t.Errorf("hostile address: %+v, want bad_transcript naming the email field", e)
	}
	c.send(map[string]any{"type": "transcript", "email": "ana@example.org"})
	c.expectError(CodeBadFrame) // no client_id: nothing to acknowledge

	frame := map[string]any{"type": "transcript", "client_id": "tr1", "email": "ana@example.org"}
	c.send(frame)
	ack := c.expect(typeAck)
	note := c.expect(typeMessage)
	if ack.ClientID != "tr1" || note.Seq != ack.Seq || note.Role != "system" || note.Kind != escalation.KindTranscriptSent ||
		note.Text != "La transcription de cette conversation part à ana@example.org." {
		t.Fatalf("ack %+v note %+v, want the note acknowledged under its seq", ack, note)
	}
	c.send(frame) // a resend after a lost ack
	if again := c.expect(typeAck); again.Seq != ack.Seq {
		t.Errorf("resend acknowledged as %d, want %d", again.Seq, ack.Seq)
	}
	c.quiet()

	mails := outbox(t, env.store, "transcript")
	if len(mails) != 1 {
		t.Fatalf("queued %d transcripts, want 1", len(mails))
	}
	m := mails[0]
	if m.ConversationID != w.Conversation.ID || m.To != "<ana@example.org>" || !strings.HasPrefix(m.ReplyTo, "reply+") ||
		!strings.Contains(m.Text, "] Vous : "+askHours) || !strings.Contains(m.Text, "] Assistant : ") ||
		!strings.Contains(m.Text, "https://help.example/fr/contact/hours") {
		t.Errorf("transcript mail: to %q reply-to %q\n%s", m.To, m.ReplyTo, m.Text)
	}

	// A second tab sees the note too.
	other := env.dial(t, "https://shop.example")
	other.send(map[string]any{"type": "hello", "token": w.Token, "last_seq": ack.Seq - 1, "lang": "fr"})
	other.expect(typeWelcome)
	if f := other.expect(typeMessage); f.Seq != ack.Seq || f.Kind != escalation.KindTranscriptSent {
		t.Errorf("resumed tab got %+v, want the note", f)
	}

	for i := 0; i < 2; i++ {
		c.send(map[string]any{"type": "transcript", "client_id": "more" + string(rune('a'+i)), "email": "ana@example.org"})
		c.expect(typeAck)
		c.expect(typeMessage)
	}
	c.send(map[string]any{"type": "transcript", "client_id": "flood", "email": "eve@example.org"})
	if e := c.expectError(CodeTooMany); e.ClientID != "flood" {
		t.Errorf("fourth transcript in an hour: %+v", e)
	}
}

func TestTranscriptFrameWithoutADeskIsRefused(t *testing.T) {
	env := newEnv(t, nil)
	c := env.dial(t, "https://shop.example")
	c.hello("en")
	c.send(map[string]any{"type": "transcript", "client_id": "tr1", "email": "ana@example.org"})
	c.expectError(CodeNoTranscripts)
}
