package escalation

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Real traffic for an evaluation set ("bulle eval export", in cmd/bulle):
// what visitors asked, what the bot replied, how they voted, and what
// agents wrote afterwards. The store hands the conversations over as they
// are; labelling them needs the bot's decisions and the articles, which
// this package knows nothing of.

// TrafficConversation is one conversation, every message in order.
type TrafficConversation struct {
	ID        int64
	Lang      string // the language the conversation started in
	CreatedAt time.Time
	Messages  []TrafficMessage
}

// TrafficMessage is one message, with the visitor's vote when it is a bot
// answer they voted on.
type TrafficMessage struct {
	Seq       int64
	Role      Role
	Kind      string
	Body      string // the text, or JSON for bot and system messages
	ReplyTo   int64  // the visitor seq a bot message answers, or 0
	CreatedAt time.Time
	Voted     bool // the visitor said whether this answer helped
	Helpful   bool // what they said, when Voted
}

// TrafficSince returns the conversations in which a visitor wrote at or
// after since, oldest first, each whole: the messages before since too,
// and every reply up to now, since what became of a question (a vote, an
// agent's answer days later) is what labels it. Agents' chat messages and
// ticket replies, by the console or by email, are all agent messages of
// the conversation. Internal notes are not messages: they reach no
// visitor, and are not read.
func (s *Store) TrafficSince(ctx context.Context, since time.Time) ([]TrafficConversation, error) {
	// One statement, so one snapshot: a message committed while this reads
	// is either in or out, with its vote. The inner select is served by
	// messages_created (migration 012).
	rows, err := s.read.QueryContext(ctx, `
		WITH recent (id) AS (
			SELECT DISTINCT conversation_id FROM messages WHERE role = 'visitor' AND created_at >= ?
		)
		SELECT c.id, c.lang, c.created_at, m.seq, m.role, m.kind, m.body, COALESCE(m.reply_to, 0), m.created_at, v.helpful
		FROM recent
		JOIN conversations c ON c.id = recent.id
		JOIN messages m ON m.conversation_id = c.id
		LEFT JOIN answer_votes v ON v.conversation_id = m.conversation_id AND v.seq = m.seq
		ORDER BY c.id, m.seq`, trafficBound(since))
	if err != nil {
		return nil, fmt.Errorf("store: traffic since: %w", err)
	}
	defer rows.Close()
	var out []TrafficConversation
	for rows.Next() {
		var c TrafficConversation
		var m TrafficMessage
		var convCreated, msgCreated string
		var helpful sql.NullInt64
		if err := rows.Scan(&c.ID, &c.Lang, &convCreated, &m.Seq, &m.Role, &m.Kind, &m.Body, &m.ReplyTo,
			&msgCreated, &helpful); err != nil {
			return nil, fmt.Errorf("store: traffic since: %w", err)
		}
		m.CreatedAt, m.Voted, m.Helpful = parseTime(msgCreated), helpful.Valid, helpful.Int64 != 0
		if n := len(out); n == 0 || out[n-1].ID != c.ID {
			c.CreatedAt = parseTime(convCreated)
			out = append(out, c)
		}
		last := &out[len(out)-1]
		last.Messages = append(last.Messages, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: traffic since: %w", err)
	}
	return out, nil
}

// trafficBound is since as stored times compare to it, in text: UTC, to
// the second, without fraction or zone, a prefix of every stored time in
// that second ("…T09:15:00" ≤ "…T09:15:00.5Z"), so the whole second counts.
func trafficBound(since time.Time) string {
	return since.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05")
}
