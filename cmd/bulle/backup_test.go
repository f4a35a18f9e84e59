package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulle-help/bulle/escalation"
)

func TestBackupAndRestoreCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	env := func(string) string { return "" }
	s, err := escalation.Open(ctx, filepath.Join(data, "bulle.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateConversation(ctx, "en", ""); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.db")

	// While the store is open, as a server holds it.
	out, errOut, code := runBulle(t, env, "backup", backup, "--data", data)
	if code != 0 {
		t.Fatalf("backup: exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(out, "1 conversations, 0 tickets; integrity check ok") {
		t.Errorf("backup printed %q, want the counts", out)
	}
	_, errOut, code = runBulle(t, env, "backup", backup, "--data", data)
	if code != 1 || !strings.Contains(errOut, "already exists (pass --force") {
		t.Errorf("second backup: exit %d, stderr %q; want a refusal naming --force", code, errOut)
	}
	if _, errOut, code = runBulle(t, env, "backup", backup, "--force", "--data", data); code != 0 {
		t.Errorf("forced backup: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = runBulle(t, env, "restore", backup, "--data", data)
	if code != 1 || !strings.Contains(errOut, "is open in another program") || !strings.Contains(errOut, "nothing changed") {
		t.Errorf("restore while open: exit %d, stderr %q; want a refusal", code, errOut)
	}
	if _, _, err := s.CreateConversation(ctx, "en", ""); err != nil {
		t.Fatal(err)
	}
	s.Close()

	out, errOut, code = runBulle(t, env, "restore", backup, "--data", data)
	if code != 0 {
		t.Fatalf("restore: exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(out, "1 conversations") || !strings.Contains(out, "before-restore-") {
		t.Errorf("restore printed %q, want the counts and the kept file", out)
	}
	kept, _ := filepath.Glob(filepath.Join(data, "bulle.db.before-restore-*"))
	if len(kept) != 1 {
		t.Fatalf("got %v, want one kept database", kept)
	}

	notDB := filepath.Join(dir, "notes.txt")
	os.WriteFile(notDB, []byte(strings.Repeat("hello\n", 200)), 0o600)
	_, errOut, code = runBulle(t, env, "restore", notDB, "--data", data)
	if code != 1 || !strings.Contains(errOut, "notes.txt is not an SQLite database") {
		t.Errorf("restore of a text file: exit %d, stderr %q", code, errOut)
	}
	if _, errOut, code = runBulle(t, env, "backup", "--data", data); code != 2 {
		t.Errorf("backup without FILE: exit %d, stderr %q; want 2", code, errOut)
	}
	_, errOut, code = runBulle(t, env, "backup", filepath.Join(dir, "x.db"), "--data", filepath.Join(dir, "none"))
	if code != 1 || !strings.Contains(errOut, "no database at") {
		t.Errorf("backup of a missing data folder: exit %d, stderr %q", code, errOut)
	}
}
