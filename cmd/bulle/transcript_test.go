package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/mail"
	"net/smtp"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

// mailbox reads what the SMTP recorder receives, one mail at a time.
type mailbox struct {
	t   *testing.T
	rec *recorder
}

// next waits for the next mail and returns it with its text part decoded.
func (b mailbox) next(what string) (*mail.Message, string) {
	b.t.Helper()
	select {
	case <-b.rec.got:
	case <-time.After(10 * time.Second):
		b.t.Fatalf("%s never reached the SMTP server", what)
	}
	b.rec.mu.Lock()
	raw := b.rec.msgs[len(b.rec.msgs)-1]
	b.rec.mu.Unlock()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return msg, textPart(b.t, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
}

// textPart returns the first text/plain part of a body, decoded.
func textPart(t *testing.T, ctype, cte string, body io.Reader) string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				t.Fatalf("no text part: %v", err)
			}
			if s := textPart(t, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); s != "" {
				return s
			}
		}
	}
	if mt != "text/plain" {
		return ""
	}
	if strings.EqualFold(cte, "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, _ := io.ReadAll(body)
	return string(b)
}

// TestTranscriptReplyAndMyRequestsEndToEnd follows a visitor through real
// sockets: the bubble mails the transcript, the visitor replies to it by
// email with a screenshot, which opens a ticket; an agent downloads the
// screenshot; the visitor signs in to "My requests" with the link mailed
// to them and finds the ticket and the file, and nobody else's.
func TestTranscriptReplyAndMyRequestsEndToEnd(t *testing.T) {
	rec, addr := startRecorder(t)
	host, port, _ := net.SplitHostPort(addr)
	m := runMailMain(t, func(m *Main) {
		m.Config.SMTP.Host = host
		m.Config.SMTP.Port, _ = strconv.Atoi(port)
		m.Config.SMTP.TLS = escalation.TLSNone
		m.Config.SMTP.From = "Bulle <no-reply@help.example.com>"
		m.Config.SMTP.ReplyDomain = "reply.example.com"
		m.Config.SMTP.InboundAddr = "127.0.0.1:0"
		m.Config.Widget.AllowedOrigins = []string{"https://shop.example"}
	})
	box := mailbox{t, rec}

	// The bubble: a question, then "Email me the transcript".
	c, _, err := dialBubble(t, m, "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	exchange(t, c, `{"type":"hello","lang":"fr"}`, 1)
	exchange(t, c, `{"type":"message","client_id":"q1","text":"comment réinitialiser mon mot de passe ?"}`, 3)
	got := exchange(t, c, `{"type":"transcript","client_id":"tr1","email":"ana@example.org"}`, 2)
	if got[0]["type"] != "ack" || got[1]["kind"] != "transcript_sent" || got[0]["seq"] != got[1]["seq"] {
		t.Fatalf("transcript frame answered %v, want an ack and the note", got)
	}
	transcript, text := box.next("the transcript")
	subject, _ := new(mime.WordDecoder).DecodeHeader(transcript.Header.Get("Subject"))
	rt, err := mail.ParseAddress(transcript.Header.Get("Reply-To"))
	if err != nil {
		t.Fatal(err)
	}
	if subject != "Transcription de votre conversation" || !strings.HasPrefix(rt.Address, "reply+") ||
		!strings.HasSuffix(rt.Address, "@reply.example.com") || !strings.Contains(text, "Vous : comment réinitialiser mon mot de passe ?") ||
		!strings.Contains(text, "Assistant : ") {
		t.Fatalf("transcript: %q, Reply-To %q\n%s", subject, rt.Address, text)
	}

	// The visitor answers the transcript, with a screenshot.
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0}, 40)...)
	reply := "From: Ana <ana@example.org>\r\nTo: " + rt.Address + "\r\nMessage-ID: <r1@mail.example.org>\r\n" +
		"In-Reply-To: " + transcript.Header.Get("Message-Id") + "\r\nSubject: Re: " + subject + "\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLe lien n'arrive toujours pas, voici l'écran.\r\n" +
		"--b1\r\nContent-Type: image/png; name=ecran.png\r\nContent-Disposition: attachment; filename=ecran.png\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(png) + "\r\n--b1--\r\n"
	if err := smtp.SendMail(m.InboundAddr(), nil, "ana@example.org", []string{rt.Address}, []byte(reply)); err != nil {
		t.Fatal(err)
	}
	confirm, _ := box.next("the new ticket's confirmation")
	csubject, _ := new(mime.WordDecoder).DecodeHeader(confirm.Header.Get("Subject"))
	ref := regexp.MustCompile(`\[#([A-Z0-9-]+)\]`).FindStringSubmatch(csubject)
	if ref == nil || confirm.Header.Get("In-Reply-To") != "<r1@mail.example.org>" || !strings.Contains(confirm.Header.Get("To"), "ana@example.org") {
		t.Fatalf("confirmation of the ticket the reply opened: %v", confirm.Header)
	}

	// An agent lists the ticket's files and downloads the screenshot.
	_, token, err := m.store.AddAgent(context.Background(), "lea@help.example.com", "Lea")
	if err != nil {
		t.Fatal(err)
	}
	call := func(path, bearer string, jar http.CookieJar) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", m.URL()+path, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := (&http.Client{Jar: jar}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, body := call("/api/agent/tickets/"+ref[1]+"/attachments", token, nil)
	var files struct {
		Attachments []struct {
			ID  int64  `json:"id"`
			URL string `json:"url"`
		} `json:"attachments"`
	}
	json.Unmarshal([]byte(body), &files)
	if res.StatusCode != 200 || len(files.Attachments) != 1 {
		t.Fatalf("ticket files: %d %s", res.StatusCode, body)
	}
	fileURL := files.Attachments[0].URL
	if res, body := call(fileURL, token, nil); res.StatusCode != 200 || body != string(png) ||
		res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Content-Security-Policy") != "default-src 'none'; sandbox" ||
		res.Header.Get("Content-Disposition") != `attachment; filename="ecran.png"; filename*=UTF-8''ecran.png` {
		t.Errorf("agent download: %d %v", res.StatusCode, res.Header)
	}
	if res, _ := call(fileURL, "", nil); res.StatusCode != 401 {
		t.Errorf("download without an agent token: %d, want 401", res.StatusCode)
	}

	// "My requests": the link comes by mail, and opens Ana's requests only.
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	formPage := func(path string) string {
		t.Helper()
		_, body := call(path, "", jar)
		m := csrf.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no form at %s: %s", path, body)
		}
		return m[1]
	}
	res, err = hc.PostForm(m.URL()+"/requests?lang=fr", url.Values{"csrf": {formPage("/requests?lang=fr")}, "email": {"ana@example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	_, linkText := box.next("the sign-in link")
	link := regexp.MustCompile(`http://\S+/requests/login\?t=(\S+)`).FindStringSubmatch(linkText)
	if link == nil {
		t.Fatalf("no link in:\n%s", linkText)
	}
	res, err = hc.PostForm(m.URL()+"/requests/login", url.Values{"csrf": {formPage("/requests/login?t=" + link[1])}, "t": {link[1]}})
	if err != nil {
		t.Fatal(err)
	}
	list, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(list), "#"+ref[1]) || !strings.Contains(string(list), "ecran.png") ||
		!strings.Contains(string(list), "Le lien n&#39;arrive toujours pas") {
		t.Fatalf("My requests: %d\n%s", res.StatusCode, list)
	}
	id := strconv.FormatInt(files.Attachments[0].ID, 10)
	if res, body := call("/requests/attachments/"+id, "", jar); res.StatusCode != 200 || body != string(png) {
		t.Errorf("own file from My requests: %d", res.StatusCode)
	}
	if res, _ := call("/requests/attachments/"+id, "", nil); res.StatusCode != 404 {
		t.Errorf("the file without a session: %d, want 404", res.StatusCode)
	}
}
