package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

// replyKeyFile holds the key of the reply tokens (reply+<token>@ addresses)
// in the data folder. Losing it breaks the reply address of every mail
// sent before, so it is backed up with bulle.db.
const replyKeyFile = "reply.key"

// loadReplyTokens reads the reply-token key from the data folder, creating
// a random one on the first start.
func loadReplyTokens(dataDir string) (escalation.ReplyTokens, error) {
	path := filepath.Join(dataDir, replyKeyFile)
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, 32)
		rand.Read(key)
		// O_EXCL: two processes starting at once keep one key, the first.
		f, cerr := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if cerr == nil {
			_, werr := f.Write(key)
			cerr = errors.Join(werr, f.Sync(), f.Close())
		}
		if errors.Is(cerr, fs.ErrExist) {
			key, err = os.ReadFile(path)
		} else {
			err = cerr
		}
	}
	if err != nil {
		return escalation.ReplyTokens{}, fmt.Errorf("reply key %s: %w", path, err)
	}
	tokens, err := escalation.NewReplyTokens(key)
	if err != nil {
		return escalation.ReplyTokens{}, fmt.Errorf("reply key %s: %w", path, err)
	}
	return tokens, nil
}

// mailer is the running email: the outbox sender (or, without SMTP, the
// log of unsent mail) and the inbound listener.
type mailer struct {
	cancel      context.CancelFunc
	done        chan struct{}      // the sender or the unsent-mail log returned
	sender      *escalation.Sender // nil without smtp.host; /metrics reads its errors
	inbound     *escalation.InboundServer
	inboundLn   net.Listener
	inboundDone chan struct{}
}

// devMailPage returns the outbox page for /dev/mail when no SMTP server is
// configured, and nil otherwise. The page itself answers only loopback.
func (m *Main) devMailPage() http.Handler {
	if m.Config.SMTP.Host != "" {
		return nil
	}
	return escalation.NewDevMailPage(m.store, m.Logger)
}

// startMail starts sending the outbox (or logging it, with no SMTP host)
// and, when smtp.inbound_addr is set, listening for replies by email. Run
// calls it once the HTTP listener exists, for the dev page's URL.
func (m *Main) startMail(ctx context.Context) (err error) {
	cfg, log := m.Config, m.Logger
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.mailer = &mailer{cancel: cancel, done: make(chan struct{})}

	if cfg.SMTP.Host == "" {
		log.Warn("no smtp.host: mail stays in the outbox, listed at /dev/mail on this machine", "url", m.URL()+"/dev/mail")
		go func() {
			defer close(m.mailer.done)
			escalation.LogUnsentMail(ctx, m.store, log, m.URL()+"/dev/mail")
		}()
	} else {
		sender, err := escalation.NewSender(m.store, escalation.SenderOptions{
			Addr:      net.JoinHostPort(cfg.SMTP.Host, strconv.Itoa(cfg.SMTP.Port)),
			TLS:       cfg.SMTP.TLS,
			Username:  cfg.SMTP.Username,
			Password:  cfg.SMTP.Password.Reveal(),
			HelloName: helloName(cfg),
			Logger:    log,
		})
		if err != nil {
			close(m.mailer.done)
			return err
		}
		m.mailer.sender = sender
		go func() {
			defer close(m.mailer.done)
			sender.Run(ctx)
		}()
	}

	if cfg.SMTP.InboundAddr == "" {
		return nil
	}
	deliver := m.deliverReply
	if deliver == nil {
		log.Warn("replies by email are not stored yet: they are refused with 451, so mail servers keep them and retry")
		deliver = func(context.Context, escalation.InboundReply) error {
			return errors.New("replies by email are not wired to tickets yet")
		}
	}
	in, err := escalation.NewInboundServer(escalation.InboundConfig{
		Domain:     cfg.ReplyDomain(),
		Tokens:     m.replyTokens,
		Deliver:    deliver,
		Store:      m.store,
		BounceFrom: cfg.MailFrom(),
		Logger:     log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.SMTP.InboundAddr)
	if err != nil {
		return fmt.Errorf("inbound mail: listen: %w", err)
	}
	m.mailer.inbound, m.mailer.inboundLn, m.mailer.inboundDone = in, ln, make(chan struct{})
	go func() {
		defer close(m.mailer.inboundDone)
		if err := in.Serve(ln); err != nil {
			select {
			case m.failed <- err:
			default:
			}
		}
	}()
	return nil
}

// helloName is the name Bulle gives itself in EHLO: the public host name
// when known, which spam filters like to match.
func helloName(cfg Config) string {
	if u, err := url.Parse(cfg.BaseURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	if d := cfg.ReplyDomain(); d != "" {
		return d
	}
	return "localhost"
}

// InboundAddr is the address the inbound mail listener listens on, ""
// when it is off.
func (m *Main) InboundAddr() string {
	if m.mailer == nil || m.mailer.inboundLn == nil {
		return ""
	}
	return m.mailer.inboundLn.Addr().String()
}

// stopMail stops the inbound listener, letting replies being stored
// finish, then the sender; a mail being sent is cut and retried at the
// next start. Close calls it before closing the store.
func (m *Main) stopMail() error {
	if m.mailer == nil {
		return nil
	}
	var err error
	if m.mailer.inbound != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = m.mailer.inbound.Shutdown(ctx)
		<-m.mailer.inboundDone
	}
	m.mailer.cancel()
	<-m.mailer.done
	m.mailer = nil
	return err
}
