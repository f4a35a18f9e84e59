package escalation

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// newConversation creates a conversation or fails the test.
func newConversation(t *testing.T, s *Store) (Conversation, string) {
	t.Helper()
	c, token, err := s.CreateConversation(context.Background(), "fr", "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	return c, token
}

// appendMsg appends a message or fails the test.
func appendMsg(t *testing.T, s *Store, m NewMessage) (Message, bool) {
	t.Helper()
	msg, created, err := s.AppendMessage(context.Background(), m)
	if err != nil {
		t.Fatalf("append %+v: %v", m, err)
	}
	return msg, created
}

func TestCreateConversationStoresOnlyTheTokenHash(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c, token := newConversation(t, s)
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 32 {
		t.Fatalf("token %q: got %d bytes (%v), want 32 bytes of base64url", token, len(raw), err)
	}
	var stored []byte
	if err := s.read.QueryRowContext(ctx, `SELECT token_hash FROM conversations WHERE id = ?`, c.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256(raw); string(stored) != string(want[:]) {
		t.Errorf("token_hash: got %x, want sha256 of the token %x", stored, want)
	}
	// The token itself appears nowhere in the database.
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM conversations WHERE instr(token_hash, ?) OR instr(origin, ?)`,
		token, token).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("got the token stored in %d rows, want none", n)
	}
	_, token2 := newConversation(t, s)
	if token2 == token {
		t.Error("two conversations got the same token")
	}
}

func TestConversationByToken(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c, token := newConversation(t, s)
	other, _ := newConversation(t, s)
	got, err := s.ConversationByToken(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != c.ID || got.ID == other.ID || got.Lang != "fr" || got.Origin != "https://shop.example" || got.CreatedAt.IsZero() {
		t.Errorf("got %+v, want %+v", got, c)
	}
	unknown := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	for name, tok := range map[string]string{
		"empty":           "",
		"unknown":         unknown,
		"too short":       token[:20],
		"too long":        token + "A",
		"not base64url":   strings.Repeat("!", len(token)),
		"standard base64": strings.Repeat("+", len(token)),
	} {
		_, err := s.ConversationByToken(ctx, tok)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s token: got %v, want ErrNotFound", name, err)
		}
	}
}

func TestCreateConversationValidates(t *testing.T) {
	s := openTest(t)
	for _, tt := range []struct{ name, lang, origin string }{
		{"no language", "", ""},
		{"long origin", "en", "https://" + strings.Repeat("a", 400)},
		{"bad UTF-8 origin", "en", "https://\xff"},
	} {
		_, _, err := s.CreateConversation(context.Background(), tt.lang, tt.origin)
		if ErrorCode(err) != EINVALID {
			t.Errorf("%s: got %v, want a validation error", tt.name, err)
		}
	}
}

func TestAppendMessageNumbersWithoutGaps(t *testing.T) {
	s := openTest(t)
	c, _ := newConversation(t, s)
	other, _ := newConversation(t, s)
	steps := []struct {
		name        string
		msg         NewMessage
		wantSeq     int64
		wantCreated bool
	}{
		{"first visitor message", NewMessage{c.ID, RoleVisitor, "c1", 0, "text", "bonjour"}, 1, true},
		{"bot reply", NewMessage{c.ID, RoleBot, "", 1, "small_talk", `{"kind":"small_talk"}`}, 2, true},
		{"other conversation starts at 1", NewMessage{other.ID, RoleVisitor, "c1", 0, "text", "hello"}, 1, true},
		{"resend of c1 returns the original", NewMessage{c.ID, RoleVisitor, "c1", 0, "text", "bonjour"}, 1, false},
		{"second reply to seq 1 returns the first", NewMessage{c.ID, RoleBot, "", 1, "answer", `{"kind":"answer"}`}, 2, false},
		{"next visitor message", NewMessage{c.ID, RoleVisitor, "c2", 0, "text", "horaires ?"}, 3, true},
		{"system message without ids", NewMessage{c.ID, RoleSystem, "", 0, "person_request", `{"channel":"email"}`}, 4, true},
		{"another system message", NewMessage{c.ID, RoleSystem, "", 0, "person_request", `{"channel":"chat"}`}, 5, true},
	}
	for _, st := range steps {
		got, created := appendMsg(t, s, st.msg)
		if got.Seq != st.wantSeq || created != st.wantCreated {
			t.Errorf("%s: got seq %d created %v, want seq %d created %v", st.name, got.Seq, created, st.wantSeq, st.wantCreated)
		}
	}
	msgs, err := s.MessagesAfter(context.Background(), c.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 5 {
		t.Fatalf("got %d messages, want 5 (resends stored once)", len(msgs))
	}
	for i, m := range msgs {
		if m.Seq != int64(i+1) {
			t.Errorf("message %d: got seq %d, want %d", i, m.Seq, i+1)
		}
	}
	if msgs[0].Body != "bonjour" || msgs[0].ClientID != "c1" || msgs[1].ReplyTo != 1 || msgs[1].Kind != "small_talk" {
		t.Errorf("got %+v and %+v, want the first copies kept", msgs[0], msgs[1])
	}
}

func TestMessagesAfter(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c, _ := newConversation(t, s)
	for i := 1; i <= 7; i++ {
		appendMsg(t, s, NewMessage{ConversationID: c.ID, Role: RoleVisitor, ClientID: fmt.Sprint("m", i), Kind: "text", Body: fmt.Sprint(i)})
	}
	tests := []struct {
		name     string
		after    int64
		limit    int
		wantSeqs string
	}{
		{"all", 0, 0, "1 2 3 4 5 6 7"},
		{"after 4", 4, 0, "5 6 7"},
		{"after the last", 7, 0, ""},
		{"after more than there is", 99, 0, ""},
		{"one page", 2, 3, "3 4 5"},
	}
	for _, tt := range tests {
		msgs, err := s.MessagesAfter(ctx, c.ID, tt.after, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []string
		for _, m := range msgs {
			seqs = append(seqs, fmt.Sprint(m.Seq))
		}
		if got := strings.Join(seqs, " "); got != tt.wantSeqs {
			t.Errorf("%s: got seqs %q, want %q", tt.name, got, tt.wantSeqs)
		}
	}
}

func TestAppendMessageValidates(t *testing.T) {
	s := openTest(t)
	c, _ := newConversation(t, s)
	tests := []struct {
		name     string
		msg      NewMessage
		wantCode string
	}{
		{"unknown role", NewMessage{c.ID, "robot", "", 0, "text", "x"}, EINVALID},
		{"no kind", NewMessage{c.ID, RoleVisitor, "a", 0, "", "x"}, EINVALID},
		{"empty body", NewMessage{c.ID, RoleVisitor, "a", 0, "text", ""}, EINVALID},
		{"huge body", NewMessage{c.ID, RoleVisitor, "a", 0, "text", strings.Repeat("x", 65<<10)}, EINVALID},
		{"long client id", NewMessage{c.ID, RoleVisitor, strings.Repeat("a", 65), 0, "text", "x"}, EINVALID},
		{"client id and reply", NewMessage{c.ID, RoleBot, "a", 1, "answer", "x"}, EINVALID},
		{"bad UTF-8", NewMessage{c.ID, RoleVisitor, "a", 0, "text", "\xff"}, EINVALID},
		{"no such conversation", NewMessage{c.ID + 100, RoleVisitor, "a", 0, "text", "x"}, ENOTFOUND},
	}
	for _, tt := range tests {
		_, _, err := s.AppendMessage(context.Background(), tt.msg)
		if got := ErrorCode(err); got != tt.wantCode {
			t.Errorf("%s: got code %q (%v), want %q", tt.name, got, err, tt.wantCode)
		}
	}
}

// TestAppendMessageConcurrent appends from many goroutines, including
// resends of the same client ids, and checks the numbering has no gaps and
// no duplicates.
func TestAppendMessageConcurrent(t *testing.T) {
	s := openTest(t)
	c, _ := newConversation(t, s)
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each*2)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				// Every message is sent twice, as a client resending after a lost ack.
				for range 2 {
					_, _, err := s.AppendMessage(context.Background(), NewMessage{ConversationID: c.ID, Role: RoleVisitor,
						ClientID: fmt.Sprintf("w%d-%d", w, i), Kind: "text", Body: "x"})
					if err != nil {
						errs <- err
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	msgs, err := s.MessagesAfter(context.Background(), c.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != writers*each {
		t.Fatalf("got %d messages, want %d", len(msgs), writers*each)
	}
	for i, m := range msgs {
		if m.Seq != int64(i+1) {
			t.Fatalf("message %d: got seq %d, want %d", i, m.Seq, i+1)
		}
	}
}

func TestReplyTo(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c, _ := newConversation(t, s)
	q, _ := appendMsg(t, s, NewMessage{ConversationID: c.ID, Role: RoleVisitor, ClientID: "q", Kind: "text", Body: "?"})
	if _, found, err := s.ReplyTo(ctx, c.ID, q.Seq); err != nil || found {
		t.Fatalf("before the reply: got found %v, %v; want false", found, err)
	}
	r, _ := appendMsg(t, s, NewMessage{ConversationID: c.ID, Role: RoleBot, ReplyTo: q.Seq, Kind: "answer", Body: "{}"})
	got, found, err := s.ReplyTo(ctx, c.ID, q.Seq)
	if err != nil || !found || got.Seq != r.Seq {
		t.Errorf("after the reply: got %+v, %v, %v; want seq %d", got, found, err, r.Seq)
	}
}

// answers appends n bot answers (each after a visitor question) and
// returns their seqs.
func answers(t *testing.T, s *Store, convID int64, n int) []int64 {
	t.Helper()
	var seqs []int64
	for i := range n {
		q, _ := appendMsg(t, s, NewMessage{ConversationID: convID, Role: RoleVisitor, ClientID: fmt.Sprint("q", i), Kind: "text", Body: "?"})
		a, _ := appendMsg(t, s, NewMessage{ConversationID: convID, Role: RoleBot, ReplyTo: q.Seq, Kind: KindAnswer, Body: "{}"})
		seqs = append(seqs, a.Seq)
	}
	return seqs
}

func TestRecordAnswerVoteOnePerAnswer(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c, _ := newConversation(t, s)
	a := answers(t, s, c.ID, 1)[0]
	steps := []struct {
		name        string
		helpful     bool
		wantChanged bool
	}{
		{"first vote", false, true},
		{"same vote again", false, false},
		{"change of mind", true, true},
		{"and back", false, true},
	}
	for _, st := range steps {
		changed, err := s.RecordAnswerVote(ctx, c.ID, a, st.helpful)
		if err != nil {
			t.Fatal(err)
		}
		if changed != st.wantChanged {
			t.Errorf("%s: got changed %v, want %v", st.name, changed, st.wantChanged)
		}
	}
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM answer_votes`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("got %d vote rows, want 1", n)
	}
}

func TestRecordAnswerVoteOnlyOnAnswers(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c, _ := newConversation(t, s)
	other, _ := newConversation(t, s)
	a := answers(t, s, c.ID, 1)[0]
	clarify, _ := appendMsg(t, s, NewMessage{ConversationID: c.ID, Role: RoleBot, Kind: "clarify", Body: "{}"})
	for _, tt := range []struct {
		name   string
		convID int64
		seq    int64
	}{
		{"visitor message", c.ID, a - 1},
		{"bot message that is not an answer", c.ID, clarify.Seq},
		{"no such seq", c.ID, 99},
		{"answer of another conversation", other.ID, a},
	} {
		if _, err := s.RecordAnswerVote(ctx, tt.convID, tt.seq, false); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: got %v, want ErrNotFound", tt.name, err)
		}
	}
}

