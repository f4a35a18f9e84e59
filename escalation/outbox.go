package escalation

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Mail is one email to send. Addresses are bare ("ana@example.com") or
// with a display name ("Ana <ana@example.com>").
type Mail struct {
	MessageID      string // "<id@domain>"; NewMessageID makes one
	ConversationID int64  // 0 when the mail belongs to no conversation
	Kind           string
	From, To       string
	ReplyTo        string
	InReplyTo      string   // the Message-ID this one answers, for threading
	References     []string // the thread's Message-IDs, oldest first
	Subject        string
	Text, HTML     string
}

// OutboxMail is a queued mail with its delivery state.
type OutboxMail struct {
	ID int64
	Mail
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	SentAt        time.Time // zero until sent
	FailedAt      time.Time // zero unless the sender gave up on it
	CreatedAt     time.Time

	leaseID string // the worker sending it now, "" for none
}

// Mail states, as Status reports them.
const (
	MailQueued  = "queued"
	MailSending = "sending"
	MailSent    = "sent"
	MailFailed  = "failed"
)

// Status says where the mail is at time now: queued (waiting for its next
// attempt), sending (leased by a worker), sent or failed.
func (m OutboxMail) Status(now time.Time) string {
	switch {
	case !m.SentAt.IsZero():
		return MailSent
	case !m.FailedAt.IsZero():
		return MailFailed
	case m.leaseID != "" && m.NextAttemptAt.After(now):
		return MailSending
	}
	return MailQueued
}

// NewMessageID returns an unguessable Message-ID in domain.
func NewMessageID(domain string) string {
	b := make([]byte, 15)
	rand.Read(b)
	return "<" + strings.ToLower(base32.StdEncoding.EncodeToString(b)) + "@" + domain + ">"
}

// validMsgID reports whether id is one "<left@right>" msg-id of printable
// ASCII, with no space, bracket or second @ inside: what can go on a
// Message-ID, In-Reply-To or References line untouched.
func validMsgID(id string) bool {
	if len(id) < 5 || len(id) > 250 || id[0] != '<' || id[len(id)-1] != '>' {
		return false
	}
	inner := id[1 : len(id)-1]
	at := strings.IndexByte(inner, '@')
	if at <= 0 || at == len(inner)-1 || strings.Count(inner, "@") != 1 {
		return false
	}
	for i := 0; i < len(inner); i++ {
		if c := inner[i]; c <= ' ' || c >= 0x7f || c == '<' || c == '>' {
			return false
		}
	}
	return true
}

// validateMail refuses what could inject headers or would not deliver:
// CR or LF anywhere in a header value, Message-IDs that are not one
// <id@domain> each, and addresses that do not parse. RenderMail checks
// again, so that a row written some other way cannot inject either.
func validateMail(m Mail) error {
	headers := map[string]string{"message_id": m.MessageID, "kind": m.Kind, "from": m.From, "to": m.To,
		"reply_to": m.ReplyTo, "in_reply_to": m.InReplyTo, "subject": m.Subject, "references": strings.Join(m.References, " ")}
	for field, v := range headers {
		if strings.ContainsAny(v, "\r\n") {
			return &ValidationError{Field: field, Msg: "must not contain a line break"}
		}
	}
	if !validMsgID(m.MessageID) {
		return &ValidationError{Field: "message_id", Msg: "want <id@domain>"}
	}
	if m.InReplyTo != "" && !validMsgID(m.InReplyTo) {
		return &ValidationError{Field: "in_reply_to", Msg: "want <id@domain>"}
	}
	for _, id := range m.References {
		if !validMsgID(id) {
			return &ValidationError{Field: "references", Msg: fmt.Sprintf("%q: want <id@domain>", id)}
		}
	}
	for field, v := range map[string]string{"from": m.From, "to": m.To, "reply_to": m.ReplyTo} {
		if v == "" && field == "reply_to" {
			continue
		}
		if _, err := mail.ParseAddress(v); err != nil {
			return &ValidationError{Field: field, Msg: fmt.Sprintf("%q is not an email address", v)}
		}
	}
	if m.Kind == "" || m.Text == "" {
		return &ValidationError{Field: "text", Msg: "a mail needs a kind and a text body"}
	}
	return nil
}

// outboxTimeLayout is how the outbox stores the times it compares as
// strings (next_attempt_at): fixed width, so that text order is time order.
// RFC3339Nano drops trailing zeros, and "…:05Z" would sort after "…:05.3Z".
const outboxTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func formatOutboxTime(t time.Time) string { return t.UTC().Format(outboxTimeLayout) }

