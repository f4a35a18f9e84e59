package escalation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
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

// Counts are what the store committed since it opened, for monitoring:
// messages by role, chats queued and tickets opened. They live in memory
// and start at zero with the process, as Prometheus counters do; only
// writes that committed count, so a rolled-back ticket or a resent
// message (stored once) adds nothing.
type Counts struct {
	Messages      map[Role]uint64 // every role, 0 included
	ChatsQueued   uint64          // chats put in the queue (a chat queued again after it ended counts again)
	TicketsOpened uint64          // tickets opened, from any channel; follow-ups add a message, not a ticket
}

// roles are the roles counted, in the order of counters.messages.
var roles = [...]Role{RoleVisitor, RoleBot, RoleAgent, RoleSystem}

func roleIndex(r Role) int {
	for i, x := range roles {
		if x == r {
			return i
		}
	}
	return -1
}

// counters are the store's running totals behind Counts.
type counters struct {
	messages [len(roles)]atomic.Uint64
	chats    atomic.Uint64
	tickets  atomic.Uint64
}

// Counts reads the totals; each is exact, the set is not one snapshot.
func (s *Store) Counts() Counts {
	c := Counts{Messages: make(map[Role]uint64, len(roles)),
		ChatsQueued: s.counts.chats.Load(), TicketsOpened: s.counts.tickets.Load()}
	for i, r := range roles {
		c.Messages[r] = s.counts.messages[i].Load()
	}
	return c
}

// tally is what one write transaction stored, added to the store's
// counters only once it commits. It travels in the transaction's context
// so that appendInTx and createTicketTx, deep in any transaction, report
// to it without a parameter each; a transaction with no tally in its
// context counts nothing.
type tally struct {
	to       *counters
	messages [len(roles)]uint64
	tickets  uint64
}

type tallyKey struct{}

// counting returns ctx with a new tally for one write transaction; call
// its committed method once the transaction has committed.
func (s *Store) counting(ctx context.Context) (context.Context, *tally) {
	t := &tally{to: &s.counts}
	return context.WithValue(ctx, tallyKey{}, t), t
}

func tallyOf(ctx context.Context) *tally {
	t, _ := ctx.Value(tallyKey{}).(*tally)
	return t
}

// message records a message stored; nil-safe.
func (t *tally) message(r Role) {
	if i := roleIndex(r); t != nil && i >= 0 {
		t.messages[i]++
	}
}

// ticket records a ticket opened; nil-safe.
func (t *tally) ticket() {
	if t != nil {
		t.tickets++
	}
}

// committed adds the tally to the store's counters. Call it once, after
// the commit returned nil.
func (t *tally) committed() {
	for i, n := range t.messages {
		if n > 0 {
			t.to.messages[i].Add(n)
		}
	}
	if t.tickets > 0 {
		t.to.tickets.Add(t.tickets)
	}
}
