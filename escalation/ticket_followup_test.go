package escalation

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// noteOf reads a ticket note's body.
func noteOf(t *testing.T, m Message) ticketNote {
	t.Helper()
	var n ticketNote
	if err := json.Unmarshal([]byte(m.Body), &n); err != nil {
		t.Fatalf("note %d: %v", m.Seq, err)
	}
	return n
}

func TestAReturningVisitorFollowsUpWhileOpenAndOpensANewTicketOnceSolved(t *testing.T) {
	d, s := newTestDesk(t)
	ctx := context.Background()
	clock := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { clock = clock.Add(time.Second); return clock }
	conv, _ := newConversation(t, s)
	form := func(clientID, topic, email, text string) NewTicket {
		return NewTicket{ConversationID: conv.ID, Lang: "en", Topic: topic, Email: email, Message: text,
			Note: true, ClientID: clientID, OfferVerification: true}
	}
	mails := func() int { return len(queued(t, s, conv.ID)) }

	first, err := d.CreateTicket(ctx, form("t1", "account", "ana@example.org", "I cannot sign in."))
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created || first.FollowUp || first.Note.Kind != KindTicketCreated || !noteOf(t, first.Note).Verify ||
		noteOf(t, first.Note).Ticket != first.Ref || !strings.Contains(noteOf(t, first.Note).Text, "Request #"+first.Ref+" recorded") {
		t.Fatalf("first form: %+v, want a new ticket whose note offers verification", first)
	}
	agent, _, err := s.AddAgent(ctx, "lea@help.example", "Léa")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.AgentReply(ctx, agent, first.Ref, "Which address do you sign in with?"); err != nil {
		t.Fatal(err)
	}
	if mails() != 2 {
		t.Fatalf("%d mails, want the confirmation and the reply", mails())
	}

	// Answered (pending), the visitor writes again from the bubble: the
	// same request, open again for the agents, and no mail.
	more, err := d.CreateTicket(ctx, form("t2", "billing", "ANA@example.org", "With ana@example.org, since Monday."))
	if err != nil {
		t.Fatal(err)
	}
	n := noteOf(t, more.Note)
	if !more.Created || !more.FollowUp || more.ID != first.ID || more.Status != StatusOpen || more.Note.Kind != KindTicketFollowUp ||
		n.Ticket != first.Ref || n.Verify || !strings.Contains(n.Text, "Added to your request #"+first.Ref) {
		t.Fatalf("second form while pending: %+v (note %+v), want a follow-up of %s", more, n, first.Ref)
	}
	if tk, _ := s.Ticket(ctx, first.ID); tk.Status != StatusOpen || tk.Topic != "account" {
		t.Errorf("ticket after the follow-up: %s, %s; want it open again, its topic kept", tk.Status, tk.Topic)
	}
	if mails() != 2 {
		t.Errorf("%d mails after the follow-up, want no more", mails())
	}
	msgs, _ := s.MessagesAfter(ctx, conv.ID, first.Note.Seq, 0)
	if len(msgs) < 3 || msgs[1].Kind != KindTicket || msgs[1].Body != "With ana@example.org, since Monday." {
		t.Errorf("thread after the note: %+v, want the agent's reply then the follow-up", msgs)
	}
	// Resent, it is the same follow-up.
	if again, err := d.CreateTicket(ctx, form("t2", "billing", "ana@example.org", "With ana@example.org, since Monday.")); err != nil ||
		again.Created || !again.FollowUp || again.Note.Seq != more.Note.Seq {
		t.Errorf("resent follow-up: %+v (%v), want the first note, nothing stored", again, err)
	}

	// Solved; the visitor chats with the assistant, then asks something new.
	if _, err := s.SetTicketStatus(ctx, first.Ref, StatusSolved); err != nil {
		t.Fatal(err)
	}
	appendMsg(t, s, NewMessage{ConversationID: conv.ID, Role: RoleVisitor, ClientID: "q9", Kind: "text", Body: "how do I get an invoice?"})
	second, err := d.CreateTicket(ctx, form("t3", "billing", "ana@example.org", "My invoice is wrong."))
	if err != nil {
		t.Fatal(err)
	}
	if !second.Created || second.FollowUp || second.ID == first.ID || second.Ref == first.Ref || second.ConversationID != conv.ID ||
		second.Note.Kind != KindTicketCreated || noteOf(t, second.Note).Ticket != second.Ref {
		t.Fatalf("form after the solved ticket: %+v, want a new ticket on the same conversation", second)
	}
	confirmation := queued(t, s, conv.ID)[2]
	if !strings.Contains(confirmation.Subject, second.Ref) || !strings.Contains(confirmation.Text, "how do I get an invoice?") ||
		strings.Contains(confirmation.Text, "I cannot sign in.") || strings.Contains(confirmation.Text, "Which address") {
		t.Errorf("second confirmation quotes the first request's thread, or not what led to it:\n%s", confirmation.Text)
	}
	if latest, err := s.TicketOfConversation(ctx, conv.ID); err != nil || latest.ID != second.ID {
		t.Errorf("the conversation's ticket: %+v (%v), want the latest, %s", latest, err, second.Ref)
	}
	if all, err := s.TicketsOfConversation(ctx, conv.ID); err != nil || len(all) != 2 || all[0].ID != second.ID || all[1].ID != first.ID {
		t.Errorf("tickets of the conversation: %+v (%v), want both, latest first", all, err)
	}

	// Another address, while the second is open: someone else at the same
	// browser; their answer must not go to Ana.
	third, err := d.CreateTicket(ctx, form("t4", "other", "bo@example.org", "Hello, Bo here."))
	if err != nil || third.FollowUp || third.ID == second.ID || third.Email != "bo@example.org" {
		t.Errorf("form from another address: %+v (%v), want a ticket of its own", third, err)
	}

	// The very first form, resent late, is still the first ticket.
	if late, err := d.CreateTicket(ctx, form("t1", "account", "ana@example.org", "I cannot sign in.")); err != nil ||
		late.Created || late.ID != first.ID || late.Note.Seq != first.Note.Seq {
		t.Errorf("late resend of t1: %+v (%v), want ticket %s and its note", late, err, first.Ref)
	}
	// A client id that names a message of another kind is refused.
	var ve *ValidationError
	if _, err := d.CreateTicket(ctx, form("q9", "other", "ana@example.org", "x")); !errors.As(err, &ve) || ve.Field != "client_id" {
		t.Errorf("client id of a chat message: got %v, want a ValidationError on client_id", err)
	}
	if _, err := d.CreateTicket(ctx, NewTicket{ConversationID: conv.ID, Lang: "en", Topic: "other", Email: "ana@example.org",
		Message: "x", ClientID: "t9"}); !errors.As(err, &ve) || ve.Field != "client_id" {
		t.Errorf("client id without a note: got %v, want a ValidationError on client_id", err)
	}
}

