package escalation

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

const replyDomain = "reply.help.example.com"

// inboundHarness is an InboundServer on loopback whose Deliver records
// each reply and answers with deliverErr.
type inboundHarness struct {
	addr   string
	store  *Store
	tokens ReplyTokens

	mu         sync.Mutex
	replies    []InboundReply
	deliverErr error
}

func startInbound(t *testing.T, change func(c *InboundConfig)) *inboundHarness {
	t.Helper()
	tokens, err := NewReplyTokens(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	h := &inboundHarness{store: openTest(t), tokens: tokens}
	cfg := InboundConfig{
		Domain: replyDomain, Tokens: tokens, Store: h.store, BounceFrom: "Bulle <no-reply@help.example.com>",
		Deliver: func(ctx context.Context, r InboundReply) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.deliverErr != nil {
				return h.deliverErr
			}
			h.replies = append(h.replies, r)
			return nil
		},
	}
	if change != nil {
		change(&cfg)
	}
	srv, err := NewInboundServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = l.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(l); err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-done
	})
	return h
}

func (h *inboundHarness) rcpt(ticket int64) string {
	return "reply+" + h.tokens.Make(ticket) + "@" + replyDomain
}

func (h *inboundHarness) delivered() []InboundReply {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]InboundReply(nil), h.replies...)
}

// send sends msg with net/smtp, as a mail server would hand it over.
func (h *inboundHarness) send(from, to, msg string) error {
	return smtp.SendMail(h.addr, nil, from, []string{to}, []byte(strings.ReplaceAll(msg, "\n", "\r\n")))
}

func smtpCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

const plainReply = `From: Ana Dupont <ana@example.com>
To: reply+TOKEN@reply.help.example.com
Subject: Re: Your request
Message-ID: <ana-1@mail.example.com>
In-Reply-To: <ticket-42@help.example.com>
Content-Type: text/plain; charset=utf-8

Thanks, it works now!
One more question: can I change my email address?

On Tue, 24 Nov 2026 at 12:13, Bulle <reply+TOKEN@reply.help.example.com>
wrote:
> Hello Ana,
> Click Forgot password on the sign-in page.
>
> -- 
> Bulle support
`

func TestInboundReplyReachesDeliverWithoutQuotedHistory(t *testing.T) {
	h := startInbound(t, nil)
	if err := h.send("ana@example.com", h.rcpt(42), plainReply); err != nil {
		t.Fatal(err)
	}
	got := h.delivered()
	if len(got) != 1 {
		t.Fatalf("Deliver: got %d calls, want 1", len(got))
	}
	want := InboundReply{TicketID: 42, From: "ana@example.com", MessageID: "<ana-1@mail.example.com>",
		InReplyTo: "<ticket-42@help.example.com>",
		Text:      "Thanks, it works now!\nOne more question: can I change my email address?"}
	r := got[0]
	if r.TicketID != want.TicketID || r.From != want.From || r.MessageID != want.MessageID || r.InReplyTo != want.InReplyTo ||
		r.Text != want.Text || len(r.Attachments) != 0 {
		t.Errorf("got %+v, want %+v", r, want)
	}
}

