package escalation

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// Live chat's store throughput: messages persisted per second by many
// writers at once, on a SQLite file in a temp folder with
// synchronous=FULL (every commit fsynced). Run with
//
//	go test ./escalation -run '^$' -bench 'Append' -benchtime 20000x -count 3
//
// writers is how many goroutines append at once: visitors' sessions and
// agents' consoles. conversations is how many chats they share.
const (
	benchWriters       = 64
	benchConversations = 200
)

// runWriters appends b.N messages with benchWriters goroutines, each
// message to the next conversation in turn, and reports messages/s.
func runWriters(b *testing.B, convs []int64, appendOne func(ctx context.Context, conv int64, i int64) error) {
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchWriters)
	b.ResetTimer()
	for range benchWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if err := appendOne(ctx, convs[i%int64(len(convs))], i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// benchConversationIDs starts n conversations.
func benchConversationIDs(b *testing.B, s *Store, n int) []int64 {
	ctx := context.Background()
	out := make([]int64, 0, n)
	for range n {
		c, _, err := s.CreateConversation(ctx, "fr", "https://shop.example")
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, c.ID)
	}
	return out
}

// claimedChats starts benchConversations chats, each claimed by one of
// 20 agents, and says who holds each.
func claimedChats(b *testing.B, s *Store) ([]int64, map[int64]int64) {
	ctx := context.Background()
	convs := benchConversationIDs(b, s, benchConversations)
	agents := make([]Agent, 20)
	for i := range agents {
		a, _, err := s.AddAgent(ctx, fmt.Sprintf("agent%d@team.example", i), fmt.Sprintf("Agent %d", i))
		if err != nil {
			b.Fatal(err)
		}
		agents[i] = a
	}
	holder := make(map[int64]int64, len(convs))
	for i, conv := range convs {
		if _, err := s.EnqueueChat(ctx, conv, "", ""); err != nil {
			b.Fatal(err)
		}
		if _, err := s.ClaimChat(ctx, conv, agents[i%len(agents)].ID); err != nil {
			b.Fatal(err)
		}
		holder[conv] = agents[i%len(agents)].ID
	}
	return convs, holder
}

// BenchmarkAppendMessage is the visitors' side: AppendMessage, whose
// appends arriving together share one transaction and one fsync (group
// commit, message.go).
func BenchmarkAppendMessage(b *testing.B) {
	s := openTest(b)
	convs := benchConversationIDs(b, s, benchConversations)
	runWriters(b, convs, func(ctx context.Context, conv, i int64) error {
		_, _, err := s.AppendMessage(ctx, NewMessage{ConversationID: conv, Role: RoleVisitor, ClientID: fmt.Sprintf("c%d", i),
			Kind: "text", Body: "Bonjour, ma commande n'est toujours pas arrivée, pouvez-vous vérifier ?"})
		return err
	})
}

// BenchmarkAppendAgentMessage is the agents' side: AppendAgentMessage
// checks that the agent holds the chat and records them as the author,
// in its own transaction: one fsync per message, no group commit.
func BenchmarkAppendAgentMessage(b *testing.B) {
	s := openTest(b)
	convs, holder := claimedChats(b, s)
	runWriters(b, convs, func(ctx context.Context, conv, i int64) error {
		_, _, err := s.AppendAgentMessage(ctx, holder[conv], NewMessage{ConversationID: conv, ClientID: fmt.Sprintf("a%d", i),
			Body: "Je regarde votre commande tout de suite."})
		return err
	})
}

// BenchmarkAppendChatMix is a live chat's mix: every other message is
// the visitor's (group commit), the others the agent's (a transaction
// each), all writers at once.
func BenchmarkAppendChatMix(b *testing.B) {
	s := openTest(b)
	convs, holder := claimedChats(b, s)
	runWriters(b, convs, func(ctx context.Context, conv, i int64) error {
		var err error
		if i%2 == 0 {
			_, _, err = s.AppendMessage(ctx, NewMessage{ConversationID: conv, Role: RoleVisitor, ClientID: fmt.Sprintf("c%d", i),
				Kind: "text", Body: "Bonjour, ma commande n'est toujours pas arrivée, pouvez-vous vérifier ?"})
		} else {
			_, _, err = s.AppendAgentMessage(ctx, holder[conv], NewMessage{ConversationID: conv, ClientID: fmt.Sprintf("a%d", i),
				Body: "Je regarde votre commande tout de suite."})
		}
		return err
	})
}
