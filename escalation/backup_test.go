package escalation

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBackupWhileWritingHoldsEveryEarlierCommit takes a backup while
// goroutines keep appending, and checks the copy opens and holds every
// message whose append returned before the backup started.
func TestBackupWhileWritingHoldsEveryEarlierCommit(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	const writers = 4
	convs := make([]Conversation, writers)
	for i := range convs {
		convs[i], _ = newConversation(t, s)
	}
	var (
		mu        sync.Mutex
		committed = map[int64][]int64{} // conversation -> seqs whose append returned
		stop      atomic.Bool
		wg        sync.WaitGroup
	)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; !stop.Load(); n++ {
				m, _, err := s.AppendMessage(ctx, NewMessage{ConversationID: convs[i].ID, Role: RoleVisitor, Kind: "text", Body: fmt.Sprintf("message %d", n)})
				if err != nil {
					t.Errorf("append: %v", err)
					return
				}
				mu.Lock()
				committed[convs[i].ID] = append(committed[convs[i].ID], m.Seq)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	before := map[int64][]int64{}
	for id, seqs := range committed {
		before[id] = append([]int64(nil), seqs...)
	}
	mu.Unlock()
	path := filepath.Join(t.TempDir(), "copy.db")
	info, err := s.Backup(ctx, path, false)
	time.Sleep(20 * time.Millisecond) // writes go on after the backup
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if info.Conversations != writers {
		t.Errorf("got %d conversations, want %d", info.Conversations, writers)
	}
	total := 0
	for _, seqs := range before {
		total += len(seqs)
	}
	if total == 0 {
		t.Fatal("no message was committed before the backup; the test proves nothing")
	}
	c, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open the copy: %v", err)
	}
	defer c.Close()
	for id, seqs := range before {
		var n int
		if err := c.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND seq <= ?`,
			id, seqs[len(seqs)-1]).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != len(seqs) {
			t.Errorf("conversation %d: got %d messages up to seq %d in the copy, want %d", id, n, seqs[len(seqs)-1], len(seqs))
		}
	}
}

func TestBackupRefusesToOverwriteUnlessForced(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := s.Backup(ctx, path, false)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("got %v, want an already-exists error", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Fatalf("the existing file was changed: %q", b)
	}
	if _, err := s.Backup(ctx, path, true); err != nil {
		t.Fatalf("forced backup: %v", err)
	}
	if _, err := InspectDatabase(ctx, path); err != nil {
		t.Fatalf("inspect forced backup: %v", err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".copy.db.tmp-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestRestoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "data", "bulle.db")
	s, err := Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	kept, _ := newConversation(t, s)
	appendMsg(t, s, NewMessage{ConversationID: kept.ID, Role: RoleVisitor, Kind: "text", Body: "before the backup"})
	backup := filepath.Join(dir, "backup.db")
	if _, err := s.Backup(ctx, backup, false); err != nil {
		t.Fatal(err)
	}
	later, _ := newConversation(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	res, err := Restore(ctx, backup, dbPath, now)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if want := dbPath + ".before-restore-20260301T120000Z"; res.Previous != want {
		t.Errorf("got previous %q, want %q", res.Previous, want)
	}
	if res.Info.Conversations != 1 {
		t.Errorf("got %d conversations, want 1", res.Info.Conversations)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(dbPath + suffix); err == nil {
			t.Errorf("%s left in place", suffix)
		}
	}
	s, err = Open(ctx, dbPath)
	if err != nil {
		t.Fatalf("open restored: %v", err)
	}
	defer s.Close()
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM conversations WHERE id = ?`, later.ID).Scan(&n); err != nil || n != 0 {
		t.Errorf("conversation made after the backup: got count %d (%v), want 0", n, err)
	}
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE conversation_id = ?`, kept.ID).Scan(&n); err != nil || n != 1 {
		t.Errorf("messages of the kept conversation: got %d (%v), want 1", n, err)
	}
	// The previous database is whole, its WAL folded in.
	prev, err := InspectDatabase(ctx, res.Previous)
	if err != nil {
		t.Fatalf("inspect previous: %v", err)
	}
	if prev.Conversations != 2 {
		t.Errorf("previous database: got %d conversations, want 2", prev.Conversations)
	}
}

func TestRestoreRefusedWhileOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "bulle.db")
	s, err := Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	newConversation(t, s)
	backup := filepath.Join(dir, "backup.db")
	if _, err := s.Backup(ctx, backup, false); err != nil {
		t.Fatal(err)
	}
	_, err = Restore(ctx, backup, dbPath, time.Now())
	if !errors.Is(err, ErrDatabaseInUse) {
		t.Fatalf("got %v, want ErrDatabaseInUse", err)
	}
	// Nothing moved, and the store still works.
	if m, _ := filepath.Glob(dbPath + ".before-restore-*"); len(m) > 0 {
		t.Errorf("got %v, want no before-restore file", m)
	}
	newConversation(t, s)
	if left, _ := filepath.Glob(filepath.Join(dir, ".bulle.db.restore-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestRestoreRefusesBadFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "data", "bulle.db")

	notDB := filepath.Join(dir, "notes.txt")
	os.WriteFile(notDB, []byte(strings.Repeat("not a database\n", 100)), 0o600)

	newer := filepath.Join(dir, "newer.db")
	s, err := Open(ctx, newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES ('migrations/999_future.sql', '2030-01-01T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	s.Close()

	other := filepath.Join(dir, "other.db")
	s, err = Open(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	s.write.ExecContext(ctx, `DROP TABLE migrations`)
	s.Close()

	for _, tc := range []struct {
		name, src, want string
	}{
		{"a text file", notDB, "not an SQLite database"},
		{"a newer schema", newer, "comes from a newer Bulle (migrations this binary does not know: migrations/999_future.sql)"},
		{"no migrations table", other, "not Bulle's: it has no migrations table"},
		{"a missing file", filepath.Join(dir, "missing.db"), "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Restore(ctx, tc.src, dbPath, time.Now())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), ".bulle.db.restore-") {
				t.Errorf("error names the temporary copy: %v", err)
			}
			if _, err := os.Stat(dbPath); err == nil {
				t.Error("a database was put in place")
			}
		})
	}
}
