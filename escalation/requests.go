package escalation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// "My requests": a visitor asks for a sign-in link by email, follows it,
// and sees their own tickets and the conversations whose transcript they
// were sent, and nothing else. The link proves they read that mailbox.
// Every query below filters on the address the link was sent to.

// Lifetimes of the sign-in link and of the session it opens.
const (
	// RequestsLinkTTL: long enough to open a slow mailbox, short enough
	// that a link found later in an old mail is dead.
	RequestsLinkTTL = 20 * time.Minute
	// RequestsSessionTTL ends a session a day after the link opened it,
	// however busy it is.
	RequestsSessionTTL = 24 * time.Hour
	// RequestsSessionIdle ends a session left unused this long: a shared
	// computer left signed in is not open all day.
	RequestsSessionIdle = 2 * time.Hour
	// sessionTouchEvery: a session's last use is written at most this
	// often, not on every page.
	sessionTouchEvery = time.Minute
	// maxRequests bounds the tickets (and the conversations) one page lists.
	maxRequests = 100
)

// RequestsSession is a visitor signed in to "My requests".
type RequestsSession struct {
	Email     string // lower-cased: what every query filters on
	Lang      string
	ExpiresAt time.Time
}

// Request is one item of "My requests": a ticket with its whole thread,
// or a conversation whose transcript was mailed to the address.
type Request struct {
	Ticket           *Ticket // nil for a conversation known only by its transcript
	TopicLabel       string
	ConversationID   int64
	StartedAt        time.Time
	UpdatedAt        time.Time
	TranscriptSentAt time.Time // zero for a ticket
	Lines            []TranscriptLine
}

// asciiLower lower-cases the ASCII letters of an address only, as SQLite's
// lower() does, so that Go and SQL agree on what matches.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// SendRequestsLink mails a sign-in link for "My requests" to email, when
// that address has tickets or transcripts; otherwise it sends nothing.
// Either way it answers the same (nil), in about the same time: the same
// write transaction runs, which also deletes expired links and sessions,
// so that the answer tells no one whether an address is known. linkBase
// is the help center's public URL (the link is linkBase/requests/login?t=…);
// the caller must never take it from the request's Host header, or anyone
// could have a victim's link point to their own site.
func (d *Desk) SendRequestsLink(ctx context.Context, email, lang, linkBase string) error {
	if err := d.sendRequestsLink(ctx, email, lang, linkBase); err != nil {
		return fmt.Errorf("desk: requests link: %w", err)
	}
	return nil
}

