package escalation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// InboundAttachment is one file attached to a reply by email.
type InboundAttachment struct {
	Name        string // the sender's file name, made safe: no folders, no control characters
	ContentType string // sniffed from the bytes with http.DetectContentType, not the sender's claim
	Data        []byte
}

// InboundReply is a reply by email to a ticket's reply address, reduced
// to what the person wrote.
type InboundReply struct {
	TicketID int64
	// ConversationID is set instead of TicketID when the address named a
	// conversation without a ticket (the transcript mail's Reply-To).
	ConversationID int64
	From           string // the From header's address, or the envelope sender's
	MessageID      string // the reply's Message-ID, "" when it had none: the key to store it once
	InReplyTo      string
	Text           string // quoted history and signature stripped
	// AutoSubmitted marks a message sent by a machine (an out-of-office
	// reply, a list): it must never open a ticket on its own.
	AutoSubmitted bool
	// Attachments are in the order of the message.
	Attachments []InboundAttachment
}

// Inbound defaults.
const (
	// 25 MB: what the big providers let a person send, attachments in
	// base64 included.
	DefaultInboundMaxBytes = 25 << 20
	// DefaultMaxAttachmentBytes bounds one attachment, decoded.
	DefaultMaxAttachmentBytes = 10 << 20
	DefaultMaxAttachments     = 20
	// DefaultInboundReadTimeout closes a connection silent for this long.
	DefaultInboundReadTimeout = time.Minute
	// DefaultDeliverTimeout bounds Deliver: past it the sender is told to
	// try again later.
	DefaultDeliverTimeout = 30 * time.Second
	// maxInboundRecipients is RCPTs per message. One ticket is accepted
	// per message; more lets a client repeat it.
	maxInboundRecipients = 10
	// maxConcurrentInbound bounds the messages parsed at once: each may
	// hold 25 MB in memory.
	maxConcurrentInbound = 4
)

// InboundConfig configures the built-in SMTP (or LMTP) listener for
// replies by email.
type InboundConfig struct {
	// Domain is the reply domain: only RCPT TO reply+<token>@Domain is
	// accepted, with a token Tokens parses.
	Domain string
	Tokens ReplyTokens
	// Deliver adds a reply to its ticket. It must be idempotent on
	// (TicketID, MessageID): a sending MTA that lost the 250 sends again.
	// An error wrapping ErrNotFound refuses the message for good (550 and
	// a polite bounce); any other error asks the MTA to retry later (451).
	Deliver func(ctx context.Context, r InboundReply) error
	// Store and BounceFrom, when set, queue a polite bounce to the sender
	// of a reply to an unknown ticket.
	Store      *Store
	BounceFrom string
	Logger     *slog.Logger
	// LMTP speaks LMTP (RFC 2033) instead of SMTP, for a mail server that
	// hands mail over that way (Postfix's lmtp:inet:127.0.0.1:2525).
	LMTP bool

	MaxMessageBytes    int64
	MaxAttachmentBytes int64
	MaxAttachments     int
	ReadTimeout        time.Duration
	DeliverTimeout     time.Duration
}

// InboundServer receives replies by email and hands each to Deliver.
type InboundServer struct {
	cfg    InboundConfig
	log    *slog.Logger
	srv    *smtp.Server
	ctx    context.Context // cancelled by Shutdown, ends a Deliver in flight
	cancel context.CancelFunc
	sem    chan struct{} // maxConcurrentInbound tokens

	mu      sync.Mutex
	ln      net.Listener
	active  int           // messages being handled
	closing bool          // Shutdown has begun: take no new message
	idle    chan struct{} // closed once closing and no message is active
}

// NewInboundServer checks cfg and returns a server; Serve starts it.
func NewInboundServer(cfg InboundConfig) (*InboundServer, error) {
	if cfg.Domain == "" || strings.ContainsAny(cfg.Domain, "@ \t\r\n") {
		return nil, fmt.Errorf("escalation: inbound mail: reply domain %q: want a domain name", cfg.Domain)
	}
	if cfg.Deliver == nil {
		return nil, errors.New("escalation: inbound mail: no Deliver")
	}
	if len(cfg.Tokens.key) == 0 {
		return nil, errors.New("escalation: inbound mail: no reply token key")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultInboundMaxBytes
	}
	if cfg.MaxAttachmentBytes <= 0 {
		cfg.MaxAttachmentBytes = DefaultMaxAttachmentBytes
	}
	if cfg.MaxAttachments <= 0 {
		cfg.MaxAttachments = DefaultMaxAttachments
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultInboundReadTimeout
	}
	if cfg.DeliverTimeout <= 0 {
		cfg.DeliverTimeout = DefaultDeliverTimeout
	}
	s := &InboundServer{cfg: cfg, log: cfg.Logger, sem: make(chan struct{}, maxConcurrentInbound), idle: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &inboundSession{s: s}, nil
	}))
	srv.Domain = cfg.Domain
	srv.LMTP = cfg.LMTP
	srv.MaxMessageBytes = cfg.MaxMessageBytes
	srv.MaxRecipients = maxInboundRecipients
	srv.ReadTimeout = cfg.ReadTimeout
	srv.WriteTimeout = cfg.ReadTimeout
	srv.ErrorLog = slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug)
	s.srv = srv
	return s, nil
}

