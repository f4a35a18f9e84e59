package escalation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// How agents sign in to the console: `bulle agent add` prints a one-time
// link; following it, the agent chooses a password (hashed with argon2id,
// password.go); signing in with it opens a session, whose token the
// browser keeps in a cookie. Only SHA-256 hashes of the link and session
// tokens are stored. Rate limiting of sign-in attempts lives in the
// console's HTTP layer.

// Lifetimes of the setup link and of console sessions.
const (
	// SetupTokenTTL gives a new agent two days to choose a password.
	SetupTokenTTL = 48 * time.Hour
	// ConsoleSessionTTL ends a session twelve hours after sign-in, a
	// working day with margin, however busy it is.
	ConsoleSessionTTL = 12 * time.Hour
	// ConsoleSessionIdle ends a session unused for two hours; an open
	// console socket counts as use (LiveConsoleSessions).
	ConsoleSessionIdle = 2 * time.Hour
)

// ConsoleSession is an agent signed in to the console.
type ConsoleSession struct {
	ID         int64
	Agent      Agent
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
}

// newSetupToken makes agentID a setup token inside tx, deleting their
// unused ones (only the newest link works) and everyone's expired ones.
func (s *Store) newSetupToken(ctx context.Context, tx *sql.Tx, agentID int64) (string, time.Time, error) {
	at := s.Now().UTC()
	if _, err := tx.ExecContext(ctx, `DELETE FROM agent_setup_tokens WHERE (agent_id = ? AND used_at IS NULL) OR expires_at <= ?`,
		agentID, formatOutboxTime(at)); err != nil {
		return "", time.Time{}, err
	}
	token, hash, err := newToken()
	if err != nil {
		return "", time.Time{}, err
	}
	expires := at.Add(SetupTokenTTL)
	if _, err := tx.ExecContext(ctx, `INSERT INTO agent_setup_tokens (token_hash, agent_id, created_at, expires_at)
		VALUES (?, ?, ?, ?)`, hash, agentID, formatOutboxTime(at), formatOutboxTime(expires)); err != nil {
		return "", time.Time{}, err
	}
	return token, expires, nil
}

// NewSetupToken makes a new password-setup token for the active agent
// with that address (a forgotten password, or a link that expired); the
// agent's older unused links stop working. Their password, if any, works
// until the new one is set.
func (s *Store) NewSetupToken(ctx context.Context, email string) (Agent, string, time.Time, error) {
	a, token, expires, err := s.resetAgent(ctx, email)
	if err != nil {
		return Agent{}, "", time.Time{}, fmt.Errorf("store: new setup link: %w", err)
	}
	return a, token, expires, nil
}

func (s *Store) resetAgent(ctx context.Context, email string) (Agent, string, time.Time, error) {
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return Agent{}, "", time.Time{}, err
	}
	defer tx.Rollback()
	a, err := scanAgent(tx.QueryRowContext(ctx, selectAgent+` WHERE lower(email) = ? AND removed_at IS NULL`,
		asciiLower(strings.TrimSpace(email))))
	if errors.Is(err, sql.ErrNoRows) {
		return Agent{}, "", time.Time{}, fmt.Errorf("agent %s: %w", email, ErrNotFound)
	} else if err != nil {
		return Agent{}, "", time.Time{}, err
	}
	token, expires, err := s.newSetupToken(ctx, tx, a.ID)
	if err != nil {
		return Agent{}, "", time.Time{}, err
	}
	if err := tx.Commit(); err != nil {
		return Agent{}, "", time.Time{}, fmt.Errorf("commit: %w", err)
	}
	return a, token, expires, nil
}

