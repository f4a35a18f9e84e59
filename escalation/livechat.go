package escalation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Live chat: when the bot hands a visitor to a person and someone is
// there, the conversation enters the queue; an agent claims it, may
// transfer it, and closes it; the visitor may rate it. The chats table
// holds where each chat stands; every change is also a system message of
// the conversation (livechat_change.go), numbered like any other, so a
// visitor or an agent who reconnects replays it by seq. The Hub
// (livechat_hub.go) wakes whoever follows the conversation or the queue.

// ChatStatus is where a chat stands.
type ChatStatus string

// The statuses of a chat. Queued and active are "live"; the others end it.
const (
	ChatQueued    ChatStatus = "queued"    // waiting for an agent
	ChatActive    ChatStatus = "active"    // an agent holds it
	ChatClosed    ChatStatus = "closed"    // the agent ended it
	ChatAbandoned ChatStatus = "abandoned" // the visitor left the queue
	ChatConverted ChatStatus = "converted" // the visitor took the email route instead
)

// Live reports whether the chat is waiting or under way: the bot stays
// quiet while it is.
func (st ChatStatus) Live() bool { return st == ChatQueued || st == ChatActive }

// Kinds of the system notes that record a chat's changes.
const (
	KindChatQueued      = "chat_queued"
	KindChatClaimed     = "chat_claimed"
	KindChatTransferred = "chat_transferred"
	KindChatClosed      = "chat_closed"
	KindChatRated       = "chat_rated"
	KindChatConverted   = "chat_converted"
	KindChatAbandoned   = "chat_abandoned"
	// KindChatText is an agent's message in a live chat.
	KindChatText = "text"
)

// Chat is a conversation's live chat, with what an agent needs to pick it
// up: the visitor's language, the page and topic, and whether the visitor
// is verified.
type Chat struct {
	ConversationID int64
	Status         ChatStatus
	Lang           string // the conversation's
	PageURL        string
	Topic          string
	AgentID        int64  // the agent holding the chat, or who held it; 0 while queued
	AgentName      string // that agent's name
	QueuedAt       time.Time
	ClaimedAt      time.Time // zero until claimed
	ClosedAt       time.Time // zero while live
	Rating         int       // 1 to 5, 0 until rated
	RatingComment  string
	// Verified is the badge: the embedding site vouches for the visitor
	// (a signed identity, still valid) or the conversation's ticket is
	// verified. VerifiedEmail is the vouched-for address, when there is one.
	Verified      bool
	VerifiedEmail string
	// LastSeq is the conversation's latest message.
	LastSeq int64
}

// selectChat reads chats with their conversation's language, identity and
// ticket, and the agent's name.
const selectChat = `
	SELECT ch.conversation_id, ch.status, c.lang, ch.page_url, ch.topic,
		COALESCE(ch.agent_id, 0), COALESCE(a.name, ''),
		ch.queued_at, COALESCE(ch.claimed_at, ''), COALESCE(ch.closed_at, ''),
		COALESCE(ch.rating, 0), ch.rating_comment,
		COALESCE(c.identity_email, ''), COALESCE(c.identity_expires_at, ''),
		COALESCE((SELECT t.verified_at IS NOT NULL FROM tickets t WHERE t.conversation_id = ch.conversation_id ORDER BY t.id DESC LIMIT 1), 0),
		(SELECT COALESCE(MAX(seq), 0) FROM messages m WHERE m.conversation_id = ch.conversation_id)
	FROM chats ch
	JOIN conversations c ON c.id = ch.conversation_id
	LEFT JOIN agents a ON a.id = ch.agent_id`

// scanChats reads and closes rows of selectChat; now decides whether a
// signed identity is still valid.
func scanChats(rows *sql.Rows, now time.Time) ([]Chat, error) {
	defer rows.Close()
	var out []Chat
	for rows.Next() {
		var c Chat
		var queued, claimed, closed, idEmail, idExpires string
		var ticketVerified bool
		if err := rows.Scan(&c.ConversationID, &c.Status, &c.Lang, &c.PageURL, &c.Topic, &c.AgentID, &c.AgentName,
			&queued, &claimed, &closed, &c.Rating, &c.RatingComment, &idEmail, &idExpires, &ticketVerified, &c.LastSeq); err != nil {
			return nil, err
		}
		c.QueuedAt, c.ClaimedAt, c.ClosedAt = parseTime(queued), parseTime(claimed), parseTime(closed)
		if idEmail != "" && parseTime(idExpires).After(now) {
			c.Verified, c.VerifiedEmail = true, idEmail
		}
		c.Verified = c.Verified || ticketVerified
		out = append(out, c)
	}
	return out, rows.Err()
}

// chatIn reads one chat through q (a pool or a transaction); ErrNotFound
// when the conversation has none.
func (s *Store) chatIn(ctx context.Context, q querier, conversationID int64) (Chat, error) {
	rows, err := q.QueryContext(ctx, selectChat+` WHERE ch.conversation_id = ?`, conversationID)
	if err != nil {
		return Chat{}, err
	}
	chats, err := scanChats(rows, s.Now())
	if err != nil {
		return Chat{}, err
	}
	if len(chats) == 0 {
		return Chat{}, fmt.Errorf("chat of conversation %d: %w", conversationID, ErrNotFound)
	}
	return chats[0], nil
}

