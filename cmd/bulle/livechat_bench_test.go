package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

const (
	e2eChats  = 1000
	e2eAgents = 50 // 20 chats each: under a console's 50 follows, and 5 frames/s each under its rate limit
	e2eRate   = 500
	e2eLoad   = 10 * time.Second
)

// BenchmarkChatDeliveryEndToEnd measures live chat as people use it: the
// whole server (Main, as `bulle serve` runs it), e2eChats chats under way
// at once, each between a visitor's bubble socket and the console socket
// of the agent who holds it, both real WebSockets over loopback, and
// e2eRate messages a second in all, half each way. a2v is from the agent's
// console writing a message frame to the bubble reading it; v2a the other
// way. The clients run in this process, sharing its two cores with the
// server.
func BenchmarkChatDeliveryEndToEnd(b *testing.B) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < 4*e2eChats+1000 {
		lim.Cur = min(lim.Max, 4*e2eChats+1000)
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < 4*e2eChats+100 {
		b.Skipf("cannot hold %d sockets (limit %d): %v", 4*e2eChats, lim.Cur, err)
	}
	m := runChatMain(b)
	ctx := context.Background()
	var clock e2eClock
	agents := make([]*agent, e2eAgents)
	followed := make(map[*agent]chan frame, e2eAgents)
	for i := range agents {
		a := signInAgent(b, m, fmt.Sprintf("agent%d@team.example", i), fmt.Sprintf("Agent %d", i))
		agents[i], followed[a] = a, make(chan frame, 64)
		go readConsole(a, followed[a], &clock) // from now on: a socket that reads answers pings
	}
	chats := make([]*e2eChat, e2eChats)
	for i := range chats {
		conv, token, err := m.store.CreateConversation(ctx, "fr", "https://shop.example")
		if err != nil {
			b.Fatal(err)
		}
		a := agents[i%len(agents)]
		if _, err := m.store.EnqueueChat(ctx, conv.ID, "", ""); err != nil {
			b.Fatal(err)
		}
		if _, err := m.store.ClaimChat(ctx, conv.ID, a.id); err != nil {
			b.Fatal(err)
		}
		chats[i] = &e2eChat{conv: conv.ID, agent: a}
		chats[i].openBubble(b, m, token, &clock)
	}
	var follows sync.WaitGroup
	for i, a := range agents {
		var mine []*e2eChat
		for j := i; j < len(chats); j += len(agents) {
			mine = append(mine, chats[j])
		}
		follows.Go(func() { followAll(b, a, mine, followed[a]) })
	}
	follows.Wait()
	if b.Failed() {
		b.FailNow()
	}
	b.ResetTimer()

	for range b.N {
		clock.reset()
		total := int(e2eRate * e2eLoad / time.Second)
		var wg sync.WaitGroup
		start := time.Now()
		for k := range total {
			time.Sleep(time.Until(start.Add(time.Duration(k) * time.Second / e2eRate)))
			ch := chats[k%len(chats)]
			toVisitor := (k+k/len(chats))%2 == 0
			wg.Add(1)
			go func() { // open loop: a slow write does not hold back the next message
				defer wg.Done()
				ch.say(k, toVisitor, &clock)
			}()
		}
		wg.Wait()
		sent := time.Since(start)
		missing := clock.wait(total, 10*time.Second)
		a2v, v2a := clock.results()
		reportLatency(b, "a2v", a2v)
		reportLatency(b, "v2a", v2a)
		b.ReportMetric(float64(total)/sent.Seconds(), "msgs/s")
		b.ReportMetric(float64(missing), "lost")
		if missing > 0 {
			b.Errorf("%d of %d messages never arrived", missing, total)
		}
	}
}

// e2eChat is one chat of the benchmark: the visitor's bubble socket, and
// the agent who holds it.
type e2eChat struct {
	conv    int64
	agent   *agent
	visitor *websocket.Conn
}

