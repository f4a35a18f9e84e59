package escalation

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// trafficClock is the store's clock for these tests: each step sets it.
type trafficClock struct{ now time.Time }

func (c *trafficClock) Now() time.Time { return c.now }

// summary writes a conversation's messages as role/kind[+vote] strings.
func summary(c TrafficConversation) []string {
	var out []string
	for _, m := range c.Messages {
		s := fmt.Sprintf("%d %s/%s", m.Seq, m.Role, m.Kind)
		if m.ReplyTo != 0 {
			s += fmt.Sprintf(" re %d", m.ReplyTo)
		}
		if m.Voted {
			s += fmt.Sprintf(" helpful=%v", m.Helpful)
		}
		out = append(out, s)
	}
	return out
}

func TestTrafficSinceReadsWholeConversationsWithVotesAndAgentReplies(t *testing.T) {
	d, s := newTestDesk(t)
	ctx := context.Background()
	clock := &trafficClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	s.Now = clock.Now
	agent := addTestAgent(t, s, "Lea")

	// A question, a bot answer the visitor found helpful.
	voted, _, err := s.CreateConversation(ctx, "en", "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	q, _ := appendMsg(t, s, NewMessage{ConversationID: voted.ID, Role: RoleVisitor, ClientID: "q1", Kind: "text", Body: "refund please"})
	a, _ := appendMsg(t, s, NewMessage{ConversationID: voted.ID, Role: RoleBot, ReplyTo: q.Seq, Kind: KindAnswer,
		Body: `{"kind":"answer","article":{"id":"billing/refund"}}`})
	if _, err := s.RecordAnswerVote(ctx, voted.ID, a.Seq, true); err != nil {
		t.Fatal(err)
	}

	// An offer, then a ticket an agent answers by mail from the console.
	ticketed, _, err := s.CreateConversation(ctx, "fr", "")
	if err != nil {
		t.Fatal(err)
	}
	q, _ = appendMsg(t, s, NewMessage{ConversationID: ticketed.ID, Role: RoleVisitor, ClientID: "q2", Kind: "text", Body: "transfert de domaine"})
	appendMsg(t, s, NewMessage{ConversationID: ticketed.ID, Role: RoleBot, ReplyTo: q.Seq, Kind: "offer_person", Body: `{"kind":"offer_person"}`})
	tk, err := d.CreateTicket(ctx, NewTicket{ConversationID: ticketed.ID, Lang: "fr", Topic: "other",
		Email: "ana@example.org", Message: "je n'arrive pas à transférer mon domaine"})
	if err != nil {
		t.Fatal(err)
	}
	clock.now = clock.now.Add(26 * time.Hour) // the agent answers the next day
	if _, err := d.AgentReply(ctx, agent, tk.Ref, "Voir https://help.example.com/fr/domains/transfer/"); err != nil {
		t.Fatal(err)
	}

	// A live chat: the agent's message is read, their internal note is not.
	chat, _, err := s.CreateConversation(ctx, "en", "")
	if err != nil {
		t.Fatal(err)
	}
	appendMsg(t, s, NewMessage{ConversationID: chat.ID, Role: RoleVisitor, ClientID: "q3", Kind: "text", Body: "a person please"})
	if _, err := s.EnqueueChat(ctx, chat.ID, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimChat(ctx, chat.ID, agent.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppendAgentMessage(ctx, agent.ID, NewMessage{ConversationID: chat.ID, Body: "see /en/account/reset"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddAgentNote(ctx, agent.ID, chat.ID, "internal: not for the export"); err != nil {
		t.Fatal(err)
	}

	got, err := s.TrafficSince(ctx, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].ID != voted.ID || got[1].ID != ticketed.ID || got[2].ID != chat.ID {
		t.Fatalf("got %d conversations %+v, want the three in creation order", len(got), got)
	}
	if got[0].Lang != "en" || got[1].Lang != "fr" || !got[0].CreatedAt.Equal(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("langs and dates: got %q %q %v", got[0].Lang, got[1].Lang, got[0].CreatedAt)
	}
	for _, tt := range []struct {
		name string
		c    TrafficConversation
		want []string
	}{
		{"the vote rides on the answer", got[0], []string{"1 visitor/text", "2 bot/answer re 1 helpful=true"}},
		{"the ticket's agent reply is an agent message", got[1],
			[]string{"1 visitor/text", "2 bot/offer_person re 1", "3 visitor/ticket", "4 agent/agent_reply"}},
		{"the chat's agent message is read, the note is not", got[2],
			[]string{"1 visitor/text", "2 system/chat_queued", "3 system/chat_claimed", "4 agent/text"}},
	} {
		if s := summary(tt.c); !slices.Equal(s, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, s, tt.want)
		}
	}
	reply := got[1].Messages[3]
	if reply.Body != "Voir https://help.example.com/fr/domains/transfer/" || !reply.CreatedAt.Equal(clock.now) {
		t.Errorf("agent reply: got %q at %v, want the text as sent, at %v", reply.Body, reply.CreatedAt, clock.now)
	}
}

// trafficStep is one message of a conversation: who writes, and when
// relative to the cutoff.
type trafficStep struct {
	role Role
	at   time.Duration
}

func TestTrafficSinceKeepsConversationsWhereAVisitorWroteFromTheCutoff(t *testing.T) {
	cutoff := time.Date(2026, 3, 1, 12, 0, 0, 500_000_000, time.UTC)
	tests := []struct {
		name  string
		steps []trafficStep
		want  []string // the conversation's messages; nil: left out
	}{
		{"a visitor wrote after the cutoff", []trafficStep{{RoleVisitor, time.Hour}}, []string{"1 visitor/text"}},
		{"a visitor wrote exactly at the cutoff", []trafficStep{{RoleVisitor, 0}}, []string{"1 visitor/text"}},
		{"a visitor wrote only before the cutoff", []trafficStep{{RoleVisitor, -time.Hour}}, nil},
		{"a visitor wrote before, an agent after: still left out",
			[]trafficStep{{RoleVisitor, -time.Hour}, {RoleAgent, time.Hour}}, nil},
		{"a visitor wrote before and again after: read whole",
			[]trafficStep{{RoleVisitor, -7 * 24 * time.Hour}, {RoleVisitor, time.Hour}}, []string{"1 visitor/text", "2 visitor/text"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t)
			clock := &trafficClock{}
			s.Now = clock.Now
			c, _, err := s.CreateConversation(context.Background(), "en", "")
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range tt.steps {
				clock.now = cutoff.Add(st.at)
				appendMsg(t, s, NewMessage{ConversationID: c.ID, Role: st.role, Kind: "text", Body: fmt.Sprintf("message %d", i)})
			}
			got, err := s.TrafficSince(context.Background(), cutoff)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.want == nil && len(got) != 0:
				t.Errorf("got %q, want the conversation left out", summary(got[0]))
			case tt.want != nil && (len(got) != 1 || !slices.Equal(summary(got[0]), tt.want)):
				t.Errorf("got %+v, want one conversation %q", got, tt.want)
			}
		})
	}
}