// SetupTokenAgent says whose a setup token is, without using it: the
// page it opens shows the address before the agent chooses a password.
// A token used, expired, unknown, or of a removed agent is ErrNotFound.
func (s *Store) SetupTokenAgent(ctx context.Context, token string) (Agent, error) {
	hash, ok := tokenHash(token)
	if !ok {
		return Agent{}, fmt.Errorf("store: setup link: %w", ErrNotFound)
	}
	a, err := scanAgent(s.read.QueryRowContext(ctx, selectAgent+` JOIN agent_setup_tokens t ON t.agent_id = a.id
		WHERE t.token_hash = ? AND t.used_at IS NULL AND t.expires_at > ? AND a.removed_at IS NULL`,
		hash, formatOutboxTime(s.Now())))
	if errors.Is(err, sql.ErrNoRows) {
		return Agent{}, fmt.Errorf("store: setup link: %w", ErrNotFound)
	} else if err != nil {
		return Agent{}, fmt.Errorf("store: setup link: %w", err)
	}
	return a, nil
}

// SetAgentPassword uses a setup token, once, to set its agent's
// password. The token is marked used, the hash stored and every session
// of the agent ended in one transaction: a reset signs out everywhere.
// A password outside the rules is a ValidationError and leaves the token
// unused; a dead token is ErrNotFound.
func (s *Store) SetAgentPassword(ctx context.Context, setupToken, password string) (Agent, error) {
	a, err := s.setAgentPassword(ctx, setupToken, password)
	if err != nil {
		return Agent{}, fmt.Errorf("store: set password: %w", err)
	}
	return a, nil
}

