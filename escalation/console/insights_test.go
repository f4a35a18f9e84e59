package console

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/bulle-help/bulle/escalation"
	"github.com/chromedp/chromedp"
)

// helpArticles are the help center's articles as the insights page sees
// them: what cmd/bulle's adapter over the knowledge base answers, for a
// corpus with one article not translated.
type helpArticles struct{}

func (helpArticles) Langs() []string { return []string{"fr", "en"} }

func (helpArticles) Title(lang, id string) string {
	if lang == "fr" && id == "reset-password" {
		return "Réinitialiser le mot de passe"
	}
	return ""
}

func (helpArticles) MissingTranslations() []MissingTranslation {
	return []MissingTranslation{{ID: "billing/refunds", Title: "Remboursements <i>", Path: "billing/refunds.fr.md",
		Have: []string{"fr"}, Missing: []string{"en"}}}
}

// Hostile questions, as a visitor may type them.
const (
	hostileQuestion = `<script>alert(1)</script>`
	hostileOnload   = `"><svg onload=alert(1)>`
)

// seedInsights stores today's traffic through the store: questions the
// bot offered a person for (two hostile), an answer voted unhelpful, and
// a chat taken by agentID and rated 4.
func seedInsights(t *testing.T, s *escalation.Store, agentID int64) {
	t.Helper()
	ctx := context.Background()
	n := 0
	ask := func(lang, question string, decision map[string]any) int64 {
		c, _, err := s.CreateConversation(ctx, lang, "https://shop.example")
		if err != nil {
			t.Fatal(err)
		}
		n++
		q, _, err := s.AppendMessage(ctx, escalation.NewMessage{ConversationID: c.ID, Role: escalation.RoleVisitor,
			ClientID: fmt.Sprintf("q%d", n), Kind: "text", Body: question})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(decision)
		b, _, err := s.AppendMessage(ctx, escalation.NewMessage{ConversationID: c.ID, Role: escalation.RoleBot, ReplyTo: q.Seq,
			Kind: decision["kind"].(string), Body: string(body)})
		if err != nil {
			t.Fatal(err)
		}
		if decision["kind"] == "answer" {
			if _, err := s.RecordAnswerVote(ctx, c.ID, b.Seq, false); err != nil {
				t.Fatal(err)
			}
		}
		return c.ID
	}
	offer := func(lang string) map[string]any {
		return map[string]any{"kind": "offer_person", "lang": lang, "text": "…", "reason": "low_confidence"}
	}
	ask("en", hostileQuestion, offer("en"))
	ask("en", hostileOnload, offer("en"))
	ask("fr", "Comment réinitialiser mon mot de passe ?", offer("fr"))
	ask("fr", "mot de passe oublié", map[string]any{"kind": "answer", "lang": "fr", "text": "Voici",
		"article": map[string]any{"id": "reset-password", "lang": "fr", "title": "Old title", "url": "/fr/reset-password"}})
	chat := ask("fr", "je veux parler à quelqu'un", map[string]any{"kind": "handoff", "lang": "fr", "text": "…", "reason": "explicit_request"})
	for _, step := range []func() (escalation.ChatChange, error){
		func() (escalation.ChatChange, error) { return s.EnqueueChat(ctx, chat, "", "") },
		func() (escalation.ChatChange, error) { return s.ClaimChat(ctx, chat, agentID) },
		func() (escalation.ChatChange, error) { return s.CloseChat(ctx, chat, agentID) },
		func() (escalation.ChatChange, error) { return s.RateChat(ctx, chat, escalation.ChatRating{Rating: 4}) },
	} {
		if _, err := step(); err != nil {
			t.Fatal(err)
		}
	}
}

// newInsightsFixture signs in an admin (or an agent) on a console with
// today's traffic.
func newInsightsFixture(t *testing.T, admin bool) *deskFixture {
	t.Helper()
	f := newDeskFixture(t, Options{DefaultLang: "en", Articles: helpArticles{}}, admin)
	a, err := f.store.AgentByEmail(context.Background(), testEmail)
	if err != nil {
		t.Fatal(err)
	}
	seedInsights(t, f.store, a.ID)
	return f
}

