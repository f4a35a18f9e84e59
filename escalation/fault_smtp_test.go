package escalation

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Fault 2 of issue 15: the SMTP server is down for a while (nothing
// listens: connection refused), then answers 4xx at each step of the
// session, accepts some mail, goes down again, and comes back. Every
// queued mail arrives exactly once: one message per outbox row, each
// Message-ID once.

// faultVerdict is what the fault provider does with one SMTP session.
type faultVerdict int

const (
	faultAccept faultVerdict = iota
	faultEHLO                // 451 to EHLO: the session is refused
	faultMail                // 451 to MAIL FROM
	faultRcpt                // 450 to RCPT TO: mailbox busy
	faultData                // 451 after the whole message: not kept
	faultDown                // 451 to EHLO, then the provider is shut down
)

// faultProvider is a real go-smtp server on loopback that plays a script
// of verdicts, one per session, then accepts everything. It counts only
// the messages it accepted with a 250.
type faultProvider struct {
	srv  *smtp.Server
	down chan struct{} // closed when a faultDown verdict is played

	mu       sync.Mutex
	closing  bool // after faultDown, every session is refused until Close
	script   []faultVerdict
	refused  map[faultVerdict]int
	accepted [][]byte
	arrived  chan struct{} // one value per accepted message
}

func newFaultProvider(t *testing.T, addr string, script []faultVerdict, arrived chan struct{}) *faultProvider {
	t.Helper()
	p := &faultProvider{script: script, refused: map[faultVerdict]int{}, arrived: arrived, down: make(chan struct{})}
	p.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		v := faultAccept
		if len(p.script) > 0 {
			v, p.script = p.script[0], p.script[1:]
		}
		if p.closing {
			// Going down: no session may reach DATA, or the shutdown
			// could cut one between its message and the 250.
			return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Shutting down"}
		}
		switch v {
		case faultEHLO:
			p.refused[v]++
			return nil, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Busy, try later"}
		case faultDown:
			p.refused[v]++
			p.closing = true
			close(p.down)
			return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Shutting down"}
		}
		return &faultSession{p: p, verdict: v}, nil
	}))
	p.srv.Domain = "provider.test"
	p.srv.ErrorLog = discardLogger{}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go p.srv.Serve(l)
	t.Cleanup(func() { p.srv.Close() })
	return p
}

func (p *faultProvider) refusal(v faultVerdict) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refused[v]++
}

func (p *faultProvider) scriptLeft() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.script)
}

type faultSession struct {
	p       *faultProvider
	verdict faultVerdict
}

func (s *faultSession) Mail(string, *smtp.MailOptions) error {
	if s.verdict == faultMail {
		s.p.refusal(faultMail)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Local error, try later"}
	}
	return nil
}

func (s *faultSession) Rcpt(string, *smtp.RcptOptions) error {
	if s.verdict == faultRcpt {
		s.p.refusal(faultRcpt)
		return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "Mailbox busy"}
	}
	return nil
}

func (s *faultSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.verdict == faultData {
		s.p.refusal(faultData)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Queue full, try later"}
	}
	s.p.mu.Lock()
	s.p.accepted = append(s.p.accepted, data)
	s.p.mu.Unlock()
	s.p.arrived <- struct{}{}
	return nil
}

func (s *faultSession) Reset()        {}
func (s *faultSession) Logout() error { return nil }

// connectFailures counts the attempts on the outbox that found nobody
// listening: the sender records each one as the mail's last error.
func connectFailures(t *testing.T, store *Store, ids []int64) (attempts, refused int) {
	t.Helper()
	for _, id := range ids {
		m := outboxMail(t, store, id)
		attempts += m.Attempts
		if strings.Contains(m.LastError, "smtp connect") && strings.Contains(m.LastError, "refused") {
			refused++
		}
	}
	return attempts, refused
}

