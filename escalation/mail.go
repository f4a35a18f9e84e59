package escalation

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"
)

// maxHeaderLine is the length at which header lines are folded, as RFC 5322
// section 2.1.1 recommends (78 characters before CRLF).
const maxHeaderLine = 78

// RenderMail turns an outbox row into an RFC 5322 message with CRLF line
// endings, ready for SMTP DATA. The bytes depend only on the row, so every
// attempt of a mail sends the same message.
//
// Header values go through net/mail and mime: display names and subjects
// that are not plain ASCII become RFC 2047 encoded-words, and a value with
// CR or LF is refused (validateMail refuses it at enqueue too), so nothing
// a visitor typed can add a header line.
func RenderMail(m OutboxMail) ([]byte, error) {
	h, err := mailHeaders(m)
	if err != nil {
		return nil, err
	}
	var body bytes.Buffer
	if m.HTML == "" {
		h.add("Content-Type", "text/plain; charset=utf-8")
		h.add("Content-Transfer-Encoding", "quoted-printable")
		if err := writeQP(&body, m.Text); err != nil {
			return nil, err
		}
	} else {
		boundary := mailBoundary(m)
		h.add("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": boundary}))
		mw := multipart.NewWriter(&body)
		if err := mw.SetBoundary(boundary); err != nil {
			return nil, fmt.Errorf("render mail %s: %w", m.MessageID, err)
		}
		for _, part := range []struct{ typ, text string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
			w, err := mw.CreatePart(textproto.MIMEHeader{
				"Content-Type":              {part.typ + "; charset=utf-8"},
				"Content-Transfer-Encoding": {"quoted-printable"},
			})
			if err != nil {
				return nil, err
			}
			if err := writeQP(w, part.text); err != nil {
				return nil, err
			}
		}
		if err := mw.Close(); err != nil {
			return nil, err
		}
	}
	var out bytes.Buffer
	for _, line := range h.lines {
		out.WriteString(line)
		out.WriteString("\r\n")
	}
	out.WriteString("\r\n")
	out.Write(body.Bytes())
	return out.Bytes(), nil
}

// headerList is a message's header lines in order, each already folded.
type headerList struct{ lines []string }

func (h *headerList) add(name, value string) { h.lines = append(h.lines, name+": "+value) }

// mailHeaders checks and encodes every header of m.
func mailHeaders(m OutboxMail) (*headerList, error) {
	bad := func(field, msg string) error {
		return fmt.Errorf("render mail %d: %w", m.ID, &ValidationError{Field: field, Msg: msg})
	}
	// The one check that matters for injection, on the raw values, before
	// any encoding could hide a line break from the later checks.
	for field, v := range map[string]string{"from": m.From, "to": m.To, "reply_to": m.ReplyTo, "subject": m.Subject,
		"message_id": m.MessageID, "in_reply_to": m.InReplyTo, "references": strings.Join(m.References, " ")} {
		if strings.ContainsAny(v, "\r\n") {
			return nil, bad(field, "must not contain a line break")
		}
	}
	h := &headerList{}
	date := m.CreatedAt
	if date.IsZero() {
		date = time.Now()
	}
	h.add("Date", date.UTC().Format(time.RFC1123Z))
	for _, a := range []struct{ name, field, value string }{
		{"From", "from", m.From}, {"To", "to", m.To}, {"Reply-To", "reply_to", m.ReplyTo},
	} {
		if a.value == "" && a.name == "Reply-To" {
			continue
		}
		v, err := formatAddress(a.value)
		if err != nil {
			return nil, bad(a.field, err.Error())
		}
		h.add(a.name, v)
	}
	h.add("Subject", encodeUnstructured("Subject", m.Subject))
	if !validMsgID(m.MessageID) {
		return nil, bad("message_id", "want <id@domain>")
	}
	h.add("Message-ID", m.MessageID)
	if m.InReplyTo != "" {
		if !validMsgID(m.InReplyTo) {
			return nil, bad("in_reply_to", "want <id@domain>")
		}
		h.add("In-Reply-To", m.InReplyTo)
	}
	if len(m.References) > 0 {
		for _, id := range m.References {
			if !validMsgID(id) {
				return nil, bad("references", "want <id@domain>")
			}
		}
		h.lines = append(h.lines, fold("References: "+strings.Join(m.References, " ")))
	}
	h.add("MIME-Version", "1.0")
	if v := autoSubmitted(m.Kind); v != "" {
		// RFC 3834: vacation responders must not answer automatic mail,
		// which also keeps them from looping with our inbound listener.
		h.add("Auto-Submitted", v)
	}
	return h, nil
}

