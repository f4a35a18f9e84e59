package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
)

// saturdayNoon is Saturday 28 November 2026, 12:00 in New York: chat is
// closed by default, email open.
var saturdayNoon = time.Date(2026, 11, 28, 17, 0, 0, 0, time.UTC)

// logBuffer collects log output that goroutines write while a test reads it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls cond until it holds, failing the test after a few seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5 s: got no %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// writeFile replaces the file at path, as an editor saving it does.
func writeFile(t *testing.T, path, text string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestConfigHours(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		env      map[string]string
		wantErr  []string
		chatSat  bool // chat open on Saturday at noon
		emailSat bool
		wantZone string
	}{
		{"defaults", "", nil, nil, false, true, "America/New_York"},
		{"the [hours] keys are still the chat schedule; email keeps its default",
			"[hours]\ntimezone = \"Europe/Paris\"\nsaturday = \"10:00-22:00\"\n", nil, nil, true, true, "Europe/Paris"},
		{"email has its own days", "[hours.email]\nsaturday = \"closed\"\n", nil, nil, false, false, "America/New_York"},
		{"email closures and overrides",
			"[hours.email]\nclosed = [\"2026-11-27\"]\n[[hours.email.override]]\nfrom = \"2026-11-28\"\nuntil = \"2026-11-29\"\ndaily = \"closed\"\n",
			nil, nil, false, false, "America/New_York"},
		{"the zone from the environment", "[hours]\ntimezone = \"Europe/Paris\"\n",
			map[string]string{"BULLE_HOURS_TIMEZONE": "Asia/Tokyo"}, nil, false, true, "Asia/Tokyo"},
		{"a bad email day is named", "[hours.email]\nmonday = \"9-5\"\n", nil, []string{"hours.email.monday"}, false, false, ""},
		{"a bad chat override is named", "[[hours.override]]\nfrom = \"2026-08-14\"\nuntil = \"2026-08-03\"\ndaily = \"closed\"\n",
			nil, []string{"hours.override[0]"}, false, false, ""},
		{"a misspelt email key is named", "[hours.email]\nmondy = \"closed\"\n", nil,
			[]string{"unknown keys", "hours.email.mondy"}, false, false, ""},
		{"a bad zone from the environment is named", "", map[string]string{"BULLE_HOURS_TIMEZONE": "EST"},
			[]string{"hours.timezone"}, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := loadArgs([]string{"--config", writeConfig(t, tt.text)}, env(tt.env))
			if len(tt.wantErr) > 0 {
				for _, want := range tt.wantErr {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("got %v, want an error naming %s", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a, err := newAvailability(c)
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Hours().Location().String(); got != tt.wantZone {
				t.Errorf("zone: got %s, want %s", got, tt.wantZone)
			}
			at := time.Date(2026, 11, 28, 12, 0, 0, 0, a.Hours().Location())
			ctx := context.Background()
			if got := a.Status(ctx, escalation.ChannelChat, at).Open; got != tt.chatSat {
				t.Errorf("chat on Saturday: got open %v, want %v", got, tt.chatSat)
			}
			if got := a.Status(ctx, escalation.ChannelEmail, at).Open; got != tt.emailSat {
				t.Errorf("email on Saturday: got open %v, want %v", got, tt.emailSat)
			}
		})
	}
}

func TestChatAvailabilityAdaptsToTheBot(t *testing.T) {
	a, err := newAvailability(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	c := chatAvailability{a}
	monday := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC) // 04:00 in New York
	if got := c.ChatStatus(context.Background(), saturdayNoon); got.Open || !got.NextOpen.Equal(monday) {
		t.Errorf("saturday: got %+v, want closed until %v", got, monday)
	}
	if got := c.ChatStatus(context.Background(), monday); got != (bot.ChatStatus{Open: true}) {
		t.Errorf("monday: got %+v, want open and no next opening", got)
	}
	a.AgentsPresent = func(context.Context) bool { return false }
	if got := c.ChatStatus(context.Background(), monday); got != (bot.ChatStatus{}) {
		t.Errorf("monday without agents: got %+v, want closed, reopening unknown", got)
	}
}

// startReloader runs a reloader on the config file at path (or on none,
// with load) until the test ends, logging into the returned buffer.
func startReloader(t *testing.T, path string, load func() (Config, string, error), signals chan os.Signal) (*escalation.Availability, *logBuffer) {
	t.Helper()
	if load == nil {
		load = func() (Config, string, error) { return loadArgs([]string{"--config", path}, noEnv) }
	}
	running, _, err := load()
	if err != nil {
		t.Fatal(err)
	}
	a, err := newAvailability(running)
	if err != nil {
		t.Fatal(err)
	}
	logs := new(logBuffer)
	r := &hoursReloader{avail: a, load: load, running: running, log: slog.New(slog.NewTextHandler(logs, nil)), path: path}
	if err := r.watch(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.run(ctx, signals)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return a, logs
}

func TestReloadAppliesAValidEditAndKeepsTheHoursOnAnInvalidOne(t *testing.T) {
	path := writeConfig(t, "[hours]\nsaturday = \"closed\"\n")
	a, logs := startReloader(t, path, nil, nil)
	chatOpen := func() bool { return a.ChatStatus(context.Background(), saturdayNoon).Open }
	if chatOpen() {
		t.Fatal("before the edit: got chat open on Saturday, want closed")
	}

	writeFile(t, path, "[hours]\nsaturday = \"10:00-14:00\"\n[bot]\nthreshold = 0.5\n")
	waitFor(t, "Saturday hours after the edit", chatOpen)
	waitFor(t, "log of the setting that needs a restart", func() bool {
		return strings.Contains(logs.String(), "settings=bot.threshold")
	})

	writeFile(t, path, "[hours]\nsaturday = \"10h-14h\"\n")
	waitFor(t, "log of the refused edit", func() bool {
		return strings.Contains(logs.String(), "config reload refused") && strings.Contains(logs.String(), "hours.saturday")
	})
	if !chatOpen() {
		t.Error("after an invalid edit: got chat closed on Saturday, want the hours in force kept")
	}

	// Another file in the folder changing does not reload.
	before := strings.Count(logs.String(), "config reload")
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "[hours]\nsaturday = \"closed\"\n")
	waitFor(t, "Saturday closed again", func() bool { return !chatOpen() })
	if got := strings.Count(logs.String(), "config reload"); got != before+1 {
		t.Errorf("reloads: got %d more, want 1 (the config's edit only); logs:\n%s", got-before, logs)
	}
}

func TestReloadOnSignal(t *testing.T) {
	var mu sync.Mutex
	saturday := "closed"
	load := func() (Config, string, error) {
		mu.Lock()
		defer mu.Unlock()
		c := DefaultConfig()
		c.Hours.Saturday = saturday
		return c, "", c.Validate()
	}
	signals := make(chan os.Signal, 1)
	a, logs := startReloader(t, "", load, signals)
	mu.Lock()
	saturday = "00:00-24:00"
	mu.Unlock()
	signals <- syscall.SIGHUP
	waitFor(t, "Saturday hours after SIGHUP", func() bool { return a.ChatStatus(context.Background(), saturdayNoon).Open })
	if !strings.Contains(logs.String(), "reason=hangup") || !strings.Contains(logs.String(), "hours_changed=true") {
		t.Errorf("logs: got %s, want the reload and its reason", logs)
	}
}

func TestChangedSettings(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   []string
	}{
		{"nothing", func(c *Config) {}, nil},
		{"hours are not listed: they are applied", func(c *Config) { c.Hours.Monday = "closed"; c.Hours.Email.Sunday = "closed" }, nil},
		{"top-level and nested keys", func(c *Config) { c.Addr = "127.0.0.1:9"; c.Bot.Threshold = 0.9 }, []string{"addr", "bot.threshold"}},
		{"lists and secrets, by name only", func(c *Config) { c.Widget.AllowedOrigins = []string{"https://a.example"}; c.SMTP.Password = "x" },
			[]string{"widget.allowed_origins", "smtp.password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			if got := changedSettings(DefaultConfig(), c); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestServeReloadsHoursFromItsConfigFile runs the whole server from a
// config file, edits the file and sees /api/availability follow.
func TestServeReloadsHoursFromItsConfigFile(t *testing.T) {
	dir := t.TempDir()
	base := "addr = \"127.0.0.1:0\"\ndata_dir = " + tomlString(filepath.Join(dir, "data")) +
		"\narticles_dir = " + tomlString(writeArticles(t, testArticles)) + "\n"
	path := filepath.Join(dir, "bulle.toml")
	writeFile(t, path, base+"[hours]\nmonday = \"04:00-20:00\"\n")

	logs := new(logBuffer)
	m := NewMain()
	m.Getenv, m.Stderr = noEnv, logs
	if err := m.ParseFlags(context.Background(), []string{"--config", path}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	get := func() string {
		resp, err := http.Get(m.URL() + "/api/availability?lang=en")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if body := get(); !strings.Contains(body, `"Monday to Friday, 04:00 to 20:00 (New York time)"`) {
		t.Fatalf("before the edit: got %s, want the default hours", body)
	}

	writeFile(t, path, base+"[log]\nformat = \"json\"\n[hours]\nmonday = \"09:00-17:00\"\n")
	waitFor(t, "Monday's new hours in /api/availability", func() bool {
		return strings.Contains(get(), `"Monday, 09:00 to 17:00 (New York time)"`)
	})
	if !strings.Contains(logs.String(), "settings=log.format") {
		t.Errorf("logs: got %s, want log.format reported as waiting for a restart", logs)
	}

	writeFile(t, path, base+"[hours]\ntimezone = \"Mars/Olympus\"\n")
	waitFor(t, "log of the refused edit", func() bool { return strings.Contains(logs.String(), "hours.timezone") })
	if body := get(); !strings.Contains(body, `"Monday, 09:00 to 17:00 (New York time)"`) {
		t.Errorf("after an invalid edit: got %s, want the hours in force kept", body)
	}
}

func TestServeAvailabilityAPI(t *testing.T) {
	m := mustRunMain(t, nil)
	tests := []struct {
		name        string
		url         string
		accept      string
		wantStatus  int
		wantContent []string
	}{
		{"french for a Paris visitor", "/api/availability?lang=fr&tz=Europe/Paris", "", 200,
			[]string{`"visitor_zone":"Europe/Paris"`, `(heure de Paris)`, `(heure de New York)`, `"email":{"open":true`}},
		{"english", "/api/availability?lang=en", "", 200, []string{`(New York time)`, `"Every day, 24 hours a day"`}},
		{"bad zone is JSON even for a browser", "/api/availability?tz=Europe/Pariss", "text/html", 400,
			[]string{`{"error":"tz: \"Europe/Pariss\" is not an IANA time zone such as Europe/Paris"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, m.URL()+tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("got %d %s, want %d JSON; body %s", resp.StatusCode, resp.Header.Get("Content-Type"), tt.wantStatus, body)
			}
			for _, want := range tt.wantContent {
				if !strings.Contains(string(body), want) {
					t.Errorf("body: got %s, want it to contain %s", body, want)
				}
			}
		})
	}
}

// tomlString quotes a path for a TOML file, Windows backslashes included.
func tomlString(s string) string {
	return `'` + s + `'`
}
