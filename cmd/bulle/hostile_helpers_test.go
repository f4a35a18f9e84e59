package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/bulle-help/bulle/escalation"
	"golang.org/x/net/html"
)

// payloadsFile holds the XSS payloads every hostile test sends.
const payloadsFile = "../../testdata/hostile/xss.txt"

// maxPayloadRunes is the longest payload: a chat's topic, the shortest
// free text the server takes, holds 100 characters.
const maxPayloadRunes = 100

// codePoint is the \u{XXXX} notation of payloads for invisible characters.
var codePoint = regexp.MustCompile(`\\u\{([0-9A-Fa-f]{1,6})\}`)

// loadPayloads reads the payloads: one a line, "#" and "# …" lines are
// comments, \u{XXXX} is a character.
func loadPayloads(t testing.TB) []string {
	t.Helper()
	f, err := os.Open(payloadsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line == "#" || strings.HasPrefix(line, "# ") {
			continue
		}
		line = codePoint.ReplaceAllStringFunc(line, func(s string) string {
			n, _ := strconv.ParseUint(codePoint.FindStringSubmatch(s)[1], 16, 32)
			return string(rune(n))
		})
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// allowance is what a kind of page may legitimately hold of what the
// inertness check otherwise refuses.
type allowance struct {
	scriptPrefix string // <script src> starting with it (the page's own scripts)
	headStyle    bool   // <style> elements in <head> (the page's own styles)
	sandboxFrame string // <iframe sandbox> whose src starts with it (/dev/mail)
}

// Allowances of the server's pages.
var (
	kbPage       = allowance{}
	consolePage  = allowance{scriptPrefix: "/console/static/"}
	formPage     = allowance{headStyle: true} // contact, My requests
	devMailPage  = allowance{headStyle: true, sandboxFrame: "/dev/mail/"}
	mailHTMLPart = allowance{}
)

// activeElements are elements that run code, load a document or change
// how the page's links and forms resolve.
var activeElements = map[string]bool{"script": true, "style": true, "iframe": true, "frame": true, "frameset": true,
	"object": true, "embed": true, "applet": true, "base": true, "portal": true, "svg": true, "math": true,
	"link": true, "meta": true}

// urlAttributes are attributes whose value is a URL a browser follows or loads.
var urlAttributes = map[string]bool{"href": true, "src": true, "action": true, "formaction": true, "xlink:href": true,
	"data": true, "poster": true, "background": true, "cite": true, "srcset": true, "ping": true, "manifest": true,
	"lowsrc": true, "dynsrc": true, "longdesc": true, "codebase": true, "usemap": true}

// activeParts lists what in an HTML document could run script or load
// something a payload chose, beyond what allow grants the page. An empty
// list means every payload in it is inert text.
func activeParts(page string, allow allowance) []string {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return []string{"unparsable: " + err.Error()}
	}
	var found []string
	var walk func(n *html.Node, inHead bool)
	walk = func(n *html.Node, inHead bool) {
		if n.Type == html.ElementNode {
			tag := n.Data
			if n.Namespace != "" {
				tag = n.Namespace + ":" + n.Data
			}
			if activeElements[n.Data] || n.Namespace != "" {
				if !allowedElement(n, inHead, allow) {
					found = append(found, "element "+render(n))
				}
			}
			for _, a := range n.Attr {
				name := strings.ToLower(a.Key)
				if a.Namespace != "" {
					name = a.Namespace + ":" + name
				}
				switch {
				case strings.HasPrefix(name, "on"):
					found = append(found, fmt.Sprintf("handler %s on <%s>", name, tag))
				case name == "srcdoc" || name == "http-equiv":
					found = append(found, fmt.Sprintf("attribute %s on <%s>", name, tag))
				case name == "style" && dangerousStyle(a.Val):
					found = append(found, fmt.Sprintf("style %q on <%s>", a.Val, tag))
				case urlAttributes[name] || strings.HasSuffix(name, ":href"):
					if s := scheme(a.Val); s == "javascript" || s == "vbscript" || s == "data" && !dataImage(n, a.Val) {
						found = append(found, fmt.Sprintf("%s URL in %s of <%s>: %q", s, name, tag, a.Val))
					}
				}
			}
			inHead = inHead || n.Data == "head"
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inHead)
		}
	}
	walk(doc, false)
	return found
}

