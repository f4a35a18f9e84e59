package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// TestSoak runs the whole server under a moderate, steady load for
// BULLE_SOAK (a duration: .ci/run gives 1m, `make soak` 30m; skipped when
// unset): visitors who come, ask five questions and leave; live chats
// queued, claimed, talked through and closed by agents on their console
// sockets; tickets. It samples goroutines, heap and open files all along,
// and fails when anything errs or when they do not stay flat: the second
// half of the run may not hold much more than the first, and once the
// load stops, goroutines and files return to where they were before it.
// BULLE_SOAK_REPORT names a file for the samples, as CSV.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("BULLE_SOAK"))
	if err != nil || d <= 0 {
		t.Skip("set BULLE_SOAK to a duration (e.g. 1m) to run the soak test")
	}
	const (
		askers  = 8 // visitors asking questions, one after another
		chats   = 3 // live chats, one agent each
		tickets = 1 // visitors opening a ticket every second
	)
	m := runChatMain(t)
	agents := make([]*agent, chats)
	for i := range agents {
		agents[i] = signInAgent(t, m, fmt.Sprintf("soak%d@team.example", i), fmt.Sprintf("Soak %d", i))
	}
	before := sample(0)
	ctx, stop := context.WithTimeout(context.Background(), d)
	defer stop()

	var failures atomic.Int64
	var done atomic.Int64 // questions answered, chats closed, tickets opened
	fail := func(what string, err error) {
		if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
			return // the run ended mid-step
		}
		if failures.Add(1) <= 10 {
			t.Errorf("%s: %v", what, err)
		}
	}
	var wg sync.WaitGroup
	for i := range askers {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				if err := soakAsk(ctx, m, i, &done); err != nil {
					fail("visitor asking", err)
					sleepCtx(ctx, time.Second)
				}
			}
		})
	}
	for i := range chats {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				// An agent's pace: a chat every two seconds at most keeps
				// their socket under its rate limit (10 frames a second).
				next := time.Now().Add(2 * time.Second)
				if err := soakChat(ctx, m, agents[i], n, &done); err != nil {
					fail("live chat", err)
				}
				sleepCtx(ctx, time.Until(next))
			}
		})
	}
	for range tickets {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				if err := soakTicket(ctx, m, n, &done); err != nil {
					fail("ticket", err)
				}
				sleepCtx(ctx, time.Second)
			}
		})
	}

	samples := []soakSample{before}
	every := max(d/20, time.Second)
	tick := time.NewTicker(every)
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
			samples = append(samples, sample(time.Since(before.at0)))
		}
	}
	tick.Stop()
	wg.Wait()
	// Let the server finish with the last sockets.
	var after soakSample
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		after = sample(time.Since(before.at0))
		if (after.goroutines <= before.goroutines+10 && after.files <= before.files+10) || time.Now().After(deadline) {
			break
		}
	}
	samples = append(samples, after)

	report := []string{"seconds,goroutines,heap_mib,open_files"}
	for _, s := range samples {
		report = append(report, fmt.Sprintf("%.0f,%d,%.1f,%d", s.at.Seconds(), s.goroutines, float64(s.heap)/(1<<20), s.files))
	}
	t.Logf("soak %v: %d steps done, %d failures\n%s", d, done.Load(), failures.Load(), strings.Join(report, "\n"))
	if p := os.Getenv("BULLE_SOAK_REPORT"); p != "" {
		if err := os.WriteFile(p, []byte(strings.Join(report, "\n")+"\n"), 0o644); err != nil {
			t.Error(err)
		}
	}

	if done.Load() == 0 {
		t.Fatal("no step of the load was done")
	}
	if after.goroutines > before.goroutines+10 {
		t.Errorf("goroutines: %d after the load, %d before: a leak", after.goroutines, before.goroutines)
	}
	if after.files > before.files+10 {
		t.Errorf("open files: %d after the load, %d before: a leak", after.files, before.files)
	}
	// Under load (the samples between the first and the last), the second
	// half may not need much more heap than the first.
	load := samples[1 : len(samples)-1]
	if len(load) >= 4 {
		first, second := peakHeap(load[:len(load)/2]), peakHeap(load[len(load)/2:])
		if second > first+first/2+16<<20 {
			t.Errorf("heap grew under a steady load: peak %.1f MiB in the first half, %.1f MiB in the second",
				float64(first)/(1<<20), float64(second)/(1<<20))
		}
	}
}

type soakSample struct {
	at0        time.Time // when the first sample was taken
	at         time.Duration
	goroutines int
	heap       uint64 // in use after a collection
	files      int
}

// sample reads goroutines, heap in use after a collection, and open file
// descriptors (sockets, the database, the index).
func sample(at time.Duration) soakSample {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fds, _ := os.ReadDir("/proc/self/fd")
	return soakSample{at0: time.Now().Add(-at), at: at, goroutines: runtime.NumGoroutine(), heap: ms.HeapInuse, files: len(fds)}
}

func peakHeap(ss []soakSample) uint64 {
	var p uint64
	for _, s := range ss {
		p = max(p, s.heap)
	}
	return p
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// soakSocket is a bubble or console socket of the soak test; its reads
// skip what is not asked for, and fail after a timeout.
type soakSocket struct{ c *websocket.Conn }

func (s soakSocket) send(ctx context.Context, v any) error {
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return wsjson.Write(wctx, s.c, v)
}

// until reads frames until one satisfies ok; an error frame fails.
func (s soakSocket) until(ctx context.Context, what string, ok func(frame) bool) (frame, error) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		var f frame
		if err := wsjson.Read(rctx, s.c, &f); err != nil {
			return f, fmt.Errorf("waiting for %s: %w", what, err)
		}
		if f.Type == "error" {
			return f, fmt.Errorf("waiting for %s: error frame %s", what, f.Code)
		}
		if ok(f) {
			return f, nil
		}
	}
}

