package widget

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
	"github.com/bulle-help/bulle/internal/browsertest"
	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"
)

// TestBrowserVerification drives the bubble in headless Chromium on a shop
// page that signs its visitor's identity: a ticket on the signed address
// opens verified, and one on another address is verified with the code
// mailed to it.
func TestBrowserVerification(t *testing.T) {
	alloc := browsertest.Allocator(t, 60*time.Second)
	base := openBase(t, "../articles")
	store := openStore(t)
	tokens, _ := escalation.NewReplyTokens(bytes.Repeat([]byte{7}, 32))
	desk, err := escalation.NewDesk(store, escalation.DeskOptions{From: "no-reply@help.example", ReplyDomain: "help.example", Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := escalation.NewIdentities(store, verifySecret)
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(store, bot.New(base, chatOpen{}, bot.DefaultConfig()), Options{Langs: []string{"en", "fr"}, DefaultLang: "en",
		Tickets: desk, Identities: ids})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	w.Register(e)
	mountAvailability(t, e, true)
	now := time.Now()
	signed := escalation.SignIdentity(verifySecret, escalation.Identity{Email: "ana@example.org", Name: "Ana",
		IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()})
	e.GET("/shop", func(c echo.Context) error {
		return c.HTML(http.StatusOK, `<!doctype html><html lang="fr"><body><h1>Boutique</h1>`+
			`<script src="/widget.js" data-lang="fr" data-identity="`+html.EscapeString(signed)+`"></script></body></html>`)
	})
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w.Shutdown(ctx)
		srv.Close()
	})

	tab, cancelTab := chromedp.NewContext(alloc)
	defer cancelTab()
	b := &browser{t: t, ctx: tab}
	// A warning too: the bubble warns when the server refuses data-identity.
	console := browsertest.Watch(tab, true)

	// ticket asks for a person by email and sends the form to email.
	ticket := func(email string) {
		t.Helper()
		b.openPanel()
		b.ask("je veux parler à un conseiller")
		b.wait("the hand-off", root+`.querySelector('.msg.bot[data-kind=handoff] button[data-channel=email]')`)
		b.eval(root + `.querySelector('.msg.bot[data-kind=handoff] button[data-channel=email]').click()`)
		b.wait("the ticket form", root+`.querySelector('form.ticket input[name=email]')`)
		if got := evalAs[string](b, root+`.querySelector('form.ticket input[name=email]').value`); got != "ana@example.org" {
			t.Errorf("ticket form email: got %q, want the signed identity's", got)
		}
		b.eval(fmt.Sprintf(`(() => { const f = %s.querySelector('form.ticket'); f.querySelector('[name=email]').value = %q;
			f.querySelector('[name=topic]').value = 'account'; f.querySelector('.send').click(); })()`, root, email))
		b.wait("the ticket note", root+`.querySelector('.msg.system[data-kind=ticket_created]')`)
	}

	// On the signed address, the ticket opens verified.
	b.do("open the shop", chromedp.Navigate(srv.URL+"/shop"))
	b.wait("the bubble", `document.querySelector('[data-bulle]') && `+root+`.querySelector('.bubble')`)
	ticket("ana@example.org")
	b.wait("the verified note", root+`.querySelector('.msg.system.verified')`)
	if got := evalAs[string](b, root+`.querySelector('.msg.system.verified').textContent`); got != "Adresse vérifiée" {
		t.Errorf("verified note: got %q", got)
	}
	if evalAs[bool](b, root+`.querySelector('.verify') !== null`) {
		t.Error("a verified ticket: want no verification offered")
	}

	// A new conversation, a ticket on another address: verify it by code.
	b.eval(`localStorage.clear()`)
	b.do("reload afresh", chromedp.Reload())
	b.wait("the bubble", `document.querySelector('[data-bulle]') && `+root+`.querySelector('.bubble')`)
	ticket("bo@example.org")
	b.wait("the offer", root+`.querySelector('.msg.system[data-kind=ticket_created] .verify button')`)
	b.eval(root + `.querySelector('.msg.system[data-kind=ticket_created] .verify button').click()`)
	b.wait("the code form", root+`.querySelector('.msg.system[data-kind=verify_sent] form.verify input')`)
	if evalAs[bool](b, root+`.querySelector('[data-kind=ticket_created] .verify') !== null`) {
		t.Error("want the offer gone once the code is sent")
	}
	mails, err := store.OutboxMails(context.Background(), 0, 10)
	if err != nil || len(mails) == 0 || mails[0].Kind != "code" || !strings.Contains(mails[0].To, "bo@example.org") {
		t.Fatalf("newest mail %+v (%v): want the code to bo@example.org", mails, err)
	}
	code := regexp.MustCompile(`\b\d{6}\b`).FindString(mails[0].Text)
	wrong := map[bool]string{true: "111111", false: "000000"}[code == "000000"]
	typeCode := func(c string) {
		b.eval(fmt.Sprintf(`(() => { const f = %s.querySelector('form.verify'); f.querySelector('input').value = %q;
			f.querySelector('button[type=submit]').click(); })()`, root, c))
	}
	typeCode(wrong)
	b.wait("the refusal", root+`.querySelector('form.verify .fix').textContent.includes('ne correspond pas')`)
	typeCode(code)
	b.wait("the verified note", root+`.querySelector('.msg.system.verified') && !`+root+`.querySelector('.verify')`)

	// After a reload, the story is the same, and nothing is offered again.
	b.do("reload", chromedp.Reload())
	b.wait("the conversation after the reload", root+` && `+root+`.querySelector('.msg.system.verified')`)
	time.Sleep(200 * time.Millisecond)
	if evalAs[bool](b, root+`.querySelector('.verify') !== null`) {
		t.Error("after reload: want no verification controls on a verified ticket")
	}

	for _, p := range console.Problems() {
		t.Errorf("browser console: %s", p)
	}
}
