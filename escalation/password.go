package escalation

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Agents' console passwords are hashed with argon2id (RFC 9106) and
// stored as a PHC string: $argon2id$v=19$m=65536,t=2,p=2$<salt>$<key>,
// salt and key in unpadded standard base64. The parameters travel with
// each hash, so raising them later leaves old hashes checkable.
const (
	// argonMemory (KiB) is 64 MiB, RFC 9106's second recommended option:
	// large enough that guessing on a GPU is costly, small enough for a
	// small server (hashing is also limited to hashSlots at once).
	argonMemory = 64 * 1024
	// argonTime: two passes over that memory take about 100 ms here, the
	// cost of one sign-in.
	argonTime    = 2
	argonThreads = 2
	argonSaltLen = 16
	argonKeyLen  = 32

	// hashSlots is how many passwords are hashed at once. Each hash takes
	// argonMemory, so a burst of sign-ins (or of guesses from many
	// addresses) costs at most hashSlots × 64 MiB; the rest wait.
	hashSlots = 2

	// MinPasswordLen and MaxPasswordLen bound a password, in characters.
	// Twelve characters resist guessing with no rule about symbols; 256
	// lets a pass phrase or a password manager's output through without
	// letting anyone make the server hash megabytes.
	MinPasswordLen = 12
	MaxPasswordLen = 256
)

// errBadHash is a stored hash that is not one we can check.
var errBadHash = errors.New("password hash: not a supported argon2id PHC string")

// CheckPasswordRules says whether pw may become a password: 12 to 256
// characters of valid UTF-8.
func CheckPasswordRules(pw string) error {
	if !utf8.ValidString(pw) {
		return invalid("password", "is not valid text")
	}
	if n := utf8.RuneCountInString(norm.NFC.String(pw)); n < MinPasswordLen || n > MaxPasswordLen {
		return invalid("password", "must have %d to %d characters", MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

// HashPassword hashes pw with a fresh random salt and returns the PHC
// string to store. pw is normalised to NFC first, so that the same
// password typed on two systems that compose accents differently matches.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(norm.NFC.String(pw)), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches the PHC string encoded, in
// time that does not depend on how much of the key matches. A hash that
// does not parse, or asks for parameters outside sane bounds (a tampered
// row must not make the server allocate gigabytes), is an error.
func CheckPassword(encoded, pw string) (bool, error) {
	p, err := parsePHC(encoded)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(norm.NFC.String(pw)), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}

type phc struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func parsePHC(s string) (phc, error) {
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, key
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return phc{}, errBadHash
	}
	var p phc
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return phc{}, errBadHash
	}
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(params[i], name+"=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return phc{}, errBadHash
		}
		switch name {
		case "m":
			p.memory = uint32(n)
		case "t":
			p.time = uint32(n)
		case "p":
			p.threads = uint8(min(n, 255))
		}
	}
	// Bounds: at most 256 MiB, 10 passes, 16 lanes, and RFC 9106's minimum
	// of 8 KiB per lane.
	if p.memory > 256*1024 || p.time < 1 || p.time > 10 || p.threads < 1 || p.threads > 16 ||
		p.memory < 8*uint32(p.threads) {
		return phc{}, errBadHash
	}
	var err error
	b64 := base64.RawStdEncoding.Strict()
	if p.salt, err = b64.DecodeString(parts[4]); err != nil || len(p.salt) < 8 || len(p.salt) > 64 {
		return phc{}, errBadHash
	}
	if p.key, err = b64.DecodeString(parts[5]); err != nil || len(p.key) < 16 || len(p.key) > 64 {
		return phc{}, errBadHash
	}
	return p, nil
}

// dummyHash is checked when the address asked for has no password, so
// that a wrong address takes as long as a wrong password and the answer
// does not tell who is an agent. Its key matches no password.
const dummyHash = "$argon2id$v=19$m=65536,t=2,p=2$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// withHashSlot runs f once one of the store's hashSlots is free, or
// gives up when ctx ends first.
func (s *Store) withHashSlot(ctx context.Context, f func()) error {
	select {
	case s.hashSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.hashSlots }()
	f()
	return nil
}
