package escalation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Agent is a person who answers tickets.
type Agent struct {
	ID        int64
	Email     string
	Name      string
	CreatedAt time.Time
}

// AddAgent creates an agent and returns it with its API token, shown
// once: only the token's hash is stored.
func (s *Store) AddAgent(ctx context.Context, email, name string) (Agent, string, error) {
	email, name = strings.TrimSpace(email), strings.TrimSpace(name)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return Agent{}, "", fmt.Errorf("store: add agent: %w", invalid("email", "is not an email address"))
	}
	if name == "" || utf8.RuneCountInString(name) > maxNameLen || strings.ContainsAny(name, "\r\n") {
		return Agent{}, "", fmt.Errorf("store: add agent: %w", invalid("name", "must be one line of 1 to %d characters", maxNameLen))
	}
	token, hash, err := newToken()
	if err != nil {
		return Agent{}, "", fmt.Errorf("store: add agent: %w", err)
	}
	now := s.now()
	res, err := s.write.ExecContext(ctx, `INSERT INTO agents (email, name, token_hash, created_at) VALUES (?, ?, ?, ?)`,
		email, name, hash, now)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE constraint failed: agents.email") {
			return Agent{}, "", fmt.Errorf("store: add agent %s: %w", email, ErrConflict)
		}
		return Agent{}, "", fmt.Errorf("store: add agent: %w", err)
	}
	id, _ := res.LastInsertId()
	return Agent{ID: id, Email: email, Name: name, CreatedAt: parseTime(now)}, token, nil
}

// AgentByToken finds the agent an API token belongs to; ErrNotFound for
// anything else.
func (s *Store) AgentByToken(ctx context.Context, token string) (Agent, error) {
	hash, ok := tokenHash(token)
	if !ok {
		return Agent{}, fmt.Errorf("store: agent by token: %w", ErrNotFound)
	}
	var a Agent
	var created string
	err := s.read.QueryRowContext(ctx, `SELECT id, email, name, created_at FROM agents WHERE token_hash = ?`, hash).
		Scan(&a.ID, &a.Email, &a.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Agent{}, fmt.Errorf("store: agent by token: %w", ErrNotFound)
	}
	if err != nil {
		return Agent{}, fmt.Errorf("store: agent by token: %w", err)
	}
	a.CreatedAt = parseTime(created)
	return a, nil
}