// Serve accepts connections on l until Shutdown, and then returns nil.
func (s *InboundServer) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closing { // Shutdown came first
		s.mu.Unlock()
		l.Close()
		return nil
	}
	s.ln = l
	s.mu.Unlock()
	s.log.Info("inbound mail listening", "addr", l.Addr().String(), "lmtp", s.cfg.LMTP, "reply_domain", s.cfg.Domain)
	if err := s.srv.Serve(l); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("inbound mail: %w", err)
	}
	return nil
}

// Shutdown stops accepting, lets the messages being handled finish until
// ctx is done, then closes every connection. A sending MTA whose session
// is cut retries later: nothing is lost.
func (s *InboundServer) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	if !s.closing {
		s.closing = true
		if s.active == 0 {
			close(s.idle)
		}
	}
	s.mu.Unlock()
	var err error
	select {
	case <-s.idle:
	case <-ctx.Done():
		err = fmt.Errorf("inbound mail: shutdown: %w", ctx.Err())
	}
	s.cancel()
	if cerr := s.srv.Close(); cerr != nil && !errors.Is(cerr, smtp.ErrServerClosed) && !errors.Is(cerr, net.ErrClosed) && err == nil {
		err = fmt.Errorf("inbound mail: close: %w", cerr)
	}
	return err
}

// begin counts a message being handled, and reports false once Shutdown
// has begun.
func (s *InboundServer) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.active++
	return true
}

// end uncounts a message, and tells a waiting Shutdown when it was the last.
func (s *InboundServer) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active--
	if s.closing && s.active == 0 {
		close(s.idle)
	}
}

// targetFor returns the ticket or conversation a recipient address
// names, and false for any address that is not reply+<valid token>@Domain.
func (s *InboundServer) targetFor(rcpt string) (ReplyTarget, bool) {
	at := strings.LastIndexByte(rcpt, '@')
	if at < 0 || !strings.EqualFold(rcpt[at+1:], s.cfg.Domain) {
		return ReplyTarget{}, false
	}
	local := rcpt[:at]
	if len(local) < len("reply+") || !strings.EqualFold(local[:len("reply+")], "reply+") {
		return ReplyTarget{}, false
	}
	return s.cfg.Tokens.ParseTarget(local[len("reply+"):])
}

// SMTP replies, worded for the person who reads them in a bounce.
var (
	errNoSuchAddress = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
		Message: "Sorry, this address does not accept mail. To reach us, please write from the help center."}
	errOneTicket = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 5, 3},
		Message: "One request per message, please: send to this recipient separately."}
	errUnknownTicket = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
		Message: "Unknown ticket: the request you are replying to no longer exists. Please write to us again from the help center."}
	errTryLater = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
		Message: "Temporary failure; please try again later."}
	errUnreadable = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
		Message: "Sorry, this message could not be read."}
)

// inboundSession is one SMTP transaction at a time on one connection.
type inboundSession struct {
	s      *InboundServer
	from   string // the envelope sender, "" for a null sender (a bounce)
	target ReplyTarget
}

func (ss *inboundSession) Reset()        { ss.from, ss.target = "", ReplyTarget{} }
func (ss *inboundSession) Logout() error { return nil }

