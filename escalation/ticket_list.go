package escalation

import (
	"context"
	"fmt"
)

// The console's ticket lists: one status at a time, optionally one topic,
// a page at a time.

// Bounds of a ticket list page.
const (
	DefaultTicketPage = 50
	maxTicketPage     = 200
)

// TicketFilter picks the tickets of a list.
type TicketFilter struct {
	Status string // open, pending or solved; "" is open
	Topic  string // a topic id; "" for every topic
	// Limit is the page size (DefaultTicketPage when 0, at most 200);
	// Offset skips that many tickets.
	Limit, Offset int
}

// TicketPage is one page of a list; More says a next page exists.
type TicketPage struct {
	Tickets []Ticket
	More    bool
}

// ValidTicketStatus reports whether status is one a ticket can have.
func ValidTicketStatus(status string) bool {
	return status == StatusOpen || status == StatusPending || status == StatusSolved
}

// ListTickets returns a page of the tickets with f's status (and topic).
// Open tickets wait on the team, so the one waiting longest comes first;
// pending and solved ones come most recently changed first.
func (s *Store) ListTickets(ctx context.Context, f TicketFilter) (TicketPage, error) {
	if f.Status == "" {
		f.Status = StatusOpen
	}
	if !ValidTicketStatus(f.Status) {
		return TicketPage{}, fmt.Errorf("store: list tickets: %w", invalid("status", "want open, pending or solved"))
	}
	if f.Limit <= 0 {
		f.Limit = DefaultTicketPage
	}
	f.Limit, f.Offset = min(f.Limit, maxTicketPage), max(f.Offset, 0)
	order := "updated_at DESC, id DESC"
	if f.Status == StatusOpen {
		order = "updated_at, id"
	}
	where, args := `WHERE status = ?`, []any{f.Status}
	if f.Topic != "" {
		where, args = where+` AND topic = ?`, append(args, f.Topic)
	}
	// One row more than the page says whether there is a next one.
	rows, err := s.read.QueryContext(ctx, selectTicket+` `+where+` ORDER BY `+order+` LIMIT ? OFFSET ?`,
		append(args, f.Limit+1, f.Offset)...)
	if err != nil {
		return TicketPage{}, fmt.Errorf("store: list tickets: %w", err)
	}
	defer rows.Close()
	var out TicketPage
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return TicketPage{}, fmt.Errorf("store: list tickets: %w", err)
		}
		out.Tickets = append(out.Tickets, t)
	}
	if err := rows.Err(); err != nil {
		return TicketPage{}, fmt.Errorf("store: list tickets: %w", err)
	}
	if len(out.Tickets) > f.Limit {
		out.Tickets, out.More = out.Tickets[:f.Limit], true
	}
	return out, nil
}

// TicketCounts counts the tickets of each status (of one topic, unless
// topic is ""); a status without tickets counts 0.
func (s *Store) TicketCounts(ctx context.Context, topic string) (map[string]int, error) {
	q, args := `SELECT status, COUNT(*) FROM tickets GROUP BY status`, []any(nil)
	if topic != "" {
		q, args = `SELECT status, COUNT(*) FROM tickets WHERE topic = ? GROUP BY status`, []any{topic}
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: ticket counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{StatusOpen: 0, StatusPending: 0, StatusSolved: 0}
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return nil, fmt.Errorf("store: ticket counts: %w", err)
		}
		out[status] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: ticket counts: %w", err)
	}
	return out, nil
}

// SetTicketStatus moves a ticket to open, pending or solved, as an agent
// decides in the console, and returns it as it now stands. Setting the
// status it has changes nothing.
func (s *Store) SetTicketStatus(ctx context.Context, ref, status string) (Ticket, error) {
	if !ValidTicketStatus(status) {
		return Ticket{}, fmt.Errorf("store: ticket status: %w", invalid("status", "want open, pending or solved"))
	}
	ref = normalRef(ref)
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return Ticket{}, fmt.Errorf("store: ticket status: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE tickets SET status = ?, updated_at = ? WHERE ref = ? AND status <> ?`,
		status, s.now(), ref, status); err != nil {
		return Ticket{}, fmt.Errorf("store: ticket status: %w", err)
	}
	t, err := scanTicket(tx.QueryRowContext(ctx, selectTicket+` WHERE ref = ?`, ref))
	if err != nil {
		return Ticket{}, fmt.Errorf("store: ticket status of %s: %w", ref, err)
	}
	if err := tx.Commit(); err != nil {
		return Ticket{}, fmt.Errorf("store: ticket status: commit: %w", err)
	}
	return t, nil
}
