package kbtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	Generate(t, "../../articles", a, 6)
	Generate(t, "../../articles", b, 6)
	for _, rel := range []string{"en/gen/a00000.md", "fr/gen/a00000.md", "en/gen/a00002.md", "fr/gen/a00002.md"} {
		x, err := os.ReadFile(filepath.Join(a, rel))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		y, _ := os.ReadFile(filepath.Join(b, rel))
		if string(x) != string(y) {
			t.Errorf("%s: got two different articles from the same source and count", rel)
		}
		if !strings.HasPrefix(string(x), "---\ntitle: ") || strings.Count(string(x), "\n## ") != 3 {
			t.Errorf("%s: got %q, want front matter and three sections", rel, x)
		}
	}
	if _, err := os.Stat(filepath.Join(a, "en/gen/a00003.md")); err == nil {
		t.Error("6 articles: got a fourth English one, want 3 per language")
	}
}

func TestBodyDropsFrontMatter(t *testing.T) {
	for in, want := range map[string]string{
		"---\ntitle: x\n---\nHello":    "Hello",
		"+++\ntitle = 1\n+++\nBonjour": "Bonjour",
		"No front matter":              "No front matter",
	} {
		if got := strings.TrimSpace(body(in)); got != want {
			t.Errorf("body(%q): got %q, want %q", in, got, want)
		}
	}
}
