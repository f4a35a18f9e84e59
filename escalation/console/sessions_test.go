package console

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

// fakeSessions is a SessionStore whose answers a test sets.
type fakeSessions struct {
	mu   sync.Mutex
	live map[int64]escalation.ConsoleSession
	err  error
	away map[int64]bool
}

var _ SessionStore = (*fakeSessions)(nil)

func (f *fakeSessions) LiveConsoleSessions(_ context.Context, ids []int64) (map[int64]escalation.ConsoleSession, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	out := map[int64]escalation.ConsoleSession{}
	for _, id := range ids {
		if s, ok := f.live[id]; ok {
			s.Agent.Away = f.away[s.Agent.ID]
			out[id] = s
		}
	}
	return out, nil
}

func (f *fakeSessions) SetAgentAway(_ context.Context, agentID int64, away bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.away[agentID] = away
	return nil
}

func (f *fakeSessions) set(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func session(id, agentID int64) escalation.ConsoleSession {
	return escalation.ConsoleSession{ID: id, Agent: escalation.Agent{ID: agentID}}
}

// ended says whether s's context has ended, and why.
func ended(s *Socket) (bool, error) {
	select {
	case <-s.Context().Done():
		return true, context.Cause(s.Context())
	default:
		return false, nil
	}
}

// changed says whether s was told of a change since the last call.
func changed(s *Socket) bool {
	select {
	case <-s.Changed():
		return true
	default:
		return false
	}
}

func TestSessionsRegistry(t *testing.T) {
	ctx := context.Background()
	store := &fakeSessions{live: map[int64]escalation.ConsoleSession{1: session(1, 10), 2: session(2, 10), 3: session(3, 30)},
		away: map[int64]bool{}}
	r := NewSessions(store, time.Hour, nil)
	attach := func(sess escalation.ConsoleSession) *Socket {
		t.Helper()
		s, err := r.Attach(ctx, sess)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	desk, phone, other := attach(session(1, 10)), attach(session(2, 10)), attach(session(3, 30))
	phone2 := attach(session(2, 10)) // two tabs of one session

	t.Run("an agent with a socket open is online", func(t *testing.T) {
		if !r.Online(10) || !r.Online(30) || r.Online(99) {
			t.Errorf("Online: 10 %v, 30 %v, 99 %v; want true, true, false", r.Online(10), r.Online(30), r.Online(99))
		}
		if n := r.OnlineCount(); n != 2 {
			t.Errorf("OnlineCount: %d, want 2 (agent 10 on three sockets, agent 30)", n)
		}
	})
	t.Run("away tells every socket of the agent, and only theirs", func(t *testing.T) {
		if err := r.SetAway(ctx, 10, true); err != nil {
			t.Fatal(err)
		}
		if r.Online(10) || !store.away[10] || r.OnlineCount() != 1 {
			t.Error("agent 10 away: still online or counted, or not stored")
		}
		if !changed(desk) || !changed(phone) || changed(other) {
			t.Error("want the change told to agent 10's sockets only")
		}
		r.SetAway(ctx, 10, true) // no change, no notice
		if changed(desk) {
			t.Error("same away again: told as a change")
		}
		r.SetAway(ctx, 10, false)
		if !r.Online(10) || !changed(desk) {
			t.Error("back: want online and told")
		}
	})
	t.Run("away set elsewhere shows at the next revalidation", func(t *testing.T) {
		store.set(func() { store.away[30] = true })
		r.revalidate(ctx)
		if r.Online(30) || !changed(other) {
			t.Error("agent 30 away in the store: want offline and told")
		}
	})
	t.Run("a database error keeps every socket", func(t *testing.T) {
		store.set(func() { store.err = errors.New("disk on fire") })
		r.revalidate(ctx)
		store.set(func() { store.err = nil })
		for _, s := range []*Socket{desk, phone, phone2, other} {
			if done, _ := ended(s); done {
				t.Error("socket closed on a database error")
			}
		}
	})
	t.Run("logout in this process ends the session's sockets only", func(t *testing.T) {
		r.EndSession(2)
		for s, want := range map[*Socket]bool{desk: false, phone: true, phone2: true, other: false} {
			if done, cause := ended(s); done != want || done && cause != ErrSessionEnded {
				t.Errorf("session %d: ended %v (%v), want %v", s.SessionID, done, cause, want)
			}
		}
		phone.Release()
		phone2.Release()
		phone2.Release() // twice is harmless
		if !r.Online(10) {
			t.Error("agent 10 still has the desk socket: want online")
		}
	})
	t.Run("a session gone from the store ends at revalidation", func(t *testing.T) {
		store.set(func() { delete(store.live, 1) })
		r.revalidate(ctx)
		if done, cause := ended(desk); !done || cause != ErrSessionEnded {
			t.Errorf("desk: ended %v (%v), want ErrSessionEnded", done, cause)
		}
		desk.Release()
		if r.Online(10) {
			t.Error("no socket left: still online")
		}
	})
	t.Run("close ends the rest and refuses new sockets", func(t *testing.T) {
		r.Close()
		if done, cause := ended(other); !done || cause != ErrShutdown {
			t.Errorf("other: ended %v (%v), want ErrShutdown", done, cause)
		}
		if _, err := r.Attach(ctx, session(3, 30)); !errors.Is(err, ErrShutdown) {
			t.Errorf("attach after close: %v, want ErrShutdown", err)
		}
	})
}

func TestSessionsRunRevalidatesUntilCancelled(t *testing.T) {
	store := &fakeSessions{live: map[int64]escalation.ConsoleSession{1: session(1, 10)}, away: map[int64]bool{}}
	r := NewSessions(store, 10*time.Millisecond, nil)
	s, _ := r.Attach(context.Background(), session(1, 10))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	store.set(func() { delete(store.live, 1) })
	select {
	case <-s.Context().Done():
	case <-time.After(2 * time.Second):
		t.Fatal("socket of a deleted session not ended by Run")
	}
	cancel()
	<-done
}
