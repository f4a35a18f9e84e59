package widget

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

// A visitor waiting in the chat queue who goes away must not stay queued
// forever: an agent would claim a chat nobody reads, and everyone behind
// would wait longer. So the widget counts each conversation's open
// sockets, each from its hello to the end of Widget.serve. When the last
// one of a queued chat closes, a timer of ChatAbandonAfter starts: the
// time to reload the page, follow a link on the site or come back from
// another tab. A socket of the conversation back before it fires stops
// it; otherwise the chat is abandoned (the store takes it out of the queue
// with a chat_abandoned note) and the consoles are told. Only a queued
// chat is abandoned: one an agent holds is the agent's to close. After a
// restart no socket is open yet, so every chat already queued gets the
// same grace for its visitor's bubble to reconnect.

// ChatAbandoner takes away the chats whose visitor left the queue;
// *escalation.Store is one (LiveChat includes it).
type ChatAbandoner interface {
	// QueuedChats lists the queue, at start.
	QueuedChats(ctx context.Context) ([]escalation.Chat, error)
	// AbandonChat takes a queued chat out of the queue, with a note; a
	// chat no longer queued (claimed, converted) is ErrConflict.
	AbandonChat(ctx context.Context, conversationID int64) (escalation.ChatChange, error)
}

var _ ChatAbandoner = (*escalation.Store)(nil)

// DefaultChatAbandonAfter is how long a queued chat waits with no socket
// of its conversation open before it is abandoned: long enough to reload
// a page or come back from another tab, short enough that agents do not
// claim chats nobody reads.
const DefaultChatAbandonAfter = 2 * time.Minute

// abandonTimeout bounds the store's work for one socket's leaving or one
// abandonment.
const abandonTimeout = 10 * time.Second

// stopper is what absences needs of a *time.Timer; tests give their own
// to fire timers when they choose.
type stopper interface{ Stop() bool }

// absences counts the sockets of each conversation and holds a timer for
// each queued chat that has none.
type absences struct {
	w     *Widget
	grace time.Duration
	after func(time.Duration, func()) stopper // time.AfterFunc; tests replace it

	mu      sync.Mutex
	open    map[int64]int      // sockets open, by conversation; none: no entry
	pending map[int64]*absence // armed timers, by conversation
	stopped bool               // Shutdown: arm nothing more
	firing  sync.WaitGroup     // abandonments under way
}

// absence is one armed timer. A timer that fires after it was stopped or
// replaced finds another absence (or none) in pending, and does nothing.
type absence struct{ t stopper }

func newAbsences(w *Widget, grace time.Duration) *absences {
	return &absences{w: w, grace: grace, open: map[int64]int{}, pending: map[int64]*absence{},
		after: func(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) }}
}

