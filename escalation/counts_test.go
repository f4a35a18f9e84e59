package escalation

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"testing"
)

// storedCounts reads from the database what Counts should say: the
// messages by role, the tickets and the chat_queued notes.
func storedCounts(t *testing.T, s *Store) Counts {
	t.Helper()
	c := Counts{Messages: map[Role]uint64{RoleVisitor: 0, RoleBot: 0, RoleAgent: 0, RoleSystem: 0}}
	rows, err := s.read.Query(`SELECT role, COUNT(*) FROM messages GROUP BY role`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Role
		var n uint64
		if err := rows.Scan(&r, &n); err != nil {
			t.Fatal(err)
		}
		c.Messages[r] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.read.QueryRow(`SELECT COUNT(*) FROM tickets`).Scan(&c.TicketsOpened); err != nil {
		t.Fatal(err)
	}
	if err := s.read.QueryRow(`SELECT COUNT(*) FROM messages WHERE kind = ?`, KindChatQueued).Scan(&c.ChatsQueued); err != nil {
		t.Fatal(err)
	}
	return c
}

func sameCounts(a, b Counts) bool {
	if a.ChatsQueued != b.ChatsQueued || a.TicketsOpened != b.TicketsOpened || len(a.Messages) != len(b.Messages) {
		return false
	}
	for r, n := range a.Messages {
		if b.Messages[r] != n {
			return false
		}
	}
	return true
}

// TestCountsMatchWhatEveryWriteCommitted stores messages every way the
// product does (the bubble's appends, an agent's chat message, the chat's
// notes, a ticket from a form, an agent's reply by mail, a reply by email,
// a transcript, a verification), resends some, has others refused, and
// checks the counts equal what the database holds.
func TestCountsMatchWhatEveryWriteCommitted(t *testing.T) {
	d, s := newTestDesk(t)
	ctx := context.Background()
	if got := s.Counts(); !sameCounts(got, storedCounts(t, s)) || len(got.Messages) != 4 {
		t.Fatalf("a new store: got %+v, want every role at 0", got)
	}

	conv, token := newConversation(t, s)
	appendMsg(t, s, NewMessage{ConversationID: conv.ID, Role: RoleVisitor, ClientID: "c1", Kind: "text", Body: "bonjour"})
	appendMsg(t, s, NewMessage{ConversationID: conv.ID, Role: RoleVisitor, ClientID: "c1", Kind: "text", Body: "bonjour"}) // resend
	appendMsg(t, s, NewMessage{ConversationID: conv.ID, Role: RoleBot, ReplyTo: 1, Kind: "answer", Body: `{"text":"?"}`})
	if _, _, err := s.AppendMessage(ctx, NewMessage{ConversationID: conv.ID + 99, Role: RoleVisitor, Kind: "text", Body: "x"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("append to an unknown conversation: got %v, want not found", err)
	}

	// Live chat: queued (twice: one chat), claimed, an agent's message, one
	// refused to an agent who does not hold it.
	ana, bob := addTestAgent(t, s, "Ana"), addTestAgent(t, s, "Bob")
	for range 2 {
		if _, err := s.EnqueueChat(ctx, conv.ID, "https://shop.example/cart", "billing"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ClaimChat(ctx, conv.ID, ana.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppendAgentMessage(ctx, ana.ID, NewMessage{ConversationID: conv.ID, ClientID: "a1", Body: "Je regarde."}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppendAgentMessage(ctx, bob.ID, NewMessage{ConversationID: conv.ID, Body: "Moi aussi."}); ErrorCode(err) != ECONFLICT {
		t.Fatalf("message of an agent without the chat: got %v, want a conflict", err)
	}

	// Tickets: from the bubble's conversation (with its note), resent;
	// from the contact page (a new conversation); a follow-up to the open
	// one adds a message, not a ticket.
	nt := NewTicket{ConversationToken: token, Lang: "fr", Topic: "account", Email: "ana@example.org",
		Message: "Le lien n'arrive pas.", Note: true, ClientID: "f1"}
	bubbleTicket, err := d.CreateTicket(ctx, nt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateTicket(ctx, nt); err != nil {
		t.Fatal(err)
	}
	contact, err := d.CreateTicket(ctx, NewTicket{Lang: "en", Topic: "account", Email: "leo@example.org", Message: "Locked out."})
	if err != nil {
		t.Fatal(err)
	}
	followUp := nt
	followUp.ClientID, followUp.Message = "f2", "Toujours rien."
	if ct, err := d.CreateTicket(ctx, followUp); err != nil || !ct.FollowUp {
		t.Fatalf("second form on an open ticket: got %+v, %v; want a follow-up", ct, err)
	}

	// Mail: an agent's reply, the visitor's reply by email (resent by
	// their server), a transcript, a verification code and its check.
	if _, err := d.AgentReply(ctx, ana, contact.Ticket.Ref, "Try this link."); err != nil {
		t.Fatal(err)
	}
	reply := InboundReply{TicketID: contact.Ticket.ID, From: "leo@example.org", MessageID: "<r1@example.org>", Text: "It works."}
	for range 2 {
		if err := d.DeliverReply(ctx, reply); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.SendTranscript(ctx, conv.ID, "ana@example.org", "fr", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := d.StartVerification(ctx, bubbleTicket.Ticket.ID, "v1"); err != nil {
		t.Fatal(err)
	}
	codes := sentCodes(t, s, bubbleTicket.Ticket)
	if _, err := d.CheckVerification(ctx, bubbleTicket.Ticket.ID, codes[len(codes)-1], "v2"); err != nil {
		t.Fatal(err)
	}

	got, want := s.Counts(), storedCounts(t, s)
	if !sameCounts(got, want) {
		t.Errorf("counts: got %+v, want what the database holds, %+v", got, want)
	}
	for _, r := range roles {
		if got.Messages[r] == 0 {
			t.Errorf("counts: no %s message counted; the test no longer stores one", r)
		}
	}
	if got.TicketsOpened != 2 || got.ChatsQueued != 1 {
		t.Errorf("counts: got %d tickets and %d chats, want 2 and 1", got.TicketsOpened, got.ChatsQueued)
	}
}

// TestCountsSkipWritesRolledBack: a message stored in a transaction that
// then fails, whole or to its savepoint, was never committed and does
// not count; the appends committed beside it do.
func TestCountsSkipWritesRolledBack(t *testing.T) {
	d, s := newTestDesk(t)
	ctx := context.Background()
	conv, _ := newConversation(t, s)

	// This desk keeps no files: the ticket's message is appended, then
	// its attachment refused, and the whole transaction rolled back.
	_, err := d.CreateTicket(ctx, NewTicket{ConversationID: conv.ID, Lang: "fr", Topic: "account",
		Email: "ana@example.org", Message: "Voici une capture.", Attachments: []NewAttachment{{Name: "a.png", Data: []byte("x")}}})
	if ErrorCode(err) != EINVALID {
		t.Fatalf("ticket with a file on a desk without files: got %v, want refused", err)
	}

	// One group commit: the first append goes back to its savepoint after
	// its message was inserted; the second commits.
	failing := appendRequest{ctx: ctx, done: make(chan appendResult, 1),
		write: func(ctx context.Context, tx *sql.Tx, now string) (Message, bool, error) {
			if _, _, err := appendInTx(ctx, tx, NewMessage{ConversationID: conv.ID, Role: RoleAgent, Kind: "text", Body: "x"}, now); err != nil {
				return Message{}, false, err
			}
			return Message{}, false, ErrConflict
		}}
	plain := appendRequest{ctx: ctx, done: make(chan appendResult, 1),
		m: NewMessage{ConversationID: conv.ID, Role: RoleVisitor, Kind: "text", Body: "bonjour"}}
	s.appendBatch([]appendRequest{failing, plain}, nil)
	if r := <-failing.done; !errors.Is(r.err, ErrConflict) {
		t.Fatalf("failing append: got %v, want its conflict", r.err)
	}
	if r := <-plain.done; r.err != nil || !r.created {
		t.Fatalf("plain append: got %+v, want created", r)
	}

	got, want := s.Counts(), storedCounts(t, s)
	if !sameCounts(got, want) {
		t.Errorf("counts: got %+v, want what the database holds, %+v", got, want)
	}
	if got.Messages[RoleVisitor] != 1 || got.Messages[RoleAgent] != 0 || got.TicketsOpened != 0 {
		t.Errorf("counts: got %+v, want 1 visitor message and nothing else", got)
	}
}

// TestSenderCountsSMTPErrors runs one pass of a sender over one mail
// against a real SMTP server (or none) and reads its error count.
func TestSenderCountsSMTPErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T) string // returns the server's address
		want  uint64
	}{
		{"an accepted mail counts none", func(t *testing.T) string {
			return startProvider(t).addr
		}, 0},
		{"a refused connection counts one", func(t *testing.T) string {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close() // nothing listens there now
			return addr
		}, 1},
		{"a 451 to DATA counts one", func(t *testing.T) string {
			p := startProvider(t)
			p.failData = 1
			return p.addr
		}, 1},
		{"a 550 to RCPT counts one", func(t *testing.T) string {
			p := startProvider(t)
			p.rcptCode = 550
			return p.addr
		}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := tt.setup(t)
			clock := newFakeClock()
			store := clockedStore(t, clock)
			queue(t, store, testMail(1))
			<-store.MailQueued()
			s := runSender(t, store, SenderOptions{Addr: addr, TLS: TLSNone, After: clock.After})
			clock.sleeping(t) // the first pass is over
			if got := s.SMTPErrors(); got != tt.want {
				t.Errorf("SMTP errors: got %d, want %d", got, tt.want)
			}
		})
	}
}
