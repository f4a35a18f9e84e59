package widget

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
	"github.com/coder/websocket"
)

// Live chat's benchmarks, on loopback, bounded in count and time:
//
//	go test ./widget -run '^$' -bench 'IdleVisitorSockets|ChatDelivery' -benchtime 1x -count 3
//
// BenchmarkIdleVisitorSockets measures what an open, idle bubble costs
// the server; BenchmarkChatDelivery how fast messages cross between a
// visitor and an agent. Figures in docs/benchmarks.md, "Live chat".

// idleSockets is how many bubbles BenchmarkIdleVisitorSockets opens.
const idleSockets = 10_000

// Environment of the dialer process of BenchmarkIdleVisitorSockets.
const (
	envIdleURL    = "BULLE_BENCH_IDLE_URL"
	envIdleCount  = "BULLE_BENCH_IDLE_COUNT"
	envIdleOrigin = "BULLE_BENCH_IDLE_ORIGIN"
)

// raiseFileLimit raises this process's open-file limit to at least n,
// within the hard limit; it fails when the hard limit is lower.
func raiseFileLimit(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= n {
		return nil
	}
	if lim.Max < n {
		return fmt.Errorf("the hard limit on open files is %d, under the %d needed (raise it: ulimit -Hn)", lim.Max, n)
	}
	lim.Cur = n
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}

