package widget

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
	"github.com/coder/websocket"
)

// testGrace is the abandon grace of the tests that use real timers: short,
// for every wait on it ends on an event (with a timeout) or checks that
// nothing happened.
const testGrace = 100 * time.Millisecond

// fakeTimers stands in for the widget's timers: each timer armed arrives
// on armed, and the test fires it when it chooses.
type fakeTimers struct{ armed chan *fakeTimer }

type fakeTimer struct {
	d       time.Duration
	fire    func()
	stopped atomic.Bool
}

func (f *fakeTimer) Stop() bool { return !f.stopped.Swap(true) }

// useFakeTimers makes w arm fake timers from now on.
func useFakeTimers(w *Widget) *fakeTimers {
	ft := &fakeTimers{armed: make(chan *fakeTimer, 16)}
	w.absent.mu.Lock() // the lock under which timers are armed
	defer w.absent.mu.Unlock()
	w.absent.after = func(d time.Duration, f func()) stopper {
		t := &fakeTimer{d: d, fire: f}
		ft.armed <- t
		return t
	}
	return ft
}

// next waits for the next timer armed.
func (ft *fakeTimers) next(t *testing.T) *fakeTimer {
	t.Helper()
	select {
	case tm := <-ft.armed:
		return tm
	case <-time.After(5 * time.Second):
		t.Fatal("abandon timer: got none armed, want one")
	}
	return nil
}

// none checks that no timer was armed.
func (ft *fakeTimers) none(t *testing.T) {
	t.Helper()
	select {
	case tm := <-ft.armed:
		t.Fatalf("abandon timer: got one armed (%v), want none", tm.d)
	default:
	}
}

// sockets is how many sockets of the conversation the widget counts.
func (w *Widget) sockets(convID int64) int {
	w.absent.mu.Lock()
	defer w.absent.mu.Unlock()
	return w.absent.open[convID]
}

// armed reports whether the conversation's abandon timer runs.
func (w *Widget) armed(convID int64) bool {
	w.absent.mu.Lock()
	defer w.absent.mu.Unlock()
	return w.absent.pending[convID] != nil
}

// waitFor polls cond until it holds, or fails after 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("got no %s after 5 s, want it", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// queueVisitor opens a bubble, asks for chat and reads the queued note and
// place; it returns the client, its token and the note's seq.
func queueVisitor(t *testing.T, env liveEnv) (c *client, token string, convID, seq int64) {
	t.Helper()
	c = env.dial(t, "https://shop.example")
	c.send(map[string]any{"type": "hello", "lang": "fr"})
	w := c.nextOf(typeWelcome, "")
	c.askChat("p1")
	note := c.nextOf(typeMessage, escalation.KindChatQueued)
	if q := c.nextOf(typeQueue, ""); q.Position != 1 {
		t.Fatalf("queue frame: got %+v, want position 1", q)
	}
	return c, w.Token, w.Conv.ID, note.Seq
}

// resume opens another bubble on the conversation, from seq on, and reads
// its welcome. The widget counts it once the hello is done: a quiet()
// after it makes sure.
func resume(t *testing.T, env liveEnv, token string, seq int64) *client {
	t.Helper()
	c := env.dial(t, "https://shop.example")
	c.send(map[string]any{"type": "hello", "lang": "fr", "token": token, "last_seq": seq})
	c.nextOf(typeWelcome, "")
	return c
}

// consoleFollows is an agent's console: the queue and the conversation.
func consoleFollows(t *testing.T, hub *escalation.Hub, convID int64) *escalation.Subscription {
	t.Helper()
	sub := hub.SubscribeQueue()
	sub.Follow(convID)
	t.Cleanup(sub.Close)
	return sub
}

// waitQueueAndNote waits until the console heard of the queue change and
// of the conversation's new note.
func waitQueueAndNote(t *testing.T, sub *escalation.Subscription) {
	t.Helper()
	var queue, note bool
	for !queue || !note {
		switch ev := agentEvent(t, sub); ev.Kind {
		case escalation.EventQueue:
			queue = true
		case escalation.EventMessages:
			note = true
		}
	}
}

// lastKind is the kind of the conversation's latest message.
func lastKind(t *testing.T, store *escalation.Store, convID int64) string {
	t.Helper()
	msgs, err := store.MessagesAfter(context.Background(), convID, 0, 0)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("messages: got %d, %v; want some", len(msgs), err)
	}
	return msgs[len(msgs)-1].Kind
}

