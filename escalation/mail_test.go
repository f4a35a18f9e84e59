package escalation

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"
)

func renderedMail() OutboxMail {
	return OutboxMail{ID: 1, CreatedAt: time.Date(2026, 11, 24, 12, 13, 29, 0, time.UTC), Mail: Mail{
		MessageID: "<m1@help.example.com>", Kind: "confirmation",
		From: "Bulle <no-reply@help.example.com>", To: "ana@example.com",
		Subject: "Request received", Text: "Hello,\nWe received your request.\n",
	}}
}

// readRendered renders m and parses it back as a mail client would.
func readRendered(t *testing.T, m OutboxMail) (*mail.Message, []byte) {
	t.Helper()
	raw, err := RenderMail(m)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("the rendered message does not parse: %v\n%s", err, raw)
	}
	return msg, raw
}

func TestRenderMailPlainText(t *testing.T) {
	m := renderedMail()
	m.Text = "Bonjour,\nvotre demande est reçue. " + strings.Repeat("Une ligne très longue ", 10) + "\n"
	msg, raw := readRendered(t, m)
	wantHeaders := map[string]string{
		"Date":                      "Tue, 24 Nov 2026 12:13:29 +0000",
		"From":                      `"Bulle" <no-reply@help.example.com>`,
		"To":                        "<ana@example.com>",
		"Message-Id":                "<m1@help.example.com>",
		"Mime-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
		"Auto-Submitted":            "auto-generated",
		"Reply-To":                  "",
		"In-Reply-To":               "",
	}
	for h, want := range wantHeaders {
		if got := msg.Header.Get(h); got != want {
			t.Errorf("%s: got %q, want %q", h, got, want)
		}
	}
	body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if got := strings.ReplaceAll(string(body), "\r\n", "\n"); got != m.Text {
		t.Errorf("body: got %q, want %q", got, m.Text)
	}
	for i, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line %d: got %d characters, want at most 78: %q", i, len(line), line)
		}
		if strings.Contains(line, "\n") || strings.Contains(line, "\r") {
			t.Errorf("line %d: got a bare CR or LF: %q", i, line)
		}
	}
	again, _ := RenderMail(m)
	if !bytes.Equal(raw, again) {
		t.Error("two renders differ; want the same bytes on every attempt")
	}
}

func TestRenderMailEncodesSubjectsAndNames(t *testing.T) {
	dec := mime.WordDecoder{}
	for _, tt := range []struct {
		name, subject, from string
	}{
		{"ascii", "Request received", "Bulle <no-reply@help.example.com>"},
		{"accents", "Demande reçue — réponse sous 24 h", "Équipe d'assistance <no-reply@help.example.com>"},
		{"long non-ascii subject folds", strings.Repeat("Réinitialisation du mot de passe ", 8), "Bulle <no-reply@help.example.com>"},
		{"long ascii subject folds", strings.Repeat("Password reset request ", 8), "Bulle <no-reply@help.example.com>"},
		{"text that looks like an encoded-word", "=?utf-8?q?Urgent?= please", "Bulle <no-reply@help.example.com>"},
		{"name with specials", "Hello", `"Dupont, Ana (support)" <no-reply@help.example.com>`},
		{"emoji", "Merci 🙏", "Zoé 🌷 <no-reply@help.example.com>"},
		{"tab and controls", "a\tb\x00c\x1bd", "Bulle <no-reply@help.example.com>"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := renderedMail()
			m.Subject, m.From = tt.subject, tt.from
			msg, raw := readRendered(t, m)
			got, err := dec.DecodeHeader(msg.Header.Get("Subject"))
			if want := strings.TrimSpace(tt.subject); err != nil || strings.TrimSpace(got) != want {
				t.Errorf("subject: got %q (%v), want %q", got, err, want)
			}
			if tt.name == "text that looks like an encoded-word" && strings.Contains(string(raw), "=?utf-8?q?Urgent?=") {
				t.Error("subject: got the literal encoded-word on the wire, want it encoded so it reads as typed")
			}
			from, err := (&mail.AddressParser{WordDecoder: &dec}).Parse(msg.Header.Get("From"))
			want, _ := mail.ParseAddress(tt.from)
			if err != nil || from.Name != want.Name || from.Address != want.Address {
				t.Errorf("from: got %v (%v), want %v", from, err, want)
			}
			head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
			for _, line := range strings.Split(head, "\r\n") {
				if !isASCII(line) || hasControl(strings.ReplaceAll(line, "\t", " ")) {
					t.Errorf("header line %q: want printable ASCII only", line)
				}
				if len(line) > 78 && !strings.HasPrefix(line, " =?") {
					t.Errorf("header line %q: got %d characters, want it folded", line, len(line))
				}
			}
		})
	}
}