func (ss *inboundSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

func (ss *inboundSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	target, ok := ss.s.targetFor(to)
	if !ok {
		ss.s.log.Info("inbound mail: recipient refused", "reason", "not a reply address")
		return errNoSuchAddress
	}
	if ss.target != (ReplyTarget{}) && ss.target != target {
		return errOneTicket
	}
	ss.target = target
	return nil
}

func (ss *inboundSession) Data(r io.Reader) error {
	s := ss.s
	if !s.begin() {
		io.Copy(io.Discard, r)
		return errTryLater
	}
	defer s.end()
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	case <-s.ctx.Done():
		io.Copy(io.Discard, r)
		return errTryLater
	}
	log := s.log.With("ticket_id", ss.target.TicketID)
	if ss.target.ConversationID != 0 {
		log = s.log.With("conversation_id", ss.target.ConversationID)
	}
	// The parser skips parts it cannot read; a read error of the data
	// itself (too large, connection lost) must not pass for a short reply.
	data := &stickyReader{r: r}
	in, err := parseInbound(data, inboundLimits{maxAttachments: s.cfg.MaxAttachments, maxAttachmentBytes: s.cfg.MaxAttachmentBytes})
	io.Copy(io.Discard, data) // go-smtp needs the data consumed, whatever happened
	switch {
	case errors.Is(data.err, smtp.ErrDataTooLarge):
		log.Info("inbound mail refused", "reason", "too large")
		return smtp.ErrDataTooLarge
	case errors.Is(data.err, smtp.ErrTooLongLine):
		// RFC 5322 allows 998 characters a line; resending will not help.
		log.Info("inbound mail refused", "reason", "line too long")
		return &smtp.SMTPError{Code: 500, EnhancedCode: smtp.EnhancedCode{5, 5, 2}, Message: "Line too long."}
	case data.err != nil:
		log.Info("inbound mail: data not read to the end", "err", data.err)
		return errTryLater
	case errors.Is(err, errTooManyAttachments), errors.Is(err, errAttachmentTooLarge):
		log.Info("inbound mail refused", "reason", err.Error())
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
			Message: fmt.Sprintf("Sorry, we accept at most %d attachments of %d MB each.",
				s.cfg.MaxAttachments, max(s.cfg.MaxAttachmentBytes>>20, 1))}
	case err != nil:
		log.Info("inbound mail refused", "reason", "unreadable", "err", err)
		return errUnreadable
	}
	from := in.From
	if from == "" {
		from = ss.from
	}
	reply := InboundReply{TicketID: ss.target.TicketID, ConversationID: ss.target.ConversationID, From: from,
		MessageID: in.MessageID, InReplyTo: in.InReplyTo, Text: in.Text, AutoSubmitted: in.AutoSubmitted,
		Attachments: in.Attachments}
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.DeliverTimeout)
	defer cancel()
	err = s.cfg.Deliver(ctx, reply)
	switch {
	case err == nil:
		log.Info("reply by email received", "message_id", in.MessageID, "attachments", len(in.Attachments))
		return nil
	case errors.Is(err, ErrNotFound):
		log.Info("reply by email refused", "reason", "unknown ticket", "message_id", in.MessageID)
		s.bounce(ss.from, in)
		return errUnknownTicket
	}
	log.Error("reply by email not stored; the sender will retry", "message_id", in.MessageID, "err", err)
	return errTryLater
}

// stickyReader keeps the first error other than io.EOF its reader gave.
type stickyReader struct {
	r   io.Reader
	err error
}

func (s *stickyReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// bounceText is the polite answer to a reply for a ticket that is gone.
const bounceText = `Hello,

We could not add your message to a request: the request it answers no
longer exists. Nothing was recorded. To reach us, please write to us again
from the help center.

—

Bonjour,

Nous n'avons pas pu ajouter votre message à une demande : la demande à
laquelle il répond n'existe plus. Rien n'a été enregistré. Pour nous
joindre, écrivez-nous à nouveau depuis le centre d'aide.
`

// bounce queues the polite answer to sender, unless the message came from
// a machine (a null sender, Auto-Submitted, Precedence: bulk), which must
// never be answered automatically: that is how mail loops start.
func (s *InboundServer) bounce(sender string, in inboundMail) {
	if s.cfg.Store == nil || s.cfg.BounceFrom == "" || sender == "" || in.AutoSubmitted {
		return
	}
	if _, err := mail.ParseAddress(sender); err != nil {
		return
	}
	subject := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' ' // a decoded subject may hold CR LF: never into a header
		}
		return r
	}, in.Subject)
	if len([]rune(subject)) > 150 {
		subject = string([]rune(subject)[:150]) + "…"
	}
	m := Mail{MessageID: NewMessageID(s.cfg.Domain), Kind: "bounce", From: s.cfg.BounceFrom, To: sender,
		Subject: strings.TrimSpace("Undelivered: " + subject), Text: bounceText}
	if in.MessageID != "" {
		m.InReplyTo, m.References = in.MessageID, []string{in.MessageID}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), 10*time.Second)
	defer cancel()
	if _, err := s.cfg.Store.QueueMail(ctx, m); err != nil {
		s.log.Error("inbound mail: queue bounce", "err", err)
	}
}
