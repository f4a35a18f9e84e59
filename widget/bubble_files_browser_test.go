package widget

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/bulle-help/bulle/internal/browsertest"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The bubble's email form and its files in Chromium, against the real
// server: a desk that keeps files on a temp store and folder, and POST
// /widget/uploads as the widget serves it. The files are real files on
// disk, dropped on the form as from the desktop and picked with its file
// input.

// uploadCall is one POST /widget/uploads that reached the site, with the
// widget's answer.
type uploadCall struct {
	token    string // the bearer
	status   int
	id, name string // the staged file's, from a 201
	size     int64
}

// uploadLog records the POSTs to /widget/uploads that reach a site; the
// widget's own handler answers them. after, when set, runs once each is
// answered and before the browser reads the answer, with how many there
// have been: a test does there what must happen between the uploads and
// the ticket frame.
type uploadLog struct {
	mu    sync.Mutex
	calls []uploadCall
	after func(n int)
}

// wrap serves next, recording the uploads.
func (l *uploadLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != uploadsPath {
			next.ServeHTTP(rw, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		c := uploadCall{status: rec.Code}
		c.token, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		var info uploadInfo
		if rec.Code == http.StatusCreated && json.Unmarshal(rec.Body.Bytes(), &info) == nil {
			c.id, c.name, c.size = info.ID, info.Name, info.Size
		}
		l.mu.Lock()
		l.calls = append(l.calls, c)
		n, after := len(l.calls), l.after
		l.mu.Unlock()
		if after != nil {
			after(n)
		}
		maps.Copy(rw.Header(), rec.Header())
		rw.WriteHeader(rec.Code)
		rw.Write(rec.Body.Bytes())
	})
}

func (l *uploadLog) list() []uploadCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]uploadCall(nil), l.calls...)
}

func (l *uploadLog) setAfter(f func(n int)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.after = f
}

// filesDesk is a desk on store that keeps files in a temp folder, each at
// most maxBytes (escalation's default when 0): the welcome then offers
// uploads, and POST /widget/uploads stages them.
func filesDesk(t testing.TB, store *escalation.Store, maxBytes int64) *escalation.Desk {
	t.Helper()
	tokens, err := escalation.NewReplyTokens(bytes.Repeat([]byte{5}, 32))
	if err != nil {
		t.Fatal(err)
	}
	files, err := escalation.NewFiles(t.TempDir(), maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	desk, err := escalation.NewDesk(store, escalation.DeskOptions{From: "no-reply@help.example", ReplyDomain: "help.example",
		Tokens: tokens, Files: files, BaseURL: "https://help.example"})
	if err != nil {
		t.Fatal(err)
	}
	return desk
}

// writeFiles writes the files in a temp folder, and returns their paths
// by name.
func writeFiles(t testing.TB, files map[string][]byte) map[string]string {
	t.Helper()
	dir := t.TempDir()
	paths := map[string]string{}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	return paths
}

// dropFiles drops files from disk on the element sel (a JavaScript
// expression) as a visitor dragging them from the desktop does: the
// browser's own dragenter, dragover and drop, at the element's centre.
func (b *browser) dropFiles(sel string, paths ...string) {
	b.t.Helper()
	b.eval(sel + `.scrollIntoView({block: 'center'})`)
	xy := evalAs[[]float64](b, `(() => { const r = `+sel+`.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()`)
	data := &input.DragData{Items: []*input.DragDataItem{}, Files: paths, DragOperationsMask: 1} // copy
	b.do("drop files", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for _, typ := range []input.DispatchDragEventType{input.DispatchDragEventTypeDragEnter,
			input.DispatchDragEventTypeDragOver, input.DispatchDragEventTypeDrop} {
			if _, err := cdp.Call(ctx, tg, input.DispatchDragEvent, input.DispatchDragEventParams{Type: typ, X: xy[0], Y: xy[1], Data: data}); err != nil {
				return err
			}
		}
		return nil
	}))
}

// sentFrames records the text frames the page sends on its WebSockets,
// from the browser's network events.
type sentFrames struct {
	mu     sync.Mutex
	frames []string
}

