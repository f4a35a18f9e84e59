package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// Fault 1 of issue 15: kill -9 of the server under chat load, then a
// restart on the same data folder. Every acknowledged message is there,
// every client resumes from its last seq, resends are idempotent, and
// nothing is duplicated or skipped.

// faultServeEnv carries the helper server's settings, as JSON, from
// TestFaultKillUnderChatLoad to the test binary it runs again.
const faultServeEnv = "BULLE_FAULT_SERVE"

// faultServe is what the helper server needs to know.
type faultServe struct {
	DataDir, ArticlesDir string
	AddrFile             string // where it writes its address once it listens
}

// TestFaultKillHelperServe is no test of its own: it is the server that
// TestFaultKillUnderChatLoad starts in a process of its own (this test
// binary, run again), so that it can kill it with SIGKILL. It serves
// until SIGTERM, or until its standard input closes (the parent is gone).
func TestFaultKillHelperServe(t *testing.T) {
	raw := os.Getenv(faultServeEnv)
	if raw == "" {
		t.Skip("the server process of TestFaultKillUnderChatLoad")
	}
	var cfg faultServe
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	m := NewMain()
	m.Config.Addr = "127.0.0.1:0"
	m.Config.DataDir, m.Config.ArticlesDir = cfg.DataDir, cfg.ArticlesDir
	m.Config.Widget.AllowedOrigins = []string{"https://shop.example"}
	const allDay = "00:00-24:00"
	m.Config.Hours.ChannelHours = escalation.ChannelHours{Monday: allDay, Tuesday: allDay, Wednesday: allDay,
		Thursday: allDay, Friday: allDay, Saturday: allDay, Sunday: allDay}
	m.Getenv = noEnv
	m.Stderr = os.Stderr
	if err := m.Run(ctx); err != nil {
		m.Close()
		t.Fatal(err)
	}
	tmp := cfg.AddrFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(m.Addr()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, cfg.AddrFile); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case err := <-m.Failed():
		t.Error(err)
	}
	if err := m.Close(); err != nil {
		t.Error(err)
	}
}

// serverProcess is the helper server running in its own process.
type serverProcess struct {
	cmd   *exec.Cmd
	stdin io.Closer
	addr  string
	log   string // its stderr and stdout
}

