package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/bulle-help/bulle/internal/browsertest"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// shopPage is a site that embeds the bubble with no Content-Security-
// Policy at all, as many do: nothing but the bubble's own care keeps a
// payload from running there.
const shopPage = `<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Boutique</title></head>
<body><h1>Boutique</h1><p>Nos produits.</p>
<script src="/widget.js" data-lang="fr" async></script>
</body></html>`

// xssTrap runs in every frame before the page's scripts: it records any
// payload that sets window.__xss (from the frame, or parent.__xss from an
// inner one) in sessionStorage, so a reload keeps the evidence, and says so
// in the console.
const xssTrap = `(() => {
  let v;
  try {
    Object.defineProperty(window, "__xss", { configurable: false, get() { return v; }, set(x) {
      v = x;
      try { sessionStorage.setItem("__xss", String(x)); } catch (e) {}
      console.error("XSS: a payload ran");
    }});
  } catch (e) {}
})();`

// activeDOM lists, in the page and every open shadow root, what only an
// injection would put there: inline handlers, javascript:/data: URLs,
// srcdoc, frames, plugins, <base>, meta refreshes, scripts from elsewhere.
// It reads no structure of the bubble, so a rewrite of the bubble keeps it
// true.
const activeDOM = `(() => {
  const bad = [], roots = [document];
  while (roots.length) {
    const r = roots.pop();
    for (const el of r.querySelectorAll("*")) {
      if (el.shadowRoot) roots.push(el.shadowRoot);
      const tag = el.tagName.toLowerCase();
      if (["iframe", "frame", "object", "embed", "base", "portal"].includes(tag)) bad.push("<" + tag + ">");
      if (tag === "script" && !(el.src && new URL(el.src).origin === location.origin)) bad.push("<script> " + el.src);
      for (const a of el.attributes) {
        const n = a.name.toLowerCase(), v = a.value.replace(/[\u0000-\u0020]/g, "").toLowerCase();
        if (n.startsWith("on") || n === "srcdoc" || n === "http-equiv" || n === "formaction") bad.push(tag + " " + n + "=" + a.value);
        if (/^(href|src|action|data|xlink:href|poster)$/.test(n) && /^(javascript|vbscript|data):/.test(v) &&
            !(tag === "img" && v.startsWith("data:image/"))) bad.push(tag + " " + n + "=" + a.value);
      }
    }
  }
  return bad;
})()`

// shadowText is the text the bubble shows: its host is documented
// (<div data-bulle>, an open shadow root), what is inside is not read.
const shadowText = `(() => { const h = document.querySelector("[data-bulle]"); return h && h.shadowRoot ? h.shadowRoot.textContent : ""; })()`

// xssWatch records, for one tab, what shows a payload ran or was made
// markup: dialogs (answered, so the page goes on), requests for what only
// a payload asks (<img src=x>), the welcome frames of the bubble's socket.
type xssWatch struct {
	mu       sync.Mutex
	dialogs  []string
	requests []string
	tokens   chan string
}

func watchXSS(t *testing.T, ctx context.Context) *xssWatch {
	t.Helper()
	w := &xssWatch{tokens: make(chan string, 8)}
	if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument,
		cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: xssTrap}); err != nil {
		t.Fatal(err)
	}
	dialogs := chromedp.Events(ctx, cdppage.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			w.mu.Lock()
			w.dialogs = append(w.dialogs, string(ev.Type)+": "+ev.Message)
			w.mu.Unlock()
			chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			u := ev.Request.URL
			if strings.HasSuffix(u, "/x") || strings.HasSuffix(u, "/1") || strings.Contains(u, "__xss") ||
				strings.HasPrefix(u, "javascript:") || strings.HasPrefix(u, "data:text") {
				w.mu.Lock()
				w.requests = append(w.requests, u)
				w.mu.Unlock()
			}
		}
	}()
	frames := chromedp.Events(ctx, network.WebSocketFrameReceived)
	go func() {
		for ev, err := range frames {
			if err != nil {
				return
			}
			var f struct{ Type, Token string }
			if ev.Response != nil && json.Unmarshal(ev.Response.PayloadData, &f) == nil && f.Type == "welcome" && f.Token != "" {
				select {
				case w.tokens <- f.Token:
				default:
				}
			}
		}
	}()
	return w
}

