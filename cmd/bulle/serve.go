package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
	"github.com/bulle-help/bulle/escalation/console"
	"github.com/bulle-help/bulle/kb"
	"github.com/bulle-help/bulle/widget"
)

// The store records article votes for the help-center pages and the
// bubble's conversations, and the insights recorder what the pages'
// visitors search and read; the bot searches the knowledge base.
var (
	_ kb.VoteStore         = (*escalation.Store)(nil)
	_ kb.Activity          = (*escalation.InsightsRecorder)(nil)
	_ widget.Conversations = (*escalation.Store)(nil)
	_ bot.Searcher         = (*kb.Base)(nil)
)

// shutdownTimeout bounds how long Close waits for in-flight requests.
const shutdownTimeout = 10 * time.Second

// Main is the serving program. Tests set Config and call Run and Close,
// skipping ParseFlags, to run the whole program on a temp dir and port :0.
type Main struct {
	Config     Config
	ConfigPath string              // the file Config was read from, "" for none
	Getenv     func(string) string // the environment; os.Getenv outside tests
	Stderr     io.Writer           // logs and indexing progress
	Logger     *slog.Logger        // built from Config.Log by Run when nil

	// wrapHandler, when set by a test, wraps the whole HTTP handler.
	wrapHandler func(http.Handler) http.Handler

	// replyTokens make and check reply+<token>@ addresses; Run loads
	// their key from the data folder.
	replyTokens escalation.ReplyTokens
	// deliverReply adds a reply by email to its ticket. While nil, the
	// inbound listener answers 451 and mail servers retry.
	deliverReply func(ctx context.Context, r escalation.InboundReply) error

	// loadConfig reads the config again as ParseFlags did (file,
	// environment, flags), for reloading the business hours.
	loadConfig func() (Config, string, error)

	// hub carries live chat's conversation, typing and queue events
	// between the bubbles and the agents' consoles.
	hub *escalation.Hub
	// agents says how many agents are online for live chat: the agents'
	// console (a socket open, not away). While nobody is, a visitor who
	// picks chat is offered an email ticket.
	agents widget.Agents

	// stopInsights stops recording the help center's searches and reads
	// after writing the last of them.
	stopInsights func()

	store       *escalation.Store
	base        *kb.Base
	avail       *escalation.Availability
	stopHours   func() // stops reloading the business hours
	stopSweep   func() // stops deleting the bubble's unused uploads
	widget      *widget.Widget
	console     *console.Console // the agents' console: sign-in, sessions, their sockets
	mailer      *mailer          // email out and in; see mail.go
	ln          net.Listener
	server      *http.Server
	cancelBase  context.CancelFunc // ends the server's BaseContext
	cancelWatch context.CancelFunc
	watchDone   chan struct{}
	serveDone   chan struct{}
	failed      chan error
}

// NewMain returns a program with the default configuration.
func NewMain() *Main {
	return &Main{Config: DefaultConfig(), Getenv: os.Getenv, Stderr: os.Stderr}
}

// runServe is "bulle serve": it runs until ctx is done, then shuts down.
func runServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	m := NewMain()
	m.Getenv, m.Stderr = getenv, stderr
	if err := m.ParseFlags(ctx, args); err != nil {
		return err
	}
	if err := m.Run(ctx); err != nil {
		return errors.Join(err, m.Close())
	}
	var err error
	select {
	case <-ctx.Done():
		m.Logger.Info("shutting down")
	case err = <-m.Failed():
	}
	if err := errors.Join(err, m.Close()); err != nil {
		return err
	}
	m.Logger.Info("stopped")
	return nil
}

// ParseFlags reads the flags, the environment and the config file into
// m.Config.
func (m *Main) ParseFlags(_ context.Context, args []string) error {
	f := newFlagSet("serve", "[flags]", m.Stderr)
	rest, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{err: fmt.Errorf("serve takes no arguments, got %q", rest)}
	}
	m.Config, m.ConfigPath, err = f.load(m.Getenv)
	m.loadConfig = func() (Config, string, error) { return f.load(m.Getenv) }
	return err
}

