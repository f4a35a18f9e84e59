package widget

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/bulle-help/bulle/internal/browsertest"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The bubble's accessibility in a real browser: axe-core finds no
// violation in any key state, on a laptop and on a phone; every control is
// reached and worked with the keyboard, inside the open panel only; new
// messages are read out once; colours reach 4.5:1 whatever the accent;
// on a phone every target is 44 px at least and the on-screen keyboard
// does not hide the text box.

// axeFile is where make deps installs axe-core, with npm ci in
// testdata/npm (the version its package-lock.json pins).
const axeFile = "../testdata/npm/node_modules/axe-core/axe.min.js"

// readAxe reads axe-core. Without it the test fails under
// BULLE_REQUIRE_BROWSER=1 (make test, after make deps installed it), and
// is skipped otherwise.
func readAxe(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(axeFile)
	if err != nil {
		if os.Getenv("BULLE_REQUIRE_BROWSER") == "1" {
			t.Fatalf("axe-core is not installed (%v), and BULLE_REQUIRE_BROWSER=1: run make deps", err)
		}
		t.Skipf("axe-core is not installed (%v): make deps installs it with npm", err)
	}
	return string(data)
}

// a11yArticles add to testArticles two close articles, which make the
// bot ask which one the visitor means, and one in English only.
var a11yArticles = func() map[string]string {
	m := maps.Clone(testArticles)
	m["en/export-csv.md"] = "---\ntitle: Export tickets as CSV\n---\nExport your tickets as a CSV file from the console.\n"
	m["en/export-json.md"] = "---\ntitle: Export tickets as JSON\n---\nExport your tickets as a JSON file from the console.\n"
	m["fr/export-csv.md"] = "---\ntitle: Exporter les tickets en CSV\n---\nExportez vos tickets dans un fichier CSV depuis la console.\n"
	m["fr/export-json.md"] = "---\ntitle: Exporter les tickets en JSON\n---\nExportez vos tickets dans un fichier JSON depuis la console.\n"
	m["en/proxy.md"] = "---\ntitle: Run behind a reverse proxy\n---\nPut nginx or Caddy in front of the server and forward the WebSocket upgrade headers.\n"
	return m
}()

// axeResult is what axeScript returns: each violation, each node axe
// could not decide on ("rule: why"), and how many rules passed.
type axeResult struct {
	Violations []string `json:"violations"`
	Incomplete []string `json:"incomplete"`
	Passes     int      `json:"passes"`
}

// obscured is why axe cannot measure the contrast of a message partly
// scrolled out of the log: the only undecided result the tests accept (the
// same colours are measured in other states, fully in view).
const obscured = "color-contrast: Element's background color could not be determined because it's partially obscured by another element"

// axeScript runs axe-core on the bubble alone (its host element and
// shadow tree; the host page is not the bubble's to fix): the rules of
// WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best practices.
const axeScript = `(async () => {
	const r = await axe.run(document.querySelector('[data-bulle]'), {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']},
		resultTypes: ['violations', 'incomplete'],
	});
	const say = (v) => v.id + ' (' + v.impact + '): ' + v.help + ': ' + v.nodes.map(n => n.target.join(' > ') + ' ' + (n.failureSummary || '')).join('; ');
	return {violations: r.violations.map(say), passes: r.passes.length,
		incomplete: r.incomplete.flatMap(v => v.nodes.map(n => v.id + ': ' + (n.failureSummary || '').split('\n').slice(1).map(l => l.trim()).join(' ') + ' (' + n.target.join(' > ') + ')'))};
})()`

// contrastJS defines ratio(element colour, background): the WCAG contrast
// of a colour on the background an element shows it on (the first opaque
// one up its tree, across the shadow boundary).
const contrastJS = `
	const lum = (c) => { const [r, g, b] = c.match(/[\d.]+/g).slice(0, 3).map(v => { v /= 255; return v <= .03928 ? v / 12.92 : ((v + .055) / 1.055) ** 2.4; }); return .2126 * r + .7152 * g + .0722 * b; };
	const ratio = (a, b) => { const x = lum(a) + .05, y = lum(b) + .05; return Math.max(x, y) / Math.min(x, y); };
	const bg = (e) => { for (; e; e = e.parentElement || (e.getRootNode() && e.getRootNode().host)) { const c = getComputedStyle(e).backgroundColor, a = c.match(/[\d.]+/g); if (a && (a.length < 4 || +a[3] === 1)) return c; } return 'rgb(255, 255, 255)'; };
	const name = (e) => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ').join('.') : '') + ' "' + (e.getAttribute('aria-label') || e.textContent || e.placeholder || '').trim().slice(0, 30) + '"';
`