// pngBytes is a 1×1 PNG.
var pngBytes, _ = base64.StdEncoding.DecodeString(
	"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

func TestInboundReplyWithALatin1BodyAndAPNG(t *testing.T) {
	h := startInbound(t, nil)
	// Latin-1, quoted-printable: "voilà" is voil=E0, "écran" =E9cran, and
	// the French attribution's "à" and "é" too.
	msg := fmt.Sprintf(`From: =?iso-8859-1?q?Zo=E9?= <zoe@example.fr>
Subject: =?iso-8859-1?q?Re=A0:_capture_d'=E9cran?=
Message-ID: <zoe-2@mail.example.fr>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XYZ"

--XYZ
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Merci, voil=E0 la capture d'=E9cran. Le bouton ne r=E9pond pas quand je cl=
ique dessus.

Le mar. 24 nov. 2026 =E0 12:13, Bulle <no-reply@help.example.com> a =E9crit=A0:
> Pouvez-vous nous envoyer une capture d'=E9cran ?
--XYZ
Content-Type: image/png; name="capture.png"
Content-Disposition: attachment; filename*=utf-8''capture%%20d%%E2%%80%%99%%C3%%A9cran.png
Content-Transfer-Encoding: base64

%s
--XYZ--
`, base64.StdEncoding.EncodeToString(pngBytes))
	if err := h.send("zoe@example.fr", h.rcpt(7), msg); err != nil {
		t.Fatal(err)
	}
	got := h.delivered()
	if len(got) != 1 {
		t.Fatalf("Deliver: got %d calls, want 1", len(got))
	}
	r := got[0]
	if want := "Merci, voilà la capture d'écran. Le bouton ne répond pas quand je clique dessus."; r.Text != want {
		t.Errorf("text: got %q, want %q", r.Text, want)
	}
	if r.From != "zoe@example.fr" || r.TicketID != 7 {
		t.Errorf("from, ticket: got %q, %d; want zoe@example.fr, 7", r.From, r.TicketID)
	}
	if len(r.Attachments) != 1 {
		t.Fatalf("attachments: got %d, want 1", len(r.Attachments))
	}
	a := r.Attachments[0]
	if a.Name != "capture d’écran.png" || a.ContentType != "image/png" || !bytes.Equal(a.Data, pngBytes) {
		t.Errorf("attachment: got %q, %s, %d bytes; want capture d’écran.png, image/png, the PNG's %d",
			a.Name, a.ContentType, len(a.Data), len(pngBytes))
	}
}

func TestInboundRefusesAForgedTokenAtRCPT(t *testing.T) {
	h := startInbound(t, nil)
	other, _ := NewReplyTokens(bytes.Repeat([]byte{8}, 32))
	good := h.tokens.Make(42)
	for name, rcpt := range map[string]string{
		"another key's token":      "reply+" + other.Make(42) + "@" + replyDomain,
		"a changed letter":         "reply+" + good[:len(good)-1] + string(good[len(good)-1]^1) + "@" + replyDomain,
		"no token":                 "reply@" + replyDomain,
		"a valid token, elsewhere": "reply+" + good + "@evil.example.com",
		"the postmaster":           "postmaster@" + replyDomain,
	} {
		c, err := smtp.Dial(h.addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Mail("mallory@example.com"); err != nil {
			t.Fatal(err)
		}
		err = c.Rcpt(rcpt)
		if smtpCode(err) != 550 || !strings.Contains(err.Error(), "help center") {
			t.Errorf("%s: RCPT got %v, want 550 with a polite text", name, err)
		}
		c.Quit()
	}
	if got := h.delivered(); len(got) != 0 {
		t.Errorf("Deliver: got %d calls, want none", len(got))
	}
}

func TestInboundAcceptsOneTicketPerMessage(t *testing.T) {
	h := startInbound(t, nil)
	c, err := smtp.Dial(h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Mail("ana@example.com")
	if err := c.Rcpt(h.rcpt(1)); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(strings.ToUpper(h.rcpt(1))); err != nil {
		t.Errorf("the same ticket again, upper case: got %v, want accepted", err)
	}
	if err := c.Rcpt(h.rcpt(2)); smtpCode(err) != 452 {
		t.Errorf("a second ticket: got %v, want 452 so that the MTA sends it separately", err)
	}
}

func TestInboundUnknownTicketGets550AndAPoliteBounce(t *testing.T) {
	h := startInbound(t, nil)
	h.deliverErr = fmt.Errorf("ticket 42: %w", ErrNotFound)
	hostile := strings.Replace(plainReply, "Subject: Re: Your request", "Subject: =?utf-8?q?Hi=0D=0ABcc:_x@evil.test?=", 1)
	err := h.send("ana@example.com", h.rcpt(42), hostile)
	if smtpCode(err) != 550 || !strings.Contains(err.Error(), "Unknown ticket") {
		t.Errorf("got %v, want 550 unknown ticket", err)
	}
	mails, _ := h.store.OutboxMails(context.Background(), 0, 10)
	if len(mails) != 1 {
		t.Fatalf("outbox: got %d mails, want one bounce", len(mails))
	}
	b := mails[0]
	if b.Kind != "bounce" || b.To != "ana@example.com" || b.InReplyTo != "<ana-1@mail.example.com>" ||
		!strings.Contains(b.Text, "the request it answers") || strings.ContainsAny(b.Subject, "\r\n") {
		t.Errorf("bounce: got %+v, want a bounce to ana@example.com in reply to her message, one-line subject", b.Mail)
	}
	raw, err := RenderMail(b)
	if err != nil || !strings.Contains(string(raw), "Auto-Submitted: auto-replied") {
		t.Errorf("bounce as sent: %v, want Auto-Submitted: auto-replied in\n%s", err, raw)
	}

	// A machine's mail is never answered by a machine: no loop.
	auto := strings.Replace(plainReply, "Subject:", "Auto-Submitted: auto-replied\nSubject:", 1)
	if err := h.send("ana@example.com", h.rcpt(42), auto); smtpCode(err) != 550 {
		t.Errorf("auto-submitted: got %v, want 550", err)
	}
	if mails, _ := h.store.OutboxMails(context.Background(), 0, 10); len(mails) != 1 {
		t.Errorf("outbox after an auto-submitted reply: got %d mails, want still 1", len(mails))
	}
}

func TestInboundTemporaryFailureAsksTheSenderToRetry(t *testing.T) {
	h := startInbound(t, nil)
	h.deliverErr = errors.New("database is locked")
	if err := h.send("ana@example.com", h.rcpt(42), plainReply); smtpCode(err) != 451 {
		t.Errorf("got %v, want 451", err)
	}
	if mails, _ := h.store.OutboxMails(context.Background(), 0, 10); len(mails) != 0 {
		t.Errorf("outbox: got %d mails, want no bounce for a temporary failure", len(mails))
	}
}

func TestInboundRefusesOversizedMessagesAndAttachments(t *testing.T) {
	h := startInbound(t, func(c *InboundConfig) { c.MaxMessageBytes = 4 << 10; c.MaxAttachmentBytes = 1 << 10 })
	big := plainReply + strings.Repeat("padding line of text\n", 400)
	if err := h.send("ana@example.com", h.rcpt(1), big); smtpCode(err) != 552 {
		t.Errorf("message over the limit: got %v, want 552", err)
	}
	attached := `From: ana@example.com
Content-Type: multipart/mixed; boundary=B

--B
Content-Type: text/plain

See attached.
--B
Content-Type: application/octet-stream
Content-Disposition: attachment; filename=big.bin
Content-Transfer-Encoding: base64

` + wrap76(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 2<<10))) + `
--B--
`
	if err := h.send("ana@example.com", h.rcpt(1), attached); smtpCode(err) != 552 {
		t.Errorf("attachment over the limit: got %v, want 552", err)
	}
	if got := h.delivered(); len(got) != 0 {
		t.Errorf("Deliver: got %d calls, want none", len(got))
	}
}

func TestInboundHTMLOnlyReply(t *testing.T) {
	h := startInbound(t, nil)
	msg := `From: ana@example.com
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

` + base64.StdEncoding.EncodeToString([]byte(`<html><head><style>p{color:red}</style></head><body>
<div dir="ltr">Thanks!<br>It&nbsp;works &amp; the <b>button</b> too.</div><br>
<div class="gmail_quote"><div class="gmail_attr">On Tue, Nov 24, 2026 at 12:13 PM Bulle &lt;no-reply@help.example.com&gt; wrote:<br></div>
<blockquote class="gmail_quote"><p>Hello Ana,</p><p>Try again.</p></blockquote></div>
<script>alert(1)</script></body></html>`)) + "\n"
	if err := h.send("ana@example.com", h.rcpt(3), msg); err != nil {
		t.Fatal(err)
	}
	got := h.delivered()
	if len(got) != 1 || got[0].Text != "Thanks!\nIt\u00a0works & the button too." {
		t.Errorf("got %+v, want the HTML's new text only", got)
	}
}

// wrap76 cuts base64 into lines of 76, as MIME wants.
func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}
