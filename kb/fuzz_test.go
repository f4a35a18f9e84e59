package kb

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

// liveMarkup finds markup that would run or load something in a help-center
// page: a script or a frame, an inline event handler, a javascript: or
// data: link. Escaped text (&lt;script…) never matches.
var liveMarkup = regexp.MustCompile(`(?i)<(script|iframe|object|embed|svg|style)\b|<[^>]*\son[a-z]+\s*=|(href|src)\s*=\s*"\s*(javascript|data|vbscript):`)

// FuzzLoadFile feeds any bytes to the article loader, as an editor's file
// would reach it, and renders what it accepts. Each input either becomes
// an article or is refused with an error-level problem; nothing panics,
// and no rendered page carries live markup.
func FuzzLoadFile(f *testing.F) {
	for _, dir := range []string{"testdata/frontmatter", "testdata/broken"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.md"))
		for _, p := range files {
			src, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
		}
	}
	f.Add([]byte("---\ntitle: <script>alert(1)</script>\n---\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>\n"))
	f.Add([]byte("+++\ntitle = \"t\"\n+++\n{{< ref \"x\" >}} ![a](data:text/html,<script>) <svg onload=alert(1)>"))
	opt := LoadOptions{Langs: []string{"en", "fr"}, DefaultLang: "en"}
	f.Fuzz(func(t *testing.T, src []byte) {
		fsys := fstest.MapFS{"en/a/page.md": {Data: src}}
		a, problems := LoadFile(fsys, "en/a/page.md", opt)
		if a == nil {
			for _, p := range problems {
				if p.Severity == Error {
					return
				}
			}
			t.Fatalf("refused without an error-level problem: %v", problems)
		}
		html, err := Render(a)
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		if m := liveMarkup.FindString(string(html)); m != "" {
			t.Fatalf("rendered page has live markup %q:\n%s", m, html)
		}
		if strings.ContainsAny(a.Title, "\x00") {
			t.Fatalf("title keeps a NUL: %q", a.Title)
		}
	})
}
