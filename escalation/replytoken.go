package escalation

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"strings"
)

// ReplyTokens makes and checks the token in a ticket's reply address,
// reply+<token>@domain. A token is the ticket id and an HMAC of it under
// the server's secret key: it can be printed on every mail of the ticket
// without being stored, and cannot be guessed or forged without the key.
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
	h := hmac.New(sha256.New, r.key)
	h.Write([]byte("bulle reply token\x00"))
	h.Write(id)
	return h.Sum(nil)[:replyMACBytes]
}
