package escalation

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkInsights30Days times the insights page's queries for 30 days
// on a month of traffic: 20,000 conversations (a question and the bot's
// reply each: answers, offers for want of confidence, explicit
// hand-offs), a tenth of the answers voted, and 1,000 chats claimed,
// closed and rated. Run with
//
//	go test ./escalation -run '^$' -bench Insights -benchtime 10x
func BenchmarkInsights30Days(b *testing.B) {
	s := openTest(b)
	ctx := context.Background()
	const conversations, chats = 20000, 1000
	end := time.Now().Add(-time.Minute)
	start := end.AddDate(0, 0, -28)
	var tick atomic.Int64
	s.Now = func() time.Time { // the month, spread over the writes (about 8 clock reads per conversation)
		t := start.Add(time.Duration(tick.Add(1)) * 28 * 24 * time.Hour / (8 * conversations))
		if t.After(end) {
			return end
		}
		return t
	}
	agent, _, err := s.AddAgent(ctx, "agent@team.example", "Agent")
	if err != nil {
		b.Fatal(err)
	}
	bodies := []struct{ kind, body string }{
		{"answer", `{"kind":"answer","lang":"fr","text":"Voici","article":{"id":"account/password-%d","lang":"fr","title":"Mot de passe"}}`},
		{"answer", `{"kind":"answer","lang":"fr","text":"Voici","article":{"id":"billing/refund-%d","lang":"fr","title":"Remboursement"}}`},
		{"offer_person", `{"kind":"offer_person","lang":"fr","text":"Pas sûr","reason":"low_confidence","n":%d}`},
		{"handoff", `{"kind":"handoff","lang":"fr","text":"Je vous passe","reason":"explicit_request","n":%d}`},
	}
	questions := []string{"comment changer mon mot de passe", "je veux un remboursement de ma commande",
		"livraison en retard colis perdu", "je veux parler à quelqu'un", "facture introuvable dans mon compte"}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 { // parallel writers share commits (message.go), so seeding takes seconds
		wg.Go(func() {
			for i := next.Add(1) - 1; i < conversations; i = next.Add(1) - 1 {
				if err := seedInsightsConversation(ctx, s, int(i), i < chats, agent.ID, bodies[i%4].kind,
					fmt.Sprintf(bodies[i%4].body, i%40), questions[i%5]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	s.Now = time.Now
	b.ResetTimer()
	for b.Loop() {
		in, err := s.Insights(ctx, InsightsQuery{Days: 30})
		if err != nil {
			b.Fatal(err)
		}
		if in.Total.Conversations != conversations || in.Total.Rated != chats {
			b.Fatalf("got %d conversations and %d ratings, want %d and %d", in.Total.Conversations, in.Total.Rated, conversations, chats)
		}
	}
}

func seedInsightsConversation(ctx context.Context, s *Store, i int, chat bool, agentID int64, kind, body, question string) error {
	c, _, err := s.CreateConversation(ctx, "fr", "https://shop.example")
	if err != nil {
		return err
	}
	if _, _, err := s.AppendMessage(ctx, NewMessage{ConversationID: c.ID, Role: RoleVisitor, ClientID: "q",
		Kind: "text", Body: fmt.Sprintf("%s %d", question, i%300)}); err != nil {
		return err
	}
	bot, _, err := s.AppendMessage(ctx, NewMessage{ConversationID: c.ID, Role: RoleBot, ReplyTo: 1, Kind: kind, Body: body})
	if err != nil {
		return err
	}
	if kind == "answer" && i%10 == 0 {
		if _, err := s.RecordAnswerVote(ctx, c.ID, bot.Seq, i%20 == 0); err != nil {
			return err
		}
	}
	if !chat {
		return nil
	}
	for _, step := range []func() error{
		func() error { _, err := s.EnqueueChat(ctx, c.ID, "", ""); return err },
		func() error { _, err := s.ClaimChat(ctx, c.ID, agentID); return err },
		func() error { _, err := s.CloseChat(ctx, c.ID, agentID); return err },
		func() error { _, err := s.RateChat(ctx, c.ID, ChatRating{Rating: 3 + i%3}); return err },
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}
