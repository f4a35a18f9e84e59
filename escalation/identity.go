package escalation

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Signed identities: a site that knows who its visitor is (they are signed
// in) vouches for their email address in the bubble's script tag,
//
//	data-identity="<payload>.<signature>"
//
// where payload is the base64url (no padding) of the JSON object
// {"email", "name"?, "iat", "exp"} (times in Unix seconds) and signature
// the base64url of HMAC-SHA256(secret, payload), the secret shared with
// Bulle (widget.identity_secret). docs/identity.md shows how to sign.

// Limits on a signed identity.
const (
	// MinIdentitySecret is the shortest secret accepted: 32 bytes, the
	// HMAC-SHA256 output size, so the key is not the weak link.
	MinIdentitySecret = 32
	// identitySkew is how far in the future iat may be: the site's clock
	// and ours may disagree a little.
	identitySkew = 2 * time.Minute
	// maxIdentityLifetime bounds exp - iat: an identity copied out of a
	// page must not work for long. A page that stays open longer simply
	// continues unverified after reconnecting.
	maxIdentityLifetime = 24 * time.Hour
	// maxSignedIdentity bounds the attribute, far above an email and a name.
	maxSignedIdentity = 2048
)

// ErrBadIdentity means a signed identity is malformed, tampered with,
// signed with another secret, or outside its time limits. It comes wrapped
// with a ValidationError that says which, in English, for the site's
// developer.
var ErrBadIdentity = errors.New("escalation: bad signed identity")

// Identity is who the embedding site says its visitor is.
type Identity struct {
	Email     string `json:"email"`
	Name      string `json:"name,omitempty"`
	IssuedAt  int64  `json:"iat"` // Unix seconds
	ExpiresAt int64  `json:"exp"` // Unix seconds
}

// Identities checks signed identities and records the address they vouch
// for on the conversation, where CreateTicket finds it.
type Identities struct {
	store  *Store
	secret []byte
	// Now returns the current time; tests replace it. It defaults to the
	// store's clock.
	Now func() time.Time
}

// NewIdentities checks identities signed with secret, which must be at
// least MinIdentitySecret bytes, and records them in s.
func NewIdentities(s *Store, secret []byte) (*Identities, error) {
	if len(secret) < MinIdentitySecret {
		return nil, fmt.Errorf("identities: secret of %d bytes: want at least %d", len(secret), MinIdentitySecret)
	}
	v := &Identities{store: s, secret: append([]byte(nil), secret...), Now: time.Now}
	if s != nil {
		v.Now = func() time.Time { return s.Now() }
	}
	return v, nil
}

// SignIdentity returns the data-identity value for id, signed with secret:
// what the embedding site computes on its server. It is here for Go sites
// and for tests; docs/identity.md shows the same in other languages.
func SignIdentity(secret []byte, id Identity) string {
	payload, _ := json.Marshal(id)
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(identityMAC(secret, p))
}

// identityMAC signs the payload exactly as sent, in its base64url form, so
// that no two encodings of one JSON object need to agree.
func identityMAC(secret []byte, payload string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(payload))
	return h.Sum(nil)
}

// badIdentity wraps ErrBadIdentity with the reason.
func badIdentity(format string, args ...any) error {
	return fmt.Errorf("%w: %w", invalid("identity", format, args...), ErrBadIdentity)
}

