package console

import (
	"encoding/xml"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
)

// svgElement is an element of a parsed chart: its name, attributes and
// the text directly inside it.
type svgElement struct {
	name  string
	attr  map[string]string
	text  string
	depth int
}

// parseSVG parses a chart as XML, failing the test when it is not
// well-formed, and returns its elements in document order.
func parseSVG(t *testing.T, svg template.HTML) []svgElement {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(string(svg)))
	d.Strict = true
	var out []svgElement
	var open []int // indexes in out of the open elements
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := svgElement{name: tok.Name.Local, attr: map[string]string{}, depth: len(open)}
			for _, a := range tok.Attr {
				e.attr[a.Name.Local] = a.Value
			}
			out = append(out, e)
			open = append(open, len(out)-1)
		case xml.EndElement:
			open = open[:len(open)-1]
		case xml.CharData:
			if len(open) > 0 {
				out[open[len(open)-1]].text += string(tok)
			}
		}
	}
	if len(open) != 0 || len(out) == 0 {
		t.Fatalf("unbalanced or empty SVG: %s", svg)
	}
	return out
}

// svgElementsNamed returns the elements named name with class class ("" for any).
func svgElementsNamed(es []svgElement, name, class string) []svgElement {
	var out []svgElement
	for _, e := range es {
		if e.name == name && (class == "" || e.attr["class"] == class) {
			out = append(out, e)
		}
	}
	return out
}

func attrFloat(t *testing.T, e svgElement, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(e.attr[name], 64)
	if err != nil {
		t.Fatalf("%s %s=%q: %v", e.name, name, e.attr[name], err)
	}
	return v
}

const (
	hostileScript = `<script>alert(1)</script>`
	hostileAttr   = `"><svg onload=alert(1)>`
)

func TestChartsAreWellFormedAndEscapeEveryText(t *testing.T) {
	c := chart{Title: "Questions " + hostileAttr, Labels: []string{hostileScript, "b & c"}, Empty: "none",
		Series: []chartSeries{{Name: hostileAttr, Color: chartPalette[0], Values: []float64{1, 2}},
			{Name: "second", Color: chartPalette[1], Values: []float64{3, math.NaN()}}}}
	for name, draw := range map[string]func(chart) template.HTML{"stackedBars": stackedBars, "lines": lines, "hBars": hBars} {
		t.Run(name, func(t *testing.T) {
			svg := draw(c)
			for _, raw := range []string{"<script", "<svg onload", `"><svg`} {
				if strings.Contains(string(svg), raw) {
					t.Errorf("raw %q in the SVG: %s", raw, svg)
				}
			}
			es := parseSVG(t, svg)
			root := es[0]
			if root.name != "svg" || root.attr["role"] != "img" || root.attr["aria-label"] != c.Title {
				t.Errorf("root: got %+v, want an svg with role img and the title as its label", root)
			}
			if es[1].name != "title" || es[1].text != c.Title {
				t.Errorf("first child: got %+v, want the <title>", es[1])
			}
			var texts []string
			for _, e := range es {
				texts = append(texts, e.text)
			}
			all := strings.Join(texts, "\n")
			if !strings.Contains(all, hostileScript) {
				t.Errorf("the label should read as its characters, once parsed: %q", all)
			}
			if name != "hBars" && !strings.Contains(all, hostileAttr) {
				t.Errorf("the series name should read as its characters, once parsed: %q", all)
			}
			for _, e := range es {
				if _, ok := e.attr["style"]; ok || e.name == "script" || e.name == "style" || e.name == "foreignObject" {
					t.Errorf("%s: no style, script or foreign content under the console's CSP", e.name)
				}
				for k := range e.attr {
					if strings.HasPrefix(strings.ToLower(k), "on") {
						t.Errorf("%s has an event handler attribute %s", e.name, k)
					}
				}
			}
		})
	}
}

func TestStackedBarsAreProportionalAndStack(t *testing.T) {
	c := chart{Title: "t", Labels: []string{"Mon", "Tue", "Wed"}, Whole: true,
		Series: []chartSeries{{Name: "bot", Color: "#111111", Values: []float64{2, 4, 0}},
			{Name: "chat", Color: "#222222", Values: []float64{1, 0, math.NaN()}}}}
	es := parseSVG(t, stackedBars(c))
	bars := svgElementsNamed(es, "rect", "bar")
	if len(bars) != 3 {
		t.Fatalf("got %d bars, want 3 (no bar for 0 or NaN)", len(bars))
	}
	monBot, monChat, tueBot := bars[0], bars[1], bars[2]
	if h2, h4 := attrFloat(t, monBot, "height"), attrFloat(t, tueBot, "height"); math.Abs(h4-2*h2) > 0.2 {
		t.Errorf("a bar of 4 is %.1f high, one of 2 is %.1f: want twice", h4, h2)
	}
	if h1, h2 := attrFloat(t, monChat, "height"), attrFloat(t, monBot, "height"); math.Abs(h2-2*h1) > 0.2 {
		t.Errorf("the stacked 1 is %.1f high against %.1f for 2", h1, h2)
	}
	if top, bottom := attrFloat(t, monBot, "y"), attrFloat(t, monChat, "y")+attrFloat(t, monChat, "height"); math.Abs(top-bottom) > 0.2 {
		t.Errorf("chat should sit on bot: bot's top %.1f, chat's bottom %.1f", top, bottom)
	}
	if monBot.attr["fill"] != "#111111" || monChat.attr["fill"] != "#222222" {
		t.Errorf("colours: got %q and %q", monBot.attr["fill"], monChat.attr["fill"])
	}
	if !strings.Contains(svgElementsNamed(es, "title", "")[1].text, "Mon · bot : 2") {
		t.Errorf("a bar's tooltip: got %q", svgElementsNamed(es, "title", "")[1].text)
	}
}

