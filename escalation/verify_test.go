package escalation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// verifyClock is a clock the test moves by hand.
type verifyClock struct{ now time.Time }

func (c *verifyClock) Now() time.Time          { return c.now }
func (c *verifyClock) advance(d time.Duration) { c.now = c.now.Add(d) }

// newVerifyDesk returns a desk on a store whose clock the test controls,
// and a ticket on an account topic, in lang.
func newVerifyDesk(t *testing.T, lang string) (*Desk, *Store, *verifyClock, Ticket) {
	t.Helper()
	d, s := newTestDesk(t)
	clock := &verifyClock{now: time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC)}
	s.Now = clock.Now
	created, err := d.CreateTicket(context.Background(), NewTicket{Lang: lang, Topic: "account",
		Email: "ana@example.org", Name: "Ana Lima", Message: "Je n'arrive plus à me connecter."})
	if err != nil {
		t.Fatal(err)
	}
	return d, s, clock, created.Ticket
}

var sixDigits = regexp.MustCompile(`\b(\d{6})\b`)

// sentCodes returns the codes mailed for a ticket's conversation, oldest
// first, read from the outbox as the sender would send them.
func sentCodes(t *testing.T, s *Store, tk Ticket) []string {
	t.Helper()
	var codes []string
	for _, m := range queued(t, s, tk.ConversationID) {
		if m.Kind != "code" {
			continue
		}
		c := sixDigits.FindStringSubmatch(m.Text)
		if c == nil {
			t.Fatalf("code mail without a code:\n%s", m.Text)
		}
		codes = append(codes, c[1])
	}
	return codes
}

// errMalformed stands for a plain ValidationError with no reason: a code
// that is not 6 digits.
var errMalformed = errors.New("malformed")

