package escalation

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock drives a Sender's time: the sender asks it for a timer when it
// goes to sleep, and the test decides when that timer fires.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits chan fakeWait // buffered: asking never blocks the sender
}

type fakeWait struct {
	d    time.Duration
	fire chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC), waits: make(chan fakeWait, 100)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	w := fakeWait{d: d, fire: make(chan time.Time, 1)}
	c.waits <- w
	return w.fire
}

// sleeping waits until the sender has finished its pass and asks to sleep.
func (c *fakeClock) sleeping(t *testing.T) fakeWait {
	t.Helper()
	select {
	case w := <-c.waits:
		return w
	case <-time.After(10 * time.Second):
		t.Fatal("the sender never went to sleep")
	}
	return fakeWait{}
}

// wake moves the clock by the wait's duration and fires it.
func (c *fakeClock) wake(w fakeWait) {
	c.mu.Lock()
	c.now = c.now.Add(w.d)
	now := c.now
	c.mu.Unlock()
	w.fire <- now
}

// runSender runs a sender until the test ends.
func runSender(t *testing.T, store *Store, opt SenderOptions) *Sender {
	t.Helper()
	s, err := NewSender(store, opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return s
}

// clockedStore opens a store whose time is clock's.
func clockedStore(t *testing.T, clock *fakeClock) *Store {
	store := openTest(t)
	store.Now = clock.Now
	return store
}

func testMail(n int) Mail {
	return Mail{
		MessageID: NewMessageID("help.example.com"),
		Kind:      "confirmation",
		From:      "Bulle <no-reply@help.example.com>",
		To:        fmt.Sprintf("visitor%d@example.com", n),
		Subject:   fmt.Sprintf("Request %d received", n),
		Text:      fmt.Sprintf("We received your request %d.", n),
	}
}

func queue(t *testing.T, store *Store, m Mail) int64 {
	t.Helper()
	id, err := store.QueueMail(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func outboxMail(t *testing.T, store *Store, id int64) OutboxMail {
	t.Helper()
	m, err := store.OutboxMail(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// messageIDs counts the Message-IDs the provider received.
func messageIDs(t *testing.T, msgs []receivedMail) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for _, r := range msgs {
		m, err := mail.ReadMessage(bytes.NewReader(r.data))
		if err != nil {
			t.Fatal(err)
		}
		ids[m.Header.Get("Message-Id")]++
	}
	return ids
}

func TestSenderDeliversAThreadedUTF8MultipartMail(t *testing.T) {
	p := startProvider(t)
	store := openTest(t)
	runSender(t, store, SenderOptions{Addr: p.addr, TLS: TLSNone, PollInterval: time.Hour})

	want := Mail{
		MessageID:  "<reply-2@help.example.com>",
		Kind:       "agent_reply",
		From:       "Équipe Bulle <no-reply@help.example.com>",
		To:         "Zoé Dupont <zoe@example.com>",
		ReplyTo:    "Bulle <reply+abc@help.example.com>",
		InReplyTo:  "<visitor-1@mail.example.com>",
		References: []string{"<ticket-1@help.example.com>", "<visitor-1@mail.example.com>"},
		Subject:    "Re: Votre demande n°42 — réinitialisation du mot de passe",
		Text:       "Bonjour Zoé,\n\nVoici le lien : https://help.example.com/fr/account/reset-password\n\nÀ bientôt",
		HTML:       "<p>Bonjour Zoé,</p><p>Voici le <a href=\"https://help.example.com/fr/account/reset-password\">lien</a>.</p>",
	}
	queue(t, store, want) // the queue wakes the sender, which polls only hourly
	got := p.waitFor(1)[0]

	if got.from != "no-reply@help.example.com" || len(got.to) != 1 || got.to[0] != "zoe@example.com" {
		t.Errorf("envelope: got %s -> %v, want no-reply@help.example.com -> [zoe@example.com]", got.from, got.to)
	}
	if bytes.Contains(bytes.ReplaceAll(got.data, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("message: got a bare LF, want CRLF line endings only")
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got.data))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	for header, wantValue := range map[string]string{
		"Subject":     want.Subject,
		"Message-Id":  want.MessageID,
		"In-Reply-To": want.InReplyTo,
		"References":  strings.Join(want.References, " "),
	} {
		v, err := dec.DecodeHeader(msg.Header.Get(header))
		if err != nil || v != wantValue {
			t.Errorf("%s: got %q (%v), want %q", header, v, err, wantValue)
		}
	}
	for header, wantAddr := range map[string]string{"From": want.From, "To": want.To, "Reply-To": want.ReplyTo} {
		a, err := (&mail.AddressParser{WordDecoder: dec}).Parse(msg.Header.Get(header))
		w, _ := mail.ParseAddress(wantAddr)
		if err != nil || a.Name != w.Name || a.Address != w.Address {
			t.Errorf("%s: got %v (%v), want %v", header, a, err, w)
		}
	}
	if !isASCII(msg.Header.Get("Subject")) || !isASCII(msg.Header.Get("From")) {
		t.Errorf("headers: got non-ASCII on the wire (%q, %q), want RFC 2047 encoded-words",
			msg.Header.Get("Subject"), msg.Header.Get("From"))
	}
	if d, err := msg.Header.Date(); err != nil || d.IsZero() {
		t.Errorf("Date: got %v, %v; want a date", d, err)
	}
	if msg.Header.Get("MIME-Version") != "1.0" || msg.Header.Get("Auto-Submitted") != "" {
		t.Errorf("MIME-Version %q, Auto-Submitted %q: want 1.0 and none for an agent's reply",
			msg.Header.Get("MIME-Version"), msg.Header.Get("Auto-Submitted"))
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type: got %q, want multipart/alternative", msg.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for _, part := range []struct{ ctype, body string }{{"text/plain", want.Text}, {"text/html", want.HTML}} {
		p, err := mr.NextRawPart()
		if err != nil {
			t.Fatalf("%s part: %v", part.ctype, err)
		}
		if ct := p.Header.Get("Content-Type"); ct != part.ctype+"; charset=utf-8" {
			t.Errorf("part type: got %q, want %s; charset=utf-8", ct, part.ctype)
		}
		body, _ := io.ReadAll(quotedprintable.NewReader(p))
		if got := strings.ReplaceAll(string(body), "\r\n", "\n"); got != part.body {
			t.Errorf("%s body: got %q, want %q", part.ctype, got, part.body)
		}
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("parts: got a third part or %v, want two", err)
	}
}

func TestSenderWakesWhenMailIsQueued(t *testing.T) {
	p := startProvider(t)
	clock := newFakeClock()
	store := clockedStore(t, clock)
	runSender(t, store, SenderOptions{Addr: p.addr, TLS: TLSNone, After: clock.After})
	if w := clock.sleeping(t); w.d != DefaultPollInterval {
		t.Fatalf("empty outbox: got a sleep of %v, want the poll interval %v", w.d, DefaultPollInterval)
	}
	// The timer never fires: only the store's poke can wake the sender.
	queue(t, store, testMail(1))
	p.waitFor(1)
}

func TestSenderRetriesWithBackoffUntilTheProviderAccepts(t *testing.T) {
	// The provider's port is reserved but nothing listens on it yet.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	clock := newFakeClock()
	store := clockedStore(t, clock)
	var ids []int64
	for i := range 3 {
		ids = append(ids, queue(t, store, testMail(i)))
	}
	<-store.MailQueued()
	t0 := clock.Now()
	runSender(t, store, SenderOptions{Addr: addr, TLS: TLSNone, After: clock.After, Jitter: func() float64 { return 0.5 },
		PollInterval: 24 * time.Hour})

	// 1. Connection refused: the first mail is rescheduled 30 s later, and
	// the others wait as long instead of dialling a dead server each.
	w := clock.sleeping(t)
	if w.d != 30*time.Second {
		t.Errorf("after a refused connection: got a sleep of %v, want 30s", w.d)
	}
	m := outboxMail(t, store, ids[0])
	if m.Attempts != 1 || !m.NextAttemptAt.Equal(t0.Add(30*time.Second)) || !strings.Contains(m.LastError, "connect") {
		t.Errorf("first mail: got attempts %d, next %v, error %q; want 1, t0+30s, a connect error",
			m.Attempts, m.NextAttemptAt.Sub(t0), m.LastError)
	}
	for _, id := range ids[1:] {
		if m := outboxMail(t, store, id); m.Attempts != 0 {
			t.Errorf("mail %d: got %d attempts while the server was down, want 0", id, m.Attempts)
		}
	}

	// 2. The provider starts, but answers the first two DATA with 451.
	p := newProvider(t)
	p.failData = 2
	p.listen(addr)
	clock.wake(w)
	w = clock.sleeping(t)
	if got := len(p.messages()); got != 1 {
		t.Errorf("after the second pass: got %d messages, want 1 (two refused with 451)", got)
	}
	if w.d != 30*time.Second {
		t.Errorf("after two 451: got a sleep of %v, want 30s until their retry", w.d)
	}

	// 3. The retries go through.
	clock.wake(w)
	w = clock.sleeping(t)
	if w.d != 24*time.Hour {
		t.Errorf("empty queue: got a sleep of %v, want the poll interval", w.d)
	}
	clock.wake(w) // a further pass sends nothing again
	clock.sleeping(t)

	msgs := p.messages()
	counts := messageIDs(t, msgs)
	if len(msgs) != 3 || len(counts) != 3 {
		t.Errorf("got %d messages with %d Message-IDs, want 3 and 3", len(msgs), len(counts))
	}
	for _, id := range ids {
		m := outboxMail(t, store, id)
		if counts[m.MessageID] != 1 {
			t.Errorf("mail %d: received %d times, want once", id, counts[m.MessageID])
		}
		if m.SentAt.IsZero() || m.Attempts != 2 || m.Status(clock.Now()) != MailSent {
			t.Errorf("mail %d: got sent at %v after %d attempts (%s), want sent after 2", id, m.SentAt, m.Attempts, m.Status(clock.Now()))
		}
	}
	if p.dataCalls != 5 {
		t.Errorf("DATA commands: got %d, want 5 (2 refused, 3 accepted)", p.dataCalls)
	}
}

func TestSenderBackoffDoublesFrom30sTo1h(t *testing.T) {
	for _, tt := range []struct {
		attempts int
		jitter   float64
		want     time.Duration
	}{
		{1, 0.5, 30 * time.Second},
		{2, 0.5, time.Minute},
		{3, 0.5, 2 * time.Minute},
		{7, 0.5, 32 * time.Minute},
		{8, 0.5, time.Hour},
		{50, 0.5, time.Hour},
		{1, 0, 24 * time.Second},
		{50, 0.999999, 72 * time.Minute},
	} {
		s, err := NewSender(nil, SenderOptions{Addr: "127.0.0.1:25", Jitter: func() float64 { return tt.jitter }})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.backoff(tt.attempts); got.Round(time.Second) != tt.want {
			t.Errorf("after %d attempts with jitter %v: got %v, want %v", tt.attempts, tt.jitter, got, tt.want)
		}
	}
}

func TestSenderFlagsAPermanentRefusalFailedAndKeepsIt(t *testing.T) {
	p := startProvider(t)
	p.rcptCode = 550
	clock := newFakeClock()
	store := clockedStore(t, clock)
	id := queue(t, store, testMail(1))
	<-store.MailQueued()
	runSender(t, store, SenderOptions{Addr: p.addr, TLS: TLSNone, After: clock.After})
	clock.wake(clock.sleeping(t))
	clock.sleeping(t)

	m := outboxMail(t, store, id)
	if m.Status(clock.Now()) != MailFailed || m.Attempts != 1 || !strings.Contains(m.LastError, "550") {
		t.Errorf("got %s after %d attempts, error %q; want failed after 1 with the 550", m.Status(clock.Now()), m.Attempts, m.LastError)
	}
	// Kept, and tried again only when someone asks.
	p.mu.Lock()
	p.rcptCode = 0
	p.mu.Unlock()
	if err := store.RetryMail(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	p.waitFor(1)
	if err := store.RetryMail(context.Background(), id); ErrorCode(err) != ECONFLICT {
		t.Errorf("retry of a sent mail: got %v, want a conflict", err)
	}
}

func TestSenderGivesUpAfterMaxAttempts(t *testing.T) {
	p := startProvider(t)
	p.failData = 1000
	clock := newFakeClock()
	store := clockedStore(t, clock)
	id := queue(t, store, testMail(1))
	<-store.MailQueued()
	runSender(t, store, SenderOptions{Addr: p.addr, TLS: TLSNone, After: clock.After, MaxAttempts: 3})
	for range 4 {
		clock.wake(clock.sleeping(t))
	}
	clock.sleeping(t)
	m := outboxMail(t, store, id)
	if m.Status(clock.Now()) != MailFailed || m.Attempts != 3 || p.dataCalls != 3 {
		t.Errorf("got %s after %d attempts and %d DATA, want failed after 3", m.Status(clock.Now()), m.Attempts, p.dataCalls)
	}
}

func TestMailOfACrashedWorkerIsSentWhenItsLeaseEnds(t *testing.T) {
	p := startProvider(t)
	clock := newFakeClock()
	store := clockedStore(t, clock)
	id := queue(t, store, testMail(1))
	<-store.MailQueued()
	// A worker claims the mail and dies before sending it.
	if _, ok, err := store.claimDueMail(context.Background(), "dead-worker", DefaultLease); err != nil || !ok {
		t.Fatalf("claim: %v, %v", ok, err)
	}
	if st := outboxMail(t, store, id).Status(clock.Now()); st != MailSending {
		t.Errorf("leased mail: got %s, want sending", st)
	}
	runSender(t, store, SenderOptions{Addr: p.addr, TLS: TLSNone, After: clock.After, PollInterval: 24 * time.Hour})
	w := clock.sleeping(t)
	if w.d != DefaultLease || len(p.messages()) != 0 {
		t.Fatalf("while leased: got a sleep of %v and %d messages, want %v and none", w.d, len(p.messages()), DefaultLease)
	}
	clock.wake(w)
	p.waitFor(1)
	clock.sleeping(t)
	if m := outboxMail(t, store, id); m.Attempts != 2 || m.SentAt.IsZero() {
		t.Errorf("got %d attempts, sent at %v; want 2 (the dead one counted) and sent", m.Attempts, m.SentAt)
	}
}

func TestTwoSendersNeverSendTheSameMail(t *testing.T) {
	p := startProvider(t)
	p.delay = 5 * time.Millisecond // let the two overlap
	store := openTest(t)
	const n = 30
	for i := range n {
		queue(t, store, testMail(i))
	}
	runSender(t, store, SenderOptions{Addr: p.addr, TLS: TLSNone, PollInterval: 50 * time.Millisecond})
	runSender(t, store, SenderOptions{Addr: p.addr, TLS: TLSNone, PollInterval: 50 * time.Millisecond})
	msgs := p.waitFor(n)
	time.Sleep(200 * time.Millisecond) // a duplicate would arrive now
	for id, c := range messageIDs(t, p.messages()) {
		if c != 1 {
			t.Errorf("%s: received %d times, want once", id, c)
		}
	}
	if len(p.messages()) != n {
		t.Errorf("got %d messages, want %d", len(msgs), n)
	}
}

func TestSenderUsesStartTLSAndAuthPlain(t *testing.T) {
	cert, pool := selfSigned(t)
	p := newProvider(t)
	p.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	p.user, p.pass = "bulle", "s3cret"
	p.listen("127.0.0.1:0")
	store := openTest(t)
	runSender(t, store, SenderOptions{Addr: p.addr, TLS: TLSStartTLS, TLSConfig: &tls.Config{RootCAs: pool},
		Username: "bulle", Password: "s3cret"})
	queue(t, store, testMail(1))
	if got := p.waitFor(1)[0]; !got.tls {
		t.Error("got the mail in clear text, want it after STARTTLS")
	}
	if len(p.authed) != 1 || p.authed[0] != "bulle" {
		t.Errorf("AUTH: got %v, want one PLAIN login as bulle", p.authed)
	}
}

func TestSenderRefusesToSendInClearWhenStartTLSIsMissing(t *testing.T) {
	p := startProvider(t) // offers no STARTTLS
	clock := newFakeClock()
	store := clockedStore(t, clock)
	id := queue(t, store, testMail(1))
	<-store.MailQueued()
	runSender(t, store, SenderOptions{Addr: p.addr, After: clock.After}) // TLS defaults to starttls
	clock.sleeping(t)
	m := outboxMail(t, store, id)
	if len(p.messages()) != 0 || m.Status(clock.Now()) != MailQueued || !strings.Contains(m.LastError, "STARTTLS") {
		t.Errorf("got %d messages, %s, error %q; want none sent, the mail queued for a retry, a STARTTLS error",
			len(p.messages()), m.Status(clock.Now()), m.LastError)
	}
}

func TestNewSenderRefusesAPasswordInClearText(t *testing.T) {
	for _, tt := range []struct {
		name    string
		opt     SenderOptions
		wantErr bool
	}{
		{"password to a remote server without TLS", SenderOptions{Addr: "smtp.example.com:25", TLS: TLSNone, Username: "u"}, true},
		{"password to a local relay without TLS", SenderOptions{Addr: "127.0.0.1:25", TLS: TLSNone, Username: "u"}, false},
		{"password with STARTTLS", SenderOptions{Addr: "smtp.example.com:587", Username: "u"}, false},
		{"unknown TLS mode", SenderOptions{Addr: "smtp.example.com:587", TLS: "ssl"}, true},
		{"no port", SenderOptions{Addr: "smtp.example.com"}, true},
		{"lease shorter than a send", SenderOptions{Addr: "smtp.example.com:587", Lease: time.Minute}, true},
	} {
		if _, err := NewSender(nil, tt.opt); (err != nil) != tt.wantErr {
			t.Errorf("%s: got %v, want error %v", tt.name, err, tt.wantErr)
		}
	}
}

func TestQueueMailKeepsWorkingWhileSMTPIsDown(t *testing.T) {
	store := openTest(t)
	// A server that accepts the connection and never answers.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	runSender(t, store, SenderOptions{Addr: l.Addr().String(), TLS: TLSNone, SendTimeout: time.Minute})
	start := time.Now()
	for i := range 20 {
		queue(t, store, testMail(i))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("queueing 20 mails while the sender hangs took %v, want it unaffected", d)
	}
}