// pagePart returns the part of s from the first from to the next to.
func pagePart(t *testing.T, s, from, to string) string {
	t.Helper()
	i := strings.Index(s, from)
	if i < 0 {
		t.Fatalf("no %q in %s", from, s)
	}
	j := strings.Index(s[i:], to)
	if j < 0 {
		t.Fatalf("no %q after %q", to, from)
	}
	return s[i : i+j+len(to)]
}

var svgInPage = regexp.MustCompile(`(?s)<svg .*?</svg>`)

func TestAdminsSeeTheInsightsWithTheirFiguresAndCharts(t *testing.T) {
	f := newInsightsFixture(t, true)
	res := f.b.get("/console/insights?lang=en")
	if res.status != http.StatusOK {
		t.Fatalf("got %d: %s", res.status, res.body)
	}
	if got := res.header.Get("Content-Security-Policy"); got != contentSecurityPolicy {
		t.Errorf("CSP: got %q", got)
	}
	page := res.body
	for _, want := range []string{
		`<h1>Insights</h1>`,
		`<option value="30" selected>Last 30 days</option>`,
		`<dt>Conversations</dt><dd><strong>5</strong>`,
		`<dt>Handed to chat</dt><dd><strong>1</strong> <span class="hint">20% of the conversations</span>`,
		`<dt>Satisfaction (CSAT)</dt><dd><strong>100%</strong> <span class="hint">1 of 1 chats rated 4 or 5</span>`,
		`<a href="/console/insights?lang=en" aria-current="page">Insights</a>`,
		// The unhelpful answer, under the article's title from the articles.
		`>Réinitialiser le mot de passe</a></td><td>fr</td><td class="num">1</td>`,
		// The missing translation, escaped.
		`<td>Remboursements &lt;i&gt; <span class="hint">billing/refunds</span></td><td>fr</td><td>en</td><td class="wrap">billing/refunds.fr.md</td>`,
		// The reasons' table.
		`<th scope="col">Explicit request</th>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("want %q in the page", want)
		}
	}
	charts := svgInPage.FindAllString(page, -1)
	if len(charts) != 7 {
		t.Errorf("got %d charts, want 7: the questions, the reads and five over time", len(charts))
	}
	for _, svg := range charts {
		parseSVG(t, template.HTML(svg))
	}

	// What a visitor typed reads as text, in the list and in the chart.
	unanswered := pagePart(t, page, `id="unanswered"`, `</section>`)
	chart := pagePart(t, unanswered, `<svg `, `</svg>`)
	list := unanswered[strings.Index(unanswered, `</svg>`):]
	for _, want := range []string{`&lt;script&gt;alert(1)&lt;/script&gt;`, `&#34;&gt;&lt;svg onload=alert(1)&gt;`} {
		if !strings.Contains(chart, want) {
			t.Errorf("the chart: want %q in %s", want, chart)
		}
		if !strings.Contains(list, want) {
			t.Errorf("the list: want %q in %s", want, list)
		}
	}
	for _, raw := range []string{hostileQuestion, hostileOnload, "<svg onload", "<i>"} {
		if strings.Contains(page, raw) {
			t.Errorf("raw %q in the page", raw)
		}
	}
	// Each example links to its conversation.
	if !regexp.MustCompile(`<li><a href="/console/conversations/\d+\?lang=en">&lt;script&gt;`).MatchString(list) {
		t.Errorf("the examples should link to their conversations: %s", list)
	}
}

func TestInsightsAreForAdminsOnly(t *testing.T) {
	f := newInsightsFixture(t, false)
	res := f.b.get("/console/insights?lang=en")
	if res.status != http.StatusForbidden || !strings.Contains(res.body, "Administrators only.") {
		t.Errorf("an agent: got %d, want 403: %s", res.status, res.body)
	}
	if strings.Contains(res.body, hostileQuestion) || strings.Contains(res.body, "alert(1)") {
		t.Errorf("the refusal shows the figures: %s", res.body)
	}
	for _, path := range []string{"/console/tickets?lang=en", "/console/?lang=en"} {
		if page := f.b.get(path).body; strings.Contains(page, "/console/insights") {
			t.Errorf("%s links an agent to the insights", path)
		}
	}
	anon := f.browser()
	if res := anon.get("/console/insights?lang=en"); res.status != http.StatusSeeOther ||
		!strings.HasPrefix(res.header.Get("Location"), "/console/login") {
		t.Errorf("signed out: got %d %q, want to sign in", res.status, res.header.Get("Location"))
	}

	admin := newInsightsFixture(t, true)
	if page := admin.b.get("/console/?lang=fr").body; !strings.Contains(page, `<a href="/console/insights?lang=fr">Indicateurs pour les rédacteurs</a>`) {
		t.Errorf("an admin's landing page should link to the insights")
	}
}

