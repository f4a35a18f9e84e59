package escalation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// addTestAgent adds an agent or fails the test.
func addTestAgent(t *testing.T, s *Store, name string) Agent {
	t.Helper()
	a, _, err := s.AddAgent(context.Background(), strings.ToLower(name)+"@team.example", name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// queuedChat starts a conversation and queues it.
func queuedChat(t *testing.T, s *Store) int64 {
	t.Helper()
	c, _ := newConversation(t, s)
	if _, err := s.EnqueueChat(context.Background(), c.ID, "https://shop.example/cart", "billing"); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// kinds lists the kinds of the conversation's messages after seq.
func kinds(t *testing.T, s *Store, convID, after int64) []string {
	t.Helper()
	msgs, err := s.MessagesAfter(context.Background(), convID, after, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, m.Kind)
	}
	return out
}

func TestEnqueueChatSaysThePlaceAndIsIdempotent(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	first, _ := newConversation(t, s)
	second, _ := newConversation(t, s)
	a, err := s.EnqueueChat(ctx, first.ID, "https://shop.example/cart", "billing")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.EnqueueChat(ctx, second.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Created || !a.QueueChanged || a.Note.Kind != KindChatQueued || a.Note.Role != RoleSystem {
		t.Errorf("first enqueue: got %+v, want a new chat_queued note that changes the queue", a)
	}
	if !strings.Contains(a.Note.Body, `"position":1`) || !strings.Contains(a.Note.Body, "Vous êtes n° 1 dans la file") {
		t.Errorf("first note: got %s, want position 1 in French", a.Note.Body)
	}
	if !strings.Contains(b.Note.Body, `"position":2`) {
		t.Errorf("second note: got %s, want position 2", b.Note.Body)
	}
	if a.Chat.Status != ChatQueued || a.Chat.PageURL != "https://shop.example/cart" || a.Chat.Topic != "billing" || a.Chat.Lang != "fr" {
		t.Errorf("chat: got %+v, want queued with its page, topic and language", a.Chat)
	}
	again, err := s.EnqueueChat(ctx, first.ID, "https://shop.example/other", "")
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.Note.Seq != 0 || again.QueueChanged || again.Chat.PageURL != "https://shop.example/cart" {
		t.Errorf("second enqueue: got %+v, want nothing changed", again)
	}
	if got := kinds(t, s, first.ID, 0); !slices.Equal(got, []string{KindChatQueued}) {
		t.Errorf("messages: got %v, want one chat_queued", got)
	}
}

func TestClaimRaceHasExactlyOneWinner(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	convID := queuedChat(t, s)
	const n = 8
	agents := make([]Agent, n)
	for i := range agents {
		agents[i] = addTestAgent(t, s, fmt.Sprintf("Agent%d", i))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = s.ClaimChat(ctx, convID, agents[i].ID)
		}()
	}
	close(start)
	wg.Wait()
	winners, conflicts := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			winners++
		case errors.Is(err, ErrConflict):
			conflicts++
		default:
			t.Errorf("claim: got %v, want success or ErrConflict", err)
		}
	}
	if winners != 1 || conflicts != n-1 {
		t.Errorf("got %d winners and %d conflicts, want 1 and %d", winners, conflicts, n-1)
	}
	if got := kinds(t, s, convID, 0); !slices.Equal(got, []string{KindChatQueued, KindChatClaimed}) {
		t.Errorf("messages: got %v, want one claim note", got)
	}
}

