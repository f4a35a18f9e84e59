package escalation

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
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
	CreatedAt     time.Time
}

// NewMessageID returns an unguessable Message-ID in domain.
func NewMessageID(domain string) string {
	b := make([]byte, 15)
	rand.Read(b)
	return "<" + strings.ToLower(base32.StdEncoding.EncodeToString(b)) + "@" + domain + ">"
}

// validateMail refuses what could inject headers or would not deliver:
// CR or LF anywhere in a header value, and addresses that do not parse.
func validateMail(m Mail) error {
	headers := map[string]string{"message_id": m.MessageID, "kind": m.Kind, "from": m.From, "to": m.To,
		"reply_to": m.ReplyTo, "in_reply_to": m.InReplyTo, "subject": m.Subject, "references": strings.Join(m.References, " ")}
	for field, v := range headers {
		if strings.ContainsAny(v, "\r\n") {
			return &ValidationError{Field: field, Msg: "must not contain a line break"}
		}
	}
	if !strings.HasPrefix(m.MessageID, "<") || !strings.HasSuffix(m.MessageID, ">") || !strings.Contains(m.MessageID, "@") {
		return &ValidationError{Field: "message_id", Msg: "want <id@domain>"}
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

// enqueueMail writes m to the outbox inside tx, due now: it is sent only if
// tx commits, and then exactly once.
func enqueueMail(ctx context.Context, tx *sql.Tx, m Mail, now string) (int64, error) {
	if err := validateMail(m); err != nil {
		return 0, err
	}
	var conv sql.NullInt64
	if m.ConversationID != 0 {
		conv = sql.NullInt64{Int64: m.ConversationID, Valid: true}
	}
	res, err := tx.ExecContext(ctx, `
		INSERT INTO outbox (message_id, conversation_id, kind, from_addr, to_addr, reply_to, in_reply_to, refs,
			subject, text_body, html_body, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.MessageID, conv, m.Kind, m.From, m.To, m.ReplyTo, m.InReplyTo, strings.Join(m.References, " "),
		m.Subject, m.Text, m.HTML, now, now)
	if err != nil {
		return 0, fmt.Errorf("queue mail: %w", err)
	}
	return res.LastInsertId()
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
	return id, nil
}
