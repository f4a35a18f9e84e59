package escalation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Retention: conversations, and the tickets, messages, files and mail that
// hang off them, are deleted once their last activity is older than the
// configured number of days. The same cascade serves "bulle privacy
// delete" (privacy.go).

// retentionBatch is how many conversations one transaction deletes: the
// single writer is held for a few milliseconds at a time, so a first sweep
// over years of history never stalls the bubbles' messages behind it.
const retentionBatch = 500

// RetentionInterval is how often RunRetention sweeps after its first sweep.
const RetentionInterval = time.Hour

// Deleted counts what a deletion removed.
type Deleted struct {
	Conversations int `json:"conversations"`
	Tickets       int `json:"tickets"`
	Messages      int `json:"messages"`
	Attachments   int `json:"attachments"` // attached files and staged uploads
	Mail          int `json:"mail"`        // outbox rows, sent or not
	Codes         int `json:"verification_codes"`
	Sessions      int `json:"requests_sessions"`  // "My requests" sign-in links and sessions
	Searches      int `json:"searches,omitempty"` // help-center searches (insights), by retention only

	// Files are the names, in the attachments folder, of the files whose
	// rows are gone; (*Files).RemoveDeleted removes them. The store does
	// not know that folder, and the bytes go only after the commit: a file
	// whose row is gone is garbage, a row whose file is gone a broken link.
	Files []string `json:"-"`
}

func (d *Deleted) add(o Deleted) {
	d.Conversations += o.Conversations
	d.Tickets += o.Tickets
	d.Messages += o.Messages
	d.Attachments += o.Attachments
	d.Mail += o.Mail
	d.Codes += o.Codes
	d.Sessions += o.Sessions
	d.Searches += o.Searches
	d.Files = append(d.Files, o.Files...)
}

// Empty reports whether nothing was deleted.
func (d Deleted) Empty() bool {
	return d.Conversations+d.Tickets+d.Messages+d.Attachments+d.Mail+d.Codes+d.Sessions+d.Searches == 0
}

// RemoveDeleted removes the files of d, once their rows are committed
// gone; a file already missing is no error.
func (f *Files) RemoveDeleted(d Deleted) error {
	var errs []error
	for _, file := range d.Files {
		errs = append(errs, f.remove(file))
	}
	return errors.Join(errs...)
}

// cutoffText writes before for a text comparison with the times the store
// writes: UTC, to the second, without a zone. Every stored time starts
// with the same 19 characters ("2006-01-02T15:04:05"), followed by a
// fraction or a zone, so `stored < cutoff` holds exactly when the stored
// second is before before's; RFC 3339 times of varying width ("…:05Z",
// "…:05.3Z") would not compare right against each other.
func cutoffText(before time.Time) string {
	return before.UTC().Format("2006-01-02T15:04:05")
}

// DeleteInactive deletes the conversations whose last activity (their
// last message, the last change of any of their tickets) is before
// before, with everything that hangs off them: messages and their search
// rows, votes, chats, notes, transcripts, tickets, their verification
// codes, their mail (unsent mail is dropped), attachments and staged
// uploads. It also deletes "My requests" links and sessions expired
// before before, sent or failed mail of no conversation (sign-in links,
// bounces) queued before it, and the help center's searches made before
// it (what visitors typed; the per-day article view counters hold nothing
// personal and stay). Each batch of conversations is its own
// transaction; the caller removes d.Files afterwards (SweepInactive does).
func (s *Store) DeleteInactive(ctx context.Context, before time.Time) (Deleted, error) {
	cutoff := cutoffText(before)
	var total Deleted
	for {
		d, n, err := s.deleteInactiveBatch(ctx, cutoff)
		total.add(d)
		if err != nil {
			return total, fmt.Errorf("store: delete inactive: %w", err)
		}
		if n < retentionBatch {
			break
		}
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return total, fmt.Errorf("store: delete inactive: %w", err)
	}
	defer tx.Rollback()
	for _, q := range []struct {
		sql string
		n   *int
	}{
		{`DELETE FROM request_links WHERE expires_at < ?`, &total.Sessions},
		{`DELETE FROM request_sessions WHERE expires_at < ?`, &total.Sessions},
		{`DELETE FROM outbox WHERE conversation_id IS NULL AND created_at < ?
			AND (sent_at IS NOT NULL OR failed_at IS NOT NULL)`, &total.Mail},
	} {
		res, err := tx.ExecContext(ctx, q.sql, cutoff)
		if err != nil {
			return total, fmt.Errorf("store: delete inactive: %w", err)
		}
		n, _ := res.RowsAffected()
		*q.n += int(n)
	}
	if err := tx.Commit(); err != nil {
		return total, fmt.Errorf("store: delete inactive: commit: %w", err)
	}
	n, err := s.deleteOldSearches(ctx, cutoff)
	total.Searches += n
	if err != nil {
		return total, fmt.Errorf("store: delete inactive: searches: %w", err)
	}
	return total, nil
}

// searchRetentionBatch is how many searches one transaction deletes: a
// busy help center records many a day, and the first sweep of a database
// kept for a year must not hold the writer for seconds.
const searchRetentionBatch = 5000

