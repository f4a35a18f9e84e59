package escalation

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// openTest opens a store in a fresh temp folder and closes it after the test.
func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "bulle.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenCreatesParentFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "bulle.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}
}

func TestOpenRefusesMemoryAndURIs(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db", filepath.Join(t.TempDir(), "x.db?mode=ro")} {
		if s, err := Open(context.Background(), path); err == nil {
			s.Close()
			t.Errorf("Open(%q): got no error, want one", path)
		}
	}
}

func TestPragmas(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	checks := []struct {
		db     string
		pragma string
		want   string
	}{
		{"write", "journal_mode", "wal"},
		{"read", "journal_mode", "wal"},
		{"write", "synchronous", "2"}, // FULL
		{"write", "foreign_keys", "1"},
		{"read", "foreign_keys", "1"},
		{"write", "busy_timeout", "5000"},
		{"read", "busy_timeout", "5000"},
		{"write", "journal_size_limit", "67108864"},
		{"read", "journal_size_limit", "67108864"},
		{"read", "query_only", "1"},
		{"write", "query_only", "0"},
	}
	for _, c := range checks {
		db := s.write
		if c.db == "read" {
			db = s.read
		}
		var got string
		if err := db.QueryRowContext(ctx, "PRAGMA "+c.pragma).Scan(&got); err != nil {
			t.Fatalf("%s %s: %v", c.db, c.pragma, err)
		}
		if got != c.want {
			t.Errorf("%s pool: PRAGMA %s got %s, want %s", c.db, c.pragma, got, c.want)
		}
	}
}

func TestMigrationsIdempotentOnReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bulle.db")
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded migrations: %v, %d files", err, len(names))
	}
	for round := 1; round <= 3; round++ {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("open #%d: %v", round, err)
		}
		if err := s.RecordVote(ctx, "en", "a", "voter", true); err != nil {
			t.Fatalf("vote #%d: %v", round, err)
		}
		var n int
		if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != len(names) {
			t.Errorf("open #%d: got %d recorded migrations, want %d", round, n, len(names))
		}
		_, total, err := s.VoteTally(ctx, "en", "a")
		if err != nil {
			t.Fatal(err)
		}
		if total != 1 {
			t.Errorf("open #%d: got %d votes, want the 1 kept across reopens", round, total)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMigrationRecordsTime(t *testing.T) {
	s := openTest(t)
	var name, at string
	err := s.read.QueryRow(`SELECT name, applied_at FROM migrations ORDER BY name LIMIT 1`).Scan(&name, &at)
	if err != nil {
		t.Fatal(err)
	}
	if name != "migrations/001_votes.sql" {
		t.Errorf("got first migration %q, want migrations/001_votes.sql", name)
	}
	if _, err := time.Parse(time.RFC3339Nano, at); err != nil {
		t.Errorf("applied_at %q: %v", at, err)
	}
}

func TestReaderCannotWrite(t *testing.T) {
	s := openTest(t)
	_, err := s.read.Exec(`INSERT INTO article_votes VALUES ('en', 'a', 'v', 1, 'x', 'x')`)
	if err == nil {
		t.Fatal("insert through the read pool: got no error, want query_only to refuse it")
	}
}

func TestPingFailsOnceTheStoreIsClosed(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "bulle.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("open store: got %v, want nil", err)
	}
	s.Close()
	if err := s.Ping(context.Background()); err == nil {
		t.Error("closed store: got nil, want an error")
	}
}
