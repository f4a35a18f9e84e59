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

// Canned responses are answers agents insert into a reply and adapt: how
// to reset a password, where invoices are. Each is in one language (fr or
// en), so an agent picks the one in the visitor's. Admins write them
// (the console checks the role); every agent reads them.

// maxCannedTitle bounds a canned response's title, in characters: a
// label in a drop-down list.
const maxCannedTitle = 100

// CannedResponse is a stored answer.
type CannedResponse struct {
	ID        int64
	Title     string
	Lang      string // fr or en
	Body      string
	UpdatedBy string // the name of the agent who last wrote it, "" if unknown
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CannedInput is what an admin types for a canned response.
type CannedInput struct {
	Title, Lang, Body string
}

func (in CannedInput) check() (CannedInput, error) {
	in.Title, in.Body = strings.TrimSpace(in.Title), strings.TrimSpace(in.Body)
	switch {
	case in.Title == "" || utf8.RuneCountInString(in.Title) > maxCannedTitle || strings.ContainsAny(in.Title, "\r\n"):
		return in, invalid("title", "want one line of 1 to %d characters", maxCannedTitle)
	case in.Lang != "fr" && in.Lang != "en":
		return in, invalid("lang", "want fr or en")
	case in.Body == "" || utf8.RuneCountInString(in.Body) > maxTicketMessage:
		return in, invalid("body", "want 1 to %d characters", maxTicketMessage)
	case !utf8.ValidString(in.Title + in.Body):
		return in, invalid("body", "is not valid UTF-8")
	}
	return in, nil
}

const selectCanned = `SELECT c.id, c.title, c.lang, c.body, COALESCE(a.name, ''), c.created_at, c.updated_at
	FROM canned_responses c LEFT JOIN agents a ON a.id = c.updated_by`

func scanCanned(row scanner) (CannedResponse, error) {
	var c CannedResponse
	var created, updated string
	if err := row.Scan(&c.ID, &c.Title, &c.Lang, &c.Body, &c.UpdatedBy, &created, &updated); err != nil {
		return CannedResponse{}, err
	}
	c.CreatedAt, c.UpdatedAt = parseTime(created), parseTime(updated)
	return c, nil
}

// CannedResponses lists the canned responses in lang ("" for both), by
// language then title.
func (s *Store) CannedResponses(ctx context.Context, lang string) ([]CannedResponse, error) {
	q, args := selectCanned+` ORDER BY c.lang, lower(c.title), c.id`, []any(nil)
	if lang != "" {
		q, args = selectCanned+` WHERE c.lang = ? ORDER BY lower(c.title), c.id`, []any{lang}
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: canned responses: %w", err)
	}
	defer rows.Close()
	var out []CannedResponse
	for rows.Next() {
		c, err := scanCanned(rows)
		if err != nil {
			return nil, fmt.Errorf("store: canned responses: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: canned responses: %w", err)
	}
	return out, nil
}

// CannedResponse returns one canned response; ErrNotFound when there is
// no such id.
func (s *Store) CannedResponse(ctx context.Context, id int64) (CannedResponse, error) {
	c, err := scanCanned(s.read.QueryRowContext(ctx, selectCanned+` WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return CannedResponse{}, fmt.Errorf("store: canned response %d: %w", id, ErrNotFound)
	} else if err != nil {
		return CannedResponse{}, fmt.Errorf("store: canned response %d: %w", id, err)
	}
	return c, nil
}

// CreateCannedResponse stores a new canned response written by agentID.
// A title already used in that language is ErrConflict.
func (s *Store) CreateCannedResponse(ctx context.Context, agentID int64, in CannedInput) (CannedResponse, error) {
	in, err := in.check()
	if err != nil {
		return CannedResponse{}, fmt.Errorf("store: create canned response: %w", err)
	}
	now := formatOutboxTime(s.Now())
	var id int64
	err = s.write.QueryRowContext(ctx, `INSERT INTO canned_responses (title, lang, body, updated_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, in.Title, in.Lang, in.Body, agentID, now, now).Scan(&id)
	if err != nil {
		return CannedResponse{}, fmt.Errorf("store: create canned response: %w", cannedConflict(err, in))
	}
	return s.CannedResponse(ctx, id)
}

// UpdateCannedResponse replaces a canned response's title, language and
// body. An unknown id is ErrNotFound; a title already used by another in
// that language, ErrConflict.
func (s *Store) UpdateCannedResponse(ctx context.Context, agentID, id int64, in CannedInput) (CannedResponse, error) {
	in, err := in.check()
	if err != nil {
		return CannedResponse{}, fmt.Errorf("store: update canned response: %w", err)
	}
	res, err := s.write.ExecContext(ctx, `UPDATE canned_responses SET title = ?, lang = ?, body = ?, updated_by = ?, updated_at = ?
		WHERE id = ?`, in.Title, in.Lang, in.Body, agentID, formatOutboxTime(s.Now()), id)
	if err != nil {
		return CannedResponse{}, fmt.Errorf("store: update canned response: %w", cannedConflict(err, in))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return CannedResponse{}, fmt.Errorf("store: update canned response %d: %w", id, ErrNotFound)
	}
	return s.CannedResponse(ctx, id)
}

// DeleteCannedResponse deletes a canned response; ErrNotFound when there
// is no such id.
func (s *Store) DeleteCannedResponse(ctx context.Context, id int64) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM canned_responses WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: delete canned response: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: delete canned response %d: %w", id, ErrNotFound)
	}
	return nil
}

// cannedConflict turns the (lang, title) uniqueness failure into
// ErrConflict.
func cannedConflict(err error, in CannedInput) error {
	if strings.Contains(err.Error(), "UNIQUE constraint failed: canned_responses.") {
		return fmt.Errorf("a %s canned response is already titled %q: %w", in.Lang, in.Title, ErrConflict)
	}
	return err
}
