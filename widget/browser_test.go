package widget

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/internal/browsertest"
	"github.com/bulle-help/bulle/kb"
	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"
)

// chatOpen is an Availability with live chat staffed.
type chatOpen struct{}

func (chatOpen) ChatStatus(context.Context, time.Time) bot.ChatStatus {
	return bot.ChatStatus{Open: true}
}

// startSite serves the help center of the product's own articles and the
// widget, as `bulle serve` does.
func startSite(t *testing.T) *httptest.Server {
	t.Helper()
	base := openBase(t, "../articles")
	store := openStore(t)
	w, err := New(store, bot.New(base, chatOpen{}, bot.DefaultConfig()), Options{Langs: []string{"en", "fr"}, DefaultLang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	kb.NewSite(base, store, kb.SiteOptions{Name: "Bulle"}).Register(e)
	w.Register(e)
	mountAvailability(t, e, true)
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w.Shutdown(ctx)
		srv.Close()
	})
	return srv
}

// browser drives one headless tab.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// root is the bubble's shadow root, in the page's JavaScript.
const root = `document.querySelector('[data-bulle]').shadowRoot`

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// wait polls a JavaScript condition for up to 10 s.
func (b *browser) wait(what, cond string) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		b.t.Fatalf("waiting for %s: %v", what, err)
	}
}

func (b *browser) eval(js string) {
	b.t.Helper()
	b.do(js, chromedp.Evaluate[chromedp.Void](js))
}

func evalAs[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("%s: %v", js, err)
	}
	return v
}

// openPanel clicks the launcher and waits for the panel, which the loader
// fetches on the first open.
func (b *browser) openPanel() {
	b.t.Helper()
	b.eval(root + `.querySelector('.bubble').click()`)
	b.wait("the open panel", root+`.querySelector('.panel') && !`+root+`.querySelector('.panel').hidden`)
}

// ask types a question in the panel and sends it (with the panel's own
// send button: forms in the log have theirs).
func (b *browser) ask(text string) {
	b.t.Helper()
	b.eval(fmt.Sprintf(`(() => { const t = %s.querySelector('textarea'); t.value = %q; %s.querySelector('.panel > form .send').click(); })()`, root, text, root))
}

