package widget

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/bulle-help/bulle/escalation"
)

// newTicketEnv serves a widget that opens tickets with a real desk on the
// widget's own store.
func newTicketEnv(t *testing.T) *testEnv {
	t.Helper()
	env := newEnv(t, nil)
	tokens, err := escalation.NewReplyTokens(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	desk, err := escalation.NewDesk(env.store, escalation.DeskOptions{From: "no-reply@help.example",
		ReplyDomain: "help.example", Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	env.widget.opt.Tickets = desk
	return env
}

func TestTicketFromTheBubbleIsOpenedOnceOnTheConversation(t *testing.T) {
	env := newTicketEnv(t)
	ctx := context.Background()
	c := env.dial(t, "https://shop.example")
	w := c.hello("fr")
	if len(w.Topics) == 0 || w.Topics[0].Label != "Compte et connexion" {
		t.Fatalf("welcome topics %+v, want the form's choices in French", w.Topics)
	}
	c.ask("q1", askPassword)

	c.send(map[string]any{"type": "ticket", "client_id": "t1", "topic": "account",
		"email": "ana@example.org\r\nBcc: x@evil.test", "text": "Le lien n'arrive pas."})
	if e := c.expectError(CodeBadTicket); e.Field != "email" || e.ClientID != "t1" {
		t.Errorf("hostile email: %+v, want bad_ticket naming the email field", e)
	}
	if _, err := env.store.TicketOfConversation(ctx, w.Conversation.ID); escalation.ErrorCode(err) != escalation.ENOTFOUND {
		t.Fatalf("a refused form opened a ticket (%v)", err)
	}

	ticket := map[string]any{"type": "ticket", "client_id": "t1", "topic": "account", "email": "ana@example.org",
		"name": "Ana", "text": "Le lien n'arrive pas.", "page_url": "https://shop.example/compte"}
	c.send(ticket)
	ack := c.expect(typeAck)
	msg := c.expect(typeMessage)
	note := c.expect(typeMessage)
	if msg.Role != "visitor" || msg.Kind != escalation.KindTicket || msg.Text != "Le lien n'arrive pas." {
		t.Errorf("first frame after the form: %+v, want the ticket's message in the conversation", msg)
	}
	if note.Role != "system" || note.Kind != "ticket_created" || note.Seq != ack.Seq || note.Ticket == "" ||
		!strings.Contains(note.Text, "#"+note.Ticket) || !strings.Contains(note.Text, "ana@example.org") {
		t.Fatalf("ticket note %+v (ack %+v), want the reference and the address", note, ack)
	}
	tk, err := env.store.TicketOfConversation(ctx, w.Conversation.ID)
	if err != nil || tk.Ref != note.Ticket || tk.Email != "ana@example.org" || tk.Queue != "accounts" {
		t.Fatalf("stored ticket %+v (%v)", tk, err)
	}

	// A resend (a lost ack) finds the same ticket and the same note.
	c.send(ticket)
	if again := c.expect(typeAck); again.Seq != ack.Seq {
		t.Errorf("resend acknowledged as seq %d, want the original %d", again.Seq, ack.Seq)
	}
	c.quiet()
}

func TestTicketFrameWithoutADeskIsRefused(t *testing.T) {
	env := newEnv(t, nil)
	c := env.dial(t, "https://shop.example")
	if w := c.hello("en"); len(w.Topics) != 0 {
		t.Errorf("topics offered with no desk: %+v", w.Topics)
	}
	c.send(map[string]any{"type": "ticket", "topic": "other", "email": "a@b.example", "text": "hi"})
	c.expectError(CodeNoTickets)
}
