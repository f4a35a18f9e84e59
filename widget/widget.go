// Package widget owns the visitor's side of Bulle: the bubble script that
// any site embeds with one script tag, the demo page, and the visitor
// WebSocket, which records each visitor message in the conversation, asks
// the bot what to say, and records and sends the reply.
//
// ws.go and http.go talk HTTP; session.go holds the conversation logic and
// knows nothing of sockets, so it is tested without them too.
package widget

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
)

// Assistant decides what to say; *bot.Bot is one.
type Assistant interface {
	Reply(ctx context.Context, t bot.Turn) (bot.Decision, error)
	Unhelpful(ctx context.Context, lang string, streak int) (bot.Decision, bool)
}

// Conversations stores conversations and their messages; *escalation.Store
// is one.
type Conversations interface {
	CreateConversation(ctx context.Context, lang, origin string) (escalation.Conversation, string, error)
	ConversationByToken(ctx context.Context, token string) (escalation.Conversation, error)
	AppendMessage(ctx context.Context, m escalation.NewMessage) (escalation.Message, bool, error)
	MessagesAfter(ctx context.Context, conversationID, after int64, limit int) ([]escalation.Message, error)
	ReplyTo(ctx context.Context, conversationID, seq int64) (escalation.Message, bool, error)
	RecordAnswerVote(ctx context.Context, conversationID, seq int64, helpful bool) (bool, error)
	UnhelpfulStreak(ctx context.Context, conversationID int64) (int, error)
}

// Tickets opens tickets from the bubble; *escalation.Desk is one.
type Tickets interface {
	CreateTicket(ctx context.Context, nt escalation.NewTicket) (escalation.CreatedTicket, error)
	TicketOfConversation(ctx context.Context, conversationID int64) (escalation.Ticket, error)
	Topics() []escalation.Topic
}

var (
	_ Assistant     = (*bot.Bot)(nil)
	_ Conversations = (*escalation.Store)(nil)
	_ Tickets       = (*escalation.Desk)(nil)
)

// Defaults of Options.
const (
	// DefaultMaxFrameBytes fits a 2,000-character message in any script
	// (up to 4 bytes each in UTF-8) with its JSON envelope.
	DefaultMaxFrameBytes = 8 << 10
	// DefaultMaxTextRunes is the longest visitor message: a question, not
	// a document. Longer ones are refused with too_long.
	DefaultMaxTextRunes = 2000
	// DefaultRate and DefaultBurst: a person types at most a message or two
	// a second, and clicks a few buttons in a row; a script sending more is
	// slowed down with rate_limited instead of loading the bot.
	DefaultRate  = 5
	DefaultBurst = 10
)

// Options configure the widget.
type Options struct {
	// AllowedOrigins are the sites that may open the visitor WebSocket,
	// as scheme://host[:port]. The server's own origin is always allowed.
	AllowedOrigins []string
	// BaseURL is the server's public URL; its origin is allowed too.
	BaseURL string
	// MaxFrameBytes bounds a client frame; larger ones get too_large.
	MaxFrameBytes int
	// MaxTextRunes bounds a visitor message, in characters.
	MaxTextRunes int
	// Rate (frames per second) and Burst limit each connection.
	Rate  float64
	Burst int
	// Langs the bubble speaks, and the one used when a hello names another.
	Langs       []string
	DefaultLang string
	Logger      *slog.Logger
	// AnswerLatency, when set, is told the time from reading a visitor's
	// message frame to writing the bot's reply, for benchmarks and metrics.
	AnswerLatency func(time.Duration)
	// Tickets, when set, lets visitors open an email ticket from the bubble.
	// When it is also a Verifier, they can verify the ticket's address.
	Tickets Tickets
	// Transcripts, when set, lets visitors have the conversation mailed
	// to them (transcript.go).
	Transcripts Transcripts
	// Attachments, when set, lets the bubble download the conversation's
	// files (attachments.go).
	Attachments Attachments
	// Requests, when set, serves the "My requests" pages (requests.go).
	Requests Requests
	// Identities, when set, checks the identity the embedding site signs
	// for its visitor (hello's identity; see verify.go).
	Identities Identities

	// Live chat (livechat.go). LiveChat, when set, queues a visitor who
	// asks for a person while chat is open: within ChatHours (nil: always),
	// with at least one of Agents online (nil: nobody), and a wait under
	// ChatMaxWait (DefaultChatMaxWait when 0). Otherwise the bubble offers
	// an email ticket on the same conversation.
	LiveChat    LiveChat
	ChatHours   ChatHours
	Agents      Agents
	ChatMaxWait time.Duration
	// ChatAbandonAfter is how long a queued chat waits with no socket of
	// its conversation open before it leaves the queue (abandon.go);
	// DefaultChatAbandonAfter when 0.
	ChatAbandonAfter time.Duration
	// Hub carries conversation, typing and queue events between the
	// bubbles and the agents' consoles; nil makes one for the widget alone.
	Hub Hub
}

