package escalation

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Agent is a person who answers tickets and chats.
type Agent struct {
	ID        int64
	Email     string
	Name      string
	Role      AgentRole
	CreatedAt time.Time
	// PasswordSet says the agent has followed their setup link and can
	// sign in to the console.
	PasswordSet bool
	// Away says the agent set themselves away in the console.
	Away bool
}

// ErrAgentGone means the agent named is unknown or was removed: nothing
// can be handed to them, and they take nothing. It is an ErrNotFound
// (ErrorCode gives ENOTFOUND), so a caller that only knows ErrNotFound
// still refuses; the console tells it apart, to say "that agent no longer
// exists" rather than "no such chat".
var ErrAgentGone = fmt.Errorf("%w: no such agent (unknown or removed)", ErrNotFound)

// AgentRole is what an agent may do in the console.
type AgentRole string

// The roles. An admin will manage agents and settings from the console;
// today both answer the same way.
const (
	AgentRoleAgent AgentRole = "agent"
	AgentRoleAdmin AgentRole = "admin"
)

// ParseAgentRole checks a role typed on the command line.
func ParseAgentRole(s string) (AgentRole, error) {
	switch r := AgentRole(strings.TrimSpace(s)); r {
	case AgentRoleAgent, AgentRoleAdmin:
		return r, nil
	}
	return "", invalid("role", "must be %s or %s", AgentRoleAgent, AgentRoleAdmin)
}

// Invitation is a new agent with the secrets shown once to whoever added
// them: the API token, and the token of the password-setup link.
type Invitation struct {
	Agent          Agent
	APIToken       string
	SetupToken     string
	SetupExpiresAt time.Time
}

// AddAgent creates an agent with the agent role and returns it with its
// API token, shown once: only the token's hash is stored. It makes no
// setup link; InviteAgent does.
func (s *Store) AddAgent(ctx context.Context, email, name string) (Agent, string, error) {
	inv, err := s.addAgent(ctx, email, name, AgentRoleAgent, false)
	if err != nil {
		return Agent{}, "", fmt.Errorf("store: add agent: %w", err)
	}
	return inv.Agent, inv.APIToken, nil
}

// InviteAgent creates an agent (or brings back a removed one with that
// address, with new tokens and no password) and returns its API token
// and a one-time password-setup token valid SetupTokenTTL. An agent
// already active with that address, in any case, is ErrConflict.
func (s *Store) InviteAgent(ctx context.Context, email, name string, role AgentRole) (Invitation, error) {
	inv, err := s.addAgent(ctx, email, name, role, true)
	if err != nil {
		return Invitation{}, fmt.Errorf("store: invite agent: %w", err)
	}
	return inv, nil
}

