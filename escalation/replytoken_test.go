package escalation

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

func TestReplyTokensRoundTripAndRefuseForgeries(t *testing.T) {
	r, err := NewReplyTokens(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewReplyTokens(bytes.Repeat([]byte{8}, 32))
	tok := r.Make(42)
	if id, ok := r.Parse(tok); !ok || id != 42 {
		t.Fatalf("Parse(Make(42)) = %d, %v", id, ok)
	}
	if id, ok := r.Parse(strings.ToUpper(tok)); !ok || id != 42 {
		t.Errorf("mail clients may change case: Parse(upper) = %d, %v", id, ok)
	}
	flipped := []byte(tok)
	flipped[len(flipped)-1] ^= 1
	for name, bad := range map[string]string{
		"another key's token":               other.Make(42),
		"last letter changed":               string(flipped),
		"truncated":                         tok[:len(tok)-2],
		"empty":                             "",
		"not base32":                        "!!!!",
		"another ticket's id with this MAC": swapID(tok, 43),
	} {
		if id, ok := r.Parse(bad); ok {
			t.Errorf("%s: Parse accepted %q as ticket %d", name, bad, id)
		}
	}
	if _, err := NewReplyTokens([]byte("short")); err == nil {
		t.Error("a short key was accepted")
	}
}

// swapID rewrites the ticket id inside a token, keeping its MAC.
func swapID(token string, id int64) string {
	raw, _ := tokenEncoding.DecodeString(strings.ToUpper(token))
	binary.BigEndian.PutUint64(raw[:8], uint64(id))
	return strings.ToLower(tokenEncoding.EncodeToString(raw))
}
