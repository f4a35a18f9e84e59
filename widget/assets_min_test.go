package widget

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evanw/esbuild/pkg/api"
)

// update rewrites static/min/ from the sources: go generate ./widget.
var update = flag.Bool("update", false, "rewrite widget/static/min/ from the bubble's sources")

// TestBubbleMinified checks that static/min/ is what esbuild makes of the
// sources today, and rewrites it with -update (go generate ./widget).
func TestBubbleMinified(t *testing.T) {
	for _, name := range []string{"loader", "panel"} {
		got, err := minifyScript("static", name)
		if err != nil {
			t.Fatal(err)
		}
		min := filepath.Join("static", "min", name+".js")
		if *update {
			if err := os.WriteFile(min, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if kept, err := os.ReadFile(min); err != nil || !bytes.Equal(kept, got) {
			t.Errorf("%s is older than static/%s.js or static/%s.css (%v): run go generate ./widget", min, name, name, err)
		}
	}
}

// minifyScript minifies dir/<name>.js with dir/<name>.css, minified, in
// place of its CSS placeholder. The build placeholder stays, for the
// server to fill in at start.
func minifyScript(dir, name string) ([]byte, error) {
	css, err := os.ReadFile(filepath.Join(dir, name+".css"))
	if err != nil {
		return nil, err
	}
	if css, err = minify(css, api.LoaderCSS); err != nil {
		return nil, fmt.Errorf("%s.css: %w", name, err)
	}
	js, err := os.ReadFile(filepath.Join(dir, name+".js"))
	if err != nil {
		return nil, err
	}
	if js, err = replaceOnce(js, cssPlaceholder, jsonString(strings.TrimSpace(string(css)))); err != nil {
		return nil, fmt.Errorf("%s.js: %w", name, err)
	}
	if js, err = minify(js, api.LoaderJS); err != nil {
		return nil, fmt.Errorf("%s.js: %w", name, err)
	}
	return js, nil
}

// minify runs esbuild on one file. The sources are plain ES5-era
// JavaScript and CSS; the engines bound the syntax the minifier may use to
// what browsers shipped two years ago and more.
func minify(src []byte, loader api.Loader) ([]byte, error) {
	r := api.Transform(string(src), api.TransformOptions{
		Loader:            loader,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		Charset:           api.CharsetUTF8,
		LegalComments:     api.LegalCommentsNone,
		Engines: []api.Engine{
			{Name: api.EngineChrome, Version: "109"},
			{Name: api.EngineFirefox, Version: "115"},
			{Name: api.EngineSafari, Version: "15.6"},
		},
	})
	if len(r.Errors) > 0 {
		msgs := api.FormatMessages(r.Errors, api.FormatMessagesOptions{Kind: api.ErrorMessage})
		return nil, fmt.Errorf("%s", strings.Join(msgs, "\n"))
	}
	return r.Code, nil
}
