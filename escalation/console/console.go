// Package console owns the agents' console: its sign-in (password setup
// links, login with rate limiting, sessions in a cookie, CSRF tokens),
// the registry of open console sockets that closes them when a session
// ends, presence (online while a socket is open and not away), and live
// chat's agent side (chat*.go: the queue, claims, replies, transfers over
// the console socket, and the chat pages). The rules and the data live in
// escalation; this package carries them over HTTP. http.go and ws.go hold the echo handlers; the rest has no HTTP
// framework in it.
package console

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

// Store is what the console needs; *escalation.Store is one.
type Store interface {
	SessionStore
	ChatStore     // live chat (chat.go)
	DeskStore     // tickets, search, canned responses, notes (tickets.go)
	InsightsStore // the insights page (insights.go)
	SetupTokenAgent(ctx context.Context, token string) (escalation.Agent, error)
	SetAgentPassword(ctx context.Context, setupToken, password string) (escalation.Agent, error)
	AgentLogin(ctx context.Context, email, password string) (escalation.Agent, error)
	OpenConsoleSession(ctx context.Context, agentID int64) (string, escalation.ConsoleSession, error)
	ConsoleSession(ctx context.Context, token string) (escalation.ConsoleSession, error)
	EndConsoleSession(ctx context.Context, id int64) error
}

var _ Store = (*escalation.Store)(nil)

// Options configure the console.
type Options struct {
	// BaseURL is the help center's public URL. When it is https, cookies
	// are Secure (as they are on any request that came over TLS), and its
	// origin is this site's even when a proxy rewrites Host.
	BaseURL string
	// DefaultLang is the pages' language when neither ?lang= nor
	// Accept-Language picks fr or en.
	DefaultLang string
	Logger      *slog.Logger
	// Revalidate is how often open sockets' sessions are checked in the
	// store; DefaultRevalidate when 0.
	Revalidate time.Duration
	// PingEvery is how often a socket is sent its presence while nothing
	// changes, which also keeps proxies from closing it; 25 s when 0.
	PingEvery time.Duration
	// LoginLimit and LoginLimitIP bound failed sign-ins per address and
	// per client IP; DefaultLoginLimit and DefaultLoginLimitIP when zero.
	LoginLimit, LoginLimitIP Limit
	// Now is the clock of the rate limits; time.Now when nil.
	Now func() time.Time
	// Hub carries live chat's events between the bubbles and the
	// consoles; share the widget's. Nil makes one for the console alone.
	Hub *escalation.Hub
	// WriteTimeout bounds one frame written to a console socket; a
	// console that stalls longer is dropped, and reconnects. 10 s when 0.
	WriteTimeout time.Duration
	// Desk mails ticket replies and opens attachments for the ticket
	// pages (tickets.go); nil refuses replies and downloads.
	Desk Desk
	// Zone is where the ticket pages show times and read the dates typed
	// in search: the business hours' zone, asked on each page so that a
	// reload applies. UTC when nil or when it returns nil.
	Zone func() *time.Location
	// Privacy finds and erases one address's data for admins (privacy.go);
	// nil refuses the privacy page.
	Privacy Privacy
	// Articles names articles and lists missing translations on the
	// insights page; nil leaves both out (ids stand for titles).
	Articles Articles
}

// Console serves the console's pages and socket. Create it with New,
// mount it with Register, Start its revalidation, Shutdown it before
// closing the store.
type Console struct {
	store    Store
	opt      Options
	log      *slog.Logger
	sessions *Sessions
	hub      *escalation.Hub
	byEmail  *failures
	byIP     *failures

	mu      sync.Mutex // guards closed, stopRun and conns.Add
	closed  bool
	stopRun context.CancelFunc
	runDone chan struct{}
	conns   sync.WaitGroup // socket handlers running
}

// New returns a console over store.
func New(store Store, opt Options) (*Console, error) {
	if opt.BaseURL != "" && !strings.HasPrefix(opt.BaseURL, "http://") && !strings.HasPrefix(opt.BaseURL, "https://") {
		return nil, fmt.Errorf("console: base URL %q: want http:// or https://", opt.BaseURL)
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.PingEvery <= 0 {
		opt.PingEvery = 25 * time.Second
	}
	if opt.LoginLimit.Failures <= 0 || opt.LoginLimit.Window <= 0 {
		opt.LoginLimit = DefaultLoginLimit
	}
	if opt.LoginLimitIP.Failures <= 0 || opt.LoginLimitIP.Window <= 0 {
		opt.LoginLimitIP = DefaultLoginLimitIP
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Hub == nil {
		opt.Hub = escalation.NewHub(escalation.HubOptions{Logger: opt.Logger})
	}
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = writeTimeout
	}
	return &Console{store: store, opt: opt, log: opt.Logger, hub: opt.Hub,
		sessions: NewSessions(store, opt.Revalidate, opt.Logger),
		byEmail:  newFailures(opt.LoginLimit), byIP: newFailures(opt.LoginLimitIP)}, nil
}

// Sessions is the registry of open console sockets: presence (Online)
// and closing on logout.
func (c *Console) Sessions() *Sessions { return c.sessions }

// Online is how many agents are online (a console socket open, not
// away): what the bubble asks before it offers live chat (widget.Agents).
func (c *Console) Online() int { return c.sessions.OnlineCount() }

// Start runs the revalidation of open sockets until Shutdown.
func (c *Console) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	c.mu.Lock()
	c.stopRun, c.runDone = cancel, done
	c.mu.Unlock()
	go func() {
		defer close(done)
		c.sessions.Run(ctx)
	}()
}

// Shutdown refuses new sockets, closes the open ones (status 1001, going
// away), stops the revalidation, and waits for the socket handlers to
// return or ctx to end. Call it before closing the store.
func (c *Console) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	c.closed = true
	stop, runDone := c.stopRun, c.runDone
	c.stopRun = nil
	c.mu.Unlock()
	c.sessions.Close()
	if stop != nil {
		stop()
		<-runDone
	}
	done := make(chan struct{})
	go func() {
		c.conns.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("console: shutdown: %w", ctx.Err())
	}
}

// enter counts a new socket handler; false when shutting down.
func (c *Console) enter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.conns.Add(1)
	return true
}

// secure says whether cookies get the Secure attribute: over TLS, or
// when the public URL is https (TLS ends at a proxy).
func (c *Console) secure(tls bool) bool {
	return tls || strings.HasPrefix(strings.ToLower(c.opt.BaseURL), "https://")
}
