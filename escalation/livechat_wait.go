package escalation

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// The wait estimate: the median time from queued to claimed over the
// latest claims, times the visitor's position, within bounds.
const (
	// waitSample is how many of the latest claims the median is taken
	// over: enough that one chat left waiting over lunch does not move
	// it, few enough that it follows the day's staffing.
	waitSample = 20
	// DefaultChatWait is the wait per position before any chat was ever
	// claimed: a guess a visitor can live with, replaced by history after
	// the first claim.
	DefaultChatWait = 2 * time.Minute
	// MinChatWait and MaxChatWait bound what is promised: never "0 min",
	// and never a number so large it means nothing (past an hour the
	// bubble offers email anyway).
	MinChatWait = time.Minute
	MaxChatWait = time.Hour
)

// WaitEstimate is the estimated wait of the chat at position in the queue
// (1 is next): the median wait of the latest claims times position,
// between MinChatWait and MaxChatWait, or DefaultChatWait per position
// when no chat was claimed yet.
func (s *Store) WaitEstimate(ctx context.Context, position int) (time.Duration, error) {
	d, err := waitEstimate(ctx, s.read, position)
	if err != nil {
		return 0, fmt.Errorf("store: wait estimate: %w", err)
	}
	return d, nil
}

func waitEstimate(ctx context.Context, q querier, position int) (time.Duration, error) {
	rows, err := q.QueryContext(ctx, `SELECT queued_at, claimed_at FROM chats
		WHERE claimed_at IS NOT NULL ORDER BY claimed_at DESC LIMIT ?`, waitSample)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var waits []time.Duration
	for rows.Next() {
		var queued, claimed string
		if err := rows.Scan(&queued, &claimed); err != nil {
			return 0, err
		}
		waits = append(waits, max(0, parseTime(claimed).Sub(parseTime(queued))))
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return estimateWait(waits, position), nil
}

// estimateWait is the median of waits times position, bounded.
func estimateWait(waits []time.Duration, position int) time.Duration {
	per := DefaultChatWait
	if len(waits) > 0 {
		slices.Sort(waits)
		per = waits[len(waits)/2]
		if len(waits)%2 == 0 {
			per = (waits[len(waits)/2-1] + waits[len(waits)/2]) / 2
		}
	}
	position = max(1, position)
	if per > MaxChatWait/time.Duration(position) { // no overflow, and already past the bound
		return MaxChatWait
	}
	return min(MaxChatWait, max(MinChatWait, per*time.Duration(position)))
}
