package escalation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Internal notes are what agents write about a conversation for each
// other: "called her back", "refund approved by Marc". Visitors never see
// them. They are not messages: they live in agent_notes (migration 012),
// and only the console reads them (AgentNotes, ConsoleThread). Whatever
// shows a conversation to its visitor reads messages (the bubble's replay
// through MessagesAfter, the transcript mail, "My requests", the ticket
// mails), so no change there can leak a note.

// maxNoteRunes bounds a note, in characters, as a ticket message is.
const maxNoteRunes = maxTicketMessage

// AgentNote is an internal note on a conversation.
type AgentNote struct {
	ID             int64
	ConversationID int64
	AgentID        int64
	AgentName      string // the author's name, kept after they are removed
	Body           string
	CreatedAt      time.Time
}

// AddAgentNote stores an agent's note on a conversation. An unknown
// conversation, or an agent who is unknown or removed, is ErrNotFound.
func (s *Store) AddAgentNote(ctx context.Context, agentID, conversationID int64, body string) (AgentNote, error) {
	n, err := s.addAgentNote(ctx, agentID, conversationID, body)
	if err != nil {
		return AgentNote{}, fmt.Errorf("store: add note: %w", err)
	}
	return n, nil
}

func (s *Store) addAgentNote(ctx context.Context, agentID, conversationID int64, body string) (AgentNote, error) {
	body = strings.TrimSpace(body)
	if body == "" || utf8.RuneCountInString(body) > maxNoteRunes || !utf8.ValidString(body) {
		return AgentNote{}, invalid("note", "want 1 to %d characters", maxNoteRunes)
	}
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return AgentNote{}, err
	}
	defer tx.Rollback()
	var exists int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM conversations WHERE id = ?`, conversationID).Scan(&exists)
	if errors.Is(err, sql.ErrNoRows) {
		return AgentNote{}, fmt.Errorf("conversation %d: %w", conversationID, ErrNotFound)
	} else if err != nil {
		return AgentNote{}, err
	}
	n := AgentNote{ConversationID: conversationID, AgentID: agentID, Body: body}
	err = tx.QueryRowContext(ctx, `SELECT name FROM agents WHERE id = ? AND removed_at IS NULL`, agentID).Scan(&n.AgentName)
	if errors.Is(err, sql.ErrNoRows) {
		return AgentNote{}, fmt.Errorf("agent %d: %w", agentID, ErrNotFound)
	} else if err != nil {
		return AgentNote{}, err
	}
	at := s.Now().UTC()
	err = tx.QueryRowContext(ctx, `INSERT INTO agent_notes (conversation_id, agent_id, body, created_at) VALUES (?, ?, ?, ?)
		RETURNING id`, conversationID, agentID, body, formatOutboxTime(at)).Scan(&n.ID)
	if err != nil {
		return AgentNote{}, err
	}
	if err := tx.Commit(); err != nil {
		return AgentNote{}, fmt.Errorf("commit: %w", err)
	}
	n.CreatedAt = parseTime(formatOutboxTime(at))
	return n, nil
}

// AgentNotes lists a conversation's notes, oldest first.
func (s *Store) AgentNotes(ctx context.Context, conversationID int64) ([]AgentNote, error) {
	notes, err := notesOf(ctx, s.read, conversationID)
	if err != nil {
		return nil, fmt.Errorf("store: notes: %w", err)
	}
	return notes, nil
}

func notesOf(ctx context.Context, q querier, conversationID int64) ([]AgentNote, error) {
	rows, err := q.QueryContext(ctx, `SELECT n.id, n.conversation_id, n.agent_id, a.name, n.body, n.created_at
		FROM agent_notes n JOIN agents a ON a.id = n.agent_id WHERE n.conversation_id = ? ORDER BY n.id`, conversationID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AgentNote
	for rows.Next() {
		var n AgentNote
		var created string
		if err := rows.Scan(&n.ID, &n.ConversationID, &n.AgentID, &n.AgentName, &n.Body, &created); err != nil {
			return nil, err
		}
		n.CreatedAt = parseTime(created)
		out = append(out, n)
	}
	return out, rows.Err()
}

// ThreadEntry is one entry of a conversation as the console shows it:
// a message (Seq > 0), or an internal note (Note set).
type ThreadEntry struct {
	// TranscriptLine is the message as a person reads it: a bot decision
	// as its text, quote and article; an agent's message under the
	// agent's name (Who, "" when no agent is recorded); its files.
	TranscriptLine
	// Kind is the message's: "text" (the bubble), "ticket" (a form),
	// "email" (a reply by mail), "agent_reply" (an answer by mail), a
	// decision or a system note's kind.
	Kind string
	// Note is the internal note of this entry; nil for a message.
	Note *AgentNote
}

// ConsoleThread reads a whole conversation for the console, from one
// snapshot: its messages in seq order and its internal notes, each note
// placed after the messages stored before it.
func (s *Store) ConsoleThread(ctx context.Context, conversationID int64, lang string) ([]ThreadEntry, error) {
	out, err := s.consoleThread(ctx, conversationID, lang)
	if err != nil {
		return nil, fmt.Errorf("store: console thread: %w", err)
	}
	return out, nil
}

func (s *Store) consoleThread(ctx context.Context, conversationID int64, lang string) ([]ThreadEntry, error) {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	msgs, authors, err := threadMessages(ctx, tx, conversationID)
	if err != nil {
		return nil, err
	}
	files, err := attachmentsOf(ctx, tx, conversationID)
	if err != nil {
		return nil, err
	}
	notes, err := notesOf(ctx, tx, conversationID)
	if err != nil {
		return nil, err
	}
	// Messages keep their seq order; each note goes after the messages
	// stored up to its time (the same instant included).
	out := make([]ThreadEntry, 0, len(msgs)+len(notes))
	next := 0
	for _, m := range msgs {
		for ; next < len(notes) && notes[next].CreatedAt.Before(m.CreatedAt); next++ {
			out = append(out, noteEntry(&notes[next]))
		}
		l := lineOf(m, lang, "")
		if m.Role == RoleAgent {
			l.Who = authors[m.Seq]
		}
		l.Files = files[m.Seq]
		out = append(out, ThreadEntry{TranscriptLine: l, Kind: m.Kind})
	}
	for ; next < len(notes); next++ {
		out = append(out, noteEntry(&notes[next]))
	}
	return out, nil
}

// noteEntry is a note as a thread entry: its time, author and text.
func noteEntry(n *AgentNote) ThreadEntry {
	return ThreadEntry{TranscriptLine: TranscriptLine{At: n.CreatedAt, Who: n.AgentName, Text: n.Body}, Note: n}
}
