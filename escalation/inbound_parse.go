package escalation

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"
)

// inboundMail is what Bulle keeps of a received message.
type inboundMail struct {
	From          string // the From header's address, "" when it does not parse
	MessageID     string // "" when absent or malformed
	InReplyTo     string
	Subject       string
	AutoSubmitted bool   // sent by a machine (Auto-Submitted, Precedence): never answer it
	Text          string // the new text, quoted history and signature stripped
	Attachments   []InboundAttachment
}

// inboundLimits bound the work one message can cause.
type inboundLimits struct {
	maxAttachments     int
	maxAttachmentBytes int64
}

// maxMIMEParts and maxMIMEDepth bound the walk of a message's parts: a
// real reply has a handful, at depth two or three.
const (
	maxMIMEParts = 100
	maxMIMEDepth = 8
)

// Errors that refuse a message for good, each with a reply the sending
// MTA passes on to the person.
var (
	errTooManyAttachments = errors.New("too many attachments")
	errAttachmentTooLarge = errors.New("attachment too large")
)

// wordDecoder decodes RFC 2047 encoded-words in any charset the WHATWG
// encoding standard names. It holds no state, so one serves all.
var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

// charsetReader turns input in charset into UTF-8. htmlindex knows the
// labels mail uses (utf-8, iso-8859-1, latin1, windows-1252, iso-8859-15,
// koi8-r, shift_jis…); ISO-8859-1 maps to windows-1252, its superset.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	}
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return nil, fmt.Errorf("unknown charset %q", charset)
	}
	return enc.NewDecoder().Reader(input), nil
}

// decodeText returns body, in charset, as valid UTF-8. An unknown charset
// is read as UTF-8, with what does not decode replaced: a reply with an odd
// label is still worth keeping.
func decodeText(charset string, body []byte) string {
	if r, err := charsetReader(charset, bytes.NewReader(body)); err == nil {
		if b, err := io.ReadAll(r); err == nil {
			body = b
		}
	}
	return strings.ToValidUTF8(string(body), "\uFFFD")
}

// msgIDPattern finds a msg-id in In-Reply-To, which may hold several and
// comments.
var msgIDPattern = regexp.MustCompile(`<[^<>\s@]+@[^<>\s@]+>`)

// parseInbound reads one message: its headers, the text a person wrote
// (text/plain, else the HTML's text), with quoted history stripped, and its
// attachments. Only the limits make it fail; a malformed part is skipped.
func parseInbound(r io.Reader, lim inboundLimits) (inboundMail, error) {
	msg, err := mail.ReadMessage(bufio.NewReader(r))
	if err != nil {
		return inboundMail{}, fmt.Errorf("read message: %w", err)
	}
	var in inboundMail
	h := msg.Header
	parser := mail.AddressParser{WordDecoder: wordDecoder}
	if list, err := parser.ParseList(h.Get("From")); err == nil && len(list) > 0 {
		in.From = list[0].Address
	}
	if id := strings.TrimSpace(h.Get("Message-Id")); validMsgID(id) {
		in.MessageID = id
	}
	if id := msgIDPattern.FindString(h.Get("In-Reply-To")); validMsgID(id) {
		in.InReplyTo = id
	}
	in.Subject = h.Get("Subject")
	if s, err := wordDecoder.DecodeHeader(in.Subject); err == nil {
		in.Subject = s
	}
	auto := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted")))
	prec := strings.ToLower(strings.TrimSpace(h.Get("Precedence")))
	in.AutoSubmitted = (auto != "" && auto != "no") || prec == "bulk" || prec == "junk" || prec == "list"

	w := walker{lim: lim}
	if err := w.walk(partHeader(h), msg.Body, 0); err != nil {
		return inboundMail{}, err
	}
	io.Copy(io.Discard, msg.Body) // the SMTP server needs the data read to the end
	in.Attachments = w.attachments
	switch {
	case w.plain != "":
		in.Text = stripQuoted(w.plain)
	case w.html != "":
		in.Text = stripQuoted(htmlToText(w.html))
	}
	return in, nil
}

// partHeader is the part of a header a MIME part needs.
type partHeader interface{ Get(key string) string }

// walker collects the first text/plain and text/html bodies and every
// attachment of a message, depth first.
type walker struct {
	lim         inboundLimits
	parts       int
	plain, html string
	attachments []InboundAttachment
}

func (w *walker) walk(h partHeader, body io.Reader, depth int) error {
	w.parts++
	if w.parts > maxMIMEParts || depth > maxMIMEDepth {
		return nil
	}
	ctype, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		ctype, params = "text/plain", map[string]string{} // RFC 2045's default
	}
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	body = transferDecoder(h.Get("Content-Transfer-Encoding"), body)

	if strings.HasPrefix(ctype, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart: NextPart would decode quoted-printable itself
			// and hide the header, and base64 needs decoding here anyway.
			p, err := mr.NextRawPart()
			if err != nil {
				return nil // io.EOF, or a broken structure: keep what was read
			}
			if err := w.walk(p.Header, p, depth+1); err != nil {
				return err
			}
		}
	}
	attachment := disp == "attachment" || name != ""
	if !attachment && (ctype == "text/plain" || ctype == "text/html") {
		b, err := io.ReadAll(io.LimitReader(body, w.lim.maxAttachmentBytes+1))
		if err != nil {
			return nil
		}
		text := decodeText(params["charset"], b)
		if ctype == "text/plain" && w.plain == "" {
			w.plain = text
		} else if ctype == "text/html" && w.html == "" {
			w.html = text
		}
		return nil
	}
	if len(w.attachments) >= w.lim.maxAttachments {
		return errTooManyAttachments
	}
	data, err := io.ReadAll(io.LimitReader(body, w.lim.maxAttachmentBytes+1))
	if err != nil {
		return nil // a broken encoding: skip the part
	}
	if int64(len(data)) > w.lim.maxAttachmentBytes {
		return errAttachmentTooLarge
	}
	w.attachments = append(w.attachments, InboundAttachment{
		Name:        attachmentName(name, ctype, len(w.attachments)+1),
		ContentType: http.DetectContentType(data),
		Data:        data,
	})
	return nil
}

// transferDecoder undoes a Content-Transfer-Encoding; 7bit, 8bit, binary
// and unknown encodings pass through.
func transferDecoder(cte string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	case "base64":
		// The standard decoder skips CR and LF between lines.
		return base64.NewDecoder(base64.StdEncoding, r)
	}
	return r
}

// maxAttachmentNameLen bounds an attachment's name, in bytes.
const maxAttachmentNameLen = 200

// attachmentName makes a file name safe to store and show: RFC 2047
// decoded, without folders, control characters or a leading dot, and never
// empty (attachment-N, with an extension from its declared type).
func attachmentName(name, ctype string, n int) string {
	if d, err := wordDecoder.DecodeHeader(name); err == nil {
		name = d
	}
	name = strings.ReplaceAll(name, `\`, "/")
	name = path.Base(name)
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	if name == "" || name == "/" {
		name = fmt.Sprintf("attachment-%d", n)
		if exts, _ := mime.ExtensionsByType(ctype); len(exts) > 0 {
			name += exts[0]
		}
	}
	for len(name) > maxAttachmentNameLen {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}