// allowedElement says whether an active element is the page's own.
func allowedElement(n *html.Node, inHead bool, allow allowance) bool {
	src := attr(n, "src")
	switch {
	case n.Namespace != "":
		return false // <svg>, <math>: no server page draws any
	case n.Data == "script":
		return allow.scriptPrefix != "" && strings.HasPrefix(src, allow.scriptPrefix) && n.FirstChild == nil
	case n.Data == "style":
		return allow.headStyle && inHead
	case n.Data == "iframe":
		_, sandboxed := attrOK(n, "sandbox")
		return allow.sandboxFrame != "" && sandboxed && attr(n, "sandbox") == "" && strings.HasPrefix(src, allow.sandboxFrame)
	case n.Data == "meta":
		_, equiv := attrOK(n, "http-equiv")
		return inHead && !equiv
	case n.Data == "link":
		rel := attr(n, "rel")
		return inHead && (rel == "stylesheet" || rel == "alternate" || rel == "canonical") && strings.HasPrefix(attr(n, "href"), "/") ||
			inHead && (rel == "alternate" || rel == "canonical") && strings.HasPrefix(attr(n, "href"), "http")
	}
	return false
}

func attr(n *html.Node, key string) string {
	v, _ := attrOK(n, key)
	return v
}

func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && strings.EqualFold(a.Key, key) {
			return a.Val, true
		}
	}
	return "", false
}

// render shows an element's start tag, for failure messages.
func render(n *html.Node) string {
	var b bytes.Buffer
	c := *n
	c.FirstChild, c.LastChild, c.Parent, c.PrevSibling, c.NextSibling = nil, nil, nil, nil, nil
	html.Render(&b, &c)
	return b.String()
}

// scheme returns a URL's scheme as a browser reads it: leading spaces and
// control characters dropped, tabs and line breaks removed anywhere,
// lower case; "" for a relative URL.
func scheme(u string) string {
	u = strings.TrimLeftFunc(u, func(r rune) bool { return r <= ' ' })
	u = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, u)
	i := strings.IndexByte(u, ':')
	if i <= 0 {
		return ""
	}
	s := strings.ToLower(u[:i])
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.') {
			return ""
		}
	}
	return s
}

// dataImage allows the data: images an article may show (goldmark keeps
// them): an <img> whose source is a picture.
func dataImage(n *html.Node, v string) bool {
	v = strings.ToLower(strings.TrimSpace(v))
	return n.Data == "img" && regexp.MustCompile(`^data:image/(png|gif|jpeg|webp)[;,]`).MatchString(v)
}

// dangerousStyle finds CSS that runs code or loads from a payload's URL;
// plain declarations such as goldmark's text-align pass.
func dangerousStyle(v string) bool {
	v = strings.ToLower(strings.Join(strings.Fields(v), ""))
	for _, bad := range []string{"expression(", "javascript:", "url(", "behavior:", "-moz-binding", "@import"} {
		if strings.Contains(v, bad) {
			return true
		}
	}
	return false
}

// shownText is everything a reader sees of a page, or a screen reader
// hears: its text and its attribute values, entities decoded.
func shownText(page string) string {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return ""
	}
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			b.WriteString(n.Data)
			b.WriteString("\n")
		case html.ElementNode:
			for _, a := range n.Attr {
				b.WriteString(a.Val)
				b.WriteString("\n")
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return b.String()
}

// inert fails the test when a page holds anything active beyond what allow
// grants it.
func inert(t testing.TB, where, page string, allow allowance) {
	t.Helper()
	for _, p := range activeParts(page, allow) {
		t.Errorf("%s: %s", where, p)
	}
}

// mailHeaders are the only headers RenderMail writes.
var mailHeaders = map[string]bool{"Date": true, "From": true, "To": true, "Reply-To": true, "Subject": true,
	"Message-Id": true, "In-Reply-To": true, "References": true, "Mime-Version": true, "Auto-Submitted": true,
	"Content-Type": true, "Content-Transfer-Encoding": true}

