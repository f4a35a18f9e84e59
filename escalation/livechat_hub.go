package escalation

import (
	"io"
	"log/slog"
	"sync"
)

// The Hub is live chat's in-process fan-out: the visitor's bubbles and the
// agents' consoles follow a conversation, and the consoles the queue, and
// whoever changes one publishes it.
//
// Events carry no messages. A message event says "this conversation has
// new stored messages": each subscriber then reads, from the store, the
// ones after the last seq it has, in order. So nothing is lost, doubled or
// reordered, whatever the hub drops, and a subscriber that reconnects
// catches up by seq the same way. Only typing, which is never stored,
// travels in the event itself.
//
// A publisher never waits. A subscriber either gives a function, which
// the hub calls with each event under its lock and which only records it
// (a visitor's bubble, whose pending state coalesces events, so it cannot
// fall behind), or reads a small buffered channel;
// one whose buffer is full is slow, and is dropped: its channel is closed
// and Dropped reports true. Its owner then closes its socket, and the
// client reconnects and replays the gap by seq. A slow agent's console or
// visitor's bubble therefore cannot hold up anyone else. Sockets also
// write with a deadline (widget/ws.go), so a stalled one ends on its own.

// EventKind says what an Event is about.
type EventKind uint8

// The kinds of events.
const (
	// EventMessages: the conversation has new stored messages (a status
	// change is one too: its system note).
	EventMessages EventKind = iota + 1
	// EventTyping: Role started (On) or stopped typing in the conversation.
	EventTyping
	// EventQueue: the chat queue gained or lost a chat.
	EventQueue
)

// Event is one thing that happened. ConversationID is 0 for EventQueue.
type Event struct {
	Kind           EventKind
	ConversationID int64
	Role           Role // EventTyping: who types, visitor or agent
	On             bool // EventTyping
}

// DefaultHubBuffer is each subscriber's buffer: a subscriber reading its
// events promptly never has more than a few waiting, so 64 behind means
// it is stuck (a socket write waiting on its deadline).
const DefaultHubBuffer = 64

// HubOptions configure a Hub.
type HubOptions struct {
	// Buffer is each subscriber's buffer, DefaultHubBuffer when 0.
	Buffer int
	Logger *slog.Logger
}

// Hub fans events out to subscribers. Its zero value is not usable; make
// one with NewHub and share it between the widget and the console.
type Hub struct {
	buffer int
	log    *slog.Logger

	mu    sync.Mutex // guards the maps and every Subscription's fields
	convs map[int64]map[*Subscription]struct{}
	queue map[*Subscription]struct{}
}

// NewHub returns an empty hub.
func NewHub(opt HubOptions) *Hub {
	if opt.Buffer <= 0 {
		opt.Buffer = DefaultHubBuffer
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Hub{buffer: opt.Buffer, log: opt.Logger,
		convs: map[int64]map[*Subscription]struct{}{}, queue: map[*Subscription]struct{}{}}
}

// Subscription receives the events of what it follows, on C, until it is
// closed or dropped. Follow more with Follow and FollowQueue.
type Subscription struct {
	h  *Hub
	c  chan Event  // nil when fn receives the events
	fn func(Event) // called under h.mu

	// Guarded by h.mu.
	convs   map[int64]struct{}
	queue   bool
	closed  bool
	dropped bool
}

// Subscribe follows one conversation (none when conversationID is 0).
func (h *Hub) Subscribe(conversationID int64) *Subscription {
	s := &Subscription{h: h, c: make(chan Event, h.buffer), convs: map[int64]struct{}{}}
	if conversationID != 0 {
		s.Follow(conversationID)
	}
	return s
}

// SubscribeFunc follows one conversation (none when conversationID is 0)
// and calls fn with each event, in order, holding the hub's lock: fn must
// not wait, nor call the hub. Such a subscription has no channel (C is
// nil) and is never dropped.
func (h *Hub) SubscribeFunc(conversationID int64, fn func(Event)) *Subscription {
	s := &Subscription{h: h, fn: fn, convs: map[int64]struct{}{}}
	if conversationID != 0 {
		s.Follow(conversationID)
	}
	return s
}

// SubscribeQueue follows the queue.
func (h *Hub) SubscribeQueue() *Subscription {
	s := h.Subscribe(0)
	s.FollowQueue(true)
	return s
}

// Publish says the conversation has new stored messages.
func (h *Hub) Publish(conversationID int64) {
	h.toConversation(Event{Kind: EventMessages, ConversationID: conversationID}, nil)
}

// PublishTyping says role started or stopped typing in the conversation.
func (h *Hub) PublishTyping(conversationID int64, role Role, on bool) {
	h.toConversation(Event{Kind: EventTyping, ConversationID: conversationID, Role: role, On: on}, nil)
}

// PublishQueue says the queue changed.
func (h *Hub) PublishQueue() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sendLocked(h.queue, Event{Kind: EventQueue}, nil)
}

