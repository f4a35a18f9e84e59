// Package browsertest starts headless Chromium for the browser tests of
// widget, escalation/console and cmd/bulle: one place that finds the
// browser, knows the flags this machine needs, and watches a tab's console
// for errors. Only tests import it.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// find returns the browser to drive, "" when there is none.
func find() string {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Allocator starts a headless Chromium for t and returns the context to
// open tabs in (chromedp.NewContext). Without a browser the test is
// skipped, or fails when BULLE_REQUIRE_BROWSER=1 (make test sets it, after
// make deps installed Debian's chromium). The browser stops with the test,
// or after timeout.
func Allocator(t testing.TB, timeout time.Duration, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	chrome := find()
	if chrome == "" {
		if os.Getenv("BULLE_REQUIRE_BROWSER") == "1" {
			t.Fatal("chromium not found, and BULLE_REQUIRE_BROWSER=1: run make deps")
		}
		t.Skip("chromium not found (make deps installs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	// Without the background-networking flags, Chromium's own requests
	// hit this machine's closed network at every start.
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}, extra...)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	return alloc
}

// Console records what a tab's console says that a test must fail on.
type Console struct {
	mu       sync.Mutex
	problems []string
	stop     context.CancelFunc
	done     chan struct{}
}

// Watch records the tab's errors and exceptions, and its warnings too
// when warnings is set; requests for favicon.ico, which no page here has,
// are not problems. It starts the tab's browser if it has not started.
func Watch(tab context.Context, warnings bool) *Console {
	ctx, stop := context.WithCancel(tab)
	c := &Console{stop: stop, done: make(chan struct{})}
	messages := chromedp.Console(ctx)
	go func() {
		defer close(c.done)
		for m, err := range messages {
			if err != nil {
				return
			}
			bad := m.Type == chromedp.ConsoleError || m.IsException() || (warnings && m.Type == chromedp.ConsoleWarning)
			if bad && !strings.Contains(m.Text+m.URL, "favicon.ico") {
				c.mu.Lock()
				c.problems = append(c.problems, m.String())
				c.mu.Unlock()
			}
		}
	}()
	return c
}

// Problems stops watching and returns what was recorded.
func (c *Console) Problems() []string {
	c.stop()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.problems...)
}