// chatStatus is the conversation's chat status.
func chatStatus(t *testing.T, store *escalation.Store, convID int64) escalation.ChatStatus {
	t.Helper()
	chat, err := store.ChatOf(context.Background(), convID)
	if err != nil {
		t.Fatal(err)
	}
	return chat.Status
}

func TestQueuedVisitorWhoLeavesIsAbandoned(t *testing.T) {
	env := newLiveEnv(t, func(o *Options) { o.ChatAbandonAfter = testGrace })
	c, token, convID, seq := queueVisitor(t, env)
	console := consoleFollows(t, env.hub, convID)

	c.conn.Close(websocket.StatusNormalClosure, "") // the tab is closed
	waitQueueAndNote(t, console)
	if st := chatStatus(t, env.store, convID); st != escalation.ChatAbandoned {
		t.Errorf("chat: got %s, want abandoned", st)
	}
	if k := lastKind(t, env.store, convID); k != escalation.KindChatAbandoned {
		t.Errorf("last message: got %s, want %s", k, escalation.KindChatAbandoned)
	}
	if q, err := env.store.QueuedChats(context.Background()); err != nil || len(q) != 0 {
		t.Errorf("queue: got %d chats, %v; want none", len(q), err)
	}

	// Back later, the visitor reads why in the replay, and has no place.
	c = resume(t, env, token, seq)
	if m := c.nextOf(typeMessage, escalation.KindChatAbandoned); m.Text != "Vous avez quitté la file d'attente." {
		t.Errorf("note: got %+v, want the French text", m)
	}
	c.quiet()
}

func TestQueuedVisitorBackWithinTheGraceKeepsTheirPlace(t *testing.T) {
	env := newLiveEnv(t, func(o *Options) { o.ChatAbandonAfter = time.Hour })
	timers := useFakeTimers(env.widget)
	c, token, convID, seq := queueVisitor(t, env)

	c.conn.Close(websocket.StatusNormalClosure, "") // a reload
	tm := timers.next(t)
	if tm.d != time.Hour {
		t.Errorf("grace: got %v, want the configured 1h", tm.d)
	}
	c = resume(t, env, token, seq)
	if q := c.nextOf(typeQueue, ""); q.Position != 1 {
		t.Errorf("place after the reload: got %+v, want position 1", q)
	}
	c.quiet() // the hello is done: the socket counts
	if !tm.stopped.Load() || env.widget.armed(convID) {
		t.Fatal("timer: got running, want stopped by the reconnect")
	}
	tm.fire() // a timer that fired just as it was stopped does nothing
	if st := chatStatus(t, env.store, convID); st != escalation.ChatQueued {
		t.Errorf("chat: got %s, want still queued", st)
	}
	if k := lastKind(t, env.store, convID); k != escalation.KindChatQueued {
		t.Errorf("last message: got %s, want no note after %s", k, escalation.KindChatQueued)
	}
	c.quiet()
}

func TestClosingOneOfTwoTabsKeepsTheQueue(t *testing.T) {
	env := newLiveEnv(t, func(o *Options) { o.ChatAbandonAfter = time.Hour })
	timers := useFakeTimers(env.widget)
	first, token, convID, seq := queueVisitor(t, env)
	second := resume(t, env, token, seq)
	second.nextOf(typeQueue, "")
	second.quiet()
	if n := env.widget.sockets(convID); n != 2 {
		t.Fatalf("sockets: got %d, want 2", n)
	}

	first.conn.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "first tab uncounted", func() bool { return env.widget.sockets(convID) == 1 })
	timers.none(t)

	// The last tab closes: now the grace starts, and its end abandons.
	console := consoleFollows(t, env.hub, convID)
	second.conn.Close(websocket.StatusNormalClosure, "")
	timers.next(t).fire()
	waitQueueAndNote(t, console)
	if st := chatStatus(t, env.store, convID); st != escalation.ChatAbandoned {
		t.Errorf("chat: got %s, want abandoned", st)
	}
}

