package escalation

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// tokenBytes is the entropy of a conversation token: 256 bits, so that
// guessing one is out of the question even with the database's hash list.
const tokenBytes = 32

// maxOriginLen bounds the stored origin; a real scheme://host:port is far
// shorter, and the header comes from the visitor's browser.
const maxOriginLen = 300

// Conversation is one visitor's exchange with the assistant. Whoever holds
// its token may read and continue it.
type Conversation struct {
	ID        int64
	Lang      string // the language the conversation started in
	Origin    string // the site the bubble was embedded in, "" when unknown
	CreatedAt time.Time
	UpdatedAt time.Time
	LastSeq   int64 // the seq of the latest message, 0 when there is none
}

// CreateConversation starts a conversation and returns it with its token.
// The token is shown once, here: only its hash is stored.
func (s *Store) CreateConversation(ctx context.Context, lang, origin string) (Conversation, string, error) {
	if err := validateConversation(lang, origin); err != nil {
		return Conversation{}, "", fmt.Errorf("store: create conversation: %w", err)
	}
	token, hash, err := newToken()
	if err != nil {
		return Conversation{}, "", fmt.Errorf("store: create conversation: token: %w", err)
	}
	now := s.now()
	var id int64
	err = s.write.QueryRowContext(ctx, `
		INSERT INTO conversations (token_hash, lang, origin, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`,
		hash, lang, origin, now, now).Scan(&id)
	if err != nil {
		return Conversation{}, "", fmt.Errorf("store: create conversation: %w", err)
	}
	t := parseTime(now)
	c := Conversation{ID: id, Lang: lang, Origin: origin, CreatedAt: t, UpdatedAt: t}
	return c, token, nil
}

// newToken draws a conversation token and its hash, the only part stored.
func newToken() (token string, hash []byte, err error) {
	raw := make([]byte, tokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, err
	}
	h := sha256.Sum256(raw)
	return base64.RawURLEncoding.EncodeToString(raw), h[:], nil
}

// ConversationByToken finds the conversation a token opens. A token that is
// malformed or unknown gives ErrNotFound: both mean "no such conversation".
func (s *Store) ConversationByToken(ctx context.Context, token string) (Conversation, error) {
	hash, ok := tokenHash(token)
	if !ok {
		return Conversation{}, fmt.Errorf("store: conversation by token: %w", ErrNotFound)
	}
	var c Conversation
	var created, updated string
	err := s.read.QueryRowContext(ctx, `
		SELECT id, lang, origin, created_at, updated_at,
			(SELECT COALESCE(MAX(seq), 0) FROM messages WHERE conversation_id = conversations.id)
		FROM conversations WHERE token_hash = ?`, hash).
		Scan(&c.ID, &c.Lang, &c.Origin, &created, &updated, &c.LastSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return Conversation{}, fmt.Errorf("store: conversation by token: %w", ErrNotFound)
	}
	if err != nil {
		return Conversation{}, fmt.Errorf("store: conversation by token: %w", err)
	}
	c.CreatedAt, c.UpdatedAt = parseTime(created), parseTime(updated)
	return c, nil
}

// tokenHash decodes a token and hashes it; ok is false when it is not one
// of ours (wrong alphabet or length).
func tokenHash(token string) (hash []byte, ok bool) {
	if len(token) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != tokenBytes {
		return nil, false
	}
	h := sha256.Sum256(raw)
	return h[:], true
}

func validateConversation(lang, origin string) error {
	switch {
	case lang == "":
		return invalid("lang", "must not be empty")
	case len(lang) > 16 || !utf8.ValidString(lang):
		return invalid("lang", "is not a language code")
	case len(origin) > maxOriginLen:
		return invalid("origin", "is %d bytes long, more than the %d allowed", len(origin), maxOriginLen)
	case !utf8.ValidString(origin):
		return invalid("origin", "is not valid UTF-8")
	}
	return nil
}

// parseTime reads a time the store wrote; the store writes only RFC 3339,
// so a failure means a hand-edited row and gives the zero time.
func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
