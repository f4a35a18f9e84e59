// Package kbtest makes article folders for tests and benchmarks of the
// packages that search articles.
//
// It does not import kb, so that kb's own tests can use it too.
package kbtest

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// Generate writes n articles under dir (half en, half fr, as
// <lang>/gen/aNNNNN.md) made of words drawn from the Markdown articles in
// src, so that term statistics look like real text. src is laid out by
// language folder (en/…, fr/…) or by file suffix (x.fr.md). The same
// src and n always give the same articles.
func Generate(tb testing.TB, src, dir string, n int) {
	tb.Helper()
	words := sourceWords(tb, src)
	for _, lang := range []string{"en", "fr"} {
		if len(words[lang]) == 0 {
			tb.Fatalf("kbtest: no %s words in %s", lang, src)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	sentence := func(lang string, k int) string {
		w := words[lang]
		out := make([]string, k)
		for i := range out {
			out[i] = w[r.IntN(len(w))]
		}
		return strings.Join(out, " ")
	}
	for i := 0; i < n; i++ {
		lang := []string{"en", "fr"}[i%2]
		var b strings.Builder
		fmt.Fprintf(&b, "---\ntitle: %q\ntopic: t%d\n---\n%s\n\n", sentence(lang, 5), i%10, sentence(lang, 40))
		for h := 0; h < 3; h++ {
			fmt.Fprintf(&b, "## %s\n\n%s\n\n- %s\n- %s\n\n", sentence(lang, 3), sentence(lang, 60), sentence(lang, 8), sentence(lang, 8))
		}
		p := filepath.Join(dir, lang, "gen", fmt.Sprintf("a%05d.md", i/2))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// sourceWords reads the words of every article body in src, by language,
// in file order so that Generate is deterministic.
func sourceWords(tb testing.TB, src string) map[string][]string {
	tb.Helper()
	words := map[string][]string{}
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".md") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		lang := langOf(src, path)
		for _, w := range strings.Fields(body(string(data))) {
			w = strings.Trim(w, ".,:;!?()«»\"*`[]#|<>{}_~=")
			if strings.ContainsFunc(w, unicode.IsLetter) {
				words[lang] = append(words[lang], w)
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("kbtest: read %s: %v", src, err)
	}
	return words
}

// langOf is "fr" for fr/… and x.fr.md, else "en".
func langOf(src, path string) string {
	rel, _ := filepath.Rel(src, path)
	rel = filepath.ToSlash(rel)
	if strings.HasPrefix(rel, "fr/") || strings.HasSuffix(rel, ".fr.md") {
		return "fr"
	}
	return "en"
}

// body drops a leading front matter block (--- YAML or +++ TOML).
func body(s string) string {
	for _, fence := range []string{"---", "+++"} {
		if strings.HasPrefix(s, fence+"\n") {
			if end := strings.Index(s[len(fence)+1:], "\n"+fence); end >= 0 {
				return s[len(fence)+1+end+len(fence)+1:]
			}
		}
	}
	return s
}
