package escalation

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors of RateChat. Both are conflicts (ErrorCode gives ECONFLICT).
var (
	// ErrChatNotClosed means the chat is not closed, so not ready to be
	// rated (or the conversation has no chat).
	ErrChatNotClosed = fmt.Errorf("%w: the chat is not closed", ErrConflict)
	// ErrAlreadyRated means this chat was rated already: a rating counts once.
	ErrAlreadyRated = fmt.Errorf("%w: the chat is rated already", ErrConflict)
)

// Limits on what describes a chat.
const (
	maxChatTopic   = 100  // characters: a ticket topic id or an article id
	maxChatComment = 1000 // characters of a rating's comment
)

// ChatChange is what a chat operation did.
type ChatChange struct {
	// Chat is the chat as it stands after the operation.
	Chat Chat
	// Note is the system message that records the change, committed with
	// it. Its Seq is 0 when the operation repeated a change already made
	// (a second claim by the same agent, a second enqueue): nothing new
	// is stored then.
	Note Message
	// Created says this call stored Note; a resend with the client id of
	// an earlier rating returns that rating's note with Created false.
	Created bool
	// QueueChanged says the queue gained or lost a chat: whoever shows it
	// or a position in it should look again.
	QueueChanged bool
}

// chatNote is the body of a chat's system message. The widget reads the
// same field names (widget/protocol.go systemBody).
type chatNote struct {
	kind, clientID string

	Text      string `json:"text"`
	Agent     string `json:"agent,omitempty"`      // the agent who claimed, holds (after a transfer) or closed it
	FromAgent string `json:"from_agent,omitempty"` // chat_transferred: who handed it over
	Position  int    `json:"position,omitempty"`   // chat_queued: the place in the queue
	WaitS     int    `json:"wait_s,omitempty"`     // chat_queued: the estimated wait, in seconds
	Rating    int    `json:"rating,omitempty"`     // chat_rated
}

// chatTx runs change in one write transaction, appends the note it
// returns (nil: nothing changed) to the conversation in that same
// transaction, and returns the chat as it then stands. The writer pool
// begins transactions IMMEDIATE, so a change reads and writes the chat
// with no other writer in between.
func (s *Store) chatTx(ctx context.Context, conversationID int64,
	change func(tx *sql.Tx, now time.Time) (note *chatNote, queueChanged bool, err error)) (ChatChange, error) {
	ctx, n := s.counting(ctx)
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return ChatChange{}, err
	}
	defer tx.Rollback()
	now := s.now()
	note, queueChanged, err := change(tx, parseTime(now))
	if err != nil {
		return ChatChange{}, err
	}
	var out ChatChange
	if note != nil {
		body, err := json.Marshal(note)
		if err != nil {
			return ChatChange{}, err
		}
		if out.Note, out.Created, err = appendInTx(ctx, tx, NewMessage{ConversationID: conversationID, Role: RoleSystem,
			ClientID: note.clientID, Kind: note.kind, Body: string(body)}, now); err != nil {
			return ChatChange{}, err
		}
		out.QueueChanged = queueChanged
	}
	if out.Chat, err = s.chatIn(ctx, tx, conversationID); err != nil {
		return ChatChange{}, err
	}
	if err := tx.Commit(); err != nil {
		return ChatChange{}, fmt.Errorf("commit: %w", err)
	}
	n.committed()
	return out, nil
}

