package escalation

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"sort"
	"testing"
)

// TestMigration014KeepsTicketsAndTheirCodes opens a database as it stood
// before 014, with a ticket and its verification code, and checks that the
// rebuilt tickets table keeps every row and id, still refuses a code for
// no ticket, and takes a second ticket on the same conversation.
func TestMigration014KeepsTicketsAndTheirCodes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bulle.db")
	db := sql.OpenDB(newConnector(path, writerParams))
	db.SetMaxOpenConns(1)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	exec(`CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`)
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	for _, name := range names {
		if name >= "migrations/014" {
			break
		}
		body, err := fs.ReadFile(migrationFS, name)
		if err != nil {
			t.Fatal(err)
		}
		exec(string(body))
		exec(`INSERT INTO migrations (name, applied_at) VALUES (?, '2026-01-01T00:00:00Z')`, name)
	}
	const at = "2026-01-01T00:00:00Z"
	exec(`INSERT INTO conversations (id, token_hash, lang, created_at, updated_at) VALUES (7, zeroblob(32), 'fr', ?, ?)`, at, at)
	exec(`INSERT INTO tickets (id, ref, conversation_id, topic, queue, tags, email, name, lang, page_url, status,
		verified_at, verified_by, root_message_id, last_message_id, created_at, updated_at)
		VALUES (42, 'K7Q-4821', 7, 'account', 'accounts', 'account', 'ana@example.org', 'Ana', 'fr', 'https://shop.example/',
		'pending', ?, 'code', '<root@x>', '<last@x>', ?, ?)`, at, at, at)
	exec(`INSERT INTO verification_codes (id, ticket_id, code_hash, email, expires_at, created_at)
		VALUES (3, 42, zeroblob(32), 'ana@example.org', ?, ?)`, at, at)
	if _, err := db.ExecContext(ctx, `INSERT INTO tickets (ref, conversation_id, topic, queue, email, lang, root_message_id,
		last_message_id, created_at, updated_at) VALUES ('B2B-0001', 7, 'other', 'support', 'a@b.c', 'fr', '<r>', '<r>', ?, ?)`, at, at); err == nil {
		t.Fatal("before 014, a second ticket on a conversation should be refused")
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tk, err := s.Ticket(ctx, 42)
	if err != nil || tk.Ref != "K7Q-4821" || tk.ConversationID != 7 || tk.Status != StatusPending || !tk.Verified ||
		tk.VerifiedBy != VerifiedByCode || tk.Name != "Ana" || tk.PageURL != "https://shop.example/" || tk.LastMessageID != "<last@x>" {
		t.Fatalf("ticket after 014: %+v (%v), want it whole", tk, err)
	}
	var codeTicket int64
	if err := s.read.QueryRowContext(ctx, `SELECT ticket_id FROM verification_codes WHERE id = 3`).Scan(&codeTicket); err != nil || codeTicket != 42 {
		t.Fatalf("verification code after 014: ticket %d (%v), want 42", codeTicket, err)
	}
	rows, err := s.read.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("foreign key violations after 014")
	}
	rows.Close()
	if _, err := s.write.ExecContext(ctx, `INSERT INTO verification_codes (ticket_id, code_hash, email, expires_at, created_at)
		VALUES (99, zeroblob(32), 'x@y.z', ?, ?)`, at, at); err == nil {
		t.Error("a code for no ticket was accepted: foreign keys to tickets are lost")
	}
	if _, err := s.write.ExecContext(ctx, `INSERT INTO tickets (ref, conversation_id, topic, queue, email, lang, root_message_id,
		last_message_id, created_at, updated_at) VALUES ('B2B-0001', 7, 'other', 'support', 'a@b.c', 'fr', '<r>', '<r>', ?, ?)`, at, at); err != nil {
		t.Fatalf("a second ticket on the conversation: %v", err)
	}
	if latest, err := s.TicketOfConversation(ctx, 7); err != nil || latest.Ref != "B2B-0001" {
		t.Errorf("the conversation's ticket: %+v (%v), want the latest", latest, err)
	}
	var indexes int
	s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tickets'
		AND name IN ('tickets_email', 'tickets_queue', 'tickets_status', 'tickets_topic', 'tickets_email_lower', 'tickets_conversation')`).Scan(&indexes)
	if indexes != 6 {
		t.Errorf("%d of the tickets' 6 indexes, want them all", indexes)
	}
}