// check fails the test for every sign that a payload ran in the tab.
func (w *xssWatch) check(tb *tab) {
	tb.t.Helper()
	w.mu.Lock()
	dialogs, requests := append([]string(nil), w.dialogs...), append([]string(nil), w.requests...)
	w.mu.Unlock()
	for _, d := range dialogs {
		tb.t.Errorf("%s: a dialog opened: %s", tb.name, d)
	}
	for _, r := range requests {
		tb.t.Errorf("%s: a payload's request: %s", tb.name, r)
	}
	if got := evalIn[string](tb, `String(window.__xss) + " " + sessionStorage.getItem("__xss")`); got != "undefined null" {
		tb.t.Errorf("%s: window.__xss and its record: %s, want neither set", tb.name, got)
	}
	for _, el := range evalIn[[]string](tb, activeDOM) {
		tb.t.Errorf("%s: active markup in the page: %s", tb.name, el)
	}
}

// TestBrowserHostileTextStaysTextInTheBubbleAndTheConsole opens the bubble
// in headless Chromium on a shop page with no CSP, and an agent's console
// in another tab. The conversation then fills with every payload: the
// visitor's messages, the bot's answers (from articles whose titles,
// descriptions and bodies are payloads), a chat topic and page, an agent
// named with a payload, and the agent's messages. Live, after a reload
// that redraws the bubble from its storage and resumes it, and on /demo
// (same storage, the demo's CSP), nothing ran: no dialog, window.__xss never set, no request only a payload
// makes, no handler or javascript: URL anywhere in either page. The check
// drives the bubble through Bulle.open() alone and reads nothing of its
// inside but its text, so it holds across rewrites of the bubble.
func TestBrowserHostileTextStaysTextInTheBubbleAndTheConsole(t *testing.T) {
	alloc := browsertest.Allocator(t, 90*time.Second,
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true))
	payloads := loadPayloads(t)
	m := runHostileMain(t, payloads, func(m *Main) {
		m.Config.SMTP.InboundAddr = "127.0.0.1:0"
		m.Config.SMTP.ReplyDomain = "reply.example.com"
		m.wrapHandler = func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/shop" {
					next.ServeHTTP(w, r)
					return
				}
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				io.WriteString(w, shopPage)
			})
		}
	})
	leaName := "Léa " + payloads[0]
	lea := hostileAgent(t, m, "lea@team.example", leaName, escalation.AgentRoleAgent)
	marker := fmt.Sprintf("FIN-%d", time.Now().UnixNano())

	browserCtx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	agentTab := &tab{t: t, name: "console", ctx: browserCtx, console: browsertest.Watch(browserCtx, false)}
	agentWatch := watchXSS(t, browserCtx)
	agentTab.do("open the console", chromedp.Navigate(m.URL()+"/console/login?lang=fr"))
	agentTab.wait("the sign-in form", `document.querySelector('input[name=email]') !== null`)
	agentTab.eval(`document.querySelector('input[name=email]').value = "lea@team.example";
		document.querySelector('input[name=password]').value = "` + agentPassword + `";
		document.querySelector('form').submit()`)
	agentTab.wait("the landing page", `location.pathname === '/console/'`)
	agentTab.do("open the chats", chromedp.Navigate(m.URL()+"/console/chats?lang=fr"))
	agentTab.wait("the chats page", `document.getElementById('queue') !== null`)

	visitorCtx, cancelVisitor := chromedp.NewContext(browserCtx)
	defer cancelVisitor()
	shop := &tab{t: t, name: "bubble", ctx: visitorCtx, console: browsertest.Watch(visitorCtx, false)}
	shopWatch := watchXSS(t, visitorCtx)
	shop.do("open the shop", chromedp.Navigate(m.URL()+"/shop"))
	shop.wait("the bubble's API", `typeof window.Bulle === 'object' && typeof Bulle.open === 'function'`)
	shop.eval(`Bulle.open()`)
	var token string
	select {
	case token = <-shopWatch.tokens:
	case <-time.After(15 * time.Second):
		t.Fatal("the bubble never said hello")
	}

	// The visitor's other tab (a socket of the test) writes the payloads,
	// asks questions the hostile articles answer, then asks for a chat.
	v, w := bubble(t, m, map[string]any{"lang": "fr", "token": token})
	asked := 0
	ask := func(text string) {
		t.Helper()
		asked++
		v.send(map[string]any{"type": "message", "client_id": fmt.Sprintf("q%d", asked), "text": text})
		v.nextOf("ack", "")
		for f := v.next(); !(f.Type == "message" && f.Role == "bot"); f = v.next() {
			if f.Type == "error" {
				t.Fatalf("question %d: got %+v, want the bot's answer", asked, f)
			}
		}
	}
	for _, text := range joinUpTo(payloads, 2000) {
		ask(text)
	}
	for i := 1; i < len(payloads); i += len(payloads) / 5 {
		ask(payloads[i])
	}
	// A ticket, answered by email with files named with payloads: the
	// bubble lists them under the reply. (A second first: the socket takes
	// 5 frames a second, bursts of 10.)
	time.Sleep(time.Second)
	v.send(map[string]any{"type": "ticket", "client_id": "t1", "topic": "bug", "email": "ana@example.org", "name": payloads[4],
		"text": payloads[5], "page_url": hostilePage(payloads[6])})
	v.nextOf("ack", "")
	replyWithFiles(t, m, w.Conversation.ID, "ana@example.org", payloads[len(payloads)-10:])
	v.send(map[string]any{"type": "person", "channel": "chat", "client_id": "p1", "page_url": hostilePage(payloads[2]), "topic": payloads[3]})
	for f := v.next(); f.Type != "ack"; f = v.next() { // past the ticket and the reply
		if f.Type == "error" {
			t.Fatalf("the chat request: got %+v, want an ack", f)
		}
	}

	// The agent's page shows it queued, then opens it.
	agentTab.wait("the chat in the queue", fmt.Sprintf(`document.querySelector('#queue a[href^="/console/chats/%d"]') !== null`, w.Conversation.ID))
	agentTab.do("open the chat", chromedp.Navigate(fmt.Sprintf("%s/console/chats/%d?lang=fr", m.URL(), w.Conversation.ID)))
	agentTab.wait("the chat page", `document.getElementById('lines') !== null && document.getElementById('presence').className === 'presence online'`)

	// Léa, named with a payload, takes it and writes every payload.
	lea.connect()
	lea.sock.send(map[string]any{"type": "claim", "conversation_id": w.Conversation.ID})
	lea.sock.nextOf("chat", "")
	say := func(i int, text string) {
		t.Helper()
		lea.sock.send(map[string]any{"type": "message", "conversation_id": w.Conversation.ID, "client_id": fmt.Sprintf("a%d", i), "text": text})
		lea.sock.nextOf("ack", "")
	}
	single := payloads[:10]
	for i, p := range single {
		say(i, p)
	}
	for i, text := range joinUpTo(payloads, 4000) {
		say(100+i, text)
	}
	say(200, marker)

	shows := func(tb *tab, what string) {
		t.Helper()
		tb.wait(what, `(`+shadowText+` + document.body.textContent).includes(`+jsString(marker)+`)`)
	}
	shows(agentTab, "the last message on the agent's page")
	shows(shop, "the last message in the bubble")
	text := evalIn[string](shop, shadowText)
	for _, p := range append(single, leaName) {
		if !strings.Contains(text, p) {
			t.Errorf("bubble: %q is not shown as written", p)
		}
	}
	agentWatch.check(agentTab)
	shopWatch.check(shop)

	// A reload draws the conversation again, from the bubble's storage and
	// the server's replay.
	lea.sock.send(map[string]any{"type": "close", "conversation_id": w.Conversation.ID})
	lea.sock.nextOf("chat", "")
	shop.do("reload the shop", chromedp.Reload())
	shop.wait("the bubble's API", `typeof window.Bulle === 'object'`)
	shop.eval(`Bulle.open()`)
	shows(shop, "the conversation again after a reload")
	time.Sleep(300 * time.Millisecond) // the replay after the redraw
	shopWatch.check(shop)
	// /demo, on the same origin, shares the bubble's storage: the same
	// conversation, under the demo's CSP (a violation is an error below).
	shop.do("open the demo", chromedp.Navigate(m.URL()+"/demo"))
	shop.wait("the bubble's API", `typeof window.Bulle === 'object'`)
	shop.eval(`Bulle.open()`)
	shows(shop, "the conversation on /demo")
	time.Sleep(300 * time.Millisecond)
	shopWatch.check(shop)
	agentWatch.check(agentTab)
	for _, tb := range []*tab{agentTab, shop} {
		for _, p := range tb.console.Problems() {
			if strings.Contains(p, "XSS") || strings.Contains(p, "Content Security Policy") {
				t.Errorf("%s: browser console: %s", tb.name, p)
			} else {
				t.Logf("%s: browser console: %s", tb.name, p)
			}
		}
	}
}
