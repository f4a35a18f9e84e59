package escalation

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

var identitySecret = []byte("a-secret-shared-with-the-shop-of-32+-bytes")

// signedAt signs an identity for email issued at iat, living for life.
func signedAt(email string, iat time.Time, life time.Duration) string {
	return SignIdentity(identitySecret, Identity{Email: email, Name: "Ana", IssuedAt: iat.Unix(), ExpiresAt: iat.Add(life).Unix()})
}

// resign signs a payload given as raw JSON.
func resign(secret []byte, payload string) string {
	p := base64.RawURLEncoding.EncodeToString([]byte(payload))
	return p + "." + base64.RawURLEncoding.EncodeToString(identityMAC(secret, p))
}

// padded signs an identity as a site using padded base64 would (PHP's
// base64_encode with strtr, for one).
func padded(now time.Time) string {
	raw, _ := json.Marshal(Identity{Email: "ana@example.org", IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()})
	if len(raw)%3 == 0 {
		raw = append(raw, ' ') // JSON allows it, and base64 then pads
	}
	p := base64.URLEncoding.EncodeToString(raw)
	return p + "." + base64.URLEncoding.EncodeToString(identityMAC(identitySecret, p))
}

func TestVerifyIdentity(t *testing.T) {
	now := time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC)
	ids, err := NewIdentities(nil, identitySecret)
	if err != nil {
		t.Fatal(err)
	}
	ids.Now = func() time.Time { return now }
	valid := signedAt("ana@example.org", now.Add(-time.Minute), time.Hour)
	payload, sig, _ := strings.Cut(valid, ".")
	forged := func() string {
		// The same identity with another address, under the old signature.
		raw, _ := base64.RawURLEncoding.DecodeString(payload)
		return base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), "ana@", "eve@", 1))) + "." + sig
	}()
	flipped := payload + "." + map[bool]string{true: "B", false: "A"}[sig[0] == 'A'] + sig[1:]

	tests := []struct {
		name   string
		signed string
		want   string // "" for valid, else a word of the reason
	}{
		{"a valid identity", valid, ""},
		{"iat a little ahead of our clock", signedAt("ana@example.org", now.Add(90*time.Second), time.Hour), ""},
		{"padded base64 is accepted", padded(now), ""},
		{"padding added after signing", strings.Replace(valid, ".", "=.", 1), "signature does not match"},
		{"a lifetime of exactly 24 hours", signedAt("ana@example.org", now.Add(-time.Hour), 24*time.Hour), ""},
		{"a tampered payload", forged, "signature does not match"},
		{"a tampered signature", flipped, "signature does not match"},
		{"signed with another secret", SignIdentity([]byte("another-secret-of-at-least-32-bytes!!"),
			Identity{Email: "ana@example.org", IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()}), "signature does not match"},
		{"expired", signedAt("ana@example.org", now.Add(-2*time.Hour), time.Hour), "expired"},
		{"expiring right now", signedAt("ana@example.org", now.Add(-time.Hour), time.Hour), "expired"},
		{"issued in the future", signedAt("ana@example.org", now.Add(3*time.Minute), time.Hour), "future"},
		{"living longer than 24 hours", signedAt("ana@example.org", now.Add(-time.Hour), 25*time.Hour), "over 24h"},
		{"exp before iat", resign(identitySecret, `{"email":"ana@example.org","iat":1795000000,"exp":1794999000}`), "after iat"},
		{"no exp", resign(identitySecret, `{"email":"ana@example.org","iat":1795000000}`), "required"},
		{"times as strings", resign(identitySecret, `{"email":"ana@example.org","iat":"1795000000","exp":"1795003600"}`), "JSON object"},
		{"not an email", resign(identitySecret, `{"email":"ana","iat":1795000000,"exp":1795003600}`), "email"},
		{"a header in the email", resign(identitySecret, `{"email":"ana@example.org\r\nBcc: x@evil.test","iat":1795000000,"exp":1795003600}`), "email"},
		{"a two-line name", resign(identitySecret, `{"email":"ana@example.org","name":"A\nB","iat":1795000000,"exp":1795003600}`), "name"},
		{"not JSON", resign(identitySecret, `ana@example.org`), "JSON object"},
		{"no dot", payload + sig, "want <payload>.<signature>"},
		{"three parts", valid + ".x", "want <payload>.<signature>"},
		{"empty signature", payload + ".", "want <payload>.<signature>"},
		{"a signature that is not base64url", payload + ".%%%", "not a base64url HMAC"},
		{"a short signature", payload + "." + sig[:20], "not a base64url HMAC"},
		{"too long", strings.Repeat("a", 3000) + "." + sig, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ids.Verify(tt.signed)
			if tt.want == "" {
				if err != nil || id.Email != "ana@example.org" {
					t.Fatalf("got %+v, %v; want ana@example.org", id, err)
				}
				return
			}
			var ve *ValidationError
			if !errors.Is(err, ErrBadIdentity) || !errors.As(err, &ve) || !strings.Contains(ve.Msg, tt.want) {
				t.Fatalf("got %+v, %v; want ErrBadIdentity saying %q", id, err, tt.want)
			}
		})
	}
}

