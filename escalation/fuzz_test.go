package escalation

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParseInbound feeds any bytes to the inbound mail parser, as a
// stranger's SMTP client would. It never panics and never goes past its
// limits; what it keeps is valid UTF-8, and attachment names are safe to
// store and to put in a download header.
func FuzzParseInbound(f *testing.F) {
	f.Add([]byte("From: Ana <ana@example.org>\r\nSubject: Re: #A1B2\r\nMessage-Id: <1@x>\r\n\r\nMerci !\r\n\r\nOn Monday, Bulle wrote:\r\n> old\r\n"))
	f.Add([]byte("From: a@b.c\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\nContent-Type: text/html; charset=iso-8859-1\r\n\r\n<p>caf\xe9 <script>x</script></p>\r\n--X\r\n" +
		"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"../../etc/passwd\r\n.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--X--\r\n"))
	f.Add([]byte("Subject: =?utf-8?b?w6k=?=\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n--a--\r\n"))
	f.Add([]byte("From: x\r\nContent-Type: text/plain; charset=utf-16\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=FF=FE=00\r\n"))
	lim := inboundLimits{maxAttachments: 3, maxAttachmentBytes: 1 << 10}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := parseInbound(bytes.NewReader(data), lim)
		if err != nil {
			return // refused whole: the SMTP session answers with the error
		}
		if len(in.Attachments) > lim.maxAttachments {
			t.Fatalf("%d attachments, over the limit of %d", len(in.Attachments), lim.maxAttachments)
		}
		for _, a := range in.Attachments {
			if int64(len(a.Data)) > lim.maxAttachmentBytes {
				t.Fatalf("attachment of %d bytes, over the limit", len(a.Data))
			}
			if a.Name == "" || strings.ContainsAny(a.Name, "/\\\x00\r\n\"") || strings.HasPrefix(a.Name, ".") || !utf8.ValidString(a.Name) {
				t.Fatalf("unsafe attachment name %q", a.Name)
			}
		}
		for name, s := range map[string]string{"text": in.Text, "from": in.From, "message-id": in.MessageID} {
			if !utf8.ValidString(s) {
				t.Fatalf("%s is not valid UTF-8: %q", name, s)
			}
		}
		if strings.ContainsAny(in.MessageID+in.InReplyTo, "\r\n") {
			t.Fatalf("a message id carries a line break: %q %q", in.MessageID, in.InReplyTo)
		}
	})
}

// FuzzHoursConfig feeds any values to the business hours, as an
// operator's bulle.toml would. Each config is refused with an error, or
// gives schedules that answer every question about a year around the
// clock changes without panicking, consistently: open at t means the
// current opening closes after t, and the next opening starts after t.
func FuzzHoursConfig(f *testing.F) {
	f.Add("Europe/Paris", "09:00-18:00", "closed", "24:00-00:00", "2026-12-25", "2026-03-28", "2026-03-30", "00:00-24:00")
	f.Add("America/New_York", "00:00-24:00", "10:00-12:00", "25:00-26:00", "2026-02-30", "2026-11-01", "2026-10-01", "closed")
	f.Add("", "9:00-18:00", "08:00-08:00", "23:59-24:00", "", "", "", "")
	f.Add("Local", "02:00-03:00", "01:30-02:30", "00:00-00:01", "2026-03-29", "2026-03-29", "2026-03-29", "02:00-03:00")
	f.Fuzz(func(t *testing.T, zone, weekday, saturday, sunday, closed, from, until, override string) {
		ch := ChannelHours{Monday: weekday, Tuesday: weekday, Wednesday: weekday, Thursday: weekday, Friday: weekday,
			Saturday: saturday, Sunday: sunday, Closed: []string{closed},
			Override: []HoursOverride{{From: from, Until: until, Daily: override}}}
		h, err := NewHours(HoursConfig{Timezone: zone, ChannelHours: ch, Email: ch})
		if err != nil {
			return
		}
		s := h.Schedule(ChannelChat)
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range 120 { // every 3 days and 7 hours: each weekday, hour and DST change comes round
			at := start.Add(time.Duration(i) * 79 * time.Hour)
			open := s.Open(at)
			if next := s.NextOpen(at); !next.IsZero() && !next.After(at) {
				t.Fatalf("at %v: next opening %v is not after it", at, next)
			}
			if end := s.NextClose(at); !end.IsZero() && (!open || !end.After(at)) {
				t.Fatalf("at %v (open %v): the opening closes at %v", at, open, end)
			}
		}
		s.Week(start, time.UTC, "fr")
	})
}
