package widget

import "sync"

// hub tells the sessions of a conversation that it has new messages, so a
// visitor with two tabs open sees both sides in each. It carries no data:
// each session then reads what it has not sent from the store, in seq
// order, so nothing is lost, doubled or reordered, and a slow session
// never holds up the others.
type hub struct {
	mu   sync.Mutex
	subs map[int64]map[*Session]struct{}
}

func newHub() *hub { return &hub{subs: map[int64]map[*Session]struct{}{}} }

func (h *hub) subscribe(convID int64, s *Session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[convID] == nil {
		h.subs[convID] = map[*Session]struct{}{}
	}
	h.subs[convID][s] = struct{}{}
}

func (h *hub) unsubscribe(convID int64, s *Session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[convID], s)
	if len(h.subs[convID]) == 0 {
		delete(h.subs, convID)
	}
}

// publish wakes every session of the conversation but from. It never
// blocks: a session already woken has a pending notice, which covers this
// one too (the channel has room for one).
func (h *hub) publish(convID int64, from *Session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[convID] {
		if s == from {
			continue
		}
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}
}