func (s *Store) setAgentPassword(ctx context.Context, setupToken, password string) (Agent, error) {
	if err := CheckPasswordRules(password); err != nil {
		return Agent{}, err
	}
	hash, ok := tokenHash(setupToken)
	if !ok {
		return Agent{}, ErrNotFound
	}
	// Hash first (about 100 ms), outside the write transaction, so that
	// other writes do not wait for it; but only for a token worth it.
	if _, err := s.SetupTokenAgent(ctx, setupToken); err != nil {
		return Agent{}, err
	}
	var encoded string
	var hashErr error
	if err := s.withHashSlot(ctx, func() { encoded, hashErr = HashPassword(password) }); err != nil {
		return Agent{}, err
	}
	if hashErr != nil {
		return Agent{}, hashErr
	}
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return Agent{}, err
	}
	defer tx.Rollback()
	now := s.Now().UTC()
	var agentID int64
	err = tx.QueryRowContext(ctx, `UPDATE agent_setup_tokens SET used_at = ?
		WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING agent_id`,
		formatOutboxTime(now), hash, formatOutboxTime(now)).Scan(&agentID)
	if errors.Is(err, sql.ErrNoRows) {
		return Agent{}, fmt.Errorf("link used, expired or unknown: %w", ErrNotFound)
	} else if err != nil {
		return Agent{}, err
	}
	res, err := tx.ExecContext(ctx, `UPDATE agents SET password_hash = ? WHERE id = ? AND removed_at IS NULL`, encoded, agentID)
	if err != nil {
		return Agent{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Agent{}, fmt.Errorf("agent removed: %w", ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE agent_id = ?`, agentID); err != nil {
		return Agent{}, err
	}
	a, err := scanAgent(tx.QueryRowContext(ctx, selectAgent+` WHERE id = ?`, agentID))
	if err != nil {
		return Agent{}, err
	}
	if err := tx.Commit(); err != nil {
		return Agent{}, fmt.Errorf("commit: %w", err)
	}
	return a, nil
}

// AgentLogin checks an agent's address (in any case) and password. Any
// failure, an unknown address, an agent removed or without a password,
// or a wrong password, is the same ErrUnauthorized, in about the same
// time: a missing hash is replaced by a dummy one, so that the answer
// does not tell who is an agent.
func (s *Store) AgentLogin(ctx context.Context, email, password string) (Agent, error) {
	a, err := s.agentLogin(ctx, email, password)
	if err != nil {
		return Agent{}, fmt.Errorf("store: sign in: %w", err)
	}
	return a, nil
}

func (s *Store) agentLogin(ctx context.Context, email, password string) (Agent, error) {
	// A password longer than any allowed one cannot match; refuse it
	// before hashing megabytes (4 bytes per character at most).
	if len(password) > 4*MaxPasswordLen || password == "" {
		return Agent{}, ErrUnauthorized
	}
	var encoded sql.NullString
	row := s.read.QueryRowContext(ctx, `SELECT `+agentColumns+`, a.password_hash FROM agents a
		WHERE lower(a.email) = ? AND a.removed_at IS NULL`, asciiLower(strings.TrimSpace(email)))
	var a Agent
	var created string
	err := row.Scan(&a.ID, &a.Email, &a.Name, &a.Role, &created, &a.PasswordSet, &a.Away, &encoded)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Agent{}, err
	}
	a.CreatedAt = parseTime(created)
	known := err == nil && encoded.Valid
	if !known {
		encoded.String = dummyHash
	}
	var match bool
	var checkErr error
	if err := s.withHashSlot(ctx, func() { match, checkErr = CheckPassword(encoded.String, password) }); err != nil {
		return Agent{}, err
	}
	if checkErr != nil {
		return Agent{}, fmt.Errorf("agent %d: %w", a.ID, checkErr)
	}
	if !known || !match {
		return Agent{}, ErrUnauthorized
	}
	return a, nil
}

// OpenConsoleSession opens a console session for an agent who has just
// proved who they are, and returns its token (for a cookie; only its
// hash is stored). Sessions past their time are deleted on the way.
func (s *Store) OpenConsoleSession(ctx context.Context, agentID int64) (string, ConsoleSession, error) {
	token, hash, err := newToken()
	if err != nil {
		return "", ConsoleSession{}, fmt.Errorf("store: open session: %w", err)
	}
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return "", ConsoleSession{}, fmt.Errorf("store: open session: %w", err)
	}
	defer tx.Rollback()
	at := s.Now().UTC()
	if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE expires_at <= ? OR last_seen_at <= ?`,
		formatOutboxTime(at), formatOutboxTime(at.Add(-ConsoleSessionIdle))); err != nil {
		return "", ConsoleSession{}, fmt.Errorf("store: open session: %w", err)
	}
	a, err := scanAgent(tx.QueryRowContext(ctx, selectAgent+` WHERE id = ? AND removed_at IS NULL`, agentID))
	if errors.Is(err, sql.ErrNoRows) {
		return "", ConsoleSession{}, fmt.Errorf("store: open session: agent %d: %w", agentID, ErrNotFound)
	} else if err != nil {
		return "", ConsoleSession{}, fmt.Errorf("store: open session: %w", err)
	}
	sess := ConsoleSession{Agent: a, CreatedAt: at, ExpiresAt: at.Add(ConsoleSessionTTL), LastSeenAt: at}
	err = tx.QueryRowContext(ctx, `INSERT INTO console_sessions (token_hash, agent_id, created_at, expires_at, last_seen_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, hash, agentID, formatOutboxTime(at), formatOutboxTime(sess.ExpiresAt),
		formatOutboxTime(at)).Scan(&sess.ID)
	if err != nil {
		return "", ConsoleSession{}, fmt.Errorf("store: open session: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return "", ConsoleSession{}, fmt.Errorf("store: open session: commit: %w", err)
	}
	return token, sess, nil
}

// selectSession reads a live session with its agent; the caller adds
// the condition and binds now and now minus the idle limit first.
const selectSession = `SELECT s.id, s.created_at, s.expires_at, s.last_seen_at, ` + agentColumns + `
	FROM console_sessions s JOIN agents a ON a.id = s.agent_id
	WHERE a.removed_at IS NULL AND s.expires_at > ? AND s.last_seen_at > ? AND `

func scanSession(row scanner) (ConsoleSession, error) {
	var sess ConsoleSession
	var created, expires, seen, agentCreated string
	a := &sess.Agent
	if err := row.Scan(&sess.ID, &created, &expires, &seen,
		&a.ID, &a.Email, &a.Name, &a.Role, &agentCreated, &a.PasswordSet, &a.Away); err != nil {
		return ConsoleSession{}, err
	}
	sess.CreatedAt, sess.ExpiresAt, sess.LastSeenAt = parseTime(created), parseTime(expires), parseTime(seen)
	a.CreatedAt = parseTime(agentCreated)
	return sess, nil
}

// liveArgs are the first two arguments of selectSession.
func (s *Store) liveArgs() (now time.Time, args []any) {
	now = s.Now().UTC()
	return now, []any{formatOutboxTime(now), formatOutboxTime(now.Add(-ConsoleSessionIdle))}
}

// ConsoleSession returns the live session a cookie's token opens, and
// records its use; ErrUnauthorized for one unknown, ended, expired, idle
// too long, or whose agent was removed.
func (s *Store) ConsoleSession(ctx context.Context, token string) (ConsoleSession, error) {
	hash, ok := tokenHash(token)
	if !ok {
		return ConsoleSession{}, fmt.Errorf("store: session: %w", ErrUnauthorized)
	}
	now, args := s.liveArgs()
	sess, err := scanSession(s.read.QueryRowContext(ctx, selectSession+`s.token_hash = ?`, append(args, hash)...))
	if errors.Is(err, sql.ErrNoRows) {
		return ConsoleSession{}, fmt.Errorf("store: session: %w", ErrUnauthorized)
	} else if err != nil {
		return ConsoleSession{}, fmt.Errorf("store: session: %w", err)
	}
	if now.Sub(sess.LastSeenAt) >= sessionTouchEvery {
		if err := s.touchConsoleSessions(ctx, now, []int64{sess.ID}); err != nil {
			return ConsoleSession{}, fmt.Errorf("store: session: %w", err)
		}
		sess.LastSeenAt = now
	}
	return sess, nil
}

// EndConsoleSession signs a session out: its row is deleted, so its
// cookie opens nothing even if it was copied.
func (s *Store) EndConsoleSession(ctx context.Context, id int64) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM console_sessions WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: end session: %w", err)
	}
	return nil
}

// maxIDsPerQuery keeps an IN list well under SQLite's limit of bound
// variables.
const maxIDsPerQuery = 500

// LiveConsoleSessions returns which of the sessions ids are still live,
// with their agent as stored now (an away toggled elsewhere shows). The
// console calls it every second for the sessions with an open socket,
// which is how a logout in another process or a `bulle agent remove`
// reaches them. An open socket counts as use: live sessions not seen for
// a minute are touched.
func (s *Store) LiveConsoleSessions(ctx context.Context, ids []int64) (map[int64]ConsoleSession, error) {
	out := make(map[int64]ConsoleSession, len(ids))
	now, args := s.liveArgs()
	var stale []int64
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), maxIDsPerQuery)]
		ids = ids[len(chunk):]
		q := selectSession + `s.id IN (?` + strings.Repeat(",?", len(chunk)-1) + `)`
		a := append([]any(nil), args...)
		for _, id := range chunk {
			a = append(a, id)
		}
		rows, err := s.read.QueryContext(ctx, q, a...)
		if err != nil {
			return nil, fmt.Errorf("store: live sessions: %w", err)
		}
		for rows.Next() {
			sess, err := scanSession(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: live sessions: %w", err)
			}
			out[sess.ID] = sess
			if now.Sub(sess.LastSeenAt) >= sessionTouchEvery {
				stale = append(stale, sess.ID)
			}
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("store: live sessions: %w", err)
		}
	}
	if err := s.touchConsoleSessions(ctx, now, stale); err != nil {
		return nil, fmt.Errorf("store: live sessions: %w", err)
	}
	return out, nil
}

// touchConsoleSessions records that the sessions ids were used at now.
func (s *Store) touchConsoleSessions(ctx context.Context, now time.Time, ids []int64) error {
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), maxIDsPerQuery)]
		ids = ids[len(chunk):]
		args := []any{formatOutboxTime(now)}
		for _, id := range chunk {
			args = append(args, id)
		}
		if _, err := s.write.ExecContext(ctx, `UPDATE console_sessions SET last_seen_at = ? WHERE id IN (?`+
			strings.Repeat(",?", len(chunk)-1)+`)`, args...); err != nil {
			return err
		}
	}
	return nil
}