// enqueueMail writes m to the outbox inside tx, due now (a time as the
// store writes it, s.now()): it is sent only if tx commits. The caller
// calls s.notifyMailQueued after the commit, so that the sender wakes at
// once instead of at its next poll.
func enqueueMail(ctx context.Context, tx *sql.Tx, m Mail, now string) (int64, error) {
	if err := validateMail(m); err != nil {
		return 0, err
	}
	at, err := time.Parse(time.RFC3339Nano, now)
	if err != nil {
		return 0, fmt.Errorf("queue mail: time %q: %w", now, err)
	}
	var conv sql.NullInt64
	if m.ConversationID != 0 {
		conv = sql.NullInt64{Int64: m.ConversationID, Valid: true}
	}
	var id int64
	err = tx.QueryRowContext(ctx, `
		INSERT INTO outbox (message_id, conversation_id, kind, from_addr, to_addr, reply_to, in_reply_to, refs,
			subject, text_body, html_body, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		m.MessageID, conv, m.Kind, m.From, m.To, m.ReplyTo, m.InReplyTo, strings.Join(m.References, " "),
		m.Subject, m.Text, m.HTML, formatOutboxTime(at), now).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("queue mail: %w", err)
	}
	return id, nil
}

// QueueMail writes one mail to the outbox on its own, for mail that no
// other change causes (a bounce, a login link).
func (s *Store) QueueMail(ctx context.Context, m Mail) (int64, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: queue mail: %w", err)
	}
	defer tx.Rollback()
	id, err := enqueueMail(ctx, tx, m, s.now())
	if err != nil {
		return 0, fmt.Errorf("store: queue mail: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: queue mail: commit: %w", err)
	}
	s.notifyMailQueued()
	return id, nil
}

// MailQueued receives a value after a commit that queued mail: the
// sender waits on it so that a new mail leaves at once. Several commits
// may be folded into one value, and there is one receiver per store.
func (s *Store) MailQueued() <-chan struct{} { return s.mailQueued }

// notifyMailQueued pokes MailQueued without ever blocking: a value already
// pending says the same thing. Call it after the commit, never before.
func (s *Store) notifyMailQueued() {
	select {
	case s.mailQueued <- struct{}{}:
	default:
	}
}

const outboxColumns = `id, message_id, COALESCE(conversation_id, 0), kind, from_addr, to_addr, reply_to, in_reply_to,
	refs, subject, text_body, html_body, attempts, next_attempt_at, last_error, COALESCE(sent_at, ''),
	COALESCE(failed_at, ''), COALESCE(lease_id, ''), created_at`

type scanner interface{ Scan(dest ...any) error }

func scanOutboxMail(row scanner) (OutboxMail, error) {
	var m OutboxMail
	var refs, next, sent, failed, created string
	if err := row.Scan(&m.ID, &m.MessageID, &m.ConversationID, &m.Kind, &m.From, &m.To, &m.ReplyTo, &m.InReplyTo,
		&refs, &m.Subject, &m.Text, &m.HTML, &m.Attempts, &next, &m.LastError, &sent, &failed, &m.leaseID, &created); err != nil {
		return OutboxMail{}, err
	}
	m.References = strings.Fields(refs)
	for _, t := range []struct {
		s   string
		dst *time.Time
	}{{next, &m.NextAttemptAt}, {sent, &m.SentAt}, {failed, &m.FailedAt}, {created, &m.CreatedAt}} {
		if t.s == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339Nano, t.s)
		if err != nil {
			return OutboxMail{}, fmt.Errorf("outbox %d: time %q: %w", m.ID, t.s, err)
		}
		*t.dst = v
	}
	return m, nil
}

// OutboxMail returns one queued or sent mail, or ErrNotFound.
func (s *Store) OutboxMail(ctx context.Context, id int64) (OutboxMail, error) {
	m, err := scanOutboxMail(s.read.QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return OutboxMail{}, fmt.Errorf("store: outbox mail %d: %w", id, ErrNotFound)
	} else if err != nil {
		return OutboxMail{}, fmt.Errorf("store: outbox mail %d: %w", id, err)
	}
	return m, nil
}

// OutboxMails returns up to limit mails, newest first, starting below id
// before (0 for the newest), whatever their state.
func (s *Store) OutboxMails(ctx context.Context, before int64, limit int) ([]OutboxMail, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	limit = min(max(limit, 1), maxPage)
	return s.queryOutbox(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id < ? ORDER BY id DESC LIMIT ?`, before, limit)
}

// unsentMailAfter returns the mails not sent yet whose id is above after,
// oldest first, for the log of mail queued without SMTP.
func (s *Store) unsentMailAfter(ctx context.Context, after int64, limit int) ([]OutboxMail, error) {
	return s.queryOutbox(ctx, `SELECT `+outboxColumns+` FROM outbox
		WHERE id > ? AND sent_at IS NULL ORDER BY id LIMIT ?`, after, limit)
}

func (s *Store) queryOutbox(ctx context.Context, query string, args ...any) ([]OutboxMail, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxMail
	for rows.Next() {
		m, err := scanOutboxMail(rows)
		if err != nil {
			return nil, fmt.Errorf("store: outbox: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: outbox: %w", err)
	}
	return out, nil
}

// RetryMail puts a mail the sender gave up on back in the queue, due now,
// with its attempts counted from zero again. A sent mail is not resent:
// that is ErrConflict.
func (s *Store) RetryMail(ctx context.Context, id int64) error {
	res, err := s.write.ExecContext(ctx, `UPDATE outbox SET failed_at = NULL, attempts = 0, next_attempt_at = ?
		WHERE id = ? AND sent_at IS NULL AND failed_at IS NOT NULL`, formatOutboxTime(s.Now()), id)
	if err != nil {
		return fmt.Errorf("store: retry mail %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.OutboxMail(ctx, id); err != nil {
			return fmt.Errorf("store: retry mail: %w", err)
		}
		return fmt.Errorf("store: retry mail %d: not failed: %w", id, ErrConflict)
	}
	s.notifyMailQueued()
	return nil
}
