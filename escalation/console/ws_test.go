package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// dial opens the console socket as the browser b, from origin ("" sends
// none), with the CSRF token csrf.
func (b *browser) dial(ctx context.Context, csrf, origin string) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	u := "ws" + strings.TrimPrefix(b.f.srv.URL, "http") + "/console/events?csrf=" + url.QueryEscape(csrf)
	return websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: b.c, HTTPHeader: h})
}

// readPresence reads up to the next presence frame, skipping the live
// chat's queue frames.
func readPresence(ctx context.Context, t *testing.T, c *websocket.Conn) string {
	t.Helper()
	for {
		var f presenceFrame
		if err := wsjson.Read(ctx, c, &f); err != nil {
			t.Fatalf("read presence: %v", err)
		}
		if f.Type == typeQueue {
			continue
		}
		if f.Type != "presence" || f.At == "" {
			t.Fatalf("frame %+v: want presence", f)
		}
		return f.Status
	}
}

// signedInSocket signs a new browser in and opens its socket.
func signedInSocket(t *testing.T, f *fixture) (*browser, string, *websocket.Conn) {
	t.Helper()
	b := f.browser()
	csrf := csrfOf(t, b.signIn(testEmail, testPassword).body)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := b.dial(ctx, csrf, f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	if got := readPresence(ctx, t, c); got != "online" {
		t.Fatalf("first frame: %q, want online", got)
	}
	return b, csrf, c
}

func TestConsoleSocketHandshakeIsSameOriginWithTheSessionsToken(t *testing.T) {
	// Over TLS: with an https base_url the cookies are Secure.
	f := newFixture(t, Options{BaseURL: "https://help.example"}, true)
	f.agent(testEmail)
	b := f.browser()
	csrf := csrfOf(t, b.signIn(testEmail, testPassword).body)
	tests := []struct {
		name       string
		browser    *browser
		csrf       string
		origin     string
		wantStatus int
	}{
		{"another site", b, csrf, "https://evil.example", 403},
		{"a sibling subdomain", b, csrf, "https://evil.help.example", 403},
		{"no Origin", b, csrf, "", 403},
		{"no token", b, "", f.srv.URL, 403},
		{"another session's token", b, sessionCSRF("x"), f.srv.URL, 403},
		{"no session", f.browser(), csrf, f.srv.URL, 401},
		{"this site, by its Host", b, csrf, f.srv.URL, 101},
		{"this site, by base_url", b, csrf, "https://help.example", 101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, res, err := tt.browser.dial(ctx, tt.csrf, tt.origin)
			if c != nil {
				defer c.CloseNow()
			}
			got := 0
			if res != nil {
				got = res.StatusCode
			}
			if got != tt.wantStatus {
				t.Errorf("handshake: got %d (%v), want %d", got, err, tt.wantStatus)
			}
		})
	}
}

// closedWithin waits for the server to close c and returns its status
// and how long it took.
func closedWithin(t *testing.T, c *websocket.Conn, limit time.Duration) (websocket.StatusCode, time.Duration) {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("socket still open after %v", limit)
			}
			return websocket.CloseStatus(err), time.Since(start)
		}
	}
}

func TestConsoleSocketClosesAtOnceAfterLogout(t *testing.T) {
	f := newFixture(t, Options{}, false)
	f.agent(testEmail)
	b, csrf, c := signedInSocket(t, f)
	if res := b.post("/console/logout", url.Values{"csrf": {csrf}}); res.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", res.status)
	}
	status, took := closedWithin(t, c, 3*time.Second)
	if status != StatusSessionEnded || took > time.Second {
		t.Errorf("closed with %v after %v, want %v at once", status, took, StatusSessionEnded)
	}
}

func TestConsoleSocketClosesWithinSecondsAfterTheAgentIsRemovedElsewhere(t *testing.T) {
	f := newFixture(t, Options{}, false) // DefaultRevalidate: a second
	f.agent(testEmail)
	_, _, c := signedInSocket(t, f)
	// As `bulle agent remove` does, from another process: only the
	// database knows.
	if _, err := f.store.RemoveAgent(context.Background(), testEmail); err != nil {
		t.Fatal(err)
	}
	status, took := closedWithin(t, c, 5*time.Second)
	if status != StatusSessionEnded || took > 2*DefaultRevalidate+time.Second/2 {
		t.Errorf("closed with %v after %v, want %v within about %v", status, took, StatusSessionEnded, DefaultRevalidate)
	}
}

func TestConsoleSocketClosesWhenANewPasswordIsSet(t *testing.T) {
	f := newFixture(t, Options{Revalidate: time.Hour}, false) // only the console's own notice can close it
	f.agent(testEmail)
	_, _, c := signedInSocket(t, f)
	_, link, _, err := f.store.NewSetupToken(context.Background(), testEmail)
	if err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	csrf := csrfOf(t, b.get("/console/setup?t="+link).body)
	const pw = "a brand new phrase"
	if res := b.post("/console/setup", url.Values{"csrf": {csrf}, "t": {link}, "password": {pw}, "confirm": {pw}}); res.status != http.StatusSeeOther {
		t.Fatalf("setup: %d %s", res.status, res.body)
	}
	if status, _ := closedWithin(t, c, 3*time.Second); status != StatusSessionEnded {
		t.Errorf("closed with %v, want %v", status, StatusSessionEnded)
	}
}

func TestConsoleSocketSaysGoingAwayOnShutdown(t *testing.T) {
	f := newFixture(t, Options{}, false)
	f.agent(testEmail)
	_, _, c := signedInSocket(t, f)
	go f.con.Shutdown(context.Background())
	if status, _ := closedWithin(t, c, 3*time.Second); status != websocket.StatusGoingAway {
		t.Errorf("closed with %v, want going away", status)
	}
}

func TestPresenceFollowsTheSocketAndTheAwayToggle(t *testing.T) {
	f := newFixture(t, Options{}, false)
	inv := f.agent(testEmail)
	id := inv.Agent.ID
	reg := f.con.Sessions()
	if reg.Online(id) {
		t.Fatal("online before any socket")
	}
	b, csrf, c := signedInSocket(t, f)
	if !reg.Online(id) {
		t.Fatal("socket open: not online")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if res := b.post("/console/away", url.Values{"csrf": {csrf}, "away": {"1"}}); res.status != http.StatusSeeOther {
		t.Fatalf("away: %d", res.status)
	}
	if got := readPresence(ctx, t, c); got != "away" || reg.Online(id) || f.con.Online() != 0 {
		t.Errorf("after away: socket says %q, Online %v; want away, false", got, reg.Online(id))
	}
	if home := b.get("/console/?lang=en"); !strings.Contains(home.body, "Come back online") {
		t.Errorf("home while away: want the come-back button; %s", home.body)
	}
	if res := b.post("/console/away", url.Values{"csrf": {csrf}, "away": {"0"}}); res.status != http.StatusSeeOther {
		t.Fatalf("back: %d", res.status)
	}
	if got := readPresence(ctx, t, c); got != "online" || !reg.Online(id) {
		t.Errorf("after back: socket says %q, Online %v; want online, true", got, reg.Online(id))
	}
	c.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(3 * time.Second)
	for reg.Online(id) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if reg.Online(id) {
		t.Error("socket closed: still online")
	}
}
