package widget

import "github.com/bulle-help/bulle/escalation"

// Hub carries the events of conversations and of the chat queue between
// the bubbles and the agents' consoles; *escalation.Hub is one, shared
// with the console. Events carry no messages: each session reads what it
// has not sent from the store, in seq order, so nothing is lost, doubled
// or reordered, and a slow session never holds up the others.
type Hub interface {
	SubscribeFunc(conversationID int64, fn func(escalation.Event)) *escalation.Subscription
	Publish(conversationID int64)
	PublishQueue()
}

var _ Hub = (*escalation.Hub)(nil)

// hub ties sessions to the Hub: a session follows its conversation from
// its hello, and what it stores wakes every other session of the
// conversation (another tab of the visitor, an agent's console).
type hub struct{ events Hub }

func newHub(events Hub) *hub { return &hub{events: events} }

// subscribe follows the conversation for s. What arrives becomes the
// session's pending state and a wake, which never block on the socket:
// the Hub never finds a visitor's session slow, and a visitor whose
// socket stalls is dropped by the write timeout instead (ws.go).
func (h *hub) subscribe(convID int64, s *Session) {
	s.live.attach(h.events.SubscribeFunc(convID, func(ev escalation.Event) {
		if s.live.note(ev) {
			s.wake()
		}
	}))
}

// unsubscribe stops following the conversation.
func (h *hub) unsubscribe(_ int64, s *Session) {
	if sub := s.live.detach(); sub != nil {
		sub.Close()
	}
}

// publish wakes every session of the conversation but from, which has
// sent what it stored already.
func (h *hub) publish(convID int64, from *Session) {
	if sub := from.live.subscription(); sub != nil {
		sub.Publish(convID)
		return
	}
	h.events.Publish(convID)
}

// publishQueue says the chat queue changed, to the consoles and the
// queued visitors.
func (h *hub) publishQueue() { h.events.PublishQueue() }