func TestChartsWithAFixedMaxScaleToIt(t *testing.T) {
	full := chart{Title: "CSAT", Labels: []string{"a", "b"}, Max: 100,
		Series: []chartSeries{{Name: "%", Color: "#111111", Values: []float64{100, 25}}}}
	bars := svgElementsNamed(parseSVG(t, stackedBars(full)), "rect", "bar")
	if len(bars) != 2 {
		t.Fatalf("got %d bars", len(bars))
	}
	if h100, h25 := attrFloat(t, bars[0], "height"), attrFloat(t, bars[1], "height"); math.Abs(h100-4*h25) > 0.2 {
		t.Errorf("100 is %.1f high, 25 is %.1f: want four times", h100, h25)
	}
	rows := svgElementsNamed(parseSVG(t, hBars(full)), "rect", "bar")
	if w100, w25 := attrFloat(t, rows[0], "width"), attrFloat(t, rows[1], "width"); math.Abs(w100-4*w25) > 0.2 {
		t.Errorf("hBars: 100 is %.1f long, 25 is %.1f: want four times", w100, w25)
	}
}

func TestLinesBreakWhereAValueIsMissing(t *testing.T) {
	c := chart{Title: "t", Labels: []string{"1", "2", "3", "4", "5"},
		Series: []chartSeries{{Name: "median", Color: "#111111", Values: []float64{5, 10, math.NaN(), 20, 30}}}}
	es := parseSVG(t, lines(c))
	polys := svgElementsNamed(es, "polyline", "line")
	if len(polys) != 2 || len(strings.Fields(polys[0].attr["points"])) != 2 || len(strings.Fields(polys[1].attr["points"])) != 2 {
		t.Fatalf("got %+v, want two lines of two points", polys)
	}
	dots := svgElementsNamed(es, "circle", "dot")
	if len(dots) != 4 {
		t.Fatalf("got %d dots, want 4", len(dots))
	}
	// Higher values are higher up: a smaller y.
	if !(attrFloat(t, dots[3], "cy") < attrFloat(t, dots[2], "cy") && attrFloat(t, dots[2], "cy") < attrFloat(t, dots[0], "cy")) {
		t.Errorf("dots out of order: %+v", dots)
	}
}

func TestEmptyChartsSaySoWithoutDividingByZero(t *testing.T) {
	tests := []struct {
		name string
		c    chart
	}{
		{"no labels", chart{}},
		{"only zeros", chart{Labels: []string{"a", "b"}, Series: []chartSeries{{Name: "x", Values: []float64{0, 0}}}}},
		{"only missing values", chart{Labels: []string{"a"}, Series: []chartSeries{{Name: "x", Values: []float64{math.NaN()}}}}},
		{"no series", chart{Labels: []string{"a"}}},
	}
	for _, tt := range tests {
		for name, draw := range map[string]func(chart) template.HTML{"stackedBars": stackedBars, "lines": lines, "hBars": hBars} {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				tt.c.Title, tt.c.Empty = "Nothing", "Nothing in this period <yet>"
				svg := draw(tt.c)
				es := parseSVG(t, svg)
				empty := svgElementsNamed(es, "text", "empty")
				if len(empty) != 1 || empty[0].text != tt.c.Empty {
					t.Errorf("got %s, want the empty sentence", svg)
				}
				if s := string(svg); strings.Contains(s, "NaN") || strings.Contains(s, "Inf") || len(svgElementsNamed(es, "rect", "bar")) > 0 {
					t.Errorf("an empty chart drew something: %s", s)
				}
			})
		}
	}
}

func TestChartAxisRoundsUpToAFewWholeSteps(t *testing.T) {
	tests := []struct {
		largest   float64
		whole     bool
		top, step float64
	}{
		{3, true, 3, 1},
		{7, true, 8, 2},
		{38, true, 40, 10},
		{0.6, false, 0.6, 0.2},
		{130, false, 150, 50},
	}
	for _, tt := range tests {
		top, step := chart{Whole: tt.whole}.axis(tt.largest)
		if math.Abs(top-tt.top) > 1e-9 || math.Abs(step-tt.step) > 1e-9 {
			t.Errorf("axis(%v): got top %v step %v, want %v and %v", tt.largest, top, step, tt.top, tt.step)
		}
	}
}