func TestUnhelpfulStreak(t *testing.T) {
	tests := []struct {
		name  string
		votes []int // per answer: -1 unhelpful, 1 helpful, 0 no vote
		want  int
	}{
		{"no votes", []int{0, 0}, 0},
		{"one unhelpful", []int{-1}, 1},
		{"two unhelpful in a row", []int{-1, -1}, 2},
		{"helpful breaks the streak", []int{-1, 1, -1}, 1},
		{"latest helpful", []int{-1, -1, 1}, 0},
		{"unvoted answers do not break it", []int{-1, 0, -1}, 2},
		{"three in a row", []int{1, -1, -1, -1}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t)
			ctx := context.Background()
			c, _ := newConversation(t, s)
			seqs := answers(t, s, c.ID, len(tt.votes))
			for i, v := range tt.votes {
				if v != 0 {
					if _, err := s.RecordAnswerVote(ctx, c.ID, seqs[i], v > 0); err != nil {
						t.Fatal(err)
					}
				}
			}
			got, err := s.UnhelpfulStreak(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got streak %d, want %d", got, tt.want)
			}
		})
	}
}

func TestConversationSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bulle.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	c, token, err := s.CreateConversation(ctx, "en", "")
	if err != nil {
		t.Fatal(err)
	}
	appendMsg(t, s, NewMessage{ConversationID: c.ID, Role: RoleVisitor, ClientID: "a", Kind: "text", Body: "hi"})
	s.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.ConversationByToken(ctx, token)
	if err != nil || got.ID != c.ID || got.LastSeq != 1 {
		t.Fatalf("after reopen: got %+v, %v; want conversation %d at last seq 1", got, err, c.ID)
	}
	if m, created := appendMsg(t, s, NewMessage{ConversationID: c.ID, Role: RoleVisitor, ClientID: "a", Kind: "text", Body: "hi"}); created || m.Seq != 1 {
		t.Errorf("resend after reopen: got seq %d created %v, want seq 1 not created", m.Seq, created)
	}
}

