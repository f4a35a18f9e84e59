package console

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/labstack/echo/v4"
)

// smallWrites accepts connections with a small send buffer, so that a
// client that stops reading stalls the server's writes within a few
// kilobytes rather than megabytes.
type smallWrites struct{ net.Listener }

func (l smallWrites) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4 << 10)
	}
	return c, err
}

// newStallFixture is newFixture over a server with small send buffers.
func newStallFixture(t *testing.T, opt Options) *fixture {
	t.Helper()
	s, err := escalation.Open(context.Background(), filepath.Join(t.TempDir(), "bulle.db"))
	if err != nil {
		t.Fatal(err)
	}
	con, err := New(s, opt)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	con.Register(e)
	con.Start()
	srv := httptest.NewUnstartedServer(e)
	srv.Listener = smallWrites{srv.Listener}
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		con.Shutdown(ctx)
		srv.Close()
		s.Close()
	})
	return &fixture{t: t, store: s, con: con, srv: srv, clock: &testClock{now: time.Now()}}
}

// TestAStalledConsoleIsDroppedAndResumesByReplay: a console that stops
// reading holds up no one: the visitor's messages are stored and reach
// another console at once, its own socket is closed when a write times
// out, and after reconnecting it receives exactly what it missed.
func TestAStalledConsoleIsDroppedAndResumesByReplay(t *testing.T) {
	f := newStallFixture(t, Options{WriteTimeout: 300 * time.Millisecond})
	ana := f.console("ana@team.example", "Ana")
	// Ana's end reads slowly too: a small receive buffer.
	fast := ana.b.c.Transport
	tr := fast.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetReadBuffer(4 << 10)
		}
		return c, err
	}
	ana.b.c.Transport = tr
	ana.reconnect()
	bo := f.console("bo@team.example", "Bo")
	v := f.queuedVisitor("Bonjour")
	ana.follow(v.conv.ID, 4)
	bo.follow(v.conv.ID, 4)

	// Ana stops reading; the visitor writes long messages.
	const n = 60
	long := strings.Repeat("Ma facture est fausse. ", 170) // about 4 KB
	start := time.Now()
	for range n {
		v.say(long)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("storing and publishing %d messages took %v: the hub waited", n, d)
	}
	for i := range n {
		if m := bo.nextOf(typeMessage); m.Seq != int64(5+i) {
			t.Fatalf("Bo: got seq %d, want %d", m.Seq, 5+i)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Bo got every message after %v: the stalled console held him up", d)
	}

	// Ana reads again: what was in flight, then the end of her socket.
	last := int64(4)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	for {
		var data []byte
		if _, data, err = ana.conn.Read(ctx); err != nil {
			break
		}
		if strings.Contains(string(data), `"type":"message"`) {
			last++
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("the stalled console's socket is still open")
	}
	if last >= 4+n {
		t.Fatalf("Ana got all %d messages before the drop: the test did not stall her", n)
	}

	// She reconnects, reading at a normal pace again, and follows from the
	// last message she has: exactly the rest, in order.
	ana.b.c.Transport = fast
	ana.reconnect()
	ana.follow(v.conv.ID, last)
	for seq := last + 1; seq <= 4+n; seq++ {
		if m := ana.nextOf(typeMessage); m.Seq != seq {
			t.Fatalf("replay: got seq %d, want %d", m.Seq, seq)
		}
	}
	ana.quiet()
}
