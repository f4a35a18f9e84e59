package escalation

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"strings"
)

// ReplyTokens makes and checks the token in a reply address,
// reply+<token>@domain. A token is an id and an HMAC of it under the
// server's secret key: it can be printed on every mail without being
// stored, and cannot be guessed or forged without the key.
//
// There are two kinds. A ticket token (Make, 29 characters) names a ticket.
// A conversation token (MakeConversation, 31 characters) names a bubble
// conversation that has no ticket yet, for the transcript mail: a reply to
// it opens the ticket. The kinds differ in length and in the MAC's domain
// string, so one kind never passes for the other.
type ReplyTokens struct{ key []byte }

// NewReplyTokens uses key, which must be at least 32 random bytes.
func NewReplyTokens(key []byte) (ReplyTokens, error) {
	if len(key) < 32 {
		return ReplyTokens{}, errors.New("escalation: reply token key: want at least 32 bytes")
	}
	return ReplyTokens{key: append([]byte(nil), key...)}, nil
}

// 80 bits of MAC: far beyond guessing by mail, and the address stays short.
const replyMACBytes = 10

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Make returns the token for a ticket.
func (r ReplyTokens) Make(ticketID int64) string {
	buf := make([]byte, 8, 8+replyMACBytes)
	binary.BigEndian.PutUint64(buf, uint64(ticketID))
	buf = append(buf, r.mac(buf)...)
	return strings.ToLower(tokenEncoding.EncodeToString(buf))
}

// Parse returns the ticket a token names, and false for anything forged,
// truncated or malformed.
func (r ReplyTokens) Parse(token string) (int64, bool) {
	raw, err := tokenEncoding.DecodeString(strings.ToUpper(token))
	if err != nil || len(raw) != 8+replyMACBytes {
		return 0, false
	}
	if !hmac.Equal(raw[8:], r.mac(raw[:8])) {
		return 0, false
	}
	id := int64(binary.BigEndian.Uint64(raw[:8]))
	return id, id > 0
}

func (r ReplyTokens) mac(id []byte) []byte {
	return r.macIn("bulle reply token\x00", id)
}

func (r ReplyTokens) macIn(domain string, id []byte) []byte {
	h := hmac.New(sha256.New, r.key)
	h.Write([]byte(domain))
	h.Write(id)
	return h.Sum(nil)[:replyMACBytes]
}

// conversationKind is the first byte of a conversation token, and
// conversationMACDomain keeps its MAC apart from a ticket token's.
const (
	conversationKind      = 'c'
	conversationMACDomain = "bulle conversation reply token\x00"
)

// MakeConversation returns the token for a conversation that has no
// ticket: a reply to it opens one (Desk.DeliverReply).
func (r ReplyTokens) MakeConversation(conversationID int64) string {
	buf := make([]byte, 9, 9+replyMACBytes)
	buf[0] = conversationKind
	binary.BigEndian.PutUint64(buf[1:], uint64(conversationID))
	buf = append(buf, r.macIn(conversationMACDomain, buf)...)
	return strings.ToLower(tokenEncoding.EncodeToString(buf))
}

// ReplyTarget is what a reply token names: a ticket, or a conversation
// without one. Exactly one of the ids is set.
type ReplyTarget struct {
	TicketID       int64
	ConversationID int64
}

// ParseTarget returns what a token of either kind names, and false for
// anything forged, truncated or malformed.
func (r ReplyTokens) ParseTarget(token string) (ReplyTarget, bool) {
	if id, ok := r.Parse(token); ok {
		return ReplyTarget{TicketID: id}, true
	}
	raw, err := tokenEncoding.DecodeString(strings.ToUpper(token))
	if err != nil || len(raw) != 9+replyMACBytes || raw[0] != conversationKind {
		return ReplyTarget{}, false
	}
	if !hmac.Equal(raw[9:], r.macIn(conversationMACDomain, raw[:9])) {
		return ReplyTarget{}, false
	}
	id := int64(binary.BigEndian.Uint64(raw[1:9]))
	return ReplyTarget{ConversationID: id}, id > 0
}
