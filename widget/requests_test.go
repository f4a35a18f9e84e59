package widget

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bulle-help/bulle/escalation"
)

// page is one response of the "My requests" pages.
type page struct {
	status int
	header http.Header
	body   string
	url    string // after redirects
}

// browse requests path with hc (which keeps cookies and follows redirects).
func browse(t *testing.T, hc *http.Client, method, u string, form url.Values) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(b), url: resp.Request.URL.String()}
}

func (p page) csrf(t *testing.T) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF field in %s", p.body)
	}
	return m[1]
}

// sameWords is a page without its CSRF token, to compare two answers.
func (p page) sameWords() string { return csrfField.ReplaceAllString(p.body, "") }

var magicLink = regexp.MustCompile(`(http://[^\s]+/requests/login\?t=[A-Za-z0-9_-]+)`)

func TestRequestsPagesSignInByLinkAndShowOnlyOwnRequests(t *testing.T) {
	env, desk := newDeskEnv(t, nil)
	ctx := context.Background()
	ana, err := desk.CreateTicket(ctx, escalation.NewTicket{Lang: "fr", Topic: "billing", Email: "ana@example.org",
		Message: "Ma facture <script>alert(1)</script>", Attachments: []escalation.NewAttachment{{Name: "capture.png", Data: screenshotPNG}}})
	if err != nil {
		t.Fatal(err)
	}
	bo, err := desk.CreateTicket(ctx, escalation.NewTicket{Lang: "fr", Topic: "bug", Email: "bo@example.org",
		Message: "Le secret de Bo", Attachments: []escalation.NewAttachment{{Name: "bo.png", Data: screenshotPNG}}})
	if err != nil {
		t.Fatal(err)
	}
	boFiles, _ := env.store.ConversationAttachments(ctx, bo.ConversationID)
	anaFiles, _ := env.store.ConversationAttachments(ctx, ana.ConversationID)

	hc := contactClient(t)
	form := browse(t, hc, "GET", env.srv.URL+"/requests?lang=fr", nil)
	if form.status != 200 || !strings.Contains(form.body, "Mes demandes") || !strings.Contains(form.body, `type="email"`) {
		t.Fatalf("form: %d %s", form.status, form.body)
	}
	if csp := form.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "form-action 'self'") ||
		form.header.Get("Referrer-Policy") != "no-referrer" || form.header.Get("Cache-Control") != "no-store" {
		t.Errorf("form headers: %v", form.header)
	}

	// Known or not, the answer reads the same; only Ana gets a mail.
	unknown := browse(t, hc, "POST", env.srv.URL+"/requests?lang=fr", url.Values{"csrf": {form.csrf(t)}, "email": {"nobody@example.org"}})
	form = browse(t, hc, "GET", env.srv.URL+"/requests?lang=fr", nil)
	known := browse(t, hc, "POST", env.srv.URL+"/requests?lang=fr", url.Values{"csrf": {form.csrf(t)}, "email": {"Ana@example.org"}})
	if known.status != 200 || unknown.status != 200 || known.sameWords() != unknown.sameWords() ||
		!strings.Contains(known.body, "un lien de connexion est en route") {
		t.Fatalf("known %d, unknown %d: the answers differ or say nothing:\n%s\n---\n%s", known.status, unknown.status, known.body, unknown.body)
	}
	links := outbox(t, env.store, "magic_link")
	if len(links) != 1 || links[0].To != "<Ana@example.org>" {
		t.Fatalf("sign-in mails %+v, want one, to Ana", links)
	}
	link := magicLink.FindString(links[0].Text)
	if !strings.HasPrefix(link, env.srv.URL+"/requests/login?t=") {
		t.Fatalf("link %q, want this server's (a loopback request without base_url)", link)
	}

	// A scanner fetching the link does not spend it.
	for range 2 {
		if p := browse(t, http.DefaultClient, "GET", link, nil); p.status != 200 || !strings.Contains(p.body, "Continuer") {
			t.Fatalf("link page: %d %s", p.status, p.body)
		}
	}
	login := browse(t, hc, "GET", link, nil)
	tok := strings.TrimPrefix(link, env.srv.URL+"/requests/login?t=")
	list := browse(t, hc, "POST", env.srv.URL+"/requests/login?lang=fr", url.Values{"csrf": {login.csrf(t)}, "t": {tok}})
	if list.status != 200 || !strings.HasSuffix(list.url, "/requests/list?lang=fr") {
		t.Fatalf("after Continue: %d at %s", list.status, list.url)
	}
	for _, want := range []string{"#" + ana.Ref, "Facturation", "Ouverte", "ana@example.org",
		"Ma facture &lt;script&gt;alert(1)&lt;/script&gt;", `href="/requests/attachments/` + itoa(anaFiles[0].ID) + `"`} {
		if !strings.Contains(list.body, want) {
			t.Errorf("list lacks %q:\n%s", want, list.body)
		}
	}
	for _, not := range []string{bo.Ref, "secret de Bo", "<script>alert"} {
		if strings.Contains(list.body, not) {
			t.Errorf("list shows %q", not)
		}
	}
	u, _ := url.Parse(env.srv.URL + "/requests")
	for _, c := range hc.Jar.Cookies(u) {
		if c.Name == "bulle_requests" && (c.Value == "" || c.Value == tok) {
			t.Errorf("session cookie %q", c.Value)
		}
	}

	// Files: hers, as downloads; Bo's, as if they did not exist.
	own := browse(t, hc, "GET", env.srv.URL+"/requests/attachments/"+itoa(anaFiles[0].ID), nil)
	if own.status != 200 || own.body != string(screenshotPNG) || own.header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(own.header.Get("Content-Disposition"), "attachment;") || own.header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("own file: %d %v", own.status, own.header)
	}
	for name, id := range map[string]int64{"Bo's file": boFiles[0].ID, "no such file": 999} {
		if p := browse(t, hc, "GET", env.srv.URL+"/requests/attachments/"+itoa(id), nil); p.status != 404 {
			t.Errorf("%s: %d, want 404", name, p.status)
		}
	}
	stranger := contactClient(t)
	if p := browse(t, stranger, "GET", env.srv.URL+"/requests/attachments/"+itoa(anaFiles[0].ID), nil); p.status != 404 {
		t.Errorf("no session, Ana's file: %d, want 404", p.status)
	}
	if p := browse(t, stranger, "GET", env.srv.URL+"/requests/list", nil); !strings.Contains(p.url, "/requests?") || strings.Contains(p.body, ana.Ref) {
		t.Errorf("no session, list: at %s", p.url)
	}

	// The link works once.
	if p := browse(t, stranger, "GET", link, nil); p.status != 404 {
		t.Errorf("a used link's page: %d, want 404", p.status)
	}
	again := browse(t, stranger, "GET", env.srv.URL+"/requests", nil)
	if p := browse(t, stranger, "POST", env.srv.URL+"/requests/login", url.Values{"csrf": {again.csrf(t)}, "t": {tok}}); p.status != 404 ||
		!strings.Contains(p.body, "a déjà servi") && !strings.Contains(p.body, "already used") {
		t.Errorf("second use: %d %s", p.status, p.body)
	}

	// Signing out ends the session for good.
	var session string
	for _, c := range hc.Jar.Cookies(u) {
		if c.Name == "bulle_requests" {
			session = c.Value
		}
	}
	out := browse(t, hc, "POST", env.srv.URL+"/requests/logout?lang=fr", url.Values{"csrf": {list.csrf(t)}})
	if !strings.Contains(out.body, "Vous êtes déconnecté") {
		t.Errorf("after sign-out: %s", out.body)
	}
	req, _ := http.NewRequest("GET", env.srv.URL+"/requests/list", nil)
	req.AddCookie(&http.Cookie{Name: "bulle_requests", Value: session})
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a copied cookie after sign-out: %d, want a redirect to the form", resp.StatusCode)
	}
}

