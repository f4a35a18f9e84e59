package widget

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/bulle-help/bulle/escalation"
)

// liveState is a session's side of the Hub: its subscription, and what
// the Hub said that the next Flush must send. The Hub records events
// here, under its own lock and without waiting; Flush takes and clears
// them. Only the Hub's callback runs concurrently with the session's
// turn (Session.turn), so the flags are atomic and the lock guards sub.
type liveState struct {
	mu  sync.Mutex
	sub *escalation.Subscription

	queued     atomic.Bool  // following the queue: the chat waits for an agent
	queueDirty atomic.Bool  // the place may have changed: recompute and send it
	left       atomic.Bool  // the visitor left the queue: say position 0
	typing     atomic.Int32 // the agent's typing to send: 1 on, -1 off, 0 nothing new
}

func (l *liveState) attach(sub *escalation.Subscription) {
	l.mu.Lock()
	l.sub = sub
	l.mu.Unlock()
	if l.queued.Load() {
		sub.FollowQueue(true)
	}
}

func (l *liveState) detach() *escalation.Subscription {
	l.mu.Lock()
	defer l.mu.Unlock()
	sub := l.sub
	l.sub = nil
	return sub
}

func (l *liveState) subscription() *escalation.Subscription {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sub
}

// watchQueue follows the queue and asks the next flush for the place.
func (l *liveState) watchQueue() {
	l.queued.Store(true)
	l.queueDirty.Store(true)
	if sub := l.subscription(); sub != nil {
		sub.FollowQueue(true)
	}
}

// leaveQueue stops following the queue; told, the next flush says so.
func (l *liveState) leaveQueue(tell bool) {
	l.queued.Store(false)
	l.queueDirty.Store(false)
	if tell {
		l.left.Store(true)
	}
	if sub := l.subscription(); sub != nil {
		sub.FollowQueue(false)
	}
}

// note records an event; it reports whether the session should flush.
// The Hub calls it holding its lock: it must not wait.
func (l *liveState) note(ev escalation.Event) bool {
	switch ev.Kind {
	case escalation.EventMessages:
		return true
	case escalation.EventTyping:
		if ev.Role == escalation.RoleVisitor {
			return false // the visitor's own typing, from another tab
		}
		l.typing.Store(map[bool]int32{true: 1, false: -1}[ev.On])
		return true
	case escalation.EventQueue:
		if !l.queued.Load() {
			return false
		}
		l.queueDirty.Store(true)
		return true
	}
	return false
}

// take returns what the flush must send, and clears it: the agent's
// typing, whether to recompute the place, whether to say the visitor left
// the queue.
func (l *liveState) take() (typing int32, queue, left bool) {
	typing = l.typing.Swap(0)
	queue = l.queueDirty.Swap(false) && l.queued.Load()
	return typing, queue, l.left.Swap(false)
}

// Start lets the Hub's news reach the visitor without a frame from them:
// from now on each wake runs a Flush with ctx, in a goroutine of its own
// that ends with it, and a Flush that fails calls stop, which must end the
// connection. An idle bubble, the bulk of a server's sockets, thus costs
// no goroutine but the one reading its socket. Call Start before Handle.
func (s *Session) Start(ctx context.Context, stop func()) {
	s.bg, s.stop = ctx, stop
}

// wake runs a Flush soon, unless one is pending already: that one reads
// the store after this wake, so it sends what the wake was for. It never
// waits, for the Hub calls it holding its lock.
func (s *Session) wake() {
	if s.bg == nil || !s.wakePending.CompareAndSwap(false, true) {
		return
	}
	s.flushers.Add(1)
	go func() {
		defer s.flushers.Done()
		s.turn.Lock()
		defer s.turn.Unlock()
		s.wakePending.Store(false) // a wake from here on needs a flush of its own
		if s.bg.Err() != nil {
			return
		}
		if err := s.Flush(s.bg); err != nil {
			s.stop()
		}
	}()
}