func TestCheckVerification(t *testing.T) {
	// Each step moves the clock, then sends a new code or types one:
	// "right" is the last code sent, "first" the first one, "wrong" a
	// code that is neither, "spaced" the right one as "123 456".
	type step struct {
		after time.Duration
		start bool
		code  string
		want  error // nil: verified
	}
	wrong := func(n int) []step {
		var out []step
		for i := 0; i < n; i++ {
			out = append(out, step{code: "wrong", want: ErrBadCode})
		}
		return out
	}
	start := step{start: true}
	tests := []struct {
		name  string
		steps []step
	}{
		{"the right code verifies the address", []step{start, {code: "right"}}},
		{"spaces and dashes in the code are ignored", []step{start, {code: "spaced"}}},
		{"a code works once", []step{start, {code: "right"}, {code: "right", want: ErrAlreadyVerified}}},
		{"a code still works just before 10 minutes", []step{start, {after: codeTTL - time.Second, code: "right"}}},
		{"a code expires after 10 minutes", []step{start, {after: codeTTL, code: "right", want: ErrCodeExpired}}},
		{"a new code works after an expired one", []step{start, {after: codeTTL, code: "right", want: ErrCodeExpired}, start, {code: "right"}}},
		{"four wrong codes leave a fifth try", append(append([]step{start}, wrong(4)...), step{code: "right"})},
		{"the fifth wrong code locks the code", append(append([]step{start}, wrong(4)...),
			step{code: "wrong", want: ErrTooManyTries}, step{code: "right", want: ErrTooManyTries})},
		{"a new code after a locked one works", append(append([]step{start}, wrong(4)...),
			step{code: "wrong", want: ErrTooManyTries}, start, step{code: "right"})},
		{"a new code replaces the old one", []step{start, start, {code: "first", want: ErrBadCode}, {code: "right"}}},
		{"no code sent, nothing to check", []step{{code: "123456", want: ErrNoCode}}},
		{"a malformed code is refused and not counted", append(append([]step{start, {code: "12345", want: errMalformed},
			{code: "12a456", want: errMalformed}, {code: "", want: errMalformed}}, wrong(4)...), step{code: "right"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, s, clock, tk := newVerifyDesk(t, "fr")
			ctx := context.Background()
			for i, st := range tt.steps {
				clock.advance(st.after)
				if st.start {
					if _, err := d.StartVerification(ctx, tk.ID, ""); err != nil {
						t.Fatalf("step %d: start: %v", i, err)
					}
					continue
				}
				codes := sentCodes(t, s, tk)
				code := st.code
				switch {
				case code == "right" || code == "spaced" || code == "wrong":
					right := codes[len(codes)-1]
					code = right
					if st.code == "spaced" {
						code = right[:3] + " " + right[3:]
					} else if st.code == "wrong" {
						n, _ := strconv.Atoi(right)
						code = fmt.Sprintf("%06d", (n+1)%1_000_000)
						if len(codes) > 1 && code == codes[0] {
							code = fmt.Sprintf("%06d", (n+2)%1_000_000)
						}
					}
				case code == "first":
					code = codes[0]
					if code == codes[len(codes)-1] {
						t.Skip("two codes drawn equal, one chance in a million")
					}
				}
				res, err := d.CheckVerification(ctx, tk.ID, code, "")
				checkVerifyErr(t, fmt.Sprintf("step %d (%s)", i, st.code), err, st.want)
				if err == nil && (!res.Ticket.Verified || res.Ticket.VerifiedBy != VerifiedByCode || res.Note.Kind != KindVerified) {
					t.Errorf("step %d: got %+v, want the ticket verified by code and a verified note", i, res)
				}
			}
		})
	}
}

// checkVerifyErr checks err is the refusal want, wrapped in a
// ValidationError the visitor may read.
func checkVerifyErr(t *testing.T, what string, err, want error) {
	t.Helper()
	var ve *ValidationError
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: got %v, want success", what, err)
	case want == nil:
	case !errors.As(err, &ve) || ErrorCode(err) != EINVALID:
		t.Fatalf("%s: got %v, want a validation error", what, err)
	case want == errMalformed:
		for _, reason := range []error{ErrBadCode, ErrCodeExpired, ErrTooManyTries, ErrNoCode, ErrAlreadyVerified} {
			if errors.Is(err, reason) {
				t.Fatalf("%s: got %v, want a malformed code refused as such", what, err)
			}
		}
	case !errors.Is(err, want):
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

func TestVerificationCodeIsStoredOnlyAsAnHMACUnderAKeyOutsideTheDatabase(t *testing.T) {
	d, s, _, tk := newVerifyDesk(t, "fr")
	if _, err := d.StartVerification(context.Background(), tk.ID, ""); err != nil {
		t.Fatal(err)
	}
	code := sentCodes(t, s, tk)[0]
	var hash []byte
	var email, expires string
	var attempts int
	if err := s.read.QueryRow(`SELECT code_hash, email, attempts, expires_at FROM verification_codes WHERE ticket_id = ?`, tk.ID).
		Scan(&hash, &email, &attempts, &expires); err != nil {
		t.Fatal(err)
	}
	plain := sha256.Sum256([]byte(code))
	if bytes.Contains(hash, []byte(code)) || bytes.Equal(hash, plain[:]) || len(hash) != 32 {
		t.Errorf("stored %x: want an HMAC, neither the code nor its bare SHA-256", hash)
	}
	key, _ := d.codeKey()
	if !bytes.Equal(hash, codeHash(key, tk.ID, code)) || bytes.Equal(key, d.opt.Tokens.key) {
		t.Errorf("stored %x: want HMAC(key derived from the reply key, ticket, code)", hash)
	}
	if !bytes.Equal(codeHash(key, tk.ID, code), hash) || bytes.Equal(codeHash(key, tk.ID+1, code), hash) {
		t.Errorf("the hash must be bound to its ticket")
	}
	if email != "ana@example.org" || attempts != 0 || parseTime(expires) != s.Now().Add(10*time.Minute) {
		t.Errorf("row: email %q, attempts %d, expires %s; want the ticket's address, 0, now + 10 min", email, attempts, expires)
	}
}

func TestVerificationCodeIsMailedToTheTicketAddress(t *testing.T) {
	for _, tt := range []struct {
		lang, subject, line, note string
	}{
		{"fr", "Votre code de vérification", "Il expire dans 10 minutes", "Code de vérification envoyé (valable 10 minutes) à ana@example.org."},
		{"en", "Your verification code", "It expires in 10 minutes", "Verification code sent (valid for 10 minutes) to ana@example.org."},
	} {
		t.Run(tt.lang, func(t *testing.T) {
			d, s, _, tk := newVerifyDesk(t, tt.lang)
			res, err := d.StartVerification(context.Background(), tk.ID, "v1")
			if err != nil {
				t.Fatal(err)
			}
			var m *Mail
			for _, q := range queued(t, s, tk.ConversationID) {
				if q.Kind == "code" {
					m = &q
				}
			}
			if m == nil {
				t.Fatal("no code mail queued")
			}
			code := sentCodes(t, s, tk)[0]
			if m.To != `"Ana Lima" <ana@example.org>` || m.ReplyTo != "" || m.Subject != "[#"+tk.Ref+"] "+tt.subject {
				t.Errorf("mail to %q, reply-to %q, subject %q: want the ticket's address, no reply address, the %s subject",
					m.To, m.ReplyTo, m.Subject, tt.lang)
			}
			if !strings.Contains(m.Text, tt.line) || !strings.Contains(m.HTML, code) || !strings.Contains(m.Text, "#"+tk.Ref) {
				t.Errorf("mail text:\n%s\nhtml:\n%s\nwant the code, the reference and the expiry", m.Text, m.HTML)
			}
			if res.Note.Kind != KindVerifySent || res.Note.Role != RoleSystem || !strings.Contains(res.Note.Body, tt.note) ||
				strings.Contains(res.Note.Body, code) || res.Note.ClientID != "v1" {
				t.Errorf("note %+v: want a system note naming the address and never the code", res.Note)
			}
			if !res.ExpiresAt.Equal(s.Now().Add(codeTTL)) {
				t.Errorf("expires at %v, want now + 10 min", res.ExpiresAt)
			}
		})
	}
}

func TestVerificationCodesAreLimitedToThreeAnHourPerTicket(t *testing.T) {
	d, s, clock, tk := newVerifyDesk(t, "en")
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := d.StartVerification(ctx, tk.ID, ""); err != nil {
			t.Fatalf("code %d: %v", i+1, err)
		}
		clock.advance(10 * time.Minute)
	}
	_, err := d.StartVerification(ctx, tk.ID, "")
	checkVerifyErr(t, "fourth code within the hour", err, ErrTooManyCodes)
	if msg := ErrorMessage(err); !strings.Contains(msg, "30 minutes") {
		t.Errorf("message %q: want when to ask again (30 minutes)", msg)
	}
	if n := len(sentCodes(t, s, tk)); n != 3 {
		t.Errorf("%d code mails, want 3", n)
	}
	// Another ticket has its own allowance.
	other, err := d.CreateTicket(ctx, NewTicket{Lang: "en", Topic: "billing", Email: "bo@example.org", Message: "Invoice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.StartVerification(ctx, other.ID, ""); err != nil {
		t.Errorf("another ticket: got %v, want its code sent", err)
	}
	clock.advance(30 * time.Minute) // an hour after the first code
	if _, err := d.StartVerification(ctx, tk.ID, ""); err != nil {
		t.Errorf("an hour after the first code: got %v, want a new code", err)
	}
}

func TestVerificationResentWithTheSameClientIDSendsNoSecondCode(t *testing.T) {
	d, s, _, tk := newVerifyDesk(t, "fr")
	ctx := context.Background()
	first, err := d.StartVerification(ctx, tk.ID, "v1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := d.StartVerification(ctx, tk.ID, "v1")
	if err != nil || again.Created || again.Note.Seq != first.Note.Seq {
		t.Fatalf("resend: got %+v, %v; want the first note again", again, err)
	}
	if n := len(sentCodes(t, s, tk)); n != 1 {
		t.Errorf("%d code mails, want 1", n)
	}
	code := sentCodes(t, s, tk)[0]
	ok, err := d.CheckVerification(ctx, tk.ID, code, "c1")
	if err != nil {
		t.Fatal(err)
	}
	// A lost acknowledgement: the same frame again finds the same note.
	okAgain, err := d.CheckVerification(ctx, tk.ID, code, "c1")
	if err != nil || okAgain.Created || okAgain.Note.Seq != ok.Note.Seq {
		t.Errorf("check resend: got %+v, %v; want the first verified note", okAgain, err)
	}
	if _, err := d.CheckVerification(ctx, tk.ID, code, "v1"); err == nil || ErrorCode(err) != EINVALID {
		t.Errorf("a client id of another kind of message: got %v, want it refused", err)
	}
}

func TestVerifiedTicketRecordsANoteAndShowsInTheStore(t *testing.T) {
	d, s, clock, tk := newVerifyDesk(t, "fr")
	ctx := context.Background()
	if _, err := d.StartVerification(ctx, tk.ID, ""); err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Minute)
	if _, err := d.CheckVerification(ctx, tk.ID, sentCodes(t, s, tk)[0], ""); err != nil {
		t.Fatal(err)
	}
	got, err := s.Ticket(ctx, tk.ID)
	if err != nil || !got.Verified || got.VerifiedBy != VerifiedByCode {
		t.Fatalf("ticket %+v (%v): want verified by code", got, err)
	}
	msgs, err := s.MessagesAfter(ctx, tk.ConversationID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	last := msgs[len(msgs)-1]
	if last.Kind != KindVerified || last.Role != RoleSystem || last.Body != `{"by":"code","text":"Adresse vérifiée"}` {
		t.Errorf("last message %+v: want the verified note", last)
	}
	var used string
	s.read.QueryRow(`SELECT used_at FROM verification_codes WHERE ticket_id = ?`, tk.ID).Scan(&used)
	if parseTime(used) != clock.now {
		t.Errorf("used_at %q, want the time of the check", used)
	}
	if _, err := d.StartVerification(ctx, tk.ID, ""); !errors.Is(err, ErrAlreadyVerified) {
		t.Errorf("a code for a verified ticket: got %v, want ErrAlreadyVerified", err)
	}
}

func TestVerificationOfAnUnknownTicketIsNotFound(t *testing.T) {
	d, _ := newTestDesk(t)
	ctx := context.Background()
	if _, err := d.StartVerification(ctx, 999, ""); ErrorCode(err) != ENOTFOUND {
		t.Errorf("start: got %v, want not found", err)
	}
	if _, err := d.CheckVerification(ctx, 999, "123456", ""); ErrorCode(err) != ENOTFOUND {
		t.Errorf("check: got %v, want not found", err)
	}
}