func watchSentFrames(b *browser) *sentFrames {
	b.t.Helper()
	s := &sentFrames{}
	if _, err := chromedp.Call(b.ctx, network.Enable, network.EnableParams{}); err != nil {
		b.t.Fatalf("network events: %v", err)
	}
	err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*network.EventWebSocketFrameSent); ok && e.Response != nil && e.Response.Opcode == 1 {
			s.mu.Lock()
			s.frames = append(s.frames, string(e.Response.PayloadData))
			s.mu.Unlock()
		}
	})
	if err != nil {
		b.t.Fatalf("network events: %v", err)
	}
	return s
}

// sentTicket is what a ticket frame says, of what these tests read.
type sentTicket struct {
	ClientID string   `json:"client_id"`
	Topic    string   `json:"topic"`
	Email    string   `json:"email"`
	Uploads  []string `json:"uploads"`
}

// tickets returns the ticket frames sent, in order.
func (s *sentFrames) tickets(t *testing.T) []sentTicket {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sentTicket
	for _, f := range s.frames {
		var head struct {
			Type string `json:"type"`
		}
		if json.Unmarshal([]byte(f), &head) != nil || head.Type != typeTicket {
			continue
		}
		var tf sentTicket
		if err := json.Unmarshal([]byte(f), &tf); err != nil {
			t.Fatalf("ticket frame %s: %v", f, err)
		}
		out = append(out, tf)
	}
	return out
}