// ownContrast checks what axe leaves out: disabled buttons (WCAG exempts
// them; we do not) and placeholders, at 4.5:1.
const ownContrast = `(() => {` + contrastJS + `
	const r = ` + root + `, out = [];
	let n = 0;
	r.querySelectorAll('button:disabled').forEach(e => { if (!e.getClientRects().length) return; n++;
		const c = ratio(getComputedStyle(e).color, bg(e)); if (c < 4.5) out.push('disabled ' + name(e) + ': ' + c.toFixed(2) + ':1'); });
	r.querySelectorAll('[placeholder]').forEach(e => { if (!e.getClientRects().length) return; n++;
		const c = ratio(getComputedStyle(e, '::placeholder').color, bg(e)); if (c < 4.5) out.push('placeholder of ' + name(e) + ': ' + c.toFixed(2) + ':1'); });
	return {checked: n, problems: out};
})()`

// touchTargets lists every control the visitor can touch that is
// smaller than 44 × 44 px.
const touchTargets = `(() => {` + contrastJS + `
	const r = ` + root + `, out = [];
	let n = 0;
	r.querySelectorAll('button, a[href], input, select, textarea').forEach(e => {
		if (!e.getClientRects().length) return; // not drawn: hidden
		n++;
		const b = e.getBoundingClientRect();
		if (b.width < 44 || b.height < 44) out.push(name(e) + ' ' + Math.round(b.width) + '×' + Math.round(b.height));
	});
	return {checked: n, problems: out};
})()`

// checked is what ownContrast and touchTargets return.
type checked struct {
	Checked  int      `json:"checked"`
	Problems []string `json:"problems"`
}

// a11yChecker checks one viewport's states.
type a11yChecker struct {
	b     *browser
	axe   string
	phone bool
	ran   []string // the states checked, for the log
}

