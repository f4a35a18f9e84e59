package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testArticles are a small help center: one article in both languages, one
// in English only and one in French only.
var testArticles = map[string]string{
	"en/account/reset-password.md": `---
title: Reset your password
description: Get back into your account when you forgot your password.
tags: [password, login]
---
You can reset your password yourself.

## Forgotten password

Click **Forgot password** on the sign-in page and follow the link we email you.
`,
	"fr/account/reset-password.md": `---
title: Réinitialiser votre mot de passe
description: Retrouver l'accès à votre compte.
tags: [mot de passe]
---
Vous pouvez réinitialiser votre mot de passe vous-même.

## Mot de passe oublié

Cliquez sur **Mot de passe oublié** sur la page de connexion.
`,
	"en/contact/business-hours.md": `---
title: Business hours
---
Our team answers chats from Monday to Friday, 9:00 to 18:00.

## Public holidays

We are closed on public holidays.
`,
	"fr/billing/invoice.md": `---
title: Comprendre votre facture
---
La facture détaille chaque ligne de votre abonnement.
`,
}

// writeArticles writes files under a new temp folder and returns it.
func writeArticles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// noEnv is an empty environment, so the machine's BULLE_* do not leak in.
func noEnv(string) string { return "" }

// env returns a getenv that reads from m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// mustRunMain runs the whole server on a temp data folder, the test
// articles and a free port, and closes it when the test ends.
func mustRunMain(t *testing.T, wrap func(http.Handler) http.Handler) *Main {
	t.Helper()
	m := NewMain()
	m.Config.Addr = "127.0.0.1:0"
	m.Config.DataDir = filepath.Join(t.TempDir(), "data")
	m.Config.ArticlesDir = writeArticles(t, testArticles)
	m.Getenv = noEnv
	m.Stderr = t.Output()
	m.wrapHandler = wrap
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

func TestServe(t *testing.T) {
	m := mustRunMain(t, nil)
	tests := []struct {
		name        string
		method      string
		url         string
		accept      string
		wantStatus  int
		wantType    string
		wantContent []string
	}{
		{"health reports articles", "GET", "/healthz", "", 200, "application/json",
			[]string{`"status":"ok"`, `"articles":4`}},
		{"english help center", "GET", "/en/", "", 200, "text/html",
			[]string{"Reset your password", "Business hours"}},
		{"french help center", "GET", "/fr/", "", 200, "text/html",
			[]string{"Réinitialiser votre mot de passe"}},
		{"unknown page", "GET", "/en/no/such/page", "", 404, "text/html", nil},
		{"error as JSON", "DELETE", "/healthz", "application/json", 405, "application/json",
			[]string{`{"error":"Method Not Allowed"}`}},
		{"error as HTML", "DELETE", "/healthz", "text/html", 405, "text/html",
			[]string{"<h1>Method Not Allowed</h1>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, m.URL()+tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status: got %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, tt.wantType) {
				t.Errorf("content type: got %q, want %q", got, tt.wantType)
			}
			for _, want := range tt.wantContent {
				if !bytes.Contains(body, []byte(want)) {
					t.Errorf("body: got %s, want it to contain %q", body, want)
				}
			}
			// The help-center pages set their own, stricter CSP.
			if got := resp.Header.Get("Content-Security-Policy"); got == "" {
				t.Error("Content-Security-Policy: got none, want one")
			}
			for h, want := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"X-Frame-Options":        "SAMEORIGIN",
			} {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s: got %q, want %q", h, got, want)
				}
			}
		})
	}
}

func TestServeCreatesDataFolder(t *testing.T) {
	m := mustRunMain(t, nil)
	for _, name := range []string{"bulle.db", "index"} {
		if _, err := os.Stat(filepath.Join(m.Config.DataDir, name)); err != nil {
			t.Errorf("data folder: got %v, want %s", err, name)
		}
	}
}

// TestCloseIsGraceful holds a request open the way a WebSocket does, until
// its context ends, and checks that Close ends it, lets it answer, and
// only then returns.
func TestCloseIsGraceful(t *testing.T) {
	entered := make(chan struct{})
	m := mustRunMain(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/hold" {
				next.ServeHTTP(w, r)
				return
			}
			close(entered)
			<-r.Context().Done() // Close cancels the server's base context
			io.WriteString(w, "finished")
		})
	})
	type result struct {
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(m.URL() + "/hold")
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- result{string(b), err}
	}()
	<-entered
	if err := m.Close(); err != nil {
		t.Fatalf("close: got %v, want nil", err)
	}
	r := <-done
	if r.err != nil || r.body != "finished" {
		t.Errorf("in-flight request: got %q, %v; want %q", r.body, r.err, "finished")
	}
	if err := m.Close(); err != nil {
		t.Errorf("second close: got %v, want nil", err)
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	m := NewMain()
	m.Config.Addr = "nowhere"
	m.Stderr = t.Output()
	err := m.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "addr") {
		t.Fatalf("got %v, want an addr error", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("close after failed run: got %v, want nil", err)
	}
}

func TestRunDispatch(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"help", []string{"help"}, 0, ""},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"unknown flag", []string{"check", "--nope"}, 2, "flag provided but not defined"},
		{"search without question", []string{"search"}, 2, "search needs a question"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := exitCode(run(context.Background(), tt.args, noEnv, &stdout, &stderr), &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code: got %d, want %d; stderr %s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr: got %q, want it to contain %q", stderr.String(), tt.wantErr)
			}
			if strings.Count(stderr.String(), "bulle:") > 1 {
				t.Errorf("stderr: got %q, want one error line", stderr.String())
			}
		})
	}
}

// decodeJSON is a test helper for JSON bodies and outputs.
func decodeJSON(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
}
