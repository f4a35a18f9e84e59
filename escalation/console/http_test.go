package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

func TestSetupLinkSetsThePasswordOnceThenTheAgentSignsIn(t *testing.T) {
	f := newFixture(t, Options{DefaultLang: "fr"}, false)
	inv := f.invite(testEmail, "Léa <b>", escalation.AgentRoleAdmin)
	b := f.browser()
	link := "/console/setup?t=" + inv.SetupToken

	page := b.get(link)
	if page.status != http.StatusOK || !strings.Contains(page.body, testEmail) || !strings.Contains(page.body, "Choisir votre mot de passe") {
		t.Fatalf("setup page: %d %s", page.status, page.body)
	}
	if got := page.header.Get("Referrer-Policy"); got != "same-origin" {
		t.Errorf("setup page Referrer-Policy %q, want same-origin: its URL holds the token", got)
	}
	csrf := csrfOf(t, page.body)
	tests := []struct {
		name       string
		password   string
		confirm    string
		wantStatus int
		wantText   string
	}{
		{"two different passwords", "une phrase de passe", "une phrase de passE", 422, "ne sont pas identiques"},
		{"too short", "court", "court", 422, "de 12 à 256 caractères"},
		{"too long", strings.Repeat("x", 257), strings.Repeat("x", 257), 422, "de 12 à 256 caractères"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := b.post("/console/setup", url.Values{"csrf": {csrf}, "t": {inv.SetupToken}, "password": {tt.password}, "confirm": {tt.confirm}})
			if res.status != tt.wantStatus || !strings.Contains(res.body, tt.wantText) {
				t.Errorf("got %d, want %d with %q; body %s", res.status, tt.wantStatus, tt.wantText, res.body)
			}
		})
	}
	res := b.post("/console/setup", url.Values{"csrf": {csrf}, "t": {inv.SetupToken}, "password": {testPassword}, "confirm": {testPassword}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/login?set=1&lang=fr" {
		t.Fatalf("setting the password: got %d %q, want 303 to the login page", res.status, res.header.Get("Location"))
	}
	if res := b.get(link); res.status != http.StatusNotFound || !strings.Contains(res.body, "déjà servi") {
		t.Errorf("link used twice (GET): got %d, want 404 and the dead-link page", res.status)
	}
	res = b.post("/console/setup", url.Values{"csrf": {csrf}, "t": {inv.SetupToken}, "password": {"autre phrase de passe"}, "confirm": {"autre phrase de passe"}})
	if res.status != http.StatusNotFound {
		t.Errorf("link used twice (POST): got %d, want 404", res.status)
	}
	if res := b.get("/console/login?set=1"); !strings.Contains(res.body, "Mot de passe enregistré") {
		t.Errorf("login page after setup: want the notice; got %s", res.body)
	}
	home := b.signIn(testEmail, testPassword)
	for _, want := range []string{"Bonjour Léa &lt;b&gt;", "administrateur", "Se déconnecter", `<script src="/console/static/console.js?v=`} {
		if !strings.Contains(home.body, want) {
			t.Errorf("home page: want %q in %s", want, home.body)
		}
	}
}