func TestActiveChatIsNeverAbandoned(t *testing.T) {
	ctx := context.Background()
	t.Run("visitor leaves a claimed chat", func(t *testing.T) {
		env := newLiveEnv(t, func(o *Options) { o.ChatAbandonAfter = testGrace })
		ana, _, err := env.store.AddAgent(ctx, "ana@team.example", "Ana")
		if err != nil {
			t.Fatal(err)
		}
		c, _, convID, _ := queueVisitor(t, env)
		claim, err := env.store.ClaimChat(ctx, convID, ana.ID)
		if err != nil {
			t.Fatal(err)
		}
		env.hub.PublishChange(claim)
		c.nextOf(typeMessage, escalation.KindChatClaimed)
		c.nextOf(typeQueue, "")

		c.conn.Close(websocket.StatusNormalClosure, "")
		waitFor(t, "socket uncounted", func() bool { return env.widget.sockets(convID) == 0 })
		// Nothing to wait for: give a wrongly armed timer several graces.
		time.Sleep(5 * testGrace)
		if st := chatStatus(t, env.store, convID); st != escalation.ChatActive {
			t.Errorf("chat: got %s, want still active", st)
		}
		if k := lastKind(t, env.store, convID); k != escalation.KindChatClaimed {
			t.Errorf("last message: got %s, want %s", k, escalation.KindChatClaimed)
		}
	})
	t.Run("claimed during the grace", func(t *testing.T) {
		env := newLiveEnv(t, func(o *Options) { o.ChatAbandonAfter = time.Hour })
		timers := useFakeTimers(env.widget)
		ana, _, err := env.store.AddAgent(ctx, "ana@team.example", "Ana")
		if err != nil {
			t.Fatal(err)
		}
		c, _, convID, _ := queueVisitor(t, env)
		c.conn.Close(websocket.StatusNormalClosure, "")
		tm := timers.next(t)
		if _, err := env.store.ClaimChat(ctx, convID, ana.ID); err != nil {
			t.Fatal(err)
		}
		console := consoleFollows(t, env.hub, convID)
		tm.fire()
		if st := chatStatus(t, env.store, convID); st != escalation.ChatActive {
			t.Errorf("chat: got %s, want still active", st)
		}
		if n := len(console.C()); n != 0 {
			t.Errorf("console: got %d events, want none", n)
		}
		timers.none(t) // and no retry
	})
}

func TestChatsQueuedBeforeARestart(t *testing.T) {
	ctx := context.Background()
	// queuedBefore starts a widget on a store that has a queued chat, as
	// after a restart; it returns the env and the chat's conversation.
	queuedBefore := func(t *testing.T, grace time.Duration) (liveEnv, int64, string, *escalation.Subscription) {
		t.Helper()
		store := openStore(t)
		conv, token, err := store.CreateConversation(ctx, "fr", "https://shop.example")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.EnqueueChat(ctx, conv.ID, "", ""); err != nil {
			t.Fatal(err)
		}
		hub := escalation.NewHub(escalation.HubOptions{})
		console := consoleFollows(t, hub, conv.ID)
		base := openBase(t, writeArticles(t, testArticles))
		env := newEnvOn(t, base, bot.New(base, chatClosed{}, bot.DefaultConfig()), store, func(o *Options) {
			o.LiveChat, o.Agents, o.Hub, o.ChatAbandonAfter = store, online(1), hub, grace
		})
		return liveEnv{testEnv: env, hub: hub}, conv.ID, token, console
	}

	t.Run("no bubble comes back", func(t *testing.T) {
		env, convID, _, console := queuedBefore(t, testGrace)
		waitQueueAndNote(t, console)
		if st := chatStatus(t, env.store, convID); st != escalation.ChatAbandoned {
			t.Errorf("chat: got %s, want abandoned", st)
		}
		if k := lastKind(t, env.store, convID); k != escalation.KindChatAbandoned {
			t.Errorf("last message: got %s, want %s", k, escalation.KindChatAbandoned)
		}
	})
	t.Run("the bubble reconnects", func(t *testing.T) {
		env, convID, token, _ := queuedBefore(t, time.Hour)
		if !env.widget.armed(convID) {
			t.Fatal("timer: got none at start, want one")
		}
		c := resume(t, env, token, 0)
		c.nextOf(typeMessage, escalation.KindChatQueued)
		if q := c.nextOf(typeQueue, ""); q.Position != 1 {
			t.Errorf("place: got %+v, want position 1", q)
		}
		c.quiet()
		if env.widget.armed(convID) {
			t.Error("timer: got running, want stopped by the reconnect")
		}
	})
	t.Run("shutdown stops the timers", func(t *testing.T) {
		env, convID, _, _ := queuedBefore(t, testGrace)
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := env.widget.Shutdown(sctx); err != nil {
			t.Fatal(err)
		}
		if env.widget.armed(convID) {
			t.Error("timer: got running after Shutdown, want stopped")
		}
		time.Sleep(3 * testGrace) // a timer Shutdown missed would fire now
		if st := chatStatus(t, env.store, convID); st != escalation.ChatQueued {
			t.Errorf("chat: got %s, want still queued for the next start", st)
		}
	})
}
