package escalation

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"net"
	"net/mail"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLS modes of the connection to the SMTP server.
const (
	// TLSStartTLS upgrades a plain connection with STARTTLS, and refuses to
	// send (or to authenticate) when the server does not offer it. Port 587.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte. Port 465.
	TLSImplicit = "tls"
	// TLSNone sends in clear text: for a relay on the same machine.
	TLSNone = "none"
)

// minSenderWait is the shortest sleep between two passes over the outbox.
const minSenderWait = time.Second

// Sender defaults. The backoff doubles from 30 s to 1 h, so a mail is
// tried 8 times in its first 2 hours, then hourly; 100 attempts make about
// four days, the queue lifetime of common MTAs, before it is flagged failed.
const (
	DefaultMinBackoff   = 30 * time.Second
	DefaultMaxBackoff   = time.Hour
	DefaultMaxAttempts  = 100
	DefaultSendTimeout  = 2 * time.Minute
	DefaultLease        = 10 * time.Minute
	DefaultPollInterval = time.Minute
)

// SenderOptions configure a Sender. Zero values take the defaults.
type SenderOptions struct {
	Addr      string      // host:port of the SMTP server
	TLS       string      // TLSStartTLS (default), TLSImplicit or TLSNone
	TLSConfig *tls.Config // nil: the system's roots, server name from Addr
	// Username and Password, when Username is set, authenticate with AUTH
	// PLAIN, only ever over TLS or to a loopback server.
	Username, Password string
	HelloName          string // the name said in EHLO; "localhost" when empty
	Logger             *slog.Logger

	MinBackoff, MaxBackoff time.Duration // first retry delay; its cap
	// MaxAttempts is the attempts after which a mail is flagged failed,
	// kept in the outbox but no longer tried.
	MaxAttempts int
	// SendTimeout bounds one whole SMTP exchange, connection included.
	SendTimeout time.Duration
	// Lease is how long a claimed mail stays with its worker. It must be
	// well over SendTimeout: a mail whose lease ends mid-send could be
	// claimed and sent by another worker.
	Lease        time.Duration
	PollInterval time.Duration // longest sleep, to see mail queued by another process

	// After returns a channel that receives once d has passed; tests
	// replace it, with the store's Now, to drive time. time.After by default.
	After func(d time.Duration) <-chan time.Time
	// Jitter returns a number in [0, 1) that spreads retries from 0.8 to
	// 1.2 times the backoff, so a queue that failed at once does not retry
	// at once. Random by default.
	Jitter func() float64
}

// Sender sends the outbox: it claims each due mail, sends it over SMTP,
// and marks it sent, or schedules a retry with exponential backoff. Run
// one per process; several (in several processes) never send the same row.
type Sender struct {
	store   *Store
	opt     SenderOptions
	log     *slog.Logger
	leaseID string
	host    string
	dialer  net.Dialer

	smtpErrors atomic.Uint64 // failed attempts to send; see SMTPErrors
}

// SMTPErrors is how many attempts to send a mail failed since the sender
// was made, for monitoring: a session the server refused or that could
// not connect, and a mail refused for now or for good, each count once.
// An attempt cut short by shutdown does not count, nor a mail that cannot
// be rendered (it never reached SMTP).
func (s *Sender) SMTPErrors() uint64 { return s.smtpErrors.Load() }