// ChatOf returns the conversation's chat; ErrNotFound when it never asked
// for one.
func (s *Store) ChatOf(ctx context.Context, conversationID int64) (Chat, error) {
	c, err := s.chatIn(ctx, s.read, conversationID)
	if err != nil {
		return Chat{}, fmt.Errorf("store: chat: %w", err)
	}
	return c, nil
}

// The lists every console reads whenever the queue changes. Each is
// served by a partial index of live chats only (chats_queue, migration
// 011; chats_active and chats_agent_active, 013), in its order, so it
// costs the same with a million ended chats as with none; a test reads
// their query plans (livechat_plan_test.go). SQLite uses a partial index
// only when the query repeats its WHERE term, so keep "ch.status = ..."
// exactly as the indexes say it.
const (
	queuedChatsQuery = selectChat + `
		WHERE ch.status = 'queued' ORDER BY ch.queued_at, ch.conversation_id`
	activeChatsQuery = selectChat + `
		WHERE ch.status = 'active' ORDER BY ch.claimed_at, ch.conversation_id`
	agentChatsQuery = selectChat + `
		WHERE ch.agent_id = ? AND ch.status = 'active' ORDER BY ch.claimed_at, ch.conversation_id`
	queueLengthQuery = `SELECT COUNT(*) FROM chats WHERE status = 'queued'`
)

// QueuedChats lists the queue, the longest wait first.
func (s *Store) QueuedChats(ctx context.Context) ([]Chat, error) {
	rows, err := s.read.QueryContext(ctx, queuedChatsQuery)
	if err != nil {
		return nil, fmt.Errorf("store: queued chats: %w", err)
	}
	chats, err := scanChats(rows, s.Now())
	if err != nil {
		return nil, fmt.Errorf("store: queued chats: %w", err)
	}
	return chats, nil
}

// AgentChats lists the chats an agent holds now, the oldest claim first.
func (s *Store) AgentChats(ctx context.Context, agentID int64) ([]Chat, error) {
	rows, err := s.read.QueryContext(ctx, agentChatsQuery, agentID)
	if err != nil {
		return nil, fmt.Errorf("store: agent chats: %w", err)
	}
	chats, err := scanChats(rows, s.Now())
	if err != nil {
		return nil, fmt.Errorf("store: agent chats: %w", err)
	}
	return chats, nil
}

// ActiveChats lists the chats under way, whoever holds them, the oldest
// claim first: the console's "all open chats".
func (s *Store) ActiveChats(ctx context.Context) ([]Chat, error) {
	rows, err := s.read.QueryContext(ctx, activeChatsQuery)
	if err != nil {
		return nil, fmt.Errorf("store: active chats: %w", err)
	}
	chats, err := scanChats(rows, s.Now())
	if err != nil {
		return nil, fmt.Errorf("store: active chats: %w", err)
	}
	return chats, nil
}

// QueuePosition says where a queued chat stands: position 1 is next, and
// ahead is how many chats wait before it (position - 1). A chat no longer
// queued has position 0; a conversation without a chat is ErrNotFound.
func (s *Store) QueuePosition(ctx context.Context, conversationID int64) (position, ahead int, err error) {
	position, err = queuePosition(ctx, s.read, conversationID)
	if err != nil {
		return 0, 0, fmt.Errorf("store: queue position: %w", err)
	}
	return position, max(0, position-1), nil
}

func queuePosition(ctx context.Context, q querier, conversationID int64) (int, error) {
	var status ChatStatus
	var queuedAt string
	err := q.QueryRowContext(ctx, `SELECT status, queued_at FROM chats WHERE conversation_id = ?`, conversationID).
		Scan(&status, &queuedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("chat of conversation %d: %w", conversationID, ErrNotFound)
	} else if err != nil {
		return 0, err
	}
	if status != ChatQueued {
		return 0, nil
	}
	var ahead int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM chats WHERE status = 'queued'
		AND (queued_at < ? OR (queued_at = ? AND conversation_id < ?))`, queuedAt, queuedAt, conversationID).Scan(&ahead); err != nil {
		return 0, err
	}
	return ahead + 1, nil
}

// QueueLength is how many chats wait for an agent.
func (s *Store) QueueLength(ctx context.Context) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, queueLengthQuery).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: queue length: %w", err)
	}
	return n, nil
}

// AgentNames returns the name of the agent who wrote each of the given
// agent messages, by seq; messages no agent is recorded for are absent.
func (s *Store) AgentNames(ctx context.Context, conversationID int64, seqs []int64) (map[int64]string, error) {
	if len(seqs) == 0 {
		return map[int64]string{}, nil
	}
	args := make([]any, 0, len(seqs)+1)
	args = append(args, conversationID)
	for _, seq := range seqs {
		args = append(args, seq)
	}
	rows, err := s.read.QueryContext(ctx, selectAgentNames+
		` WHERE ma.conversation_id = ? AND ma.seq IN (?`+strings.Repeat(", ?", len(seqs)-1)+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: agent names: %w", err)
	}
	names, err := scanAgentNames(rows)
	if err != nil {
		return nil, fmt.Errorf("store: agent names: %w", err)
	}
	return names, nil
}
