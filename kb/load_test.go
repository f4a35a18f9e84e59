package kb

import (
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
)

// mapFS builds an articles tree from path, content pairs.
func mapFS(pathContent ...string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for i := 0; i+1 < len(pathContent); i += 2 {
		fsys[pathContent[i]] = &fstest.MapFile{Data: []byte(pathContent[i+1])}
	}
	return fsys
}

// assertKeys fails unless c holds exactly the articles with these keys.
func assertKeys(t *testing.T, c *Corpus, want ...string) {
	t.Helper()
	var got []string
	for _, a := range c.Articles() {
		got = append(got, a.Key())
	}
	sort.Strings(got)
	want = slices.Clone(want)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("articles: got %q, want %q", got, want)
	}
}

// findProblem returns the only problem about file, failing if there is not exactly one.
func findProblem(t *testing.T, probs []Problem, file string) Problem {
	t.Helper()
	var found []Problem
	for _, p := range probs {
		if p.File == file {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		t.Fatalf("problems about %s: got %v, want exactly one", file, found)
	}
	return found[0]
}

func TestLoadBrokenFiles(t *testing.T) {
	c, probs := Load(os.DirFS("testdata/broken"), DefaultLoadOptions)
	tests := []struct {
		name         string
		file         string
		wantLine     int
		wantSeverity Severity
		wantLoaded   bool   // the article still loads despite the problem
		wantMsg      string // a word the message must contain
	}{
		{name: "bad YAML reports the line in the file", file: "bad-yaml.md", wantLine: 4, wantSeverity: Error, wantMsg: "YAML"},
		{name: "unclosed YAML list reports the line where it opens", file: "bad-yaml-flow.md", wantLine: 3, wantSeverity: Error, wantMsg: "YAML"},
		{name: "duplicate YAML key", file: "dup-key.md", wantLine: 4, wantSeverity: Error, wantMsg: "title"},
		{name: "bad TOML reports the line in the file", file: "bad-toml.md", wantLine: 3, wantSeverity: Error, wantMsg: "TOML"},
		{name: "unclosed front matter", file: "unclosed.md", wantLine: 1, wantSeverity: Error, wantMsg: "never closed"},
		{name: "invalid UTF-8 reports the line of the first bad byte", file: "bad-utf8.md", wantLine: 4, wantSeverity: Error, wantMsg: "UTF-8"},
		{name: "a control character is refused at its line", file: "control.md", wantLine: 5, wantSeverity: Error, wantMsg: "U+0000"},
		{name: "empty file", file: "empty.md", wantLine: 1, wantSeverity: Error, wantMsg: "empty"},
		{name: "whitespace-only file", file: "blank.md", wantLine: 1, wantSeverity: Error, wantMsg: "empty"},
		{name: "weight that is not a number", file: "weight.md", wantLine: 4, wantSeverity: Warning, wantLoaded: true, wantMsg: "weight"},
		{name: "title that is not text", file: "title-list.md", wantLine: 2, wantSeverity: Warning, wantLoaded: true, wantMsg: "title"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := findProblem(t, probs, tt.file)
			if p.Line != tt.wantLine || p.Severity != tt.wantSeverity {
				t.Errorf("problem: got line %d %v, want line %d %v (%s)", p.Line, p.Severity, tt.wantLine, tt.wantSeverity, p)
			}
			if !strings.Contains(p.Msg, tt.wantMsg) {
				t.Errorf("message: got %q, want it to mention %q", p.Msg, tt.wantMsg)
			}
			loaded := slices.ContainsFunc(c.Articles(), func(a *Article) bool { return a.Path == tt.file })
			if loaded != tt.wantLoaded {
				t.Errorf("loaded: got %v, want %v", loaded, tt.wantLoaded)
			}
		})
	}
	if a := c.Get("en", "good"); a == nil || a.Title != "Good" {
		t.Errorf("good article: got %v, want it loaded with its title", a)
	}
	if a := c.Get("fr", "good"); a == nil || a.Title != "Bon" {
		t.Errorf("good French article: got %v, want it loaded with its title", a)
	}
	if a := c.Get("en", "weight"); a == nil || a.Weight != 0 || a.Topic != "x" {
		t.Errorf("article with a bad weight: got %+v, want it loaded with weight 0 and its other fields", a)
	}
	if a := c.Get("en", "title-list"); a == nil || a.Title != "Fallback" {
		t.Errorf("article with a bad title: got %+v, want it titled by its heading", a)
	}
	if HasErrors(probs) != true {
		t.Errorf("HasErrors: got false, want true")
	}
}