func TestConsolePages(t *testing.T) {
	f := newFixture(t, Options{DefaultLang: "en"}, false)
	b := f.browser()
	tests := []struct {
		name        string
		url         string
		header      map[string]string
		wantStatus  int
		wantContent []string
		wantHeader  map[string]string
	}{
		{"home when signed out sends to sign-in", "/console/", nil, 303, nil,
			map[string]string{"Location": "/console/login?lang=en"}},
		{"bare /console goes to the home page", "/console", nil, 301, nil, map[string]string{"Location": "/console/"}},
		{"sign-in page in English by default", "/console/login", nil, 200, []string{`<html lang="en">`, "Sign in", `name="csrf"`},
			map[string]string{"Content-Security-Policy": contentSecurityPolicy, "Cache-Control": "no-store", "X-Frame-Options": "DENY"}},
		{"French by Accept-Language", "/console/login", map[string]string{"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"}, 200,
			[]string{`<html lang="fr">`, "Se connecter"}, nil},
		{"?lang beats Accept-Language", "/console/login?lang=en", map[string]string{"Accept-Language": "fr"}, 200,
			[]string{"Sign in"}, nil},
		{"an unsupported language falls back to the default", "/console/login", map[string]string{"Accept-Language": "de"}, 200,
			[]string{`<html lang="en">`}, nil},
		{"setup link unknown", "/console/setup?t=nope", nil, 404, []string{"already used or has expired"}, nil},
		{"stylesheet", "/console/static/console.css", nil, 200, []string{".presence"},
			map[string]string{"Content-Type": "text/css; charset=utf-8"}},
		{"script", "/console/static/console.js", nil, 200, []string{"/console/events"},
			map[string]string{"Content-Type": "text/javascript; charset=utf-8"}},
		{"no other static file", "/console/static/console.html", nil, 404, nil, nil},
		{"socket without a session", "/console/events", nil, 401, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.header = http.Header{}
			for k, v := range tt.header {
				b.header.Set(k, v)
			}
			res := b.get(tt.url)
			if res.status != tt.wantStatus {
				t.Errorf("status: got %d, want %d", res.status, tt.wantStatus)
			}
			for _, want := range tt.wantContent {
				if !strings.Contains(res.body, want) {
					t.Errorf("body: want %q in %s", want, res.body)
				}
			}
			for k, want := range tt.wantHeader {
				if got := res.header.Get(k); got != want {
					t.Errorf("header %s: got %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestConsolePagesHaveNoInlineScript(t *testing.T) {
	f := newFixture(t, Options{}, false)
	f.agent(testEmail)
	b := f.browser()
	for _, res := range []response{b.get("/console/login"), b.signIn(testEmail, testPassword)} {
		for _, inline := range []string{"<script>", "<style", " style=", " onclick=", " onload=", "javascript:"} {
			if strings.Contains(res.body, inline) {
				t.Errorf("page has inline code %q: %s", inline, res.body)
			}
		}
		if !strings.Contains(res.header.Get("Content-Security-Policy"), "script-src 'self';") {
			t.Errorf("CSP %q: want script-src 'self' only", res.header.Get("Content-Security-Policy"))
		}
	}
}

func TestLoginSucceedsOrFailsTheSameWayForEveryWrongPart(t *testing.T) {
	f := newFixture(t, Options{}, false)
	f.agent(testEmail)
	f.invite("new@help.example", "New", escalation.AgentRoleAgent) // no password yet
	tests := []struct {
		name, email, password string
		wantStatus            int
	}{
		{"right password", testEmail, testPassword, 303},
		{"address in capitals", "LEA@help.example", testPassword, 303},
		{"wrong password", testEmail, "une phrase de passe!", 401},
		{"unknown address", "eve@help.example", testPassword, 401},
		{"agent without a password", "new@help.example", testPassword, 401},
		{"empty form", "", "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := f.browser()
			page := b.get("/console/login?lang=en")
			res := b.post("/console/login?lang=en", url.Values{"csrf": {csrfOf(t, page.body)}, "email": {tt.email}, "password": {tt.password}})
			if res.status != tt.wantStatus {
				t.Fatalf("got %d, want %d; body %s", res.status, tt.wantStatus, res.body)
			}
			if tt.wantStatus == 401 {
				if !strings.Contains(res.body, "Wrong email or password.") || b.cookie(sessionCookie) != "" {
					t.Errorf("refusal: want the one message and no session; body %s", res.body)
				}
				return
			}
			if home := b.get("/console/"); home.status != 200 || !strings.Contains(home.body, "Hello Léa") {
				t.Errorf("home after sign-in: %d %s", home.status, home.body)
			}
		})
	}
}

func TestLoginIsRateLimitedPerAddressThenPerIP(t *testing.T) {
	f := newFixture(t, Options{LoginLimit: Limit{Failures: 5, Window: 15 * time.Minute},
		LoginLimitIP: Limit{Failures: 8, Window: 15 * time.Minute}}, false)
	f.agent(testEmail)
	b := f.browser()
	try := func(email, password string) response {
		t.Helper()
		page := b.get("/console/login?lang=en")
		return b.post("/console/login?lang=en", url.Values{"csrf": {csrfOf(t, page.body)}, "email": {email}, "password": {password}})
	}
	for i := range 5 {
		if res := try(testEmail, "wrong password "+strconv.Itoa(i)); res.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: got %d, want 401", i+1, res.status)
		}
	}
	res := try("LEA@help.example", testPassword)
	if res.status != http.StatusTooManyRequests {
		t.Fatalf("6th attempt, right password: got %d, want 429", res.status)
	}
	if secs, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || secs < 14*60 || secs > 15*60 {
		t.Errorf("Retry-After %q: want about 900 seconds", res.header.Get("Retry-After"))
	}
	if !strings.Contains(res.body, "Try again in 15 minutes") {
		t.Errorf("429 page: want the wait in minutes; body %s", res.body)
	}

	// Other addresses from the same IP: three more failures reach the IP's
	// limit of eight.
	for i := range 3 {
		if res := try("other"+strconv.Itoa(i)+"@help.example", "whatever it is"); res.status != http.StatusUnauthorized {
			t.Fatalf("other address %d: got %d, want 401", i, res.status)
		}
	}
	if res := try("other9@help.example", "whatever it is"); res.status != http.StatusTooManyRequests {
		t.Errorf("9th failure from one IP: got %d, want 429", res.status)
	}

	// Fifteen minutes later, the window has passed.
	f.clock.advance(15 * time.Minute)
	if res := try(testEmail, testPassword); res.status != http.StatusSeeOther {
		t.Errorf("after the window: got %d, want 303", res.status)
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	tests := []struct {
		name       string
		baseURL    string
		tls        bool
		wantSecure bool
	}{
		{"plain HTTP, no base URL", "", false, false},
		{"https base URL behind a proxy", "https://help.example", false, true},
		{"served over TLS", "", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{BaseURL: tt.baseURL}, tt.tls)
			f.agent(testEmail)
			b := f.browser()
			page := b.get("/console/login")
			pre := setCookieHeader(t, page, csrfCookie)
			res := b.post("/console/login", url.Values{"csrf": {pre.Value}, "email": {testEmail}, "password": {testPassword}})
			if res.status != http.StatusSeeOther {
				t.Fatalf("sign in: %d %s", res.status, res.body)
			}
			for _, c := range []*http.Cookie{pre, setCookieHeader(t, res, sessionCookie)} {
				if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/console" || c.Secure != tt.wantSecure {
					t.Errorf("cookie %s: HttpOnly %v, SameSite %v, Path %q, Secure %v; want HttpOnly, Strict, /console, Secure %v",
						c.Name, c.HttpOnly, c.SameSite, c.Path, c.Secure, tt.wantSecure)
				}
			}
		})
	}
}

func TestStateChangingPostsWithoutTheirCSRFTokenAreRefused(t *testing.T) {
	f := newFixture(t, Options{}, false)
	f.agent(testEmail)
	inv := f.invite("new@help.example", "New", escalation.AgentRoleAgent)
	b := f.browser()
	home := b.signIn(testEmail, testPassword)
	sessionToken := csrfOf(t, home.body)
	preToken := csrfOf(t, b.get("/console/setup?t="+inv.SetupToken).body)

	tests := []struct {
		name   string
		path   string
		form   url.Values
		origin string
		header map[string]string
	}{
		{"login without token", "/console/login", url.Values{"email": {testEmail}, "password": {testPassword}}, "", nil},
		{"login with another token", "/console/login", url.Values{"csrf": {sessionToken}, "email": {testEmail}, "password": {testPassword}}, "", nil},
		{"login from another site", "/console/login", url.Values{"csrf": {preToken}, "email": {testEmail}, "password": {testPassword}}, "https://evil.example", nil},
		{"login from a sandboxed frame", "/console/login", url.Values{"csrf": {preToken}, "email": {testEmail}, "password": {testPassword}}, "null", nil},
		{"login from a sandboxed frame of another site", "/console/login", url.Values{"csrf": {preToken}, "email": {testEmail}, "password": {testPassword}}, "null",
			map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"login cross-site without Origin", "/console/login", url.Values{"csrf": {preToken}, "email": {testEmail}, "password": {testPassword}}, "-",
			map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"setup without token", "/console/setup", url.Values{"t": {inv.SetupToken}, "password": {testPassword}, "confirm": {testPassword}}, "", nil},
		{"logout without token", "/console/logout", url.Values{}, "", nil},
		{"logout with the pre-session token", "/console/logout", url.Values{"csrf": {preToken}}, "", nil},
		{"logout from another site", "/console/logout", url.Values{"csrf": {sessionToken}}, "https://evil.example", nil},
		{"away without token", "/console/away", url.Values{"away": {"1"}}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.origin = f.srv.URL
			switch tt.origin {
			case "":
			case "-":
				b.origin = ""
			default:
				b.origin = tt.origin
			}
			b.header = http.Header{}
			for k, v := range tt.header {
				b.header.Set(k, v)
			}
			defer func() { b.origin, b.header = f.srv.URL, http.Header{} }()
			if res := b.post(tt.path, tt.form); res.status != http.StatusForbidden {
				t.Errorf("got %d, want 403; body %s", res.status, res.body)
			}
		})
	}
	// Nothing happened: still signed in, not away, the link unused.
	if res := b.get("/console/"); res.status != http.StatusOK {
		t.Errorf("home after the refused posts: %d, want still signed in", res.status)
	}
	if a, _ := f.store.AgentByEmail(context.Background(), testEmail); a.Away {
		t.Error("agent away after a refused post")
	}
	if _, err := f.store.SetupTokenAgent(context.Background(), inv.SetupToken); err != nil {
		t.Errorf("setup link after a refused post: %v, want unused", err)
	}
	// The same posts with their token go through.
	if res := b.post("/console/away", url.Values{"csrf": {sessionToken}, "away": {"1"}}); res.status != http.StatusSeeOther {
		t.Errorf("away with token: %d, want 303", res.status)
	}
}

