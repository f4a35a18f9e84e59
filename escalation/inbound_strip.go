package escalation

import (
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Lines where a mail client starts the quoted history or the signature:
// everything from there on is dropped.
var (
	// "On Tue, 24 Nov 2026 at 12:13, Ana <ana@example.com> wrote:" and
	// "Le mar. 24 nov. 2026 à 12:13, Ana <…> a écrit :", the French colon
	// often after a no-break space. Clients wrap it over two or three lines.
	attributionStart = regexp.MustCompile(`^\s*(On|Le)\s`)
	attributionEnd   = regexp.MustCompile(`(wrote|a\s+écrit)[\s\x{00A0}\x{202F}]*:\s*$`)
	// Outlook's separators, in English and French.
	originalMessage = regexp.MustCompile(`(?i)^\s*(-{2,}\s*(original message|message d'origine|forwarded message|message transféré)\s*-{2,}|_{20,})\s*$`)
	// Outlook's header block: "From: …" then "Sent: …", "To: …", "Subject: …".
	headerFrom  = regexp.MustCompile(`(?i)^\s*\*?(from|de)\s*\*?[\s\x{00A0}]*:`)
	headerOther = regexp.MustCompile(`(?i)^\s*\*?(sent|date|envoyé|to|à|subject|objet)\s*\*?[\s\x{00A0}]*:`)
)

// stripQuoted returns the text a person added in a reply: without quoted
// lines (">"), without the attribution line that starts the history and
// everything after it, and without the signature ("-- "). When nothing is
// left, the whole text is kept rather than an empty reply.
func stripQuoted(text string) string {
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
	lines := strings.Split(text, "\n")
	var kept []string
scan:
	for i, line := range lines {
		switch {
		case line == "-- " || line == "--":
			break scan // the signature delimiter, and the usual variant without its space
		case originalMessage.MatchString(line):
			break scan
		case isAttribution(lines[i:]):
			break scan
		case isHeaderBlock(lines[i:]):
			break scan
		case strings.HasPrefix(strings.TrimLeft(line, " \t"), ">"):
			continue
		}
		kept = append(kept, strings.TrimRight(line, " \t"))
	}
	out := strings.TrimSpace(strings.Join(kept, "\n"))
	if out == "" {
		return strings.TrimSpace(text)
	}
	return out
}

// isAttribution reports whether lines start with an "On … wrote:" or
// "Le … a écrit :" line, wrapped over up to three lines.
func isAttribution(lines []string) bool {
	if !attributionStart.MatchString(lines[0]) {
		return false
	}
	joined := ""
	for i := 0; i < len(lines) && i < 3; i++ {
		if i > 0 && strings.HasPrefix(strings.TrimSpace(lines[i]), ">") {
			return false
		}
		joined += " " + lines[i]
		if attributionEnd.MatchString(joined) {
			return true
		}
	}
	return false
}

// isHeaderBlock reports whether lines start a quoted header block, a
// "From:" line followed within three lines by a "Sent:", "To:" or
// "Subject:" one.
func isHeaderBlock(lines []string) bool {
	if !headerFrom.MatchString(lines[0]) {
		return false
	}
	for i := 1; i < len(lines) && i < 4; i++ {
		if headerOther.MatchString(lines[i]) {
			return true
		}
	}
	return false
}

// htmlToText turns an HTML mail into plain text: tags dropped, blocks and
// <br> as line breaks, scripts and styles skipped, and <blockquote> content
// marked with "> " so that stripQuoted drops it as quoted history.
func htmlToText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	var t textBuilder
	skip := 0 // inside script, style or title
	for {
		switch z.Next() {
		case html.ErrorToken:
			return t.String()
		case html.TextToken:
			if skip == 0 {
				t.text(string(z.Text()))
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch a := atom.Lookup(name); a {
			case atom.Script, atom.Style, atom.Title:
				skip++
			case atom.Br:
				t.newline()
			case atom.Blockquote:
				t.newline()
				t.depth++
			case atom.Li:
				t.newline()
				t.text("- ")
			default:
				if blockElement(a) {
					t.newline()
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch a := atom.Lookup(name); a {
			case atom.Script, atom.Style, atom.Title:
				skip = max(skip-1, 0)
			case atom.Blockquote:
				t.newline()
				t.depth = max(t.depth-1, 0)
			default:
				if blockElement(a) {
					t.newline()
				}
			}
		}
	}
}

func blockElement(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Div, atom.Tr, atom.Table, atom.Ul, atom.Ol, atom.Pre, atom.Hr,
		atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		return true
	}
	return false
}

// textBuilder writes text with HTML's whitespace collapsed, and prefixes
// each line inside depth blockquotes with as many "> ".
type textBuilder struct {
	b       strings.Builder
	depth   int
	midLine bool // text written since the last line break
	space   bool // a collapsed space is pending
}

func (t *textBuilder) text(s string) {
	for _, f := range strings.FieldsFunc(s, isHTMLSpace) {
		if !t.midLine {
			t.b.WriteString(strings.Repeat("> ", t.depth))
		} else if t.space || startsWithSpace(s) {
			t.b.WriteByte(' ')
		}
		t.b.WriteString(f)
		t.midLine, t.space = true, false
		s = s[strings.Index(s, f)+len(f):]
	}
	if s != "" && t.midLine {
		t.space = t.space || isHTMLSpace(rune(s[len(s)-1]))
	}
}

func (t *textBuilder) newline() {
	if t.midLine {
		t.b.WriteByte('\n')
	}
	t.midLine, t.space = false, false
}

func (t *textBuilder) String() string { return t.b.String() }

func isHTMLSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' }

func startsWithSpace(s string) bool { return s != "" && isHTMLSpace(rune(s[0])) }
