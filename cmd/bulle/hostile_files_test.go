package main

import (
	"context"
	"fmt"
	"io/fs"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostileAttachmentNamesStayInTheirFolder posts files named to climb
// out of the attachments folder: each is stored there, under a random
// name, nothing is written anywhere else, and the name shown and sent
// with the download has no folder in it.
func TestHostileAttachmentNamesStayInTheirFolder(t *testing.T) {
	m := runChatMain(t)
	ctx := context.Background()
	names := map[string]string{
		"../../../../../../tmp/bulle-escaped.txt": "a", `..\..\..\bulle-escaped.txt`: "b", "/etc/bulle-passwd.txt": "c",
		"....//....//bulle-escaped.txt": "d", "%2e%2e%2fbulle-escaped.txt": "e", "..": "f", "./.hidden.txt": "g",
		"a/../../b/../../bulle-escaped.txt": "h", "C:\\Windows\\bulle.txt": "i", "~/.ssh/authorized_keys.txt": "j",
	}
	dataParent := filepath.Dir(m.Config.DataDir)
	beforeWalk := treeOf(t, dataParent)
	status, page := newContactClient(t, m).post(map[string]string{"topic": "bug", "email": "files@example.org", "message": "Mes fichiers"}, names, nil)
	ref := ticketRef.FindStringSubmatch(shownText(page))
	if status != 200 || ref == nil {
		t.Fatalf("contact form: %d\n%s", status, page)
	}
	tk, err := m.store.TicketByRef(ctx, ref[1])
	if err != nil {
		t.Fatal(err)
	}
	files, err := m.store.ConversationAttachments(ctx, tk.ConversationID)
	if err != nil || len(files) != len(names) {
		t.Fatalf("stored %d files (%v), want %d", len(files), err, len(names))
	}
	// On disk: only new files, all directly in data/attachments.
	attachments := filepath.Join(m.Config.DataDir, "attachments")
	added := 0
	for p := range treeOf(t, dataParent) {
		if beforeWalk[p] {
			continue
		}
		if filepath.Dir(p) != attachments {
			if strings.HasPrefix(p, attachments) || !strings.HasPrefix(p, m.Config.DataDir) {
				t.Errorf("written outside the attachments folder: %s", p)
			}
			continue // the database's own files
		}
		added++
		if base := filepath.Base(p); strings.Contains(base, "bulle") || strings.Contains(base, ".txt") {
			t.Errorf("stored as %q: want a random name", base)
		}
	}
	if added != len(names) {
		t.Errorf("%d new files in %s, want %d", added, attachments, len(names))
	}
	for _, p := range []string{"/tmp/bulle-escaped.txt", filepath.Join(dataParent, "bulle-escaped.txt")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s exists", p)
		}
	}
	// Shown and downloaded without a folder.
	lea := signInAgent(t, m, "lea@team.example", "Léa")
	for _, f := range files {
		if strings.ContainsAny(f.Name, `/\`) || f.Name == ".." || f.Name == "." {
			t.Errorf("stored name %q: want no folder in it", f.Name)
		}
		status, h, body := lea.b.do("GET", fmt.Sprintf("http://%s/console/attachments/%d", m.Addr(), f.ID), nil, nil)
		_, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
		name := params["filename"]
		if status != 200 || err != nil || strings.ContainsAny(name, `/\`) || name == ".." || len(body) != 1 {
			t.Errorf("download of %q: %d, Content-Disposition %q", f.Name, status, h.Get("Content-Disposition"))
		}
	}
}

// treeOf lists every file under dir.
func treeOf(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out[p] = true
		}
		return nil
	})
	return out
}
