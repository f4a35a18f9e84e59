package console

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/labstack/echo/v4"
)

const (
	testEmail    = "lea@help.example"
	testPassword = "une phrase de passe"
)

// fixture is a console over a real store in a temp folder, served over
// real HTTP.
type fixture struct {
	t     *testing.T
	store *escalation.Store
	con   *Console
	srv   *httptest.Server
	clock *testClock
}

// testClock is the rate limits' clock, moved by tests.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newFixture starts a console; tls serves it over HTTPS.
func newFixture(t *testing.T, opt Options, tls bool) *fixture {
	t.Helper()
	ctx := context.Background()
	s, err := escalation.Open(ctx, filepath.Join(t.TempDir(), "bulle.db"))
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: time.Now()}
	if opt.Now == nil {
		opt.Now = clock.Now
	}
	con, err := New(s, opt)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	con.Register(e)
	con.Start()
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(e)
	} else {
		srv = httptest.NewServer(e)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := con.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		srv.Close()
		s.Close()
	})
	return &fixture{t: t, store: s, con: con, srv: srv, clock: clock}
}

// invite adds an agent and returns their setup token.
func (f *fixture) invite(email, name string, role escalation.AgentRole) escalation.Invitation {
	f.t.Helper()
	inv, err := f.store.InviteAgent(context.Background(), email, name, role)
	if err != nil {
		f.t.Fatal(err)
	}
	return inv
}

// agent adds an agent with testPassword set.
func (f *fixture) agent(email string) escalation.Invitation {
	f.t.Helper()
	inv := f.invite(email, "Léa", escalation.AgentRoleAgent)
	if _, err := f.store.SetAgentPassword(context.Background(), inv.SetupToken, testPassword); err != nil {
		f.t.Fatal(err)
	}
	return inv
}

// browser is a client with a cookie jar that does not follow redirects,
// and sends the Origin a browser would.
type browser struct {
	f      *fixture
	c      *http.Client
	origin string
	header http.Header // added to every request
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := *f.srv.Client() // a copy: the server's client is shared
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{f: f, c: &c, origin: f.srv.URL, header: http.Header{}}
}

// response is what a request gave.
type response struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values) response {
	b.f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.f.srv.URL+path, body)
	if err != nil {
		b.f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if b.origin != "" {
			req.Header.Set("Origin", b.origin)
		}
	}
	for k, v := range b.header {
		req.Header[k] = v
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer res.Body.Close()
	buf, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: string(buf)}
}

func (b *browser) get(path string) response { return b.do(http.MethodGet, path, nil) }
func (b *browser) post(path string, form url.Values) response {
	return b.do(http.MethodPost, path, form)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf finds the CSRF token of a page's form.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field in page: %s", page)
	}
	return m[1]
}

// signIn signs in through the login form and returns the home page.
func (b *browser) signIn(email, password string) response {
	b.f.t.Helper()
	page := b.get("/console/login?lang=fr")
	res := b.post("/console/login?lang=fr", url.Values{"csrf": {csrfOf(b.f.t, page.body)}, "email": {email}, "password": {password}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/?lang=fr" {
		b.f.t.Fatalf("sign in: got %d %s, want 303 to /console/; body %s", res.status, res.header.Get("Location"), res.body)
	}
	return b.get("/console/?lang=fr")
}

// cookie returns the jar's cookie named name for the console, "" if none.
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.f.srv.URL + "/console/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// setCookie for hand-crafted sessions.
func (b *browser) setCookie(name, value string) {
	u, _ := url.Parse(b.f.srv.URL + "/console/")
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/console"}})
}

// setCookieHeader finds the Set-Cookie of name in a response.
func setCookieHeader(t *testing.T, res response, name string) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no Set-Cookie %s in %v", name, res.header["Set-Cookie"])
	return nil
}
