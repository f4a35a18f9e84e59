package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bulle-help/bulle/escalation"
)

// hostileMarker is a word every hostile article holds, to find them all.
const hostileMarker = "zyxhostile"

// hostileArticles puts each payload in an English article: its title, its
// description and a tag, and its body in the places markdown treats apart
// (a paragraph, a heading, a list, a table, a quote, a link's text, code).
func hostileArticles(payloads []string) map[string]string {
	files := map[string]string{}
	for k, v := range testArticles {
		files[k] = v
	}
	for i, p := range payloads {
		q, _ := json.Marshal(p) // a JSON string is a YAML double-quoted scalar
		files[fmt.Sprintf("en/hostile/p%02d.md", i)] = fmt.Sprintf(`---
title: %[1]s
description: %[1]s
tags: [%[1]s, %[3]s]
---
%[2]s %[3]s %[4]d

## %[2]s

- %[2]s
- [%[2]s](https://example.com/)

| %[3]s | %[2]s |
|---|:-:|
| %[2]s | x |

> %[2]s

%[2]s

`+"`%[2]s`"+`
`, q, p, hostileMarker, i)
	}
	return files
}

// runHostileMain runs the whole server on the test articles and the
// hostile ones, with chat open around the clock to any queue and the bubble
// allowed on shop.example; change adjusts it first.
func runHostileMain(t testing.TB, payloads []string, change func(m *Main)) *Main {
	t.Helper()
	m := NewMain()
	m.Config.Addr = "127.0.0.1:0"
	m.Config.DataDir = filepath.Join(t.TempDir(), "data")
	m.Config.ArticlesDir = writeArticles(t, hostileArticles(payloads))
	m.Config.Widget.AllowedOrigins = []string{"https://shop.example"}
	const allDay = "00:00-24:00"
	m.Config.Hours.ChannelHours = escalation.ChannelHours{Monday: allDay, Tuesday: allDay, Wednesday: allDay,
		Thursday: allDay, Friday: allDay, Saturday: allDay, Sunday: allDay}
	m.Config.Chat.MaxWait = 24 * time.Hour // every visitor queues, however long the queue
	m.Getenv = noEnv
	m.Stderr = t.Output()
	if change != nil {
		change(m)
	}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return m
}

// TestHostilePayloadsFile checks the payloads file keeps its promises:
// enough payloads, of every kind the issue names, each short enough for
// every field and free of control characters.
func TestHostilePayloadsFile(t *testing.T) {
	payloads := loadPayloads(t)
	if len(payloads) < 30 {
		t.Errorf("got %d payloads, want at least 30", len(payloads))
	}
	seen := map[string]bool{}
	for _, p := range payloads {
		if seen[p] {
			t.Errorf("%q: twice", p)
		}
		seen[p] = true
		if n := utf8.RuneCountInString(p); n > maxPayloadRunes || !utf8.ValidString(p) || strings.TrimSpace(p) != p {
			t.Errorf("%q: %d characters; want valid UTF-8, at most %d, no space around", p, n, maxPayloadRunes)
		}
		if strings.IndexFunc(p, unicode.IsControl) >= 0 {
			t.Errorf("%q: holds a control character", p)
		}
	}
	all := strings.Join(payloads, "\n")
	for _, kind := range []string{"<script>", "onerror=", "onload=", "javascript:", "data:text/html", "<svg", "](javascript:",
		"\u202e", "＜script＞", "{{", "expression(", "srcdoc=", "<iframe", "\"><", "'>", "<math>", "+ADw-", "&lt;"} {
		if !strings.Contains(all, kind) {
			t.Errorf("no payload holds %q", kind)
		}
	}
}

// TestHostileHelpCenterPagesStayInert serves articles with a payload in
// their title, description, tags and body, and checks every help-center
// page that shows them (home, article, the French notice for an English
// article, search hits), the search page given each payload as its query,
// and error pages whose address holds one: nothing a payload wrote runs,
// loads or redirects, and titles and descriptions read as written.
func TestHostileHelpCenterPagesStayInert(t *testing.T) {
	payloads := loadPayloads(t)
	m := runHostileMain(t, payloads, nil)
	get := func(path string) (int, string) {
		t.Helper()
		status, _, body := get(t, m.URL()+path)
		return status, body
	}
	if status, home := get("/en/"); status != 200 {
		t.Fatalf("home: %d", status)
	} else {
		inert(t, "home", home, kbPage)
		text := shownText(home)
		for _, p := range payloads {
			if !strings.Contains(text, p) {
				t.Errorf("home: want the title %q shown as written", p)
			}
		}
	}
	for i, p := range payloads {
		path := fmt.Sprintf("/en/hostile/p%02d", i)
		status, page := get(path)
		if status != 200 {
			t.Errorf("%s: %d", path, status)
			continue
		}
		inert(t, path, page, kbPage)
		if n := strings.Count(shownText(page), p); n < 3 { // <title>, <h1>, the description
			t.Errorf("%s: %q shown %d times as written, want at least 3", path, p, n)
		}
		status, notice := get(fmt.Sprintf("/fr/hostile/p%02d", i))
		if status != 200 || !strings.Contains(shownText(notice), p) {
			t.Errorf("the French notice for %s: %d, want the English title shown", path, status)
		}
		inert(t, "the French notice for "+path, notice, kbPage)

		q := url.Values{"q": {p}}.Encode()
		for _, lang := range []string{"en", "fr"} {
			status, page = get("/" + lang + "/search?" + q)
			if status != 200 || !strings.Contains(shownText(page), p) {
				t.Errorf("search %q in %s: %d, want the query shown as written", p, lang, status)
			}
			inert(t, "search "+p, page, kbPage)
		}
		for _, bad := range []string{"/en/" + url.PathEscape(p), "/en/hostile/" + url.PathEscape(p), "/" + url.PathEscape(p) + "/"} {
			status, page = get(bad)
			if status != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", bad, status)
			}
			inert(t, bad, page, kbPage)
		}
	}
	status, hits := get("/en/search?q=" + hostileMarker)
	if status != 200 || strings.Count(hits, `href="/en/hostile/p`) < 5 {
		t.Fatalf("search for the hostile articles: %d, want hits:\n%s", status, hits)
	}
	inert(t, "search hits", hits, kbPage)
}