func TestIdentitySecretMustBeLong(t *testing.T) {
	if _, err := NewIdentities(nil, []byte("short")); err == nil {
		t.Error("a 5-byte secret: got accepted, want refused")
	}
}

// newIdentityDesk is a desk, its store on a fixed clock, and identities
// on the same store.
func newIdentityDesk(t *testing.T) (*Desk, *Store, *Identities, time.Time) {
	t.Helper()
	d, s := newTestDesk(t)
	now := time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	ids, err := NewIdentities(s, identitySecret)
	if err != nil {
		t.Fatal(err)
	}
	return d, s, ids, now
}

func TestTicketOpenedWithTheSignedIdentityAddressIsCreatedVerified(t *testing.T) {
	tests := []struct {
		name     string
		signed   func(now time.Time) string
		email    string
		later    time.Duration // between the hello and the ticket
		verified bool
	}{
		{"the same address", func(now time.Time) string { return signedAt("ana@example.org", now, time.Hour) },
			"ana@example.org", 0, true},
		{"the same address in other case", func(now time.Time) string { return signedAt("Ana@Example.org", now, time.Hour) },
			"ana@example.org", 0, true},
		{"another address", func(now time.Time) string { return signedAt("ana@example.org", now, time.Hour) },
			"bo@example.org", 0, false},
		{"an identity expired since the hello", func(now time.Time) string { return signedAt("ana@example.org", now, time.Hour) },
			"ana@example.org", time.Hour, false},
		{"a refused identity", func(now time.Time) string { return signedAt("ana@example.org", now.Add(-2*time.Hour), time.Hour) },
			"ana@example.org", 0, false},
		{"no identity", func(time.Time) string { return "" }, "ana@example.org", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, s, ids, now := newIdentityDesk(t)
			ctx := context.Background()
			conv, _ := newConversation(t, s)
			ids.Attach(ctx, conv.ID, tt.signed(now))
			s.Now = func() time.Time { return now.Add(tt.later) }
			created, err := d.CreateTicket(ctx, NewTicket{ConversationID: conv.ID, Lang: "fr", Topic: "account",
				Email: tt.email, Message: "Je veux changer d'adresse."})
			if err != nil {
				t.Fatal(err)
			}
			stored, err := s.Ticket(ctx, created.ID)
			if err != nil {
				t.Fatal(err)
			}
			wantBy := map[bool]string{true: VerifiedByIdentity}[tt.verified]
			if created.Verified != tt.verified || stored.Verified != tt.verified || stored.VerifiedBy != wantBy {
				t.Errorf("got verified %v (stored %v, by %q); want %v", created.Verified, stored.Verified, stored.VerifiedBy, tt.verified)
			}
			msgs, _ := s.MessagesAfter(ctx, conv.ID, 0, 0)
			noted := len(msgs) > 0 && msgs[len(msgs)-1].Kind == KindVerified &&
				msgs[len(msgs)-1].Body == `{"by":"identity","text":"Adresse vérifiée"}`
			if noted != tt.verified {
				t.Errorf("messages %+v: want a verified note only when verified", msgs)
			}
		})
	}
}

