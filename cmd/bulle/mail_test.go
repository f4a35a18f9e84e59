package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/bulle-help/bulle/escalation"
)

// runMailMain runs the whole server, as mustRunMain does, after change
// has adjusted it.
func runMailMain(t *testing.T, change func(m *Main)) *Main {
	t.Helper()
	m := NewMain()
	m.Config.Addr = "127.0.0.1:0"
	m.Config.DataDir = filepath.Join(t.TempDir(), "data")
	m.Config.ArticlesDir = writeArticles(t, testArticles)
	m.Getenv = noEnv
	m.Stderr = t.Output()
	change(m)
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return m
}

func testOutboxMail() escalation.Mail {
	return escalation.Mail{MessageID: escalation.NewMessageID("help.example.com"), Kind: "confirmation",
		From: "Bulle <no-reply@help.example.com>", To: "ana@example.com",
		Subject: "We received your request <b>", Text: "Hello Ana."}
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(body)
}

func TestServeWithoutSMTPKeepsMailOnTheLocalDevPage(t *testing.T) {
	m := runMailMain(t, func(*Main) {})
	if _, err := m.store.QueueMail(context.Background(), testOutboxMail()); err != nil {
		t.Fatal(err)
	}
	code, h, body := get(t, m.URL()+"/dev/mail")
	if code != 200 || !strings.Contains(body, "We received your request &lt;b&gt;") || !strings.Contains(body, "queued") {
		t.Errorf("GET /dev/mail: got %d %s, want 200 listing the queued mail, escaped", code, body)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP: got %q, want the page's own, with default-src 'none'", csp)
	}
	if code, _, body := get(t, m.URL()+"/dev/mail/1"); code != 200 || !strings.Contains(body, "Hello Ana.") {
		t.Errorf("GET /dev/mail/1: got %d %s, want the mail", code, body)
	}
	if code, _, _ := get(t, m.URL()+"/dev/mail/2"); code != 404 {
		t.Errorf("GET /dev/mail/2: got %d, want 404", code)
	}
}

// recorder is an SMTP server on loopback standing in for the provider.
type recorder struct {
	mu   sync.Mutex
	msgs [][]byte
	got  chan struct{}
}

func startRecorder(t *testing.T) (*recorder, string) {
	r := &recorder{got: make(chan struct{}, 100)}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) { return &recorderSession{r: r}, nil }))
	srv.Domain = "provider.test"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return r, l.Addr().String()
}

type recorderSession struct{ r *recorder }

