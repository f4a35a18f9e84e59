package escalation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// OutboxStats reports the outbox for monitoring: the mails still to send
// (neither sent nor given up on), how long the oldest of them has waited
// since it was queued (0 when none), and the mails the sender gave up on.
// Failed rows are kept forever, so that count only grows; it costs a scan
// of the outbox, fine at a scrape every few seconds for any help desk's
// volume.
func (s *Store) OutboxStats(ctx context.Context) (queued int, oldest time.Duration, failed int, err error) {
	// The queued count reads the outbox_due partial index. created_at is
	// RFC 3339 of varying width, so the oldest is found by id, which grows
	// with time, not by comparing text.
	if err := s.read.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL`).Scan(&queued); err != nil {
		return 0, 0, 0, fmt.Errorf("store: outbox stats: %w", err)
	}
	if queued > 0 {
		var created string
		err := s.read.QueryRowContext(ctx,
			`SELECT created_at FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL ORDER BY id LIMIT 1`).Scan(&created)
		switch {
		case errors.Is(err, sql.ErrNoRows): // sent in between
		case err != nil:
			return 0, 0, 0, fmt.Errorf("store: outbox stats: %w", err)
		default:
			if t := parseTime(created); !t.IsZero() {
				oldest = max(s.Now().Sub(t), 0)
			}
		}
	}
	if err := s.read.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM outbox WHERE failed_at IS NOT NULL`).Scan(&failed); err != nil {
		return 0, 0, 0, fmt.Errorf("store: outbox stats: %w", err)
	}
	return queued, oldest, failed, nil
}