// Widget serves the bubble and the visitor WebSocket. Create it with New.
type Widget struct {
	store   Conversations
	bot     Assistant
	opt     Options
	log     *slog.Logger
	origins *originList
	hub     *hub
	absent  *absences // queued chats whose visitor left (abandon.go)

	contactLimits contactLimits

	// stopping ends every connection when Shutdown is called.
	stopping context.Context
	stop     context.CancelFunc
	mu       sync.Mutex // guards closed and conns.Add
	closed   bool
	conns    sync.WaitGroup
}

// New returns a widget that stores conversations in store and asks a what
// to say. It fails on a malformed allowed origin, or when the chats
// already queued cannot be read (their timers start here: abandon.go).
func New(store Conversations, a Assistant, opt Options) (*Widget, error) {
	if opt.MaxFrameBytes <= 0 {
		opt.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if opt.MaxTextRunes <= 0 {
		opt.MaxTextRunes = DefaultMaxTextRunes
	}
	if opt.Rate <= 0 {
		opt.Rate = DefaultRate
	}
	if opt.Burst <= 0 {
		opt.Burst = DefaultBurst
	}
	if len(opt.Langs) == 0 {
		opt.Langs = []string{"en", "fr"}
	}
	if !slices.Contains(opt.Langs, opt.DefaultLang) {
		opt.DefaultLang = opt.Langs[0]
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	origins, err := newOriginList(opt.AllowedOrigins, opt.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("widget: %w", err)
	}
	if opt.ChatMaxWait <= 0 {
		opt.ChatMaxWait = DefaultChatMaxWait
	}
	if opt.ChatAbandonAfter <= 0 {
		opt.ChatAbandonAfter = DefaultChatAbandonAfter
	}
	if opt.Hub == nil {
		opt.Hub = escalation.NewHub(escalation.HubOptions{Logger: opt.Logger})
	}
	w := &Widget{store: store, bot: a, opt: opt, log: opt.Logger, origins: origins, hub: newHub(opt.Hub)}
	w.stopping, w.stop = context.WithCancel(context.Background())
	w.absent = newAbsences(w, opt.ChatAbandonAfter)
	ctx, cancel := context.WithTimeout(context.Background(), abandonTimeout)
	defer cancel()
	if err := w.absent.start(ctx); err != nil { // chats queued before a restart
		w.stop()
		return nil, err
	}
	return w, nil
}

// Shutdown closes every visitor WebSocket (status 1001, going away),
// refuses new ones, stops the timers of queued chats, and waits until
// their handlers have returned or ctx ends. Call it before closing the
// store.
func (w *Widget) Shutdown(ctx context.Context) error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.absent.stop() // first: the sockets shutdown closes abandon nothing
	w.stop()
	done := make(chan struct{})
	go func() {
		w.conns.Wait()
		w.absent.wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("widget: shutdown: %w", ctx.Err())
	}
}

// enter counts a new connection; false when shutting down.
func (w *Widget) enter() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.conns.Add(1)
	return true
}

// topics are the ticket form's choices in lang; none without tickets.
func (w *Widget) topics(lang string) []topicInfo {
	if w.opt.Tickets == nil {
		return nil
	}
	var out []topicInfo
	for _, t := range w.opt.Tickets.Topics() {
		label := t.Label[lang]
		if label == "" {
			label = t.ID
		}
		out = append(out, topicInfo{ID: t.ID, Label: label})
	}
	return out
}

// lang is the supported language closest to what a hello asked for.
func (w *Widget) lang(asked string) string {
	if slices.Contains(w.opt.Langs, asked) {
		return asked
	}
	return w.opt.DefaultLang
}