func (s *recorderSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (s *recorderSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (s *recorderSession) Reset()                                 {}
func (s *recorderSession) Logout() error                          { return nil }
func (s *recorderSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	s.r.msgs = append(s.r.msgs, b)
	s.r.mu.Unlock()
	s.r.got <- struct{}{}
	return nil
}

func TestServeWithSMTPSendsTheOutboxAndHidesTheDevPage(t *testing.T) {
	rec, addr := startRecorder(t)
	host, port, _ := net.SplitHostPort(addr)
	m := runMailMain(t, func(m *Main) {
		m.Config.SMTP.Host = host
		m.Config.SMTP.Port, _ = strconv.Atoi(port)
		m.Config.SMTP.TLS = escalation.TLSNone
		m.Config.SMTP.From = "Bulle <no-reply@help.example.com>"
	})
	mail := testOutboxMail()
	if _, err := m.store.QueueMail(context.Background(), mail); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rec.got:
	case <-time.After(10 * time.Second):
		t.Fatal("the mail never reached the SMTP server")
	}
	if !bytes.Contains(rec.msgs[0], []byte("Message-ID: "+mail.MessageID)) {
		t.Errorf("got %s, want the queued mail", rec.msgs[0])
	}
	if code, _, _ := get(t, m.URL()+"/dev/mail"); code != 404 {
		t.Errorf("GET /dev/mail with SMTP configured: got %d, want 404", code)
	}
}

// TestTicketByEmailEndToEnd follows one request through real sockets: the
// bubble opens a ticket, the confirmation reaches the provider, an agent
// answers through the agents' API, the visitor replies by email to the
// address the mails carry, the reply lands on the ticket, and a forged
// address lands nowhere.
func TestTicketByEmailEndToEnd(t *testing.T) {
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
	ctx := context.Background()
	waitMail := func(what string) *mail.Message {
		t.Helper()
		select {
		case <-rec.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s never reached the SMTP server", what)
		}
		rec.mu.Lock()
		raw := rec.msgs[len(rec.msgs)-1]
		rec.mu.Unlock()
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, raw)
		}
		return msg
	}

	// The bubble: a question, then the email form.
	c, _, err := dialBubble(t, m, "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	exchange(t, c, `{"type":"hello","lang":"fr"}`, 1)
	exchange(t, c, `{"type":"message","client_id":"q1","text":"comment réinitialiser mon mot de passe ?"}`, 3)
	got := exchange(t, c, `{"type":"ticket","client_id":"t1","topic":"account","email":"ana@example.org","name":"Ana","text":"Le lien n'arrive pas."}`, 3)
	ref, _ := got[2]["ticket"].(string)
	if ref == "" {
		t.Fatalf("no ticket reference in %v", got)
	}

	confirm := waitMail("the confirmation")
	rt, err := mail.ParseAddress(confirm.Header.Get("Reply-To"))
	if err != nil {
		t.Fatal(err)
	}
	replyTo := rt.Address
	subject, _ := new(mime.WordDecoder).DecodeHeader(confirm.Header.Get("Subject"))
	if !strings.HasPrefix(replyTo, "reply+") || !strings.HasSuffix(replyTo, "@reply.example.com") ||
		!strings.Contains(subject, ref) || !strings.Contains(confirm.Header.Get("To"), "ana@example.org") {
		t.Fatalf("confirmation headers: %v", confirm.Header)
	}

	// An agent answers through the API.
	_, token, err := m.store.AddAgent(ctx, "lea@help.example.com", "Lea")
	if err != nil {
		t.Fatal(err)
	}
	api := func(method, path, body, bearer string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, m.URL()+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, _ := api("POST", "/api/agent/tickets/"+ref+"/replies", `{"text":"Voici un nouveau lien."}`, "forged"); code != 401 {
		t.Errorf("reply with a forged agent token: %d, want 401", code)
	}
	if code, body := api("POST", "/api/agent/tickets/"+ref+"/replies", `{"text":"Voici un nouveau lien."}`, token); code != 201 {
		t.Fatalf("agent reply: %d %s", code, body)
	}
	answer := waitMail("the agent's reply")
	if answer.Header.Get("In-Reply-To") != confirm.Header.Get("Message-Id") || !strings.Contains(answer.Header.Get("Reply-To"), replyTo) {
		t.Errorf("agent reply not threaded: In-Reply-To %q, Reply-To %q", answer.Header.Get("In-Reply-To"), answer.Header.Get("Reply-To"))
	}

	// The visitor replies by email, quoting the answer.
	reply := "From: Ana <ana@example.org>\r\nTo: " + replyTo + "\r\nMessage-ID: <r1@mail.example.org>\r\n" +
		"In-Reply-To: " + answer.Header.Get("Message-Id") + "\r\nSubject: Re: [#" + ref + "]\r\n\r\n" +
		"Merci, ça marche !\r\n\r\nLe lundi, Lea a écrit :\r\n> Voici un nouveau lien.\r\n"
	if err := smtp.SendMail(m.InboundAddr(), nil, "ana@example.org", []string{replyTo}, []byte(reply)); err != nil {
		t.Fatal(err)
	}
	code, body := api("GET", "/api/agent/tickets/"+ref, "", token)
	if code != 200 || !strings.Contains(body, `"kind":"email","body":"Merci, ça marche !"`) {
		t.Fatalf("ticket after the visitor's reply: %d %s", code, body)
	}

	// A forged reply address lands nowhere.
	var te *textproto.Error
	forged := "reply+aaaaaaaaaaaaaaaaaaaaaaaaaaaaa@reply.example.com"
	if err := smtp.SendMail(m.InboundAddr(), nil, "eve@evil.test", []string{forged}, []byte("Subject: x\r\n\r\nhi\r\n")); !errors.As(err, &te) || te.Code/100 != 5 {
		t.Errorf("forged token: %v, want a permanent refusal", err)
	}
	if _, after := api("GET", "/api/agent/tickets/"+ref, "", token); strings.Count(after, `"kind":"email"`) != 1 {
		t.Errorf("the forged mail changed the ticket: %s", after)
	}
}

func TestReplyKeyIsCreatedOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	first, err := loadReplyTokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, replyKeyFile))
	if err != nil || info.Mode().Perm() != 0o600 || info.Size() != 32 {
		t.Fatalf("key file: got %v, %v; want 32 bytes readable by the owner only", info, err)
	}
	again, err := loadReplyTokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := again.Parse(first.Make(9)); !ok || id != 9 {
		t.Error("after a restart: a token made before does not parse; want the same key")
	}
}

func TestRunFailsWhenTheInboundPortIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	m := NewMain()
	m.Config.Addr = "127.0.0.1:0"
	m.Config.DataDir = filepath.Join(t.TempDir(), "data")
	m.Config.ArticlesDir = writeArticles(t, testArticles)
	m.Config.SMTP.InboundAddr = taken.Addr().String()
	m.Config.SMTP.ReplyDomain = "reply.example.com"
	m.Getenv, m.Stderr = noEnv, t.Output()
	err = m.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "inbound mail") {
		t.Errorf("Run: got %v, want an inbound mail listen error", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("Close after a failed Run: %v", err)
	}
}
