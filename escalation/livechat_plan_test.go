package escalation

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

// queryPlan returns the detail lines of SQLite's plan for query.
func queryPlan(t *testing.T, s *Store, query string, args ...any) []string {
	t.Helper()
	rows, err := s.read.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// scanOfChats matches a plan step that walks the chats table (aliased ch
// in the lists) rather than searching it: "SCAN chats", "SCAN ch USING
// INDEX chats_agent"…
var scanOfChats = regexp.MustCompile(`^SCAN (ch|chats)\b`)

// fillEndedChats stores n conversations whose chats ended long ago, held
// by agentID, in one transaction: the history a help center piles up,
// which the lists must not read.
func fillEndedChats(t *testing.T, s *Store, n int, agentID int64) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.beginWrite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const old = "2025-01-01T00:00:00.000000000Z"
	if _, err := tx.ExecContext(ctx, `
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO conversations (token_hash, lang, created_at, updated_at)
		SELECT randomblob(32), 'fr', ?, ? FROM n`, n, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO chats (conversation_id, status, queued_at, claimed_at, agent_id, closed_at)
		SELECT id, 'closed', ?, ?, ?, ? FROM conversations WHERE id NOT IN (SELECT conversation_id FROM chats)`,
		old, old, agentID, old); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestLiveChatListsReadOnlyLiveChatsThroughTheirIndexes(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	ana := addTestAgent(t, s, "Ana")
	for range 3 {
		id := queuedChat(t, s)
		if _, err := s.ClaimChat(ctx, id, ana.ID); err != nil {
			t.Fatal(err)
		}
		queuedChat(t, s)
	}
	tests := []struct {
		name      string
		query     string
		args      []any
		wantIndex string
	}{
		{"the queue, longest wait first", queuedChatsQuery, nil, "chats_queue"},
		{"all open chats, oldest claim first", activeChatsQuery, nil, "chats_active"},
		{"one agent's chats, oldest claim first", agentChatsQuery, []any{ana.ID}, "chats_agent_active"},
		{"the queue's length", queueLengthQuery, nil, "chats_queue"},
	}
	check := func(t *testing.T, query string, args []any, wantIndex string) {
		t.Helper()
		plan := queryPlan(t, s, query, args...)
		text := strings.Join(plan, "\n")
		if !regexp.MustCompile(`USING (COVERING )?INDEX ` + wantIndex + `\b`).MatchString(text) {
			t.Errorf("got plan\n%s\nwant it to read %s", text, wantIndex)
		}
		for _, step := range plan {
			if scanOfChats.MatchString(step) && !strings.HasSuffix(step, "INDEX "+wantIndex) {
				t.Errorf("got step %q: a scan of chats that is not the partial index %s\n%s", step, wantIndex, text)
			}
			if strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, " USING ") {
				t.Errorf("got step %q: a full table scan\n%s", step, text)
			}
			if strings.Contains(step, "TEMP B-TREE") {
				t.Errorf("got step %q: a sort the index should spare\n%s", step, text)
			}
		}
	}
	for _, tt := range tests {
		t.Run(tt.name+", without statistics", func(t *testing.T) {
			check(t, tt.query, tt.args, tt.wantIndex)
		})
	}

	// With statistics of a database where almost every chat ended, the
	// planner weighs the tables' real sizes: the lists must still read
	// the live rows alone.
	fillEndedChats(t, s, 2000, ana.ID)
	if _, err := s.write.ExecContext(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name+", after ANALYZE", func(t *testing.T) {
			check(t, tt.query, tt.args, tt.wantIndex)
		})
	}

	// The lists still say the same thing through their indexes.
	queued, err := s.QueuedChats(ctx)
	if err != nil || len(queued) != 3 {
		t.Errorf("queued chats: got %d, %v; want 3", len(queued), err)
	}
	active, err := s.ActiveChats(ctx)
	if err != nil || len(active) != 3 {
		t.Errorf("active chats: got %d, %v; want 3", len(active), err)
	}
	mine, err := s.AgentChats(ctx, ana.ID)
	if err != nil || len(mine) != 3 {
		t.Errorf("Ana's chats: got %d, %v; want 3", len(mine), err)
	}
}
