package console

import (
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/internal/browsertest"
	"github.com/chromedp/chromedp"
)

// TestBrowserSignsInAndTheSocketShowsPresence drives headless Chromium
// through the console under its real Content-Security-Policy: sign in
// with the form, see the script's socket turn the status online, set
// away and back, sign out. Any console error (a CSP violation, a script
// exception) fails the test.
func TestBrowserSignsInAndTheSocketShowsPresence(t *testing.T) {
	alloc := browsertest.Allocator(t, 60*time.Second, chromedp.Flag("lang", "fr-FR"))
	f := newFixture(t, Options{DefaultLang: "fr"}, false)
	inv := f.agent(testEmail)

	tab, cancelTab := chromedp.NewContext(alloc)
	defer cancelTab()

	console := browsertest.Watch(tab, false)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tab, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// wait polls a condition for up to 10 s; a form post navigates, which
	// ends a poll, so it polls again on the new page.
	wait := func(what, cond string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := chromedp.Run(tab, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(time.Until(deadline))))
			if err == nil {
				return
			}
			if !strings.Contains(err.Error(), "-32000") || time.Now().After(deadline) {
				page, _ := chromedp.Run(tab, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerHTML`))
				t.Fatalf("waiting for %s: %v; page %s", what, err, page)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	eval := func(js string) { t.Helper(); do(js, chromedp.Evaluate[chromedp.Void](js)) }

	do("open the console", chromedp.Navigate(f.srv.URL+"/console/?lang=fr"))
	wait("the sign-in form", `document.querySelector('input[name=email]') !== null && location.pathname === '/console/login'`)
	eval(`document.querySelector('input[name=email]').value = "` + testEmail + `";
		document.querySelector('input[name=password]').value = "` + testPassword + `";
		document.querySelector('form').submit()`)
	wait("the landing page", `document.querySelector('h1') && document.querySelector('h1').textContent === 'Bonjour Léa'`)
	wait("the socket's presence", `document.getElementById('presence').className === 'presence online' &&
		document.getElementById('presence').textContent === 'en ligne'`)
	if !f.con.Sessions().Online(inv.Agent.ID) {
		t.Error("page open with its socket: agent not online")
	}

	// Each form post marks the page it leaves: the old page's socket hears
	// the new presence before the browser has left it, and a wait must
	// look at the page the post leads to.
	submit := func(action string) {
		t.Helper()
		eval(`document.body.dataset.left = '1'; document.querySelector('form[action^="/console/` + action + `"] button').click()`)
	}
	const newPage = `!document.body.dataset.left && document.readyState === 'complete' && `
	submit("away")
	wait("away", newPage+`document.getElementById('presence') && document.getElementById('presence').className === 'presence away'`)
	if f.con.Sessions().Online(inv.Agent.ID) {
		t.Error("set away: agent still online")
	}
	submit("away")
	wait("back online", newPage+`document.getElementById('presence') && document.getElementById('presence').className === 'presence online'`)

	submit("logout")
	wait("signed out", `location.pathname === '/console/login' && document.body.textContent.includes('Vous êtes déconnecté')`)
	if problems := console.Problems(); len(problems) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(problems, "\n"))
	}
}