// openBubble resumes the conversation on a new bubble socket, reads up to
// the claimed note, then reads the agent's messages in the background.
func (ch *e2eChat) openBubble(b *testing.B, m *Main, token string, clock *e2eClock) {
	c, _, err := dialBubble(b, m, "https://shop.example")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.CloseNow() })
	ch.visitor = c
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := wsjson.Write(ctx, c, map[string]any{"type": "hello", "lang": "fr", "token": token, "last_seq": 0}); err != nil {
		b.Fatal(err)
	}
	for {
		var f frame
		if err := wsjson.Read(ctx, c, &f); err != nil {
			b.Fatal(err)
		}
		if f.Type == "message" && f.Kind == escalation.KindChatClaimed {
			break
		}
	}
	go func() {
		for {
			var f frame
			if err := wsjson.Read(context.Background(), c, &f); err != nil {
				return
			}
			if f.Type == "message" && f.Role == "agent" {
				clock.arrive(f.Text, time.Now())
			}
		}
	}()
}

// readConsole reads an agent's console socket: chat frames (the answers
// to follow) go to chats, visitors' messages to the clock.
func readConsole(a *agent, chats chan<- frame, clock *e2eClock) {
	for {
		_, data, err := a.sock.conn.Read(context.Background())
		if err != nil {
			return
		}
		at := time.Now()
		var f frame
		if json.Unmarshal(data, &f) != nil {
			continue
		}
		switch {
		case f.Type == "message" && f.Role == "visitor":
			clock.arrive(f.Text, at)
		case f.Type == "chat" || f.Type == "error":
			chats <- f
		}
	}
}

// followAll has the agent's console follow its chats, paced under the
// socket's rate limit.
func followAll(b *testing.B, a *agent, chats []*e2eChat, answers <-chan frame) {
	for _, ch := range chats {
		a.sock.send(map[string]any{"type": "follow", "conversation_id": ch.conv, "last_seq": 0})
		select {
		case f := <-answers:
			if f.Type != "chat" {
				b.Errorf("follow %d: %+v", ch.conv, f)
				return
			}
		case <-time.After(10 * time.Second):
			b.Errorf("follow %d: no answer", ch.conv)
			return
		}
		time.Sleep(time.Second / 8)
	}
}

// say sends message k: from the agent's console (toVisitor) or the bubble.
func (ch *e2eChat) say(k int, toVisitor bool, clock *e2eClock) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if toVisitor {
		text := "a" + strconv.Itoa(k)
		clock.start(text, time.Now())
		wsjson.Write(ctx, ch.agent.sock.conn, map[string]any{"type": "message", "conversation_id": ch.conv,
			"client_id": text, "text": text})
		return
	}
	text := "v" + strconv.Itoa(k)
	clock.start(text, time.Now())
	wsjson.Write(ctx, ch.visitor, map[string]any{"type": "message", "client_id": text, "text": text})
}

// e2eClock holds when each message was sent and how long each took to
// reach the other side.
type e2eClock struct {
	mu       sync.Mutex
	sent     map[string]time.Time
	a2v, v2a []time.Duration
	arrived  int
	want     int
	done     chan struct{}
}

func (c *e2eClock) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent, c.a2v, c.v2a, c.arrived, c.want, c.done = map[string]time.Time{}, nil, nil, 0, -1, make(chan struct{})
}

func (c *e2eClock) start(text string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sent != nil {
		c.sent[text] = at
	}
}

// arrive records a message's arrival; texts not sent this round (replays,
// the setup's notes) are ignored, and so is a second arrival.
func (c *e2eClock) arrive(text string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sent, ok := c.sent[text]
	if !ok {
		return
	}
	delete(c.sent, text)
	if text[0] == 'a' {
		c.a2v = append(c.a2v, at.Sub(sent))
	} else {
		c.v2a = append(c.v2a, at.Sub(sent))
	}
	c.arrived++
	if c.arrived == c.want {
		close(c.done)
	}
}

// wait waits up to timeout for total arrivals and returns how many are
// missing.
func (c *e2eClock) wait(total int, timeout time.Duration) int {
	c.mu.Lock()
	c.want = total
	done, arrived := c.done, c.arrived
	c.mu.Unlock()
	if arrived < total {
		select {
		case <-done:
		case <-time.After(timeout):
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return total - c.arrived
}

func (c *e2eClock) results() (a2v, v2a []time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.a2v), slices.Clone(c.v2a)
}

// reportLatency reports the p50 and p99 of ds, in milliseconds.
func reportLatency(b *testing.B, name string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	at := func(q float64) float64 { return float64(ds[int(q*float64(len(ds)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.50), name+"_p50_ms")
	b.ReportMetric(at(0.99), name+"_p99_ms")
}
