package escalation

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Ownership verification by email code: the visitor proves they read the
// ticket's address (the address on record) by typing back a 6-digit code
// sent to it. A signed identity from the embedding site is the other way
// (identity.go).
//
// A code is worth 20 bits, so it must never be guessable offline: the
// database keeps only HMAC-SHA256(key, ticket id, code), with a key that is
// not in the database. Online guessing is bounded by the limits below.
const (
	// codeTTL is how long a code works: long enough to switch to a mail
	// app and back, short enough that an old mail on a shared screen is
	// useless.
	codeTTL = 10 * time.Minute
	// maxCodeTries is how many codes may be typed against one code before
	// it is locked. With maxCodesPerWindow, a guesser gets at most 15 tries
	// an hour at a million codes: about 1 chance in 67,000 an hour.
	maxCodeTries = 5
	// maxCodesPerWindow codes may be sent for one ticket per codeWindow, so
	// that the form cannot be used to flood someone's mailbox.
	maxCodesPerWindow = 3
	codeWindow        = time.Hour
	// codeDigits is the length of a code.
	codeDigits = 6
)

// How a ticket was verified (Ticket.VerifiedBy).
const (
	VerifiedByCode     = "code"
	VerifiedByIdentity = "identity"
)

// Kinds of the system notes verification records in the conversation.
const (
	KindVerifySent = "verify_sent" // a code was sent
	KindVerified   = "verified"    // the ticket's address is verified
)

// Why a verification is refused. Each comes wrapped with a
// ValidationError whose message the visitor may read; test with errors.Is.
var (
	// ErrBadCode: the code typed is not the one sent.
	ErrBadCode = errors.New("escalation: wrong verification code")
	// ErrCodeExpired: the code is older than 10 minutes.
	ErrCodeExpired = errors.New("escalation: verification code expired")
	// ErrTooManyTries: 5 codes were typed against this one; it is locked.
	ErrTooManyTries = errors.New("escalation: too many wrong verification codes")
	// ErrNoCode: no code is waiting (none was sent, or it was used).
	ErrNoCode = errors.New("escalation: no verification code to check")
	// ErrTooManyCodes: 3 codes were sent for this ticket in the last hour.
	ErrTooManyCodes = errors.New("escalation: too many verification codes sent")
	// ErrAlreadyVerified: the ticket's address is verified already.
	ErrAlreadyVerified = errors.New("escalation: already verified")
)

// refuse wraps a reason with the message the visitor reads.
func refuse(op string, reason error, field, format string, args ...any) error {
	return fmt.Errorf("desk: %s: %w: %w", op, invalid(field, format, args...), reason)
}

// Verification is what StartVerification and CheckVerification did: the
// ticket as it now stands and the system note they recorded in its
// conversation.
type Verification struct {
	Ticket Ticket
	// Note is the "verify_sent" or "verified" system message.
	Note Message
	// Created is false when Note was already stored under the same client
	// id: a resend, answered as the first time and doing nothing more.
	Created bool
	// ExpiresAt is when the code sent stops working (StartVerification).
	ExpiresAt time.Time
}