func TestRequestsFormRefusesCrossSitePostsFloodsAndForeignHosts(t *testing.T) {
	env, desk := newDeskEnv(t, nil)
	if _, err := desk.CreateTicket(context.Background(), escalation.NewTicket{Lang: "en", Topic: "bug",
		Email: "ana@example.org", Message: "Broken"}); err != nil {
		t.Fatal(err)
	}
	// Another site's page posting the form has no CSRF cookie.
	if p := browse(t, http.DefaultClient, "POST", env.srv.URL+"/requests?lang=en", url.Values{"email": {"ana@example.org"}}); p.status != http.StatusUnprocessableEntity {
		t.Errorf("post without the form's token: %d, want 422", p.status)
	}

	// Someone sets the Host header, hoping the victim's link points to them.
	hc := contactClient(t)
	form := browse(t, hc, "GET", env.srv.URL+"/requests", nil)
	req, _ := http.NewRequest("POST", env.srv.URL+"/requests", strings.NewReader(url.Values{"csrf": {form.csrf(t)}, "email": {"ana@example.org"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = "evil.example"
	srvURL, _ := url.Parse(env.srv.URL + "/requests")
	for _, c := range hc.Jar.Cookies(srvURL) { // by hand: the Host is not the URL's
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || len(outbox(t, env.store, "magic_link")) != 0 {
		t.Errorf("foreign Host without base_url: %d, %d links; want 503 and none", resp.StatusCode, len(outbox(t, env.store, "magic_link")))
	}

	post := func(email string) int {
		t.Helper()
		f := browse(t, hc, "GET", env.srv.URL+"/requests", nil)
		return browse(t, hc, "POST", env.srv.URL+"/requests", url.Values{"csrf": {f.csrf(t)}, "email": {email}}).status
	}
	// The refused post above counted for Ana's address too.
	var codes []int
	for range requestsPerAddress.burst {
		codes = append(codes, post("ana@example.org"))
	}
	if codes[len(codes)-1] != http.StatusTooManyRequests || codes[0] != 200 {
		t.Errorf("one address, %d more posts: %v, want the last refused with 429", len(codes), codes)
	}
	if n := len(outbox(t, env.store, "magic_link")); n != requestsPerAddress.burst-1 {
		t.Errorf("%d links mailed to one address, want %d", n, requestsPerAddress.burst-1)
	}
	// The IP's budget is spent too: other addresses wait.
	for i := 0; post("other"+itoa(int64(i))+"@example.org") != http.StatusTooManyRequests; i++ {
		if i > requestsPerIP.burst {
			t.Fatal("one IP posts to many addresses without limit")
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
