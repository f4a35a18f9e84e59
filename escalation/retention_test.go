package escalation

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// newPrivacyDesk is a desk with a fake clock and an attachments folder.
func newPrivacyDesk(t *testing.T) (*Desk, *Store, *Files, *clock, string) {
	t.Helper()
	d, s := newTestDesk(t)
	dir := t.TempDir()
	files, err := NewFiles(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	d.opt.Files = files
	c := &clock{now: time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC)}
	s.Now = c.Now
	return d, s, files, c, dir
}

// count runs a COUNT query.
func count(t *testing.T, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.read.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// searchCount is how many messages the full-text index finds for word.
func searchCount(t *testing.T, s *Store, word string) int {
	return count(t, s, `SELECT COUNT(*) FROM message_search WHERE message_search MATCH ?`, word)
}

// filesIn lists the files of the attachments folder.
func filesIn(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func newTicketWithFile(t *testing.T, d *Desk, email, message string) CreatedTicket {
	t.Helper()
	tk, err := d.CreateTicket(context.Background(), NewTicket{Lang: "en", Topic: "bug", Email: email, Message: message,
		Attachments: []NewAttachment{{Name: "screen.png", Data: screenshotPNG}}})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestDeleteInactiveDeletesOnlyWhatIsOld(t *testing.T) {
	ctx := context.Background()
	d, s, files, c, dir := newPrivacyDesk(t)
	start := c.now

	old := newTicketWithFile(t, d, "ana@example.org", "zebrawordold broken checkout")
	if _, err := d.StartVerification(ctx, old.ID, ""); err != nil {
		t.Fatal(err)
	}
	// A conversation started long ago, with a message yesterday.
	longConv, _, err := s.CreateConversation(ctx, "en", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppendMessage(ctx, NewMessage{ConversationID: longConv.ID, Role: RoleVisitor, Kind: "text",
		Body: "giraffewordancient"}); err != nil {
		t.Fatal(err)
	}
	c.now = start.AddDate(0, 0, 99)
	if _, _, err := s.AppendMessage(ctx, NewMessage{ConversationID: longConv.ID, Role: RoleVisitor, Kind: "text",
		Body: "still here"}); err != nil {
		t.Fatal(err)
	}
	recent := newTicketWithFile(t, d, "bob@example.org", "okapiwordrecent refund")
	if got := len(filesIn(t, dir)); got != 2 {
		t.Fatalf("got %d files before, want 2", got)
	}

	c.now = start.AddDate(0, 0, 100)
	del, err := SweepInactive(ctx, s, files, 30)
	if err != nil {
		t.Fatal(err)
	}
	if del.Conversations != 1 || del.Tickets != 1 || del.Attachments != 1 || del.Codes != 1 || del.Mail < 2 || del.Messages < 1 {
		t.Errorf("got %+v, want 1 conversation, 1 ticket, 1 attachment, 1 code and its mail", del)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM tickets WHERE id = ?`, old.ID); n != 0 {
		t.Errorf("old ticket: got %d rows, want 0", n)
	}
	for _, q := range []string{`messages`, `attachments`, `outbox`, `transcripts`, `chats`, `uploads`} {
		if n := count(t, s, `SELECT COUNT(*) FROM `+q+` WHERE conversation_id = ?`, old.ConversationID); n != 0 {
			t.Errorf("%s of the old conversation: got %d rows, want 0", q, n)
		}
	}
	if n := count(t, s, `SELECT COUNT(*) FROM verification_codes`); n != 0 {
		t.Errorf("verification codes: got %d, want 0", n)
	}
	if n := searchCount(t, s, "zebrawordold"); n != 0 {
		t.Errorf("search for the old ticket's words: got %d hits, want 0", n)
	}
	if n := searchCount(t, s, "giraffewordancient"); n != 1 {
		t.Errorf("search in the long conversation with a recent message: got %d hits, want 1", n)
	}
	if n := searchCount(t, s, "okapiwordrecent"); n != 1 {
		t.Errorf("search for the recent ticket's words: got %d hits, want 1", n)
	}
	if _, err := s.Ticket(ctx, recent.ID); err != nil {
		t.Errorf("recent ticket: %v", err)
	}
	if got := filesIn(t, dir); len(got) != 1 {
		t.Errorf("got files %v, want only the recent ticket's", got)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM attachments WHERE conversation_id = ?`, recent.ConversationID); n != 1 {
		t.Errorf("recent attachments: got %d, want 1", n)
	}

	// A second sweep finds nothing more.
	if del, err := SweepInactive(ctx, s, files, 30); err != nil || !del.Empty() {
		t.Errorf("second sweep: got %+v, %v, want nothing deleted", del, err)
	}
}

func TestDeleteInactiveKeepsAConversationWhoseTicketChanged(t *testing.T) {
	ctx := context.Background()
	d, s, _, c, _ := newPrivacyDesk(t)
	tk := newTicketWithFile(t, d, "ana@example.org", "hello")
	c.now = c.now.AddDate(0, 0, 60)
	if _, err := s.write.ExecContext(ctx, `UPDATE tickets SET updated_at = ? WHERE id = ?`, s.now(), tk.ID); err != nil {
		t.Fatal(err)
	}
	del, err := s.DeleteInactive(ctx, c.now.AddDate(0, 0, -30))
	if err != nil || del.Conversations != 0 {
		t.Fatalf("got %+v, %v, want nothing deleted", del, err)
	}
}

func TestDeleteInactiveWorksInBatches(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	c := &clock{now: time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC)}
	s.Now = c.Now
	n := retentionBatch + 20
	for range n {
		conv, _, err := s.CreateConversation(ctx, "en", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.AppendMessage(ctx, NewMessage{ConversationID: conv.ID, Role: RoleVisitor, Kind: "text", Body: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	del, err := s.DeleteInactive(ctx, c.now.Add(time.Second))
	if err != nil || del.Conversations != n || del.Messages != n {
		t.Fatalf("got %+v, %v, want %d conversations and messages", del, err, n)
	}
	if left := count(t, s, `SELECT COUNT(*) FROM conversations`); left != 0 {
		t.Errorf("got %d conversations left, want 0", left)
	}
}

func TestCutoffComparesStoredTimesBySecond(t *testing.T) {
	cut := cutoffText(time.Date(2025, 1, 1, 0, 0, 1, 0, time.UTC))
	for _, tt := range []struct {
		stored string
		older  bool
	}{
		{"2025-01-01T00:00:00Z", true},
		{"2025-01-01T00:00:00.999Z", true},
		{"2025-01-01T00:00:01Z", false},
		{"2025-01-01T00:00:01.5Z", false},
		{"2025-01-01T00:00:00.000000000Z", true},
	} {
		if got := tt.stored < cut; got != tt.older {
			t.Errorf("%s < %s: got %v, want %v", tt.stored, cut, got, tt.older)
		}
	}
}

func TestDeleteInactiveDeletesOldSearchesAndKeepsArticleViews(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	c := &clock{now: time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC)}
	s.Now = c.Now
	rec := NewInsightsRecorder(s, InsightsOptions{MaxPending: 2 * searchRetentionBatch})
	// More old searches than one batch deletes, so that the sweep loops.
	old := searchRetentionBatch + 3
	for i := range old {
		rec.SearchDone("en", fmt.Sprintf("old question %d", i), 1)
	}
	rec.ArticleRead("en", "billing/refund")
	c.now = c.now.AddDate(0, 0, 40)
	recent := rec.SearchDone("en", "recent question", 0)
	rec.ArticleRead("en", "billing/refund")
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	del, err := SweepInactive(ctx, s, nil, 30)
	if err != nil {
		t.Fatal(err)
	}
	if del.Searches != old {
		t.Errorf("got %d searches deleted, want %d", del.Searches, old)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM searches`); n != 1 {
		t.Errorf("got %d searches left, want the recent one", n)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM searches WHERE id = ? AND query = 'recent question'`, recent); n != 1 {
		t.Errorf("the recent search is gone")
	}
	if n := count(t, s, `SELECT COALESCE(SUM(views), 0) FROM article_views`); n != 2 {
		t.Errorf("got %d article views left, want both days' (they hold nothing personal)", n)
	}
	if del, err := SweepInactive(ctx, s, nil, 30); err != nil || !del.Empty() {
		t.Errorf("second sweep: got %+v, %v, want nothing deleted", del, err)
	}
}
