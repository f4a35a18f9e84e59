package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/bulle-help/bulle/escalation"
)

// TestLogsAtInfoCarryNoBodiesEmailsQueriesOrTokens runs the whole program
// with its own logger at info, as operators run it, and drives every flow
// that carries what a visitor typed: a bubble message (with an address in
// it), the bubble's email form, a transcript, the contact form, a "My
// requests" sign-in with its link, and a help-center search. The log
// holds a line per request and per event, and none of the bodies,
// addresses, search words or the sign-in token.
func TestLogsAtInfoCarryNoBodiesEmailsQueriesOrTokens(t *testing.T) {
	const (
		body        = "Zanzibar7731Quokka"           // in every message a visitor writes
		bubbleEmail = "quokka.owner7731@example.net" // typed in the bubble and its forms
		formEmail   = "marmoset.keeper4408@example.org"
		searchWords = "marmalade9182 hovercraft"
	)
	logs := &logBuffer{}
	m := runMailMain(t, func(m *Main) {
		m.Config.Widget.AllowedOrigins = []string{"https://shop.example"}
		m.Config.Log.Level, m.Config.Log.Format = "info", "text"
		m.Stderr = logs // Run builds the logger from Config.Log on Stderr
	})
	ctx := context.Background()

	// The bubble: a question with an address in it, the email form, a transcript.
	v, _ := bubble(t, m, map[string]any{"lang": "en"})
	until := func(what string, done func(frame) bool) {
		t.Helper()
		for f := v.next(); !done(f); f = v.next() {
			if f.Type == "error" {
				t.Fatalf("%s: got %+v", what, f)
			}
		}
	}
	v.send(map[string]any{"type": "message", "client_id": "c1",
		"text": "My order " + body + " never arrived, write to " + bubbleEmail})
	until("the bot's reply", func(f frame) bool { return f.Role == "bot" })
	v.send(map[string]any{"type": "ticket", "client_id": "t1", "topic": "billing", "email": bubbleEmail,
		"name": "Ana", "text": "Still waiting for " + body})
	until("the ticket", func(f frame) bool { return f.Kind == escalation.KindTicketCreated })
	v.send(map[string]any{"type": "transcript", "client_id": "tr1", "email": bubbleEmail})
	until("the transcript", func(f frame) bool { return f.Kind == escalation.KindTranscriptSent })

	// The contact form.
	if code, page := newContactClient(t, m).post(map[string]string{"topic": "bug", "email": formEmail,
		"message": "The app crashes on " + body}, nil, nil); code != http.StatusOK {
		t.Fatalf("contact form: got %d %s", code, page)
	}

	// "My requests": ask for a link, then follow it.
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	res, err := hc.PostForm(m.URL()+"/requests?lang=en", url.Values{"csrf": {pageCSRF(t, hc, m.URL()+"/requests?lang=en")}, "email": {formEmail}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	mails, err := m.store.OutboxMails(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var token string
	for _, mail := range mails {
		if l := regexp.MustCompile(`/requests/login\?t=(\S+)`).FindStringSubmatch(mail.Text); mail.Kind == "magic_link" && l != nil {
			token = l[1]
		}
	}
	if token == "" {
		t.Fatal("no sign-in link in the outbox")
	}
	res, err = hc.PostForm(m.URL()+"/requests/login", url.Values{"csrf": {pageCSRF(t, hc, m.URL()+"/requests/login?t="+token)}, "t": {token}})
	if err != nil {
		t.Fatal(err)
	}
	list, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(list), body) {
		t.Fatalf("My requests: got %d, want the signed-in list with the ticket:\n%s", res.StatusCode, list)
	}

	// A help-center search.
	if code, _, _ := get(t, m.URL()+"/en/search?q="+url.QueryEscape(searchWords)); code != http.StatusOK {
		t.Fatalf("search page: got %d, want 200", code)
	}

	log := logs.String()
	for _, want := range []string{
		`msg=request method=GET path=/widget/ws status=101`, `msg=request method=POST path=/contact status=200`,
		`msg=request method=POST path=/requests status=`, `msg=request method=POST path=/requests/login status=`,
		`msg=request method=GET path=/en/search status=200`,
		`msg="bot reply"`, `msg="ticket opened"`, `msg="transcript queued"`, `msg="requests session opened"`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log: got no %q; the log the test reads is not the program's:\n%s", want, log)
		}
	}
	lower := strings.ToLower(log)
	for what, secret := range map[string]string{
		"a message body": body, "the bubble's address": bubbleEmail, "the form's address": formEmail,
		"the search words": "marmalade9182", "the sign-in token": token,
	} {
		if strings.Contains(lower, strings.ToLower(secret)) {
			t.Errorf("log at info holds %s (%q):\n%s", what, secret, log)
		}
	}
}
