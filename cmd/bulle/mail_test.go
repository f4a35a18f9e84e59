package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
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

func TestServeReceivesRepliesByEmail(t *testing.T) {
	var mu sync.Mutex
	var replies []escalation.InboundReply
	m := runMailMain(t, func(m *Main) {
		m.Config.SMTP.InboundAddr = "127.0.0.1:0"
		m.Config.SMTP.ReplyDomain = "reply.example.com"
		m.deliverReply = func(_ context.Context, r escalation.InboundReply) error {
			mu.Lock()
			defer mu.Unlock()
			if r.TicketID == 404 {
				return escalation.ErrNotFound
			}
			replies = append(replies, r)
			return nil
		}
	})
	send := func(ticket int64) error {
		to := "reply+" + m.replyTokens.Make(ticket) + "@reply.example.com"
		msg := "From: ana@example.com\r\nSubject: Re: help\r\n\r\nIt works.\r\n\r\nOn Mon, Bulle wrote:\r\n> Try this\r\n"
		return smtp.SendMail(m.InboundAddr(), nil, "ana@example.com", []string{to}, []byte(msg))
	}
	if err := send(5); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(replies) != 1 || replies[0].TicketID != 5 || replies[0].Text != "It works." {
		t.Errorf("got %+v, want one reply to ticket 5 saying It works.", replies)
	}
	mu.Unlock()
	var te *textproto.Error
	if err := send(404); !errors.As(err, &te) || te.Code != 550 {
		t.Errorf("unknown ticket: got %v, want 550", err)
	}
	if mails, _ := m.store.OutboxMails(context.Background(), 0, 10); len(mails) != 1 || mails[0].Kind != "bounce" {
		t.Errorf("outbox: got %d mails, want one bounce", len(mails))
	}
}

func TestServeRefusesRepliesWith451UntilTicketsAreWired(t *testing.T) {
	m := runMailMain(t, func(m *Main) {
		m.Config.SMTP.InboundAddr = "127.0.0.1:0"
		m.Config.SMTP.ReplyDomain = "reply.example.com"
	})
	to := "reply+" + m.replyTokens.Make(5) + "@reply.example.com"
	err := smtp.SendMail(m.InboundAddr(), nil, "ana@example.com", []string{to}, []byte("Subject: x\r\n\r\nhi\r\n"))
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != 451 {
		t.Errorf("got %v, want 451 so that the sender's server retries", err)
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