// autoSubmitted returns the Auto-Submitted value for a kind of mail: a
// bounce answers a message automatically; an agent's reply is written by a
// person; everything else is generated.
func autoSubmitted(kind string) string {
	switch kind {
	case "agent_reply":
		return ""
	case "bounce":
		return "auto-replied"
	}
	return "auto-generated"
}

// formatAddress parses one address and prints it with net/mail, which
// quotes the display name or encodes it as RFC 2047 when it is not ASCII.
func formatAddress(v string) (string, error) {
	a, err := mail.ParseAddress(v)
	if err != nil {
		return "", fmt.Errorf("%q is not an email address", v)
	}
	s := a.String()
	if hasControl(s) {
		return "", fmt.Errorf("%q holds a control character", v)
	}
	return s, nil
}

// hasControl reports a C0 control character or DEL.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// encodeUnstructured returns an unstructured header value (a subject) as
// it may go on the wire: plain ASCII folded at spaces, anything else (or
// text that would read as an encoded-word) as RFC 2047 encoded-words, one
// per line. CR and LF were refused before; other controls are encoded.
func encodeUnstructured(name, v string) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	plain := !strings.Contains(v, "=?") && !hasControl(v)
	for i := 0; plain && i < len(v); i++ {
		plain = v[i] < utf8.RuneSelf
	}
	if plain {
		return strings.TrimPrefix(fold(name+": "+v), name+": ")
	}
	return encodeWords(v)
}

// maxWordBytes is the text per encoded-word: 39 bytes are 52 base64
// characters, 64 with "=?utf-8?b?" and "?=" (RFC 2047 allows 75), so that
// "Subject: " and the first word fit in 78.
const maxWordBytes = 39

// encodeWords encodes v as base64 encoded-words, each on its own folded
// line and cut between runes. mime.BEncoding would leave ASCII holding
// "=?" as it is, which a mail client would then decode.
func encodeWords(v string) string {
	var b strings.Builder
	for v != "" {
		n := min(len(v), maxWordBytes)
		for n < len(v) && !utf8.RuneStart(v[n]) {
			n--
		}
		if b.Len() > 0 {
			b.WriteString("\r\n ")
		}
		b.WriteString("=?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte(v[:n])) + "?=")
		v = v[n:]
	}
	return b.String()
}

// fold breaks a header line at spaces so that each line stays under
// maxHeaderLine when it can; a word longer than that stays whole.
func fold(line string) string {
	var b strings.Builder
	for len(line) > maxHeaderLine {
		cut := strings.LastIndexByte(line[:maxHeaderLine], ' ')
		if cut <= 0 {
			cut = strings.IndexByte(line[maxHeaderLine:], ' ')
			if cut < 0 {
				break
			}
			cut += maxHeaderLine
		}
		b.WriteString(line[:cut])
		b.WriteString("\r\n")
		line = line[cut:] // the space starts the continuation line
	}
	b.WriteString(line)
	return b.String()
}

// writeQP writes text as UTF-8 quoted-printable with CRLF line breaks:
// 7-bit clean and short-lined, whatever the text holds.
func writeQP(w io.Writer, text string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(strings.ToValidUTF8(text, "\uFFFD"))); err != nil {
		return err
	}
	return qp.Close()
}

// mailBoundary derives the multipart boundary from the Message-ID, so that
// every attempt renders the same bytes. Quoted-printable bodies cannot hold
// "--" followed by this boundary unless the text does, which is checked.
func mailBoundary(m OutboxMail) string {
	for i := 0; ; i++ {
		sum := sha256.Sum256(fmt.Appendf(nil, "bulle boundary %d %s", i, m.MessageID))
		b := "bulle-" + hex.EncodeToString(sum[:12])
		if !strings.Contains(m.Text, b) && !strings.Contains(m.HTML, b) {
			return b
		}
	}
}
