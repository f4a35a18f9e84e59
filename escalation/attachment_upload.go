package escalation

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Staged uploads: the bubble's ticket form sends its files over HTTP
// before the ticket frame (a frame is at most 8 KB), and the frame names
// them. StageUpload checks and keeps a file for one conversation;
// CreateTicket takes the files its NewTicket.Uploads name, in the ticket's
// transaction; SweepUploads deletes those no ticket took within an hour.

// MaxUploadTotal bounds the files of one ticket from the bubble together,
// as the contact page bounds its whole form.
const MaxUploadTotal = 20 << 20

// uploadTTL is how long a staged file waits for its ticket. The bubble
// uploads when the visitor presses "send", a moment before the ticket
// frame; an hour covers a reconnection, a resend, a slow phone.
const uploadTTL = time.Hour

// A conversation holds at most this much staged at once, whatever the
// rate limits in front allow: two forms' worth, for a visitor who retries
// after a failed upload. Past it, ErrTooMany until a ticket takes them or
// the sweep deletes them.
const (
	maxStagedFiles = 2 * maxAttachments
	maxStagedBytes = 2 * MaxUploadTotal
)

// stagedTimeLayout writes uploads.created_at with a fixed width, so that
// text order is time order.
const stagedTimeLayout = "2006-01-02T15:04:05.000000000Z"

// UploadLimits are what the bubble may send for one ticket: each file at
// most MaxBytes, MaxTotal together, MaxFiles of them.
type UploadLimits struct {
	MaxBytes int64
	MaxTotal int64
	MaxFiles int
}

// UploadLimits returns the limits of the bubble's files; ok is false when
// the desk keeps no files, and the bubble then offers none.
func (d *Desk) UploadLimits() (limits UploadLimits, ok bool) {
	if d.opt.Files == nil {
		return UploadLimits{}, false
	}
	return UploadLimits{MaxBytes: d.opt.Files.max, MaxTotal: max(MaxUploadTotal, d.opt.Files.max),
		MaxFiles: maxAttachments}, true
}

// Upload is a file staged for a conversation's next ticket.
type Upload struct {
	ID             string // what the bubble names it by: random, 22 characters
	ConversationID int64
	Name           string // made safe, as attachments' names are
	ContentType    string // sniffed from the bytes
	Size           int64
	CreatedAt      time.Time
}

// StageUpload checks a file the bubble sent for the conversation and keeps
// it until a ticket takes it (NewTicket.Uploads) or an hour passes. The
// type is sniffed from the bytes against the attachments' allowlist and
// the name made safe. Refusals wrap ErrFileTooLarge, ErrFileType (with a
// ValidationError saying why), ErrTooMany (too much staged already) or
// ErrNotFound (no such conversation, or a desk that keeps no files).
func (d *Desk) StageUpload(ctx context.Context, conversationID int64, name string, data []byte) (Upload, error) {
	files := d.opt.Files
	if files == nil {
		return Upload{}, fmt.Errorf("desk: stage upload: this help center keeps no files: %w", ErrNotFound)
	}
	ct, err := files.sniff(name, data)
	if err != nil {
		return Upload{}, fmt.Errorf("desk: stage upload: %w", err)
	}
	id, err := newUploadID()
	if err != nil {
		return Upload{}, fmt.Errorf("desk: stage upload: %w", err)
	}
	// The bytes first, outside the transaction: ten megabytes on disk must
	// not hold the store's one writer. A refusal below removes them.
	file, err := files.write(data)
	if err != nil {
		return Upload{}, fmt.Errorf("desk: stage upload: %w", err)
	}
	u := Upload{ID: id, ConversationID: conversationID, Name: safeName(name, ct), ContentType: ct,
		Size: int64(len(data)), CreatedAt: d.store.Now().UTC()}
	if err := d.stage(ctx, u, file); err != nil {
		files.remove(file)
		return Upload{}, fmt.Errorf("desk: stage upload: %w", err)
	}
	return u, nil
}

// stage records a staged file, within the conversation's quota.
func (d *Desk) stage(ctx context.Context, u Upload, file string) error {
	tx, err := d.store.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n, bytes int64
	err = tx.QueryRowContext(ctx, `SELECT COUNT(u.id), COALESCE(SUM(u.size), 0) FROM conversations c
		LEFT JOIN uploads u ON u.conversation_id = c.id WHERE c.id = ? GROUP BY c.id`, u.ConversationID).Scan(&n, &bytes)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("conversation %d: %w", u.ConversationID, ErrNotFound)
	case err != nil:
		return err
	case n >= maxStagedFiles || bytes+u.Size > maxStagedBytes:
		return fmt.Errorf("%w: %w", invalid("file", "%d files (%d bytes) are waiting for this conversation's ticket already: "+
			"send the ticket, or wait an hour", n, bytes), ErrTooMany)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO uploads (public_id, conversation_id, name, content_type, size, file, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, u.ID, u.ConversationID, u.Name, u.ContentType, u.Size, file,
		u.CreatedAt.Format(stagedTimeLayout)); err != nil {
		return err
	}
	return tx.Commit()
}