// NewSender checks opt and returns a sender for store's outbox.
func NewSender(store *Store, opt SenderOptions) (*Sender, error) {
	host, _, err := net.SplitHostPort(opt.Addr)
	if err != nil {
		return nil, fmt.Errorf("escalation: smtp address %q: want host:port", opt.Addr)
	}
	switch opt.TLS {
	case "":
		opt.TLS = TLSStartTLS
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return nil, fmt.Errorf("escalation: smtp tls %q: want %s, %s or %s", opt.TLS, TLSStartTLS, TLSImplicit, TLSNone)
	}
	if opt.Username != "" && opt.TLS == TLSNone && !isLoopbackHost(host) {
		return nil, fmt.Errorf("escalation: smtp: will not send a password in clear text to %s; use starttls or tls", host)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opt.MinBackoff, DefaultMinBackoff)
	def(&opt.MaxBackoff, DefaultMaxBackoff)
	def(&opt.SendTimeout, DefaultSendTimeout)
	def(&opt.Lease, DefaultLease)
	def(&opt.PollInterval, DefaultPollInterval)
	if opt.Lease < 2*opt.SendTimeout {
		return nil, fmt.Errorf("escalation: smtp: lease %v must be at least twice the send timeout %v", opt.Lease, opt.SendTimeout)
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = DefaultMaxAttempts
	}
	if opt.HelloName == "" {
		opt.HelloName = "localhost"
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.After == nil {
		opt.After = time.After
	}
	if opt.Jitter == nil {
		opt.Jitter = mathrand.Float64
	}
	id := make([]byte, 8)
	rand.Read(id)
	return &Sender{store: store, opt: opt, log: opt.Logger, leaseID: hex.EncodeToString(id), host: host,
		dialer: net.Dialer{Timeout: 30 * time.Second}}, nil
}

// isLoopbackHost reports whether host names this machine.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Run sends due mail until ctx is done, waking when mail is queued
// (Store.MailQueued), when the next retry falls due, and at least every
// PollInterval. SMTP being down only delays mail: Run keeps retrying.
func (s *Sender) Run(ctx context.Context) error {
	s.log.Info("mail sender started", "smtp_addr", s.opt.Addr, "tls", s.opt.TLS)
	for {
		pause := s.sendDue(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := s.opt.PollInterval
		if next, ok, err := s.store.nextMailDue(ctx); err != nil {
			s.log.Error("mail sender: read outbox", "err", err)
		} else if ok {
			wait = min(wait, max(next.Sub(s.store.Now()), 0))
		}
		// After a failed connection the server is likely down for every
		// mail: wait out that mail's backoff before trying the others,
		// instead of dialling once per queued mail. The floor keeps a row
		// that reads as due but cannot be claimed (a time written in
		// another format) from spinning the loop; new mail still wakes it.
		wait = max(wait, pause, minSenderWait)
		timer := s.opt.After(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-s.store.MailQueued():
			if pause > 0 { // the server is down: new mail waits with the rest
				select {
				case <-ctx.Done():
					return nil
				case <-timer:
				}
			}
		case <-timer:
		}
	}
}

// sendDue sends every mail due now, one at a time. It returns a pause
// above zero when the SMTP server could not be reached or refused the
// session: the other due mails wait that long.
func (s *Sender) sendDue(ctx context.Context) (pause time.Duration) {
	for ctx.Err() == nil {
		m, ok, err := s.store.claimDueMail(ctx, s.leaseID, s.opt.Lease)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("mail sender: claim", "err", err)
			}
			return s.opt.MinBackoff
		}
		if !ok {
			return 0
		}
		if d := s.deliver(ctx, m); d > 0 {
			return d
		}
	}
	return 0
}

// sendError is an SMTP failure and whether the session itself failed
// (connection, TLS, authentication, sender refused) rather than this mail.
type sendError struct {
	err       error
	session   bool // the server, not this mail: pause the queue
	permanent bool // this mail will never go: give up at once
}

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// deliver sends one claimed mail and records the outcome. It returns the
// pause the queue should take, for failures of the session.
func (s *Sender) deliver(ctx context.Context, m OutboxMail) time.Duration {
	// Recording the outcome must survive a shutdown that cancels ctx: a
	// mail the server accepted has to be marked sent.
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	log := s.log.With("outbox_id", m.ID, "message_id", m.MessageID, "kind", m.Kind, "attempt", m.Attempts)

	msg, err := RenderMail(m)
	if err != nil {
		// The error may quote an address: at debug only.
		log.Error("mail not sent: cannot render it; flagged failed")
		log.Debug("mail render failure", "err", err)
		if err := s.store.failMail(rec, m.ID, s.leaseID, err.Error()); err != nil {
			log.Error("mail sender: record failure", "err", err)
		}
		return 0
	}
	err = s.send(ctx, m, msg)
	if err == nil {
		// Marked in the same step as the server's 250, before anything
		// else: the window in which a crash would send this mail twice is
		// this one write.
		stolen, err := s.store.markMailSent(rec, m.ID, s.leaseID)
		if err != nil {
			log.Error("mail sent but not marked sent: it will be sent again when its lease ends", "err", err)
			return 0
		}
		if stolen {
			log.Warn("mail sent after its lease ended: another worker may have sent it too")
		}
		log.Info("mail sent")
		return 0
	}

	var se *sendError
	if !errors.As(err, &se) {
		se = &sendError{err: err}
	}
	code := 0
	var smtpErr *smtp.SMTPError
	if errors.As(err, &smtpErr) {
		code = smtpErr.Code
	}
	if ctx.Err() != nil {
		// Shutting down: the mail is due again at once on the next start.
		if err := s.store.retryMailAt(rec, m.ID, s.leaseID, "interrupted by shutdown: "+err.Error(), s.store.Now()); err != nil {
			log.Error("mail sender: record interruption", "err", err)
		}
		return 0
	}
	s.smtpErrors.Add(1)
	if se.permanent || m.Attempts >= s.opt.MaxAttempts {
		// The server's reply may hold the address: at debug only.
		log.Error("mail not sent; flagged failed and kept in the outbox", "smtp_code", code, "permanent", se.permanent)
		log.Debug("mail failure", "err", err)
		if err := s.store.failMail(rec, m.ID, s.leaseID, err.Error()); err != nil {
			log.Error("mail sender: record failure", "err", err)
		}
		return 0
	}
	delay := s.backoff(m.Attempts)
	log.Warn("mail not sent; will retry", "smtp_code", code, "retry_in", delay.Round(time.Second), "session", se.session)
	log.Debug("mail failure", "err", err)
	if err := s.store.retryMailAt(rec, m.ID, s.leaseID, err.Error(), s.store.Now().Add(delay)); err != nil {
		log.Error("mail sender: record retry", "err", err)
	}
	if se.session {
		return delay
	}
	return 0
}