// start arms a timer for each chat already queued: at start no socket is
// open, and the visitors' bubbles reconnect within the grace or never.
func (a *absences) start(ctx context.Context) error {
	if a.w.opt.LiveChat == nil {
		return nil
	}
	chats, err := a.w.opt.LiveChat.QueuedChats(ctx)
	if err != nil {
		return fmt.Errorf("widget: queued chats: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range chats {
		a.armLocked(c.ConversationID)
	}
	if len(chats) > 0 {
		a.w.log.Info("queued chats wait for their visitors", "chats", len(chats), "abandon_after", a.grace)
	}
	return nil
}

// arrive counts a socket of the conversation, and stops its timer.
func (a *absences) arrive(convID int64) {
	if a.w.opt.LiveChat == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.open[convID]++
	if p := a.pending[convID]; p != nil {
		p.t.Stop()
		delete(a.pending, convID)
		a.w.log.Debug("chat abandon cancelled: the visitor is back", "conversation_id", convID)
	}
}

// leave uncounts a socket (none when convID is 0: it never said hello).
// The last one of a queued chat arms its timer.
func (a *absences) leave(convID int64) {
	if convID == 0 || a.w.opt.LiveChat == nil {
		return
	}
	a.mu.Lock()
	a.open[convID]--
	last, stopped := a.open[convID] <= 0, a.stopped
	if last {
		delete(a.open, convID)
	}
	a.mu.Unlock()
	if !last || stopped {
		return
	}
	// Read outside the lock: other sockets come and go meanwhile, and the
	// count is checked again before arming.
	ctx, cancel := context.WithTimeout(a.w.stopping, abandonTimeout)
	defer cancel()
	chat, err := a.w.opt.LiveChat.ChatOf(ctx, convID)
	switch {
	case errors.Is(err, escalation.ErrNotFound):
		return // never asked for chat: the common case
	case err != nil && ctx.Err() != nil:
		return // shutting down; the next start arms what is still queued
	case err != nil:
		// Arm anyway: the store abandons only a chat still queued.
		a.w.log.Error("widget failure", "action", "read chat", "conversation_id", convID, "err", err)
	case chat.Status != escalation.ChatQueued:
		return // an agent holds it, or it ended
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.open[convID] == 0 {
		a.armLocked(convID)
	}
}

// armLocked starts the conversation's timer, unless one runs. a.mu is held.
func (a *absences) armLocked(convID int64) {
	if a.stopped || a.pending[convID] != nil {
		return
	}
	p := &absence{}
	// The callback takes a.mu before it reads pending, so it finds p there
	// even when the grace is shorter than this assignment.
	p.t = a.after(a.grace, func() { a.fire(convID, p) })
	a.pending[convID] = p
	a.w.log.Debug("chat abandon armed", "conversation_id", convID, "abandon_after", a.grace)
}

// fire abandons the conversation's chat, unless p was stopped meanwhile.
func (a *absences) fire(convID int64, p *absence) {
	a.mu.Lock()
	if a.stopped || a.pending[convID] != p {
		a.mu.Unlock()
		return // the visitor came back, or shutting down
	}
	delete(a.pending, convID)
	// Added under a.mu, where stop sets stopped: no Add ever follows the
	// Wait in wait.
	a.firing.Add(1)
	a.mu.Unlock()
	defer a.firing.Done()
	a.abandon(convID)
}

// abandon takes the chat out of the queue and tells the consoles: the
// queue changed, and the conversation has a chat_abandoned note. A socket
// whose hello is under way may see the note too, as if it came just
// after the grace; the bubble then offers to ask again.
func (a *absences) abandon(convID int64) {
	ctx, cancel := context.WithTimeout(a.w.stopping, abandonTimeout)
	defer cancel()
	ch, err := a.w.opt.LiveChat.AbandonChat(ctx, convID)
	switch {
	case errors.Is(err, escalation.ErrConflict), errors.Is(err, escalation.ErrNotFound):
		return // claimed or converted during the grace: not the visitor's to leave now
	case err != nil && a.w.stopping.Err() != nil:
		return // shutting down; the next start arms it again
	case err != nil:
		a.w.log.Error("widget failure", "action", "abandon chat", "conversation_id", convID, "err", err)
		// Try again after another grace, so that a passing failure does
		// not leave the chat queued forever.
		a.mu.Lock()
		if a.open[convID] == 0 {
			a.armLocked(convID)
		}
		a.mu.Unlock()
		return
	}
	if ch.Created {
		a.w.log.Info("chat abandoned", "conversation_id", convID, "seq", ch.Note.Seq,
			"queued_for", time.Since(ch.Chat.QueuedAt).Round(time.Second))
		a.w.hub.events.Publish(convID)
	}
	if ch.QueueChanged {
		a.w.hub.publishQueue()
	}
}

// stop stops every timer and arms no more; wait then waits for the
// abandonments under way.
func (a *absences) stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopped = true
	for id, p := range a.pending {
		p.t.Stop()
		delete(a.pending, id)
	}
}

func (a *absences) wait() { a.firing.Wait() }
