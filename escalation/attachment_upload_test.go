package escalation

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// newUploadDesk is a desk that keeps files, its store and its folder.
func newUploadDesk(t *testing.T) (*Desk, *Store, string) {
	t.Helper()
	d, s := newTestDesk(t)
	withFiles(t, d)
	return d, s, d.opt.Files.dir
}

// stagedFiles lists the files of the attachments folder.
func stagedFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestStageUploadChecksTheBytesAndKeepsThemPrivate(t *testing.T) {
	d, s, dir := newUploadDesk(t)
	ctx := context.Background()
	conv, _ := newConversation(t, s)
	tests := []struct {
		name    string
		file    string
		data    []byte
		wantErr error // nil: staged
		want    string
	}{
		{"a screenshot", "écran.png", screenshotPNG, nil, "image/png"},
		{"a log named as an image", "journal.png", []byte("2026-11-24 erreur 500\n"), nil, "text/plain; charset=utf-8"},
		{"a program named as a PDF", "facture.pdf", append([]byte("MZ\x90\x00"), make([]byte, 60)...), ErrFileType, ""},
		{"HTML", "page.txt", []byte("<html><script>alert(1)</script>"), ErrFileType, ""},
		{"too large", "big.txt", bytes.Repeat([]byte("a"), DefaultMaxAttachment+1), ErrFileTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := d.StageUpload(ctx, conv.ID, tt.file, tt.data)
			if tt.wantErr != nil {
				var ve *ValidationError
				if !errors.Is(err, tt.wantErr) || !errors.As(err, &ve) || !strings.Contains(ve.Msg, tt.file) {
					t.Fatalf("got %v, want %v with a sentence naming the file", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.ContentType != tt.want || u.Size != int64(len(tt.data)) || u.Name != tt.file || !validUploadID(u.ID) {
				t.Fatalf("staged %+v, want %s of %d bytes under a 22-character id", u, tt.want, len(tt.data))
			}
		})
	}
	// Only the two accepted files are on disk, private, under random names.
	files := stagedFiles(t, dir)
	if len(files) != 2 {
		t.Fatalf("folder holds %v, want the two accepted files", files)
	}
	for _, f := range files {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil || info.Mode().Perm() != 0o600 || len(f) != 32 {
			t.Errorf("file %s: mode %v (%v), want 0600 under a random name", f, info.Mode(), err)
		}
	}
	// Names are made safe; a conversation that does not exist stages nothing.
	u, err := d.StageUpload(ctx, conv.ID, "../../etc/\"pass\x07wd\".txt", []byte("texte\n"))
	if err != nil || u.Name != "passwd.txt" {
		t.Errorf("hostile name staged as %q (%v), want the last element without quotes or control characters", u.Name, err)
	}
	if _, err := d.StageUpload(ctx, conv.ID+100, "a.png", screenshotPNG); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown conversation: got %v, want ErrNotFound", err)
	}
	if n := len(stagedFiles(t, dir)); n != 3 {
		t.Errorf("folder holds %d files, want 3: a refused upload leaves nothing behind", n)
	}
}

func TestStageUploadBoundsWhatAConversationHoldsStaged(t *testing.T) {
	d, s, _ := newUploadDesk(t)
	ctx := context.Background()
	conv, _ := newConversation(t, s)
	for i := range maxStagedFiles {
		if _, err := d.StageUpload(ctx, conv.ID, "log.txt", []byte("ligne\n")); err != nil {
			t.Fatalf("upload %d: %v", i+1, err)
		}
	}
	if _, err := d.StageUpload(ctx, conv.ID, "log.txt", []byte("ligne\n")); !errors.Is(err, ErrTooMany) {
		t.Fatalf("upload %d: got %v, want ErrTooMany", maxStagedFiles+1, err)
	}
	other, _ := newConversation(t, s)
	if _, err := d.StageUpload(ctx, other.ID, "log.txt", []byte("ligne\n")); err != nil {
		t.Errorf("another conversation: %v, want its own quota", err)
	}
}

func TestStageUploadWithoutFilesIsRefused(t *testing.T) {
	d, s := newTestDesk(t)
	conv, _ := newConversation(t, s)
	if _, ok := d.UploadLimits(); ok {
		t.Error("a desk without files offers uploads")
	}
	if _, err := d.StageUpload(context.Background(), conv.ID, "a.png", screenshotPNG); !errors.Is(err, ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
}

func TestTicketTakesItsConversationsUploadsOnce(t *testing.T) {
	d, s, dir := newUploadDesk(t)
	ctx := context.Background()
	conv, _ := newConversation(t, s)
	eve, _ := newConversation(t, s)
	shot, err := d.StageUpload(ctx, conv.ID, "capture.png", screenshotPNG)
	if err != nil {
		t.Fatal(err)
	}
	log, err := d.StageUpload(ctx, conv.ID, "journal.txt", []byte("erreur 500\n"))
	if err != nil {
		t.Fatal(err)
	}
	evesFile, err := d.StageUpload(ctx, eve.ID, "eve.png", screenshotPNG)
	if err != nil {
		t.Fatal(err)
	}
	form := NewTicket{ConversationID: conv.ID, Lang: "fr", Topic: "bug", Email: "ana@example.org",
		Message: "Ça plante", Note: true, ClientID: "t1"}

	// Eve's id, a made-up one and a malformed one are refused, and refuse
	// the whole form: nothing is opened, nothing is taken.
	for _, ids := range [][]string{{shot.ID, evesFile.ID}, {"AAAAAAAAAAAAAAAAAAAAAA"}, {"../x"}} {
		bad := form
		bad.Uploads = ids
		var ve *ValidationError
		if _, err := d.CreateTicket(ctx, bad); !errors.As(err, &ve) || ve.Field != "uploads" {
			t.Errorf("uploads %v: got %v, want a ValidationError on uploads", ids, err)
		}
	}
	if _, err := s.TicketOfConversation(ctx, conv.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused form opened a ticket: %v", err)
	}

	form.Uploads = []string{shot.ID, log.ID, shot.ID}
	got, err := d.CreateTicket(ctx, form)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Attachments) != 2 || got.Attachments[0].Name != "capture.png" || got.Attachments[1].ContentType != "text/plain; charset=utf-8" {
		t.Fatalf("attachments %+v, want the two files once each", got.Attachments)
	}
	files, err := s.ConversationAttachments(ctx, conv.ID)
	if err != nil || len(files) != 2 || files[0].Seq != got.Note.Seq-1 {
		t.Fatalf("conversation's files %+v (%v), want both on the ticket's message", files, err)
	}
	a, f, err := d.ConversationAttachment(ctx, conv.ID, files[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 100)
	n, _ := f.Read(body)
	f.Close()
	if a.Name != "capture.png" || !bytes.Equal(body[:n], screenshotPNG) {
		t.Errorf("downloaded %q: %d bytes, want the screenshot", a.Name, n)
	}
	if _, _, err := d.ConversationAttachment(ctx, eve.ID, files[0].ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Eve's token reaches Ana's file: %v", err)
	}
	if m := queued(t, s, conv.ID); len(m) != 1 || !strings.Contains(m[0].Text, "Fichier joint : capture.png") ||
		!strings.Contains(m[0].Text, "Fichier joint : journal.txt") || !strings.Contains(m[0].HTML, "capture.png") {
		t.Errorf("confirmation does not list the files:\n%s", m[0].Text)
	}

	// A resend returns the same ticket and note, and attaches nothing.
	again, err := d.CreateTicket(ctx, form)
	if err != nil || again.Created || again.ID != got.ID || again.Note.Seq != got.Note.Seq {
		t.Fatalf("resend: %+v (%v), want the first ticket and note, nothing created", again, err)
	}
	if files, _ := s.ConversationAttachments(ctx, conv.ID); len(files) != 2 {
		t.Errorf("after the resend: %d files, want 2", len(files))
	}
	// Spent ids are refused for a new form.
	form.ClientID = "t2"
	form.Uploads = []string{shot.ID}
	var ve *ValidationError
	if _, err := d.CreateTicket(ctx, form); !errors.As(err, &ve) || ve.Field != "uploads" {
		t.Errorf("a spent id: got %v, want a ValidationError on uploads", err)
	}
	// The bytes stayed where they were: one file each, Eve's included.
	if n := len(stagedFiles(t, dir)); n != 3 {
		t.Errorf("folder holds %d files, want 3", n)
	}
}

func TestSweepDeletesOnlyUploadsNobodyTookWithinAnHour(t *testing.T) {
	d, s, dir := newUploadDesk(t)
	ctx := context.Background()
	conv, _ := newConversation(t, s)
	start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	clock := start
	s.Now = func() time.Time { return clock }

	old, err := d.StageUpload(ctx, conv.ID, "old.png", screenshotPNG)
	if err != nil {
		t.Fatal(err)
	}
	taken, err := d.StageUpload(ctx, conv.ID, "taken.txt", []byte("pris\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateTicket(ctx, NewTicket{ConversationID: conv.ID, Lang: "en", Topic: "bug", Email: "ana@example.org",
		Message: "Broken", Uploads: []string{taken.ID}}); err != nil {
		t.Fatal(err)
	}
	clock = start.Add(50 * time.Minute)
	fresh, err := d.StageUpload(ctx, conv.ID, "fresh.png", screenshotPNG)
	if err != nil {
		t.Fatal(err)
	}

	clock = start.Add(uploadTTL + time.Second)
	n, err := d.SweepUploads(ctx)
	if err != nil || n != 1 {
		t.Fatalf("sweep: %d (%v), want the one old upload", n, err)
	}
	if n := len(stagedFiles(t, dir)); n != 2 {
		t.Errorf("folder holds %d files, want 2: the attached one and the fresh one", n)
	}
	var ve *ValidationError
	if _, err := d.CreateTicket(ctx, NewTicket{ConversationID: conv.ID, Lang: "en", Topic: "other", Email: "bo@example.org",
		Message: "Later", Uploads: []string{old.ID}}); !errors.As(err, &ve) || ve.Field != "uploads" {
		t.Errorf("a swept upload: got %v, want a ValidationError on uploads", err)
	}
	if _, err := d.CreateTicket(ctx, NewTicket{ConversationID: conv.ID, Lang: "en", Topic: "other", Email: "bo@example.org",
		Message: "Later", Uploads: []string{fresh.ID}}); err != nil {
		t.Errorf("the fresh upload: %v", err)
	}
	if files, _ := s.ConversationAttachments(ctx, conv.ID); len(files) != 2 || files[0].Name != "taken.txt" {
		t.Errorf("attachments %+v, want taken.txt and fresh.png, untouched by the sweep", files)
	}
}

func TestRunUploadSweeperStopsWithItsContext(t *testing.T) {
	d, s, dir := newUploadDesk(t)
	conv, _ := newConversation(t, s)
	clock := time.Now()
	s.Now = func() time.Time { return clock }
	if _, err := d.StageUpload(context.Background(), conv.ID, "a.png", screenshotPNG); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * uploadTTL)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.RunUploadSweeper(ctx, time.Millisecond, quietSlog()) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(stagedFiles(t, dir)) != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the sweeper did not stop")
	}
	if n := len(stagedFiles(t, dir)); n != 0 {
		t.Errorf("%d files left, want the sweeper to delete the old one", n)
	}
}

func quietSlog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