// run runs axe-core on the bubble as it is now.
func (c *a11yChecker) run(state string) axeResult {
	b := c.b
	b.t.Helper()
	if !evalAs[bool](b, `typeof axe !== 'undefined'`) {
		b.eval(c.axe)
	}
	r, err := chromedp.Run(b.ctx, chromedp.Evaluate[axeResult](axeScript, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("axe on %s: %v", state, err)
	}
	return r
}

// canary checks that axe sees into the bubble's shadow root: a button
// without a name put there is a violation.
func (c *a11yChecker) canary() {
	c.b.t.Helper()
	c.b.eval(root + `.querySelector('.root').appendChild(Object.assign(document.createElement('button'), {className: 'canary'}))`)
	r := c.run("canary")
	c.b.eval(root + `.querySelector('.canary').remove()`)
	if len(r.Violations) != 1 || !strings.HasPrefix(r.Violations[0], "button-name") {
		c.b.t.Fatalf("axe on a nameless button in the shadow root: got %q, want button-name: it does not see the bubble", r.Violations)
	}
}

// check runs axe-core and the checks of its own on the bubble as it is
// now, and fails the test on any violation.
func (c *a11yChecker) check(state string) {
	b := c.b
	b.t.Helper()
	// The scroll and the layout settle.
	b.do("two frames", chromedp.Evaluate[chromedp.Void](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))`, chromedp.EvalAwaitPromise))
	r := c.run(state)
	for _, v := range r.Violations {
		b.t.Errorf("axe, %s: %s", state, v)
	}
	partly := 0
	for _, v := range r.Incomplete {
		if strings.HasPrefix(v, obscured) {
			partly++
			continue
		}
		b.t.Errorf("axe, %s, undecided: %s", state, v)
	}
	own := evalAs[checked](b, ownContrast)
	for _, p := range own.Problems {
		b.t.Errorf("contrast, %s: %s, want 4.5:1 at least", state, p)
	}
	line := fmt.Sprintf("%s: %d violations, %d rules passed, %d elements partly scrolled out for the contrast rule; %d disabled buttons and placeholders at 4.5:1",
		state, len(r.Violations), r.Passes, partly, own.Checked-len(own.Problems))
	if c.phone {
		tt := evalAs[checked](b, touchTargets)
		for _, p := range tt.Problems {
			b.t.Errorf("touch target, %s: %s, want 44×44 px at least", state, p)
		}
		if tt.Checked == 0 {
			b.t.Errorf("touch targets, %s: measured none", state)
		}
		line += fmt.Sprintf("; %d of %d touch targets at 44 px", tt.Checked-len(tt.Problems), tt.Checked)
	}
	c.ran = append(c.ran, line)
}

// TestBrowserAccessibility runs axe-core on every key state of the
// bubble, on a laptop with a grey accent (on which neither white nor the
// usual near-black text reaches 4.5:1) and on a phone with the default
// accent, where it also measures every touch target.
func TestBrowserAccessibility(t *testing.T) {
	src := readAxe(t)
	for _, vp := range []struct {
		name          string
		width, height int64
		phone         bool
		accent        string
	}{{"desktop", 1024, 768, false, "#808080"}, {"phone", 390, 844, true, ""}} {
		t.Run(vp.name, func(t *testing.T) {
			hub := escalation.NewHub(escalation.HubOptions{})
			site := startBubbleSiteOf(t, a11yArticles, true, func(o *Options, store *escalation.Store) {
				o.LiveChat, o.Agents, o.Hub = store, online(1), hub
				desk := filesDesk(t, store, 0) // the form with its file field
				o.Tickets, o.Attachments = desk, desk
			})
			store := site.store
			b := openBrowser(t)
			console := browsertest.Watch(b.ctx, false)
			opts := []chromedp.EmulateViewportOption{}
			if vp.phone {
				opts = append(opts, chromedp.EmulateMobile)
			}
			b.do("viewport", chromedp.EmulateViewport(vp.width, vp.height, opts...))
			c := &a11yChecker{b: b, axe: src, phone: vp.phone}

			b.do("open the page", chromedp.Navigate(site.srv.URL+"/page?lang=fr&accent="+url.QueryEscape(vp.accent)))
			b.wait("the launcher", `document.querySelector('[data-bulle]') && `+root+`.querySelector('.bubble')`)
			c.canary()
			c.check("closed launcher")

			b.openPanel()
			b.ask(askHours)
			b.wait("the answer card", root+`.querySelector('.msg.bot[data-kind=answer] .card')`)
			b.ask("reverse proxy nginx websocket")
			b.wait("the English-only card", root+`.querySelector('.msg.bot[data-kind=answer] .card .flag')`)
			c.check("answer with cards")

			b.ask("export tickets")
			b.wait("the choices", root+`.querySelector('.msg.bot[data-kind=clarify] .choices button')`)
			c.check("clarify choices")

			b.ask("je veux parler à un conseiller")
			b.wait("the offer with the hours", root+`.querySelector('.msg.bot[data-kind=handoff] .avail li')`)
			c.check("person offer with hours")

			// The email form: an address the server refuses, and a file of
			// a type it does not take.
			b.eval(root + `.querySelector('.msg.bot[data-kind=handoff] button[data-channel=email]').click()`)
			b.wait("the ticket form", root+`.querySelector('form.ticket .drop button.pick')`)
			b.eval(`(() => { const f = ` + root + `.querySelector('form.ticket'), dt = new DataTransfer();
				dt.items.add(new File([new Uint8Array([77, 90, 0, 0, 3, 0, 1, 2])], 'setup.exe'));
				dt.items.add(new File(['journal\n'], 'log.txt', {type: 'text/plain'}));
				f.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
				f.querySelector('[name=email]').value = 'ana@localhost'; })()`)
			b.wait("the checked files", root+`.querySelector('form.ticket .drop .fix').textContent !== '' && `+root+`.querySelector('form.ticket .chosen li')`)
			b.eval(root + `.querySelector('form.ticket .send').click()`)
			b.wait("the refusal", root+`.querySelector('form.ticket > .fix').textContent !== '' && `+root+`.querySelector('form.ticket [name=email]').getAttribute('aria-invalid') === 'true'`)
			if got := evalAs[[]string](b, `(() => { const f = `+root+`.querySelector('form.ticket'), e = f.querySelector('[name=email]');
				return [f.querySelector('#' + e.getAttribute('aria-describedby')).textContent, String(`+root+`.activeElement === e)]; })()`); !strings.Contains(got[0], "email") || got[1] != "true" {
				t.Errorf("refused address: described by %q, focused %s; want the server's reason, and the focus on it", got[0], got[1])
			}
			c.check("email form with errors")

			// The right address: the ticket, then its verification by code.
			b.eval(`(() => { const f = ` + root + `.querySelector('form.ticket'); f.querySelector('[name=email]').value = 'bo@example.org'; f.querySelector('.send').click(); })()`)
			b.wait("the ticket, with its offer to verify", root+`.querySelector('.msg.system[data-kind=ticket_created] .verify button')`)
			b.eval(root + `.querySelector('.msg.system[data-kind=ticket_created] .verify button').click()`)
			b.wait("the code form", root+`.querySelector('.msg.system[data-kind=verify_sent] form.verify input')`)
			b.eval(`(() => { const f = ` + root + `.querySelector('form.verify'); f.querySelector('input').value = '000000'; f.querySelector('button[type=submit]').click(); })()`)
			b.wait("the wrong code refused", root+`.querySelector('form.verify .fix').textContent !== ''`)
			c.check("verification code entry")

			// A live chat: queued, then Ana takes it, writes and types.
			b.ask("je veux parler à un conseiller")
			b.wait("a new offer", root+`.querySelectorAll('.msg.bot[data-kind=handoff] button[data-channel=chat]:not(:disabled)').length === 1`)
			b.eval(root + `.querySelector('.msg.bot[data-kind=handoff] button[data-channel=chat]:not(:disabled)').click()`)
			b.wait("the queue bar", `!`+root+`.querySelector('.queue').hidden`)
			ctx := context.Background()
			token := evalAs[string](b, `JSON.parse(localStorage.getItem('bulle:`+site.srv.URL+`')).token`)
			conv, err := store.ConversationByToken(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			c.check("queued for a chat")
			ana, _, err := store.AddAgent(ctx, "ana@team.example", "Ana")
			if err != nil {
				t.Fatal(err)
			}
			claim, err := store.ClaimChat(ctx, conv.ID, ana.ID)
			if err != nil {
				t.Fatal(err)
			}
			hub.PublishChange(claim)
			if _, _, err := store.AppendAgentMessage(ctx, ana.ID, escalation.NewMessage{ConversationID: conv.ID, Body: "Bonjour, je suis Ana."}); err != nil {
				t.Fatal(err)
			}
			hub.Publish(conv.ID)
			b.wait("her message", root+`.querySelector('.msg.agent .who')`)
			hub.PublishTyping(conv.ID, escalation.RoleAgent, true)
			b.wait("the typing dots", root+`.querySelector('.typing')`)
			c.check("live chat")

			closed, err := store.CloseChat(ctx, conv.ID, ana.ID)
			if err != nil {
				t.Fatal(err)
			}
			hub.PublishChange(closed)
			b.wait("the rating box", root+`.querySelector('form.rate .stars button')`)
			b.eval(root + `.querySelector('form.rate .stars button[data-rating="4"]').click()`)
			c.check("rating")

			for _, l := range c.ran {
				t.Logf("%s, %s", vp.name, l)
			}
			for _, p := range console.Problems() {
				t.Errorf("browser console: %s", p)
			}
		})
	}
}

// TestBrowserKeyboard: the bubble works with the keyboard alone. Enter
// on the launcher opens the panel with the focus in its text box; a
// question typed and sent with Enter is answered, and read out once;
// Tab and Shift+Tab go round the panel's controls without leaving it,
// each showing its focus; a vote is cast with Space; Escape closes and
// gives the focus back to the launcher; the history is not read out
// again after a reload.
func TestBrowserKeyboard(t *testing.T) {
	site := startBubbleSite(t, true, nil)
	b := openBrowser(t)
	console := browsertest.Watch(b.ctx, false)
	b.do("viewport", chromedp.EmulateViewport(1024, 768))
	b.do("open the page", chromedp.Navigate(site.srv.URL+"/page?lang=fr"))
	b.wait("the launcher", `document.querySelector('[data-bulle]') && `+root+`.querySelector('.bubble')`)
	active := `(() => { const a = ` + root + `.activeElement; return a ? a.tagName.toLowerCase() + (a.className ? '.' + a.className : '') : String(document.activeElement && document.activeElement.tagName); })()`
	// Tab from the top of the page: the page has no control, so the
	// launcher is the first stop.
	b.do("tab to the launcher", chromedp.KeyEvent(kb.Tab))
	if got := evalAs[string](b, active); got != "button.bubble" {
		t.Fatalf("first Tab: focus on %s, want the launcher", got)
	}
	b.do("Enter on the launcher", chromedp.KeyEvent(kb.Enter))
	b.wait("the panel, the focus in its text box, modal", root+`.querySelector('.panel') && !`+root+`.querySelector('.panel').hidden && `+root+`.activeElement === `+root+`.querySelector('textarea') && `+
		root+`.querySelector('.panel').getAttribute('aria-modal') === 'true'`)
	b.wait("the socket", root+`.querySelector('.status').textContent === '' && JSON.parse(localStorage.getItem('bulle:`+site.srv.URL+`') || '{}').token`)

	b.do("type a question", chromedp.KeyEvent(askHours), chromedp.KeyEvent(kb.Enter))
	b.wait("the answer", root+`.querySelector('.msg.bot[data-kind=answer] .votes button')`)
	said := `Array.from(` + root + `.querySelectorAll('.panel > [aria-live=polite] > *')).map(x => x.textContent)`
	answer := evalAs[string](b, root+`.querySelector('.msg.bot[data-kind=answer] .text').textContent`)
	if got := evalAs[[]string](b, said); len(got) != 1 || got[0] != answer {
		t.Errorf("read out: got %q, want the answer once: %q", got, answer)
	}
	if got := evalAs[string](b, root+`.querySelector('.log').getAttribute('aria-live')`); got != "off" {
		t.Errorf("log: aria-live %q, want off (new messages are read out once, elsewhere)", got)
	}

	// Tab round the panel: every stop is in it, shows its focus, and the
	// round comes back to where it started; Shift+Tab goes the other way.
	stops := evalAs[int](b, `Array.from(`+root+`.querySelector('.panel').querySelectorAll('button, a[href], input, select, textarea, [tabindex]')).filter(x => !x.disabled && x.tabIndex >= 0 && x.getClientRects().length).length`)
	if stops < 6 {
		t.Fatalf("got %d focusable controls in the panel, want the header's, the log, the answer's, the text box and send", stops)
	}
	where := `(() => { const a = ` + root + `.activeElement; if (!a || !` + root + `.querySelector('.panel').contains(a)) return 'outside: ' + (a ? a.tagName : document.activeElement.tagName);
		const s = getComputedStyle(a); if (!a.matches(':focus-visible') || (s.outlineStyle === 'none' && s.boxShadow === 'none')) return 'no visible focus: ' + a.tagName;
		return a.tagName.toLowerCase() + '.' + a.className + '[' + (a.getAttribute('aria-label') || a.textContent || '').slice(0, 20) + ']'; })()`
	var round []string
	for range stops {
		b.do("Tab", chromedp.KeyEvent(kb.Tab))
		round = append(round, evalAs[string](b, where))
	}
	t.Logf("Tab round of %d stops: %q", stops, round)
	for _, r := range round {
		if strings.HasPrefix(r, "outside") || strings.HasPrefix(r, "no visible focus") {
			t.Errorf("Tab round: %s (round %q)", r, round)
		}
	}
	if round[len(round)-1] != "textarea.[]" {
		t.Errorf("after %d Tabs from the text box: on %s, want the text box again (round %q)", stops, round[len(round)-1], round)
	}
	var back []string
	for range stops {
		b.do("Shift+Tab", chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
		back = append(back, evalAs[string](b, where))
	}
	for i := range stops - 1 {
		if back[i] != round[stops-2-i] {
			t.Errorf("Shift+Tab round: got %q, want the Tab round backwards %q", back, round)
			break
		}
	}

	// Space on "this answer helped".
	b.eval(root + `.querySelector('.votes button[data-helpful=true]').focus()`)
	b.do("Space", chromedp.KeyEvent(" "))
	b.wait("the vote", root+`.querySelector('.votes button[data-helpful=true]').getAttribute('aria-pressed') === 'true'`)

	// Escape closes, the launcher has the focus; Enter opens again.
	b.do("Escape", chromedp.KeyEvent(kb.Escape))
	b.wait("the panel closed, the focus on the launcher", root+`.querySelector('.panel').hidden && `+root+`.activeElement === `+root+`.querySelector('.bubble')`)
	b.do("Enter", chromedp.KeyEvent(kb.Enter))
	b.wait("the panel open again", `!`+root+`.querySelector('.panel').hidden && `+root+`.activeElement === `+root+`.querySelector('textarea')`)

	// After a reload, the conversation is shown, not read out.
	b.do("reload", chromedp.Reload())
	b.wait("the conversation, back", root+` && `+root+`.querySelector('.msg.bot[data-kind=answer]') && `+root+`.querySelector('.status').textContent === ''`)
	time.Sleep(200 * time.Millisecond)
	if got := evalAs[[]string](b, said); len(got) != 0 {
		t.Errorf("after the reload, read out %q, want nothing", got)
	}
	// Shown open as it was left, the panel leaves the page to screen
	// readers until the visitor goes into it; then it is modal.
	modal := root + `.querySelector('.panel').getAttribute('aria-modal')`
	if got := evalAs[*string](b, modal); got != nil {
		t.Errorf("panel shown as it was left: aria-modal %q, want none", *got)
	}
	at := evalAs[[]float64](b, `(() => { const r = `+root+`.querySelector('textarea').getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`)
	b.do("click in the text box", chromedp.MouseClickXY(at[0], at[1]))
	if got := evalAs[*string](b, modal); got == nil || *got != "true" {
		t.Errorf("panel with the focus in it: aria-modal %v, want true", got)
	}
	for _, p := range console.Problems() {
		t.Errorf("browser console: %s", p)
	}
}

// TestBrowserAccentContrast: whatever the accent a site picks, the text on
// it and the accent as text on the panel's light backgrounds reach 4.5:1.
func TestBrowserAccentContrast(t *testing.T) {
	site := startBubbleSite(t, true, nil)
	b := openBrowser(t)
	probe := `(() => {` + contrastJS + `
		const w = ` + root + `.querySelector('.root'), l = w.querySelector('.bubble'), s = getComputedStyle(l);
		const ink = document.createElement('span'); ink.style.color = 'var(--ink)'; w.appendChild(ink);
		const i = getComputedStyle(ink).color; ink.remove();
		return [ratio(s.color, s.backgroundColor)].concat(['rgb(255, 255, 255)', 'rgb(250, 251, 252)', 'rgb(246, 247, 249)', 'rgb(238, 241, 251)'].map(b => ratio(i, b)));
	})()`
	// The default; gold (dark text); grey, on which neither white nor
	// #1f2328 reaches 4.5:1 (black does); the grey white just reaches it
	// on; a green, a pink; white and black.
	for _, accent := range []string{"", "#ffd700", "#808080", "#767676", "#0a7d5a", "#e91e63", "#ffffff", "#000000"} {
		b.do("open the page", chromedp.Navigate(site.srv.URL+"/page?accent="+url.QueryEscape(accent)))
		b.wait("the launcher", `document.querySelector('[data-bulle]') && `+root+`.querySelector('.bubble')`)
		got := evalAs[[]float64](b, probe)
		if got[0] < 4.5 {
			t.Errorf("accent %q: text on it at %.2f:1, want 4.5:1", accent, got[0])
		}
		for i, bg := range []string{"white", "#fafbfc", "#f6f7f9", "#eef1fb"} {
			if got[i+1] < 4.5 {
				t.Errorf("accent %q: as text on %s at %.2f:1, want 4.5:1", accent, bg, got[i+1])
			}
		}
	}
}

// TestBrowserPhone: on a phone the panel takes the whole screen, and when
// the visible part of the page shrinks (an on-screen keyboard: the visual
// viewport, played here by a page zoom, which shrinks it the same way; or
// the whole window, as some Android browsers do) the panel shrinks with
// it and the text box stays in view.
func TestBrowserPhone(t *testing.T) {
	site := startBubbleSite(t, true, nil)
	b := openBrowser(t)
	console := browsertest.Watch(b.ctx, false)
	b.do("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.do("open the page", chromedp.Navigate(site.srv.URL+"/page?lang=fr"))
	b.wait("the launcher", `document.querySelector('[data-bulle]') && `+root+`.querySelector('.bubble')`)
	b.openPanel()
	b.ask(askHours)
	b.wait("the answer", root+`.querySelector('.msg.bot[data-kind=answer]')`)
	b.eval(root + `.querySelector('textarea').focus()`)

	// seen says where the panel and the text box are, against the visual
	// viewport.
	seen := `(() => { const v = visualViewport, p = ` + root + `.querySelector('.panel').getBoundingClientRect(), t = ` + root + `.querySelector('textarea').getBoundingClientRect();
		return {top: v.offsetTop, height: v.height, panelTop: p.top, panelHeight: p.height, panelWidth: p.width, inputTop: t.top, inputBottom: t.bottom, width: innerWidth}; })()`
	type view struct {
		Top, Height, PanelTop, PanelHeight, PanelWidth, InputTop, InputBottom, Width float64
	}
	inView := func(what string, v view) {
		t.Helper()
		if v.PanelTop < v.Top-1 || v.PanelTop+v.PanelHeight > v.Top+v.Height+1 || v.InputTop < v.Top || v.InputBottom > v.Top+v.Height+1 {
			t.Errorf("%s: panel %.0f+%.0f, text box %.0f to %.0f; want both within the visible %.0f+%.0f", what, v.PanelTop, v.PanelHeight, v.InputTop, v.InputBottom, v.Top, v.Height)
		}
	}
	full := evalAs[view](b, seen)
	if full.PanelWidth != full.Width || full.PanelHeight != full.Height || full.PanelTop != 0 {
		t.Errorf("phone: panel %.0f×%.0f at %.0f, want the whole %.0f×%.0f screen", full.PanelWidth, full.PanelHeight, full.PanelTop, full.Width, full.Height)
	}
	if evalAs[bool](b, `getComputedStyle(`+root+`.querySelector('.bubble')).display !== 'none'`) {
		t.Error("phone: the launcher shows over the open panel")
	}

	// The visual viewport halves (zoom 2: what a keyboard does to it in
	// Safari and Chrome for Android, without changing the layout).
	scale := func(f float64) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetPageScaleFactor, emulation.SetPageScaleFactorParams{PageScaleFactor: f})
			return err
		})
	}
	b.do("a smaller visual viewport", scale(2))
	b.wait("the panel fitted", `Math.abs(`+root+`.querySelector('.panel').getBoundingClientRect().height - visualViewport.height) < 1`)
	small := evalAs[view](b, seen)
	if small.Height > full.Height*0.6 {
		t.Fatalf("visual viewport: %.0f px high, want about half of %.0f: the emulation did not shrink it", small.Height, full.Height)
	}
	inView("visual viewport halved", small)
	b.do("back", scale(1))
	b.wait("the panel full again", `Math.abs(`+root+`.querySelector('.panel').getBoundingClientRect().height - innerHeight) < 1`)

	// The window itself shrinks (Android browsers that resize the page).
	b.do("a shorter window", chromedp.EmulateViewport(390, 450, chromedp.EmulateMobile))
	b.wait("the panel fitted", `Math.abs(`+root+`.querySelector('.panel').getBoundingClientRect().height - 450) < 1`)
	inView("window 450 px high", evalAs[view](b, seen))
	if got := evalAs[string](b, root+`.activeElement.tagName`); got != "TEXTAREA" {
		t.Errorf("focus: on %s after the resizes, want still in the text box", got)
	}
	for _, p := range console.Problems() {
		t.Errorf("browser console: %s", p)
	}
}

// TestBrowserSiteStringsAndMyRequests: a site says any of the bubble's
// strings in its own words, with data-strings or Bulle.setStrings, in
// every language or in one, as text; and "My requests" leads to the page
// that mails the sign-in link.
func TestBrowserSiteStringsAndMyRequests(t *testing.T) {
	site := startBubbleSite(t, true, func(o *Options, _ *escalation.Store) {
		o.Requests = o.Tickets.(*escalation.Desk)
	})
	b := openBrowser(t)
	console := browsertest.Watch(b.ctx, false)
	b.do("viewport", chromedp.EmulateViewport(1024, 768))
	// Words that are not JSON: a warning for the site's developer, and the
	// bubble's own words.
	b.do("open a page with broken data-strings", chromedp.Navigate(site.srv.URL+"/page?lang=fr&strings="+url.QueryEscape(`{"send": "Go!"`)))
	b.wait("the launcher in its own words", `document.querySelector('[data-bulle]') && `+root+`.querySelector('.bubble').getAttribute('aria-label') === "Ouvrir l'assistant"`)
	strs := `{"send": "Go!", "fr": {"title": "Aide <b>Margot</b>", "open": "Besoin d'aide ?"}, "en": {"title": "Margot's help"}}`
	b.do("open the page", chromedp.Navigate(site.srv.URL+"/page?lang=fr&strings="+url.QueryEscape(strs)))
	b.wait("the launcher", `document.querySelector('[data-bulle]') && `+root+`.querySelector('.bubble')`)
	label := root + `.querySelector('.bubble').getAttribute('aria-label')`
	if got := evalAs[string](b, label); got != "Besoin d'aide ?" {
		t.Errorf("launcher, from data-strings: got %q", got)
	}
	b.eval(`Bulle.setStrings({placeholder: 'Votre question, ici'}, 'fr-FR'); Bulle.setStrings({placeholder: 'Your question here'}, 'en'); Bulle.setStrings({subtitle: 'Margot répond'})`)
	b.openPanel()
	words := `(() => { const r = ` + root + `; return [r.querySelector('h2').textContent, r.querySelector('header p').textContent, r.querySelector('textarea').placeholder,
		r.querySelector('form:not(.ticket) .send').textContent, String(r.querySelectorAll('h2 b').length)]; })()`
	if got := evalAs[[]string](b, words); strings.Join(got, "|") != "Aide <b>Margot</b>|Margot répond|Votre question, ici|Go!|0" {
		t.Errorf("panel in the site's words: got %q", got)
	}
	// Once open, a call draws the panel again in the new words; another
	// language takes its own.
	b.eval(`Bulle.setStrings({send: 'Envoyer !'}, 'fr')`)
	b.wait("the new word", root+`.querySelector('form:not(.ticket) .send').textContent === 'Envoyer !'`)
	b.eval(`Bulle.setLanguage('en')`)
	b.wait("English, in the site's words", root+`.querySelector('h2').textContent === "Margot's help" && `+root+`.querySelector('textarea').placeholder === 'Your question here' && `+
		root+`.querySelector('form:not(.ticket) .send').textContent === 'Go!'`)

	// "My requests": shown once the server says it takes tickets, it opens
	// the help center's page in a new tab, where the visitor asks for the
	// sign-in link.
	b.wait("the My requests link", `!`+root+`.querySelector('header a.tool').hidden`)
	link := evalAs[[]string](b, `(() => { const a = `+root+`.querySelector('header a.tool'); return [a.href, a.target, a.rel, a.getAttribute('aria-label')]; })()`)
	if link[0] != site.srv.URL+"/requests?lang=en" || link[1] != "_blank" || link[2] != "noopener" || link[3] != "My requests (opens in a new tab)" {
		t.Errorf("My requests link: got %q", link)
	}
	b.ask("I want to talk to a person")
	b.wait("the hand-off", root+`.querySelector('.msg.bot button[data-channel=email]')`)
	b.eval(root + `.querySelector('.msg.bot button[data-channel=email]').click()`)
	b.wait("the ticket form", root+`.querySelector('form.ticket')`)
	b.eval(`(() => { const f = ` + root + `.querySelector('form.ticket'); f.querySelector('[name=email]').value = 'ana@example.org'; f.querySelector('.send').click(); })()`)
	b.wait("the ticket's note, with the way to follow it", root+`.querySelector('.msg.system[data-kind=ticket_created] a.pointer')`)
	if got := evalAs[string](b, root+`.querySelector('.msg.system[data-kind=ticket_created] a.pointer').href`); got != link[0] {
		t.Errorf("ticket note link: got %q, want %q", got, link[0])
	}

	// The page it opens (a new tab: the same here) mails the link.
	b.do("follow the link", chromedp.Navigate(link[0]))
	b.wait("the form", `document.querySelector('form input[name=email]')`)
	b.eval(`(() => { const f = document.querySelector('form'); f.querySelector('input[name=email]').value = 'ana@example.org'; setTimeout(() => f.submit(), 0); })()`)
	// The submission navigates: wait for the next page without a poll
	// that the navigation would cut.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		sent, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!!document.querySelector('.done') && location.pathname === '/requests'`))
		if err == nil && sent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for the page that says the link is sent: %v", err)
		}
	}
	mails, err := site.store.OutboxMails(context.Background(), 0, 10)
	if err != nil || len(mails) == 0 || !strings.Contains(mails[0].To, "ana@example.org") || !regexp.MustCompile(`/requests/login\?t=`).MatchString(mails[0].Text) {
		t.Errorf("newest mail %+v (%v): want the sign-in link to ana@example.org", mails, err)
	}
	for _, p := range console.Problems() {
		t.Errorf("browser console: %s", p)
	}
}
