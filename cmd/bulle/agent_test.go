package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// runBulle runs the command line and returns its output and exit status.
func runBulle(t *testing.T, getenv func(string) string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = exitCode(run(context.Background(), args, getenv, &out, &errb), &errb)
	return out.String(), errb.String(), code
}

var (
	setupLinkIn = regexp.MustCompile(`(http\S*)/console/setup\?t=([A-Za-z0-9_-]{43})`)
	apiTokenIn  = regexp.MustCompile(`API token[^\n]*\n\n  ([A-Za-z0-9_-]{43})`)
	csrfIn      = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// consoleBrowser is an HTTP client with cookies that does not follow
// redirects and posts forms as a page of origin would.
type consoleBrowser struct {
	t      testing.TB
	c      *http.Client
	origin string
}

func newConsoleBrowser(t testing.TB, origin string) *consoleBrowser {
	jar, _ := cookiejar.New(nil)
	return &consoleBrowser{t: t, origin: origin, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *consoleBrowser) do(method, u string, form url.Values, header http.Header) (int, http.Header, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.origin)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	buf, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(buf)
}

// pageCSRF fetches the page at url with hc and returns its form's CSRF token.
func pageCSRF(t testing.TB, hc *http.Client, url string) string {
	t.Helper()
	res, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return csrfFrom(t, string(body))
}

func csrfFrom(t testing.TB, page string) string {
	t.Helper()
	m := csrfIn.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field in %s", page)
	}
	return m[1]
}