func TestInsightsPeriodAndLanguage(t *testing.T) {
	f := newInsightsFixture(t, true)
	tests := []struct {
		name, query string
		wantStatus  int
		want        []string
		notWant     []string
	}{
		{"no period is 30 days", "", 200, []string{`<option value="30" selected>`}, nil},
		{"7 days", "&days=7", 200, []string{`<option value="7" selected>`, `<th scope="col">Day</th>`}, nil},
		{"90 days by week", "&days=90", 200, []string{`<option value="90" selected>`, `<th scope="col">Week of</th>`}, nil},
		{"a period that is not a number is refused, with the choices", "&days=abc", 400,
			[]string{"Unknown period: choose 7, 30 or 90 days.", `<a href="/console/insights?days=7&amp;lang=en">Last 7 days</a>`},
			[]string{"<svg"}},
		{"a period not offered", "&days=8", 400, []string{"Unknown period"}, nil},
		{"a negative period", "&days=-30", 400, []string{"Unknown period"}, nil},
		{"a language the help center does not have", "&in=de", 400, []string{"Unknown language"}, nil},
		{"one language: its questions only", "&in=fr", 200,
			[]string{`<option value="fr" selected>French</option>`, "Comment réinitialiser mon mot de passe ?",
				`<dt>Conversations</dt><dd><strong>3</strong>`},
			[]string{"alert(1)"}},
		{"French only: no translation is missing into French", "&in=fr", 200, []string{"Every translation is there."}, []string{"billing/refunds.fr.md"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.b.get("/console/insights?lang=en" + tt.query)
			if res.status != tt.wantStatus {
				t.Fatalf("got %d, want %d: %s", res.status, tt.wantStatus, res.body)
			}
			for _, want := range tt.want {
				if !strings.Contains(res.body, want) {
					t.Errorf("want %q in %s", want, res.body)
				}
			}
			for _, not := range tt.notWant {
				if strings.Contains(res.body, not) {
					t.Errorf("want no %q", not)
				}
			}
		})
	}
}

func TestInsightsWithoutArticlesOrTrafficSayNothingIsThere(t *testing.T) {
	f := newDeskFixture(t, Options{DefaultLang: "fr"}, true)
	res := f.b.get("/console/insights?lang=fr&days=7")
	if res.status != http.StatusOK {
		t.Fatalf("got %d: %s", res.status, res.body)
	}
	for _, want := range []string{"Aucune question sans réponse sur la période.", "Rien sur cette période.",
		"Les articles ne sont pas connus de cette console.", `<dt>Conversations</dt><dd><strong>0</strong>`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("want %q in %s", want, res.body)
		}
	}
	for _, svg := range svgInPage.FindAllString(res.body, -1) {
		if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
			t.Errorf("an empty chart divided by zero: %s", svg)
		}
		parseSVG(t, template.HTML(svg))
	}
}

// TestBrowserShowsTheInsightsUnderTheCSP opens the page in headless
// Chromium under the console's real policy: nothing is refused, the
// charts take room, and the hostile questions are text, not elements.
func TestBrowserShowsTheInsightsUnderTheCSP(t *testing.T) {
	f := newInsightsFixture(t, true)
	tb := newTab(t)
	tb.signIn(f.srv.URL)
	tb.do("open the insights", chromedp.Navigate(f.srv.URL+"/console/insights?lang=fr"))
	tb.wait("the charts", `document.querySelectorAll('svg.chart').length === 7`)
	tb.wait("charts drawn at their size", `[...document.querySelectorAll('svg.chart')].every(s => s.getBoundingClientRect().width > 100)`)
	tb.wait("the questions as text", `[...document.querySelectorAll('#unanswered svg text')].some(t => t.textContent.includes('<script>alert(1)</script>'))
		&& [...document.querySelectorAll('#unanswered li a')].some(a => a.textContent === '"><svg onload=alert(1)>')`)
	tb.wait("no element from a question", `document.querySelectorAll('#unanswered script, #unanswered svg svg, [onload]').length === 0`)
	tb.noProblems()
}
