package console

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

// Causes of a socket's context ending (context.Cause), so that its
// handler says why it closes.
var (
	// ErrSessionEnded: the session was signed out, expired, or its agent
	// was removed. The socket should close for good (status 4001).
	ErrSessionEnded = errors.New("console: session ended")
	// ErrShutdown: the server is stopping. The client may reconnect later.
	ErrShutdown = errors.New("console: shutting down")
)

// DefaultRevalidate is how often the open sockets' sessions are checked
// against the database. A logout in this process closes its sockets at
// once; this interval bounds the delay for everything the process does
// not see: `bulle agent remove` from a shell, expiry, a session deleted
// by a password reset.
const DefaultRevalidate = time.Second

// SessionStore is what the registry reads and writes.
type SessionStore interface {
	LiveConsoleSessions(ctx context.Context, ids []int64) (map[int64]escalation.ConsoleSession, error)
	SetAgentAway(ctx context.Context, agentID int64, away bool) error
}

// Sessions is the registry of open console sockets, by session and by
// agent, and the presence it implies: an agent is online while at least
// one of their sockets is open and they have not set themselves away.
// A socket handler calls Attach once the handshake is done and watches
// its Socket's context; the registry cancels it when the session ends.
type Sessions struct {
	store SessionStore
	every time.Duration
	log   *slog.Logger

	mu        sync.Mutex
	bySession map[int64]map[*Socket]struct{}
	byAgent   map[int64]map[*Socket]struct{}
	away      map[int64]bool // of agents with a socket open
	closed    bool
}

// Socket is one open console socket, registered with Sessions.
type Socket struct {
	r         *Sessions
	SessionID int64
	AgentID   int64
	ctx       context.Context
	cancel    context.CancelCauseFunc
	changed   chan struct{}
	once      sync.Once
}

// NewSessions returns an empty registry that revalidates every `every`
// (DefaultRevalidate when 0) once Run is called.
func NewSessions(store SessionStore, every time.Duration, log *slog.Logger) *Sessions {
	if every <= 0 {
		every = DefaultRevalidate
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sessions{store: store, every: every, log: log,
		bySession: map[int64]map[*Socket]struct{}{}, byAgent: map[int64]map[*Socket]struct{}{}, away: map[int64]bool{}}
}

// Attach registers a socket of the live session sess. Its context ends
// when parent does, when the session ends (cause ErrSessionEnded) or on
// Close (cause ErrShutdown). Call Release when the socket is closed.
func (r *Sessions) Attach(parent context.Context, sess escalation.ConsoleSession) (*Socket, error) {
	ctx, cancel := context.WithCancelCause(parent)
	s := &Socket{r: r, SessionID: sess.ID, AgentID: sess.Agent.ID, ctx: ctx, cancel: cancel, changed: make(chan struct{}, 1)}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		cancel(ErrShutdown)
		return nil, ErrShutdown
	}
	// The agent's other sockets hear of an away flag changed meanwhile;
	// this one sends its first presence anyway.
	r.setAwayLocked(sess.Agent.ID, sess.Agent.Away)
	add(r.bySession, sess.ID, s)
	add(r.byAgent, sess.Agent.ID, s)
	r.log.Debug("console socket opened", "agent_id", sess.Agent.ID, "session_id", sess.ID)
	return s, nil
}

// Context ends when the socket must close; context.Cause says why.
func (s *Socket) Context() context.Context { return s.ctx }

// Changed receives when the agent's presence may have changed (away
// toggled, from this or another session); Online says what it is now.
func (s *Socket) Changed() <-chan struct{} { return s.changed }

// Release unregisters the socket; call it once the socket is closed.
// Calling it twice is harmless.
func (s *Socket) Release() {
	s.once.Do(func() {
		s.cancel(context.Canceled)
		r := s.r
		r.mu.Lock()
		defer r.mu.Unlock()
		remove(r.bySession, s.SessionID, s)
		remove(r.byAgent, s.AgentID, s)
		if len(r.byAgent[s.AgentID]) == 0 {
			delete(r.away, s.AgentID)
		}
	})
}

