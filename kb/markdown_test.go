package kb

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestPassages(t *testing.T) {
	type passage struct{ anchor, heading string }
	tests := []struct {
		name string
		src  string
		want []passage
	}{
		{
			name: "split at H1 to H3",
			src:  "# One\n\na\n\n## Two\n\nb\n\n### Three\n\nc\n",
			want: []passage{{"one", "One"}, {"two", "Two"}, {"three", "Three"}},
		},
		{
			name: "accents folded in anchors",
			src:  "## Heures d'été\n\nOuvert.\n\n## Où est l’œuvre ?\n\nIci.\n",
			want: []passage{{"heures-d-ete", "Heures d'été"}, {"ou-est-l-oeuvre", "Où est l’œuvre ?"}},
		},
		{
			name: "duplicate headings get a suffix",
			src:  "## FAQ\n\na\n\n## FAQ\n\nb\n\n## FAQ\n\nc\n",
			want: []passage{{"faq", "FAQ"}, {"faq-1", "FAQ"}, {"faq-2", "FAQ"}},
		},
		{
			name: "custom id attribute is honoured",
			src:  "## Opening hours {#hours}\n\nNine to five.\n\n## Hours\n\nx\n",
			want: []passage{{"hours", "Opening hours"}, {"hours-1", "Hours"}},
		},
		{
			name: "text before the first heading has no anchor",
			src:  "Intro text.\n\n## Details\n\nMore.\n",
			want: []passage{{"", ""}, {"details", "Details"}},
		},
		{
			name: "H4 stays inside its parent passage",
			src:  "## Parent\n\na\n\n#### Child\n\nb\n",
			want: []passage{{"parent", "Parent"}},
		},
		{
			name: "setext headings split too",
			src:  "Title\n=====\n\na\n\nSub\n---\n\nb\n",
			want: []passage{{"title", "Title"}, {"sub", "Sub"}},
		},
		{
			name: "heading made only of symbols",
			src:  "## ???\n\na\n",
			want: []passage{{"section", "???"}},
		},
		{
			name: "empty heading section is kept for its anchor",
			src:  "## Empty\n\n## Full\n\ntext\n",
			want: []passage{{"empty", "Empty"}, {"full", "Full"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseMarkdown([]byte(tt.src)).passages()
			var gotP []passage
			for _, p := range got {
				gotP = append(gotP, passage{p.Anchor, p.Heading})
			}
			if !slices.Equal(gotP, tt.want) {
				t.Errorf("passages: got %q, want %q", gotP, tt.want)
			}
		})
	}
}

func TestPassageText(t *testing.T) {
	src := "Intro with **bold** and `code` and a [link](/x).\n\n" +
		"## Steps\n\n" +
		"1. Open the *settings*.\n2. Click ![icon](gear.png) Save.\n\n" +
		"#### Note\n\nAn H4 body.\n\n" +
		"```sh\nyunohost tools update\n```\n\n" +
		"    indented code\n\n" +
		"| Key | Value |\n|-----|-------|\n| a | b |\n\n" +
		"> quoted\n> text\n\n" +
		"<script>alert('x')</script>\n\n" +
		"Visit <https://example.com> now.\n"
	got := parseMarkdown([]byte(src)).passages()
	if len(got) != 2 {
		t.Fatalf("passages: got %d, want 2: %+v", len(got), got)
	}
	if want := "Intro with bold and code and a link."; strings.TrimSpace(got[0].Text) != want {
		t.Errorf("intro: got %q, want %q", got[0].Text, want)
	}
	text := got[1].Text
	for _, want := range []string{"Open the settings.", "Click  Save.", "Note", "An H4 body.", "yunohost tools update", "indented code", "Key Value", "a b", "quoted text", "Visit https://example.com now."} {
		if !strings.Contains(text, want) {
			t.Errorf("steps: missing %q in %q", want, text)
		}
	}
	for _, gone := range []string{"icon", "gear.png", "alert", "script", "*", "```", "|"} {
		if strings.Contains(text, gone) {
			t.Errorf("steps: got %q in %q, want it gone", gone, text)
		}
	}
}

func TestRender(t *testing.T) {
	src := "Intro.\n\n## Heures d'été\n\nTexte.\n\n## Heures d'été\n\n### Custom {#mine}\n\n#### Deep\n\n" +
		"<script>alert('x')</script>\n\n" +
		"Inline <img src=x onerror=alert(1)> and <b>bold</b>.\n\n" +
		"## Attribute {onclick=\"alert(2)\"}\n\n" +
		"[bad](javascript:alert(3))\n"
	a := &Article{Source: []byte(src)}
	a.Passages = parseMarkdown(a.Source).passages()
	html, err := Render(a)
	if err != nil {
		t.Fatal(err)
	}
	ids := regexp.MustCompile(`id="([^"]+)"`).FindAllStringSubmatch(string(html), -1)
	var got []string
	for _, m := range ids {
		got = append(got, m[1])
	}
	var want []string
	for _, p := range a.Passages {
		if p.Anchor != "" {
			want = append(want, p.Anchor)
		}
	}
	want = append(want[:3:3], "deep", want[3]) // the H4 has an id too, in document order
	if !slices.Equal(got, want) {
		t.Errorf("ids: got %q, want %q", got, want)
	}
	for _, bad := range []string{"<script", "alert", "<img", "onerror", "onclick", "<b>", "javascript:"} {
		if strings.Contains(string(html), bad) {
			t.Errorf("Render: got %q in %s, want no raw HTML", bad, html)
		}
	}
}

func TestLinks(t *testing.T) {
	src := "Line one [a](/en/a).\n" + // 1
		"\n" + // 2
		"[ext](https://x.org) [mail](mailto:a@b.c) [top](#top) ![img](/img/x.png)\n" + // 3
		"[again](/en/a) and [rel](../b.md#part)\n" + // 4
		"\n" + // 5
		"[ref][r]\n" + // 6
		"\n" + // 7
		"[r]: /en/ref\n" + // 8
		"[grav](/install/hardware:rpi) [proto](//cdn.x/y) [img-scheme](image://x.png)\n" // 9
	got := parseMarkdown([]byte(src)).links()
	want := []Link{{"/en/a", 1}, {"#top", 3}, {"/en/a", 4}, {"../b.md#part", 4}, {"/en/ref", 6}, {"/install/hardware:rpi", 9}}
	if !slices.Equal(got, want) {
		t.Errorf("links: got %v, want %v", got, want)
	}
}

func TestSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Heures d'été", "heures-d-ete"},
		{"  Leading and trailing  ", "leading-and-trailing"},
		{"Œuvre & Cœur", "oeuvre-coeur"},
		{"HTTPS/TLS (v1.3)", "https-tls-v1-3"},
		{"Ça marche ?", "ca-marche"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Slug(tt.in); got != tt.want {
			t.Errorf("Slug(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFoldAccents(t *testing.T) {
	tests := []struct{ in, want string }{
		{"réinitialisé", "reinitialise"},
		{"Noël à l'hôtel", "Noel a l'hotel"},
		{"Œuvre, cœur, Æsop, æther", "OEuvre, coeur, AEsop, aether"},
		{"plain ascii", "plain ascii"},
	}
	for _, tt := range tests {
		if got := FoldAccents(tt.in); got != tt.want {
			t.Errorf("FoldAccents(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// ExampleSlug makes an anchor from a French heading.
func ExampleSlug() {
	fmt.Println(Slug("Réinitialiser le mot de passe"))
	// Output: reinitialiser-le-mot-de-passe
}

func TestHTMLText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "text between tags stays", in: "<div class=\"card\">\n  <p>Card <b>text</b></p>\n</div>", want: "Card text\n"},
		{name: "scripts and styles go", in: "<div>\n<script>var x = 1;</script><style>p{}</style>Shown\n</div>", want: "Shown\n"},
		{name: "unclosed script hides the rest", in: "<div>Before</div>\n<script>\nvar x = '<b>';", want: "Before\n"},
		{name: "templates and comments go", in: "<template><h3>{name}</h3></template><!-- note -->Seen", want: "Seen\n"},
		{name: "attributes never leak", in: `<img src=x onerror=alert(1)><a title="a>b" href="/x">lien</a>`, want: "lien\n"},
		{name: "entities are decoded", in: "<p>Caf&eacute; &amp; th&#233; &lt;3</p>", want: "Café & thé <3\n"},
		{name: "unclosed tag runs to the end", in: "<p>Text</p><img src=x onerror=alert(1)", want: "Text\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := htmlText(tt.in); got != tt.want {
				t.Errorf("htmlText(%q): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSnippetQuotesWholeSentencesOrWords(t *testing.T) {
	long := strings.Repeat("Chat is open on weekdays. ", 20)
	words := strings.Repeat("word ", 100)
	tests := []struct {
		name, in, want string
	}{
		{"short text kept, spaces collapsed", "  Chat  is\n open.  ", "Chat is open."},
		{"long text cut after a sentence", long, strings.TrimSpace(strings.Repeat("Chat is open on weekdays. ", 12))},
		{"no sentence end: cut at a word, with an ellipsis", words, strings.TrimSpace(strings.Repeat("word ", 63)) + "…"},
	}
	for _, tt := range tests {
		if got := snippet(tt.in); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
