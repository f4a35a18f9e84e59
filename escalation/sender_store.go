package escalation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// claimDueMail leases the mail that has waited longest among those due at
// the store's now, to leaseID until now+lease, and counts the attempt. It
// reports false when no mail is due.
//
// The choice and the lease are one UPDATE on the single writer connection,
// so two workers, in this process or another, never claim the same row. A
// leased row is simply not due until its lease ends: a worker that dies
// mid-send loses the row then, and the mail is sent again, never lost.
func (s *Store) claimDueMail(ctx context.Context, leaseID string, lease time.Duration) (OutboxMail, bool, error) {
	now := s.Now()
	m, err := scanOutboxMail(s.write.QueryRowContext(ctx, `
		UPDATE outbox SET lease_id = ?, attempts = attempts + 1, next_attempt_at = ?
		WHERE id = (SELECT id FROM outbox
			WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
			ORDER BY next_attempt_at, id LIMIT 1)
		RETURNING `+outboxColumns,
		leaseID, formatOutboxTime(now.Add(lease)), formatOutboxTime(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return OutboxMail{}, false, nil
	} else if err != nil {
		return OutboxMail{}, false, fmt.Errorf("store: claim mail: %w", err)
	}
	return m, true, nil
}

// markMailSent records that the SMTP server accepted mail id. It marks the
// row even when leaseID lost it meanwhile (the lease ended during a slow
// send): the mail did leave, and marking it at once spares a further copy.
// stolen reports that case, in which another worker may have sent it too.
func (s *Store) markMailSent(ctx context.Context, id int64, leaseID string) (stolen bool, err error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: mark mail %d sent: %w", id, err)
	}
	defer tx.Rollback()
	var holder string
	var sent bool
	err = tx.QueryRowContext(ctx, `SELECT COALESCE(lease_id, ''), sent_at IS NOT NULL FROM outbox WHERE id = ?`, id).Scan(&holder, &sent)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("store: mark mail %d sent: %w", id, ErrNotFound)
	} else if err != nil {
		return false, fmt.Errorf("store: mark mail %d sent: %w", id, err)
	}
	if sent {
		return true, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE outbox SET sent_at = ?, lease_id = NULL, failed_at = NULL WHERE id = ?`,
		s.now(), id); err != nil {
		return false, fmt.Errorf("store: mark mail %d sent: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: mark mail %d sent: commit: %w", id, err)
	}
	return holder != leaseID, nil
}

// retryMailAt records a failed attempt and makes the mail due again at at.
// It changes nothing when leaseID no longer holds the row.
func (s *Store) retryMailAt(ctx context.Context, id int64, leaseID, lastError string, at time.Time) error {
	if _, err := s.write.ExecContext(ctx, `UPDATE outbox SET lease_id = NULL, last_error = ?, next_attempt_at = ?
		WHERE id = ? AND lease_id = ? AND sent_at IS NULL`,
		truncateError(lastError), formatOutboxTime(at), id, leaseID); err != nil {
		return fmt.Errorf("store: retry mail %d: %w", id, err)
	}
	return nil
}

// failMail records that the sender gives up on mail id. The row is kept,
// with its last error, for people to read and RetryMail to requeue.
func (s *Store) failMail(ctx context.Context, id int64, leaseID, lastError string) error {
	if _, err := s.write.ExecContext(ctx, `UPDATE outbox SET lease_id = NULL, last_error = ?, failed_at = ?
		WHERE id = ? AND lease_id = ? AND sent_at IS NULL`,
		truncateError(lastError), s.now(), id, leaseID); err != nil {
		return fmt.Errorf("store: fail mail %d: %w", id, err)
	}
	return nil
}

// nextMailDue returns when the next unsent mail falls due (now or in the
// past for one due already), and false when none waits.
func (s *Store) nextMailDue(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullString
	if err := s.read.QueryRowContext(ctx, `SELECT MIN(next_attempt_at) FROM outbox
		WHERE sent_at IS NULL AND failed_at IS NULL`).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("store: next mail due: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	t, err := time.Parse(time.RFC3339Nano, next.String)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: next mail due %q: %w", next.String, err)
	}
	return t, true, nil
}

// maxErrorLen bounds the last_error kept per mail: an SMTP reply may be
// several lines long, and one line says enough.
const maxErrorLen = 500

func truncateError(s string) string {
	if len(s) <= maxErrorLen {
		return s
	}
	cut := maxErrorLen
	for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}
