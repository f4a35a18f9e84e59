package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	_ "github.com/mattn/go-sqlite3" // the locking process opens the database itself
	"golang.org/x/sys/unix"
)

// Fault 4 of issue 15: the database is locked by another process, or the
// disk is full. Each visitor write that cannot be stored is answered with
// an error frame naming it, never an ack; reads and other visitors' work go
// on; and once the cause goes away the same resends (same client ids) are
// stored and acknowledged once, by the same server process.
//
// Both faults are real: another process holds SQLite's write lock with
// BEGIN EXCLUSIVE, and the server's own RLIMIT_FSIZE is lowered under the
// size of its database files, so that every write that would grow them
// fails with EFBIG, as on a full disk (SIGXFSZ is ignored by serve).

// faultLockEnv names the database TestFaultStorageHelperLock locks.
const faultLockEnv = "BULLE_FAULT_LOCK"

// TestFaultStorageHelperLock is no test of its own: it is the other
// process of TestFaultStorageLocked (this test binary, run again). It
// opens the database, takes the write lock with BEGIN EXCLUSIVE, says
// "locked" on its standard output, and holds the lock until its standard
// input closes.
func TestFaultStorageHelperLock(t *testing.T) {
	path := os.Getenv(faultLockEnv)
	if path == "" {
		t.Skip("the locking process of TestFaultStorageLocked")
	}
	ctx := context.Background()
	// Wait for the server's write under way, if any, then hold the lock.
	db, err := sql.Open("sqlite3", path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
}

// dbLock is the locking process.
type dbLock struct {
	cmd   *exec.Cmd
	stdin io.Closer
	out   *logBuffer
	once  sync.Once
}

// lockDatabase starts the locking process on the database at path and
// returns once it holds the lock.
func lockDatabase(t *testing.T, path string) *dbLock {
	t.Helper()
	l := &dbLock{out: &logBuffer{}}
	l.cmd = exec.Command(os.Args[0], "-test.run=^TestFaultStorageHelperLock$", "-test.count=1", "-test.timeout=1m")
	l.cmd.Env = append(os.Environ(), faultLockEnv+"="+path)
	l.cmd.Stdout, l.cmd.Stderr = l.out, l.out
	var err error
	if l.stdin, err = l.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.release(t) })
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(l.out.String(), "locked") {
		if time.Now().After(deadline) {
			t.Fatalf("the locking process did not lock:\n%s", l.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return l
}

// release ends the lock: the process rolls back and exits.
func (l *dbLock) release(t *testing.T) {
	t.Helper()
	l.once.Do(func() {
		l.stdin.Close()
		if err := l.cmd.Wait(); err != nil {
			t.Errorf("locking process: %v\n%s", err, l.out.String())
		}
	})
}

// startPipedServer is startServer with the server's output read through a
// pipe into a buffer: under a file-size limit its writes to a log file
// would fail too.
func startPipedServer(t *testing.T, cfg faultServe) (*serverProcess, *logBuffer) {
	t.Helper()
	os.Remove(cfg.AddrFile)
	raw, _ := json.Marshal(cfg)
	out := &logBuffer{}
	p := &serverProcess{}
	p.cmd = exec.Command(os.Args[0], "-test.run=^TestFaultKillHelperServe$", "-test.count=1", "-test.timeout=2m")
	p.cmd.Env = append(os.Environ(), faultServeEnv+"="+string(raw))
	p.cmd.Stdout, p.cmd.Stderr = out, out
	var err error
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
		if t.Failed() {
			t.Logf("server's log:\n%s", lastBytes(out.String(), 6000))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if data, err := os.ReadFile(cfg.AddrFile); err == nil {
			p.addr = string(data)
			return p, out
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// storageFrame is a frame of the bubble's socket, with the fields these
// tests read.
type storageFrame struct {
	Type         string `json:"type"`
	Code         string `json:"code"`
	Message      string `json:"message"`
	ClientID     string `json:"client_id"`
	Seq          int64  `json:"seq"`
	ReplyTo      int64  `json:"reply_to"`
	Role         string `json:"role"`
	Kind         string `json:"kind"`
	Ticket       string `json:"ticket"`
	Token        string `json:"token"`
	Helpful      bool   `json:"helpful"`
	Conversation struct {
		ID      int64 `json:"id"`
		LastSeq int64 `json:"last_seq"`
	} `json:"conversation"`
}

// storageVisitor is one bubble's connection: it keeps every frame it
// receives, in order, for the checks.
type storageVisitor struct {
	name   string
	conn   *websocket.Conn
	mu     sync.Mutex
	frames []storageFrame
	at     []time.Time // when each frame arrived
	token  string
	sent   map[string]time.Time // when each client id was last sent
}

// dialStorageVisitor opens a bubble socket on the server at addr.
func dialStorageVisitor(t *testing.T, addr, name string) *storageVisitor {
	t.Helper()
	v := &storageVisitor{name: name, conn: dialFaultBubble(t, addr), sent: map[string]time.Time{}}
	go func() {
		for {
			_, data, err := v.conn.Read(context.Background())
			if err != nil {
				return
			}
			var f storageFrame
			if err := json.Unmarshal(data, &f); err != nil {
				t.Errorf("%s: bad frame %s", name, data)
				return
			}
			v.mu.Lock()
			v.frames = append(v.frames, f)
			v.at = append(v.at, time.Now())
			v.mu.Unlock()
		}
	}()
	return v
}

// send writes a frame; a frame with a client id is timed from now.
func (v *storageVisitor) send(t *testing.T, f map[string]any) {
	t.Helper()
	if id, ok := f["client_id"].(string); ok {
		v.mu.Lock()
		v.sent[id] = time.Now()
		v.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := wsjson.Write(ctx, v.conn, f); err != nil {
		t.Fatalf("%s: send %v: %v", v.name, f, err)
	}
}

func (v *storageVisitor) message(t *testing.T, id, text string) {
	t.Helper()
	v.send(t, map[string]any{"type": "message", "client_id": id, "text": text})
}

// wait returns the first frame match accepts, waiting up to within.
func (v *storageVisitor) wait(t *testing.T, what string, within time.Duration, match func(storageFrame) bool) storageFrame {
	t.Helper()
	f, _ := v.waitAt(t, what, within, match)
	return f
}

// waitAt is wait, and says when the frame arrived.
func (v *storageVisitor) waitAt(t *testing.T, what string, within time.Duration, match func(storageFrame) bool) (storageFrame, time.Time) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		v.mu.Lock()
		for i, f := range v.frames {
			if match(f) {
				at := v.at[i]
				v.mu.Unlock()
				return f, at
			}
		}
		v.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %s within %s; frames: %+v", v.name, what, within, v.all())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// count says how many frames received so far match.
func (v *storageVisitor) count(match func(storageFrame) bool) int {
	n := 0
	for _, f := range v.all() {
		if match(f) {
			n++
		}
	}
	return n
}

func (v *storageVisitor) all() []storageFrame {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]storageFrame(nil), v.frames...)
}

// hello starts a conversation (token "") or resumes one from last_seq 0.
func (v *storageVisitor) hello(t *testing.T, token string) storageFrame {
	t.Helper()
	h := map[string]any{"type": "hello", "lang": "en"}
	if token != "" {
		h["token"], h["last_seq"] = token, 0
	}
	v.send(t, h)
	w := v.wait(t, "welcome", 10*time.Second, func(f storageFrame) bool { return f.Type == "welcome" })
	v.token = w.Token
	return w
}

// refused waits for the error frame answering client id id, and returns
// how long it took from the send.
func (v *storageVisitor) refused(t *testing.T, id string, within time.Duration) time.Duration {
	t.Helper()
	f, at := v.waitAt(t, "error for "+id, within, func(f storageFrame) bool { return f.Type == "error" && f.ClientID == id })
	v.mu.Lock()
	took := at.Sub(v.sent[id])
	v.mu.Unlock()
	if f.Code != "internal" {
		t.Errorf("%s: %s refused with code %q (%s), want internal: nothing stored, resend later", v.name, id, f.Code, f.Message)
	}
	return took
}

// acked waits for the ack of id and the message that answers it: the
// visitor's message's bot reply, or the note of a ticket.
func (v *storageVisitor) acked(t *testing.T, id string) storageFrame {
	t.Helper()
	ack := v.wait(t, "ack of "+id, 15*time.Second, func(f storageFrame) bool { return f.Type == "ack" && f.ClientID == id })
	v.wait(t, "the reply to "+id, 15*time.Second, func(f storageFrame) bool {
		return f.Type == "message" && (f.Role == "bot" && f.ReplyTo == ack.Seq || f.Seq == ack.Seq && f.Kind == "ticket_created")
	})
	return ack
}

// noAck checks that nothing of the refused client ids was acknowledged
// or sent as stored.
func (v *storageVisitor) noAck(t *testing.T, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if n := v.count(func(f storageFrame) bool { return f.ClientID == id && (f.Type == "ack" || f.Type == "message") }); n > 0 {
			t.Errorf("%s: %s was refused, yet %d ack or message frames name it", v.name, id, n)
		}
	}
}

// ackedOnce checks that each id got exactly one ack in all.
func (v *storageVisitor) ackedOnce(t *testing.T, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if n := v.count(func(f storageFrame) bool { return f.Type == "ack" && f.ClientID == id }); n != 1 {
			t.Errorf("%s: %s acknowledged %d times, want once", v.name, id, n)
		}
	}
}

// checkStored replays the conversation of token from seq 1 on a new
// socket and compares it with want: each stored message as role/kind,
// with its client id after a colon for the visitor's. Seqs must run 1, 2,
// 3… without gaps, every question have one bot reply, and nothing else
// be there: nothing half-stored from the refused writes.
func checkStored(t *testing.T, addr, name, token string, want []string) {
	t.Helper()
	v := dialStorageVisitor(t, addr, name+" (replay)")
	w := v.hello(t, token)
	last := w.Conversation.LastSeq
	v.wait(t, "the whole replay", 10*time.Second, func(f storageFrame) bool { return f.Type == "message" && f.Seq == last })
	var got []string
	replies := map[int64]int{}
	for _, f := range v.all() {
		if f.Type != "message" {
			continue
		}
		if f.Seq != int64(len(got)+1) {
			t.Errorf("%s: seq %d after %d", name, f.Seq, len(got))
		}
		s := f.Role + "/" + f.Kind
		if f.ClientID != "" {
			s += ":" + f.ClientID
		}
		if f.Role == "bot" {
			replies[f.ReplyTo]++
			s = "bot"
		}
		got = append(got, s)
	}
	for q, n := range replies {
		if n != 1 {
			t.Errorf("%s: question %d answered %d times", name, q, n)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s: stored\n\t%s\nwant\n\t%s", name, strings.Join(got, " "), strings.Join(want, " "))
	}
}

// getPage fetches a page of the server and returns its status and how long
// it took.
func getPage(t *testing.T, url string) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

// The store's writer waits this long for another process's lock
// (escalation's writerParams, _busy_timeout=5000).
const busyTimeout = 5 * time.Second

const (
	questionPassword = "how do I reset my password"
	questionHours    = "what are your business hours"
)

// ticketFrame is the bubble's email form, with client id id.
func ticketFrame(id string) map[string]any {
	return map[string]any{"type": "ticket", "client_id": id, "topic": "billing", "email": "ana@example.org",
		"name": "Ana", "text": "My invoice is counted twice."}
}

// TestFaultStorageLocked: another process holds the database's write lock
// while two visitors send a message and a third sends the email form.
// Each is refused after the busy timeout, with an error frame and no ack,
// while reads go on; once the lock is released the same resends are
// stored and acknowledged once, by the same server process.
func TestFaultStorageLocked(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and a process that locks its database")
	}
	dir := t.TempDir()
	cfg := faultServe{DataDir: filepath.Join(dir, "data"), ArticlesDir: writeArticles(t, testArticles),
		AddrFile: filepath.Join(dir, "addr")}
	srv, out := startPipedServer(t, cfg)
	base := "http://" + srv.addr

	// Before: three visitors, one with a question answered.
	a, b, d := dialStorageVisitor(t, srv.addr, "a"), dialStorageVisitor(t, srv.addr, "b"), dialStorageVisitor(t, srv.addr, "d")
	a.hello(t, "")
	b.hello(t, "")
	d.hello(t, "")
	a.message(t, "a-0", questionPassword)
	a.acked(t, "a-0")

	// Another process takes the write lock and keeps it.
	lock := lockDatabase(t, filepath.Join(cfg.DataDir, "bulle.db"))
	locked := time.Now()
	a.message(t, "a-1", questionHours)
	b.message(t, "b-1", questionPassword)
	d.send(t, ticketFrame("d-t1"))

	// Reads do not wait for the writes stuck behind the lock: a visitor
	// resumes the conversation of a on a new socket, and an article page
	// (which reads its votes) is served.
	time.Sleep(200 * time.Millisecond) // the writes are waiting now
	r := dialStorageVisitor(t, srv.addr, "a, another tab")
	start := time.Now()
	if w := r.hello(t, a.token); w.Conversation.LastSeq != 2 {
		t.Errorf("resume while locked: last_seq %d, want 2", w.Conversation.LastSeq)
	}
	r.wait(t, "the replay while locked", 2*time.Second, func(f storageFrame) bool { return f.Type == "message" && f.Seq == 2 })
	if took := time.Since(start); took > time.Second {
		t.Errorf("resume while locked took %s, want under a second: reads must not wait for the lock", took)
	}
	if status, took := getPage(t, base+"/en/account/reset-password"); status != http.StatusOK || took > time.Second {
		t.Errorf("article page while locked: %d in %s, want 200 within a second", status, took)
	}

	// Each write waits for the lock up to the busy timeout, then is
	// refused with an error frame naming it; nothing is acknowledged.
	// The visitors' messages queued while the group commit's BEGIN waited
	// share its outcome: both are refused at the same moment. The ticket
	// is a transaction of its own on the one writer connection, so the
	// two take turns, in either order: every write is refused within two
	// busy timeouts.
	var took []time.Duration
	for _, w := range []struct {
		v  *storageVisitor
		id string
	}{{a, "a-1"}, {b, "b-1"}, {d, "d-t1"}} {
		took = append(took, w.v.refused(t, w.id, 3*busyTimeout+5*time.Second))
	}
	t.Logf("refused after: a-1 %s, b-1 %s, ticket %s (busy timeout %s, one writer connection)", took[0].Round(time.Millisecond),
		took[1].Round(time.Millisecond), took[2].Round(time.Millisecond), busyTimeout)
	for i, wait := range took {
		if most := 2*busyTimeout + 2*time.Second; wait < busyTimeout-500*time.Millisecond || wait > most {
			t.Errorf("write %d refused after %s, want after the busy timeout (%s) and within %s", i, wait, busyTimeout, most)
		}
	}
	if d := took[0] - took[1]; d > time.Second || d < -time.Second {
		t.Errorf("the two messages refused %s apart, want together: they queued behind the same BEGIN", d)
	}
	a.noAck(t, "a-1")
	b.noAck(t, "b-1")
	d.noAck(t, "d-t1")
	if d.count(func(f storageFrame) bool { return f.Kind == "ticket_created" }) > 0 {
		t.Error("a ticket note arrived while the database was locked")
	}
	if !strings.Contains(out.String(), "database is locked") {
		t.Error("the server did not log the locked database")
	}

	// The lock goes; the same process stores the same resends, once.
	lock.release(t)
	t.Logf("database locked for %s", time.Since(locked).Round(time.Millisecond))
	a.message(t, "a-1", questionHours)
	b.message(t, "b-1", questionPassword)
	d.send(t, ticketFrame("d-t1"))
	ackA, ackB := a.acked(t, "a-1"), b.acked(t, "b-1")
	d.acked(t, "d-t1")
	a.ackedOnce(t, "a-0", "a-1")
	b.ackedOnce(t, "b-1")
	d.ackedOnce(t, "d-t1")
	if ackA.Seq != 3 || ackB.Seq != 1 {
		t.Errorf("acks after the lock: a-1 at %d, b-1 at %d; want 3 and 1", ackA.Seq, ackB.Seq)
	}
	checkStored(t, srv.addr, "a", a.token, []string{"visitor/text:a-0", "bot", "visitor/text:a-1", "bot"})
	checkStored(t, srv.addr, "b", b.token, []string{"visitor/text:b-1", "bot"})
	checkStored(t, srv.addr, "d", d.token, []string{"visitor/ticket", "system/ticket_created"})

	if srv.cmd.ProcessState != nil {
		t.Fatal("the server exited")
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	if err := srv.cmd.Wait(); err != nil {
		t.Errorf("server: %v", err)
	}
}

// setFileLimit sets the soft RLIMIT_FSIZE of process pid, and returns the
// limit it replaced.
func setFileLimit(t *testing.T, pid int, cur uint64) unix.Rlimit {
	t.Helper()
	var old unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, nil, &old); err != nil {
		t.Fatal(err)
	}
	lim := unix.Rlimit{Cur: cur, Max: old.Max}
	if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &lim, nil); err != nil {
		t.Fatal(err)
	}
	return old
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestFaultStorageDiskFull: the server's file-size limit is lowered under
// the size of its database files while every visitor writes at once:
// messages (whole group-commit batches fail), a ticket, a vote and a new
// conversation are each refused at once, nothing acknowledged, and the
// server lives on (SIGXFSZ ignored). With room again, the same resends
// are stored once each, and the database checks sound after a clean stop.
func TestFaultStorageDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and fills its disk")
	}
	dir := t.TempDir()
	cfg := faultServe{DataDir: filepath.Join(dir, "data"), ArticlesDir: writeArticles(t, testArticles),
		AddrFile: filepath.Join(dir, "addr")}
	srv, out := startPipedServer(t, cfg)
	base := "http://" + srv.addr
	db := filepath.Join(cfg.DataDir, "bulle.db")

	// Before: visitors, one with an answered question.
	visitors := make([]*storageVisitor, 4)
	for i := range visitors {
		visitors[i] = dialStorageVisitor(t, srv.addr, fmt.Sprintf("v%d", i))
		visitors[i].hello(t, "")
	}
	a, d := visitors[0], visitors[3]
	a.message(t, "a-0", questionPassword)
	answer := a.wait(t, "the answer to a-0", 10*time.Second, func(f storageFrame) bool { return f.Role == "bot" })

	// The disk is full: no write may grow the database or its WAL. The
	// limit is a whole number of pages, so no page is half written.
	walSize, dbSize := fileSize(t, db+"-wal"), fileSize(t, db)
	limit := uint64(min(walSize, dbSize)) &^ 4095
	if limit == 0 {
		t.Fatalf("database %d B, WAL %d B: too small to fill", dbSize, walSize)
	}
	old := setFileLimit(t, srv.cmd.Process.Pid, limit)
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if err := unix.Prlimit(srv.cmd.Process.Pid, unix.RLIMIT_FSIZE, &old, nil); err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(restore)
	t.Logf("file-size limit %d B (database %d B, WAL %d B)", limit, dbSize, walSize)

	// Every visitor writes at once, so that the group commit fails whole
	// batches: three messages each (the socket handles them in turn), a
	// ticket, a vote, and a new visitor's first hello.
	var ids [][]string
	var wg sync.WaitGroup
	for i, v := range visitors {
		var mine []string
		for j := 1; j <= 3; j++ {
			mine = append(mine, fmt.Sprintf("v%d-%d", i, j))
		}
		ids = append(ids, mine)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, id := range mine {
				v.message(t, id, questionHours+" ("+id+")")
			}
		}()
	}
	wg.Wait()
	d.send(t, ticketFrame("d-t1"))
	a.send(t, map[string]any{"type": "vote", "seq": answer.Seq, "helpful": true})
	e := dialStorageVisitor(t, srv.addr, "e")
	e.send(t, map[string]any{"type": "hello", "lang": "en"})

	for i, v := range visitors {
		for _, id := range ids[i] {
			if took := v.refused(t, id, 5*time.Second); took > 2*time.Second {
				t.Errorf("%s: %s refused after %s, want at once: a full disk is no lock to wait for", v.name, id, took)
			}
		}
		v.noAck(t, ids[i]...)
	}
	d.refused(t, "d-t1", 5*time.Second)
	d.noAck(t, "d-t1")
	a.wait(t, "the vote refused", 5*time.Second, func(f storageFrame) bool { return f.Type == "error" && f.Code == "internal" && f.ClientID == "" })
	if n := a.count(func(f storageFrame) bool { return f.Type == "voted" }); n > 0 {
		t.Error("the vote was confirmed while the disk was full")
	}
	if f := e.wait(t, "the first hello refused", 5*time.Second, func(f storageFrame) bool { return f.Type == "error" || f.Type == "welcome" }); f.Type != "error" || f.Code != "internal" {
		t.Errorf("a new conversation on a full disk: got %+v, want an internal error and no welcome", f)
	}

	// Reads go on, and the server is alive: SIGXFSZ did not kill it.
	r := dialStorageVisitor(t, srv.addr, "a, another tab")
	if w := r.hello(t, a.token); w.Conversation.LastSeq != 2 {
		t.Errorf("resume on a full disk: last_seq %d, want 2", w.Conversation.LastSeq)
	}
	if status, _ := getPage(t, base+"/en/account/reset-password"); status != http.StatusOK {
		t.Errorf("article page on a full disk: %d, want 200", status)
	}
	if !strings.Contains(out.String(), "widget failure") {
		t.Error("the server did not log the failed writes")
	}

	// Room again: the same process stores the same resends, once each.
	restore()
	for i, v := range visitors {
		for _, id := range ids[i] {
			v.message(t, id, questionHours+" ("+id+")")
			v.acked(t, id)
		}
		v.ackedOnce(t, ids[i]...)
	}
	d.send(t, ticketFrame("d-t1"))
	d.acked(t, "d-t1")
	d.ackedOnce(t, "d-t1")
	a.send(t, map[string]any{"type": "vote", "seq": answer.Seq, "helpful": true})
	a.wait(t, "the vote confirmed", 5*time.Second, func(f storageFrame) bool { return f.Type == "voted" })
	e.send(t, map[string]any{"type": "hello", "lang": "en"})
	e.wait(t, "the welcome, on the same socket", 5*time.Second, func(f storageFrame) bool { return f.Type == "welcome" })

	for i, v := range visitors {
		var want []string
		if i == 0 {
			want = append(want, "visitor/text:a-0", "bot")
		}
		for _, id := range ids[i] {
			want = append(want, "visitor/text:"+id, "bot")
		}
		if v == d {
			want = append(want, "visitor/ticket", "system/ticket_created")
		}
		checkStored(t, srv.addr, v.name, v.token, want)
	}

	// The server stops cleanly, and the database is sound.
	if srv.cmd.ProcessState != nil {
		t.Fatal("the server exited")
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	if err := srv.cmd.Wait(); err != nil {
		t.Errorf("server: %v", err)
	}
	check, err := sql.Open("sqlite3", db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	var integrity string
	var tickets, conversations int
	if err := check.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("integrity check: %q, %v", integrity, err)
	}
	if err := check.QueryRow(`SELECT (SELECT COUNT(*) FROM tickets), (SELECT COUNT(*) FROM conversations)`).Scan(&tickets, &conversations); err != nil {
		t.Fatal(err)
	}
	if tickets != 1 || conversations != len(visitors)+1 {
		t.Errorf("stored %d tickets and %d conversations, want 1 and %d", tickets, conversations, len(visitors)+1)
	}
}