// startServer runs the helper server on cfg and waits until it listens.
func startServer(t *testing.T, cfg faultServe, run int) *serverProcess {
	t.Helper()
	os.Remove(cfg.AddrFile)
	raw, _ := json.Marshal(cfg)
	p := &serverProcess{log: filepath.Join(filepath.Dir(cfg.AddrFile), fmt.Sprintf("server-%d.log", run))}
	out, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	p.cmd = exec.Command(os.Args[0], "-test.run=^TestFaultKillHelperServe$", "-test.count=1", "-test.timeout=2m")
	p.cmd.Env = append(os.Environ(), faultServeEnv+"="+string(raw))
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if data, err := os.ReadFile(cfg.AddrFile); err == nil {
			p.addr = string(data)
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %d did not start:\n%s", run, tail(p.log))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tail returns the end of a log file, for failure messages.
func tail(name string) string {
	data, _ := os.ReadFile(name)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// faultFrame is any frame of the bubble's or the console's socket, with
// the fields these tests read.
type faultFrame struct {
	Type           string `json:"type"`
	Code           string `json:"code"`
	Token          string `json:"token"`
	Resumed        bool   `json:"resumed"`
	Reset          bool   `json:"reset"`
	ConversationID int64  `json:"conversation_id"`
	ClientID       string `json:"client_id"`
	Seq            int64  `json:"seq"`
	ReplyTo        int64  `json:"reply_to"`
	Role           string `json:"role"`
	Kind           string `json:"kind"`
	Conversation   struct {
		ID      int64 `json:"id"`
		LastSeq int64 `json:"last_seq"`
	} `json:"conversation"`
	Chat struct {
		ConversationID int64  `json:"conversation_id"`
		Status         string `json:"status"`
		LastSeq        int64  `json:"last_seq"`
	} `json:"chat"`
	Chats []struct {
		ConversationID int64 `json:"conversation_id"`
	} `json:"chats"`
}

// peer is one client of the test, a bubble or a console: it sends
// messages with client ids and records, across its connections, every
// ack and every message of its conversation. Its reader checks that the
// messages of each connection come in seq order without gaps, and that a
// resumed connection starts right after the last seq received.
type peer struct {
	name    string
	console bool // the agent's console: frames name their conversation
	conv    int64

	mu       sync.Mutex
	conn     *websocket.Conn
	token    string
	acked    map[string]int64 // client id -> seq
	order    []string         // client ids, in the order they are first sent
	texts    map[string]string
	answered map[int64]bool // seqs of questions a bot message replied to
	lastSeq  int64          // the highest seq received in order
	received []int64        // every message seq received, over all connections
	problems []string
	frames   chan faultFrame // frames a step waits for (welcome, chat, queue…)
	done     chan struct{}   // closed when the current connection's reader ends
}

func newPeer(name string, console bool) *peer {
	return &peer{name: name, console: console, acked: map[string]int64{}, texts: map[string]string{}, answered: map[int64]bool{}}
}

func (p *peer) problem(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.problems = append(p.problems, p.name+": "+fmt.Sprintf(format, args...))
}

// attach starts reading conn; it returns when the connection ends.
func (p *peer) attach(conn *websocket.Conn) (done <-chan struct{}) {
	p.mu.Lock()
	p.conn = conn
	p.frames = make(chan faultFrame, 1024)
	frames := p.frames
	p.mu.Unlock()
	out := make(chan struct{})
	p.mu.Lock()
	p.done = out
	p.mu.Unlock()
	go func() {
		defer close(out)
		defer close(frames)
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			var f faultFrame
			if err := json.Unmarshal(data, &f); err != nil {
				p.problem("bad frame %s", data)
				return
			}
			p.record(f)
			select {
			case frames <- f:
			default: // nobody waits for so many: the records have them
			}
		}
	}()
	return out
}

// record keeps what a frame says about the conversation.
func (p *peer) record(f faultFrame) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.console && f.ConversationID != p.conv && f.Type != "chat" {
		return
	}
	switch f.Type {
	case "ack":
		if old, ok := p.acked[f.ClientID]; ok && old != f.Seq {
			p.problems = append(p.problems, fmt.Sprintf("%s: %s acked as %d, then as %d", p.name, f.ClientID, old, f.Seq))
		}
		p.acked[f.ClientID] = f.Seq
	case "message":
		switch {
		case f.Seq <= p.lastSeq:
			p.problems = append(p.problems, fmt.Sprintf("%s: seq %d received again after %d", p.name, f.Seq, p.lastSeq))
		case f.Seq != p.lastSeq+1:
			p.problems = append(p.problems, fmt.Sprintf("%s: seq %d after %d: a gap", p.name, f.Seq, p.lastSeq))
		}
		if f.Seq > p.lastSeq {
			p.lastSeq = f.Seq
		}
		p.received = append(p.received, f.Seq)
		if f.Role == "bot" {
			p.answered[f.ReplyTo] = true
		}
	case "welcome":
		p.token = f.Token
	}
}

// waitFrame reads the waiting frames up to one that match accepts.
func (p *peer) waitFrame(t *testing.T, what string, match func(faultFrame) bool) faultFrame {
	t.Helper()
	p.mu.Lock()
	frames := p.frames
	p.mu.Unlock()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatalf("%s: connection closed while waiting for %s", p.name, what)
			}
			if match(f) {
				return f
			}
		case <-timeout:
			t.Fatalf("%s: no %s", p.name, what)
		}
	}
}

// send writes a frame; an error (the server is gone) is returned.
func (p *peer) send(v any) error {
	p.mu.Lock()
	conn := p.conn
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return wsjson.Write(ctx, conn, v)
}

// message sends the message with client id id, recording it as sent.
func (p *peer) message(id, text string) error {
	p.mu.Lock()
	if _, ok := p.texts[id]; !ok {
		p.order = append(p.order, id)
		p.texts[id] = text
	}
	p.mu.Unlock()
	f := map[string]any{"type": "message", "client_id": id, "text": text}
	if p.console {
		f["conversation_id"] = p.conv
	}
	return p.send(f)
}

// unacked lists the client ids sent and not acknowledged, in order.
func (p *peer) unacked() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, id := range p.order {
		if _, ok := p.acked[id]; !ok {
			out = append(out, id)
		}
	}
	return out
}

// allAcked says whether every id of plan is acknowledged.
func (p *peer) allAcked(plan []string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range plan {
		if _, ok := p.acked[id]; !ok {
			return false
		}
	}
	return true
}