// StartVerification sends a new code to the ticket's address, replacing
// any code sent before, and records a note in the conversation. The code
// row, the note and the mail are one transaction. clientID, when set,
// makes a resend return the first note without sending another code.
func (d *Desk) StartVerification(ctx context.Context, ticketID int64, clientID string) (Verification, error) {
	const op = "start verification"
	key, err := d.codeKey()
	if err != nil {
		return Verification{}, fmt.Errorf("desk: %s: %w", op, err)
	}
	ctx, n := d.store.counting(ctx)
	tx, t, prev, done, err := d.beginVerification(ctx, op, ticketID, clientID, KindVerifySent)
	if done {
		return prev, err
	}
	defer tx.Rollback()
	s := d.store
	now := s.Now()
	if wait, err := codeWait(ctx, tx, t.ID, now); err != nil {
		return Verification{}, fmt.Errorf("desk: %s: %w", op, err)
	} else if wait > 0 {
		return Verification{}, refuse(op, ErrTooManyCodes, "code",
			"at most %d codes an hour; ask again in %d minutes", maxCodesPerWindow, int((wait+time.Minute-1)/time.Minute))
	}
	code, err := newCode()
	if err != nil {
		return Verification{}, fmt.Errorf("desk: %s: %w", op, err)
	}
	at, expires := s.now(), now.Add(codeTTL).UTC()
	// The new row is the newest of the ticket: from now on the only code
	// CheckVerification looks at. Older ones are kept for codeWait.
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO verification_codes (ticket_id, code_hash, email, expires_at, created_at) VALUES (?, ?, ?, ?, ?)`,
		t.ID, codeHash(key, t.ID, code), t.Email, expires.Format(time.RFC3339Nano), at); err != nil {
		return Verification{}, fmt.Errorf("desk: %s: %w", op, err)
	}
	body, _ := json.Marshal(map[string]string{"text": verifyWords[t.Lang]["sent_note"] + " " + t.Email + "."})
	note, _, err := appendInTx(ctx, tx, NewMessage{ConversationID: t.ConversationID, Role: RoleSystem,
		ClientID: clientID, Kind: KindVerifySent, Body: string(body)}, at)
	if err != nil {
		return Verification{}, fmt.Errorf("desk: %s: %w", op, err)
	}
	m, err := d.codeMail(t, code)
	if err != nil {
		return Verification{}, fmt.Errorf("desk: %s: %w", op, err)
	}
	if _, err := enqueueMail(ctx, tx, m, at); err != nil {
		return Verification{}, fmt.Errorf("desk: %s: %w", op, err)
	}
	if err := tx.Commit(); err != nil {
		return Verification{}, fmt.Errorf("desk: %s: commit: %w", op, err)
	}
	n.committed()
	s.notifyMailQueued()
	return Verification{Ticket: t, Note: note, Created: true, ExpiresAt: expires}, nil
}

// CheckVerification compares a typed code with the ticket's active code.
// Every try is counted, right or wrong, before the answer; the fifth wrong
// one locks the code. The right code verifies the ticket, is spent, and
// records a "verified" note, in one transaction. The refusals wrap
// ErrBadCode, ErrCodeExpired, ErrTooManyTries, ErrNoCode or
// ErrAlreadyVerified; a malformed code is a plain ValidationError and is
// not counted.
func (d *Desk) CheckVerification(ctx context.Context, ticketID int64, code, clientID string) (Verification, error) {
	const op = "check verification"
	key, err := d.codeKey()
	if err != nil {
		return Verification{}, fmt.Errorf("desk: %s: %w", op, err)
	}
	code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\u00a0' || r == '\u202f' {
			return -1 // "123 456" as the mail shows it, or pasted with a dash
		}
		return r
	}, strings.TrimSpace(code))
	if !isCode(code) {
		return Verification{}, fmt.Errorf("desk: %s: %w", op, invalid("code", "want the %d digits of the code we sent", codeDigits))
	}
	ctx, n := d.store.counting(ctx)
	tx, t, prev, done, err := d.beginVerification(ctx, op, ticketID, clientID, KindVerified)
	if done {
		return prev, err
	}
	defer tx.Rollback()
	s := d.store
	var id int64
	var attempts int
	var hash []byte
	var expiresAt string
	var used sql.NullString
	err = tx.QueryRowContext(ctx, `
		SELECT id, code_hash, attempts, expires_at, used_at FROM verification_codes
		WHERE ticket_id = ? ORDER BY id DESC LIMIT 1`, t.ID).Scan(&id, &hash, &attempts, &expiresAt, &used)
	switch {
	case errors.Is(err, sql.ErrNoRows) || err == nil && used.Valid:
		return Verification{}, refuse(op, ErrNoCode, "code", "no code is waiting; ask for one")
	case err != nil:
		return Verification{}, fmt.Errorf("desk: %s: %w", op, err)
	}
	now := s.Now()
	if !now.Before(parseTime(expiresAt)) {
		return Verification{}, refuse(op, ErrCodeExpired, "code", "this code expired (they last %d minutes); ask for a new one", int(codeTTL/time.Minute))
	}
	if attempts >= maxCodeTries {
		return Verification{}, refuse(op, ErrTooManyTries, "code", "%d wrong codes: this one is locked; ask for a new one", maxCodeTries)
	}
	attempts++
	at := s.now()
	// hmac.Equal compares in constant time: how long the answer takes says
	// nothing about how many bytes of the hash matched.
	if !hmac.Equal(codeHash(key, t.ID, code), hash) {
		if _, err := tx.ExecContext(ctx, `UPDATE verification_codes SET attempts = ? WHERE id = ?`, attempts, id); err != nil {
			return Verification{}, fmt.Errorf("desk: %s: %w", op, err)
		}
		if err := tx.Commit(); err != nil {
			return Verification{}, fmt.Errorf("desk: %s: commit: %w", op, err)
		}
		if attempts >= maxCodeTries {
			return Verification{}, refuse(op, ErrTooManyTries, "code", "wrong code, the %dth: this code is locked; ask for a new one", maxCodeTries)
		}
		return Verification{}, refuse(op, ErrBadCode, "code", "wrong code; %d tries left", maxCodeTries-attempts)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE verification_codes SET attempts = ?, used_at = ? WHERE id = ?`, attempts, at, id); err != nil {
		return Verification{}, fmt.Errorf("desk: %s: %w", op, err)
	}
	note, err := verifyTicketTx(ctx, tx, &t, VerifiedByCode, clientID, at)
	if err != nil {
		return Verification{}, fmt.Errorf("desk: %s: %w", op, err)
	}
	if err := tx.Commit(); err != nil {
		return Verification{}, fmt.Errorf("desk: %s: commit: %w", op, err)
	}
	n.committed()
	return Verification{Ticket: t, Note: note, Created: true}, nil
}