// TestAgentAddPrintsAWorkingSetupLink follows what "bulle agent add"
// prints, against the running server on the same data folder: the link
// sets a password, the agent signs in and opens the console's socket;
// "bulle agent remove" then closes that socket within seconds and stops
// the session and the API token.
func TestAgentAddPrintsAWorkingSetupLink(t *testing.T) {
	m := mustRunMain(t, nil)
	origin := "http://" + m.Addr()
	out, errOut, code := runBulle(t, noEnv, "agent", "add", "lea@help.example.com", "--name", "Léa", "--role", "admin",
		"--data", m.Config.DataDir, "--addr", m.Addr())
	if code != 0 {
		t.Fatalf("agent add: exit %d; %s %s", code, out, errOut)
	}
	link := setupLinkIn.FindStringSubmatch(out)
	token := apiTokenIn.FindStringSubmatch(out)
	if link == nil || link[1] != origin || token == nil || !strings.Contains(out, "Added lea@help.example.com (Léa, admin).") {
		t.Fatalf("agent add printed %q: want the setup link at %s and the API token", out, origin)
	}

	// Follow the link: choose a password, sign in.
	b := newConsoleBrowser(t, origin)
	status, _, page := b.do("GET", link[0], nil, nil)
	if status != 200 || !strings.Contains(page, "lea@help.example.com") {
		t.Fatalf("setup page: %d %s", status, page)
	}
	const pw = "une longue phrase de passe"
	status, h, _ := b.do("POST", origin+"/console/setup", url.Values{"csrf": {csrfFrom(t, page)}, "t": {link[2]},
		"password": {pw}, "confirm": {pw}}, nil)
	if status != 303 || !strings.HasPrefix(h.Get("Location"), "/console/login?set=1") {
		t.Fatalf("set password: %d %q", status, h.Get("Location"))
	}
	_, _, page = b.do("GET", origin+"/console/login", nil, nil)
	status, h, _ = b.do("POST", origin+"/console/login", url.Values{"csrf": {csrfFrom(t, page)},
		"email": {"lea@help.example.com"}, "password": {pw}}, nil)
	if status != 303 || !strings.HasPrefix(h.Get("Location"), "/console/") {
		t.Fatalf("sign in: %d %q", status, h.Get("Location"))
	}
	status, h, home := b.do("GET", origin+"/console/", nil, http.Header{"Accept-Language": {"fr"}})
	if status != 200 || !strings.Contains(home, "Bonjour Léa") || !strings.Contains(home, "administrateur") {
		t.Fatalf("console home: %d %s", status, home)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("console CSP %q: want the console's own strict policy", csp)
	}

	// The API token works, and the console's socket opens.
	api := func() int {
		req, _ := http.NewRequest("GET", origin+"/api/agent/tickets/T-NOPE", nil)
		req.Header.Set("Authorization", "Bearer "+token[1])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := api(); got != http.StatusNotFound {
		t.Fatalf("API with the printed token: %d, want 404 (no such ticket, but signed in)", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+m.Addr()+"/console/events?csrf="+url.QueryEscape(csrfFrom(t, home)),
		&websocket.DialOptions{HTTPClient: b.c, HTTPHeader: http.Header{"Origin": {origin}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, frame, err := c.Read(ctx); err != nil || !strings.Contains(string(frame), `"status":"online"`) {
		t.Fatalf("first frame %s %v: want presence online", frame, err)
	}

	if out, _, _ := runBulle(t, noEnv, "agent", "list", "--data", m.Config.DataDir); !regexp.MustCompile(`lea@help.example.com\s+Léa\s+admin\s+set`).MatchString(out) {
		t.Errorf("agent list: %q, want Léa, admin, password set", out)
	}

	// Removed from the command line, as another process.
	start := time.Now()
	if out, errOut, code := runBulle(t, noEnv, "agent", "remove", "lea@help.example.com", "--data", m.Config.DataDir); code != 0 {
		t.Fatalf("agent remove: exit %d; %s %s", code, out, errOut)
	}
	for {
		if _, _, err = c.Read(ctx); err != nil {
			break
		}
	}
	if got := websocket.CloseStatus(err); got != 4001 || time.Since(start) > 3*time.Second {
		t.Errorf("socket closed with %v after %v, want 4001 within seconds", got, time.Since(start))
	}
	if got := api(); got != http.StatusUnauthorized {
		t.Errorf("API after removal: %d, want 401", got)
	}
	if status, h, _ := b.do("GET", origin+"/console/", nil, nil); status != 303 || !strings.HasPrefix(h.Get("Location"), "/console/login") {
		t.Errorf("console after removal: %d %q, want 303 to sign in", status, h.Get("Location"))
	}
}

func TestAgentCommand(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		wantCode   int
		wantOut    string
		wantStderr string
	}{
		{"no command", nil, []string{"agent"}, 2, "", "want a command"},
		{"unknown command", nil, []string{"agent", "fire", "x@y.z"}, 2, "", `unknown command "fire"`},
		{"help", nil, []string{"agent", "help"}, 0, "add EMAIL", ""},
		{"list before any database", nil, []string{"agent", "list", "--data", data}, 1, "", "no database at"},
		{"add without an address", nil, []string{"agent", "add", "--data", data}, 2, "", "takes one email address"},
		{"add with an unknown role", nil, []string{"agent", "add", "x@help.example", "--role", "root", "--data", data}, 2, "", `--role "root"`},
		{"add with a bad address", nil, []string{"agent", "add", "not-an-address", "--data", data}, 1, "", "agent add: email: is not an email address"},
		{"add links to 127.0.0.1:8080 by default", nil, []string{"agent", "add", "ana@help.example", "--data", data}, 0,
			"http://127.0.0.1:8080/console/setup?t=", ""},
		{"the name defaults to the address's local part", nil, []string{"agent", "list", "--data", data}, 0, "ana@help.example  ana", ""},
		{"add twice", nil, []string{"agent", "add", "ANA@help.example", "--data", data}, 1, "", "already an agent"},
		{"add links to base_url", map[string]string{"BULLE_BASE_URL": "https://help.example.com/", "BULLE_DATA": data},
			[]string{"agent", "add", "bob@help.example"}, 0, "https://help.example.com/console/setup?t=", ""},
		{"add links to a listening address on every interface", nil,
			[]string{"agent", "add", "cy@help.example", "--addr", "0.0.0.0:9000", "--data", data}, 0, "http://127.0.0.1:9000/console/setup?t=", ""},
		{"reset prints a new link", nil, []string{"agent", "reset", "bob@help.example", "--data", data}, 0, "/console/setup?t=", ""},
		{"reset an unknown agent", nil, []string{"agent", "reset", "zed@help.example", "--data", data}, 1, "", "no agent zed@help.example"},
		{"remove", nil, []string{"agent", "remove", "bob@help.example", "--data", data}, 0, "Removed bob@help.example", ""},
		{"remove twice", nil, []string{"agent", "remove", "bob@help.example", "--data", data}, 1, "", "no agent bob@help.example"},
		{"list shows who is left and who has no password", nil, []string{"agent", "list", "--data", data}, 0, "not yet (setup link)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runBulle(t, env(tt.env), tt.args...)
			if code != tt.wantCode || !strings.Contains(out, tt.wantOut) || !strings.Contains(errOut, tt.wantStderr) {
				t.Errorf("got exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out, errOut, tt.wantCode, tt.wantOut, tt.wantStderr)
			}
		})
	}
	if out, _, _ := runBulle(t, noEnv, "agent", "list", "--data", data); strings.Contains(out, "bob@") {
		t.Errorf("list after remove: %q, want bob gone", out)
	}
}