func (s *Store) addAgent(ctx context.Context, email, name string, role AgentRole, setup bool) (Invitation, error) {
	email, name = strings.TrimSpace(email), strings.TrimSpace(name)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > maxEmailLen {
		return Invitation{}, invalid("email", "is not an email address")
	}
	if name == "" || utf8.RuneCountInString(name) > maxNameLen || strings.ContainsAny(name, "\r\n") {
		return Invitation{}, invalid("name", "must be one line of 1 to %d characters", maxNameLen)
	}
	if _, err := ParseAgentRole(string(role)); err != nil {
		return Invitation{}, err
	}
	token, hash, err := newToken()
	if err != nil {
		return Invitation{}, err
	}
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return Invitation{}, err
	}
	defer tx.Rollback()
	now := s.now()
	var id int64
	var removed sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT id, removed_at FROM agents WHERE lower(email) = ? ORDER BY removed_at IS NULL DESC LIMIT 1`,
		asciiLower(email)).Scan(&id, &removed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		err := tx.QueryRowContext(ctx, `INSERT INTO agents (email, name, role, token_hash, created_at) VALUES (?, ?, ?, ?, ?)
			RETURNING id`, email, name, role, hash, now).Scan(&id)
		if err != nil {
			return Invitation{}, err
		}
	case err != nil:
		return Invitation{}, err
	case !removed.Valid:
		return Invitation{}, fmt.Errorf("agent %s: %w", email, ErrConflict)
	default:
		// A removed agent comes back as new: new name, role and tokens, no
		// password, and the same id, which their old messages name.
		if _, err := tx.ExecContext(ctx, `UPDATE agents SET email = ?, name = ?, role = ?, token_hash = ?, created_at = ?,
			password_hash = NULL, removed_at = NULL, away = 0 WHERE id = ?`, email, name, role, hash, now, id); err != nil {
			return Invitation{}, err
		}
	}
	inv := Invitation{Agent: Agent{ID: id, Email: email, Name: name, Role: role, CreatedAt: parseTime(now)}, APIToken: token}
	if setup {
		if inv.SetupToken, inv.SetupExpiresAt, err = s.newSetupToken(ctx, tx, id); err != nil {
			return Invitation{}, err
		}
	}
	if err := tx.Commit(); err != nil {
		return Invitation{}, fmt.Errorf("commit: %w", err)
	}
	return inv, nil
}

// agentColumns are the columns scanAgent expects, of the agents table as a.
const agentColumns = `a.id, a.email, a.name, a.role, a.created_at, a.password_hash IS NOT NULL, a.away`

// selectAgent reads one agent per row.
const selectAgent = `SELECT ` + agentColumns + ` FROM agents a`

func scanAgent(row scanner) (Agent, error) {
	var a Agent
	var created string
	if err := row.Scan(&a.ID, &a.Email, &a.Name, &a.Role, &created, &a.PasswordSet, &a.Away); err != nil {
		return Agent{}, err
	}
	a.CreatedAt = parseTime(created)
	return a, nil
}

// AgentByToken finds the active agent an API token belongs to;
// ErrNotFound for anything else, a removed agent's old token included.
func (s *Store) AgentByToken(ctx context.Context, token string) (Agent, error) {
	hash, ok := tokenHash(token)
	if !ok {
		return Agent{}, fmt.Errorf("store: agent by token: %w", ErrNotFound)
	}
	a, err := scanAgent(s.read.QueryRowContext(ctx, selectAgent+` WHERE token_hash = ? AND removed_at IS NULL`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return Agent{}, fmt.Errorf("store: agent by token: %w", ErrNotFound)
	}
	if err != nil {
		return Agent{}, fmt.Errorf("store: agent by token: %w", err)
	}
	return a, nil
}

// AgentByID finds the active agent with that id; ErrAgentGone for an
// unknown or removed one.
func (s *Store) AgentByID(ctx context.Context, id int64) (Agent, error) {
	a, err := scanAgent(s.read.QueryRowContext(ctx, selectAgent+` WHERE id = ? AND removed_at IS NULL`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Agent{}, fmt.Errorf("store: agent %d: %w", id, ErrAgentGone)
	}
	if err != nil {
		return Agent{}, fmt.Errorf("store: agent by id: %w", err)
	}
	return a, nil
}

// AgentByEmail finds the active agent with that address, in any case.
func (s *Store) AgentByEmail(ctx context.Context, email string) (Agent, error) {
	a, err := scanAgent(s.read.QueryRowContext(ctx, selectAgent+` WHERE lower(email) = ? AND removed_at IS NULL`,
		asciiLower(strings.TrimSpace(email))))
	if errors.Is(err, sql.ErrNoRows) {
		return Agent{}, fmt.Errorf("store: agent %s: %w", email, ErrNotFound)
	}
	if err != nil {
		return Agent{}, fmt.Errorf("store: agent by email: %w", err)
	}
	return a, nil
}

// Agents lists the active agents, by address.
func (s *Store) Agents(ctx context.Context) ([]Agent, error) {
	rows, err := s.read.QueryContext(ctx, selectAgent+` WHERE removed_at IS NULL ORDER BY lower(email)`)
	if err != nil {
		return nil, fmt.Errorf("store: agents: %w", err)
	}
	defer rows.Close()
	var out []Agent
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, fmt.Errorf("store: agents: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: agents: %w", err)
	}
	return out, nil
}

// RemoveAgent removes the active agent with that address, in one
// transaction: their console sessions and unused setup links are
// deleted, their password forgotten, and their API token overwritten
// with random bytes, so that nothing they held opens anything. The row
// stays, because their messages name them. Their open console sockets
// notice within the console's revalidation interval.
func (s *Store) RemoveAgent(ctx context.Context, email string) (Agent, error) {
	a, err := s.removeAgent(ctx, email)
	if err != nil {
		return Agent{}, fmt.Errorf("store: remove agent: %w", err)
	}
	return a, nil
}

func (s *Store) removeAgent(ctx context.Context, email string) (Agent, error) {
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return Agent{}, err
	}
	defer tx.Rollback()
	a, err := scanAgent(tx.QueryRowContext(ctx, selectAgent+` WHERE lower(email) = ? AND removed_at IS NULL`,
		asciiLower(strings.TrimSpace(email))))
	if errors.Is(err, sql.ErrNoRows) {
		return Agent{}, fmt.Errorf("agent %s: %w", email, ErrNotFound)
	} else if err != nil {
		return Agent{}, err
	}
	revoked := make([]byte, 32)
	if _, err := rand.Read(revoked); err != nil {
		return Agent{}, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE agents SET removed_at = ?, token_hash = ?, password_hash = NULL, away = 0
		WHERE id = ?`, s.now(), revoked, a.ID); err != nil {
		return Agent{}, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE agent_id = ?`, a.ID); err != nil {
		return Agent{}, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM agent_setup_tokens WHERE agent_id = ?`, a.ID); err != nil {
		return Agent{}, err
	}
	if err := tx.Commit(); err != nil {
		return Agent{}, fmt.Errorf("commit: %w", err)
	}
	return a, nil
}

// SetAgentAway records whether the agent is away; it stays so across
// sign-ins until they come back.
func (s *Store) SetAgentAway(ctx context.Context, agentID int64, away bool) error {
	res, err := s.write.ExecContext(ctx, `UPDATE agents SET away = ? WHERE id = ? AND removed_at IS NULL`, away, agentID)
	if err != nil {
		return fmt.Errorf("store: set away: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: set away: agent %d: %w", agentID, ErrNotFound)
	}
	return nil
}