func TestAttachIdentityBelongsToTheLatestHello(t *testing.T) {
	d, s, ids, now := newIdentityDesk(t)
	ctx := context.Background()
	conv, _ := newConversation(t, s)
	if id, err := ids.Attach(ctx, conv.ID, signedAt("ana@example.org", now, time.Hour)); err != nil || id.Name != "Ana" {
		t.Fatalf("attach: %+v, %v", id, err)
	}
	// The visitor signed out: the next hello carries no identity.
	if _, err := ids.Attach(ctx, conv.ID, ""); err != nil {
		t.Fatal(err)
	}
	created, err := d.CreateTicket(ctx, NewTicket{ConversationID: conv.ID, Lang: "en", Topic: "account",
		Email: "ana@example.org", Message: "Change my address."})
	if err != nil || created.Verified {
		t.Errorf("ticket after a hello without identity: %+v, %v; want it not verified", created.Ticket, err)
	}

	conv2, _ := newConversation(t, s)
	ids.Attach(ctx, conv2.ID, signedAt("ana@example.org", now, time.Hour))
	if _, err := ids.Attach(ctx, conv2.ID, "garbage"); !errors.Is(err, ErrBadIdentity) {
		t.Fatalf("garbage: got %v, want ErrBadIdentity", err)
	}
	created, err = d.CreateTicket(ctx, NewTicket{ConversationID: conv2.ID, Lang: "en", Topic: "account",
		Email: "ana@example.org", Message: "Change my address."})
	if err != nil || created.Verified {
		t.Errorf("ticket after a refused identity: %+v, %v; want it not verified", created.Ticket, err)
	}
}

func TestAgentAPIShowsHowATicketWasVerified(t *testing.T) {
	d, s, ids, now := newIdentityDesk(t)
	ctx := context.Background()
	_, token, err := s.AddAgent(ctx, "agent@help.example", "Agent")
	if err != nil {
		t.Fatal(err)
	}
	conv, _ := newConversation(t, s)
	ids.Attach(ctx, conv.ID, signedAt("ana@example.org", now, time.Hour))
	byIdentity, err := d.CreateTicket(ctx, NewTicket{ConversationID: conv.ID, Lang: "fr", Topic: "account",
		Email: "ana@example.org", Message: "Bonjour"})
	if err != nil {
		t.Fatal(err)
	}
	byCode, err := d.CreateTicket(ctx, NewTicket{Lang: "fr", Topic: "billing", Email: "bo@example.org", Message: "Facture"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.StartVerification(ctx, byCode.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CheckVerification(ctx, byCode.ID, sentCodes(t, s, byCode.Ticket)[0], ""); err != nil {
		t.Fatal(err)
	}
	none, err := d.CreateTicket(ctx, NewTicket{Lang: "fr", Topic: "other", Email: "cy@example.org", Message: "Salut"})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	RegisterAgentAPI(e, s, d)
	srv := httptest.NewServer(e)
	defer srv.Close()
	for _, tt := range []struct {
		name, ref string
		verified  bool
		by        string
	}{
		{"verified by a signed identity", byIdentity.Ref, true, "identity"},
		{"verified by code", byCode.Ref, true, "code"},
		{"not verified", none.Ref, false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/agent/tickets/"+tt.ref, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got struct {
				Verified   bool    `json:"verified"`
				VerifiedBy *string `json:"verified_by"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			by := ""
			if got.VerifiedBy != nil {
				by = *got.VerifiedBy
			}
			if got.Verified != tt.verified || by != tt.by || (tt.by == "") != (got.VerifiedBy == nil) {
				t.Errorf("got verified %v by %q, want %v by %q", got.Verified, by, tt.verified, tt.by)
			}
		})
	}
}

// TestIdentityDocExampleSignsAsBulleChecks keeps the example of
// docs/identity.md true: the value printed there is what SignIdentity
// makes, and what Verify accepts.
func TestIdentityDocExampleSignsAsBulleChecks(t *testing.T) {
	doc, err := os.ReadFile("../docs/identity.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- test vector.*?```\\s*(\\S+)").FindSubmatch(doc)
	if m == nil {
		t.Fatalf("docs/identity.md: want a test vector in a code block after the marker")
	}
	printed := string(m[1])
	secret := []byte("0123456789abcdef0123456789abcdef")
	want := SignIdentity(secret, Identity{Email: "ana@example.org", Name: "Ana Lima", IssuedAt: 1795000000, ExpiresAt: 1795003600})
	if printed != want {
		t.Errorf("docs/identity.md shows %s, want %s", printed, want)
	}
	ids, _ := NewIdentities(nil, secret)
	ids.Now = func() time.Time { return time.Unix(1795000100, 0) }
	if id, err := ids.Verify(printed); err != nil || id.Name != "Ana Lima" {
		t.Errorf("verify the documented value: %+v, %v", id, err)
	}
}