// TestBrowser opens the demo page in headless Chromium and talks to the
// bubble as a visitor would.
func TestBrowser(t *testing.T) {
	alloc := browsertest.Allocator(t, 60*time.Second)
	srv := startSite(t)

	tab, cancelTab := chromedp.NewContext(alloc)
	defer cancelTab()
	b := &browser{t: t, ctx: tab}
	// Every console error (a script exception, a CSP violation) fails the test.
	console := browsertest.Watch(tab, false)

	start := time.Now()
	b.do("open the demo page", chromedp.Navigate(srv.URL+"/demo"))
	b.wait("the bubble", `document.querySelector('[data-bulle]') && `+root+`.querySelector('.bubble')`)
	if got := evalAs[string](b, root+`.querySelector('.bubble').getAttribute('aria-label')`); got != "Ouvrir l'assistant" {
		t.Errorf("bubble label: got %q, want the French one", got)
	}

	// Open the panel: the text box has the focus.
	b.openPanel()
	b.wait("the focus in its text box", root+`.activeElement === `+root+`.querySelector('textarea')`)

	// A question answered by an article of articles/fr.
	b.ask("quels sont les horaires du chat ?")
	b.wait("the answer card", root+`.querySelector('.msg.bot[data-kind=answer] .card')`)
	card := evalAs[[]string](b, `(() => { const c = `+root+`.querySelector('.msg.bot[data-kind=answer] .card'); return [c.dataset.articleId, c.href, c.textContent]; })()`)
	if card[0] != "contact/hours" || !strings.HasPrefix(card[1], srv.URL+"/fr/contact/hours") {
		t.Errorf("answer card: got id %q, link %q; want contact/hours in French", card[0], card[1])
	}
	if !strings.Contains(card[2], "Horaires") {
		t.Errorf("answer card: got %q, want the article title", card[2])
	}
	b.wait("the question confirmed", `!`+root+`.querySelector('.pending')`)

	// Vote the answer down: the button shows it.
	b.eval(root + `.querySelector('.msg.bot[data-kind=answer] .votes button[data-helpful=false]').click()`)
	b.wait("the vote shown", root+`.querySelector('.votes button[data-helpful=false]').getAttribute('aria-pressed') === 'true'`)

	// Ask for a person: the hand-off offers both channels, in French.
	b.ask("je veux parler à un conseiller")
	b.wait("the hand-off", root+`.querySelector('.msg.bot[data-kind=handoff] button[data-channel=email]')`)
	buttons := evalAs[[]string](b, `Array.from(`+root+`.querySelectorAll('.msg.bot[data-kind=handoff] button')).map(x => x.textContent)`)
	if strings.Join(buttons, "|") != "Discuter avec une personne|Écrire un e-mail" {
		t.Errorf("hand-off buttons: got %q, want chat and email in French", buttons)
	}
	b.eval(root + `.querySelector('.msg.bot[data-kind=handoff] button[data-channel=email]').click()`)
	b.wait("the recorded request", root+`.querySelector('.msg.system') && `+root+`.querySelector('.msg.system').textContent.includes('enregistrée')`)

	seqs := `Array.from(` + root + `.querySelectorAll('.msg[data-seq]')).map(x => x.dataset.seq).join(',')`
	before := evalAs[string](b, seqs)
	if before != "1,2,3,4,5" {
		t.Errorf("conversation: got seqs %s, want 1,2,3,4,5", before)
	}

	// Reload: the conversation is still there, once, with the panel open
	// and the vote kept.
	b.do("reload", chromedp.Reload())
	b.wait("the conversation after the reload", root+` && `+root+`.querySelectorAll('.msg[data-seq]').length >= 5`)
	b.wait("the socket resumed", `JSON.parse(localStorage.getItem('bulle:`+srv.URL+`')).lastSeq === 5 && `+root+`.querySelector('.status').textContent === ''`)
	time.Sleep(200 * time.Millisecond) // room for a wrongly resent message to show up
	if after := evalAs[string](b, seqs); after != before {
		t.Errorf("after reload: got seqs %s, want %s", after, before)
	}
	if !evalAs[bool](b, `!`+root+`.querySelector('.panel').hidden && `+root+`.querySelector('.card[data-article-id="contact/hours"]') !== null`) {
		t.Error("after reload: want the panel open with the answer card")
	}
	if got := evalAs[string](b, root+`.querySelector('.votes button[data-helpful=false]').getAttribute('aria-pressed')`); got != "true" {
		t.Errorf("after reload: vote got aria-pressed %q, want true", got)
	}

	// A token the server does not know (a database restored from an old
	// backup): the bubble says so and starts a new conversation.
	b.eval(`(() => { const k = 'bulle:` + srv.URL + `'; const s = JSON.parse(localStorage.getItem(k)); s.token = 'A'.repeat(43); localStorage.setItem(k, JSON.stringify(s)); })()`)
	b.do("reload with a stale token", chromedp.Reload())
	b.wait("the new conversation", root+` && `+root+`.querySelector('.note:not(.intro)') && `+root+`.querySelectorAll('.msg[data-seq]').length === 0`)
	if note := evalAs[string](b, root+`.querySelector('.note:not(.intro)').textContent`); !strings.Contains(note, "introuvable") {
		t.Errorf("stale token: got note %q, want it to say the conversation was not found", note)
	}
	b.ask("comment réinitialiser mon mot de passe ?")
	b.wait("an answer in the new conversation", root+`.querySelector('.msg.bot[data-seq="2"]')`)

	// Escape closes the panel and gives the focus back to the bubble.
	b.eval(root + `.querySelector('textarea').dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true, composed: true}))`)
	b.wait("the panel closed", root+`.querySelector('.panel').hidden && `+root+`.activeElement === `+root+`.querySelector('.bubble')`)

	// On a phone the panel takes the whole screen.
	b.do("phone viewport", chromedp.EmulateViewport(375, 667, chromedp.EmulateMobile))
	b.openPanel()
	b.wait("the full-screen panel", `(() => { const r = `+root+`.querySelector('.panel').getBoundingClientRect(); return r.width === innerWidth && r.height === innerHeight; })()`)

	// The English page speaks English.
	b.do("open the English demo", chromedp.Navigate(srv.URL+"/demo?lang=en"))
	b.wait("the English bubble", `document.querySelector('[data-bulle]') && `+root+`.querySelector('.bubble').getAttribute('aria-label') === 'Close the assistant' && `+root+`.querySelector('.send')`)
	if got := evalAs[string](b, root+`.querySelector('.send').textContent`); got != "Send" {
		t.Errorf("English send button: got %q, want Send", got)
	}

	for _, p := range console.Problems() {
		t.Errorf("browser console: %s", p)
	}
	t.Logf("browser steps took %v", time.Since(start).Round(time.Millisecond))
}