func TestLoadOversizedFile(t *testing.T) {
	fsys := mapFS("big.md", "# Big\n"+strings.Repeat("x", maxArticleBytes), "small.md", "# Small\n")
	c, probs := Load(fsys, DefaultLoadOptions)
	p := findProblem(t, probs, "big.md")
	if p.Severity != Error || !strings.Contains(p.Msg, "bytes") {
		t.Errorf("problem: got %s, want an error about the size", p)
	}
	assertKeys(t, c, "en/small")
}

func TestLoadDraftsAreLeftOut(t *testing.T) {
	fsys := mapFS("x.md", "---\ntitle: X\ndraft: true\n---\n", "y.md", "# Y\n")
	c, probs := Load(fsys, DefaultLoadOptions)
	assertKeys(t, c, "en/y")
	p := findProblem(t, probs, "x.md")
	if p.Severity != Info {
		t.Errorf("severity: got %v, want %v", p.Severity, Info)
	}
	if HasErrors(probs) {
		t.Errorf("HasErrors: got true, want false for a draft")
	}
}

func TestLoadDuplicateIDs(t *testing.T) {
	tests := []struct {
		name string
		fs   fstest.MapFS
		dup  string // the file reported
	}{
		{name: "folder and filename layouts", fs: mapFS("fr/x.md", "# X1\n", "x.fr.md", "# X2\n", "x.md", "# X\n"), dup: "x.fr.md"},
		{name: "file and bundle", fs: mapFS("x.md", "# X1\n", "x/index.md", "# X2\n"), dup: "x/index.md"},
		{name: "ordering prefix", fs: mapFS("01.x/a.md", "# A1\n", "02.x/a.md", "# A2\n"), dup: "02.x/a.md"},
		{name: "translationKey", fs: mapFS("a.md", "---\ntitle: A\ntranslationKey: b\n---\n", "b.md", "# B\n"), dup: "b.md"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs := Load(tt.fs, DefaultLoadOptions)
			p := findProblem(t, probs, tt.dup)
			if p.Severity != Error || !strings.Contains(p.Msg, "duplicate") {
				t.Errorf("problem: got %s, want a duplicate id error", p)
			}
			if !HasErrors(probs) {
				t.Errorf("HasErrors: got false, want true")
			}
		})
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "a.md", Line: 3, Severity: Error, Msg: "bad"}, "a.md:3: error: bad"},
		{Problem{File: "a.md", Severity: Warning, Msg: "missing translation: fr"}, "a.md: warning: missing translation: fr"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("String: got %q, want %q", got, tt.want)
		}
	}
}

// TestLoadRealCorpus loads a real documentation tree (YunoHost's, Grav
// layout) when the shared corpus is present.
func TestLoadRealCorpus(t *testing.T) {
	const dir = "../../shared/corpus/yunohost-doc"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no real corpus at %s", dir)
	}
	fsys := os.DirFS(dir)
	c, probs := Load(fsys, DefaultLoadOptions)
	accounted := map[string]bool{}
	for _, a := range c.Articles() {
		accounted[a.Path] = true
	}
	for _, p := range probs {
		accounted[p.File] = true
		if p.Severity == Error {
			t.Errorf("got error %s, want none", p)
		}
	}
	mdFiles := 0
	walkMarkdown(t, fsys, func(p string) {
		mdFiles++
		if !accounted[p] {
			t.Errorf("%s: got neither an article nor a problem, want one", p)
		}
	})
	if mdFiles < 600 {
		t.Errorf("markdown files: got %d, want the whole corpus (673)", mdFiles)
	}
	for _, a := range c.Articles() {
		for _, p := range a.Passages {
			for _, bad := range []string{"{{", "{%", "[center]", "<img"} {
				if strings.Contains(p.Heading+"\n"+p.Text, bad) {
					t.Errorf("%s #%s: passage contains %q", a.Path, p.Anchor, bad)
				}
			}
		}
	}
	for _, p := range Check(c, probs) {
		if p.Severity == Error {
			t.Errorf("check: got error %s, want none", p)
		}
	}
}

// walkMarkdown calls fn with the path of every markdown file in fsys.
func walkMarkdown(t *testing.T, fsys fs.FS, fn func(path string)) {
	t.Helper()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".md") || strings.HasSuffix(p, ".markdown")) {
			fn(p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
