package kb

import (
	"bytes"
	"html"
	"html/template"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
	"golang.org/x/text/unicode/norm"
)

// markdown is built once, with goldmark's safe default: raw HTML in an
// article is dropped, never rendered, because pages and answers are shown
// inside other people's sites. Only the visible text of an HTML block is
// kept, escaped, as it is in the passages.
var markdown = goldmark.New(
	goldmark.WithExtensions(extension.GFM),
	goldmark.WithParserOptions(parser.WithAutoHeadingID(), parser.WithAttribute()),
	// Priority 100 runs after goldmark's own HTML renderer (1000) and so
	// replaces its HTML block function.
	goldmark.WithRendererOptions(renderer.WithNodeRenderers(util.Prioritized(htmlBlockText{}, 100))),
)

// htmlBlockText renders an HTML block as the escaped text between its tags.
type htmlBlockText struct{}

func (htmlBlockText) RegisterFuncs(r renderer.NodeRendererFuncRegisterer) {
	r.Register(ast.KindHTMLBlock, func(w util.BufWriter, src []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		t := parsed{src: src}.htmlBlockSource(n.(*ast.HTMLBlock))
		for _, l := range strings.Split(strings.TrimSpace(htmlText(t)), "\n") {
			if l != "" {
				_, _ = w.WriteString("<p>" + html.EscapeString(l) + "</p>\n")
			}
		}
		return ast.WalkSkipChildren, nil
	})
}

// passageDepth is the deepest heading level that starts a new passage;
// deeper headings stay inside their parent's passage.
const passageDepth = 3

// parsed is a markdown body parsed once, to read passages and links from.
type parsed struct {
	doc ast.Node
	src []byte
}

func parseMarkdown(src []byte) parsed {
	ctx := parser.NewContext(parser.WithIDs(newAnchorIDs()))
	doc := markdown.Parser().Parse(text.NewReader(src), parser.WithContext(ctx))
	keepOnlyIDs(doc)
	return parsed{doc: doc, src: src}
}

// keepOnlyIDs drops every attribute an article wrote ({.class style=…}
// after a heading) but the id, which names the heading's anchor: goldmark
// renders a style, and the pages allow inline styles (for table
// alignment), so an article could restyle or cover the page.
func keepOnlyIDs(doc ast.Node) {
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering || n.Attributes() == nil {
			return ast.WalkContinue, nil
		}
		id, ok := n.AttributeString("id")
		n.RemoveAttributes()
		if ok {
			n.SetAttributeString("id", id)
		}
		return ast.WalkContinue, nil
	})
}

// Render turns an article body into safe HTML, with the same heading anchors
// as its passages.
func Render(a *Article) (template.HTML, error) {
	p := parseMarkdown(a.Source)
	var buf bytes.Buffer
	if err := markdown.Renderer().Render(&buf, p.src, p.doc); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil //nolint:gosec // goldmark escapes text and drops raw HTML
}

// passages splits the body at its headings.
func (p parsed) passages() []Passage {
	var out []Passage
	cur := Passage{}
	var b strings.Builder
	flush := func() {
		cur.Text = strings.TrimSpace(b.String())
		cur.Quote = snippet(cur.Text)
		if cur.Text != "" || cur.Heading != "" {
			out = append(out, cur)
		}
		b.Reset()
	}
	for n := p.doc.FirstChild(); n != nil; n = n.NextSibling() {
		if h, ok := n.(*ast.Heading); ok && h.Level <= passageDepth {
			flush()
			cur = Passage{Heading: strings.TrimSpace(p.plain(h)), Anchor: headingID(h)}
			continue
		}
		if t := strings.TrimSpace(p.plain(n)); t != "" {
			b.WriteString(t)
			b.WriteString("\n")
		}
	}
	flush()
	return out
}

// firstHeading is the text of the first heading, used when there is no title.
func (p parsed) firstHeading() string {
	for n := p.doc.FirstChild(); n != nil; n = n.NextSibling() {
		if h, ok := n.(*ast.Heading); ok {
			return strings.TrimSpace(p.plain(h))
		}
	}
	return ""
}

func headingID(h *ast.Heading) string {
	if v, ok := h.AttributeString("id"); ok {
		if b, ok := v.([]byte); ok {
			return string(b)
		}
	}
	return ""
}

// plain is the visible text of a node: no markup, no raw HTML, no images.
func (p parsed) plain(n ast.Node) string {
	var b strings.Builder
	p.writePlain(&b, n)
	return b.String()
}

func (p parsed) writePlain(b *strings.Builder, n ast.Node) {
	switch t := n.(type) {
	case *ast.RawHTML, *ast.Image:
		// Inline tags go, the text between them stays: "<a href=x>lien</a>"
		// leaves "lien".
		return
	case *ast.HTMLBlock:
		b.WriteString(htmlText(p.htmlBlockSource(t)))
		b.WriteByte('\n')
		return
	case *east.TableCell:
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			p.writePlain(b, c)
		}
		b.WriteByte(' ')
		return
	case *ast.Text:
		b.Write(t.Segment.Value(p.src))
		if t.SoftLineBreak() || t.HardLineBreak() {
			b.WriteByte(' ')
		}
		return
	case *ast.String:
		b.Write(t.Value)
		return
	case *ast.AutoLink:
		b.Write(t.Label(p.src))
		return
	case *ast.FencedCodeBlock, *ast.CodeBlock:
		lines := n.Lines()
		for i := 0; i < lines.Len(); i++ {
			seg := lines.At(i)
			b.Write(seg.Value(p.src))
		}
		b.WriteByte('\n')
		return
	}
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		p.writePlain(b, c)
	}
	if n.Type() == ast.TypeBlock {
		b.WriteByte('\n')
	}
}

