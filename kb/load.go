package kb

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"unicode/utf8"
)

// Severity says whether a problem stops `bulle check` from passing.
type Severity int

// Severities, from the least to the most serious.
const (
	Info Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	return [...]string{"info", "warning", "error"}[s]
}

// Problem is something wrong with one file, at one line when known.
type Problem struct {
	File     string
	Line     int
	Severity Severity
	Msg      string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Severity, p.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", p.File, p.Severity, p.Msg)
}

// LoadOptions say which languages exist and which one a file without a
// language marker is written in.
type LoadOptions struct {
	Langs       []string
	DefaultLang string
}

// DefaultLoadOptions are French and English, English by default, as in Hugo
// and Grav sites whose plain name.md is the English page.
var DefaultLoadOptions = LoadOptions{Langs: []string{"en", "fr"}, DefaultLang: "en"}

// maxArticleBytes bounds one file, so a stray export cannot exhaust memory.
const maxArticleBytes = 4 << 20

// Load reads every article under fsys. A broken file becomes a Problem and
// every other article still loads. Drafts are reported and left out.
func Load(fsys fs.FS, opt LoadOptions) (*Corpus, []Problem) {
	c := NewCorpus(opt.Langs, opt.DefaultLang)
	var problems []Problem
	var paths []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			problems = append(problems, Problem{File: p, Severity: Error, Msg: err.Error()})
			return nil
		}
		// Hidden folders and files belong to tools (.git, .obsidian) or
		// editors (.#x.md lock files, .x.md.swp), never to the site.
		hidden := p != "." && strings.HasPrefix(d.Name(), ".")
		if d.IsDir() {
			if hidden {
				return fs.SkipDir
			}
			return nil
		}
		if hidden {
			return nil
		}
		if _, ok, _ := locate(p, opt.Langs, opt.DefaultLang); ok {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		problems = append(problems, Problem{File: ".", Severity: Error, Msg: err.Error()})
	}
	sort.Strings(paths)
	from := map[string]string{}
	for _, p := range paths {
		a, probs := LoadFile(fsys, p, opt)
		problems = append(problems, probs...)
		if a == nil {
			continue
		}
		if a.Draft {
			problems = append(problems, Problem{File: p, Severity: Info, Msg: "draft: not published"})
			continue
		}
		if first, dup := from[a.Key()]; dup {
			problems = append(problems, Problem{File: p, Severity: Error,
				Msg: fmt.Sprintf("duplicate id %q in %s: %s already has it", a.ID, a.Lang, first)})
			continue
		}
		from[a.Key()] = p
		c.Add(a)
	}
	return c, problems
}

// LoadFile reads one article. It returns nil and the reasons when the file
// cannot be an article.
func LoadFile(fsys fs.FS, p string, opt LoadOptions) (*Article, []Problem) {
	loc, ok, layoutProblem := locate(p, opt.Langs, opt.DefaultLang)
	if !ok {
		return nil, nil
	}
	var problems []Problem
	fail := func(line int, format string, args ...any) (*Article, []Problem) {
		return nil, append(problems, Problem{File: p, Line: line, Severity: Error, Msg: fmt.Sprintf(format, args...)})
	}
	if layoutProblem != "" {
		problems = append(problems, Problem{File: p, Severity: Warning, Msg: layoutProblem})
	}
	info, err := fs.Stat(fsys, p)
	if err != nil {
		return fail(0, "%v", err)
	}
	if info.Size() > maxArticleBytes {
		return fail(0, "file is %d bytes, more than the %d allowed", info.Size(), maxArticleBytes)
	}
	src, err := fs.ReadFile(fsys, p)
	if err != nil {
		return fail(0, "%v", err)
	}
	if len(bytes.TrimSpace(src)) == 0 {
		return fail(1, "empty file")
	}
	if !utf8.Valid(src) {
		return fail(invalidUTF8Line(src), "invalid UTF-8")
	}
	// No editor writes these; one that got in (a paste from a binary, a
	// broken converter) would reach titles and pages unseen.
	if i := bytes.IndexFunc(src, isControl); i >= 0 {
		r, _ := utf8.DecodeRune(src[i:])
		return fail(1+bytes.Count(src[:i], []byte("\n")), "control character U+%04X; remove it", r)
	}
	fmText, delim, body, bodyLine, err := splitFrontMatter(src)
	if err != nil {
		return fail(err.(*ParseError).Line, "%s", err.(*ParseError).Msg)
	}
	fm, fieldProblems, err := parseFrontMatter(fmText, delim)
	if err != nil {
		pe := err.(*ParseError)
		return fail(pe.Line, "%s", pe.Msg)
	}
	for _, pe := range fieldProblems {
		problems = append(problems, Problem{File: p, Line: pe.Line, Severity: Warning, Msg: pe.Msg})
	}
	// Keep the body's line numbers equal to the file's, for link problems.
	padded := append(bytes.Repeat([]byte("\n"), bodyLine-1), body...)
	clean := []byte(stripShortcodes(string(padded)))
	md := parseMarkdown(clean)
	a := &Article{
		ID:          loc.ID,
		Lang:        loc.Lang,
		Title:       fm.Title,
		Description: fm.Description,
		Tags:        fm.Tags,
		Topic:       fm.Topic,
		Type:        fm.Type,
		Weight:      fm.Weight,
		Draft:       fm.Draft,
		Path:        p,
		Routes:      fm.Routes,
		Source:      clean,
		Passages:    md.passages(),
		Links:       md.links(),
		Anchors:     md.anchors(),
	}
	if fm.TranslationKey != "" {
		a.ID = strings.Trim(fm.TranslationKey, "/")
	}
	if a.Title == "" {
		a.Title = md.firstHeading()
	}
	if a.Title == "" {
		if len(a.Passages) == 0 {
			return fail(bodyLine, "no title and no text")
		}
		a.Title = path.Base(a.ID)
		problems = append(problems, Problem{File: p, Line: 1, Severity: Warning, Msg: "no title in front matter and no heading: using " + a.Title})
	}
	return a, problems
}

// isControl reports the control characters an article may not hold: all
// but tab, line feed, carriage return and form feed.
func isControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f') || r == 0x7f
}

func invalidUTF8Line(src []byte) int {
	line := 1
	for len(src) > 0 {
		r, size := utf8.DecodeRune(src)
		if r == utf8.RuneError && size <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		src = src[size:]
	}
	return line
}
