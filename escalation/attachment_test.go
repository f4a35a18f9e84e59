package escalation

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// screenshotPNG is the start of a real PNG file: its signature and header.
var screenshotPNG = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0}, 40)...)

func TestAttachmentsAreSniffedNotTrustedByName(t *testing.T) {
	f, err := NewFiles(t.TempDir(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		data   []byte
		wantCT string // "" means refused
	}{
		{"screenshot.png", screenshotPNG, "image/png"},
		{"screenshot.exe", screenshotPNG, "image/png"}, // the bytes decide, not the extension
		{"page.png", []byte("<html><script>alert(1)</script></html>"), ""},
		{"server.log", []byte("2026-11-24 12:00:01 ERROR payment refused\n"), "text/plain; charset=utf-8"},
		{"invoice.pdf", []byte("%PDF-1.7\n%âãÏÓ\n1 0 obj"), "application/pdf"},
		{"archive.zip", []byte("PK\x03\x04\x14\x00\x00\x00"), ""},
		{"empty.txt", nil, ""},
		{"big.txt", bytes.Repeat([]byte("a"), 1001), ""},
	}
	for _, tt := range tests {
		ct, err := f.sniff(tt.name, tt.data)
		if tt.wantCT == "" {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Errorf("%s: accepted as %q, want a refusal", tt.name, ct)
			}
			continue
		}
		if err != nil || ct != tt.wantCT {
			t.Errorf("%s: got %q, %v, want %q", tt.name, ct, err, tt.wantCT)
		}
	}
}

func TestSafeNameKeepsOnlyAHarmlessBaseName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"capture.png", "capture.png"},
		{"../../etc/passwd", "passwd"},
		{`C:\Users\ana\Desktop\écran.png`, "écran.png"},
		{"a\r\nContent-Type: image\".png", "aContent-Type: image.png"},
		{"..", "attachment.png"},
		{"", "attachment.png"},
	}
	for _, tt := range tests {
		if got := safeName(tt.in, "image/png"); got != tt.want {
			t.Errorf("safeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTicketAttachmentsAreStoredPrivatelyOrTheTicketIsRefused(t *testing.T) {
	d, s := newTestDesk(t)
	dir := t.TempDir()
	files, err := NewFiles(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	d.opt.Files = files
	ctx := context.Background()
	nt := NewTicket{Lang: "en", Topic: "bug", Email: "ana@example.org", Message: "See the screenshot",
		Attachments: []NewAttachment{{Name: "../screen.png", Data: screenshotPNG}}}
	tk, err := d.CreateTicket(ctx, nt)
	if err != nil {
		t.Fatal(err)
	}
	a, file, err := s.AttachmentFile(ctx, tk.ConversationID, 1)
	if err != nil || a.Name != "screen.png" || a.ContentType != "image/png" || a.Seq != 1 {
		t.Fatalf("attachment %+v (%v)", a, err)
	}
	fh, err := files.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(fh)
	fh.Close()
	info, _ := os.Stat(filepath.Join(dir, file))
	if !bytes.Equal(got, screenshotPNG) || info.Mode().Perm() != 0o600 || strings.Contains(file, "screen") {
		t.Errorf("stored file %q mode %v: want the bytes, private, under a random name", file, info.Mode().Perm())
	}
	if _, _, err := s.AttachmentFile(ctx, tk.ConversationID+1, a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another conversation reached the file: %v", err)
	}

	nt.Email = "bo@example.org"
	nt.Attachments = append(nt.Attachments, NewAttachment{Name: "evil.png", Data: []byte("<html><body onload=alert(1)>")})
	var ve *ValidationError
	if _, err := d.CreateTicket(ctx, nt); !errors.As(err, &ve) || ve.Field != "attachment" {
		t.Fatalf("a ticket with a disguised file: %v, want it refused", err)
	}
	var n int
	s.read.QueryRow(`SELECT COUNT(*) FROM tickets WHERE email = 'bo@example.org'`).Scan(&n)
	if n != 0 {
		t.Errorf("the refused ticket was stored")
	}
}