// Appends queued together are committed in one transaction; one that
// fails (an unknown conversation, a cancelled request) must not take the
// others down with it.
func TestGroupCommitFailsAppendsOneByOne(t *testing.T) {
	s := openTest(t)
	c, _ := newConversation(t, s)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	batch := []appendRequest{
		{ctx: context.Background(), m: NewMessage{ConversationID: c.ID, Role: RoleVisitor, ClientID: "a", Kind: "text", Body: "one"}},
		{ctx: context.Background(), m: NewMessage{ConversationID: c.ID + 999, Role: RoleVisitor, ClientID: "b", Kind: "text", Body: "lost"}},
		{ctx: cancelled, m: NewMessage{ConversationID: c.ID, Role: RoleVisitor, ClientID: "c", Kind: "text", Body: "gone"}},
		{ctx: context.Background(), m: NewMessage{ConversationID: c.ID, Role: RoleVisitor, ClientID: "d", Kind: "text", Body: "two"}},
		{ctx: context.Background(), m: NewMessage{ConversationID: c.ID, Role: RoleVisitor, ClientID: "a", Kind: "text", Body: "one"}},
	}
	for i := range batch {
		batch[i].done = make(chan appendResult, 1)
	}
	s.appendBatch(batch, nil)
	got := make([]appendResult, len(batch))
	for i, r := range batch {
		got[i] = <-r.done
	}
	if got[0].err != nil || got[0].msg.Seq != 1 || !got[0].created {
		t.Errorf("first append: %+v, want seq 1 created", got[0])
	}
	if !errors.Is(got[1].err, ErrNotFound) {
		t.Errorf("unknown conversation: got %v, want ErrNotFound", got[1].err)
	}
	if !errors.Is(got[2].err, context.Canceled) {
		t.Errorf("cancelled request: got %v, want context.Canceled", got[2].err)
	}
	if got[3].err != nil || got[3].msg.Seq != 2 {
		t.Errorf("append after a failed one: %+v, want seq 2", got[3])
	}
	if got[4].err != nil || got[4].created || got[4].msg.Seq != 1 {
		t.Errorf("resend within the batch: %+v, want the original seq 1, not created", got[4])
	}
	msgs, err := s.MessagesAfter(context.Background(), c.ID, 0, 0)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("stored %d messages (%v), want 2", len(msgs), err)
	}
}

func TestAppendAfterCloseFailsInsteadOfHanging(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "bulle.db"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newConversation(t, s)
	s.Close()
	if _, _, err := s.AppendMessage(context.Background(), NewMessage{ConversationID: c.ID, Role: RoleVisitor,
		ClientID: "x", Kind: "text", Body: "late"}); err == nil {
		t.Fatal("append on a closed store succeeded")
	}
}