// TestBrowserPersonAndEmailForm: with chat closed, the hand-off says so
// with the hours in the visitor's zone, and the email form takes a topic,
// an address, a message and files, dropped from the desktop or picked,
// and checked before any upload. The files kept go to the server's POST
// /widget/uploads with the conversation's token, the ticket's note shows
// its reference, and the stored ticket holds exactly those files. Between
// the uploads and the ticket frame the store's clock moves two hours and
// the sweep deletes the staged files, as an hour's wait would: the server
// refuses the ticket's files once, and the panel uploads them again and
// resends, once.
func TestBrowserPersonAndEmailForm(t *testing.T) {
	ctx := context.Background()
	clock := &verifyClock{}
	clock.ns.Store(time.Now().UnixNano())
	var desk *escalation.Desk
	site := startBubbleSite(t, false, func(o *Options, store *escalation.Store) {
		store.Now = clock.Now
		desk = filesDesk(t, store, 1<<20) // 1 MB a file: a file over it is small enough to make
		o.Tickets, o.Attachments = desk, desk
	})
	files := map[string][]byte{
		"film.png":    append(bytes.Clone(screenshotPNG), make([]byte, 1536<<10)...),
		"setup.exe":   append([]byte("MZ\x90\x00\x03"), make([]byte, 60)...),
		"capture.png": screenshotPNG,
		"journal.txt": []byte("journal de bord : erreur 500 à 10 h\n"),
		"facture.pdf": []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"),
	}
	paths := writeFiles(t, files)

	b := openBrowser(t)
	console := browsertest.Watch(b.ctx, false)
	sent := watchSentFrames(b)
	b.do("a visitor in Paris", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Europe/Paris"})
		return err
	}))

	b.do("open the demo", chromedp.Navigate(site.srv.URL+"/demo"))
	b.wait("the launcher", `document.querySelector('[data-bulle]') && `+root+`.querySelector('.bubble')`)
	b.openPanel()
	b.ask("je veux parler à un conseiller")
	b.wait("the hand-off with the hours", root+`.querySelector('.msg.bot[data-kind=handoff] .avail li')`)
	avail := evalAs[[]string](b, `Array.from(`+root+`.querySelectorAll('.avail p, .avail li')).map(x => x.textContent)`)
	want := []string{"Le chat en direct est fermé en ce moment.", "Réouverture : lundi 10:00.", "Horaires du chat, à votre heure :",
		"Du lundi au vendredi, de 10 h à 2 h (heure de Paris)"}
	if len(avail) < len(want) || strings.Join(avail[:4], "|") != strings.Join(want, "|") {
		t.Errorf("availability: got %q, want %q first", avail, want)
	}

	b.eval(root + `.querySelector('.msg.bot button[data-channel=email]').click()`)
	b.wait("the ticket form", root+`.querySelector('form.ticket .drop button.pick')`)
	labels := evalAs[[]string](b, `Array.from(`+root+`.querySelectorAll('form.ticket label > span, form.ticket .drop > span')).map(x => x.textContent)`)
	if strings.Join(labels, "|") != "Thème|Votre e-mail|Votre nom (facultatif)|Votre message|Pièces jointes (facultatif)" {
		t.Errorf("form fields: got %q, want topic, email, name, message, files", labels)
	}
	// The desk's limits, from the welcome.
	if hint := evalAs[string](b, root+`.querySelector('form.ticket .drop .hint').textContent`); !strings.Contains(hint, "1 Mo par fichier, 20 Mo en tout, 10 fichiers au plus") {
		t.Errorf("files hint: got %q, want the server's limits", hint)
	}

	// Drop three files from the desktop: too big, not an accepted type,
	// and a PNG.
	b.dropFiles(root+`.querySelector('form.ticket .drop')`, paths["film.png"], paths["setup.exe"], paths["capture.png"])
	b.wait("the checked files", root+`.querySelector('form.ticket .drop .fix').textContent !== ''`)
	checked := evalAs[[]string](b, `[Array.from(`+root+`.querySelectorAll('form.ticket .chosen li span')).map(x => x.textContent).join(','), `+root+`.querySelector('form.ticket .drop .fix').textContent]`)
	if checked[0] != "capture.png" || !strings.Contains(checked[1], "film.png dépasse 1 Mo") || !strings.Contains(checked[1], "setup.exe n'est ni une image") {
		t.Errorf("dropped files: kept %q, said %q; want only capture.png kept, and why the others were refused", checked[0], checked[1])
	}
	// Two picked with the form's file input join it; a removed one leaves.
	b.do("pick two files", chromedp.SetUploadFiles(chromedp.JSPath(root+`.querySelector('form.ticket input[type=file]')`),
		[]string{paths["journal.txt"], paths["facture.pdf"]}))
	b.wait("three files", root+`.querySelectorAll('form.ticket .chosen li').length === 3`)
	chosen := `Array.from(` + root + `.querySelectorAll('form.ticket .chosen li span')).map(x => x.textContent).join(',')`
	if got := evalAs[string](b, chosen); got != "capture.png,journal.txt,facture.pdf" {
		t.Errorf("picked files: the form holds %q", got)
	}
	b.eval(root + `.querySelector('form.ticket .chosen li:nth-child(2) button').click()`)
	b.wait("two files", root+`.querySelectorAll('form.ticket .chosen li').length === 2`)
	if got := evalAs[string](b, chosen); got != "capture.png,facture.pdf" {
		t.Errorf("after removing one: the form holds %q", got)
	}
	if got := site.uploads.list(); len(got) != 0 {
		t.Errorf("uploads before the send: %+v, want none (the refusals are the panel's)", got)
	}

	// Once the second file is staged, and before the panel hears so, two
	// hours pass and the sweep deletes both: the ticket frame names files
	// the server no longer has.
	swept := make(chan int, 1)
	site.uploads.setAfter(func(n int) {
		if n != 2 {
			return
		}
		clock.advance(2 * time.Hour)
		k, err := desk.SweepUploads(ctx)
		if err != nil {
			t.Errorf("sweep: %v", err)
		}
		swept <- k
	})
	b.eval(`(() => { const f = ` + root + `.querySelector('form.ticket'); f.querySelector('[name=email]').value = 'ana@example.org';
		f.querySelector('[name=topic]').value = 'billing'; f.querySelector('.send').click(); })()`)
	b.wait("the ticket's reference", root+`.querySelector('.msg.system[data-kind=ticket_created]') && !`+root+`.querySelector('form.ticket')`)
	select {
	case k := <-swept:
		if k != 2 {
			t.Errorf("the sweep deleted %d staged files, want the 2 uploaded", k)
		}
	default:
		t.Error("the sweep never ran: fewer than two uploads")
	}

	// Each file went up twice, with the conversation's token.
	token := evalAs[string](b, `JSON.parse(localStorage.getItem('bulle:`+site.srv.URL+`')).token`)
	conv, err := site.store.ConversationByToken(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	calls := site.uploads.list()
	var names []string
	for _, c := range calls {
		names = append(names, c.name)
		if c.status != http.StatusCreated || c.token != token || c.size != int64(len(files[c.name])) {
			t.Errorf("upload %+v: want 201 with the conversation's token and the file's size", c)
		}
	}
	if strings.Join(names, ",") != "capture.png,facture.pdf,capture.png,facture.pdf" {
		t.Fatalf("uploads: got %q, want the two files kept, uploaded again after the refusal", names)
	}
	// Two ticket frames, one form: the first named the swept files, the
	// second the new ones.
	tickets := sent.tickets(t)
	if len(tickets) != 2 || tickets[0].ClientID == "" || tickets[1].ClientID != tickets[0].ClientID ||
		strings.Join(tickets[0].Uploads, ",") != calls[0].id+","+calls[1].id || strings.Join(tickets[1].Uploads, ",") != calls[2].id+","+calls[3].id ||
		tickets[1].Topic != "billing" || tickets[1].Email != "ana@example.org" {
		t.Errorf("ticket frames %+v; want two for one form, with the topic, the address and the first uploads' ids, then the new ones'", tickets)
	}

	// The note shows the stored ticket's reference.
	note := evalAs[string](b, root+`.querySelector('.msg.system[data-kind=ticket_created]').textContent`)
	ref := evalAs[string](b, `JSON.parse(localStorage.getItem('bulle:`+site.srv.URL+`')).messages.filter(m => m.kind === 'ticket_created')[0].ticket`)
	tk, err := site.store.TicketByRef(ctx, ref)
	if err != nil || tk.ConversationID != conv.ID || tk.Topic != "billing" || tk.Email != "ana@example.org" || !strings.Contains(note, "#"+ref) {
		t.Fatalf("ticket note %q: want the reference %q of the stored ticket (%+v, %v)", note, ref, tk, err)
	}
	// The stored ticket holds exactly the two files, on its message.
	msgs, err := site.store.MessagesAfter(ctx, conv.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var request int64
	for _, m := range msgs {
		if m.Kind == escalation.KindTicket {
			request = m.Seq
		}
	}
	stored, err := site.store.ConversationAttachments(ctx, conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []struct{ name, contentType string }{{"capture.png", "image/png"}, {"facture.pdf", "application/pdf"}}
	if len(stored) != len(wantFiles) {
		t.Fatalf("stored files %+v, want capture.png and facture.pdf", stored)
	}
	for i, a := range stored {
		if a.Seq != request || a.Name != wantFiles[i].name || a.ContentType != wantFiles[i].contentType {
			t.Errorf("stored file %+v, want %s (%s) on the ticket's message, seq %d", a, wantFiles[i].name, wantFiles[i].contentType, request)
			continue
		}
		_, f, err := desk.ConversationAttachment(ctx, conv.ID, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(f)
		f.Close()
		if err != nil || !bytes.Equal(got, files[a.Name]) {
			t.Errorf("stored %s: %d bytes (%v), want the file's %d", a.Name, len(got), err, len(files[a.Name]))
		}
	}
	// The panel lists them under the request; nothing is left staged.
	if got := evalAs[string](b, `Array.from(`+root+`.querySelectorAll('.msg[data-kind=ticket] .files button')).map(x => x.textContent).join(',')`); got != "capture.png,facture.pdf" {
		t.Errorf("the request in the panel lists %q, want its two files", got)
	}
	clock.advance(2 * time.Hour)
	if n, err := desk.SweepUploads(ctx); n != 0 || err != nil {
		t.Errorf("a later sweep deleted %d files (%v), want none left staged", n, err)
	}

	for _, p := range console.Problems() {
		t.Errorf("browser console: %s", p)
	}
}