// inUse is the Go memory the process holds for live objects and
// goroutine stacks, after two collections.
func inUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// BenchmarkIdleVisitorSockets opens idleSockets real WebSockets to the
// widget, each with a hello (which starts a conversation: a fsynced
// insert), and measures what the server holds for them: Go heap and
// goroutine stacks in use, and goroutines, per connection. The clients
// run in another process (this test binary, as TestIdleSocketsDialer),
// so that their own memory and file descriptors are not counted here.
func BenchmarkIdleVisitorSockets(b *testing.B) {
	if err := raiseFileLimit(idleSockets + 1000); err != nil {
		b.Skipf("cannot hold %d sockets: %v", idleSockets, err)
	}
	env := newEnv(b, func(o *Options) { o.Rate, o.Burst = DefaultRate, DefaultBurst })
	for range b.N {
		baseMem, baseG := inUse(), runtime.NumGoroutine()
		cmd := exec.Command(os.Args[0], "-test.run=^TestIdleSocketsDialer$", "-test.count=1")
		cmd.Env = append(os.Environ(), envIdleURL+"=ws"+strings.TrimPrefix(env.srv.URL, "http")+"/widget/ws",
			envIdleCount+"="+strconv.Itoa(idleSockets), envIdleOrigin+"=https://shop.example")
		stdin, err := cmd.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		// The dialer's output is read to its end, its "ready" line kept.
		out, outW := io.Pipe()
		cmd.Stdout, cmd.Stderr = outW, os.Stderr
		ready := make(chan []string, 1)
		go func() {
			defer close(ready)
			for sc := bufio.NewScanner(out); sc.Scan(); {
				if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "ready" {
					ready <- f
				}
			}
		}()
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		end := func() {
			stdin.Close() // the dialer closes its sockets and exits
			if err := cmd.Wait(); err != nil {
				b.Errorf("dialer: %v", err)
			}
			outW.Close()
		}
		var ok, failed int
		var fields []string
		select {
		case fields = <-ready:
		case <-time.After(5 * time.Minute):
		}
		if fields == nil {
			cmd.Process.Kill()
			end()
			b.Fatal("the dialer process ended without opening its sockets")
		}
		ok, _ = strconv.Atoi(fields[1])
		failed, _ = strconv.Atoi(fields[2])
		opened := time.Since(start)
		mem, goroutines := inUse(), runtime.NumGoroutine()
		end()
		if ok > 0 {
			b.ReportMetric(float64(mem-min(mem, baseMem))/float64(ok)/1024, "KiB/conn")
			b.ReportMetric(float64(goroutines-baseG)/float64(ok), "goroutines/conn")
		}
		b.ReportMetric(float64(ok), "conns")
		b.ReportMetric(float64(failed), "errors")
		b.ReportMetric(opened.Seconds(), "open_s")
		if failed > 0 {
			b.Errorf("%d of %d sockets failed", failed, idleSockets)
		}
		// Let the server's handlers end before the next round measures.
		for deadline := time.Now().Add(30 * time.Second); runtime.NumGoroutine() > baseG+10 && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestIdleSocketsDialer is BenchmarkIdleVisitorSockets' client process:
// it opens the sockets, says hello on each, reads each welcome, prints
// "ready <ok> <failed>" and holds them until its stdin closes. Run alone
// it does nothing.
func TestIdleSocketsDialer(t *testing.T) {
	u, origin := os.Getenv(envIdleURL), os.Getenv(envIdleOrigin)
	n, _ := strconv.Atoi(os.Getenv(envIdleCount))
	if u == "" || n <= 0 {
		t.Skip("the client process of BenchmarkIdleVisitorSockets")
	}
	if err := raiseFileLimit(uint64(n) + 1000); err != nil {
		t.Fatal(err)
	}
	conns := make([]*websocket.Conn, n)
	var failed atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 { // dial 64 at a time, as a crowd arriving would
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c, err := openIdle(u, origin)
				if err != nil {
					failed.Add(1)
					continue
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	fmt.Printf("ready %d %d\n", n-int(failed.Load()), failed.Load())
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		if c != nil {
			c.CloseNow()
		}
	}
}

// openIdle opens one bubble socket and waits for the welcome of its hello.
func openIdle(u, origin string) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
	if err != nil {
		return nil, err
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"hello","lang":"fr"}`)); err != nil {
		c.CloseNow()
		return nil, err
	}
	_, data, err := c.Read(ctx)
	if err != nil || !strings.Contains(string(data), `"welcome"`) {
		c.CloseNow()
		return nil, fmt.Errorf("no welcome: %s %v", data, err)
	}
	return c, nil
}

// The load of BenchmarkChatDelivery: deliveryRate messages a second, half
// from agents and half from visitors, across deliveryConversations live
// chats (each hears from either side every 2 s), for deliveryLoad.
const (
	deliveryConversations = 1000
	deliveryRate          = 500
	deliveryLoad          = 10 * time.Second
)

// BenchmarkChatDelivery measures how long a message takes from one side
// of a live chat to the other, with deliveryConversations chats open at
// once, at deliveryRate messages a second in all.
//
// The visitor's side is real: one bubble WebSocket per chat, on the
// widget. The agent's side is simulated with what the console does
// underneath: an agent's message is AppendAgentMessage then Hub.Publish,
// timed until the bubble's socket delivers the frame (a2v; of which
// a2v_commit is the store, a2v_fanout the rest); the console side of a visitor's
// message is a Hub subscription that reads the store after its cursor,
// timed from the visitor writing the frame to that read returning it
// (v2a). The console's own socket is not in the path.
func BenchmarkChatDelivery(b *testing.B) {
	if err := raiseFileLimit(2*deliveryConversations + 1000); err != nil {
		b.Skipf("cannot hold %d sockets: %v", deliveryConversations, err)
	}
	ctx := context.Background()
	store := openStore(b)
	hub := escalation.NewHub(escalation.HubOptions{})
	base := openBase(b, writeArticles(b, testArticles))
	env := newEnvOn(b, base, bot.New(base, chatClosed{}, bot.DefaultConfig()), store, func(o *Options) {
		o.Rate, o.Burst = DefaultRate, DefaultBurst // each visitor writes every 4 s
		o.LiveChat, o.Hub = store, hub
	})
	agents := make([]escalation.Agent, 20)
	for i := range agents {
		a, _, err := store.AddAgent(ctx, fmt.Sprintf("agent%d@team.example", i), fmt.Sprintf("Agent %d", i))
		if err != nil {
			b.Fatal(err)
		}
		agents[i] = a
	}
	chats := make([]*benchChat, deliveryConversations)
	for i := range chats {
		conv, token, err := store.CreateConversation(ctx, "fr", "https://shop.example")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := store.EnqueueChat(ctx, conv.ID, "", ""); err != nil {
			b.Fatal(err)
		}
		if _, err := store.ClaimChat(ctx, conv.ID, agents[i%len(agents)].ID); err != nil {
			b.Fatal(err)
		}
		chats[i] = &benchChat{conv: conv.ID, token: token, agent: agents[i%len(agents)].ID}
	}
	var clock deliveryClock
	for _, ch := range chats {
		ch.open(b, env, &clock)
		ch.follow(ctx, store, hub, &clock)
	}
	b.Cleanup(func() {
		for _, ch := range chats {
			ch.sub.Close()
			ch.visitor.CloseNow()
		}
	})

	for range b.N {
		clock.reset()
		total := int(deliveryRate * deliveryLoad / time.Second)
		var wg sync.WaitGroup
		start := time.Now()
		for k := range total {
			time.Sleep(time.Until(start.Add(time.Duration(k) * time.Second / deliveryRate)))
			ch := chats[k%len(chats)]
			wg.Add(1)
			go func() { // open loop: a slow commit does not hold back the next message
				defer wg.Done()
				if (k+k/len(chats))%2 == 0 {
					ch.agentSays(ctx, store, hub, k, &clock)
				} else {
					ch.visitorSays(ctx, k, &clock)
				}
			}()
		}
		wg.Wait()
		sent := time.Since(start)
		missing := clock.wait(total, 10*time.Second)
		a2v, fanout, commits, v2a := clock.results()
		report(b, "a2v", a2v)
		report(b, "a2v_commit", commits)
		report(b, "a2v_fanout", fanout)
		report(b, "v2a", v2a)
		b.ReportMetric(float64(total)/sent.Seconds(), "msgs/s")
		b.ReportMetric(float64(missing), "lost")
		if missing > 0 {
			b.Errorf("%d of %d messages never arrived", missing, total)
		}
	}
}

// benchChat is one live chat of BenchmarkChatDelivery: the visitor's
// bubble socket and the console's subscription.
type benchChat struct {
	conv    int64
	token   string
	agent   int64
	visitor *websocket.Conn
	sub     *escalation.Subscription
}

// deliveryClock holds when each message was sent and how long each took.
type deliveryClock struct {
	mu          sync.Mutex
	sent        map[int]time.Time // message k: when its sender began
	committed   map[int]time.Time // agent message k: when its commit returned
	a2v, fanout []time.Duration
	commits     []time.Duration // agent message k: from its start to its commit
	v2a         []time.Duration
	arrived     int
	done        chan struct{}
	want        int
}

func (c *deliveryClock) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent, c.committed = map[int]time.Time{}, map[int]time.Time{}
	c.a2v, c.fanout, c.commits, c.v2a, c.arrived = nil, nil, nil, nil, 0
	c.done, c.want = make(chan struct{}), -1
}

func (c *deliveryClock) start(k int, at time.Time) {
	c.mu.Lock()
	c.sent[k] = at
	c.mu.Unlock()
}

func (c *deliveryClock) commit(k int, at time.Time) {
	c.mu.Lock()
	c.committed[k] = at
	c.commits = append(c.commits, at.Sub(c.sent[k]))
	c.mu.Unlock()
}

// arrive records message k's arrival on the other side.
func (c *deliveryClock) arrive(k int, toVisitor bool, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sent, ok := c.sent[k]
	if !ok {
		return // a message of an earlier round, replayed
	}
	if toVisitor {
		c.a2v = append(c.a2v, at.Sub(sent))
		if committed, ok := c.committed[k]; ok {
			c.fanout = append(c.fanout, at.Sub(committed))
		}
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
func (c *deliveryClock) wait(total int, timeout time.Duration) int {
	c.mu.Lock()
	c.want = total
	if c.arrived >= total {
		c.mu.Unlock()
		return 0
	}
	done := c.done
	c.mu.Unlock()
	select {
	case <-done:
	case <-time.After(timeout):
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return total - c.arrived
}

func (c *deliveryClock) results() (a2v, fanout, commits, v2a []time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.a2v, c.fanout, c.commits, c.v2a
}

// messageIndex reads k from a benchmark message's text, "a<k>" or "v<k>".
func messageIndex(text string, prefix byte) (int, bool) {
	if len(text) < 2 || text[0] != prefix {
		return 0, false
	}
	k, err := strconv.Atoi(text[1:])
	return k, err == nil
}

// open connects the visitor's bubble, resumes the conversation, reads its
// replay (the queued and claimed notes), then reads agent messages in the
// background.
func (ch *benchChat) open(b *testing.B, env *testEnv, clock *deliveryClock) {
	c, _, err := env.tryDial("https://shop.example")
	if err != nil {
		b.Fatal(err)
	}
	ch.visitor = c.conn
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hello, _ := json.Marshal(map[string]any{"type": "hello", "lang": "fr", "token": ch.token, "last_seq": 0})
	if err := c.conn.Write(ctx, websocket.MessageText, hello); err != nil {
		b.Fatal(err)
	}
	for {
		_, data, err := c.conn.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var f frame
		json.Unmarshal(data, &f)
		if f.Type == typeMessage && f.Kind == escalation.KindChatClaimed {
			break
		}
	}
	go func() {
		for {
			_, data, err := c.conn.Read(context.Background())
			if err != nil {
				return
			}
			at := time.Now()
			var f frame
			if json.Unmarshal(data, &f) != nil || f.Type != typeMessage || f.Role != string(escalation.RoleAgent) {
				continue
			}
			if k, ok := messageIndex(f.Text, 'a'); ok {
				clock.arrive(k, true, at)
			}
		}
	}()
}

// follow is the console's side: on each event of the conversation it
// reads the messages after its cursor, as the console does.
func (ch *benchChat) follow(ctx context.Context, store *escalation.Store, hub *escalation.Hub, clock *deliveryClock) {
	ch.sub = hub.Subscribe(ch.conv)
	go func() {
		cursor := int64(2) // the queued and claimed notes
		for ev := range ch.sub.C() {
			if ev.Kind != escalation.EventMessages {
				continue
			}
			msgs, err := store.MessagesAfter(ctx, ch.conv, cursor, 0)
			if err != nil {
				return
			}
			at := time.Now()
			for _, m := range msgs {
				cursor = m.Seq
				if k, ok := messageIndex(m.Body, 'v'); ok && m.Role == escalation.RoleVisitor {
					clock.arrive(k, false, at)
				}
			}
		}
	}()
}

// agentSays stores agent message k and publishes it, as the console does.
func (ch *benchChat) agentSays(ctx context.Context, store *escalation.Store, hub *escalation.Hub, k int, clock *deliveryClock) {
	text := "a" + strconv.Itoa(k)
	clock.start(k, time.Now())
	if _, _, err := store.AppendAgentMessage(ctx, ch.agent, escalation.NewMessage{ConversationID: ch.conv,
		ClientID: text, Body: text}); err != nil {
		return // counted as lost
	}
	clock.commit(k, time.Now())
	hub.Publish(ch.conv)
}

// visitorSays writes visitor message k on the bubble's socket.
func (ch *benchChat) visitorSays(ctx context.Context, k int, clock *deliveryClock) {
	text := "v" + strconv.Itoa(k)
	data, _ := json.Marshal(map[string]any{"type": "message", "client_id": text, "text": text})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	clock.start(k, time.Now())
	ch.visitor.Write(ctx, websocket.MessageText, data)
}