// eventually polls cond every 10 ms for up to 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: timed out", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFaultSMTPDownThenBackEveryMailArrivesOnce(t *testing.T) {
	t.Parallel() // it mostly waits on the sender
	// The provider's port, with nothing listening on it yet.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	store := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := NewSender(store, SenderOptions{Addr: addr, TLS: TLSNone,
		// Short backoffs (though the sender never sleeps under a second
		// between passes), and enough attempts that none is given up.
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, MaxAttempts: 100000,
		SendTimeout: 10 * time.Second, Lease: 30 * time.Second, PollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	running := make(chan error, 1)
	go func() { running <- s.Run(ctx) }()

	var (
		mu  sync.Mutex
		ids []int64
	)
	queueSome := func(from, n int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := from; i < from+n; i++ {
			wg.Add(1)
			go func() { // mail is queued by many requests at once
				defer wg.Done()
				id, err := store.QueueMail(context.Background(), testMail(i))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("queue mail while SMTP is down: %v", err)
		}
	}
	allIDs := func() []int64 {
		mu.Lock()
		defer mu.Unlock()
		return append([]int64(nil), ids...)
	}

	// 1. Nothing listens: every attempt is refused at connect.
	queueSome(0, 20)
	eventually(t, "connection refused, several times", func() bool {
		attempts, refused := connectFailures(t, store, allIDs())
		return attempts >= 2 && refused >= 1
	})

	// 2. The provider answers, but refuses each step of the session in
	// turn with a 4xx, accepts a few, and goes down again.
	arrived := make(chan struct{}, 1000)
	script := []faultVerdict{faultEHLO, faultMail, faultRcpt, faultRcpt, faultData, faultData,
		faultAccept, faultAccept, faultAccept, faultAccept, faultAccept, faultDown}
	p := newFaultProvider(t, addr, script, arrived)
	queueSome(20, 10) // more mail while it refuses
	select {
	case <-p.down:
	case <-time.After(20 * time.Second):
		t.Fatalf("the provider's script never reached its outage; %d verdicts left", p.scriptLeft())
	}
	// Every session is refused from now on: none is cut mid-message.
	p.srv.Close()
	before, _ := connectFailures(t, store, allIDs())
	eventually(t, "connection refused again", func() bool {
		attempts, _ := connectFailures(t, store, allIDs())
		return attempts >= before+2
	})

	// 3. Back for good, after one more refusal.
	p2 := newFaultProvider(t, addr, []faultVerdict{faultEHLO}, arrived)
	queueSome(30, 5)
	total := len(allIDs())
	received := func() int {
		p.mu.Lock()
		n := len(p.accepted)
		p.mu.Unlock()
		p2.mu.Lock()
		defer p2.mu.Unlock()
		return n + len(p2.accepted)
	}
	eventually(t, "every mail accepted", func() bool { return received() >= total })
	eventually(t, "every mail marked sent", func() bool {
		for _, id := range allIDs() {
			if outboxMail(t, store, id).SentAt.IsZero() {
				return false
			}
		}
		return true
	})
	cancel()
	if err := <-running; err != nil {
		t.Fatal(err)
	}

	// Exactly once: one accepted message per row, each Message-ID once,
	// and the same bytes every attempt would have sent.
	p.mu.Lock()
	msgs := append([][]byte(nil), p.accepted...)
	refusedBefore := p.refused
	p.mu.Unlock()
	p2.mu.Lock()
	msgs = append(msgs, p2.accepted...)
	refusedAfter := p2.refused[faultEHLO]
	p2.mu.Unlock()
	if len(msgs) != total {
		t.Errorf("messages accepted: got %d, want %d, one per queued mail", len(msgs), total)
	}
	got := map[string]int{}
	for _, data := range msgs {
		m, err := mail.ReadMessage(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		got[m.Header.Get("Message-Id")]++
	}
	for _, id := range allIDs() {
		m := outboxMail(t, store, id)
		if got[m.MessageID] != 1 {
			t.Errorf("mail %d (%s): arrived %d times, want once", id, m.MessageID, got[m.MessageID])
		}
		if m.Status(time.Now()) != MailSent || !m.FailedAt.IsZero() {
			t.Errorf("mail %d: %s, failed at %v; want sent", id, m.Status(time.Now()), m.FailedAt)
		}
		delete(got, m.MessageID)
	}
	if len(got) != 0 {
		t.Errorf("messages for no outbox row: %v", got)
	}
	want := map[faultVerdict]int{faultEHLO: 1, faultMail: 1, faultRcpt: 2, faultData: 2, faultDown: 1}
	for v, n := range want {
		if refusedBefore[v] != n {
			t.Errorf("refusals of kind %d: got %d, want %d (the script was played)", v, refusedBefore[v], n)
		}
	}
	if refusedAfter != 1 {
		t.Errorf("refusals after the second outage: got %d, want 1", refusedAfter)
	}
	if t.Failed() {
		for _, id := range allIDs() {
			m := outboxMail(t, store, id)
			t.Logf("mail %d: attempts %d, last error %q", id, m.Attempts, m.LastError)
		}
	}
}
