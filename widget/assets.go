package widget

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// The bubble is two scripts and one strings file per language:
//
//   - the loader (static/loader.js with static/loader.css inside it),
//     served at /widget.js: reads its script tag, draws the launcher and
//     defines window.Bulle; about 2.8 KB gzipped, on every page of the
//     sites that embed it.
//   - the panel (static/panel.js with static/panel.css inside it), served
//     at /widget/panel.<hash>.js: the conversation, fetched on the first
//     open.
//   - i18n/<lang>.json, served as /widget/i18n/<lang>.<hash>.js: every word
//     of the bubble in one language, fetched with the panel. Adding a
//     language is adding a file: the loader learns of it at start.
//
// The scripts are served minified from static/min/, which `go generate
// ./widget` writes with esbuild (assets_min_test.go) and which is
// committed: esbuild's Go API would add some 9 MB to the binary for 15 ms
// of work, and no Node.js is needed either way. A test fails when
// static/min/ is older than the sources. At start the server only fills
// in the URLs of this build and hashes and gzips each file once. The
// hashed URLs never change content, so browsers keep them for good; only
// the loader, at a fixed URL, is revalidated.
//
//go:generate go test -run ^TestBubbleMinified$ -update .

//go:embed i18n/*.json
var i18nFS embed.FS

// Placeholders the build replaces in the sources.
const (
	buildPlaceholder = "__BULLE_BUILD__" // loader.js: the URLs and the launcher's words, at start
	cssPlaceholder   = "__BULLE_CSS__"   // <name>.js: <name>.css, as a JavaScript string, by go generate
)

// baseLang is the language every other strings file is completed from.
const baseLang = "en"

// launcherWords are the strings the loader carries for every language, to
// label the launcher before any strings file is loaded.
var launcherWords = []string{"open", "close", "unread"}

// langFile is what an i18n file may be named: a two-letter code, as the
// loader matches a page's language by its first two letters.
var langFile = regexp.MustCompile(`^[a-z]{2}\.json$`)

// bubble is the built bubble: each file as served, by URL path.
type bubble struct {
	loader asset            // /widget.js
	panel  asset            // /widget/panel.<hash>.js
	langs  map[string]asset // by language, /widget/i18n/<lang>.<hash>.js
}

// builtBubble builds the bubble once per process. It depends only on the
// embedded files, so it is computed once and never changes after: like the
// templates, it is immutable package state.
var builtBubble = sync.OnceValues(func() (*bubble, error) {
	return buildBubble(staticFS, i18nFS)
})

// buildBubble serves the minified scripts of src (static/min/) with the
// strings of i18n (i18n/*.json).
func buildBubble(src, i18n fs.FS) (*bubble, error) {
	b := &bubble{langs: map[string]asset{}}
	words, err := readStrings(i18n)
	if err != nil {
		return nil, err
	}
	type launcher struct {
		URL    string `json:"url"`
		Open   string `json:"open"`
		Close  string `json:"close"`
		Unread string `json:"unread"`
	}
	build := struct {
		Panel string              `json:"panel"`
		Langs map[string]launcher `json:"langs"`
	}{Langs: map[string]launcher{}}
	for lang, s := range words {
		js, err := json.Marshal(s) // escapes <, > and &, and U+2028/2029
		if err != nil {
			return nil, err
		}
		code := "window.Bulle&&Bulle._s(" + jsonString(lang) + "," + string(js) + ");"
		a := newHashedAsset("/widget/i18n/"+lang+".js", []byte(code))
		b.langs[lang] = a
		build.Langs[lang] = launcher{URL: a.path, Open: s["open"], Close: s["close"], Unread: s["unread"]}
	}

	panel, err := fs.ReadFile(src, "static/min/panel.js")
	if err != nil {
		return nil, err
	}
	b.panel = newHashedAsset("/widget/panel.js", panel)
	build.Panel = b.panel.path

	conf, err := json.Marshal(build)
	if err != nil {
		return nil, err
	}
	loader, err := fs.ReadFile(src, "static/min/loader.js")
	if err != nil {
		return nil, err
	}
	if loader, err = replaceOnce(loader, buildPlaceholder, string(conf)); err != nil {
		return nil, fmt.Errorf("widget: static/min/loader.js: %w", err)
	}
	b.loader = newAsset("/widget.js", loader)
	return b, nil
}