// flushLiveLocked sends what the Hub said since the last flush: the
// agent's typing, the visitor's place in the queue. s.mu is held.
func (s *Session) flushLiveLocked(ctx context.Context) error {
	typing, queue, left := s.live.take()
	if typing != 0 {
		if err := s.send(ctx, typingFrame{Type: typeTyping, Role: string(escalation.RoleAgent), On: typing > 0}); err != nil {
			return err
		}
	}
	if left {
		return s.send(ctx, queueFrame{Type: typeQueue})
	}
	if !queue || s.w.opt.LiveChat == nil {
		return nil
	}
	pos, _, err := s.w.opt.LiveChat.QueuePosition(ctx, s.conv.ID)
	if err != nil && !errors.Is(err, escalation.ErrNotFound) {
		s.w.log.Error("widget failure", "action", "queue position", "conversation_id", s.conv.ID, "err", err)
		return nil // the next queue event tries again
	}
	f := queueFrame{Type: typeQueue, Position: pos}
	if pos == 0 {
		s.live.leaveQueue(false) // and say it now
	} else {
		wait, err := s.w.opt.LiveChat.WaitEstimate(ctx, pos)
		if err != nil {
			s.w.log.Error("widget failure", "action", "wait estimate", "conversation_id", s.conv.ID, "err", err)
			return nil
		}
		f.WaitS = int(wait.Seconds())
	}
	return s.send(ctx, f)
}

// typing relays the visitor's typing to the conversation's agent. It is
// not stored, and ignored when the server runs no live chat.
func (s *Session) typing(ctx context.Context, f inFrame) error {
	if f.On == nil {
		return s.fail(ctx, errFrame(CodeBadFrame, "typing needs on"))
	}
	if s.w.opt.LiveChat == nil {
		return nil
	}
	if sub := s.live.subscription(); sub != nil {
		sub.PublishTyping(s.conversation().ID, escalation.RoleVisitor, *f.On)
	}
	return nil
}

// rate records the visitor's rating of their closed chat, once.
func (s *Session) rate(ctx context.Context, f inFrame) error {
	if s.w.opt.LiveChat == nil {
		return s.fail(ctx, errFrame(CodeNoChat, "this help center runs no live chat"))
	}
	if f.ClientID != "" && !escalation.ValidClientID(f.ClientID) {
		return s.fail(ctx, errFrame(CodeBadFrame, "client_id must be 1 to 64 letters, digits, - or _"))
	}
	if f.Rating == nil {
		return s.fail(ctx, errorFrame{Type: typeError, Code: CodeBadFrame, ClientID: f.ClientID, Message: "rate needs rating"})
	}
	convID := s.conversation().ID
	ch, err := s.w.opt.LiveChat.RateChat(ctx, convID, escalation.ChatRating{Rating: *f.Rating, Comment: f.Comment, ClientID: f.ClientID})
	var ve *escalation.ValidationError
	switch {
	case errors.As(err, &ve):
		return s.fail(ctx, errorFrame{Type: typeError, Code: CodeBadRating, ClientID: f.ClientID, Field: ve.Field, Message: ve.Msg})
	case errors.Is(err, escalation.ErrChatNotClosed):
		return s.fail(ctx, errorFrame{Type: typeError, Code: CodeNotClosed, ClientID: f.ClientID,
			Message: "there is no closed chat to rate in this conversation"})
	case errors.Is(err, escalation.ErrAlreadyRated):
		return s.fail(ctx, errorFrame{Type: typeError, Code: CodeAlreadyRated, ClientID: f.ClientID,
			Message: "this chat was rated already"})
	case err != nil:
		return s.internalFor(ctx, f.ClientID, "rate chat", err)
	}
	if ch.Created {
		s.w.log.Info("chat rated", "conversation_id", convID, "seq", ch.Note.Seq, "rating", *f.Rating)
		s.w.hub.publish(convID, s)
	}
	if f.ClientID != "" {
		if err := s.send(ctx, ackFrame{Type: typeAck, ClientID: f.ClientID, Seq: ch.Note.Seq}); err != nil {
			return err
		}
	}
	return s.Flush(ctx)
}

// agentNames names the agent of each agent message in msgs, by seq.
func (w *Widget) agentNames(ctx context.Context, convID int64, msgs []escalation.Message) (map[int64]string, error) {
	if w.opt.LiveChat == nil {
		return nil, nil
	}
	var seqs []int64
	for _, m := range msgs {
		if m.Role == escalation.RoleAgent {
			seqs = append(seqs, m.Seq)
		}
	}
	if len(seqs) == 0 {
		return nil, nil
	}
	names, err := w.opt.LiveChat.AgentNames(ctx, convID, seqs)
	if err != nil {
		return nil, fmt.Errorf("widget: agent names: %w", err)
	}
	return names, nil
}