func TestTicketsOnOneConversationKeepTheirOwnMailThreads(t *testing.T) {
	d, s := newTestDesk(t)
	ctx := context.Background()
	conv, _ := newConversation(t, s)
	first, err := d.CreateTicket(ctx, NewTicket{ConversationID: conv.ID, Lang: "fr", Topic: "bug", Email: "ana@example.org",
		Message: "Ça plante", Note: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetTicketStatus(ctx, first.Ref, StatusSolved); err != nil {
		t.Fatal(err)
	}
	second, err := d.CreateTicket(ctx, NewTicket{ConversationID: conv.ID, Lang: "fr", Topic: "billing", Email: "ana@example.org",
		Message: "Ma facture", Note: true})
	if err != nil {
		t.Fatal(err)
	}
	// A reply by email names its ticket: the solved one opens again, and
	// the new one is untouched.
	if err := d.DeliverReply(ctx, InboundReply{TicketID: first.ID, From: "ana@example.org", MessageID: "<r1@x>", Text: "Ça replante"}); err != nil {
		t.Fatal(err)
	}
	t1, _ := s.Ticket(ctx, first.ID)
	t2, _ := s.Ticket(ctx, second.ID)
	if t1.Status != StatusOpen || t1.LastMessageID != "<r1@x>" || t2.LastMessageID != t2.RootMessageID {
		t.Errorf("after a reply to the first: %+v / %+v, want only the first moved", t1, t2)
	}
	if t1.RootMessageID == t2.RootMessageID {
		t.Error("both tickets share a mail thread")
	}
}