// inertMail renders an outbox mail as it would be sent and checks it: only
// the headers RenderMail writes, each once, every line printable ASCII,
// one recipient (wantTo, when given), and an HTML part with nothing
// active. It returns the decoded text and HTML parts.
func inertMail(t testing.TB, om escalation.OutboxMail, wantTo string) (text, htmlPart string) {
	t.Helper()
	where := fmt.Sprintf("mail %d (%s)", om.ID, om.Kind)
	raw, err := escalation.RenderMail(om)
	if err != nil {
		t.Errorf("%s: does not render: %v", where, err)
		return "", ""
	}
	head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		for _, r := range line {
			if r > unicode.MaxASCII || r < ' ' && r != '\t' || r == 0x7f {
				t.Errorf("%s: header line %q: want printable ASCII only", where, line)
				break
			}
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return "", ""
	}
	for k, v := range msg.Header {
		if !mailHeaders[k] || len(v) != 1 {
			t.Errorf("%s: header %s: %q, want only RenderMail's headers, each once", where, k, v)
		}
	}
	if wantTo != "" {
		to, err := (&mail.AddressParser{WordDecoder: new(mime.WordDecoder)}).ParseList(msg.Header.Get("To"))
		if err != nil || len(to) != 1 || !strings.EqualFold(to[0].Address, wantTo) {
			t.Errorf("%s: To %q (%v), want only %s", where, msg.Header.Get("To"), err, wantTo)
		}
	}
	parts := map[string]string{}
	collectParts(t, where, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, parts)
	if h, ok := parts["text/html"]; ok {
		inert(t, where+" HTML part", h, mailHTMLPart)
	}
	return parts["text/plain"], parts["text/html"]
}

// collectParts decodes every text part of a body by type.
func collectParts(t testing.TB, where, ctype, cte string, body io.Reader, parts map[string]string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		t.Errorf("%s: content type %q: %v", where, ctype, err)
		return
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			collectParts(t, where, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, parts)
		}
	}
	if strings.EqualFold(cte, "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Errorf("%s: %s part: %v", where, mt, err)
	}
	if !utf8.Valid(b) {
		t.Errorf("%s: %s part is not valid UTF-8", where, mt)
	}
	parts[mt] = string(b)
}

// markup finds a payload that is HTML markup when written raw into a page:
// a tag that starts where a tag can ("<scr<script>" is one odd element).
var markup = regexp.MustCompile(`(?i)(?:^|[\s>"'<])<(script|img|svg|iframe|object|embed|a|form|meta|base|body|details|input|video|marquee|math|div|style|button|x|noscript|!--)[\s>/]`)

// TestInertnessCheckFlagsRawMarkupAndPassesEscapedText checks the check:
// each payload written raw, as a template that forgot to escape would,
// is flagged wherever it is markup (in text, or breaking out of a quoted
// attribute), and every payload escaped, as html/template writes it, passes.
func TestInertnessCheckFlagsRawMarkupAndPassesEscapedText(t *testing.T) {
	page := func(text, attr string) string {
		return `<!doctype html><html><head><title>x</title></head><body><p>` + text + `</p><a href="/x" title="` + attr +
			`">x</a><input value='` + attr + `'></body></html>`
	}
	raw := 0
	for _, p := range loadPayloads(t) {
		if got := activeParts(page(html.EscapeString(p), html.EscapeString(p)), kbPage); len(got) != 0 {
			t.Errorf("%q escaped: flagged %q, want nothing", p, got)
		}
		if !markup.MatchString(p) && !strings.HasPrefix(p, `"`) && !strings.HasPrefix(p, `'`) {
			continue
		}
		raw++
		if got := activeParts(page(p, p), kbPage); len(got) == 0 {
			t.Errorf("%q raw: nothing flagged, want its markup", p)
		}
	}
	if raw < 30 {
		t.Errorf("%d payloads are markup when raw, want at least 30", raw)
	}
	if got := activeParts(page("hello", "hello"), kbPage); len(got) != 0 {
		t.Errorf("a plain page: flagged %q", got)
	}
}