func TestLogoutDeletesTheSession(t *testing.T) {
	f := newFixture(t, Options{}, false)
	f.agent(testEmail)
	b := f.browser()
	home := b.signIn(testEmail, testPassword)
	old := b.cookie(sessionCookie)
	res := b.post("/console/logout?lang=en", url.Values{"csrf": {csrfOf(t, home.body)}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/login?out=1&lang=en" {
		t.Fatalf("logout: got %d %q, want 303 to the login page", res.status, res.header.Get("Location"))
	}
	if c := setCookieHeader(t, res, sessionCookie); c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("logout cookie %+v: want it deleted", c)
	}
	if _, err := f.store.ConsoleSession(context.Background(), old); !errors.Is(err, escalation.ErrUnauthorized) {
		t.Errorf("store session after logout: %v, want ErrUnauthorized", err)
	}
	// A copy of the old cookie opens nothing.
	b.setCookie(sessionCookie, old)
	if res := b.get("/console/?lang=en"); res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/login?lang=en" {
		t.Errorf("old cookie: got %d %q, want 303 to the login page", res.status, res.header.Get("Location"))
	}
}

func TestRemovedAgentsSessionStopsWorking(t *testing.T) {
	f := newFixture(t, Options{}, false)
	f.agent(testEmail)
	b := f.browser()
	b.signIn(testEmail, testPassword)
	if _, err := f.store.RemoveAgent(context.Background(), testEmail); err != nil {
		t.Fatal(err)
	}
	if res := b.get("/console/"); res.status != http.StatusSeeOther {
		t.Errorf("home after removal: got %d, want 303 to sign in", res.status)
	}
	page := b.get("/console/login")
	res := b.post("/console/login", url.Values{"csrf": {csrfOf(t, page.body)}, "email": {testEmail}, "password": {testPassword}})
	if res.status != http.StatusUnauthorized {
		t.Errorf("sign in after removal: got %d, want 401", res.status)
	}
}