// Verify checks a signed identity: its signature in constant time first,
// then, and only then, its content: a valid email address, exp in the
// future, iat not more than 2 minutes ahead, and at most 24 hours between
// the two.
func (v *Identities) Verify(signed string) (Identity, error) {
	if len(signed) > maxSignedIdentity {
		return Identity{}, badIdentity("longer than %d bytes", maxSignedIdentity)
	}
	payload, sig, ok := strings.Cut(signed, ".")
	if !ok || payload == "" || sig == "" || strings.Contains(sig, ".") {
		return Identity{}, badIdentity("want <payload>.<signature>, both base64url")
	}
	mac, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(sig, "="))
	if err != nil || len(mac) != sha256.Size {
		return Identity{}, badIdentity("the signature is not a base64url HMAC-SHA256")
	}
	if !hmac.Equal(mac, identityMAC(v.secret, payload)) {
		return Identity{}, badIdentity("the signature does not match: tampered with, or signed with another secret")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(payload, "="))
	if err != nil {
		return Identity{}, badIdentity("the payload is not base64url")
	}
	var id Identity
	if err := json.Unmarshal(raw, &id); err != nil {
		return Identity{}, badIdentity("the payload is not a JSON object {email, name, iat, exp}")
	}
	id.Email, id.Name = strings.TrimSpace(id.Email), strings.TrimSpace(id.Name)
	if !validEmail(id.Email) {
		return Identity{}, badIdentity("email is not an email address")
	}
	if utf8.RuneCountInString(id.Name) > maxNameLen || strings.ContainsAny(id.Name, "\r\n") || !utf8.ValidString(id.Name) {
		return Identity{}, badIdentity("name must be one line of at most %d characters", maxNameLen)
	}
	now := v.Now()
	iat, exp := time.Unix(id.IssuedAt, 0), time.Unix(id.ExpiresAt, 0)
	switch {
	case id.IssuedAt <= 0 || id.ExpiresAt <= 0:
		return Identity{}, badIdentity("iat and exp are required, in Unix seconds")
	case !exp.After(iat):
		return Identity{}, badIdentity("exp must come after iat")
	case exp.Sub(iat) > maxIdentityLifetime:
		return Identity{}, badIdentity("exp - iat is over %v", maxIdentityLifetime)
	case iat.After(now.Add(identitySkew)):
		return Identity{}, badIdentity("iat is in the future (more than %v ahead of our clock)", identitySkew)
	case !now.Before(exp):
		return Identity{}, badIdentity("expired at %s", exp.UTC().Format(time.RFC3339))
	}
	return id, nil
}

// Attach verifies signed and records the address it vouches for on the
// conversation, until the identity expires. An empty signed, or one that
// fails (the error wraps ErrBadIdentity), clears what an earlier hello
// recorded: the identity belongs to the page that vouches for it now, so a
// visitor who signed out leaves no verified address behind.
func (v *Identities) Attach(ctx context.Context, conversationID int64, signed string) (Identity, error) {
	id, verr := Identity{}, error(nil)
	if signed != "" {
		id, verr = v.Verify(signed)
	}
	var err error
	if signed == "" || verr != nil {
		_, err = v.store.write.ExecContext(ctx, `
			UPDATE conversations SET identity_email = NULL, identity_expires_at = NULL
			WHERE id = ? AND identity_email IS NOT NULL`, conversationID)
	} else {
		_, err = v.store.write.ExecContext(ctx, `
			UPDATE conversations SET identity_email = ?, identity_expires_at = ? WHERE id = ?`,
			id.Email, time.Unix(id.ExpiresAt, 0).UTC().Format(time.RFC3339Nano), conversationID)
	}
	if err != nil {
		return Identity{}, fmt.Errorf("identities: attach to conversation %d: %w", conversationID, err)
	}
	if verr != nil {
		return Identity{}, fmt.Errorf("identities: %w", verr)
	}
	return id, nil
}

// verifyByIdentityTx creates a ticket verified when its conversation
// carries an unexpired identity with the ticket's address: the site has
// already proved who the visitor is. Addresses compare without regard to
// case, as mail providers do.
func verifyByIdentityTx(ctx context.Context, tx *sql.Tx, t *Ticket, now string) error {
	var email, expires sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT identity_email, identity_expires_at FROM conversations WHERE id = ?`,
		t.ConversationID).Scan(&email, &expires)
	if err != nil {
		return fmt.Errorf("identity of conversation %d: %w", t.ConversationID, err)
	}
	if !email.Valid || !strings.EqualFold(email.String, t.Email) || !parseTime(now).Before(parseTime(expires.String)) {
		return nil
	}
	_, err = verifyTicketTx(ctx, tx, t, VerifiedByIdentity, "", now)
	return err
}

// validEmail accepts one bare address, as the ticket form does.
func validEmail(s string) bool {
	if s == "" || len(s) > maxEmailLen || strings.ContainsAny(s, "\r\n<>\" ,;") || !strings.Contains(s, ".") {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}