// openBubble dials the bubble's socket and says hello.
func openBubble(ctx context.Context, m *Main) (soakSocket, frame, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(m.URL(), "http")+"/widget/ws",
		&websocket.DialOptions{HTTPHeader: map[string][]string{"Origin": {"https://shop.example"}}})
	if err != nil {
		return soakSocket{}, frame{}, err
	}
	s := soakSocket{c}
	if err := s.send(ctx, map[string]any{"type": "hello", "lang": "fr"}); err != nil {
		c.CloseNow()
		return s, frame{}, err
	}
	w, err := s.until(ctx, "welcome", func(f frame) bool { return f.Type == "welcome" })
	if err != nil {
		c.CloseNow()
	}
	return s, w, err
}

// soakAsk is one visitor: five questions, each answered, then gone.
func soakAsk(ctx context.Context, m *Main, i int, done *atomic.Int64) error {
	v, _, err := openBubble(ctx, m)
	if err != nil {
		return err
	}
	defer v.c.Close(websocket.StatusNormalClosure, "")
	questions := []string{"comment réinitialiser mon mot de passe", "how do I reset my password",
		"mot de passe oublié", "reset password email", "je n'arrive plus à me connecter"}
	for n, q := range questions {
		id := fmt.Sprintf("q%d", n)
		if err := v.send(ctx, map[string]any{"type": "message", "client_id": id, "text": q}); err != nil {
			return err
		}
		if _, err := v.until(ctx, "the bot's reply", func(f frame) bool { return f.Type == "message" && f.Role == "bot" }); err != nil {
			return err
		}
		done.Add(1)
		sleepCtx(ctx, time.Duration(100+50*i)*time.Millisecond)
	}
	return nil
}

// soakChat is one live chat: the visitor asks for a person, the agent
// follows, claims, three messages each way, the agent closes.
func soakChat(ctx context.Context, m *Main, a *agent, n int, done *atomic.Int64) error {
	v, w, err := openBubble(ctx, m)
	if err != nil {
		return err
	}
	defer v.c.Close(websocket.StatusNormalClosure, "")
	conv := w.Conversation.ID
	if err := v.send(ctx, map[string]any{"type": "person", "channel": "chat", "client_id": "p1"}); err != nil {
		return err
	}
	if _, err := v.until(ctx, "queued", func(f frame) bool { return f.Kind == escalation.KindChatQueued }); err != nil {
		return err
	}
	agentSock := soakSocket{a.sock.conn}
	for _, typ := range []string{"follow", "claim"} {
		if err := agentSock.send(ctx, map[string]any{"type": typ, "conversation_id": conv}); err != nil {
			return err
		}
	}
	mine := func(kind string) func(frame) bool {
		return func(f frame) bool { return f.Type == "message" && f.ConversationID == conv && f.Kind == kind }
	}
	if _, err := agentSock.until(ctx, "claimed, on the console", mine(escalation.KindChatClaimed)); err != nil {
		return err
	}
	if _, err := v.until(ctx, "claimed, in the bubble", func(f frame) bool { return f.Kind == escalation.KindChatClaimed }); err != nil {
		return err
	}
	for k := range 3 {
		text := fmt.Sprintf("agent %d-%d", n, k)
		if err := agentSock.send(ctx, map[string]any{"type": "message", "conversation_id": conv, "client_id": fmt.Sprintf("a%d", k), "text": text}); err != nil {
			return err
		}
		if _, err := v.until(ctx, "the agent's message", func(f frame) bool { return f.Type == "message" && f.Text == text }); err != nil {
			return err
		}
		text = fmt.Sprintf("visitor %d-%d", n, k)
		if err := v.send(ctx, map[string]any{"type": "message", "client_id": fmt.Sprintf("v%d", k), "text": text}); err != nil {
			return err
		}
		if _, err := agentSock.until(ctx, "the visitor's message", func(f frame) bool {
			return f.Type == "message" && f.ConversationID == conv && f.Text == text
		}); err != nil {
			return err
		}
	}
	if err := agentSock.send(ctx, map[string]any{"type": "close", "conversation_id": conv}); err != nil {
		return err
	}
	if _, err := v.until(ctx, "closed", func(f frame) bool { return f.Kind == escalation.KindChatClosed }); err != nil {
		return err
	}
	if err := agentSock.send(ctx, map[string]any{"type": "unfollow", "conversation_id": conv}); err != nil {
		return err
	}
	done.Add(1)
	return nil
}

// soakTicket opens a ticket from the bubble.
func soakTicket(ctx context.Context, m *Main, n int, done *atomic.Int64) error {
	v, _, err := openBubble(ctx, m)
	if err != nil {
		return err
	}
	defer v.c.Close(websocket.StatusNormalClosure, "")
	if err := v.send(ctx, map[string]any{"type": "ticket", "client_id": "t1", "topic": "account",
		"email": fmt.Sprintf("visitor%d@example.org", n), "text": "Je ne peux plus me connecter."}); err != nil {
		return err
	}
	if _, err := v.until(ctx, "the ticket's ack", func(f frame) bool { return f.Type == "ack" }); err != nil {
		return err
	}
	done.Add(1)
	return nil
}
