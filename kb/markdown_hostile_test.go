package kb

import (
	"strings"
	"testing"
)

// TestRenderKeepsOnlyTheHeadingsID: an article's attribute block may name
// a heading's anchor, and nothing else. A style would be rendered, and the
// help-center pages allow inline styles (goldmark's table alignment), so
// an article could restyle or cover the page it is shown in.
func TestRenderKeepsOnlyTheHeadingsID(t *testing.T) {
	src := "## Prices {#prices .notice style=\"position:fixed;inset:0;background:url(javascript:alert(1))\" onclick=\"alert(2)\" data-x=1}\n\n" +
		"| a | b |\n|:--|--:|\n| 1 | 2 |\n"
	html, err := Render(&Article{Source: []byte(src)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), `<h2 id="prices">Prices</h2>`) {
		t.Errorf("heading: got %s, want only its id", html)
	}
	for _, bad := range []string{"position:fixed", "javascript:", "onclick", "notice", "data-x"} {
		if strings.Contains(string(html), bad) {
			t.Errorf("got %q in %s, want the article's attributes dropped", bad, html)
		}
	}
	// The table's alignment is goldmark's own style, and stays.
	if !strings.Contains(string(html), `style="text-align:left"`) || !strings.Contains(string(html), `style="text-align:right"`) {
		t.Errorf("table: got %s, want its alignment", html)
	}
}