// verifyTicketTx marks the ticket verified and records the "verified"
// note in its conversation, in the ticket's language.
func verifyTicketTx(ctx context.Context, tx *sql.Tx, t *Ticket, by, clientID, now string) (Message, error) {
	if _, err := tx.ExecContext(ctx, `UPDATE tickets SET verified_at = ?, verified_by = ?, updated_at = ? WHERE id = ?`,
		now, by, now, t.ID); err != nil {
		return Message{}, err
	}
	t.Verified, t.VerifiedBy, t.UpdatedAt = true, by, parseTime(now)
	body, _ := json.Marshal(map[string]string{"text": verifyWords[t.Lang]["verified_note"], "by": by})
	note, _, err := appendInTx(ctx, tx, NewMessage{ConversationID: t.ConversationID, Role: RoleSystem,
		ClientID: clientID, Kind: KindVerified, Body: string(body)}, now)
	return note, err
}

// resentNote finds the note a first frame with this client id recorded:
// the answer to a resend. A client id that names another kind of message
// is refused.
// beginVerification opens the write of a verification step (op) on a
// ticket: its transaction and the ticket. done says the caller must
// return prev and err as they are: a refusal (a bad client id, no such
// ticket, verified already), or the note of an earlier attempt with the
// same client id (kind), for a resend. Otherwise the caller owns tx.
func (d *Desk) beginVerification(ctx context.Context, op string, ticketID int64, clientID, kind string) (tx *sql.Tx, t Ticket, prev Verification, done bool, err error) {
	if len(clientID) > maxClientIDLen {
		return nil, Ticket{}, Verification{}, true, fmt.Errorf("desk: %s: %w", op, invalid("client_id", "at most %d characters", maxClientIDLen))
	}
	if tx, err = d.store.beginWrite(ctx); err != nil {
		return nil, Ticket{}, Verification{}, true, fmt.Errorf("desk: %s: %w", op, err)
	}
	t, err = scanTicket(tx.QueryRowContext(ctx, selectTicket+` WHERE id = ?`, ticketID))
	if err != nil {
		err = fmt.Errorf("desk: %s for ticket %d: %w", op, ticketID, err)
	} else if p, found, rerr := resentNote(ctx, tx, t, clientID, kind); rerr != nil || found {
		prev, err = p, rerr
		done = true
	} else if t.Verified {
		err = refuse(op, ErrAlreadyVerified, "code", "this address is verified already")
	}
	if err != nil || done {
		tx.Rollback()
		return nil, Ticket{}, prev, true, err
	}
	return tx, t, Verification{}, false, nil
}

func resentNote(ctx context.Context, tx *sql.Tx, t Ticket, clientID, kind string) (Verification, bool, error) {
	if clientID == "" {
		return Verification{}, false, nil
	}
	prev, found, err := existingMessage(ctx, tx, NewMessage{ConversationID: t.ConversationID, ClientID: clientID})
	switch {
	case err != nil:
		return Verification{}, false, fmt.Errorf("desk: verification: %w", err)
	case !found:
		return Verification{}, false, nil
	case prev.Kind != kind:
		return Verification{}, true, fmt.Errorf("desk: verification: %w", invalid("client_id", "already names another message"))
	}
	return Verification{Ticket: t, Note: prev}, true, nil
}

// codeWait is how long the ticket must wait before another code may be
// sent: zero when fewer than maxCodesPerWindow were sent in the window.
func codeWait(ctx context.Context, tx *sql.Tx, ticketID int64, now time.Time) (time.Duration, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT created_at FROM verification_codes WHERE ticket_id = ? ORDER BY id DESC LIMIT ?`,
		ticketID, maxCodesPerWindow)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var sent []time.Time
	for rows.Next() {
		var at string
		if err := rows.Scan(&at); err != nil {
			return 0, err
		}
		sent = append(sent, parseTime(at))
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(sent) < maxCodesPerWindow {
		return 0, nil
	}
	// The oldest of the last three leaves the window first.
	return max(0, sent[len(sent)-1].Add(codeWindow).Sub(now)), nil
}

// newCode draws a code uniformly from 000000 to 999999.
func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%0*d", codeDigits, n.Int64()), nil
}

func isCode(s string) bool {
	if len(s) != codeDigits {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// codeHash is what the database keeps of a code: an HMAC bound to the
// ticket, so a row copied onto another ticket proves nothing.
func codeHash(key []byte, ticketID int64, code string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("bulle verification code\x00"))
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], uint64(ticketID))
	h.Write(id[:])
	h.Write([]byte(code))
	return h.Sum(nil)
}

// codeKey is the key of code hashes, derived from the reply-token key
// (data/reply.key) under its own label: no second key file to create and
// back up, and a code hash is never a reply token's MAC or the other way
// round. Losing the key only voids the codes of the last 10 minutes.
func (d *Desk) codeKey() ([]byte, error) {
	if len(d.opt.Tokens.key) < 32 {
		return nil, errors.New("verification needs the reply-token key (DeskOptions.Tokens)")
	}
	h := hmac.New(sha256.New, d.opt.Tokens.key)
	h.Write([]byte("bulle verification code key"))
	return h.Sum(nil), nil
}