// readStrings reads every language's strings. A key missing from a
// language is taken from English (the tests require none is missing); a
// key English does not have is an error, as it is a typo.
func readStrings(words fs.FS) (map[string]map[string]string, error) {
	names, err := fs.Glob(words, "i18n/*.json")
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]string{}
	for _, name := range names {
		base := path.Base(name)
		if !langFile.MatchString(base) {
			return nil, fmt.Errorf("widget: %s: want a two-letter language code such as fr.json", name)
		}
		data, err := fs.ReadFile(words, name)
		if err != nil {
			return nil, err
		}
		var s map[string]string
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, fmt.Errorf("widget: %s: %w", name, err)
		}
		out[strings.TrimSuffix(base, ".json")] = s
	}
	en, ok := out[baseLang]
	if !ok {
		return nil, fmt.Errorf("widget: i18n/%s.json is missing", baseLang)
	}
	for lang, s := range out {
		for k := range s {
			if _, ok := en[k]; !ok {
				return nil, fmt.Errorf("widget: i18n/%s.json: unknown key %q", lang, k)
			}
		}
		for k, v := range en {
			if _, ok := s[k]; !ok {
				s[k] = v
			}
		}
	}
	for _, k := range launcherWords {
		if en[k] == "" {
			return nil, fmt.Errorf("widget: i18n/%s.json: %q is empty", baseLang, k)
		}
	}
	return out, nil
}

// replaceOnce replaces the one placeholder of src.
func replaceOnce(src []byte, placeholder, with string) ([]byte, error) {
	if n := bytes.Count(src, []byte(placeholder)); n != 1 {
		return nil, fmt.Errorf("%s appears %d times, want once", placeholder, n)
	}
	return bytes.Replace(src, []byte(placeholder), []byte(with), 1), nil
}

// jsonString quotes s as a JSON (hence JavaScript) string literal.
func jsonString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// asset is a file as served: its bytes, gzipped once, and the checksum its
// ETag is made from. A hashed asset's path holds a part of the checksum
// (/widget/panel.3f9c0d1e2a.js), so its content never changes; plain is
// its name without the hash.
type asset struct {
	path, plain string
	data, gz    []byte
	sum         string
}

func newAsset(p string, data []byte) asset {
	s := sha256.Sum256(data)
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level: no error
	zw.Write(data)
	zw.Close()
	return asset{path: p, plain: p, data: data, gz: buf.Bytes(), sum: hex.EncodeToString(s[:16])}
}

// newHashedAsset serves data at p with a part of its checksum before the
// extension.
func newHashedAsset(p string, data []byte) asset {
	a := newAsset(p, data)
	ext := path.Ext(p)
	a.path = strings.TrimSuffix(p, ext) + "." + a.sum[:10] + ext
	return a
}

// etag is the asset's ETag for the encoding sent.
func (a asset) etag(gz bool) string {
	if gz {
		return `"` + a.sum + `-gz"`
	}
	return `"` + a.sum + `"`
}

// hashedName is a bubble file's name with a hash, or without.
var hashedName = regexp.MustCompile(`^(.*/[a-z]+)(?:\.[0-9a-f]{10})?\.js$`)

// lookup finds the panel or a strings file by path. The current hashed
// path is immutable; the plain name (/widget/panel.js) and the hash of
// another build get the current file too, not to be kept: a loader cached
// before a deployment still gets a working panel.
func (b *bubble) lookup(p string) (a asset, immutable, ok bool) {
	files := append([]asset{b.panel}, slices.Collect(maps.Values(b.langs))...)
	for _, a := range files {
		if p == a.path {
			return a, true, true
		}
	}
	m := hashedName.FindStringSubmatch(p)
	if m == nil {
		return asset{}, false, false
	}
	for _, a := range files {
		if a.plain == m[1]+".js" {
			return a, false, true
		}
	}
	return asset{}, false, false
}
