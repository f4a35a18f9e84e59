package escalation

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// phcFormat is the PHC string of argon2id with our parameters.
var phcFormat = regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=2,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestPasswordHashIsArgon2idInPHCFormatWithAFreshSalt(t *testing.T) {
	const pw = "correct horse battery"
	h1, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := HashPassword(pw)
	if !phcFormat.MatchString(h1) {
		t.Errorf("hash %q: want $argon2id$v=19$m=65536,t=2,p=2$<salt>$<key>", h1)
	}
	if h1 == h2 {
		t.Errorf("two hashes of one password are equal (%q): want a fresh salt each", h1)
	}
	if ok, err := CheckPassword(h1, pw); !ok || err != nil {
		t.Errorf("right password: got %v %v, want true", ok, err)
	}
	// The same password with a decomposed accent (e + U+0301) matches its
	// composed form: one person, two keyboards.
	h3, _ := HashPassword("mot de passe é!")
	if ok, _ := CheckPassword(h3, "mot de passe e\u0301!"); !ok {
		t.Error("decomposed accent: got no match, want the NFC form to match")
	}
}

func TestPasswordCheckRefusesWrongPasswordsAndTamperedHashes(t *testing.T) {
	const pw = "correct horse battery"
	h, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(h, "$")
	flip := func(s string) string { // change one character of a base64 field
		if s[0] == 'A' {
			return "B" + s[1:]
		}
		return "A" + s[1:]
	}
	tests := []struct {
		name    string
		hash    string
		pw      string
		wantErr bool
	}{
		{"wrong password", h, "correct horse batterY", false},
		{"empty password", h, "", false},
		{"salt changed", strings.Join([]string{"", parts[1], parts[2], parts[3], flip(parts[4]), parts[5]}, "$"), pw, false},
		{"key changed", strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], flip(parts[5])}, "$"), pw, false},
		{"fewer passes", strings.Replace(h, "t=2", "t=1", 1), pw, false},
		{"argon2i instead of argon2id", strings.Replace(h, "argon2id", "argon2i", 1), pw, true},
		{"other version", strings.Replace(h, "v=19", "v=16", 1), pw, true},
		{"a gigabyte of memory", strings.Replace(h, "m=65536", "m=1048576", 1), pw, true},
		{"a thousand passes", strings.Replace(h, "t=2", "t=1000", 1), pw, true},
		{"no lanes", strings.Replace(h, "p=2", "p=0", 1), pw, true},
		{"parameters reordered", strings.Replace(h, "m=65536,t=2", "t=2,m=65536", 1), pw, true},
		{"key cut short", h[:len(h)-30], pw, true},
		{"not base64", h[:len(h)-2] + "!!", pw, true},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", pw, true},
		{"empty", "", pw, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := CheckPassword(tt.hash, tt.pw)
			if ok {
				t.Errorf("got a match, want none")
			}
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Errorf("error: got %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestDummyHashParsesAndMatchesNothing(t *testing.T) {
	if ok, err := CheckPassword(dummyHash, "anything at all 12"); ok || err != nil {
		t.Errorf("dummy hash: got %v %v, want no match and no error", ok, err)
	}
}

func TestPasswordRulesAllow12To256Characters(t *testing.T) {
	tests := []struct {
		name string
		pw   string
		ok   bool
	}{
		{"11 characters", strings.Repeat("a", 11), false},
		{"12 characters", strings.Repeat("a", 12), true},
		{"12 accented characters, 24 bytes", strings.Repeat("é", 12), true},
		{"256 characters", strings.Repeat("a", 256), true},
		{"257 characters", strings.Repeat("a", 257), false},
		{"invalid UTF-8", strings.Repeat("a", 12) + "\xff", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPasswordRules(tt.pw)
			var ve *ValidationError
			if tt.ok && err != nil || !tt.ok && !errors.As(err, &ve) {
				t.Errorf("got %v, want ok %v (or a ValidationError)", err, tt.ok)
			}
		})
	}
}