// EndSession closes every socket of a session: a logout in this process.
func (r *Sessions) EndSession(sessionID int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.bySession[sessionID] {
		s.cancel(ErrSessionEnded)
	}
}

// EndAgent closes every socket of an agent, whatever the session.
func (r *Sessions) EndAgent(agentID int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.byAgent[agentID] {
		s.cancel(ErrSessionEnded)
	}
}

// Online reports whether the agent has a console socket open and has not
// set themselves away.
func (r *Sessions) Online(agentID int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byAgent[agentID]) > 0 && !r.away[agentID]
}

// OnlineAgents lists the agents online now, in no order.
func (r *Sessions) OnlineAgents() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int64
	for id, socks := range r.byAgent {
		if len(socks) > 0 && !r.away[id] {
			out = append(out, id)
		}
	}
	return out
}

// OnlineCount is how many agents are online now.
func (r *Sessions) OnlineCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for id, socks := range r.byAgent {
		if len(socks) > 0 && !r.away[id] {
			n++
		}
	}
	return n
}

// SetAway records that the agent is away (or back), in the store, and
// tells their open sockets.
func (r *Sessions) SetAway(ctx context.Context, agentID int64, away bool) error {
	if err := r.store.SetAgentAway(ctx, agentID, away); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.byAgent[agentID]) > 0 {
		r.setAwayLocked(agentID, away)
	}
	r.log.Info("agent presence", "agent_id", agentID, "away", away)
	return nil
}

// setAwayLocked updates the cached away flag and wakes the agent's
// sockets when it changed.
func (r *Sessions) setAwayLocked(agentID int64, away bool) {
	if old, ok := r.away[agentID]; ok && old == away {
		return
	}
	r.away[agentID] = away
	r.notifyLocked(agentID)
}

// notifyLocked wakes the agent's sockets. It never blocks: a socket
// already woken has a pending notice, which covers this one.
func (r *Sessions) notifyLocked(agentID int64) {
	for s := range r.byAgent[agentID] {
		select {
		case s.changed <- struct{}{}:
		default:
		}
	}
}

// Run checks the open sockets' sessions every interval until ctx ends,
// closing the sockets of sessions no longer live and picking up away
// flags changed elsewhere.
func (r *Sessions) Run(ctx context.Context) {
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.revalidate(ctx)
		}
	}
}

// revalidate is one pass of Run. The query runs without the lock; a
// socket attached meanwhile is checked on the next pass.
func (r *Sessions) revalidate(ctx context.Context) {
	r.mu.Lock()
	ids := make([]int64, 0, len(r.bySession))
	for id := range r.bySession {
		ids = append(ids, id)
	}
	r.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	// A pass never takes longer than the interval it runs in.
	qctx, cancel := context.WithTimeout(ctx, max(r.every, time.Second))
	defer cancel()
	live, err := r.store.LiveConsoleSessions(qctx, ids)
	if err != nil {
		// Keep the sockets: a database hiccup must not sign everyone out.
		if ctx.Err() == nil {
			r.log.Warn("console sessions not revalidated", "err", err)
		}
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		sess, ok := live[id]
		if !ok {
			for s := range r.bySession[id] {
				s.cancel(ErrSessionEnded)
			}
			r.log.Info("console session ended, sockets closed", "session_id", id)
			continue
		}
		if len(r.byAgent[sess.Agent.ID]) > 0 {
			r.setAwayLocked(sess.Agent.ID, sess.Agent.Away)
		}
	}
}

// Close ends every socket (cause ErrShutdown) and refuses new ones.
func (r *Sessions) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for _, socks := range r.bySession {
		for s := range socks {
			s.cancel(ErrShutdown)
		}
	}
}

func add(m map[int64]map[*Socket]struct{}, key int64, s *Socket) {
	if m[key] == nil {
		m[key] = map[*Socket]struct{}{}
	}
	m[key][s] = struct{}{}
}

func remove(m map[int64]map[*Socket]struct{}, key int64, s *Socket) {
	delete(m[key], s)
	if len(m[key]) == 0 {
		delete(m, key)
	}
}