func TestChatLifecycleRecordsEveryChangeAsANote(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	ana, bo := addTestAgent(t, s, "Ana"), addTestAgent(t, s, "Bo")
	convID := queuedChat(t, s)

	claim, err := s.ClaimChat(ctx, convID, ana.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !claim.QueueChanged || claim.Chat.Status != ChatActive || claim.Chat.AgentName != "Ana" ||
		!strings.Contains(claim.Note.Body, `"agent":"Ana"`) || !strings.Contains(claim.Note.Body, "Ana a rejoint la conversation.") {
		t.Errorf("claim: got %+v, want active, held by Ana, with a note naming her", claim)
	}
	if again, err := s.ClaimChat(ctx, convID, ana.ID); err != nil || again.Note.Seq != 0 {
		t.Errorf("claim again by the holder: got %+v, %v; want nothing changed", again, err)
	}
	msg, created, err := s.AppendAgentMessage(ctx, ana.ID, NewMessage{ConversationID: convID, ClientID: "m1", Body: "Bonjour !"})
	if err != nil || !created || msg.Role != RoleAgent || msg.Kind != KindChatText {
		t.Fatalf("agent message: got %+v, %v, %v; want a new agent text", msg, created, err)
	}
	if again, created, err := s.AppendAgentMessage(ctx, ana.ID, NewMessage{ConversationID: convID, ClientID: "m1", Body: "Bonjour !"}); err != nil || created || again.Seq != msg.Seq {
		t.Errorf("agent resend: got %+v, %v, %v; want seq %d again", again, created, err, msg.Seq)
	}
	if names, err := s.AgentNames(ctx, convID, []int64{1, msg.Seq}); err != nil || len(names) != 1 || names[msg.Seq] != "Ana" {
		t.Errorf("agent names: got %v, %v; want only seq %d by Ana", names, err, msg.Seq)
	}
	tr, err := s.TransferChat(ctx, convID, ana.ID, bo.ID)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Chat.AgentID != bo.ID || tr.QueueChanged || !strings.Contains(tr.Note.Body, "Ana a confié la conversation à Bo.") {
		t.Errorf("transfer: got %+v, want Bo holding it", tr)
	}
	if chats, err := s.AgentChats(ctx, bo.ID); err != nil || len(chats) != 1 || chats[0].ConversationID != convID {
		t.Errorf("Bo's chats: got %+v, %v; want this one", chats, err)
	}
	if chats, err := s.AgentChats(ctx, ana.ID); err != nil || len(chats) != 0 {
		t.Errorf("Ana's chats: got %+v, %v; want none", chats, err)
	}
	closed, err := s.CloseChat(ctx, convID, bo.ID)
	if err != nil {
		t.Fatal(err)
	}
	if closed.Chat.Status != ChatClosed || closed.Chat.ClosedAt.IsZero() || !strings.Contains(closed.Note.Body, "Bo a terminé la conversation.") {
		t.Errorf("close: got %+v, want closed by Bo", closed)
	}
	rated, err := s.RateChat(ctx, convID, ChatRating{Rating: 4, Comment: " Rapide ", ClientID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	if rated.Chat.Rating != 4 || rated.Chat.RatingComment != "Rapide" || !strings.Contains(rated.Note.Body, "4/5") {
		t.Errorf("rating: got %+v, want 4 with its comment", rated)
	}
	if resend, err := s.RateChat(ctx, convID, ChatRating{Rating: 4, ClientID: "r1"}); err != nil || resend.Created || resend.Note.Seq != rated.Note.Seq {
		t.Errorf("rating resend: got %+v, %v; want the first note again", resend, err)
	}
	want := []string{KindChatQueued, KindChatClaimed, KindChatText, KindChatTransferred, KindChatClosed, KindChatRated}
	if got := kinds(t, s, convID, 0); !slices.Equal(got, want) {
		t.Errorf("messages: got %v, want %v", got, want)
	}
}

func TestChatChangesRefused(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	ana, bo := addTestAgent(t, s, "Ana"), addTestAgent(t, s, "Bo")
	queued := queuedChat(t, s)
	active := queuedChat(t, s)
	if _, err := s.ClaimChat(ctx, active, ana.ID); err != nil {
		t.Fatal(err)
	}
	closed := queuedChat(t, s)
	if _, err := s.ClaimChat(ctx, closed, ana.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CloseChat(ctx, closed, ana.ID); err != nil {
		t.Fatal(err)
	}
	rated := queuedChat(t, s)
	for _, step := range []func() (ChatChange, error){
		func() (ChatChange, error) { return s.ClaimChat(ctx, rated, ana.ID) },
		func() (ChatChange, error) { return s.CloseChat(ctx, rated, ana.ID) },
		func() (ChatChange, error) { return s.RateChat(ctx, rated, ChatRating{Rating: 5}) },
	} {
		if _, err := step(); err != nil {
			t.Fatal(err)
		}
	}
	noChat, _ := newConversation(t, s)

	tests := []struct {
		name string
		do   func() (ChatChange, error)
		want error
	}{
		{"a claim of a chat another agent holds", func() (ChatChange, error) { return s.ClaimChat(ctx, active, bo.ID) }, ErrConflict},
		{"a claim of a closed chat", func() (ChatChange, error) { return s.ClaimChat(ctx, closed, bo.ID) }, ErrConflict},
		{"a claim by an unknown agent", func() (ChatChange, error) { return s.ClaimChat(ctx, queued, 999) }, ErrNotFound},
		{"a claim without a chat", func() (ChatChange, error) { return s.ClaimChat(ctx, noChat.ID, ana.ID) }, ErrNotFound},
		{"a transfer by an agent who does not hold it", func() (ChatChange, error) { return s.TransferChat(ctx, active, bo.ID, ana.ID) }, ErrConflict},
		{"a transfer of a queued chat", func() (ChatChange, error) { return s.TransferChat(ctx, queued, ana.ID, bo.ID) }, ErrConflict},
		{"a transfer to oneself", func() (ChatChange, error) { return s.TransferChat(ctx, active, ana.ID, ana.ID) }, &ValidationError{}},
		{"a transfer to an unknown agent", func() (ChatChange, error) { return s.TransferChat(ctx, active, ana.ID, 999) }, ErrNotFound},
		{"a close by an agent who does not hold it", func() (ChatChange, error) { return s.CloseChat(ctx, active, bo.ID) }, ErrConflict},
		{"a close of a queued chat", func() (ChatChange, error) { return s.CloseChat(ctx, queued, ana.ID) }, ErrConflict},
		{"a rating before the close", func() (ChatChange, error) { return s.RateChat(ctx, active, ChatRating{Rating: 3}) }, ErrChatNotClosed},
		{"a rating without a chat", func() (ChatChange, error) { return s.RateChat(ctx, noChat.ID, ChatRating{Rating: 3}) }, ErrChatNotClosed},
		{"a second rating", func() (ChatChange, error) { return s.RateChat(ctx, rated, ChatRating{Rating: 1}) }, ErrAlreadyRated},
		{"a rating of 0", func() (ChatChange, error) { return s.RateChat(ctx, closed, ChatRating{Rating: 0}) }, &ValidationError{}},
		{"a rating of 6", func() (ChatChange, error) { return s.RateChat(ctx, closed, ChatRating{Rating: 6}) }, &ValidationError{}},
		{"a comment too long", func() (ChatChange, error) {
			return s.RateChat(ctx, closed, ChatRating{Rating: 2, Comment: strings.Repeat("x", maxChatComment+1)})
		}, &ValidationError{}},
		{"a conversion of an active chat", func() (ChatChange, error) { return s.ConvertChatToTicket(ctx, active) }, ErrConflict},
		{"an abandon of a closed chat", func() (ChatChange, error) { return s.AbandonChat(ctx, closed) }, ErrConflict},
		{"an enqueue of an unknown conversation", func() (ChatChange, error) { return s.EnqueueChat(ctx, 999, "", "") }, ErrNotFound},
		{"an enqueue from a page that is not http", func() (ChatChange, error) {
			return s.EnqueueChat(ctx, noChat.ID, "javascript:alert(1)", "")
		}, &ValidationError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := kinds(t, s, active, 0)
			_, err := tt.do()
			var ve *ValidationError
			if _, wantInvalid := tt.want.(*ValidationError); wantInvalid {
				if !errors.As(err, &ve) {
					t.Errorf("got %v, want a validation error", err)
				}
			} else if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			if after := kinds(t, s, active, 0); !slices.Equal(before, after) {
				t.Errorf("messages: got %v after, want %v unchanged", after, before)
			}
		})
	}
	if _, _, err := s.AppendAgentMessage(ctx, bo.ID, NewMessage{ConversationID: active, Body: "hi"}); !errors.Is(err, ErrConflict) {
		t.Errorf("message from an agent who does not hold the chat: got %v, want ErrConflict", err)
	}
	if _, _, err := s.AppendAgentMessage(ctx, ana.ID, NewMessage{ConversationID: closed, Body: "hi"}); !errors.Is(err, ErrConflict) {
		t.Errorf("message in a closed chat: got %v, want ErrConflict", err)
	}
}

func TestQueuePositionFollowsTheQueue(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	ana := addTestAgent(t, s, "Ana")
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	clock := t0
	s.Now = func() time.Time { return clock }
	a := queuedChat(t, s)
	b := queuedChat(t, s) // same instant as a: the older conversation goes first
	clock = clock.Add(time.Second)
	c := queuedChat(t, s)

	pos := func(id int64) int {
		t.Helper()
		p, ahead, err := s.QueuePosition(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if ahead != max(0, p-1) {
			t.Errorf("ahead: got %d at position %d, want %d", ahead, p, max(0, p-1))
		}
		return p
	}
	if got := []int{pos(a), pos(b), pos(c)}; !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("positions: got %v, want [1 2 3]", got)
	}
	if _, err := s.ClaimChat(ctx, a, ana.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConvertChatToTicket(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got := []int{pos(a), pos(b), pos(c)}; !slices.Equal(got, []int{0, 0, 1}) {
		t.Errorf("positions after a claim and a conversion: got %v, want [0 0 1]", got)
	}
	if n, err := s.QueueLength(ctx); err != nil || n != 1 {
		t.Errorf("queue length: got %d, %v; want 1", n, err)
	}
	queued, err := s.QueuedChats(ctx)
	if err != nil || len(queued) != 1 || queued[0].ConversationID != c {
		t.Errorf("queued chats: got %+v, %v; want only %d", queued, err, c)
	}
	if _, _, err := s.QueuePosition(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("position without a chat: got %v, want ErrNotFound", err)
	}
	// A visitor who asks again after their chat ended is queued again, last.
	if _, err := s.CloseChat(ctx, a, ana.ID); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Second)
	if ch, err := s.EnqueueChat(ctx, a, "", ""); err != nil || !ch.Created || ch.Chat.Status != ChatQueued || ch.Chat.AgentID != 0 {
		t.Errorf("enqueue after close: got %+v, %v; want queued again, without agent", ch, err)
	}
	if got := []int{pos(c), pos(a)}; !slices.Equal(got, []int{1, 2}) {
		t.Errorf("positions after the requeue: got %v, want [1 2]", got)
	}
}

func TestQueuedChatsShowWhatAnAgentNeeds(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	plain := queuedChat(t, s)
	vouched := queuedChat(t, s)
	if _, err := s.write.ExecContext(ctx, `UPDATE conversations SET identity_email = 'ana@example.org', identity_expires_at = ? WHERE id = ?`,
		time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano), vouched); err != nil {
		t.Fatal(err)
	}
	expired := queuedChat(t, s)
	if _, err := s.write.ExecContext(ctx, `UPDATE conversations SET identity_email = 'bo@example.org', identity_expires_at = ? WHERE id = ?`,
		time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano), expired); err != nil {
		t.Fatal(err)
	}
	chats, err := s.QueuedChats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]Chat{}
	for _, c := range chats {
		got[c.ConversationID] = c
	}
	if c := got[plain]; c.Verified || c.Lang != "fr" || c.PageURL != "https://shop.example/cart" || c.Topic != "billing" || c.LastSeq != 1 {
		t.Errorf("plain chat: got %+v, want unverified, fr, its page and topic, last seq 1", c)
	}
	if c := got[vouched]; !c.Verified || c.VerifiedEmail != "ana@example.org" {
		t.Errorf("vouched-for chat: got %+v, want verified as ana@example.org", c)
	}
	if c := got[expired]; c.Verified {
		t.Errorf("chat with an expired identity: got %+v, want unverified", c)
	}
}

func TestEstimateWait(t *testing.T) {
	m := time.Minute
	tests := []struct {
		name     string
		waits    []time.Duration
		position int
		want     time.Duration
	}{
		{"no history: the default per position", nil, 3, 3 * DefaultChatWait},
		{"the median, not the mean", []time.Duration{m, 2 * m, 30 * m}, 1, 2 * m},
		{"an even sample averages the middle two", []time.Duration{m, 2 * m, 4 * m, 30 * m}, 2, 6 * m},
		{"times the position", []time.Duration{3 * m}, 4, 12 * m},
		{"never under a minute", []time.Duration{5 * time.Second}, 1, MinChatWait},
		{"never over an hour", []time.Duration{50 * m}, 3, MaxChatWait},
		{"position 0 counts as next", nil, 0, DefaultChatWait},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := estimateWait(tt.waits, tt.position); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWaitEstimateLearnsFromClaims(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	ana := addTestAgent(t, s, "Ana")
	if d, err := s.WaitEstimate(ctx, 2); err != nil || d != 2*DefaultChatWait {
		t.Errorf("no claims yet: got %v, %v; want %v", d, err, 2*DefaultChatWait)
	}
	clock := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return clock }
	for _, wait := range []time.Duration{3 * time.Minute, 5 * time.Minute, 4 * time.Minute} {
		id := queuedChat(t, s)
		clock = clock.Add(wait)
		if _, err := s.ClaimChat(ctx, id, ana.ID); err != nil {
			t.Fatal(err)
		}
	}
	if d, err := s.WaitEstimate(ctx, 2); err != nil || d != 8*time.Minute {
		t.Errorf("after claims of 3, 5 and 4 min: got %v, %v; want 8m (median 4m × 2)", d, err)
	}
}

func TestQueueText(t *testing.T) {
	tests := []struct {
		lang     string
		position int
		wait     time.Duration
		want     string
	}{
		{"fr", 2, 3 * time.Minute, "Vous êtes n° 2 dans la file, attente estimée : 3 min"},
		{"en", 2, 3 * time.Minute, "You are number 2 in the queue, estimated wait: 3 min"},
		{"fr", 1, 150 * time.Second, "Vous êtes n° 1 dans la file, attente estimée : 3 min"},
		{"en", 5, time.Hour, "You are number 5 in the queue, estimated wait: 1 h"},
		{"en", 9, 90 * time.Minute, "You are number 9 in the queue, estimated wait: 1 h 30 min"},
	}
	for _, tt := range tests {
		if got := QueueText(tt.lang, tt.position, tt.wait); got != tt.want {
			t.Errorf("%s, %d, %v: got %q, want %q", tt.lang, tt.position, tt.wait, got, tt.want)
		}
	}
}

func TestActiveChatsListsEveryChatUnderWayAndNoOther(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	ana, bo := addTestAgent(t, s, "Ana"), addTestAgent(t, s, "Bo")
	waiting := queuedChat(t, s)
	anas, bos, ended := queuedChat(t, s), queuedChat(t, s), queuedChat(t, s)
	for _, c := range []struct{ conv, agent int64 }{{anas, ana.ID}, {bos, bo.ID}, {ended, ana.ID}} {
		if _, err := s.ClaimChat(ctx, c.conv, c.agent); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CloseChat(ctx, ended, ana.ID); err != nil {
		t.Fatal(err)
	}
	chats, err := s.ActiveChats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range chats {
		got = append(got, fmt.Sprintf("%d:%s:%s", c.ConversationID, c.Status, c.AgentName))
	}
	want := []string{fmt.Sprintf("%d:active:Ana", anas), fmt.Sprintf("%d:active:Bo", bos)}
	if !slices.Equal(got, want) {
		t.Errorf("active chats: got %v, want %v (not %d, queued, nor %d, ended)", got, want, waiting, ended)
	}
}

func TestRemovedAgentsNeitherTakeNorReceiveChats(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	ana, bo := addTestAgent(t, s, "Ana"), addTestAgent(t, s, "Bo")
	gone := addTestAgent(t, s, "Carl")
	if _, err := s.RemoveAgent(ctx, gone.Email); err != nil {
		t.Fatal(err)
	}
	active := queuedChat(t, s)
	if _, err := s.ClaimChat(ctx, active, ana.ID); err != nil {
		t.Fatal(err)
	}
	queued := queuedChat(t, s)

	tests := []struct {
		name string
		conv int64
		do   func() (ChatChange, error)
	}{
		{"a transfer to a removed agent", active, func() (ChatChange, error) { return s.TransferChat(ctx, active, ana.ID, gone.ID) }},
		{"a transfer to an agent who never existed", active, func() (ChatChange, error) { return s.TransferChat(ctx, active, ana.ID, 999) }},
		{"a claim by a removed agent", queued, func() (ChatChange, error) { return s.ClaimChat(ctx, queued, gone.ID) }},
		{"a claim by an agent who never existed", queued, func() (ChatChange, error) { return s.ClaimChat(ctx, queued, 999) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := s.ChatOf(ctx, tt.conv)
			if err != nil {
				t.Fatal(err)
			}
			notes := kinds(t, s, tt.conv, 0)
			_, err = tt.do()
			if !errors.Is(err, ErrAgentGone) || ErrorCode(err) != ENOTFOUND {
				t.Errorf("got %v (code %q), want ErrAgentGone, a not_found", err, ErrorCode(err))
			}
			after, err := s.ChatOf(ctx, tt.conv)
			if err != nil {
				t.Fatal(err)
			}
			if after.Status != before.Status || after.AgentID != before.AgentID {
				t.Errorf("chat: got %s held by %d, want %s held by %d, unchanged", after.Status, after.AgentID, before.Status, before.AgentID)
			}
			if got := kinds(t, s, tt.conv, 0); !slices.Equal(got, notes) {
				t.Errorf("messages: got %v, want %v: no note for a refused change", got, notes)
			}
		})
	}

	t.Run("a removed agent invited again can receive a chat", func(t *testing.T) {
		if _, err := s.InviteAgent(ctx, gone.Email, "Carl", AgentRoleAgent); err != nil {
			t.Fatal(err)
		}
		ch, err := s.TransferChat(ctx, active, ana.ID, gone.ID)
		if err != nil {
			t.Fatalf("transfer to the agent back: %v", err)
		}
		if ch.Chat.AgentID != gone.ID || ch.Note.Kind != KindChatTransferred {
			t.Errorf("got chat %+v with note %s, want Carl's after a chat_transferred note", ch.Chat, ch.Note.Kind)
		}
	})
	t.Run("an agent removed while holding a chat can hand it over no more", func(t *testing.T) {
		if _, err := s.RemoveAgent(ctx, gone.Email); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TransferChat(ctx, active, gone.ID, bo.ID); !errors.Is(err, ErrAgentGone) {
			t.Errorf("got %v, want ErrAgentGone", err)
		}
	})
}
