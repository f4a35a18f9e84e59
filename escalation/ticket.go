package escalation

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Ticket is a conversation handed to people, followed by email.
type Ticket struct {
	ID             int64
	Ref            string // "K7Q-4821", what the visitor quotes
	ConversationID int64
	Topic, Queue   string
	Tags           []string
	Email, Name    string
	Lang           string
	PageURL        string
	Status         string
	Verified       bool
	VerifiedBy     string // VerifiedByCode or VerifiedByIdentity; "" while not verified
	RootMessageID  string
	LastMessageID  string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Ticket statuses.
const (
	StatusOpen    = "open"
	StatusPending = "pending"
	StatusSolved  = "solved"
)

// refLetters leaves out letters read as digits or as each other (I, O, L, S, Z).
const refLetters = "ABCDEFGHJKMNPQRTUVWXY"

// newRef makes a reference such as "K7Q-4821": short enough to read over
// the phone, random so that references say nothing about ticket volume.
func newRef() (string, error) {
	pick := func(alphabet string) (byte, error) {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return 0, err
		}
		return alphabet[n.Int64()], nil
	}
	var b strings.Builder
	for _, alphabet := range []string{refLetters, "23456789", refLetters, "-", "0123456789", "0123456789", "0123456789", "0123456789"} {
		c, err := pick(alphabet)
		if err != nil {
			return "", err
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// normalRef reads a reference as visitors and agents type it: "#k7q-4821"
// names K7Q-4821.
func normalRef(ref string) string {
	return strings.ToUpper(strings.TrimPrefix(strings.TrimSpace(ref), "#"))
}

// ticketInsert is what createTicketTx stores.
type ticketInsert struct {
	conversationID int64
	topic, queue   string
	tags           []string
	email, name    string
	lang, pageURL  string
	messageID      string // the confirmation mail's
}

// createTicketTx inserts a ticket with a fresh reference inside tx. A
// conversation may have several tickets (migration 014): each question
// that follows a solved one opens its own.
func createTicketTx(ctx context.Context, tx *sql.Tx, t ticketInsert, now string) (Ticket, error) {
	for attempt := 0; ; attempt++ {
		ref, err := newRef()
		if err != nil {
			return Ticket{}, err
		}
		var id int64
		err = tx.QueryRowContext(ctx, `
			INSERT INTO tickets (ref, conversation_id, topic, queue, tags, email, name, lang, page_url,
				root_message_id, last_message_id, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (ref) DO NOTHING RETURNING id`,
			ref, t.conversationID, t.topic, t.queue, strings.Join(t.tags, " "), t.email, t.name, t.lang, t.pageURL,
			t.messageID, t.messageID, now, now).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) { // nothing inserted: that reference is taken
			if attempt < 10 {
				continue // draw another
			}
			return Ticket{}, errors.New("no free ticket reference after 10 draws")
		} else if err != nil {
			return Ticket{}, err
		}
		tallyOf(ctx).ticket() // counted once the transaction commits
		at := parseTime(now)
		return Ticket{ID: id, Ref: ref, ConversationID: t.conversationID, Topic: t.topic, Queue: t.queue,
			Tags: t.tags, Email: t.email, Name: t.name, Lang: t.lang, PageURL: t.pageURL, Status: StatusOpen,
			RootMessageID: t.messageID, LastMessageID: t.messageID, CreatedAt: at, UpdatedAt: at}, nil
	}
}

const selectTicket = `
	SELECT id, ref, conversation_id, topic, queue, tags, email, name, lang, page_url, status,
		verified_at IS NOT NULL, COALESCE(verified_by, ''), root_message_id, last_message_id, created_at, updated_at
	FROM tickets`

// latestTicketOfConversation reads a conversation's ticket, that is its
// latest: a conversation may have several, one after the other, and
// whatever speaks of "the conversation's ticket" (verification, a reply
// to a transcript, the console's conversation page) means the one opened
// last. Served by the tickets_conversation index, newest first.
const latestTicketOfConversation = selectTicket + ` WHERE conversation_id = ? ORDER BY id DESC LIMIT 1`

type rowScanner interface{ Scan(dest ...any) error }

func scanTicket(row rowScanner) (Ticket, error) {
	var t Ticket
	var tags, created, updated string
	err := row.Scan(&t.ID, &t.Ref, &t.ConversationID, &t.Topic, &t.Queue, &tags, &t.Email, &t.Name, &t.Lang,
		&t.PageURL, &t.Status, &t.Verified, &t.VerifiedBy, &t.RootMessageID, &t.LastMessageID, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Ticket{}, ErrNotFound
	}
	if err != nil {
		return Ticket{}, err
	}
	t.Tags = strings.Fields(tags)
	t.CreatedAt, t.UpdatedAt = parseTime(created), parseTime(updated)
	return t, nil
}

// Ticket returns the ticket with this id.
func (s *Store) Ticket(ctx context.Context, id int64) (Ticket, error) {
	t, err := scanTicket(s.read.QueryRowContext(ctx, selectTicket+` WHERE id = ?`, id))
	if err != nil {
		return Ticket{}, fmt.Errorf("store: ticket %d: %w", id, err)
	}
	return t, nil
}

// TicketByRef returns the ticket with this reference, case-insensitively.
func (s *Store) TicketByRef(ctx context.Context, ref string) (Ticket, error) {
	t, err := scanTicket(s.read.QueryRowContext(ctx, selectTicket+` WHERE ref = ?`,
		normalRef(ref)))
	if err != nil {
		return Ticket{}, fmt.Errorf("store: ticket %s: %w", ref, err)
	}
	return t, nil
}

// TicketOfConversation returns the conversation's latest ticket;
// ErrNotFound when it has none.
func (s *Store) TicketOfConversation(ctx context.Context, conversationID int64) (Ticket, error) {
	t, err := scanTicket(s.read.QueryRowContext(ctx, latestTicketOfConversation, conversationID))
	if err != nil {
		return Ticket{}, fmt.Errorf("store: ticket of conversation %d: %w", conversationID, err)
	}
	return t, nil
}

// TicketsOfConversation returns every ticket of the conversation, the
// latest first; none is no error.
func (s *Store) TicketsOfConversation(ctx context.Context, conversationID int64) ([]Ticket, error) {
	rows, err := s.read.QueryContext(ctx, selectTicket+` WHERE conversation_id = ? ORDER BY id DESC`, conversationID)
	if err != nil {
		return nil, fmt.Errorf("store: tickets of conversation %d: %w", conversationID, err)
	}
	defer rows.Close()
	var out []Ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, fmt.Errorf("store: tickets of conversation %d: %w", conversationID, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: tickets of conversation %d: %w", conversationID, err)
	}
	return out, nil
}

// conversationMessagesTx reads a conversation's messages inside tx.
func conversationMessagesTx(ctx context.Context, tx *sql.Tx, conversationID int64) ([]Message, error) {
	rows, err := tx.QueryContext(ctx, selectMessage+` WHERE conversation_id = ? ORDER BY seq`, conversationID)
	if err != nil {
		return nil, err
	}
	return scanMessages(rows)
}

// createConversationTx starts a conversation inside tx, for a ticket that
// does not come from the bubble; it returns the id and the token.
func (s *Store) createConversationTx(ctx context.Context, tx *sql.Tx, lang string, now string) (int64, string, error) {
	token, hash, err := newToken()
	if err != nil {
		return 0, "", err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `
		INSERT INTO conversations (token_hash, lang, origin, created_at, updated_at) VALUES (?, ?, '', ?, ?) RETURNING id`,
		hash, lang, now, now).Scan(&id)
	return id, token, err
}

// touchTicketTx records the latest mail of a ticket's thread.
func touchTicketTx(ctx context.Context, tx *sql.Tx, ticketID int64, lastMessageID, status, now string) error {
	_, err := tx.ExecContext(ctx, `UPDATE tickets SET last_message_id = ?, status = ?, updated_at = ? WHERE id = ?`,
		lastMessageID, status, now, ticketID)
	return err
}

// beginWrite starts a write transaction.
func (s *Store) beginWrite(ctx context.Context) (*sql.Tx, error) { return s.write.BeginTx(ctx, nil) }
