package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulle-help/bulle/escalation"
)

// pngBytes is the start of a real PNG file, enough for the type sniffer.
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0}, 40)...)

// seedPrivacy makes a data folder with one ticket, with a file, for each address.
func seedPrivacy(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	data := t.TempDir()
	s, err := escalation.Open(ctx, filepath.Join(data, "bulle.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	files, err := escalation.NewFiles(filepath.Join(data, "attachments"), 0)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := escalation.NewReplyTokens(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	d, err := escalation.NewDesk(s, escalation.DeskOptions{From: "Bulle <no-reply@help.example>",
		ReplyDomain: "help.example", Tokens: tokens, Files: files})
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"ana@example.org", "bob@example.org"} {
		if _, err := d.CreateTicket(ctx, escalation.NewTicket{Lang: "en", Topic: "bug", Email: who,
			Message: "message from " + who, Attachments: []escalation.NewAttachment{{Name: who + ".png", Data: pngBytes}}}); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

func TestPrivacyExportAndDelete(t *testing.T) {
	data := seedPrivacy(t)
	attachments := filepath.Join(data, "attachments")

	out, errOut, code := runBulle(t, noEnv, "privacy", "export", "ANA@example.org", "--data", data)
	if code != 0 {
		t.Fatalf("export: exit %d, %s", code, errOut)
	}
	var x escalation.AddressExport
	if err := json.Unmarshal([]byte(out), &x); err != nil {
		t.Fatalf("export: %v in %s", err, out)
	}
	if len(x.Tickets) != 1 || x.Tickets[0].Email != "ana@example.org" || !strings.Contains(out, "ana@example.org.png") ||
		strings.Contains(out, "bob@") {
		t.Errorf("export: got %s, want ana's ticket and file, and nothing of bob", out)
	}

	out, _, code = runBulle(t, noEnv, "privacy", "delete", "ana@example.org", "--data", data)
	if code != 1 || !strings.Contains(out, "Would delete") || !strings.Contains(out, "1 tickets") {
		t.Errorf("delete without --yes: got exit %d, %q, want 1 and what would be deleted", code, out)
	}
	if ents, _ := os.ReadDir(attachments); len(ents) != 2 {
		t.Fatalf("delete without --yes: got %d files, want 2 still", len(ents))
	}

	out, errOut, code = runBulle(t, noEnv, "privacy", "delete", "ana@example.org", "--yes", "--data", data)
	if code != 0 || !strings.Contains(out, "Deleted: 1 tickets, 1 conversations") {
		t.Fatalf("delete --yes: got exit %d, %q, %q", code, out, errOut)
	}
	if ents, _ := os.ReadDir(attachments); len(ents) != 1 {
		t.Errorf("after delete: got %d files, want bob's only", len(ents))
	}
	out, _, _ = runBulle(t, noEnv, "privacy", "export", "ana@example.org", "--data", data)
	if strings.Contains(out, "message from ana") {
		t.Errorf("export after delete: got %s, want nothing of ana", out)
	}
	out, _, _ = runBulle(t, noEnv, "privacy", "export", "bob@example.org", "--data", data)
	if !strings.Contains(out, "message from bob@example.org") || !strings.Contains(out, "bob@example.org.png") {
		t.Errorf("bob after ana's deletion: got %s, want his ticket whole", out)
	}
}

func TestPrivacyUsage(t *testing.T) {
	data := t.TempDir()
	for _, tt := range []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"no command", []string{"privacy"}, 2, "want a command"},
		{"unknown command", []string{"privacy", "forget", "a@b.c"}, 2, "unknown command"},
		{"no address", []string{"privacy", "export", "--data", data}, 2, "one email address"},
		{"no database", []string{"privacy", "export", "a@b.c", "--data", data}, 1, "no database"},
	} {
		_, errOut, code := runBulle(t, noEnv, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.err) {
			t.Errorf("%s: got exit %d, %q, want %d and %q", tt.name, code, errOut, tt.code, tt.err)
		}
	}
}

func TestConfigRetention(t *testing.T) {
	c := DefaultConfig()
	if c.Retention.Days != 0 {
		t.Errorf("default retention.days: got %d, want 0 (keep forever)", c.Retention.Days)
	}
	if err := ApplyEnv(&c, func(k string) string { return map[string]string{"BULLE_RETENTION_DAYS": "90"}[k] }); err != nil || c.Retention.Days != 90 {
		t.Errorf("BULLE_RETENTION_DAYS=90: got %d, %v", c.Retention.Days, err)
	}
	if err := ApplyEnv(&c, func(k string) string { return map[string]string{"BULLE_RETENTION_DAYS": "ninety"}[k] }); err == nil {
		t.Error("BULLE_RETENTION_DAYS=ninety: got no error")
	}
	c.Retention.Days = -1
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "retention.days") {
		t.Errorf("retention.days -1: got %v, want an error naming it", err)
	}
	path := filepath.Join(t.TempDir(), "bulle.toml")
	os.WriteFile(path, []byte("[retention]\ndays = 30\n"), 0o600)
	c = DefaultConfig()
	if err := ReadConfigFile(&c, path); err != nil || c.Retention.Days != 30 {
		t.Errorf("file: got %d, %v, want 30", c.Retention.Days, err)
	}
}