func (p parsed) htmlBlockSource(h *ast.HTMLBlock) string {
	var b strings.Builder
	lines := h.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		b.Write(seg.Value(p.src))
	}
	if h.HasClosure() {
		b.Write(h.ClosureLine.Value(p.src))
	}
	return b.String()
}

var (
	// htmlHidden is HTML whose content is never shown as text: scripts,
	// styles, templates, comments and processing instructions. An unclosed
	// one hides the rest of the block.
	htmlHidden = regexp.MustCompile(`(?is)<script\b.*?(?:</script\s*>|\z)|<style\b.*?(?:</style\s*>|\z)|<template\b.*?(?:</template\s*>|\z)|<textarea\b.*?(?:</textarea\s*>|\z)|<!--.*?(?:-->|\z)|<\?.*?(?:\?>|\z)`)
	// htmlTag is one tag, attributes included, even with ">" in quotes; an
	// unclosed tag runs to the end of the block.
	htmlTag = regexp.MustCompile(`<[a-zA-Z/!](?:[^>"']|"[^"]*"|'[^']*')*(?:>|\z)`)
	// htmlAnchor is an id or name attribute, which a link's #anchor may name.
	htmlAnchor = regexp.MustCompile(`(?i)\s(?:id|name)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))`)
)

// htmlText is the visible text of an HTML block: the words between its tags,
// so that text an editor wrapped in a <div> is still searched and quoted.
func htmlText(s string) string {
	s = htmlHidden.ReplaceAllString(s, " ")
	s = htmlTag.ReplaceAllString(s, " ")
	s = html.UnescapeString(s)
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// links lists the internal link targets in the body with their lines.
func (p parsed) links() []Link {
	var out []Link
	_ = ast.Walk(p.doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		l, ok := n.(*ast.Link)
		if !ok {
			return ast.WalkContinue, nil
		}
		dest := string(l.Destination)
		if isInternal(dest) {
			out = append(out, Link{Target: dest, Line: p.lineOfLink(l)})
		}
		return ast.WalkContinue, nil
	})
	return out
}

// lineOfLink is the line on which a link's text starts. Inline nodes carry
// no position, but their text does; a link without text ("[](x)" or an
// image) is found in its paragraph's source.
func (p parsed) lineOfLink(l *ast.Link) int {
	off := -1
	_ = ast.Walk(l, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if t, ok := n.(*ast.Text); ok && entering {
			off = t.Segment.Start
			return ast.WalkStop, nil
		}
		return ast.WalkContinue, nil
	})
	if off < 0 {
		for b := l.Parent(); b != nil; b = b.Parent() {
			if b.Type() == ast.TypeBlock && b.Lines().Len() > 0 {
				start := b.Lines().At(0).Start
				if i := bytes.Index(p.src[start:], []byte("("+string(l.Destination))); i >= 0 {
					off = start + i
				} else {
					off = start
				}
				break
			}
		}
	}
	if off < 0 {
		return 0
	}
	return bytes.Count(p.src[:off], []byte("\n")) + 1
}

// anchors lists every #anchor a link may name in this body: the ids of its
// headings, whatever their level, and the id and name attributes of its
// raw HTML (<a name="x"></a>).
func (p parsed) anchors() []string {
	var out []string
	addHTML := func(s string) {
		for _, m := range htmlAnchor.FindAllStringSubmatch(s, -1) {
			if v := m[1] + m[2] + m[3]; v != "" {
				out = append(out, v)
			}
		}
	}
	_ = ast.Walk(p.doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch t := n.(type) {
		case *ast.Heading:
			if id := headingID(t); id != "" {
				out = append(out, id)
			}
		case *ast.HTMLBlock:
			addHTML(p.htmlBlockSource(t))
		case *ast.RawHTML:
			for i := 0; i < t.Segments.Len(); i++ {
				seg := t.Segments.At(i)
				addHTML(string(seg.Value(p.src)))
			}
		}
		return ast.WalkContinue, nil
	})
	return out
}

// isInternal says whether a link points into the site: a path, relative or
// absolute, or an anchor on the same page.
func isInternal(dest string) bool {
	if dest == "" || dest == "#" || strings.HasPrefix(dest, "//") {
		return false
	}
	if i := strings.IndexByte(dest, ':'); i >= 0 {
		slash := strings.IndexByte(dest, '/')
		if slash < 0 || i < slash {
			return false // has a scheme: http:, mailto:, image://, xmpp:
		}
	}
	return true
}

// anchorIDs gives headings ids that survive accents and repeats:
// "Heures d'été" becomes "heures-d-ete", a second one "heures-d-ete-1".
type anchorIDs struct{ seen map[string]bool }

func newAnchorIDs() *anchorIDs { return &anchorIDs{seen: map[string]bool{}} }

func (s *anchorIDs) Generate(value []byte, _ ast.NodeKind) []byte {
	base := Slug(string(value))
	if base == "" {
		base = "section"
	}
	id := base
	for i := 1; s.seen[id]; i++ {
		id = base + "-" + strconv.Itoa(i)
	}
	s.seen[id] = true
	return []byte(id)
}

func (s *anchorIDs) Put(value []byte) { s.seen[string(value)] = true }

// Slug lower-cases s, removes accents and joins words with single dashes.
func Slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range FoldAccents(strings.ToLower(s)) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}

// FoldAccents removes diacritics: "réinitialisé" becomes "reinitialise".
func FoldAccents(s string) string {
	if isASCII(s) {
		return s
	}
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		switch r {
		case 'œ':
			b.WriteString("oe")
		case 'æ':
			b.WriteString("ae")
		case 'Œ':
			b.WriteString("OE")
		case 'Æ':
			b.WriteString("AE")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
