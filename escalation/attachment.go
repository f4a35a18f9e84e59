package escalation

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// DefaultMaxAttachment is the size cap of one attachment.
const DefaultMaxAttachment = 10 << 20

// Why a file is refused, wrapped with a ValidationError whose message the
// sender may read; test with errors.Is. The bubble's uploads answer them
// with 413 and 415.
var (
	// ErrFileTooLarge: the file is over the size cap.
	ErrFileTooLarge = errors.New("escalation: file too large")
	// ErrFileType: the file's bytes are not of an accepted type.
	ErrFileType = errors.New("escalation: file type not accepted")
)

// allowedTypes are the attachment types accepted, as http.DetectContentType
// names them from the first bytes: screenshots, PDFs and plain-text logs.
// The file name's extension is never trusted.
var allowedTypes = map[string]string{
	"image/png":                 ".png",
	"image/jpeg":                ".jpg",
	"image/gif":                 ".gif",
	"image/webp":                ".webp",
	"application/pdf":           ".pdf",
	"text/plain; charset=utf-8": ".txt",
}

// Attachment is a stored file of a message.
type Attachment struct {
	ID             int64
	ConversationID int64
	Seq            int64
	Name           string
	ContentType    string
	Size           int64
}

// Files keeps attachment bytes in a folder that nothing serves directly.
type Files struct {
	dir string
	max int64
}

// NewFiles stores attachments under dir, created private if missing, each
// at most max bytes (DefaultMaxAttachment when max <= 0).
func NewFiles(dir string, max int64) (*Files, error) {
	if max <= 0 {
		max = DefaultMaxAttachment
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("attachments: %w", err)
	}
	return &Files{dir: dir, max: max}, nil
}

// sniff checks data against the allowlist and returns its type.
func (f *Files) sniff(name string, data []byte) (string, error) {
	if int64(len(data)) > f.max {
		return "", fmt.Errorf("%w: %w", invalid("attachment", "%q is %d bytes, more than the %d allowed", name, len(data), f.max),
			ErrFileTooLarge)
	}
	if len(data) == 0 {
		return "", invalid("attachment", "%q is empty", name)
	}
	ct := http.DetectContentType(data)
	if _, ok := allowedTypes[ct]; !ok {
		return "", fmt.Errorf("%w: %w", invalid("attachment", "%q is %s: send a PNG, JPEG, GIF or WebP image, a PDF or a text file", name, ct),
			ErrFileType)
	}
	return ct, nil
}

// safeName keeps a file name displayable and harmless in a header: the
// last path element, without control characters or quotes, at most 120
// characters; a name that is nothing after that becomes "attachment" with
// the type's extension.
func safeName(name, contentType string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' || r == '/' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if r := []rune(name); len(r) > 120 {
		name = string(r[len(r)-120:])
	}
	if name == "" || name == "." || name == ".." {
		name = "attachment" + allowedTypes[contentType]
	}
	return name
}

// write stores data under a new random name and returns it.
func (f *Files) write(data []byte) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	file := hex.EncodeToString(b)
	path := filepath.Join(f.dir, file)
	if err := os.WriteFile(path+".tmp", data, 0o600); err != nil {
		return "", err
	}
	// Renamed only when whole, so a crash never leaves half a file under
	// a name the database knows.
	if err := os.Rename(path+".tmp", path); err != nil {
		os.Remove(path + ".tmp")
		return "", err
	}
	return file, nil
}

// Open returns an attachment's bytes.
func (f *Files) Open(file string) (*os.File, error) {
	if strings.ContainsAny(file, `/\.`) {
		return nil, fmt.Errorf("attachments: bad file name %q", file)
	}
	return os.Open(filepath.Join(f.dir, file))
}

// remove deletes a stored file; one already gone is no error.
func (f *Files) remove(file string) error {
	if file == "" || strings.ContainsAny(file, `/\.`) {
		return fmt.Errorf("attachments: bad file name %q", file)
	}
	if err := os.Remove(filepath.Join(f.dir, file)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("attachments: %w", err)
	}
	return nil
}

// NewAttachment is a file to attach to a message.
type NewAttachment struct {
	Name string
	Data []byte
}

// attachTx checks and writes files, and records them for the message
// (conversationID, seq) inside tx. A refused file refuses them all: the
// message is not stored half-attached. Written files whose transaction
// later fails are left behind, unnamed by the database; they hold nothing
// anyone can reach.
func (f *Files) attachTx(ctx context.Context, tx *sql.Tx, conversationID, seq int64, files []NewAttachment, now string) ([]Attachment, error) {
	var out []Attachment
	for _, nf := range files {
		ct, err := f.sniff(nf.Name, nf.Data)
		if err != nil {
			return nil, err
		}
		file, err := f.write(nf.Data)
		if err != nil {
			return nil, fmt.Errorf("attachments: write: %w", err)
		}
		a := Attachment{ConversationID: conversationID, Seq: seq, Name: safeName(nf.Name, ct), ContentType: ct,
			Size: int64(len(nf.Data))}
		err = tx.QueryRowContext(ctx, `
			INSERT INTO attachments (conversation_id, seq, name, content_type, size, file, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, a.ConversationID, a.Seq, a.Name, a.ContentType, a.Size, file, now).Scan(&a.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// AttachmentFile returns an attachment of the conversation with the name
// of its file; ErrNotFound when the id is not one of the conversation's,
// so that one visitor's token never reaches another's files.
func (s *Store) AttachmentFile(ctx context.Context, conversationID, id int64) (Attachment, string, error) {
	var a Attachment
	var file string
	err := s.read.QueryRowContext(ctx, `
		SELECT id, conversation_id, seq, name, content_type, size, file FROM attachments
		WHERE id = ? AND conversation_id = ?`, id, conversationID).
		Scan(&a.ID, &a.ConversationID, &a.Seq, &a.Name, &a.ContentType, &a.Size, &file)
	if errors.Is(err, sql.ErrNoRows) {
		return Attachment{}, "", fmt.Errorf("store: attachment %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Attachment{}, "", fmt.Errorf("store: attachment %d: %w", id, err)
	}
	return a, file, nil
}