// newUploadID makes an upload's public id: 128 random bits, URL-safe.
func newUploadID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// validUploadID accepts what newUploadID makes, and nothing that would be
// odd to quote back in an error message.
func validUploadID(id string) bool {
	return len(id) == 22 && ValidClientID(id)
}

// takeUploadsTx makes the staged files ids the attachments of the message
// (conversationID, seq), inside tx: each row leaves uploads and an
// attachments row takes its file. An id that is not staged for this very
// conversation (unknown, another conversation's, taken already, swept) is
// a ValidationError on "uploads", and the transaction must not commit.
// Ids listed twice are taken once. already counts files attached to the
// message otherwise, against maxAttachments.
func (d *Desk) takeUploadsTx(ctx context.Context, tx *sql.Tx, conversationID, seq int64, ids []string, already int, now string) ([]Attachment, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if d.opt.Files == nil {
		return nil, invalid("uploads", "this help center takes no files")
	}
	limits, _ := d.UploadLimits()
	var unique []string
	for _, id := range ids {
		if !slices.Contains(unique, id) {
			unique = append(unique, id)
		}
	}
	if already+len(unique) > limits.MaxFiles {
		return nil, invalid("uploads", "at most %d files per message", limits.MaxFiles)
	}
	var out []Attachment
	var total int64
	for _, id := range unique {
		a := Attachment{ConversationID: conversationID, Seq: seq}
		var file string
		err := tx.QueryRowContext(ctx, `DELETE FROM uploads WHERE public_id = ? AND conversation_id = ?
			RETURNING name, content_type, size, file`, id, conversationID).Scan(&a.Name, &a.ContentType, &a.Size, &file)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, invalid("uploads", "%q is not a file uploaded for this conversation in the last hour, or it is attached already", id)
		} else if err != nil {
			return nil, err
		}
		if total += a.Size; total > limits.MaxTotal {
			return nil, invalid("uploads", "the files weigh more than %d bytes together", limits.MaxTotal)
		}
		err = tx.QueryRowContext(ctx, `
			INSERT INTO attachments (conversation_id, seq, name, content_type, size, file, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, conversationID, seq, a.Name, a.ContentType, a.Size, file, now).Scan(&a.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// checkUploadIDs refuses a list of upload ids that cannot be right,
// before any transaction.
func checkUploadIDs(ids []string) error {
	if len(ids) > maxAttachments {
		return invalid("uploads", "at most %d files per message", maxAttachments)
	}
	for _, id := range ids {
		if !validUploadID(id) {
			return invalid("uploads", "want the ids POST /widget/uploads answered with")
		}
	}
	return nil
}

// SweepUploads deletes the files staged more than an hour ago that no
// ticket took, and returns how many. The rows go first, in one
// transaction, then the bytes: a file is never missing under a row, and
// a crash in between leaves only bytes nobody can name.
func (d *Desk) SweepUploads(ctx context.Context) (int, error) {
	if d.opt.Files == nil {
		return 0, nil
	}
	cutoff := d.store.Now().UTC().Add(-uploadTTL).Format(stagedTimeLayout)
	rows, err := d.store.write.QueryContext(ctx, `DELETE FROM uploads WHERE created_at < ? RETURNING file`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("desk: sweep uploads: %w", err)
	}
	var files []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			rows.Close()
			return 0, fmt.Errorf("desk: sweep uploads: %w", err)
		}
		files = append(files, f)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, fmt.Errorf("desk: sweep uploads: %w", err)
	}
	var errs []string
	for _, f := range files {
		if err := d.opt.Files.remove(f); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return len(files), fmt.Errorf("desk: sweep uploads: %s", strings.Join(errs, "; "))
	}
	return len(files), nil
}

// UploadSweepInterval is how often RunUploadSweeper looks: a staged file
// lives between one hour and one hour and this.
const UploadSweepInterval = 10 * time.Minute

// RunUploadSweeper sweeps the staged files at once, then every interval
// (UploadSweepInterval when 0), until ctx ends. Each sweep that deletes
// something or fails is logged.
func (d *Desk) RunUploadSweeper(ctx context.Context, interval time.Duration, log *slog.Logger) {
	if interval <= 0 {
		interval = UploadSweepInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := d.SweepUploads(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("sweep uploads", "deleted", n, "err", err)
		case n > 0:
			log.Info("staged uploads deleted", "deleted", n, "older_than", uploadTTL)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
