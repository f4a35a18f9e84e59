package widget

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
	"github.com/bulle-help/bulle/internal/browsertest"
	"github.com/bulle-help/bulle/kb"
	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"
	_ "github.com/mattn/go-sqlite3" // lockDB opens the database on a connection of its own
)

// The bubble on a bad day, in Chromium: the server cannot save (its
// database locked by another program), a question acknowledged and never
// answered, and the visitor's clock put back.

// startFaultSite serves the bubble with tickets on a store whose file the
// test knows, so that another connection can lock it; assistant, when
// set, replaces the bot.
func startFaultSite(t *testing.T, assistant func(*kb.Base) Assistant) (srv *httptest.Server, dbPath string) {
	t.Helper()
	dbPath = filepath.Join(t.TempDir(), "bulle.db")
	store, err := escalation.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	tokens, err := escalation.NewReplyTokens(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	desk, err := escalation.NewDesk(store, escalation.DeskOptions{From: "no-reply@help.example", ReplyDomain: "help.example", Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	base := openBase(t, writeArticles(t, testArticles))
	var a Assistant = bot.New(base, chatOpen{}, bot.DefaultConfig())
	if assistant != nil {
		a = assistant(base)
	}
	w, err := New(store, a, Options{Langs: []string{"en", "fr"}, DefaultLang: "en", Rate: 1000, Burst: 1000, Tickets: desk})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	w.Register(e)
	mountAvailability(t, e, true)
	e.GET("/page", hostPage)
	srv = httptest.NewServer(e)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w.Shutdown(ctx)
		srv.Close()
	})
	return srv, dbPath
}

// lockDB takes SQLite's write lock on the database at path from a
// connection of its own, as another program (a backup, the sqlite3 shell)
// would, and holds it until release is called.
func lockDB(t *testing.T, path string) (release func()) {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite3", path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
				t.Error(err)
			}
			conn.Close()
			db.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// waitLong polls a JavaScript condition for up to d.
func (b *browser) waitLong(what, cond string, d time.Duration) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(d)))
	if err != nil {
		b.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// seqs lists the seqs of the messages the panel shows.
const seqs = `Array.from(` + root + `.querySelectorAll('.msg[data-seq]')).map(x => x.dataset.seq).join(',')`

// TestBrowserCannotSaveOffersRetryAndEmail: while the database is locked
// by another program, a question and an email form are refused after the
// store's busy timeout. The bubble says, in the visitor's language, that
// nothing was saved, and offers to try again and the contact page; the
// question stays pending and the form keeps what was typed. Once the lock
// is gone, "Try again" and the form's button store each once.
func TestBrowserCannotSaveOffersRetryAndEmail(t *testing.T) {
	srv, dbPath := startFaultSite(t, nil)
	b := openBrowser(t)
	console := browsertest.Watch(b.ctx, false)
	b.do("open the page", chromedp.Navigate(srv.URL+"/page?lang=fr"))
	b.wait("the launcher", `document.querySelector('[data-bulle]') && `+root+`.querySelector('.bubble')`)
	b.openPanel()
	b.ask(askPassword)
	b.wait("the answer", root+`.querySelector('.msg.bot[data-kind=answer]')`)
	b.ask("je veux parler à un conseiller")
	b.wait("the offer of email", root+`.querySelector('.msg.bot button[data-channel=email]')`)
	b.eval(root + `.querySelector('.msg.bot button[data-channel=email]').click()`)
	b.wait("the email form", root+`.querySelector('form.ticket [name=email]')`)
	b.eval(`(() => { const f = ` + root + `.querySelector('form.ticket'); f.querySelector('[name=email]').value = 'ana@example.org';
		f.querySelector('[name=message]').value = 'Ma facture est comptée deux fois.'; })()`)

	release := lockDB(t, dbPath)
	// The panel's own text box (b.ask's first textarea is the form's now).
	b.eval(`(() => { ` + root + `.querySelector('#bulle-input').value = ` + jsQuote(askHours) + `; ` + root + `.querySelector('.panel > form .send').click(); })()`)
	b.eval(root + `.querySelector('form.ticket .send').click()`)
	// Each is refused after the busy timeout (5 s), the second after the
	// first's: they share the store's one writer connection.
	b.waitLong("the question refused", root+`.querySelector('.note.unsaved')`, 20*time.Second)
	b.waitLong("the form refused", root+`.querySelector('form.ticket > .fix a')`, 20*time.Second)
	note := evalAs[[]string](b, `(() => { const n = `+root+`.querySelector('.note.unsaved'), a = n.querySelector('a');
		return [n.textContent, n.querySelector('button.retry').textContent, a.href, a.target, a.textContent]; })()`)
	if !strings.HasPrefix(note[0], "Impossible de l'enregistrer pour l'instant : personne ne l'a encore reçu.") || note[1] != "Réessayer" ||
		note[2] != srv.URL+"/contact?lang=fr" || note[3] != "_blank" || note[4] != "Nous laisser un e-mail" {
		t.Errorf("the note for a question not saved: got %q; want the French words, Réessayer, and the contact page in a new tab", note)
	}
	if got := evalAs[string](b, `Array.from(`+root+`.querySelectorAll('.msg.visitor.pending')).map(x => x.textContent).join('|')`); got != askHours {
		t.Errorf("pending: got %q, want the question not saved, still pending", got)
	}
	form := evalAs[[]string](b, `(() => { const f = `+root+`.querySelector('form.ticket');
		return [f.querySelector(':scope > .fix').textContent, String(f.querySelector('.send').disabled), f.querySelector('[name=message]').value]; })()`)
	if !strings.HasPrefix(form[0], "Impossible de l'enregistrer pour l'instant") || form[1] != "false" || form[2] != "Ma facture est comptée deux fois." {
		t.Errorf("the form not saved: got %q; want the French words, its button enabled and the message kept", form)
	}

	// The state passes the accessibility checks of every other.
	(&a11yChecker{b: b, axe: readAxe(t)}).check("not saved")

	// The lock goes; both are tried again, and saved once.
	release()
	b.eval(root + `.querySelector('.note.unsaved button.retry').click()`)
	b.wait("the question answered", root+`.querySelectorAll('.msg.bot[data-kind=answer]').length === 2 && !`+root+`.querySelector('.pending')`)
	b.eval(root + `.querySelector('form.ticket .send').click()`)
	b.wait("the ticket", root+`.querySelector('.msg.system[data-kind=ticket_created]') && !`+root+`.querySelector('form.ticket')`)
	if n := evalAs[int](b, root+`.querySelectorAll('.note.unsaved').length`); n != 0 {
		t.Errorf("%d notes still say the question was not saved, once it was", n)
	}
	if got := evalAs[string](b, seqs); got != "1,2,3,4,5,6,7,8" {
		t.Errorf("stored: got seqs %s, want 1 to 8 (two questions and their answers, the hand-off, the ticket and its note), each once", got)
	}
	if n := evalAs[int](b, `Array.from(`+root+`.querySelectorAll('.msg.visitor')).filter(x => x.textContent === `+jsQuote(askHours)+`).length`); n != 1 {
		t.Errorf("the question tried again shows %d times, want once", n)
	}

	// A new visitor while the database is locked: the first hello cannot
	// create the conversation. The question typed meanwhile waits, marked
	// as not saved; the bubble connects again by itself, and once the lock
	// is gone the conversation starts and the question is answered.
	release = lockDB(t, dbPath)
	b.eval(`localStorage.clear()`)
	b.do("reload as a new visitor", chromedp.Reload())
	b.wait("the launcher", root+` && `+root+`.querySelector('.bubble')`)
	b.openPanel()
	b.ask(askHours)
	b.waitLong("the question not saved", root+`.querySelector('.note.unsaved') && `+root+`.querySelector('.msg.visitor.pending')`, 20*time.Second)
	release()
	b.waitLong("the conversation, started by itself", root+`.querySelector('.msg.bot[data-kind=answer]') && !`+root+`.querySelector('.pending') && !`+
		root+`.querySelector('.note.unsaved')`, 20*time.Second)
	if got := evalAs[string](b, seqs); got != "1,2" {
		t.Errorf("the new visitor's conversation: got seqs %s, want 1,2", got)
	}
	for _, p := range console.Problems() {
		t.Errorf("browser console: %s", p)
	}
}

// heldAssistant answers as the bot does, except its first answer, which
// it holds until let goes and then fails (the server stopped before the
// answer was stored), and its third, which fails at once.
type heldAssistant struct {
	*bot.Bot
	let   chan struct{}
	mu    sync.Mutex
	calls int
}

func (h *heldAssistant) Reply(ctx context.Context, turn bot.Turn) (bot.Decision, error) {
	h.mu.Lock()
	h.calls++
	n := h.calls
	h.mu.Unlock()
	switch n {
	case 1:
		<-h.let
		return bot.Decision{}, errors.New("the server stopped")
	case 3:
		return bot.Decision{}, errors.New("the assistant failed")
	}
	return h.Bot.Reply(ctx, turn)
}

func (h *heldAssistant) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

// TestBrowserResendsAnUnansweredQuestion: a question acknowledged and never
// answered is sent again, with its client id, when the bubble reconnects;
// the server answers it then, once. Both ways it happens: the answer never
// came (the server stopped after the ack), and the assistant failed
// ("unavailable"). A question answered is not sent again.
func TestBrowserResendsAnUnansweredQuestion(t *testing.T) {
	h := &heldAssistant{let: make(chan struct{})}
	srv, _ := startFaultSite(t, func(base *kb.Base) Assistant {
		h.Bot = bot.New(base, chatOpen{}, bot.DefaultConfig())
		return h
	})
	defer close(h.let)
	b := openBrowser(t)
	console := browsertest.Watch(b.ctx, false)
	state := `JSON.parse(localStorage.getItem('bulle:` + srv.URL + `') || '{}')`
	b.do("open the page", chromedp.Navigate(srv.URL+"/page?lang=fr"))
	b.wait("the launcher", `document.querySelector('[data-bulle]') && `+root+`.querySelector('.bubble')`)
	b.openPanel()

	// Acknowledged, and the answer never comes.
	b.ask(askPassword)
	b.wait("the question acknowledged", root+`.querySelector('.msg.visitor[data-seq="1"]') && !`+root+`.querySelector('.pending')`)
	b.do("reload", chromedp.Reload())
	b.wait("the answer after the reconnection", root+` && `+root+`.querySelector('.msg.bot[data-kind=answer][data-seq="2"]')`)
	if got := h.count(); got != 2 {
		t.Errorf("the assistant was asked %d times, want twice (the question, then its resend)", got)
	}

	// Acknowledged, and the assistant fails: the bubble says so, and
	// asks again on the next connection without a click.
	b.ask(askInvoice)
	b.wait("the assistant's failure", root+`.querySelector('.note.error') && `+root+`.querySelector('.msg.visitor[data-seq="3"]')`)
	if got := evalAs[string](b, root+`.querySelector('.note.error').textContent`); !strings.HasPrefix(got, "L'assistant n'a pas pu répondre.") {
		t.Errorf("failure note: got %q", got)
	}
	b.do("reload", chromedp.Reload())
	b.wait("the answer after the reconnection", root+` && `+root+`.querySelector('.msg.bot[data-seq="4"]')`)

	// Everything is answered: a reconnection sends nothing again.
	b.do("reload", chromedp.Reload())
	b.wait("the socket resumed", state+`.lastSeq === 4 && `+root+` && `+root+`.querySelector('.status') && `+root+`.querySelector('.status').textContent === ''`)
	time.Sleep(300 * time.Millisecond) // room for a resend to show
	if got := h.count(); got != 4 {
		t.Errorf("the assistant was asked %d times, want 4", got)
	}
	if got := evalAs[string](b, seqs); got != "1,2,3,4" {
		t.Errorf("stored: got seqs %s, want 1,2,3,4: each question and answer once", got)
	}
	for _, p := range console.Problems() {
		t.Errorf("browser console: %s", p)
	}
}

// TestBrowserAvailabilityIgnoresAClockPutBack: the bubble asks whether chat
// is open at most once a minute, measured on a clock that only goes
// forward. A wall clock put back an hour does not keep the old answer for
// an hour: a minute later, the next offer asks again.
func TestBrowserAvailabilityIgnoresAClockPutBack(t *testing.T) {
	srv, _ := startFaultSite(t, nil)
	b := openBrowser(t)
	console := browsertest.Watch(b.ctx, false)
	b.do("open the page", chromedp.Navigate(srv.URL+"/page?lang=fr"))
	b.wait("the launcher", `document.querySelector('[data-bulle]') && `+root+`.querySelector('.bubble')`)
	b.openPanel()
	const asked = `performance.getEntriesByType('resource').filter(r => r.name.includes('/api/availability')).length`
	const shown = `.msg.bot[data-kind=handoff] .avail .state`
	b.ask("je veux parler à un conseiller")
	b.wait("chat's state under the offer", root+`.querySelector('`+shown+`')`)
	if n := evalAs[int](b, asked); n != 1 {
		t.Fatalf("availability asked %d times, want once", n)
	}
	// Within the minute, a new offer uses the answer it has.
	b.ask("je veux parler à un conseiller")
	b.wait("the second offer's state", root+`.querySelectorAll('`+shown+`').length === 1 && `+root+`.querySelector('.msg.bot[data-seq="4"] .avail .state')`)
	if n := evalAs[int](b, asked); n != 1 {
		t.Errorf("within the minute: availability asked %d times, want once", n)
	}
	// The wall clock goes back an hour, and a minute passes.
	b.eval(`(() => { const now = Date.now, mono = performance.now.bind(performance);
		Date.now = () => now.call(Date) - 3600e3; performance.now = () => mono() + 61e3; })()`)
	b.ask("je veux parler à un conseiller")
	b.wait("the third offer's state", root+`.querySelector('.msg.bot[data-seq="6"] .avail .state')`)
	if n := evalAs[int](b, asked); n != 2 {
		t.Errorf("a minute later, the wall clock put back an hour: availability asked %d times in all, want twice", n)
	}
	for _, p := range console.Problems() {
		t.Errorf("browser console: %s", p)
	}
}
