package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// stormSockets is how many bubbles drop at once; BULLE_STORM_SOCKETS
// changes it.
const stormSockets = 5000

// TestReconnectStormLosesNothing drops every bubble's socket at once, as
// a network flicker or a proxy restart would, while each conversation
// gets a message in their absence. The bubbles come back as the real one
// does (after 1, 2, 4… seconds up to 30, each delay jittered between half
// and all of it) with their token and last seq. Each must get exactly the
// message it missed, once, and nothing else; and once they are all back,
// the server's goroutines, heap and CPU return to what they were before
// the drop.
func TestReconnectStormLosesNothing(t *testing.T) {
	n := stormSockets
	if v, err := strconv.Atoi(os.Getenv("BULLE_STORM_SOCKETS")); err == nil && v > 0 {
		n = v
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < uint64(3*n+1000) {
		lim.Cur = min(lim.Max, uint64(3*n+1000))
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < uint64(2*n+200) {
		t.Skipf("cannot hold %d sockets (file limit %d): %v", 2*n, lim.Cur, err)
	}
	m := runChatMain(t)
	ctx := context.Background()

	bubbles := make([]*stormBubble, n)
	var opened sync.WaitGroup
	work := make(chan int)
	for range 64 {
		opened.Go(func() {
			for i := range work {
				b := &stormBubble{}
				// 64 at once on a loaded machine (-race): a handshake may
				// time out; a visitor would try again.
				var err error
				for try := 0; try < 3; try++ {
					if err = b.connect(ctx, m, "", 0); err == nil {
						break
					}
				}
				if err != nil {
					t.Errorf("bubble %d: %v", i, err)
					continue
				}
				bubbles[i] = b
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	opened.Wait()
	if t.Failed() {
		t.FailNow()
	}
	before := stormSample(2 * time.Second)

	// Everyone drops at once; then each conversation gets a message.
	for _, b := range bubbles {
		b.conn.CloseNow()
	}
	for _, b := range bubbles {
		b.wait()
	}
	missed := make([]int64, n)
	var stored sync.WaitGroup
	for w := range 64 {
		stored.Go(func() {
			for i := w; i < n; i += 64 {
				msg, _, err := m.store.AppendMessage(ctx, escalation.NewMessage{ConversationID: bubbles[i].conv,
					Role: escalation.RoleSystem, Kind: "notice", Body: fmt.Sprintf("while you were away %d", i)})
				if err != nil {
					t.Errorf("store the missed message of %d: %v", i, err)
					continue
				}
				missed[i] = msg.Seq
				m.hub.Publish(bubbles[i].conv)
			}
		})
	}
	stored.Wait()

	// They come back, with the bubble's backoff.
	start := time.Now()
	var back, attempts atomic.Int64
	var returning sync.WaitGroup
	for i, b := range bubbles {
		returning.Go(func() {
			for try := 0; ; try++ {
				delay := time.Duration(float64(min(30*time.Second, time.Second<<try)) * (0.5 + rand.Float64()/2))
				time.Sleep(delay)
				attempts.Add(1)
				if err := b.connect(ctx, m, b.token, b.lastSeq()); err == nil {
					back.Add(1)
					return
				} else if try >= 6 {
					t.Errorf("bubble %d: still not back after %d tries: %v", i, try+1, err)
					return
				}
			}
		})
	}
	returning.Wait()
	tookBack := time.Since(start)
	if t.Failed() {
		t.FailNow()
	}

	// Each gets exactly what it missed: a ping's pong comes after it, and
	// nothing else came.
	var checked sync.WaitGroup
	for i, b := range bubbles {
		checked.Go(func() {
			if err := b.ping(ctx); err != nil {
				t.Errorf("bubble %d: %v", i, err)
				return
			}
			if got := b.seqsAfterResume(); len(got) != 1 || got[0] != missed[i] {
				t.Errorf("bubble %d: after resuming got seqs %v, want exactly the missed %d", i, got, missed[i])
			}
		})
	}
	checked.Wait()

	after := stormSample(2 * time.Second)
	t.Logf("%d bubbles back in %v with %d connection attempts; before the drop: %d goroutines, heap %.1f MiB, CPU %.0f%%; after: %d goroutines, heap %.1f MiB, CPU %.0f%%",
		back.Load(), tookBack.Round(time.Millisecond), attempts.Load(),
		before.goroutines, float64(before.heap)/(1<<20), before.cpu*100,
		after.goroutines, float64(after.heap)/(1<<20), after.cpu*100)
	if d := after.goroutines - before.goroutines; d > 50 || d < -50 {
		t.Errorf("goroutines: %d after the storm, %d before", after.goroutines, before.goroutines)
	}
	if after.heap > before.heap+before.heap/4+16<<20 {
		t.Errorf("heap: %.1f MiB after the storm, %.1f MiB before", float64(after.heap)/(1<<20), float64(before.heap)/(1<<20))
	}
	// Idle sockets cost no CPU: what the process burns in a quiet window
	// after the storm is no more than before it, give or take a tenth of
	// a core (the collector, the store's housekeeping).
	if after.cpu > before.cpu+0.10 {
		t.Errorf("CPU: %.0f%% of a core after the storm, %.0f%% before", after.cpu*100, before.cpu*100)
	}
	for _, b := range bubbles {
		b.conn.CloseNow()
	}
}

type stormState struct {
	goroutines int
	heap       uint64  // live bytes after a collection
	cpu        float64 // cores used during the window
}

// stormSample measures the process's CPU over a quiet window, then its
// goroutines and live heap after a collection (HeapAlloc: what the
// objects hold, not the spans they sit in, which churn fragments).
func stormSample(window time.Duration) stormState {
	cpuTime := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	c0, t0 := cpuTime(), time.Now()
	time.Sleep(window)
	cpu := float64(cpuTime()-c0) / float64(time.Since(t0))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return stormState{goroutines: runtime.NumGoroutine(), heap: ms.HeapAlloc, cpu: cpu}
}

// stormBubble is one visitor's bubble: its conversation, and every seq
// its current connection received.
type stormBubble struct {
	conv  int64
	token string
	conn  *websocket.Conn
	done  chan struct{} // closed when the reader ends

	mu      sync.Mutex
	last    int64   // the last seq received, on any connection
	resumed []int64 // the seqs received since the last hello
	pong    chan struct{}
}

func (b *stormBubble) lastSeq() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

func (b *stormBubble) seqsAfterResume() []int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int64(nil), b.resumed...)
}

// connect opens a socket and says hello (a new conversation when token is
// empty), reads the welcome, then reads in the background.
func (b *stormBubble) connect(ctx context.Context, m *Main, token string, lastSeq int64) error {
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(m.URL(), "http")+"/widget/ws",
		&websocket.DialOptions{HTTPHeader: map[string][]string{"Origin": {"https://shop.example"}}})
	if err != nil {
		return err
	}
	hello := map[string]any{"type": "hello", "lang": "fr"}
	if token != "" {
		hello["token"], hello["last_seq"] = token, lastSeq
	}
	var w frame
	if err = wsjson.Write(dctx, c, hello); err == nil {
		err = wsjson.Read(dctx, c, &w)
	}
	if err != nil || w.Type != "welcome" {
		c.CloseNow()
		return fmt.Errorf("hello: %v (got %+v)", err, w)
	}
	b.mu.Lock()
	b.conn, b.resumed, b.pong, b.done = c, nil, make(chan struct{}, 1), make(chan struct{})
	if token == "" {
		b.conv, b.token = w.Conversation.ID, w.Token
	}
	b.mu.Unlock()
	go b.read(c, b.done, b.pong)
	return nil
}

func (b *stormBubble) read(c *websocket.Conn, done chan struct{}, pong chan struct{}) {
	defer close(done)
	for {
		var f frame
		if err := wsjson.Read(context.Background(), c, &f); err != nil {
			return
		}
		switch f.Type {
		case "message":
			b.mu.Lock()
			b.resumed = append(b.resumed, f.Seq)
			b.last = max(b.last, f.Seq)
			b.mu.Unlock()
		case "pong":
			pong <- struct{}{}
		}
	}
}

// wait waits for the reader of the current connection to end.
func (b *stormBubble) wait() { <-b.done }

// ping sends a ping and waits for its pong: whatever the server sent
// before it has been read.
func (b *stormBubble) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := wsjson.Write(ctx, b.conn, map[string]any{"type": "ping"}); err != nil {
		return err
	}
	select {
	case <-b.pong:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("no pong: %w", ctx.Err())
	}
}