// settle resends what is still unacknowledged (a frame refused as over
// the rate, say) until every id of plan is acknowledged.
func (p *peer) settle(t *testing.T, plan []string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !p.allAcked(plan) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still unacknowledged: %v", p.name, p.unacked())
		}
		time.Sleep(time.Second)
		p.paced(p.unacked(), nil, nil)
	}
}

func (p *peer) ackCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.acked)
}

func (p *peer) last() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastSeq
}

// paced sends ids (resends keep their text) in bursts of four a second,
// under the sockets' rate limits (the bubble's is 5 a second, bursts of
// 10), until a send fails or stop closes. Bursts keep messages in flight
// on the server, where the kill finds them.
func (p *peer) paced(ids []string, text func(string) string, stop <-chan struct{}) {
	const burst = 4
	for i, id := range ids {
		if i > 0 && i%burst == 0 {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
		}
		p.mu.Lock()
		s, ok := p.texts[id]
		p.mu.Unlock()
		if !ok {
			s = text(id)
		}
		if p.message(id, s) != nil {
			return // the server is gone
		}
	}
}

// dialFaultBubble opens a bubble socket on the server at addr.
func dialFaultBubble(t *testing.T, addr string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/widget/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://shop.example"}}})
	if err != nil {
		t.Fatalf("dial bubble: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// hello opens p's conversation, or resumes it from its last seq.
func (p *peer) hello(t *testing.T, addr string) (welcome faultFrame, done <-chan struct{}) {
	t.Helper()
	done = p.attach(dialFaultBubble(t, addr))
	p.mu.Lock()
	h := map[string]any{"type": "hello", "lang": "en"}
	if p.token != "" {
		h["token"], h["last_seq"] = p.token, p.lastSeq
	}
	p.mu.Unlock()
	if err := p.send(h); err != nil {
		t.Fatal(err)
	}
	welcome = p.waitFrame(t, "welcome", func(f faultFrame) bool { return f.Type == "welcome" })
	p.mu.Lock()
	p.conv = welcome.Conversation.ID
	p.mu.Unlock()
	return welcome, done
}

// consoleAgent signs in to the console over HTTP; the session cookie
// lives in the database, so it survives the restart.
type consoleAgent struct {
	*peer
	b *consoleBrowser
}

// connect opens the console socket on the server at addr, with a CSRF
// token read from the console's page.
func (a *consoleAgent) connect(t *testing.T, addr string) <-chan struct{} {
	t.Helper()
	origin := "http://" + addr
	a.b.origin = origin
	status, _, home := a.b.do("GET", origin+"/console/", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("console page: %d", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/console/events?csrf="+url.QueryEscape(csrfFrom(t, home)),
		&websocket.DialOptions{HTTPClient: a.b.c, HTTPHeader: http.Header{"Origin": {origin}}})
	if err != nil {
		t.Fatalf("console socket: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return a.attach(c)
}

func TestFaultKillUnderChatLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a server process")
	}
	const (
		visitors   = 12
		perVisitor = 25 // 300 bubble messages, plus the agent's
		perAgent   = 20
	)
	dir := t.TempDir()
	cfg := faultServe{DataDir: filepath.Join(dir, "data"), ArticlesDir: writeArticles(t, testArticles),
		AddrFile: filepath.Join(dir, "addr")}

	// An agent with a password, made in the data folder before the start.
	ctx := context.Background()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	store, err := escalation.Open(ctx, filepath.Join(cfg.DataDir, "bulle.db"))
	if err != nil {
		t.Fatal(err)
	}
	inv, err := store.InviteAgent(ctx, "ana@team.example", "Ana", escalation.AgentRoleAgent)
	if err == nil {
		_, err = store.SetAgentPassword(ctx, inv.SetupToken, agentPassword)
	}
	if err := errors.Join(err, store.Close()); err != nil {
		t.Fatal(err)
	}

	srv := startServer(t, cfg, 1)
	defer func() {
		if t.Failed() {
			t.Logf("first server's log:\n%s", tail(srv.log))
		}
	}()

	// Ana signs in and opens her console.
	origin := "http://" + srv.addr
	ana := &consoleAgent{peer: newPeer("console", true), b: newConsoleBrowser(t, origin)}
	_, _, page := ana.b.do("GET", origin+"/console/login", nil, nil)
	if status, h, _ := ana.b.do("POST", origin+"/console/login", url.Values{"csrf": {csrfFrom(t, page)},
		"email": {"ana@team.example"}, "password": {agentPassword}}, nil); status != http.StatusSeeOther {
		t.Fatalf("sign in: %d %q", status, h.Get("Location"))
	}
	ana.connect(t, srv.addr)
	ana.waitFrame(t, "presence", func(f faultFrame) bool { return f.Type == "presence" })

	// The bubbles start; the first asks for a person and Ana takes the chat.
	bubbles := make([]*peer, visitors)
	for i := range bubbles {
		bubbles[i] = newPeer(fmt.Sprintf("bubble %d", i), false)
		bubbles[i].hello(t, srv.addr)
	}
	chat := bubbles[0]
	ana.mu.Lock()
	ana.conv = chat.conv
	ana.mu.Unlock()
	if err := chat.send(map[string]any{"type": "person", "channel": "chat", "client_id": "p1"}); err != nil {
		t.Fatal(err)
	}
	chat.waitFrame(t, "chat_queued", func(f faultFrame) bool { return f.Kind == "chat_queued" })
	ana.waitFrame(t, "the chat in the queue", func(f faultFrame) bool {
		for _, c := range f.Chats {
			if c.ConversationID == chat.conv {
				return true
			}
		}
		return false
	})
	if err := ana.send(map[string]any{"type": "claim", "conversation_id": chat.conv}); err != nil {
		t.Fatal(err)
	}
	ana.waitFrame(t, "the chat claimed", func(f faultFrame) bool { return f.Type == "chat" && f.Chat.Status == "active" })
	if err := ana.send(map[string]any{"type": "follow", "conversation_id": chat.conv, "last_seq": 0}); err != nil {
		t.Fatal(err)
	}
	ana.waitFrame(t, "the followed chat", func(f faultFrame) bool { return f.Type == "chat" })

	// Load: every bubble and Ana send, a few messages a second each.
	ids := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s-%03d", prefix, i)
		}
		return out
	}
	questions := []string{"how do I reset my password", "what are your business hours", "public holidays",
		"forgot password link", "are you open on monday", "where is my invoice"}
	text := func(id string) string { return questions[len(id)%len(questions)] + " (" + id + ")" }
	plan := map[*peer][]string{ana.peer: ids("a", perAgent)}
	for i, b := range bubbles {
		plan[b] = ids(fmt.Sprintf("v%02d", i), perVisitor)
	}
	all := append([]*peer{ana.peer}, bubbles...)
	total := perAgent + visitors*perVisitor
	stop := make(chan struct{})
	var senders sync.WaitGroup
	for _, p := range all {
		senders.Add(1)
		go func() {
			defer senders.Done()
			p.paced(plan[p], text, stop)
		}()
	}

	// kill -9 once a third of the messages are acknowledged, mid-load.
	acks := func() int {
		n := 0
		for _, p := range all {
			n += p.ackCount()
		}
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	for acks() < total/3 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d acks before the kill", acks())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	close(stop)
	senders.Wait()
	for _, p := range all {
		p.mu.Lock()
		done := p.done
		p.mu.Unlock()
		select {
		case <-done: // every frame that arrived before the kill is recorded
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: connection still open after the kill", p.name)
		}
	}
	ackedBefore := map[*peer]map[string]int64{}
	answeredBefore := map[*peer]map[int64]bool{}
	for _, p := range all {
		p.mu.Lock()
		answeredBefore[p] = map[int64]bool{}
		for seq := range p.answered {
			answeredBefore[p][seq] = true
		}
		ackedBefore[p] = map[string]int64{}
		for id, seq := range p.acked {
			ackedBefore[p][id] = seq
		}
		p.mu.Unlock()
	}
	t.Logf("killed after %d of %d acks; %d messages sent and not acknowledged", acks(), total, func() int {
		n := 0
		for _, p := range all {
			n += len(p.unacked())
		}
		return n
	}())

	// Restart on the same data folder; everybody resumes from their last
	// seq, resends what was not acknowledged, then sends the rest.
	unackedBefore := map[*peer][]string{}
	for _, p := range all {
		unackedBefore[p] = p.unacked()
	}
	atRestart := map[*peer]int64{} // each conversation's last seq after the restart, before any resend
	srv2 := startServer(t, cfg, 2)
	defer func() {
		if t.Failed() {
			t.Logf("second server's log:\n%s", tail(srv2.log))
		}
	}()
	for _, b := range bubbles {
		before := b.last()
		w, _ := b.hello(t, srv2.addr)
		atRestart[b] = w.Conversation.LastSeq
		waitUntil(t, b.name+": the replay", func() bool { return b.last() >= w.Conversation.LastSeq })
		if !w.Resumed || w.Reset || w.Conversation.LastSeq < before {
			t.Errorf("%s: welcome %+v, want resumed at %d or later", b.name, w, before)
		}
	}
	ana.connect(t, srv2.addr)
	if err := ana.send(map[string]any{"type": "follow", "conversation_id": chat.conv, "last_seq": ana.last()}); err != nil {
		t.Fatal(err)
	}
	if f := ana.waitFrame(t, "the followed chat", func(f faultFrame) bool { return f.Type == "chat" }); f.Reset || f.Chat.Status != "active" {
		t.Errorf("console after the restart: chat %+v, want still active, no reset", f)
	} else {
		atRestart[ana.peer] = f.Chat.LastSeq
	}
	for _, p := range all {
		senders.Add(1)
		go func() {
			defer senders.Done()
			var rest []string
			p.mu.Lock()
			for _, id := range plan[p] {
				seq, acked := ackedBefore[p][id]
				// A question acknowledged and never answered (the kill fell
				// between the two) is sent again too: the protocol answers
				// a resend whose reply was never stored.
				if !acked || (p != chat && p != ana.peer && !p.answered[seq]) {
					rest = append(rest, id)
				}
			}
			p.mu.Unlock()
			p.paced(rest, text, nil)
		}()
	}
	senders.Wait()
	for _, p := range all {
		p.settle(t, plan[p])
	}
	// How the kill fell: messages stored whose ack was lost (their resend
	// got the old seq), and messages that never reached the database.
	storedUnacked, lost := 0, 0
	for _, p := range all {
		for _, id := range unackedBefore[p] {
			p.mu.Lock()
			if p.acked[id] <= atRestart[p] {
				storedUnacked++
			} else {
				lost++
			}
			p.mu.Unlock()
		}
	}
	resentAnswered := 0
	for _, b := range bubbles[1:] {
		b.mu.Lock()
		for _, seq := range ackedBefore[b] {
			if seq <= atRestart[b] && !answeredBefore[b][seq] {
				resentAnswered++
			}
		}
		b.mu.Unlock()
	}
	t.Logf("acknowledged, but their answer not received before the kill, then resent: %d", resentAnswered)
	t.Logf("of the unacknowledged: %d were stored (resend acked with their seq), %d were not (stored on resend)", storedUnacked, lost)

	// Each conversation as stored, from seq 1, on a new bubble.
	unanswered := 0
	for _, b := range bubbles {
		check := newPeer(b.name+" (replay)", false)
		check.token = b.token
		w, _ := check.hello(t, srv2.addr)
		want := w.Conversation.LastSeq
		// The live socket has them all too, each once (the bot's last
		// replies and Ana's last messages arrive just after the acks).
		waitUntil(t, b.name+": every message on the live socket", func() bool { return b.last() == want })
		msgs := replay(t, check, want)
		if n := checkConversation(t, b, msgs, ackedBefore[b], plan[b], want); b != chat {
			unanswered += n
		}
		if b == chat {
			// Agents' client ids are the console's business: its own
			// replay of the chat shows them.
			check := &consoleAgent{peer: newPeer("console (replay)", true), b: ana.b}
			check.conv = chat.conv
			check.connect(t, srv2.addr)
			if err := check.send(map[string]any{"type": "follow", "conversation_id": chat.conv, "last_seq": 0}); err != nil {
				t.Fatal(err)
			}
			checkAgentSide(t, ana.peer, replay(t, check.peer, want), ackedBefore[ana.peer], plan[ana.peer], want)
		}
	}
	if unanswered > 0 {
		t.Errorf("%d questions unanswered after their resend", unanswered)
	}
	for _, p := range all {
		p.mu.Lock()
		for _, pr := range p.problems {
			t.Error(pr)
		}
		p.mu.Unlock()
	}

	// The second server stops cleanly (and, under -race, found no race).
	srv2.cmd.Process.Signal(syscall.SIGTERM)
	if err := srv2.cmd.Wait(); err != nil {
		t.Errorf("second server: %v\n%s", err, tail(srv2.log))
	}
}

// waitUntil polls cond for up to 20 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: timed out", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stored collects the replay's messages by seq.
type storedMsg struct {
	role, kind, clientID string
	replyTo              int64
}

// checkConversation compares what bubble b was told with the replay of
// its whole conversation on check: seqs 1..last once each; each of b's
// messages stored once, under the seq its acks gave (before the kill
// too); a bot reply at most once per question.
func checkConversation(t *testing.T, b *peer, msgs map[int64]storedMsg, ackedBefore map[string]int64, plan []string, last int64) (unanswered int) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if got := len(b.received); int64(got) != last {
		t.Errorf("%s: received %d messages over both connections, want %d (each once)", b.name, got, last)
	}
	for i, seq := range b.received {
		if seq != int64(i+1) {
			t.Errorf("%s: message %d had seq %d, want %d", b.name, i, seq, i+1)
			break
		}
	}
	byClient := map[string]int64{}
	replies := map[int64]int{}
	for seq := int64(1); seq <= last; seq++ {
		m := msgs[seq]
		if m.role == "visitor" {
			if prev, dup := byClient[m.clientID]; dup {
				t.Errorf("%s: %s stored twice, at %d and %d", b.name, m.clientID, prev, seq)
			}
			byClient[m.clientID] = seq
		}
		if m.role == "bot" {
			replies[m.replyTo]++
			if replies[m.replyTo] > 1 {
				t.Errorf("%s: question %d answered twice", b.name, m.replyTo)
			}
		}
	}
	for _, id := range plan {
		if seq, ok := ackedBefore[id]; ok && byClient[id] != seq {
			t.Errorf("%s: %s acked at %d before the kill; stored at %d", b.name, id, seq, byClient[id])
		}
	}
	for _, id := range plan {
		if got, ok := byClient[id]; !ok || got != b.acked[id] {
			t.Errorf("%s: %s acked at %d; stored at %d (present %v)", b.name, id, b.acked[id], got, ok)
		}
		if replies[byClient[id]] == 0 {
			unanswered++
		}
	}
	return unanswered
}

// checkAgentSide does the same for the agent's console on the chat.
func checkAgentSide(t *testing.T, a *peer, msgs map[int64]storedMsg, ackedBefore map[string]int64, plan []string, last int64) {
	t.Helper()
	waitUntil(t, "console: every message of the chat", func() bool { return a.last() == last })
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, seq := range a.received {
		if seq != int64(i+1) {
			t.Errorf("console: message %d had seq %d, want %d", i, seq, i+1)
			break
		}
	}
	if int64(len(a.received)) != last {
		t.Errorf("console: received %d messages, want %d", len(a.received), last)
	}
	byClient := map[string]int64{}
	for seq := int64(1); seq <= last; seq++ {
		if m := msgs[seq]; m.role == "agent" {
			if _, dup := byClient[m.clientID]; dup {
				t.Errorf("console: %s stored twice", m.clientID)
			}
			byClient[m.clientID] = seq
		}
	}
	for _, id := range plan {
		if seq, ok := ackedBefore[id]; ok && byClient[id] != seq {
			t.Errorf("console: %s acked at %d before the kill; stored at %d", id, seq, byClient[id])
		}
	}
	for _, id := range plan {
		if got, ok := byClient[id]; !ok || got != a.acked[id] {
			t.Errorf("console: %s acked at %d; stored at %d (present %v)", id, a.acked[id], got, ok)
		}
	}
}

// replay reads check's frames of the whole conversation, up to last.
func replay(t *testing.T, check *peer, last int64) map[int64]storedMsg {
	t.Helper()
	check.mu.Lock()
	frames := check.frames
	check.mu.Unlock()
	msgs := map[int64]storedMsg{}
	for int64(len(msgs)) < last {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatalf("%s: closed after %d messages", check.name, len(msgs))
			}
			if f.Type == "message" && (!check.console || f.ConversationID == check.conv) {
				msgs[f.Seq] = storedMsg{role: f.Role, kind: f.Kind, clientID: f.ClientID, replyTo: f.ReplyTo}
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: %d of %d messages", check.name, len(msgs), last)
		}
	}
	return msgs
}