// backoff is the delay after the attempts-th failed attempt: MinBackoff
// doubled each time up to MaxBackoff, times a jitter from 0.8 to 1.2.
func (s *Sender) backoff(attempts int) time.Duration {
	d := s.opt.MinBackoff
	for i := 1; i < attempts && d < s.opt.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.opt.MaxBackoff)
	return time.Duration(float64(d) * (0.8 + 0.4*s.opt.Jitter()))
}

// send runs one SMTP session for m: connect, STARTTLS or TLS, AUTH PLAIN,
// MAIL, RCPT, DATA. The whole session is bounded by SendTimeout, and ends
// at once when ctx is done.
func (s *Sender) send(ctx context.Context, m OutboxMail, msg []byte) error {
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return &sendError{err: fmt.Errorf("from: %w", err), permanent: true}
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return &sendError{err: fmt.Errorf("to: %w", err), permanent: true}
	}
	sessionErr := func(step string, err error) error {
		return &sendError{err: fmt.Errorf("smtp %s: %w", step, err), session: true}
	}

	deadline := time.Now().Add(s.opt.SendTimeout)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	raw, err := s.dialer.DialContext(dctx, "tcp", s.opt.Addr)
	if err != nil {
		return sessionErr("connect", err)
	}
	var conn net.Conn = deadlineConn{Conn: raw, end: deadline}
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	defer raw.Close()

	tlsConfig := s.tlsConfig()
	var c *smtp.Client
	switch s.opt.TLS {
	case TLSImplicit:
		c = smtp.NewClient(tls.Client(conn, tlsConfig))
	case TLSStartTLS:
		// Greets, checks that STARTTLS is offered (refusing to go on in
		// clear text when it is not) and upgrades.
		if c, err = smtp.NewClientStartTLS(conn, tlsConfig); err != nil {
			return sessionErr("starttls", err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	c.CommandTimeout, c.SubmissionTimeout = s.opt.SendTimeout, s.opt.SendTimeout
	if err := c.Hello(s.opt.HelloName); err != nil {
		return sessionErr("hello", err)
	}
	if s.opt.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.opt.Username, s.opt.Password)); err != nil {
			return sessionErr("auth", err)
		}
	}
	var mailOpt *smtp.MailOptions
	if !isASCII(from.Address) || !isASCII(to.Address) {
		if ok, _ := c.Extension("SMTPUTF8"); !ok {
			return &sendError{err: errors.New("smtp: a non-ASCII address needs SMTPUTF8, which the server does not offer"), permanent: true}
		}
		mailOpt = &smtp.MailOptions{UTF8: true}
	}
	if err := c.Mail(from.Address, mailOpt); err != nil {
		return sessionErr("mail from", err)
	}
	if err := c.Rcpt(to.Address, nil); err != nil {
		return mailErr("rcpt to", err)
	}
	w, err := c.Data()
	if err != nil {
		return mailErr("data", err)
	}
	if _, err := w.Write(msg); err != nil {
		return mailErr("data", err)
	}
	// The server's 250 here is the moment the mail is sent. A connection
	// lost between the final dot and this reply leaves it unknown whether
	// the server kept the mail; it is retried, so it may arrive twice.
	if err := w.Close(); err != nil {
		return mailErr("data", err)
	}
	if err := c.Quit(); err != nil {
		s.log.Debug("smtp quit", "err", err) // the mail is accepted already
	}
	return nil
}

// mailErr classifies a failure of RCPT or DATA: a 5xx reply refuses this
// mail for good (an unknown mailbox, a rejected message), anything else
// may pass later.
func mailErr(step string, err error) error {
	var smtpErr *smtp.SMTPError
	permanent := errors.As(err, &smtpErr) && smtpErr.Code >= 500
	return &sendError{err: fmt.Errorf("smtp %s: %w", step, err), permanent: permanent}
}

func (s *Sender) tlsConfig() *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.opt.TLSConfig != nil {
		c = s.opt.TLSConfig.Clone()
	}
	if c.ServerName == "" {
		c.ServerName = s.host
	}
	return c
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// deadlineConn keeps an absolute deadline on a connection: go-smtp sets a
// deadline per command and clears it after, which would let a stalled DATA
// write hang forever. Every deadline set is capped at end.
type deadlineConn struct {
	net.Conn
	end time.Time
}

func (c deadlineConn) cap(t time.Time) time.Time {
	if t.IsZero() || t.After(c.end) {
		return c.end
	}
	return t
}

func (c deadlineConn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(c.cap(t)) }
func (c deadlineConn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(c.cap(t)) }
func (c deadlineConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.cap(t)) }
