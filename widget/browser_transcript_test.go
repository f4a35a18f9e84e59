package widget

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/bulle-help/bulle/internal/browsertest"
	"github.com/chromedp/chromedp"
)

// openBrowser starts headless Chromium on one tab, or skips the test when
// there is none (make deps installs it).
func openBrowser(t *testing.T) *browser {
	t.Helper()
	tab, cancelTab := chromedp.NewContext(browsertest.Allocator(t, 60*time.Second))
	t.Cleanup(cancelTab)
	return &browser{t: t, ctx: tab}
}

// TestBrowserMailsTheTranscriptAndDownloadsFiles drives the bubble's
// header button and a file download in Chromium.
func TestBrowserMailsTheTranscriptAndDownloadsFiles(t *testing.T) {
	b := openBrowser(t)
	env, desk := newDeskEnv(t, nil)
	ctx := context.Background()

	b.do("open the demo page", chromedp.Navigate(env.srv.URL+"/demo"))
	b.wait("the bubble", `document.querySelector('[data-bulle]') && `+root+`.querySelector('.bubble')`)
	b.openPanel()
	b.ask("quels sont les horaires du chat ?")
	b.wait("the answer", root+`.querySelector('.msg.bot[data-kind=answer]')`)
	if label := evalAs[string](b, root+`.querySelector('header .tool').getAttribute('aria-label')`); label != "Envoyer la transcription par e-mail" {
		t.Errorf("header button: %q", label)
	}

	// The header button asks for the address and sends the frame.
	b.eval(root + `.querySelector('header .tool').click()`)
	b.wait("the address form", root+`.querySelector('form.transcript input[type=email]')`)
	b.eval(`(() => { const f = ` + root + `.querySelector('form.transcript'); f.querySelector('input').value = 'ana@localhost'; f.querySelector('.send').click(); })()`)
	b.wait("the refusal", root+`.querySelector('form.transcript .fix').textContent.includes('email')`)
	b.eval(`(() => { const f = ` + root + `.querySelector('form.transcript'); f.querySelector('input').value = 'ana@example.org'; f.querySelector('.send').click(); })()`)
	b.wait("the note, and the form gone", root+`.querySelector('.msg.system[data-kind=transcript_sent]') && !`+root+`.querySelector('form.transcript')`)
	if n := len(outbox(t, env.store, "transcript")); n != 1 {
		t.Fatalf("queued %d transcripts, want 1", n)
	}
	// The address is remembered for next time.
	b.eval(root + `.querySelector('header .tool').click()`)
	b.wait("the prefilled form", root+`.querySelector('form.transcript input').value === 'ana@example.org'`)

	// A reply by email with a screenshot reaches the conversation's ticket.
	token := evalAs[string](b, `JSON.parse(localStorage.getItem('bulle:`+env.srv.URL+`')).token`)
	tk, err := desk.CreateTicket(ctx, escalation.NewTicket{ConversationToken: token, Lang: "fr", Topic: "bug",
		Email: "ana@example.org", Message: "Voici"})
	if err != nil {
		t.Fatal(err)
	}
	if err := desk.DeliverReply(ctx, escalation.InboundReply{TicketID: tk.ID, From: "ana@example.org", MessageID: "<r@x.example>",
		Text: "La capture", Attachments: []escalation.InboundAttachment{{Name: "capture.png", Data: screenshotPNG}}}); err != nil {
		t.Fatal(err)
	}
	b.do("reload", chromedp.Reload())
	b.wait("the file button", root+` && `+root+`.querySelector('.files button[data-attachment-id]')`)
	b.eval(`(() => { window.__blobs = []; const make = URL.createObjectURL; URL.createObjectURL = (x) => { window.__blobs.push(x.size + ' ' + x.type); return make(x); }; })()`)
	b.eval(root + `.querySelector('.files button').click()`)
	b.wait("the download", `window.__blobs.length === 1`)
	if got := evalAs[string](b, `window.__blobs[0]`); got != itoa(int64(len(screenshotPNG)))+" image/png" {
		t.Errorf("downloaded blob %q, want the screenshot", got)
	}
	if notes := evalAs[string](b, root+`.querySelector('.note.error') ? `+root+`.querySelector('.note.error').textContent : ''`); strings.TrimSpace(notes) != "" {
		t.Errorf("error note: %q", notes)
	}
}