// PublishChange publishes what a chat operation did: its note to the
// conversation's followers, and a queue event when the queue changed.
func (h *Hub) PublishChange(c ChatChange) {
	if c.Created {
		h.Publish(c.Chat.ConversationID)
	}
	if c.QueueChanged {
		h.PublishQueue()
	}
}

func (h *Hub) toConversation(ev Event, except *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sendLocked(h.convs[ev.ConversationID], ev, except)
}

// sendLocked offers ev to each subscriber but except, without waiting:
// a full buffer drops its subscriber.
func (h *Hub) sendLocked(subs map[*Subscription]struct{}, ev Event, except *Subscription) {
	for s := range subs {
		if s == except {
			continue
		}
		if s.fn != nil {
			s.fn(ev)
			continue
		}
		select {
		case s.c <- ev:
		default:
			s.dropped = true
			s.endLocked()
			h.log.Warn("live chat subscriber dropped: too slow", "buffer", h.buffer, "conversation_id", ev.ConversationID)
		}
	}
}

// C delivers the events. It is closed when the subscription is closed or
// dropped, and nil for a SubscribeFunc subscription.
func (s *Subscription) C() <-chan Event { return s.c }

// Dropped reports whether the hub dropped the subscription for being
// slow; its owner should then close its connection, so the client
// reconnects and replays what it missed.
func (s *Subscription) Dropped() bool {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return s.dropped
}

// Follow adds a conversation's events.
func (s *Subscription) Follow(conversationID int64) {
	h := s.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.closed {
		return
	}
	if h.convs[conversationID] == nil {
		h.convs[conversationID] = map[*Subscription]struct{}{}
	}
	h.convs[conversationID][s] = struct{}{}
	s.convs[conversationID] = struct{}{}
}

// Unfollow stops a conversation's events.
func (s *Subscription) Unfollow(conversationID int64) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.unfollowLocked(conversationID)
}

func (s *Subscription) unfollowLocked(conversationID int64) {
	h := s.h
	delete(h.convs[conversationID], s)
	if len(h.convs[conversationID]) == 0 {
		delete(h.convs, conversationID)
	}
	delete(s.convs, conversationID)
}

// FollowQueue starts (on) or stops the queue's events.
func (s *Subscription) FollowQueue(on bool) {
	h := s.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.closed {
		return
	}
	s.queue = on
	if on {
		h.queue[s] = struct{}{}
	} else {
		delete(h.queue, s)
	}
}

// Publish says the conversation has new stored messages, to every
// follower but s: the publisher has them already.
func (s *Subscription) Publish(conversationID int64) {
	s.h.toConversation(Event{Kind: EventMessages, ConversationID: conversationID}, s)
}

// PublishTyping says role started or stopped typing, to every follower
// of the conversation but s.
func (s *Subscription) PublishTyping(conversationID int64, role Role, on bool) {
	s.h.toConversation(Event{Kind: EventTyping, ConversationID: conversationID, Role: role, On: on}, s)
}

// Close ends the subscription and closes C. It is safe to call twice, and
// after a drop.
func (s *Subscription) Close() {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.endLocked()
}

// endLocked unregisters s and closes its channel, once. Closing under
// h.mu, where every send happens, means no send ever meets a closed
// channel.
func (s *Subscription) endLocked() {
	if s.closed {
		return
	}
	s.closed = true
	for id := range s.convs {
		s.unfollowLocked(id)
	}
	delete(s.h.queue, s)
	if s.c != nil {
		close(s.c)
	}
}