// hostileMails each try to smuggle a Bcc header through one field.
var hostileMails = []struct {
	name   string
	change func(m *Mail)
	field  string
}{
	{"display name", func(m *Mail) { m.To = "Ana\r\nBcc: x@evil.test <ana@example.com>" }, "to"},
	{"quoted display name", func(m *Mail) { m.To = "\"Ana\r\nBcc: x@evil.test\" <ana@example.com>" }, "to"},
	{"address", func(m *Mail) { m.To = "ana@example.com\r\nBcc: x@evil.test" }, "to"},
	{"from", func(m *Mail) { m.From = "Bulle <no-reply@help.example.com>\nBcc: x@evil.test" }, "from"},
	{"reply-to", func(m *Mail) { m.ReplyTo = "reply@help.example.com\rBcc: x@evil.test" }, "reply_to"},
	{"subject", func(m *Mail) { m.Subject = "Hello\r\nBcc: x@evil.test" }, "subject"},
	{"subject with LF only", func(m *Mail) { m.Subject = "Hello\nBcc: x@evil.test" }, "subject"},
	{"in-reply-to", func(m *Mail) { m.InReplyTo = "<a@b>\r\nBcc: x@evil.test" }, "in_reply_to"},
	{"references", func(m *Mail) { m.References = []string{"<a@b>", "<c@d>\r\nBcc: x@evil.test"} }, "references"},
	{"message-id", func(m *Mail) { m.MessageID = "<a@b>\r\nBcc: x@evil.test" }, "message_id"},
}

func TestQueueMailRefusesHeaderInjection(t *testing.T) {
	store := openTest(t)
	for _, tt := range hostileMails {
		m := testMail(1)
		tt.change(&m)
		_, err := store.QueueMail(context.Background(), m)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("%s: got %v, want a validation error on %s", tt.name, err, tt.field)
		}
	}
	for _, tt := range []struct {
		name   string
		change func(m *Mail)
	}{
		{"message-id with a space", func(m *Mail) { m.MessageID = "<a b@c>" }},
		{"in-reply-to without brackets", func(m *Mail) { m.InReplyTo = "a@b" }},
		{"reference with a bracket inside", func(m *Mail) { m.References = []string{"<a<b@c>"} }},
	} {
		m := testMail(1)
		tt.change(&m)
		if _, err := store.QueueMail(context.Background(), m); ErrorCode(err) != EINVALID {
			t.Errorf("%s: got %v, want a validation error", tt.name, err)
		}
	}
	if mails, _ := store.OutboxMails(context.Background(), 0, 10); len(mails) != 0 {
		t.Errorf("outbox: got %d mails, want none queued", len(mails))
	}
}

func TestRenderMailNeverPutsInjectedHeadersOnTheWire(t *testing.T) {
	// A row that did not go through validateMail (written by hand, or by
	// older code) is refused at render as well.
	for _, tt := range hostileMails {
		m := renderedMail()
		tt.change(&m.Mail)
		raw, err := RenderMail(m)
		if err == nil {
			t.Errorf("%s: rendered %q, want an error", tt.name, raw)
		}
	}
	// Values that hold no line break but other traps render, encoded.
	for name, change := range map[string]func(m *Mail){
		"unicode line separator in the subject": func(m *Mail) { m.Subject = "Hello\u2028Bcc: x@evil.test" },
		"NEL in the subject":                    func(m *Mail) { m.Subject = "Hello\u0085Bcc: x@evil.test" },
		"header text in a display name":         func(m *Mail) { m.To = `"Ana Bcc: x@evil.test" <ana@example.com>` },
		"non-ascii display name":                func(m *Mail) { m.To = "Ana\u2028Bcc: x@evil.test <ana@example.com>" },
	} {
		m := renderedMail()
		change(&m.Mail)
		raw, err := RenderMail(m)
		if err != nil {
			if errors.As(err, new(*ValidationError)) {
				continue // refused is safe too
			}
			t.Fatalf("%s: %v", name, err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(msg.Header["Bcc"]) != 0 {
			t.Errorf("%s: got a Bcc header, want none:\n%s", name, raw)
		}
		if to, _ := mail.ParseAddressList(msg.Header.Get("To")); len(to) != 1 || to[0].Address != "ana@example.com" {
			t.Errorf("%s: To: got %v, want only ana@example.com", name, to)
		}
	}
}

func TestSenderFlagsAnUnrenderableRowFailedAndSendsNothing(t *testing.T) {
	p := startProvider(t)
	clock := newFakeClock()
	store := clockedStore(t, clock)
	// Bypass validateMail, as a row written by hand would.
	res, err := store.write.Exec(`INSERT INTO outbox (message_id, kind, from_addr, to_addr, subject, text_body, next_attempt_at, created_at)
		VALUES ('<x@help.example.com>', 'confirmation', 'no-reply@help.example.com', 'ana@example.com', ?, 'Hi', ?, ?)`,
		"Hello\r\nBcc: x@evil.test", formatOutboxTime(clock.Now()), clock.Now().Format(time.RFC3339Nano))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	runSender(t, store, SenderOptions{Addr: p.addr, TLS: TLSNone, After: clock.After})
	clock.sleeping(t)
	m := outboxMail(t, store, id)
	if len(p.messages()) != 0 || m.Status(clock.Now()) != MailFailed || !strings.Contains(m.LastError, "line break") {
		t.Errorf("got %d messages, %s, error %q; want none sent, failed, a line-break error", len(p.messages()), m.Status(clock.Now()), m.LastError)
	}
}
