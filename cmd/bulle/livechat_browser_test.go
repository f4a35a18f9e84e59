package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/bulle-help/bulle/internal/browsertest"
	"github.com/chromedp/chromedp"
)

// tab drives one headless tab, and collects its console errors.
type tab struct {
	t       *testing.T
	name    string
	ctx     context.Context
	console *browsertest.Console
}

func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %s: %v", tb.name, what, err)
	}
}

// wait polls a JavaScript condition for up to 10 s; a navigation ends a
// poll, so it polls again on the new page.
func (tb *tab) wait(what, cond string) {
	tb.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := chromedp.Run(tb.ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "-32000") || time.Now().After(deadline) {
			page, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerHTML`))
			tb.t.Fatalf("%s: waiting for %s: %v; page %s", tb.name, what, err, page)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (tb *tab) eval(js string) {
	tb.t.Helper()
	tb.do(js, chromedp.Evaluate[chromedp.Void](js))
}

func evalIn[T any](tb *tab, js string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		tb.t.Fatalf("%s: %s: %v", tb.name, js, err)
	}
	return v
}

// bubbleRoot is the bubble's shadow root, in the page's JavaScript.
const bubbleRoot = `document.querySelector('[data-bulle]').shadowRoot`

// TestBrowserConsoleChatsWithTheBubble drives headless Chromium through a
// live chat, the agent's console in one tab and the visitor's bubble in
// another, under both pages' real Content-Security-Policy: the chat
// arrives in the console's queue, the agent claims it, types and
// replies; the visitor types and replies; markup on either side shows as
// text; the agent ends the chat and the bubble offers the rating.
func TestBrowserConsoleChatsWithTheBubble(t *testing.T) {
	// Both tabs run their timers and sockets at full speed.
	alloc := browsertest.Allocator(t, 90*time.Second,
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("lang", "fr-FR"))
	m := runChatMain(t)
	ctx := context.Background()
	inv, err := m.store.InviteAgent(ctx, "ana@team.example", "Ana", escalation.AgentRoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.store.SetAgentPassword(ctx, inv.SetupToken, agentPassword); err != nil {
		t.Fatal(err)
	}

	browserCtx, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	agentTab := &tab{t: t, name: "console", ctx: browserCtx, console: browsertest.Watch(browserCtx, false)}

	// Ana signs in and opens her chats.
	agentTab.do("open the console", chromedp.Navigate(m.URL()+"/console/login?lang=fr"))
	agentTab.wait("the sign-in form", `document.querySelector('input[name=email]') !== null`)
	agentTab.eval(`document.querySelector('input[name=email]').value = "ana@team.example";
		document.querySelector('input[name=password]').value = "` + agentPassword + `";
		document.querySelector('form').submit()`)
	agentTab.wait("the landing page", `location.pathname === '/console/' && document.querySelector('h1') !== null`)
	agentTab.do("open the chats", chromedp.Navigate(m.URL()+"/console/chats?lang=fr"))
	agentTab.wait("online, and nobody waiting", `document.getElementById('presence').className === 'presence online' &&
		document.querySelector('#queue li.empty') !== null`)

	// The visitor, in another tab, asks for a person.
	visitorCtx, cancelVisitor := chromedp.NewContext(browserCtx)
	defer cancelVisitor()
	visitorTab := &tab{t: t, name: "bubble", ctx: visitorCtx, console: browsertest.Watch(visitorCtx, false)}
	visitorTab.do("open the demo page", chromedp.Navigate(m.URL()+"/demo"))
	visitorTab.wait("the bubble", `document.querySelector('[data-bulle]') && `+bubbleRoot+`.querySelector('.bubble')`)
	visitorTab.eval(bubbleRoot + `.querySelector('.bubble').click()`)
	visitorTab.wait("the panel, fetched on the first open", bubbleRoot+`.querySelector('textarea')`)
	ask := func(text string) {
		t.Helper()
		visitorTab.eval(`(() => { const t = ` + bubbleRoot + `.querySelector('textarea'); t.value = ` + jsString(text) + `; ` +
			bubbleRoot + `.querySelector('.send').click(); })()`)
	}
	ask("je veux parler à un conseiller")
	visitorTab.wait("the offer of chat", bubbleRoot+`.querySelector('.msg.bot button[data-channel=chat]')`)
	visitorTab.eval(bubbleRoot + `.querySelector('.msg.bot button[data-channel=chat]').click()`)
	visitorTab.wait("the queue bar", `!`+bubbleRoot+`.querySelector('.queue').hidden`)

	// It arrives in Ana's queue at once; she opens it and claims it.
	agentTab.wait("the chat in the queue", `document.querySelector('#queue li.chat a.open') !== null &&
		document.getElementById('queue-count').textContent === '1' && document.title.startsWith('(1) ')`)
	if got := evalIn[string](agentTab, `document.querySelector('#queue li.chat .topic') ? 'topic' : document.querySelector('#queue li.chat .lang').textContent`); got != "fr" {
		t.Errorf("queued row: got %q, want the language fr and no topic", got)
	}
	agentTab.eval(`document.querySelector('#queue li.chat a.open').click()`)
	agentTab.wait("the conversation, with its history", `location.pathname.startsWith('/console/chats/') &&
		document.querySelectorAll('#lines .line').length >= 4 && !document.getElementById('claim').hidden &&
		document.getElementById('presence').className === 'presence online'`)
	if got := evalIn[string](agentTab, `document.querySelector('#lines .line.visitor .text').textContent`); got != "je veux parler à un conseiller" {
		t.Errorf("first line: got %q, want the visitor's question", got)
	}
	agentTab.eval(`document.getElementById('claim').click()`)
	agentTab.wait("the chat held, the reply box shown", `document.getElementById('chat-status').dataset.status === 'active' &&
		!document.getElementById('reply').hidden && document.getElementById('claim').hidden &&
		document.querySelector('#lines .line[data-kind=chat_claimed]') !== null`)
	visitorTab.wait("Ana's arrival, and no queue bar", bubbleRoot+`.querySelector('.msg.system[data-kind=chat_claimed]') && `+bubbleRoot+`.querySelector('.queue').hidden`)

	// Ana types: the visitor sees the dots. She sends markup: it shows
	// as text on both sides.
	agentTab.eval(`(() => { const t = document.getElementById('reply-text'); t.value = 'Bon'; t.dispatchEvent(new Event('input')); })()`)
	visitorTab.wait("the typing dots", bubbleRoot+`.querySelector('.typing')`)
	const agentText = `<b>Bonjour</b>, je regarde <img src=x onerror="document.title='pwned'">`
	agentTab.eval(`(() => { const t = document.getElementById('reply-text'); t.value = ` + jsString(agentText) + `;
		document.querySelector('#reply button[type=submit]').click(); })()`)
	agentTab.wait("her message stored", `document.querySelector('#lines .line.agent:not(.pending)[data-seq]') !== null &&
		document.querySelector('#lines .line.pending') === null`)
	if got := evalIn[[]string](agentTab, `(() => { const l = document.querySelector('#lines .line.agent'); return [l.querySelector('.who').textContent, l.querySelector('.text').textContent, String(l.querySelectorAll('b, img').length)]; })()`); got[0] != "Ana" || got[1] != agentText || got[2] != "0" {
		t.Errorf("console line: got %q, want Ana's text as text", got)
	}
	visitorTab.wait("Ana's message", bubbleRoot+`.querySelector('.msg.agent:not(.typing) .text')`)
	if got := evalIn[[]string](visitorTab, `(() => { const m = `+bubbleRoot+`.querySelector('.msg.agent:not(.typing)'); return [m.querySelector('.who').textContent, m.querySelector('.text').textContent, String(m.querySelectorAll('b, img').length)]; })()`); got[0] != "Ana" || got[1] != agentText || got[2] != "0" {
		t.Errorf("bubble: got %q, want Ana's text as text under her name", got)
	}

	// The visitor types and answers with markup too.
	visitorTab.eval(`(() => { const t = ` + bubbleRoot + `.querySelector('textarea'); t.value = 'Mer'; t.dispatchEvent(new Event('input')); })()`)
	agentTab.wait("the visitor typing", `!document.getElementById('typing').hidden && document.getElementById('typing').textContent === 'Le visiteur écrit…'`)
	const visitorText = `<script>document.title='pwned'</script>Merci !`
	ask(visitorText)
	agentTab.wait("the visitor's answer", `Array.from(document.querySelectorAll('#lines .line.visitor .text')).some(p => p.textContent === `+jsString(visitorText)+`)`)
	if n := evalIn[int](agentTab, `document.querySelectorAll('#lines script, #lines img, #lines b').length`); n != 0 {
		t.Errorf("console: got %d elements from messages, want none", n)
	}

	// Ana ends the chat (two clicks): the bubble offers the rating.
	agentTab.eval(`document.getElementById('close').click()`)
	agentTab.eval(`document.getElementById('close').click()`)
	agentTab.wait("the chat ended", `document.getElementById('chat-status').dataset.status === 'closed' &&
		document.getElementById('reply').hidden && document.querySelector('#lines .line[data-kind=chat_closed]') !== null`)
	visitorTab.wait("the rating box", bubbleRoot+`.querySelector('.msg.system[data-kind=chat_closed] form.rate')`)

	// Back to the lists: the chat is gone from everywhere.
	agentTab.do("back to the chats", chromedp.Navigate(m.URL()+"/console/chats?lang=fr"))
	agentTab.wait("empty lists", `document.querySelector('#queue li.empty') && document.querySelector('#mine li.empty') && document.querySelector('#active li.empty')`)
	for _, tb := range []*tab{agentTab, visitorTab} {
		if title := evalIn[string](tb, `document.title`); strings.Contains(title, "pwned") {
			t.Errorf("%s: a message ran as code", tb.name)
		}
	}

	for _, tb := range []*tab{agentTab, visitorTab} {
		for _, p := range tb.console.Problems() {
			t.Errorf("%s: browser console: %s", tb.name, p)
		}
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}
