package escalation

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
)

// Attachments leave the server only to their owner (the conversation's
// token, or a "My requests" session for the ticket's address) and to
// agents. Each way finds the row with its own ownership condition in the
// same query, so an id that exists but is someone else's is ErrNotFound,
// exactly as one that does not exist: a 404 never says "it's there, but
// not yours".

// ConversationAttachment opens an attachment of the conversation, for the
// visitor holding its token.
func (d *Desk) ConversationAttachment(ctx context.Context, conversationID, id int64) (Attachment, *os.File, error) {
	return d.openAttachment(ctx, `id = ? AND conversation_id = ?`, id, conversationID)
}

// AgentAttachment opens any attachment, for an agent.
func (d *Desk) AgentAttachment(ctx context.Context, id int64) (Attachment, *os.File, error) {
	return d.openAttachment(ctx, `id = ?`, id)
}

// openAttachment finds one attachment row matching where and opens its
// bytes. The caller closes the file.
func (d *Desk) openAttachment(ctx context.Context, where string, args ...any) (Attachment, *os.File, error) {
	if d.opt.Files == nil {
		return Attachment{}, nil, fmt.Errorf("desk: attachment: %w", ErrNotFound)
	}
	var a Attachment
	var file string
	err := d.store.read.QueryRowContext(ctx, `SELECT id, conversation_id, seq, name, content_type, size, file
		FROM attachments WHERE `+where, args...).
		Scan(&a.ID, &a.ConversationID, &a.Seq, &a.Name, &a.ContentType, &a.Size, &file)
	if errors.Is(err, sql.ErrNoRows) {
		return Attachment{}, nil, fmt.Errorf("desk: attachment: %w", ErrNotFound)
	} else if err != nil {
		return Attachment{}, nil, fmt.Errorf("desk: attachment: %w", err)
	}
	f, err := d.opt.Files.Open(file)
	if err != nil {
		return Attachment{}, nil, fmt.Errorf("desk: attachment %d: %w", a.ID, err)
	}
	return a, f, nil
}

// ServeAttachment sends an attachment as a download that no browser
// renders: Content-Disposition attachment with the name encoded (RFC 6266
// and 5987, so no name can add a header or a parameter), the type sniffed
// when it was stored, nosniff, no caching anywhere, and a CSP that
// sandboxes it should a browser open it anyway. It closes f.
func ServeAttachment(w http.ResponseWriter, r *http.Request, a Attachment, f *os.File) {
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	ct := a.ContentType
	if _, ok := allowedTypes[ct]; !ok {
		ct = "application/octet-stream" // a row from elsewhere: never let it pick a rendering type
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", ContentDisposition(a.Name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Referrer-Policy", "no-referrer")
	http.ServeContent(w, r, "", info.ModTime(), f)
}

// ContentDisposition is the header value of a download named name:
//
//	attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>
//
// Both forms are built from a closed set of characters, so a name with
// quotes, semicolons or line breaks cannot escape its parameter.
func ContentDisposition(name string) string {
	var ascii, enc strings.Builder
	for _, r := range name {
		switch {
		case r >= 0x20 && r < 0x7f && r != '"' && r != '\\' && r != '%' && r != ';':
			ascii.WriteRune(r)
		default:
			ascii.WriteByte('_')
		}
	}
	for _, b := range []byte(name) {
		if isAttrChar(b) {
			enc.WriteByte(b)
		} else {
			fmt.Fprintf(&enc, "%%%02X", b)
		}
	}
	fallback := ascii.String()
	if strings.Trim(fallback, "_. ") == "" {
		fallback = "attachment"
	}
	return `attachment; filename="` + fallback + `"; filename*=UTF-8''` + enc.String()
}

// isAttrChar reports whether b may appear as is in an RFC 5987 value.
func isAttrChar(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}

// ConversationAttachments lists a conversation's attachments, oldest
// first.
func (s *Store) ConversationAttachments(ctx context.Context, conversationID int64) ([]Attachment, error) {
	bySeq, err := attachmentsOf(ctx, s.read, conversationID)
	if err != nil {
		return nil, fmt.Errorf("store: attachments of conversation %d: %w", conversationID, err)
	}
	var out []Attachment
	for _, as := range bySeq {
		out = append(out, as...)
	}
	slices.SortFunc(out, func(a, b Attachment) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}