// EnqueueChat puts the conversation in the live-chat queue, with the page
// the visitor asked from and a topic for the agents, and records a
// chat_queued note saying the visitor's place and the estimated wait. A
// chat already queued or active is left as it is (nothing is stored); one
// that ended is queued again.
func (s *Store) EnqueueChat(ctx context.Context, conversationID int64, pageURL, topic string) (ChatChange, error) {
	pageURL, topic = strings.TrimSpace(pageURL), strings.TrimSpace(topic)
	if err := validateChatContext(pageURL, topic); err != nil {
		return ChatChange{}, fmt.Errorf("store: enqueue chat: %w", err)
	}
	ch, err := s.chatTx(ctx, conversationID, func(tx *sql.Tx, now time.Time) (*chatNote, bool, error) {
		var lang string
		err := tx.QueryRowContext(ctx, `SELECT lang FROM conversations WHERE id = ?`, conversationID).Scan(&lang)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, fmt.Errorf("conversation %d: %w", conversationID, ErrNotFound)
		} else if err != nil {
			return nil, false, err
		}
		var status ChatStatus
		err = tx.QueryRowContext(ctx, `SELECT status FROM chats WHERE conversation_id = ?`, conversationID).Scan(&status)
		switch {
		case err == nil && status.Live():
			return nil, false, nil // a double click, a second tab: one chat
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return nil, false, err
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO chats (conversation_id, status, queued_at, page_url, topic) VALUES (?, 'queued', ?, ?, ?)
			ON CONFLICT (conversation_id) DO UPDATE SET status = 'queued', queued_at = excluded.queued_at,
				claimed_at = NULL, agent_id = NULL, closed_at = NULL, page_url = excluded.page_url,
				topic = excluded.topic, rating = NULL, rating_comment = ''`,
			conversationID, formatOutboxTime(now), pageURL, topic); err != nil {
			return nil, false, err
		}
		pos, err := queuePosition(ctx, tx, conversationID)
		if err != nil {
			return nil, false, err
		}
		wait, err := waitEstimate(ctx, tx, pos)
		if err != nil {
			return nil, false, err
		}
		return &chatNote{kind: KindChatQueued, Text: QueueText(lang, pos, wait), Position: pos,
			WaitS: int(wait / time.Second)}, true, nil
	})
	if err != nil {
		return ChatChange{}, fmt.Errorf("store: enqueue chat: %w", err)
	}
	if ch.Created { // committed, and not a chat already live
		s.counts.chats.Add(1)
	}
	return ch, nil
}

// ClaimChat gives a queued chat to an agent. Claims race, and the store
// settles them: the update only applies to a chat still queued, so
// exactly one agent wins and the others get ErrConflict. A claim by the
// agent who already holds the chat changes nothing and succeeds. An
// unknown or removed agent gets ErrAgentGone.
func (s *Store) ClaimChat(ctx context.Context, conversationID, agentID int64) (ChatChange, error) {
	ch, err := s.chatTx(ctx, conversationID, func(tx *sql.Tx, now time.Time) (*chatNote, bool, error) {
		name, err := agentNameTx(ctx, tx, agentID)
		if err != nil {
			return nil, false, err
		}
		applied, err := execOne(ctx, tx, `UPDATE chats SET status = 'active', agent_id = ?, claimed_at = ?
			WHERE conversation_id = ? AND status = 'queued'`, agentID, formatOutboxTime(now), conversationID)
		if err != nil {
			return nil, false, err
		}
		c, err := s.chatIn(ctx, tx, conversationID)
		switch {
		case err != nil:
			return nil, false, err
		case !applied && c.Status == ChatActive && c.AgentID == agentID:
			return nil, false, nil
		case !applied:
			return nil, false, fmt.Errorf("chat of conversation %d is %s: %w", conversationID, c.Status, ErrConflict)
		}
		return &chatNote{kind: KindChatClaimed, Text: claimedText(c.Lang, name), Agent: name}, true, nil
	})
	if err != nil {
		return ChatChange{}, fmt.Errorf("store: claim chat: %w", err)
	}
	return ch, nil
}

// TransferChat hands an active chat from the agent who holds it to
// another agent. Only the holder may; anyone else gets ErrConflict. Either
// agent unknown or removed is ErrAgentGone, checked in the transaction of
// the change, so a removal that races the transfer wins.
func (s *Store) TransferChat(ctx context.Context, conversationID, fromAgent, toAgent int64) (ChatChange, error) {
	if fromAgent == toAgent {
		return ChatChange{}, fmt.Errorf("store: transfer chat: %w", invalid("agent", "transfer to another agent"))
	}
	ch, err := s.chatTx(ctx, conversationID, func(tx *sql.Tx, now time.Time) (*chatNote, bool, error) {
		toName, err := agentNameTx(ctx, tx, toAgent)
		if err != nil {
			return nil, false, err
		}
		fromName, err := agentNameTx(ctx, tx, fromAgent)
		if err != nil {
			return nil, false, err
		}
		applied, err := execOne(ctx, tx, `UPDATE chats SET agent_id = ?
			WHERE conversation_id = ? AND status = 'active' AND agent_id = ?`, toAgent, conversationID, fromAgent)
		if err != nil {
			return nil, false, err
		}
		c, err := s.chatIn(ctx, tx, conversationID)
		if err != nil {
			return nil, false, err
		}
		if !applied {
			return nil, false, fmt.Errorf("chat of conversation %d is not held by agent %d: %w", conversationID, fromAgent, ErrConflict)
		}
		return &chatNote{kind: KindChatTransferred, Text: transferredText(c.Lang, fromName, toName),
			Agent: toName, FromAgent: fromName}, false, nil
	})
	if err != nil {
		return ChatChange{}, fmt.Errorf("store: transfer chat: %w", err)
	}
	return ch, nil
}

// CloseChat ends an active chat; only the agent who holds it may. Closing
// a chat the same agent closed already changes nothing.
func (s *Store) CloseChat(ctx context.Context, conversationID, agentID int64) (ChatChange, error) {
	ch, err := s.chatTx(ctx, conversationID, func(tx *sql.Tx, now time.Time) (*chatNote, bool, error) {
		applied, err := execOne(ctx, tx, `UPDATE chats SET status = 'closed', closed_at = ?
			WHERE conversation_id = ? AND status = 'active' AND agent_id = ?`, formatOutboxTime(now), conversationID, agentID)
		if err != nil {
			return nil, false, err
		}
		c, err := s.chatIn(ctx, tx, conversationID)
		switch {
		case err != nil:
			return nil, false, err
		case !applied && c.Status == ChatClosed && c.AgentID == agentID:
			return nil, false, nil
		case !applied:
			return nil, false, fmt.Errorf("chat of conversation %d is %s, not held by agent %d: %w",
				conversationID, c.Status, agentID, ErrConflict)
		}
		return &chatNote{kind: KindChatClosed, Text: closedText(c.Lang, c.AgentName), Agent: c.AgentName}, false, nil
	})
	if err != nil {
		return ChatChange{}, fmt.Errorf("store: close chat: %w", err)
	}
	return ch, nil
}

// ChatRating is a visitor's rating of a closed chat.
type ChatRating struct {
	Rating  int    // 1 to 5
	Comment string // optional, up to 1,000 characters
	// ClientID, when set, makes the rating idempotent: a resend returns
	// the first note.
	ClientID string
}

// RateChat records the visitor's rating of their closed chat, once:
// before the close it is ErrChatNotClosed, after a first rating
// ErrAlreadyRated (but a resend with the same ClientID returns the first
// note, Created false).
func (s *Store) RateChat(ctx context.Context, conversationID int64, r ChatRating) (ChatChange, error) {
	r.Comment = strings.TrimSpace(r.Comment)
	switch {
	case r.Rating < 1 || r.Rating > 5:
		return ChatChange{}, fmt.Errorf("store: rate chat: %w", invalid("rating", "want 1 to 5"))
	case utf8.RuneCountInString(r.Comment) > maxChatComment || !utf8.ValidString(r.Comment):
		return ChatChange{}, fmt.Errorf("store: rate chat: %w", invalid("comment", "want at most %d characters", maxChatComment))
	case len(r.ClientID) > maxClientIDLen:
		return ChatChange{}, fmt.Errorf("store: rate chat: %w", invalid("client_id", "is too long"))
	}
	ch, err := s.chatTx(ctx, conversationID, func(tx *sql.Tx, now time.Time) (*chatNote, bool, error) {
		note := &chatNote{kind: KindChatRated, clientID: r.ClientID, Rating: r.Rating}
		if r.ClientID != "" {
			prev, found, err := existingMessage(ctx, tx, NewMessage{ConversationID: conversationID, ClientID: r.ClientID})
			switch {
			case err != nil:
				return nil, false, err
			case found && prev.Kind == KindChatRated:
				return note, false, nil // appendInTx finds it again: a resend
			case found:
				return nil, false, invalid("client_id", "names another message")
			}
		}
		applied, err := execOne(ctx, tx, `UPDATE chats SET rating = ?, rating_comment = ?
			WHERE conversation_id = ? AND status = 'closed' AND rating IS NULL`, r.Rating, r.Comment, conversationID)
		if err != nil {
			return nil, false, err
		}
		if !applied {
			c, err := s.chatIn(ctx, tx, conversationID)
			switch {
			case errors.Is(err, ErrNotFound):
				return nil, false, ErrChatNotClosed
			case err != nil:
				return nil, false, err
			case c.Status != ChatClosed:
				return nil, false, ErrChatNotClosed
			}
			return nil, false, ErrAlreadyRated
		}
		var lang string
		if err := tx.QueryRowContext(ctx, `SELECT lang FROM conversations WHERE id = ?`, conversationID).Scan(&lang); err != nil {
			return nil, false, err
		}
		note.Text = ratedText(lang, r.Rating)
		return note, false, nil
	})
	if err != nil {
		return ChatChange{}, fmt.Errorf("store: rate chat: %w", err)
	}
	return ch, nil
}

// ConvertChatToTicket marks a queued chat converted: the visitor took the
// email route instead (the ticket lives on the same conversation, so it
// carries the whole exchange). Converting a converted chat changes
// nothing; a chat in any other state is ErrConflict.
func (s *Store) ConvertChatToTicket(ctx context.Context, conversationID int64) (ChatChange, error) {
	ch, err := s.leaveQueue(ctx, conversationID, ChatConverted, KindChatConverted, convertedText)
	if err != nil {
		return ChatChange{}, fmt.Errorf("store: convert chat: %w", err)
	}
	return ch, nil
}

// AbandonChat takes a queued chat out of the queue because the visitor
// left. Abandoning an abandoned chat changes nothing; a chat in any other
// state is ErrConflict.
func (s *Store) AbandonChat(ctx context.Context, conversationID int64) (ChatChange, error) {
	ch, err := s.leaveQueue(ctx, conversationID, ChatAbandoned, KindChatAbandoned, abandonedText)
	if err != nil {
		return ChatChange{}, fmt.Errorf("store: abandon chat: %w", err)
	}
	return ch, nil
}

// leaveQueue ends a queued chat with status to.
func (s *Store) leaveQueue(ctx context.Context, conversationID int64, to ChatStatus, kind string, text func(lang string) string) (ChatChange, error) {
	return s.chatTx(ctx, conversationID, func(tx *sql.Tx, now time.Time) (*chatNote, bool, error) {
		applied, err := execOne(ctx, tx, `UPDATE chats SET status = ?, closed_at = ?
			WHERE conversation_id = ? AND status = 'queued'`, to, formatOutboxTime(now), conversationID)
		if err != nil {
			return nil, false, err
		}
		c, err := s.chatIn(ctx, tx, conversationID)
		switch {
		case err != nil:
			return nil, false, err
		case !applied && c.Status == to:
			return nil, false, nil
		case !applied:
			return nil, false, fmt.Errorf("chat of conversation %d is %s, not queued: %w", conversationID, c.Status, ErrConflict)
		}
		return &chatNote{kind: kind, Text: text(c.Lang)}, true, nil
	})
}

// AppendAgentMessage stores an agent's message in the chat they hold, and
// records them as its author (message_agents), in one transaction. m's
// Role is set to agent and its Kind defaults to "text"; a ClientID makes
// it idempotent as for AppendMessage, even after the chat ended. An agent
// who does not hold the chat gets ErrConflict.
func (s *Store) AppendAgentMessage(ctx context.Context, agentID int64, m NewMessage) (Message, bool, error) {
	m.Role = RoleAgent
	if m.Kind == "" {
		m.Kind = KindChatText
	}
	if err := validateMessage(m); err != nil {
		return Message{}, false, fmt.Errorf("store: agent message: %w", err)
	}
	// Agents' messages share the group commit with the visitors': one
	// fsync for a batch, each message still checked and failed alone.
	write := func(ctx context.Context, tx *sql.Tx, now string) (Message, bool, error) {
		if prev, found, err := existingMessage(ctx, tx, m); err != nil || found {
			return prev, false, err
		}
		var status ChatStatus
		var holder sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT status, agent_id FROM chats WHERE conversation_id = ?`, m.ConversationID).
			Scan(&status, &holder)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return Message{}, false, fmt.Errorf("chat of conversation %d: %w", m.ConversationID, ErrNotFound)
		case err != nil:
			return Message{}, false, err
		case status != ChatActive || holder.Int64 != agentID:
			return Message{}, false, fmt.Errorf("chat of conversation %d is %s, not held by agent %d: %w",
				m.ConversationID, status, agentID, ErrConflict)
		}
		msg, created, err := appendInTx(ctx, tx, m, now)
		if err != nil {
			return Message{}, false, err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO message_agents (conversation_id, seq, agent_id) VALUES (?, ?, ?)`,
			m.ConversationID, msg.Seq, agentID)
		return msg, created, err
	}
	msg, created, err := s.groupCommit(ctx, appendRequest{ctx: ctx, m: m, write: write})
	if err != nil {
		return Message{}, false, fmt.Errorf("store: agent message: %w", err)
	}
	return msg, created, nil
}

// agentNameTx is the name of an agent who may take part in a chat;
// ErrAgentGone for an unknown or removed one. A removed agent's row stays
// (their messages name them), so the row alone proves nothing: a chat
// handed to them, or claimed by a session of theirs that has not closed
// yet, would wait for someone who can no longer sign in.
func agentNameTx(ctx context.Context, tx *sql.Tx, agentID int64) (string, error) {
	var name string
	err := tx.QueryRowContext(ctx, `SELECT name FROM agents WHERE id = ? AND removed_at IS NULL`, agentID).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("agent %d: %w", agentID, ErrAgentGone)
	}
	return name, err
}

// execOne runs a guarded update and says whether it changed a row.
func execOne(ctx context.Context, tx *sql.Tx, query string, args ...any) (bool, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// validateChatContext checks what the bubble says about a chat request.
func validateChatContext(pageURL, topic string) error {
	if pageURL != "" {
		u, err := url.Parse(pageURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(pageURL) > maxPageURLLen {
			return invalid("page_url", "want the http(s) address of the page")
		}
	}
	if utf8.RuneCountInString(topic) > maxChatTopic || !utf8.ValidString(topic) || strings.ContainsAny(topic, "\r\n") {
		return invalid("topic", "want one line of at most %d characters", maxChatTopic)
	}
	return nil
}