func (d *Desk) sendRequestsLink(ctx context.Context, email, lang, linkBase string) error {
	email, err := checkEmail(email)
	if err != nil {
		return err
	}
	if u, err := url.Parse(linkBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(linkBase, "\r\n") {
		return fmt.Errorf("link base %q: want the help center's http(s) URL", linkBase)
	}
	if lang != "fr" {
		lang = "en"
	}
	key := asciiLower(email)
	s := d.store
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := s.now()
	at := parseTime(now)
	if _, err := tx.ExecContext(ctx, `DELETE FROM request_links WHERE expires_at <= ?`, formatOutboxTime(at)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM request_sessions WHERE expires_at <= ? OR last_seen_at <= ?`,
		formatOutboxTime(at), formatOutboxTime(at.Add(-RequestsSessionIdle))); err != nil {
		return err
	}
	var known bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM tickets WHERE lower(email) = ?)
		OR EXISTS (SELECT 1 FROM transcripts WHERE email = ?)`, key, key).Scan(&known); err != nil {
		return err
	}
	queued := false
	if known {
		token, hash, err := newToken()
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO request_links (token_hash, email, lang, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?)`, hash, key, lang, now, formatOutboxTime(at.Add(RequestsLinkTTL))); err != nil {
			return err
		}
		link := strings.TrimSuffix(linkBase, "/") + "/requests/login?t=" + token
		m, err := d.requestsLinkMail(email, lang, link)
		if err != nil {
			return err
		}
		if _, err := enqueueMail(ctx, tx, m, now); err != nil {
			return err
		}
		queued = true
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if queued {
		s.notifyMailQueued()
	}
	return nil
}

// RequestsLinkLang reports whether a sign-in link is still good (unused,
// unexpired) and its language, without using it: the page a link opens
// asks for a click before it signs in, because mail scanners fetch links.
// A bad link is ErrNotFound.
func (d *Desk) RequestsLinkLang(ctx context.Context, token string) (string, error) {
	hash, ok := tokenHash(token)
	if !ok {
		return "", fmt.Errorf("desk: requests link: %w", ErrNotFound)
	}
	var lang string
	err := d.store.read.QueryRowContext(ctx, `SELECT lang FROM request_links
		WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`, hash, formatOutboxTime(d.store.Now())).Scan(&lang)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("desk: requests link: %w", ErrNotFound)
	} else if err != nil {
		return "", fmt.Errorf("desk: requests link: %w", err)
	}
	return lang, nil
}

// OpenRequestsSession uses a sign-in link, once: it marks the link used
// and opens a session in the same transaction, and returns the session's
// token (for a cookie; only its hash is stored). A link already used,
// expired or unknown is ErrNotFound.
func (d *Desk) OpenRequestsSession(ctx context.Context, linkToken string) (string, RequestsSession, error) {
	hash, ok := tokenHash(linkToken)
	if !ok {
		return "", RequestsSession{}, fmt.Errorf("desk: sign in: %w", ErrNotFound)
	}
	s := d.store
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return "", RequestsSession{}, fmt.Errorf("desk: sign in: %w", err)
	}
	defer tx.Rollback()
	now := s.now()
	at := parseTime(now)
	var sess RequestsSession
	err = tx.QueryRowContext(ctx, `UPDATE request_links SET used_at = ?
		WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING email, lang`,
		now, hash, formatOutboxTime(at)).Scan(&sess.Email, &sess.Lang)
	if errors.Is(err, sql.ErrNoRows) {
		return "", RequestsSession{}, fmt.Errorf("desk: sign in: link used, expired or unknown: %w", ErrNotFound)
	} else if err != nil {
		return "", RequestsSession{}, fmt.Errorf("desk: sign in: %w", err)
	}
	token, sessHash, err := newToken()
	if err != nil {
		return "", RequestsSession{}, fmt.Errorf("desk: sign in: %w", err)
	}
	sess.ExpiresAt = at.Add(RequestsSessionTTL)
	if _, err := tx.ExecContext(ctx, `INSERT INTO request_sessions (token_hash, email, lang, created_at, expires_at, last_seen_at)
		VALUES (?, ?, ?, ?, ?, ?)`, sessHash, sess.Email, sess.Lang, now, formatOutboxTime(sess.ExpiresAt),
		formatOutboxTime(at)); err != nil {
		return "", RequestsSession{}, fmt.Errorf("desk: sign in: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return "", RequestsSession{}, fmt.Errorf("desk: sign in: commit: %w", err)
	}
	return token, sess, nil
}

// RequestsSession returns the live session a cookie's token opens, and
// records its use; ErrNotFound for one that is unknown, signed out,
// expired or idle too long.
func (d *Desk) RequestsSession(ctx context.Context, token string) (RequestsSession, error) {
	hash, ok := tokenHash(token)
	if !ok {
		return RequestsSession{}, fmt.Errorf("desk: session: %w", ErrNotFound)
	}
	s := d.store
	var sess RequestsSession
	var expires, seen string
	err := s.read.QueryRowContext(ctx, `SELECT email, lang, expires_at, last_seen_at FROM request_sessions
		WHERE token_hash = ?`, hash).Scan(&sess.Email, &sess.Lang, &expires, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return RequestsSession{}, fmt.Errorf("desk: session: %w", ErrNotFound)
	} else if err != nil {
		return RequestsSession{}, fmt.Errorf("desk: session: %w", err)
	}
	now := s.Now().UTC()
	sess.ExpiresAt = parseTime(expires)
	lastSeen := parseTime(seen)
	if !now.Before(sess.ExpiresAt) || !now.Before(lastSeen.Add(RequestsSessionIdle)) {
		return RequestsSession{}, fmt.Errorf("desk: session: expired: %w", ErrNotFound)
	}
	if now.Sub(lastSeen) >= sessionTouchEvery {
		if _, err := s.write.ExecContext(ctx, `UPDATE request_sessions SET last_seen_at = ? WHERE token_hash = ?`,
			formatOutboxTime(now), hash); err != nil {
			return RequestsSession{}, fmt.Errorf("desk: session: %w", err)
		}
	}
	return sess, nil
}

// EndRequestsSession signs out: the session's row is deleted, so the
// cookie opens nothing even if it was copied.
func (d *Desk) EndRequestsSession(ctx context.Context, token string) error {
	hash, ok := tokenHash(token)
	if !ok {
		return nil
	}
	if _, err := d.store.write.ExecContext(ctx, `DELETE FROM request_sessions WHERE token_hash = ?`, hash); err != nil {
		return fmt.Errorf("desk: sign out: %w", err)
	}
	return nil
}

// Requests lists what belongs to email, newest first: its tickets, each
// with its whole thread and files, then the conversations whose transcript
// was mailed to it. It reads one snapshot of the database.
func (d *Desk) Requests(ctx context.Context, email, lang string) ([]Request, error) {
	out, err := d.requests(ctx, asciiLower(email), lang)
	if err != nil {
		return nil, fmt.Errorf("desk: requests: %w", err)
	}
	return out, nil
}

func (d *Desk) requests(ctx context.Context, key, lang string) ([]Request, error) {
	if key == "" {
		return nil, nil
	}
	tx, err := d.store.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, selectTicket+` WHERE lower(email) = ? ORDER BY updated_at DESC, id DESC LIMIT ?`,
		key, maxRequests)
	if err != nil {
		return nil, err
	}
	var out []Request
	seen := map[int64]bool{}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		label := d.topics[t.Topic].Label[lang]
		if label == "" {
			label = t.Topic
		}
		out = append(out, Request{Ticket: &t, TopicLabel: label, ConversationID: t.ConversationID,
			StartedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt})
		seen[t.ConversationID] = true
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	rows, err = tx.QueryContext(ctx, `SELECT tr.conversation_id, MAX(tr.created_at), c.created_at, c.updated_at
		FROM transcripts tr JOIN conversations c ON c.id = tr.conversation_id
		WHERE tr.email = ? GROUP BY tr.conversation_id ORDER BY MAX(tr.created_at) DESC LIMIT ?`, key, maxRequests)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var r Request
		var sent, started, updated string
		if err := rows.Scan(&r.ConversationID, &sent, &started, &updated); err != nil {
			rows.Close()
			return nil, err
		}
		if seen[r.ConversationID] {
			continue // listed with its ticket
		}
		r.TranscriptSentAt, r.StartedAt, r.UpdatedAt = parseTime(sent), parseTime(started), parseTime(updated)
		out = append(out, r)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Lines, err = threadOf(ctx, tx, out[i].ConversationID, lang, ""); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RequestsAttachment opens an attachment for the owner of email: only
// when it belongs to one of that address's tickets or transcripts. Any
// other id is ErrNotFound, exactly as an id that does not exist.
func (d *Desk) RequestsAttachment(ctx context.Context, email string, id int64) (Attachment, *os.File, error) {
	key := asciiLower(email)
	return d.openAttachment(ctx, `id = ? AND conversation_id IN (
		SELECT conversation_id FROM tickets WHERE lower(email) = ?
		UNION SELECT conversation_id FROM transcripts WHERE email = ?)`, id, key, key)
}
