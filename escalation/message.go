package escalation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Role is who wrote a message.
type Role string

const (
	RoleVisitor Role = "visitor"
	RoleBot     Role = "bot"
	RoleAgent   Role = "agent"
	RoleSystem  Role = "system"
)

// Limits on a message, in bytes. A bot decision with its quote and links is
// a few KiB; 64 KiB keeps a runaway body out of the database.
const (
	maxClientIDLen = 64
	maxKindLen     = 32
	maxBodyLen     = 64 << 10
)

// ValidClientID accepts the message ids clients make (UUIDs and the like):
// 1 to 64 letters, digits, - or _.
func ValidClientID(id string) bool {
	if id == "" || len(id) > maxClientIDLen {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// maxPage bounds one MessagesAfter call, so that a long conversation is
// read in pages rather than in one result set held open.
const maxPage = 500

// Message is one numbered message of a conversation.
type Message struct {
	ConversationID int64
	Seq            int64 // 1, 2, 3… within the conversation, no gaps
	Role           Role
	ClientID       string // the visitor's id for a message they sent, or ""
	ReplyTo        int64  // the seq this message answers, or 0
	Kind           string // "text" for visitors, the decision kind for the bot…
	Body           string // the text, or JSON for bot and system messages
	CreatedAt      time.Time
}

// NewMessage is a message to append; the store numbers and dates it.
type NewMessage struct {
	ConversationID int64
	Role           Role
	// ClientID, when set, makes the append idempotent: a second append with
	// the same ClientID returns the first message instead of storing another.
	ClientID string
	// ReplyTo, when set, makes the reply unique: a second reply to the same
	// seq returns the first one.
	ReplyTo int64
	Kind    string
	Body    string
}

// AppendMessage numbers m with the conversation's next seq and stores it,
// returning once the message is committed. When a message with the same
// ClientID, or replying to the same seq, is already stored, it returns that
// one and created is false: resends are answered with the original seq and
// never stored twice.
//
// Appends that arrive while another is being written are committed together
// (group commit): one fsync for the batch instead of one each, so a busy
// minute does not queue visitors behind each other's disk flushes. Each
// append still succeeds or fails on its own.
func (s *Store) AppendMessage(ctx context.Context, m NewMessage) (msg Message, created bool, err error) {
	if err := validateMessage(m); err != nil {
		return Message{}, false, fmt.Errorf("store: append message: %w", err)
	}
	msg, created, err = s.groupCommit(ctx, appendRequest{ctx: ctx, m: m})
	if err != nil {
		return Message{}, false, fmt.Errorf("store: append message: %w", err)
	}
	return msg, created, nil
}

// groupCommit hands an append to the committer and waits for its commit.
func (s *Store) groupCommit(ctx context.Context, req appendRequest) (Message, bool, error) {
	req.done = make(chan appendResult, 1)
	select {
	case s.appends <- req:
	case <-s.closing:
		return Message{}, false, errClosed
	case <-ctx.Done():
		return Message{}, false, ctx.Err()
	}
	// Once queued, the append is answered whatever happens to ctx: it may
	// already be committing, and the caller must learn whether it was.
	r := <-req.done
	return r.msg, r.created, r.err
}

type appendRequest struct {
	ctx context.Context
	m   NewMessage
	// write, when set, replaces the plain append: an append with checks
	// of its own (an agent's message in a chat they hold) still shares
	// the batch's transaction and fsync.
	write func(ctx context.Context, tx *sql.Tx, now string) (Message, bool, error)
	done  chan appendResult
}

type appendResult struct {
	msg     Message
	created bool
	err     error
}

// maxAppendBatch bounds one group commit, so that a burst cannot hold the
// writer for long.
const maxAppendBatch = 64

// commitAppends writes queued appends until the store closes.
func (s *Store) commitAppends() {
	defer close(s.appendsDone)
	for {
		select {
		case r := <-s.appends:
			s.appendBatch([]appendRequest{r}, s.queuedAppends)
		case <-s.closing:
			return
		}
	}
}

// queuedAppends adds the appends waiting in the queue to batch, up to
// maxAppendBatch.
func (s *Store) queuedAppends(batch []appendRequest) []appendRequest {
	for len(batch) < maxAppendBatch {
		select {
		case r := <-s.appends:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// appendBatch stores batch, and what more adds to it (the appends queued
// behind it; nil for none), in one transaction, each append under its own savepoint so that one failing
// append (an unknown conversation, a cancelled request) leaves the others
// to commit. The batch is taken once the transaction has begun: appends
// that queued while BEGIN waited for a lock held elsewhere share its
// outcome, instead of each waiting out the busy timeout in turn.
func (s *Store) appendBatch(batch []appendRequest, more func([]appendRequest) []appendRequest) {
	var results []appendResult
	reply := func() {
		for i, r := range batch {
			r.done <- results[i]
		}
	}
	defer reply()
	fail := func(err error) {
		for i := range results {
			results[i] = appendResult{err: err}
		}
	}
	ctx := context.Background()
	tx, err := s.write.BeginTx(ctx, nil)
	if more != nil {
		batch = more(batch)
	}
	results = make([]appendResult, len(batch))
	// One tally per append: a savepoint rolled back takes its count with it.
	tallies := make([]*tally, len(batch))
	if err != nil {
		fail(err)
		return
	}
	defer tx.Rollback()
	now := s.now()
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i].err = err
			continue
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT append`); err != nil {
			fail(err)
			return
		}
		write := r.write
		if write == nil {
			write = func(ctx context.Context, tx *sql.Tx, now string) (Message, bool, error) {
				return appendInTx(ctx, tx, r.m, now)
			}
		}
		var wctx context.Context
		wctx, tallies[i] = s.counting(ctx)
		msg, created, err := write(wctx, tx, now)
		if err != nil {
			results[i].err = err
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO append`); err != nil {
				fail(err)
				return
			}
		} else {
			results[i] = appendResult{msg: msg, created: created}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE append`); err != nil {
			fail(err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	for i, t := range tallies {
		if t != nil && results[i].err == nil {
			t.committed()
		}
	}
}

// appendInTx appends one message inside tx. The writer pool begins
// transactions IMMEDIATE, so reading the last seq and inserting the next
// cannot interleave with another writer.
func appendInTx(ctx context.Context, tx *sql.Tx, m NewMessage, now string) (Message, bool, error) {
	var exists int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM conversations WHERE id = ?`, m.ConversationID).Scan(&exists)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, false, fmt.Errorf("conversation %d: %w", m.ConversationID, ErrNotFound)
	} else if err != nil {
		return Message{}, false, err
	}
	if prev, found, err := existingMessage(ctx, tx, m); err != nil || found {
		return prev, false, err
	}
	var seq int64
	if err := tx.QueryRowContext(ctx,
		`SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = ?`, m.ConversationID).Scan(&seq); err != nil {
		return Message{}, false, err
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO messages (conversation_id, seq, role, client_id, reply_to, kind, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ConversationID, seq, m.Role, nullString(m.ClientID), nullInt(m.ReplyTo), m.Kind, m.Body, now); err != nil {
		return Message{}, false, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET updated_at = ? WHERE id = ?`, now, m.ConversationID); err != nil {
		return Message{}, false, err
	}
	tallyOf(ctx).message(m.Role) // counted once the transaction commits
	return Message{ConversationID: m.ConversationID, Seq: seq, Role: m.Role, ClientID: m.ClientID,
		ReplyTo: m.ReplyTo, Kind: m.Kind, Body: m.Body, CreatedAt: parseTime(now)}, true, nil
}

// existingMessage finds the message m would duplicate: same client id, or
// a reply to the same seq.
func existingMessage(ctx context.Context, tx *sql.Tx, m NewMessage) (Message, bool, error) {
	var where string
	var arg any
	switch {
	case m.ClientID != "":
		where, arg = "client_id = ?", m.ClientID
	case m.ReplyTo != 0:
		where, arg = "reply_to = ?", m.ReplyTo
	default:
		return Message{}, false, nil
	}
	rows, err := tx.QueryContext(ctx, selectMessage+` WHERE conversation_id = ? AND `+where, m.ConversationID, arg)
	if err != nil {
		return Message{}, false, err
	}
	msgs, err := scanMessages(rows)
	if err != nil || len(msgs) == 0 {
		return Message{}, false, err
	}
	return msgs[0], true, nil
}

// MessagesAfter returns the conversation's messages with seq > after, in
// order, at most limit of them (limit ≤ 0 or above 500 means 500).
func (s *Store) MessagesAfter(ctx context.Context, conversationID, after int64, limit int) ([]Message, error) {
	if limit <= 0 || limit > maxPage {
		limit = maxPage
	}
	rows, err := s.read.QueryContext(ctx, selectMessage+`
		WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?`, conversationID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: messages after: %w", err)
	}
	msgs, err := scanMessages(rows)
	if err != nil {
		return nil, fmt.Errorf("store: messages after: %w", err)
	}
	return msgs, nil
}

// ReplyTo returns the message that replies to seq; found is false when
// none does yet.
func (s *Store) ReplyTo(ctx context.Context, conversationID, seq int64) (msg Message, found bool, err error) {
	rows, err := s.read.QueryContext(ctx, selectMessage+`
		WHERE conversation_id = ? AND reply_to = ?`, conversationID, seq)
	if err != nil {
		return Message{}, false, fmt.Errorf("store: reply to: %w", err)
	}
	msgs, err := scanMessages(rows)
	if err != nil {
		return Message{}, false, fmt.Errorf("store: reply to: %w", err)
	}
	if len(msgs) == 0 {
		return Message{}, false, nil
	}
	return msgs[0], true, nil
}

const selectMessage = `
	SELECT conversation_id, seq, role, COALESCE(client_id, ''), COALESCE(reply_to, 0), kind, body, created_at
	FROM messages`

// scanMessages reads and closes rows.
func scanMessages(rows *sql.Rows) ([]Message, error) {
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var created string
		if err := rows.Scan(&m.ConversationID, &m.Seq, &m.Role, &m.ClientID, &m.ReplyTo, &m.Kind, &m.Body, &created); err != nil {
			return nil, err
		}
		m.CreatedAt = parseTime(created)
		out = append(out, m)
	}
	return out, rows.Err()
}

func validateMessage(m NewMessage) error {
	switch m.Role {
	case RoleVisitor, RoleBot, RoleAgent, RoleSystem:
	default:
		return invalid("role", "%q is not visitor, bot, agent or system", m.Role)
	}
	switch {
	case m.ConversationID <= 0:
		return invalid("conversation_id", "must be positive")
	case len(m.ClientID) > maxClientIDLen:
		return invalid("client_id", "is %d bytes long, more than the %d allowed", len(m.ClientID), maxClientIDLen)
	case m.ClientID != "" && m.ReplyTo != 0:
		return invalid("reply_to", "a message has a client id or replies to one, not both")
	case m.ReplyTo < 0:
		return invalid("reply_to", "must not be negative")
	case m.Kind == "" || len(m.Kind) > maxKindLen:
		return invalid("kind", "must be 1 to %d bytes long", maxKindLen)
	case m.Body == "":
		return invalid("body", "must not be empty")
	case len(m.Body) > maxBodyLen:
		return invalid("body", "is %d bytes long, more than the %d allowed", len(m.Body), maxBodyLen)
	case !utf8.ValidString(m.Body) || !utf8.ValidString(m.ClientID) || !utf8.ValidString(m.Kind):
		return invalid("body", "is not valid UTF-8")
	}
	return nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func nullInt(n int64) sql.NullInt64 { return sql.NullInt64{Int64: n, Valid: n != 0} }