// Run opens the database and the knowledge base, starts watching the
// articles and starts serving. It returns once the server listens.
func (m *Main) Run(ctx context.Context) (err error) {
	if err := m.Config.Validate(); err != nil {
		return err
	}
	if m.Stderr == nil {
		m.Stderr = io.Discard
	}
	if m.Logger == nil {
		m.Logger = m.Config.NewLogger(m.Stderr)
	}
	log := m.Logger
	log.Info("config", "file", m.ConfigPath, "config", m.Config)
	// A full disk or a file-size limit (RLIMIT_FSIZE) must return errors,
	// not kill the server: by default the kernel ends a process that writes
	// past its limit with SIGXFSZ. Ignored, the write fails with EFBIG,
	// SQLite reports an I/O error, the visitor is told nothing was stored,
	// and the next write succeeds once there is room again.
	signal.Ignore(syscall.SIGXFSZ)

	cfg := m.Config
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	if m.store, err = escalation.Open(ctx, filepath.Join(cfg.DataDir, "bulle.db")); err != nil {
		return err
	}
	met := newMetrics(m) // GET /metrics; see metrics.go. Its gauges read m when scraped.
	m.base, err = kb.Open(ctx, kb.Options{
		Dir:            cfg.ArticlesDir,
		IndexDir:       filepath.Join(cfg.DataDir, "index"),
		Load:           kb.LoadOptions{Langs: cfg.Langs, DefaultLang: cfg.DefaultLang},
		Logger:         log,
		Progress:       m.Stderr,
		SearchObserved: met.searchLatency, // the bot's searches and the search page's
	})
	if err != nil {
		return err
	}

	// Watching lives as long as Main, not as long as ctx: Close stops it
	// before it closes the base it updates.
	watchCtx, cancelWatch := context.WithCancel(context.WithoutCancel(ctx))
	m.cancelWatch, m.watchDone = cancelWatch, make(chan struct{})
	go func() {
		defer close(m.watchDone)
		if err := m.base.Watch(watchCtx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("live article updates stopped", "err", err)
		}
	}()

	e := newEcho(log, cfg.TrustedProxyNets()...)
	e.GET("/healthz", healthz(log, m.store, func() int { return m.base.Corpus().Len() }))
	// The help center's searches and reads, for the insights page, are
	// written in batches (insights_record.go); Close writes the last one
	// after the server stops, before the store closes.
	insights := escalation.NewInsightsRecorder(m.store, escalation.InsightsOptions{Logger: log})
	insightsCtx, stopInsights := context.WithCancel(context.WithoutCancel(ctx))
	insightsDone := make(chan struct{})
	go func() { defer close(insightsDone); insights.Run(insightsCtx) }()
	m.stopInsights = func() { stopInsights(); <-insightsDone }
	kb.NewSite(m.base, m.store, kb.SiteOptions{Name: "Bulle", SecureCookies: cfg.SecureCookies(),
		ContactURL: "/contact", RequestsURL: "/requests", BaseURL: cfg.BaseURL, Activity: insights}).Register(e)

	// Tickets: the reply-token key lives in the data folder; attachments
	// too, outside anything served.
	if m.replyTokens, err = loadReplyTokens(cfg.DataDir); err != nil {
		return err
	}
	files, err := escalation.NewFiles(filepath.Join(cfg.DataDir, "attachments"), 0)
	if err != nil {
		return err
	}
	desk, err := escalation.NewDesk(m.store, escalation.DeskOptions{From: cfg.MailFrom(),
		ReplyDomain: cmp.Or(cfg.ReplyDomain(), "localhost"), Tokens: m.replyTokens, Files: files, SiteName: "Bulle",
		BaseURL: cfg.BaseURL})
	if err != nil {
		return err
	}
	m.deliverReply = func(ctx context.Context, r escalation.InboundReply) error {
		if err := desk.DeliverReply(ctx, r); err != nil {
			return err
		}
		// A bubble or a console open on the conversation shows the reply
		// at once, as it shows an agent's; events carry no message, so a
		// resent reply stored nothing and costs a read.
		conv := r.ConversationID
		if r.TicketID != 0 {
			if t, err := m.store.Ticket(ctx, r.TicketID); err == nil {
				conv = t.ConversationID
			}
		}
		if conv != 0 {
			m.hub.Publish(conv)
		}
		return nil
	}
	// Files the bubble staged for a ticket never sent go after an hour.
	sweepCtx, stopSweep := context.WithCancel(context.WithoutCancel(ctx))
	sweepDone := make(chan struct{})
	go func() { defer close(sweepDone); desk.RunUploadSweeper(sweepCtx, 0, log) }()
	stopRetention := startRetention(ctx, cfg.Retention.Days, m.store, files, log) // retention.go
	m.stopSweep = func() { stopSweep(); <-sweepDone; stopRetention() }
	escalation.RegisterAgentAPI(e, m.store, desk)

	// Live chat: one hub carries the conversations', typing and queue
	// events between the bubbles and the agents' consoles.
	m.hub = escalation.NewHub(escalation.HubOptions{Logger: log})

	// The agents' console (/console/…): setup links, sign-in, sessions,
	// the registry that closes an agent's sockets when their session ends,
	// here or from "bulle agent remove" (checked every second), and live
	// chat's agent side over the shared hub. An agent is there to chat
	// while a console socket of theirs is open and they are not away.
	// Its ticket pages reply through the desk (by mail, via the outbox);
	// its insights page names articles through insightsArticles.
	if m.console, err = console.New(m.store, console.Options{BaseURL: cfg.BaseURL, DefaultLang: cfg.DefaultLang,
		Logger: log, Hub: m.hub, Desk: desk, Privacy: desk, Articles: insightsArticles{corpus: m.base.Corpus},
		Zone: func() *time.Location {
			if m.avail == nil {
				return nil
			}
			return m.avail.Hours().Location() // the ticket pages' times, as the hours read now
		}}); err != nil {
		return err
	}
	m.console.Register(e)
	m.console.Start()
	m.agents = m.console

	// The business hours are the one setting applied without a restart:
	// on SIGHUP or when the config file changes (see hours.go).
	if m.avail, err = newAvailability(cfg); err != nil {
		return err
	}
	// Chat is open only while an agent is there to answer: the bot offers
	// chat, and /api/availability says it is open, only then.
	m.avail.AgentsPresent = agentsPresent(m.agents)
	e.GET("/api/availability", escalation.AvailabilityHandler(m.avail, availabilityOptions(cfg)))
	m.watchHours(ctx)

	identities, err := newIdentities(cfg, m.store)
	if err != nil {
		return err
	}

	botCfg := bot.DefaultConfig()
	botCfg.Threshold, botCfg.ClarifyRatio, botCfg.Unsupported = cfg.Bot.Threshold, cfg.Bot.ClarifyRatio, cfg.Bot.Unsupported
	m.widget, err = widget.New(m.store, met.countDecisions(bot.New(m.base, chatAvailability{m.avail}, botCfg)), widget.Options{
		AllowedOrigins: cfg.Widget.AllowedOrigins,
		BaseURL:        cfg.BaseURL,
		MaxFrameBytes:  cfg.Widget.MaxFrameBytes,
		Langs:          cfg.Langs,
		DefaultLang:    cfg.DefaultLang,
		Logger:         log,
		Tickets:        desk,
		Transcripts:    desk, // the bubble's "Email me the transcript"
		Attachments:    desk, // the bubble's downloads
		Requests:       desk, // the "My requests" pages
		Identities:     identities,
		LiveChat:       m.store,            // the queue and the chats' statuses
		ChatHours:      chatHours{m.avail}, // chat is open within its hours,
		Agents:         m.agents,           // with an agent online,
		ChatMaxWait:    cfg.Chat.MaxWait,   // and a wait under the limit
		// A queued visitor with no bubble open that long leaves the queue.
		ChatAbandonAfter: cfg.Chat.AbandonAfter,
		Hub:              m.hub,
		AnswerLatency:    met.answerLatency,
	})
	if err != nil {
		return err
	}
	m.widget.Register(e)
	mountHandler(e, met.handler(cfg.Metrics.Public), "/metrics")
	if page := m.devMailPage(); page != nil {
		mountHandler(e, page, "/dev/mail", "/dev/mail/*")
	}

	if m.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	m.failed = make(chan error, 1)
	if err := m.startMail(ctx); err != nil {
		m.ln.Close() // not served yet, so Close would not close it
		return err
	}
	// Requests inherit baseCtx; Close cancels it before Shutdown, because
	// Shutdown neither waits for nor ends hijacked connections (WebSockets),
	// which watch their request's context to know when to stop.
	baseCtx, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	m.cancelBase = cancelBase
	var handler http.Handler = e
	if m.wrapHandler != nil {
		handler = m.wrapHandler(handler)
	}
	m.server = &http.Server{
		Handler:     handler,
		BaseContext: func(net.Listener) context.Context { return baseCtx },
		// A client gets 10 s to send its headers (slowloris); there is no
		// write timeout because WebSockets stay open.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	m.serveDone = make(chan struct{})
	go func() {
		defer close(m.serveDone)
		if err := m.server.Serve(m.ln); !errors.Is(err, http.ErrServerClosed) {
			select { // the first failure is enough to stop; never block on a second
			case m.failed <- fmt.Errorf("serve: %w", err):
			default:
			}
		}
	}()
	log.Info("listening", "url", m.URL(), "base_url", cfg.BaseURL)
	return nil
}

// Addr is the address the server listens on, such as 127.0.0.1:41234
// when Config.Addr asked for port 0. It is "" before Run.
func (m *Main) Addr() string {
	if m.ln == nil {
		return ""
	}
	return m.ln.Addr().String()
}

// URL is the local URL of the server.
func (m *Main) URL() string {
	host, port, _ := net.SplitHostPort(m.Addr())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Failed reports an error if the server stops on its own.
func (m *Main) Failed() <-chan error { return m.failed }

// Close stops serving, then stops watching the articles, then closes the
// knowledge base and the store. It is safe to call after a failed Run.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		m.cancelBase()
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := m.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
			m.server.Close()
		}
		<-m.serveDone
		m.server = nil
	}
	if m.widget != nil {
		// The base context is cancelled, so every bubble's WebSocket is
		// closing; wait for their handlers before closing the store.
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := m.widget.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		m.widget = nil
	}
	if m.console != nil {
		// The same for the console's sockets; it also stops checking
		// sessions, which reads the store.
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := m.console.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		m.console = nil
	}
	// Replies being stored finish, and the sender stops, before the store
	// they write to closes.
	if err := m.stopMail(); err != nil {
		errs = append(errs, err)
	}
	if m.stopHours != nil {
		m.stopHours()
		m.stopHours = nil
	}
	if m.stopSweep != nil {
		m.stopSweep()
		m.stopSweep = nil
	}
	if m.cancelWatch != nil {
		m.cancelWatch()
		<-m.watchDone
		m.cancelWatch = nil
	}
	if m.base != nil {
		if err := m.base.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close articles: %w", err))
		}
		m.base = nil
	}
	if m.stopInsights != nil {
		m.stopInsights()
		m.stopInsights = nil
	}
	if m.store != nil {
		if err := m.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
		m.store = nil
	}
	return errors.Join(errs...)
}
