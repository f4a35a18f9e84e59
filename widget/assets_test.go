package widget

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// bubbleBudget is the most the bubble may weigh, gzipped: the loader, the
// panel with its CSS, and the largest language's strings, which is all a
// visitor downloads (issue 14: at most 20 KB; Chatwoot's is 170 KiB).
const bubbleBudget = 20 << 10

// TestBubbleSize fails when the bubble grows past the budget, and logs
// what each part weighs (docs/benchmarks.md, "Bubble").
func TestBubbleSize(t *testing.T) {
	b, err := builtBubble()
	if err != nil {
		t.Fatal(err)
	}
	largest, largestLang := 0, ""
	for lang, a := range b.langs {
		if len(a.gz) > largest {
			largest, largestLang = len(a.gz), lang
		}
	}
	total := len(b.loader.gz) + len(b.panel.gz) + largest
	t.Logf("loader %d B raw, %d B gzip; panel (JS+CSS) %d B raw, %d B gzip; strings (%s) %d B gzip; total %d B gzip of %d",
		len(b.loader.data), len(b.loader.gz), len(b.panel.data), len(b.panel.gz), largestLang, largest, total, bubbleBudget)
	if total > bubbleBudget {
		t.Errorf("the bubble weighs %d B gzipped (loader %d + panel %d + strings %d), want at most %d",
			total, len(b.loader.gz), len(b.panel.gz), largest, bubbleBudget)
	}
	// The loader is on every page of every site that embeds the bubble.
	if len(b.loader.gz) > 3<<10 {
		t.Errorf("the loader weighs %d B gzipped, want at most 3 KiB", len(b.loader.gz))
	}
}

// TestStringsFilesAreComplete: every language has every key of English,
// no other, and keeps its {placeholders}.
func TestStringsFilesAreComplete(t *testing.T) {
	read := func(name string) map[string]string {
		data, err := fs.ReadFile(i18nFS, name)
		if err != nil {
			t.Fatal(err)
		}
		var s map[string]string
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return s
	}
	en := read("i18n/en.json")
	names, _ := fs.Glob(i18nFS, "i18n/*.json")
	if !slices.Contains(names, "i18n/fr.json") {
		t.Errorf("languages: got %v, want French too", names)
	}
	for _, name := range names {
		s := read(name)
		for _, k := range slices.Sorted(maps.Keys(en)) {
			v, ok := s[k]
			if !ok || strings.TrimSpace(v) == "" {
				t.Errorf("%s: %q is missing", name, k)
				continue
			}
			for _, ph := range []string{"{n}", "{w}", "{name}", "{when}", "{size}", "{total}"} {
				if strings.Contains(en[k], ph) != strings.Contains(v, ph) {
					t.Errorf("%s: %q: got %q, want the placeholders of %q", name, k, v, en[k])
				}
			}
		}
		for k := range s {
			if _, ok := en[k]; !ok {
				t.Errorf("%s: %q is not a key of en.json", name, k)
			}
		}
	}
}

// TestBubbleBuild: the placeholders are filled, the loader knows each
// language's strings file and the panel's hashed URL, and no file uses
// innerHTML.
func TestBubbleBuild(t *testing.T) {
	b, err := builtBubble()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range append([]asset{b.loader, b.panel}, slices.Collect(maps.Values(b.langs))...) {
		s := string(a.data)
		for _, bad := range []string{buildPlaceholder, cssPlaceholder, "innerHTML", "outerHTML", "insertAdjacentHTML", "eval("} {
			if strings.Contains(s, bad) {
				t.Errorf("%s: contains %q", a.path, bad)
			}
		}
	}
	loader := string(b.loader.data)
	for _, want := range []string{b.panel.path, b.langs["fr"].path, b.langs["en"].path, "Ouvrir l'assistant", "attachShadow", "/widget/ws"} {
		if !strings.Contains(loader, want) {
			t.Errorf("loader: want %q in it", want)
		}
	}
	if !strings.Contains(string(b.panel.data), ".panel{") {
		t.Error("panel: want its CSS in it")
	}
	tests := []struct {
		path          string
		want          string
		immutable, ok bool
	}{
		{b.panel.path, b.panel.path, true, true},
		{"/widget/panel.js", b.panel.path, false, true},
		{"/widget/panel.0123456789.js", b.panel.path, false, true},
		{b.langs["fr"].path, b.langs["fr"].path, true, true},
		{"/widget/i18n/fr.js", b.langs["fr"].path, false, true},
		{"/widget/i18n/xx.js", "", false, false},
		{"/widget/ws", "", false, false},
		{"/widget/panel.ABC.js", "", false, false},
	}
	for _, tt := range tests {
		a, immutable, ok := b.lookup(tt.path)
		if ok != tt.ok || immutable != tt.immutable || a.path != tt.want {
			t.Errorf("lookup(%q): got %q, immutable %v, ok %v; want %q, %v, %v", tt.path, a.path, immutable, ok, tt.want, tt.immutable, tt.ok)
		}
	}
}

// TestBubbleFilesAreServedAndCached: the loader revalidates, the panel
// and strings are immutable under their hashed URLs (current under their
// plain names), and all are gzipped for whoever takes it.
func TestBubbleFilesAreServedAndCached(t *testing.T) {
	env := newEnv(t, nil)
	bb, err := builtBubble()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, cache string
		want        []byte
	}{
		{"/widget.js", "public, max-age=300", bb.loader.data},
		{bb.panel.path, "public, max-age=31536000, immutable", bb.panel.data},
		{"/widget/panel.js", "no-cache", bb.panel.data},
		{bb.langs["fr"].path, "public, max-age=31536000, immutable", bb.langs["fr"].data},
		{"/widget/i18n/en.0123456789.js", "no-cache", bb.langs["en"].data},
	}
	for _, tt := range tests {
		for _, gz := range []bool{false, true} {
			req, _ := http.NewRequest("GET", env.srv.URL+tt.path, nil)
			req.Header.Set("Accept-Encoding", map[bool]string{true: "gzip, deflate, br", false: "identity"}[gz])
			resp, err := http.DefaultTransport.RoundTrip(req) // no transparent gunzip
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			enc := resp.Header.Get("Content-Encoding")
			if enc == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				body, _ = io.ReadAll(zr)
			}
			if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != tt.cache || (enc == "gzip") != gz || !bytes.Equal(body, tt.want) ||
				resp.Header.Get("Content-Type") != "application/javascript; charset=utf-8" {
				t.Errorf("%s (gzip %v): got %d, Cache-Control %q, Content-Encoding %q, %d bytes; want 200, %q, the file",
					tt.path, gz, resp.StatusCode, resp.Header.Get("Cache-Control"), enc, len(body), tt.cache)
				continue
			}
			req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
			again, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			again.Body.Close()
			if again.StatusCode != http.StatusNotModified {
				t.Errorf("%s (gzip %v) with its ETag: got %d, want 304", tt.path, gz, again.StatusCode)
			}
		}
	}
	for _, p := range []string{"/widget/i18n/xx.js", "/widget/nothing.css", "/widget/panel.js/x", "/widget/demo.html"} {
		resp, err := http.Get(env.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: got %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"": false, "gzip": true, "gzip, deflate, br": true, "br;q=1.0, gzip;q=0.8": true, "gzip;q=0": false,
		"identity": false, "*": true, "GZIP": true, "deflate, gzip ;q=0.000": false,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q): got %v, want %v", header, got, want)
		}
	}
}