// deleteOldSearches deletes the help center's searches recorded before
// cutoff, oldest first (served by the index of migration 016), a batch
// per transaction.
func (s *Store) deleteOldSearches(ctx context.Context, cutoff string) (int, error) {
	total := 0
	for {
		res, err := s.write.ExecContext(ctx, `DELETE FROM searches WHERE id IN
			(SELECT id FROM searches WHERE created_at < ? ORDER BY created_at LIMIT ?)`, cutoff, searchRetentionBatch)
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += int(n)
		if n < searchRetentionBatch {
			return total, nil
		}
	}
}

// deleteInactiveBatch deletes at most retentionBatch inactive
// conversations in one transaction and says how many it found.
func (s *Store) deleteInactiveBatch(ctx context.Context, cutoff string) (Deleted, int, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return Deleted{}, 0, err
	}
	defer tx.Rollback()
	// conversations.updated_at is the time of the last message (served by
	// the index of migration 015); a ticket changed since keeps its
	// conversation, and so does any message dated later.
	ids, err := queryIDs(ctx, tx, `
		SELECT c.id FROM conversations c
		WHERE c.updated_at < ?1
			AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.conversation_id = c.id AND t.updated_at >= ?1)
			AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.created_at >= ?1)
		ORDER BY c.updated_at LIMIT ?2`, cutoff, retentionBatch)
	if err != nil || len(ids) == 0 {
		return Deleted{}, 0, err
	}
	d, err := deleteConversationsTx(ctx, tx, ids)
	if err != nil {
		return Deleted{}, 0, err
	}
	if err := tx.Commit(); err != nil {
		return Deleted{}, 0, fmt.Errorf("commit: %w", err)
	}
	return d, len(ids), nil
}

// deleteConversationsTx deletes the conversations ids and all that hangs
// off them inside tx, and returns the counts and the files to remove once
// tx commits. Rows that cascade are deleted explicitly anyway, so that the
// counts are right and the search rows' triggers run.
func deleteConversationsTx(ctx context.Context, tx *sql.Tx, ids []int64) (Deleted, error) {
	var d Deleted
	if len(ids) == 0 {
		return d, nil
	}
	in, args := inList(ids)
	for _, q := range []string{
		`SELECT file FROM attachments WHERE conversation_id IN ` + in,
		`SELECT file FROM uploads WHERE conversation_id IN ` + in,
	} {
		files, err := queryStrings(ctx, tx, q, args...)
		if err != nil {
			return d, err
		}
		d.Files = append(d.Files, files...)
	}
	d.Attachments = len(d.Files)
	steps := []struct {
		sql string
		n   *int
	}{
		{`DELETE FROM verification_codes WHERE ticket_id IN (SELECT id FROM tickets WHERE conversation_id IN ` + in + `)`, &d.Codes},
		{`DELETE FROM outbox WHERE conversation_id IN ` + in, &d.Mail},
		{`DELETE FROM tickets WHERE conversation_id IN ` + in, &d.Tickets},
		{`DELETE FROM attachments WHERE conversation_id IN ` + in, nil},
		{`DELETE FROM uploads WHERE conversation_id IN ` + in, nil},
		{`DELETE FROM transcripts WHERE conversation_id IN ` + in, nil},
		{`DELETE FROM agent_notes WHERE conversation_id IN ` + in, nil},
		{`DELETE FROM chats WHERE conversation_id IN ` + in, nil},
		{`DELETE FROM messages WHERE conversation_id IN ` + in, &d.Messages},
		{`DELETE FROM conversations WHERE id IN ` + in, &d.Conversations},
	}
	for _, st := range steps {
		res, err := tx.ExecContext(ctx, st.sql, args...)
		if err != nil {
			return d, err
		}
		if st.n != nil {
			n, _ := res.RowsAffected()
			*st.n += int(n)
		}
	}
	return d, nil
}

// inList returns "(?, ?, …)" for ids and the matching arguments.
func inList(ids []int64) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + ")", args
}

func queryIDs(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func queryStrings(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// SweepInactive deletes what has been inactive for days (DeleteInactive
// with the store's clock), then removes the files of the deleted rows.
func SweepInactive(ctx context.Context, s *Store, files *Files, days int) (Deleted, error) {
	d, err := s.DeleteInactive(ctx, s.Now().AddDate(0, 0, -days))
	// Files of committed batches go even when a later batch failed.
	if files != nil {
		err = errors.Join(err, files.RemoveDeleted(d))
	}
	return d, err
}

// RunRetention sweeps at once, then every interval (RetentionInterval
// when 0), until ctx ends; days must be over 0. A sweep that deletes
// something or fails is logged, with counts only.
func RunRetention(ctx context.Context, s *Store, files *Files, days int, interval time.Duration, log *slog.Logger) {
	if interval <= 0 {
		interval = RetentionInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		d, err := SweepInactive(ctx, s, files, days)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("retention sweep", "err", err)
		case !d.Empty():
			log.Info("retention: inactive data deleted", "days", days, "conversations", d.Conversations,
				"tickets", d.Tickets, "messages", d.Messages, "attachments", d.Attachments, "mail", d.Mail,
				"requests_sessions", d.Sessions, "searches", d.Searches)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
