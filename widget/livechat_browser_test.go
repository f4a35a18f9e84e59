package widget

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
	"github.com/chromedp/chromedp"
)

// TestBrowserLiveChat drives the bubble through a live chat in Chromium:
// the queue bar, the agent's arrival, typing and messages under their
// name, and the rating after the close. The test plays the agent through
// the store and the hub, as the console will.
func TestBrowserLiveChat(t *testing.T) {
	b := openBrowser(t)
	ctx := context.Background()
	store := openStore(t)
	hub := escalation.NewHub(escalation.HubOptions{})
	base := openBase(t, writeArticles(t, testArticles))
	env := newEnvOn(t, base, bot.New(base, chatOpen{}, bot.DefaultConfig()), store, func(o *Options) {
		o.LiveChat, o.Agents, o.Hub = store, online(1), hub
	})
	ana, _, err := store.AddAgent(ctx, "ana@team.example", "Ana")
	if err != nil {
		t.Fatal(err)
	}

	b.do("open the demo page", chromedp.Navigate(env.srv.URL+"/demo"))
	b.wait("the bubble", `document.querySelector('[data-bulle]') && `+root+`.querySelector('.bubble')`)
	b.openPanel()
	b.ask("je veux parler à un conseiller")
	b.wait("the hand-off", root+`.querySelector('.msg.bot button[data-channel=chat]')`)
	b.eval(root + `.querySelector('.msg.bot button[data-channel=chat]').click()`)
	b.wait("the queue bar", `!`+root+`.querySelector('.queue').hidden`)
	if got := evalAs[string](b, root+`.querySelector('.queue span').textContent`); got != "Vous êtes n° 1 dans la file, attente estimée : 2 min" {
		t.Errorf("queue bar: got %q, want the place and the wait", got)
	}
	token := evalAs[string](b, `JSON.parse(localStorage.getItem('bulle:`+env.srv.URL+`')).token`)
	conv, err := store.ConversationByToken(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	chat, err := store.ChatOf(ctx, conv.ID)
	if err != nil || chat.PageURL != env.srv.URL+"/demo" {
		t.Errorf("chat: got %+v, %v; want the demo page", chat, err)
	}

	// Ana claims it: the bar goes, her arrival shows.
	console := hub.Subscribe(conv.ID)
	defer console.Close()
	claim, err := store.ClaimChat(ctx, conv.ID, ana.ID)
	if err != nil {
		t.Fatal(err)
	}
	hub.PublishChange(claim)
	b.wait("the claim note, and no queue bar", root+`.querySelector('.msg.system[data-kind=chat_claimed]') && `+root+`.querySelector('.queue').hidden`)

	// She types, then writes: dots, then her message under her name.
	hub.PublishTyping(conv.ID, escalation.RoleAgent, true)
	b.wait("the typing dots", root+`.querySelector('.typing')`)
	// The dots are for the eyes; a screen reader hears it once.
	if said := evalAs[string](b, root+`.querySelector('.panel > [aria-live=polite]').lastChild.textContent`); said != "Ana écrit…" {
		t.Errorf("typing, said: got %q, want Ana écrit…", said)
	}
	if _, _, err := store.AppendAgentMessage(ctx, ana.ID, escalation.NewMessage{ConversationID: conv.ID, Body: "Bonjour, je suis là."}); err != nil {
		t.Fatal(err)
	}
	hub.Publish(conv.ID)
	b.wait("her message, and no dots", root+`.querySelector('.msg.agent .who') && !`+root+`.querySelector('.typing')`)
	if got := evalAs[[]string](b, `(() => { const m = `+root+`.querySelector('.msg.agent:not(.typing)'); return [m.querySelector('.who').textContent, m.querySelector('.text').textContent]; })()`); got[0] != "Ana" || got[1] != "Bonjour, je suis là." {
		t.Errorf("agent message: got %q, want Ana's words under her name", got)
	}

	// With the panel closed, a new message from Ana shows on the launcher.
	b.eval(`Bulle.close()`)
	if _, _, err := store.AppendAgentMessage(ctx, ana.ID, escalation.NewMessage{ConversationID: conv.ID, Body: "Vous êtes là ?"}); err != nil {
		t.Fatal(err)
	}
	hub.Publish(conv.ID)
	b.wait("the unread badge", root+`.querySelector('.badge').textContent === '1' && `+
		root+`.querySelector('.bubble').getAttribute('aria-label') === "Ouvrir l'assistant : nouveaux messages"`)
	// The next page loads the panel at once, closed, to keep the chat
	// going; opening it clears the badge.
	b.do("reload", chromedp.Reload())
	b.wait("the panel loaded, closed, during a chat", root+` && `+root+`.querySelector('.panel') && `+root+`.querySelector('.panel').hidden && `+
		`performance.getEntriesByType('resource').some(r => r.name.includes('/widget/panel.'))`)
	b.openPanel()
	b.wait("no badge", root+`.querySelector('.badge').textContent === '' && `+root+`.querySelectorAll('.msg.agent:not(.typing)').length === 2`)

	// The visitor types: the console hears it.
	for len(console.C()) > 0 {
		<-console.C()
	}
	b.eval(`(() => { const t = ` + root + `.querySelector('textarea'); t.value = 'Je'; t.dispatchEvent(new Event('input')); })()`)
	select {
	case ev := <-console.C():
		if ev.Kind != escalation.EventTyping || ev.Role != escalation.RoleVisitor || !ev.On {
			t.Errorf("console: got %+v, want the visitor typing", ev)
		}
	case <-time.After(5 * time.Second):
		t.Error("console: got nothing, want the visitor typing")
	}

	// Ana closes: the bubble asks for a rating, next to the transcript.
	closed, err := store.CloseChat(ctx, conv.ID, ana.ID)
	if err != nil {
		t.Fatal(err)
	}
	hub.PublishChange(closed)
	b.wait("the rating box", root+`.querySelector('.msg.system[data-kind=chat_closed] form.rate')`)
	if got := evalAs[int](b, root+`.querySelectorAll('form.rate .stars button').length`); got != 5 {
		t.Errorf("stars: got %d, want 5", got)
	}
	b.eval(root + `.querySelector('form.rate .stars button[data-rating="4"]').click()`)
	b.eval(root + `.querySelector('form.rate .send').click()`)
	b.wait("the thanks, and no rating box", root+`.querySelector('.msg.system[data-kind=chat_rated]') && !`+root+`.querySelector('form.rate')`)
	if chat, err := store.ChatOf(ctx, conv.ID); err != nil || chat.Rating != 4 {
		t.Errorf("stored rating: got %+v, %v; want 4", chat, err)
	}
}

// TestBrowserChatNotOpenOffersTheTicketForm: with nobody online, picking
// chat ends in the ticket form, on the same conversation.
func TestBrowserChatNotOpenOffersTheTicketForm(t *testing.T) {
	b := openBrowser(t)
	store := openStore(t)
	tokens, err := escalation.NewReplyTokens(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	desk, err := escalation.NewDesk(store, escalation.DeskOptions{From: "no-reply@help.example", ReplyDomain: "help.example", Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	base := openBase(t, writeArticles(t, testArticles))
	env := newEnvOn(t, base, bot.New(base, chatOpen{}, bot.DefaultConfig()), store, func(o *Options) {
		o.LiveChat, o.Tickets = store, desk // and no Agents: nobody online
	})

	b.do("open the demo page", chromedp.Navigate(env.srv.URL+"/demo"))
	b.wait("the bubble", `document.querySelector('[data-bulle]') && `+root+`.querySelector('.bubble')`)
	b.openPanel()
	b.ask("je veux parler à un conseiller")
	b.wait("the hand-off", root+`.querySelector('.msg.bot button[data-channel=chat]')`)
	b.eval(root + `.querySelector('.msg.bot button[data-channel=chat]').click()`)
	b.wait("the ticket form under the note", root+`.querySelector('.msg.system[data-kind=chat_unavailable] form.ticket')`)
	if got := evalAs[string](b, root+`.querySelector('.msg.system[data-kind=chat_unavailable]').firstChild.textContent`); !strings.HasPrefix(got, "Personne n'est disponible") {
		t.Errorf("note: got %q, want nobody available", got)
	}
	b.eval(`(() => { const f = ` + root + `.querySelector('form.ticket'); f.querySelector('[name=email]').value = 'ana@example.org'; f.querySelector('.send').click(); })()`)
	b.wait("the ticket, and the form gone", root+`.querySelector('.msg.system[data-kind=ticket_created]') && !`+root+`.querySelector('form.ticket')`)
	if n := evalAs[int](b, root+`.querySelectorAll('.msg[data-kind=person_request]').length`); n != 1 {
		t.Errorf("requests: got %d, want 1", n)
	}
}
