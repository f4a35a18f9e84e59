package escalation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// KindAnswer is the kind of bot message a visitor may vote on: an answer
// quoted from an article. (The bot names its decisions; the store only
// needs to know this one.)
const KindAnswer = "answer"

// maxStreak bounds how far back UnhelpfulStreak looks; past a handful the
// exact count changes no decision.
const maxStreak = 20

// RecordAnswerVote stores whether the bot answer at seq helped. A visitor
// has one vote per answer: voting again replaces it. changed reports that
// the stored vote is new or different, so a repeated click triggers nothing.
// A seq that is not a bot answer of this conversation is ErrNotFound.
func (s *Store) RecordAnswerVote(ctx context.Context, conversationID, seq int64, helpful bool) (changed bool, err error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: record answer vote: %w", err)
	}
	defer tx.Rollback()
	var role, kind string
	err = tx.QueryRowContext(ctx, `SELECT role, kind FROM messages WHERE conversation_id = ? AND seq = ?`,
		conversationID, seq).Scan(&role, &kind)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (Role(role) != RoleBot || kind != KindAnswer)) {
		return false, fmt.Errorf("store: record answer vote: no answer %d in conversation %d: %w", seq, conversationID, ErrNotFound)
	} else if err != nil {
		return false, fmt.Errorf("store: record answer vote: %w", err)
	}
	now := s.now()
	// updated_at moves only when the answer changes, as for article votes.
	res, err := tx.ExecContext(ctx, `
		INSERT INTO answer_votes (conversation_id, seq, helpful, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (conversation_id, seq) DO UPDATE
		SET helpful = excluded.helpful, updated_at = excluded.updated_at
		WHERE helpful <> excluded.helpful`,
		conversationID, seq, helpful, now, now)
	if err != nil {
		return false, fmt.Errorf("store: record answer vote: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: record answer vote: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: record answer vote: commit: %w", err)
	}
	return n > 0, nil
}

// UnhelpfulStreak counts the answers the visitor marked unhelpful in a row,
// from the latest voted answer back to the first one marked helpful.
// Answers without a vote neither count nor break the streak: the visitor
// said nothing about them.
func (s *Store) UnhelpfulStreak(ctx context.Context, conversationID int64) (int, error) {
	rows, err := s.read.QueryContext(ctx, `
		SELECT helpful FROM answer_votes
		WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?`, conversationID, maxStreak)
	if err != nil {
		return 0, fmt.Errorf("store: unhelpful streak: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var helpful bool
		if err := rows.Scan(&helpful); err != nil {
			return 0, fmt.Errorf("store: unhelpful streak: %w", err)
		}
		if helpful {
			break
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: unhelpful streak: %w", err)
	}
	return n, nil
}
