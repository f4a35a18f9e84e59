package console

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/internal/browsertest"
	"github.com/chromedp/chromedp"
)

// tab is a headless Chromium tab on the console, with the console errors
// it records (a CSP violation, a script exception).
type tab struct {
	t       *testing.T
	ctx     context.Context
	console *browsertest.Console
}

// newTab opens a tab in a French Chromium that stops with the test.
func newTab(t *testing.T) *tab {
	t.Helper()
	alloc := browsertest.Allocator(t, 60*time.Second, chromedp.Flag("lang", "fr-FR"))
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	return &tab{t: t, ctx: ctx, console: browsertest.Watch(ctx, false)}
}

func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// wait polls a condition for up to 10 s; a form post navigates, which
// ends a poll, so it polls again on the new page.
func (tb *tab) wait(what, cond string) {
	tb.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := chromedp.Run(tb.ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "-32000") || time.Now().After(deadline) {
			page, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.title + "\n" + location.href + "\n" + document.body.innerHTML`))
			tb.t.Fatalf("waiting for %s: %v; page %s", what, err, page)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (tb *tab) eval(js string) { tb.t.Helper(); tb.do(js, chromedp.Evaluate[chromedp.Void](js)) }

// signIn fills the sign-in form and waits for the landing page.
func (tb *tab) signIn(url string) {
	tb.t.Helper()
	tb.do("open the console", chromedp.Navigate(url+"/console/?lang=fr"))
	tb.wait("the sign-in form", `document.querySelector('input[name=email]') !== null && location.pathname === '/console/login'`)
	tb.eval(`document.querySelector('input[name=email]').value = "` + testEmail + `";
		document.querySelector('input[name=password]').value = "` + testPassword + `";
		document.querySelector('form').submit()`)
	tb.wait("the landing page", `document.querySelector('h1') && document.querySelector('h1').textContent === 'Bonjour Léa'`)
}

// noProblems fails the test on any console error the tab recorded.
func (tb *tab) noProblems() {
	tb.t.Helper()
	if problems := tb.console.Problems(); len(problems) > 0 {
		tb.t.Errorf("browser console errors:\n%s", strings.Join(problems, "\n"))
	}
}

// TestBrowserSignsInAndTheSocketShowsPresence drives headless Chromium
// through the console under its real Content-Security-Policy: sign in
// with the form, see the script's socket turn the status online, set
// away and back, sign out. Any console error (a CSP violation, a script
// exception) fails the test.
func TestBrowserSignsInAndTheSocketShowsPresence(t *testing.T) {
	tb := newTab(t)
	f := newFixture(t, Options{DefaultLang: "fr"}, false)
	inv := f.agent(testEmail)

	tb.signIn(f.srv.URL)
	tb.wait("the socket's presence", `document.getElementById('presence').className === 'presence online' &&
		document.getElementById('presence').textContent === 'en ligne'`)
	if !f.con.Sessions().Online(inv.Agent.ID) {
		t.Error("page open with its socket: agent not online")
	}

	// Each form post marks the page it leaves: the old page's socket hears
	// the new presence before the browser has left it, and a wait must
	// look at the page the post leads to.
	submit := func(action string) {
		t.Helper()
		tb.eval(`document.body.dataset.left = '1'; document.querySelector('form[action^="/console/` + action + `"] button').click()`)
	}
	const newPage = `!document.body.dataset.left && document.readyState === 'complete' && `
	submit("away")
	tb.wait("away", newPage+`document.getElementById('presence') && document.getElementById('presence').className === 'presence away'`)
	if f.con.Sessions().Online(inv.Agent.ID) {
		t.Error("set away: agent still online")
	}
	submit("away")
	tb.wait("back online", newPage+`document.getElementById('presence') && document.getElementById('presence').className === 'presence online'`)

	submit("logout")
	tb.wait("signed out", `location.pathname === '/console/login' && document.body.textContent.includes('Vous êtes déconnecté')`)
	tb.noProblems()
}

// TestBrowserAlertsNewChatsAndAddsANoteInPlace drives the new-chat alert
// and a chat's note box in Chromium: a chat entering the queue puts the
// count in the title and a banner on whatever console page is open, a
// claim takes them back, another page of the same tab does not announce
// a chat it saw; a note posted from a chat's page appears without leaving
// it.
func TestBrowserAlertsNewChatsAndAddsANoteInPlace(t *testing.T) {
	tb := newTab(t)
	f := newFixture(t, Options{DefaultLang: "fr"}, false)
	inv := f.agent(testEmail)
	ctx := context.Background()

	tb.signIn(f.srv.URL)
	tb.wait("the socket's presence", `document.getElementById('presence').className === 'presence online'`)
	tb.wait("no chat waiting", `document.title === 'Console Bulle' && !document.querySelector('#chat-alerts .chat-alert')`)

	first := f.queuedVisitor("Ma facture est fausse")
	banner := func(v *visitor) string {
		return `document.querySelector('#chat-alerts .chat-alert[data-conversation="` + strconv.FormatInt(v.conv.ID, 10) + `"] a')`
	}
	tb.wait("the title's count and the banner", `document.title === '(1) Console Bulle' && `+banner(first)+` &&
		`+banner(first)+`.textContent === 'Nouvelle discussion en attente — FR — billing/invoice' &&
		`+banner(first)+`.getAttribute('href') === '/console/chats/`+strconv.FormatInt(first.conv.ID, 10)+`?lang=fr'`)
	second := f.queuedVisitor("Où est ma commande ?")
	tb.wait("a second chat", `document.title === '(2) Console Bulle' && document.querySelectorAll('#chat-alerts .chat-alert').length === 2`)

	// Another agent claims the first: its banner goes, the count drops.
	bo := f.agentNamed("bo@team.example", "Bo")
	ch, err := f.store.ClaimChat(ctx, first.conv.ID, bo.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.con.hub.PublishChange(ch)
	tb.wait("the claim", `document.title === '(1) Console Bulle' && !`+banner(first)+` && `+banner(second))

	// Another page of the tab counts the queue, and does not announce the
	// chat this tab saw already; a new one, it does.
	tb.do("open the second chat", chromedp.Navigate(fmt.Sprintf("%s/console/chats/%d?lang=fr", f.srv.URL, second.conv.ID)))
	tb.wait("the chat page's count", fmt.Sprintf(`document.title === '(1) Conversation #%d · Console Bulle' &&
		document.getElementById('presence').className === 'presence online'`, second.conv.ID))
	third := f.queuedVisitor("Bonjour")
	tb.wait("the third chat", fmt.Sprintf(`document.title === '(2) Conversation #%d · Console Bulle' && %s &&
		document.querySelectorAll('#chat-alerts .chat-alert').length === 1`, second.conv.ID, banner(third)))
	tb.eval(banner(third) + `.parentNode.querySelector('button.dismiss').click()`)
	tb.wait("the banner dismissed", `!document.querySelector('#chat-alerts .chat-alert')`)

	// The note box: posted with fetch, shown in place, as text.
	const note = `Client fidèle <b>depuis 2019</b>`
	tb.eval(`document.body.dataset.stay = '1';
		document.getElementById('note-text').value = ` + strconv.Quote(note) + `;
		document.querySelector('#note-form button[type=submit]').click()`)
	tb.wait("the note in place", `document.body.dataset.stay === '1' && location.search === '?lang=fr' &&
		document.querySelector('#notes-list .note .text') &&
		document.querySelector('#notes-list .note .text').textContent === `+strconv.Quote(note)+` &&
		document.querySelector('#notes-list .note .who').textContent === 'Léa' &&
		document.getElementById('notes-count').textContent === '1' &&
		document.getElementById('notice').textContent === 'Note ajoutée.' && !document.getElementById('notice').hidden &&
		document.getElementById('note-text').value === ''`)
	notes, err := f.store.AgentNotes(ctx, second.conv.ID)
	if err != nil || len(notes) != 1 || notes[0].Body != note || notes[0].AgentID != inv.Agent.ID {
		t.Errorf("stored notes: got %+v, %v; want Léa's note", notes, err)
	}
	tb.noProblems()
}
