package console

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Charts for the insights page, drawn here as inline SVG: no script, no
// library, nothing fetched. The console's CSP forbids inline styles, so
// every colour and size is a presentation attribute (fill=, stroke=,
// font-size=), which CSP does not govern. Every text (titles, labels,
// values: some are what visitors typed) goes through esc, and the page
// shows the same figures in a table under each chart, for screen readers
// and for anyone who wants the numbers.

// chartSeries is one run of values: a colour in a stack of bars, or a
// line.
type chartSeries struct {
	Name   string
	Color  string    // "#rrggbb"
	Values []float64 // one per label; NaN for none (no bar, a gap in a line)
}

// chart is what a chart function draws.
type chart struct {
	Title  string   // its accessible name: the SVG's <title> and aria-label
	Labels []string // one per point along the x axis; one per row for hBars
	Series []chartSeries
	// Max is the top of the value axis; 0 rounds the data's largest up.
	Max float64
	// Whole says the values are counts: the axis steps by whole numbers.
	Whole bool
	// Format writes a value for the axis and the tooltips; nil writes it
	// with up to one decimal.
	Format func(float64) string
	Empty  string // what a chart with nothing to show says instead
}

// Chart geometry, in the SVG's own units: it scales to its box.
const (
	chartWidth   = 640
	chartHeight  = 240
	chartLeft    = 60 // room for the value axis's labels
	chartRight   = 12
	chartBottom  = 30 // room for the x labels
	legendRow    = 18
	chartFont    = 12
	hBarRow      = 36 // a row of hBars: its label, then its bar
	hBarLabelMax = 90 // characters of a row's label
)

// chartPalette colours the series in order; chosen to stay apart for the
// common colour blindnesses, and against the console's light background.
var chartPalette = []string{"#2f6fb0", "#e08a1e", "#3a9a5b", "#c24b5a", "#7d5ba6", "#7a7a7a"}

// esc makes text safe inside SVG text and attribute values: html's
// escaping (&, <, >, ', ") is valid XML too.
func esc(s string) string { return html.EscapeString(s) }

// num writes a coordinate; never NaN or infinite, whatever the data.
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// format writes a value as the chart says.
func (c chart) format(v float64) string {
	if c.Format != nil {
		return c.Format(v)
	}
	if c.Whole || v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// usable reports whether v is a value to draw.
func usable(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) && v > 0 }

// axis returns the top of the value axis and its step: the largest value
// (or Max) rounded up to a step of 1, 2 or 5 times a power of ten, about
// four steps in all. top is 0 when there is nothing to draw.
func (c chart) axis(largest float64) (top, step float64) {
	if c.Max > 0 {
		largest = c.Max
	}
	if !usable(largest) {
		return 0, 0
	}
	raw := largest / 4
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * pow
	for _, m := range []float64{1, 2, 5} {
		if m*pow >= raw {
			step = m * pow
			break
		}
	}
	if c.Whole {
		step = math.Max(1, math.Ceil(step))
	}
	top = step * math.Ceil(largest/step)
	if c.Max > 0 {
		top = c.Max
	}
	return top, step
}

// svgOpen starts an SVG of the given height with its accessible name.
func svgOpen(b *strings.Builder, title string, height int) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" font-family="system-ui, sans-serif" font-size="%d">`,
		chartWidth, height, chartWidth, height, esc(title), chartFont)
	fmt.Fprintf(b, `<title>%s</title>`, esc(title))
}

// emptyChart is a chart with nothing to show: its frame and a sentence.
func emptyChart(c chart, height int) template.HTML {
	var b strings.Builder
	svgOpen(&b, c.Title, height)
	fmt.Fprintf(&b, `<rect class="frame" x="0.5" y="0.5" width="%d" height="%d" fill="none" stroke="#d0d4da"/>`, chartWidth-1, height-1)
	fmt.Fprintf(&b, `<text class="empty" x="%d" y="%d" text-anchor="middle" fill="#5b6470">%s</text>`, chartWidth/2, height/2+4, esc(c.Empty))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// legend draws the series' names over the plot, in as many rows as they
// need, and returns the height it took.
func legend(b *strings.Builder, series []chartSeries) int {
	if len(series) < 2 {
		return 6
	}
	x, y := chartLeft, legendRow-4
	for _, s := range series {
		w := 18 + utf8.RuneCountInString(s.Name)*7 + 16
		if x+w > chartWidth && x > chartLeft {
			x, y = chartLeft, y+legendRow
		}
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d" fill="#1f2328">%s</text>`,
			x, y-10, esc(s.Color), x+16, y, esc(s.Name))
		x += w
	}
	return y + 10
}

// valueAxis draws the horizontal grid lines and their values.
func valueAxis(b *strings.Builder, c chart, top, step float64, plotTop, plotBottom int) {
	for v := 0.0; v <= top+step/1000; v += step {
		y := float64(plotBottom) - v/top*float64(plotBottom-plotTop)
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="#e3e6ea"/>`, chartLeft, chartWidth-chartRight, num(y), num(y))
		fmt.Fprintf(b, `<text x="%d" y="%s" text-anchor="end" fill="#5b6470">%s</text>`, chartLeft-6, num(y+4), esc(c.format(v)))
	}
}

// xLabels draws the points' labels, every so many so that they do not
// overlap: about ten at most.
func xLabels(b *strings.Builder, labels []string, slot float64, y int) {
	every := max(1, (len(labels)+9)/10)
	for i, l := range labels {
		if i%every != 0 {
			continue
		}
		fmt.Fprintf(b, `<text x="%s" y="%d" text-anchor="middle" fill="#5b6470">%s</text>`,
			num(chartLeft+(float64(i)+0.5)*slot), y, esc(l))
	}
}

// stackedBars draws one bar per label, its series stacked from the
// bottom, each segment as tall as its share of the axis.
func stackedBars(c chart) template.HTML {
	largest := 0.0
	for i := range c.Labels {
		sum := 0.0
		for _, s := range c.Series {
			if i < len(s.Values) && usable(s.Values[i]) {
				sum += s.Values[i]
			}
		}
		largest = math.Max(largest, sum)
	}
	top, step := c.axis(largest)
	if len(c.Labels) == 0 || top == 0 || largest == 0 {
		return emptyChart(c, chartHeight)
	}
	var b strings.Builder
	plotBottom, slot, scale := timeFrame(&b, c, top, step)
	width := math.Min(slot*0.7, 40)
	for i, label := range c.Labels {
		x := chartLeft + float64(i)*slot + (slot-width)/2
		y := float64(plotBottom)
		for _, s := range c.Series {
			if i >= len(s.Values) || !usable(s.Values[i]) {
				continue
			}
			h := math.Min(s.Values[i], top) * scale
			y -= h
			fmt.Fprintf(&b, `<rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>`,
				num(x), num(y), num(width), num(h), esc(s.Color), esc(label+" · "+s.Name+" : "+c.format(s.Values[i])))
		}
	}
	xLabels(&b, c.Labels, slot, chartHeight-10)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// timeFrame opens a chart over time: the SVG, the legend and the value
// axis up to top. It returns the plot's bottom, the width of one label's
// slot and the height of one unit.
func timeFrame(b *strings.Builder, c chart, top, step float64) (plotBottom int, slot, scale float64) {
	svgOpen(b, c.Title, chartHeight)
	plotTop := legend(b, c.Series) + 8
	plotBottom = chartHeight - chartBottom
	valueAxis(b, c, top, step, plotTop, plotBottom)
	slot = float64(chartWidth-chartLeft-chartRight) / float64(len(c.Labels))
	return plotBottom, slot, float64(plotBottom-plotTop) / top
}

// lines draws each series as a line through its values, with a dot on
// each; a NaN breaks the line.
func lines(c chart) template.HTML {
	largest := 0.0
	for _, s := range c.Series {
		for _, v := range s.Values {
			if usable(v) {
				largest = math.Max(largest, v)
			}
		}
	}
	top, step := c.axis(largest)
	if len(c.Labels) == 0 || top == 0 || largest == 0 {
		return emptyChart(c, chartHeight)
	}
	var b strings.Builder
	plotBottom, slot, scale := timeFrame(&b, c, top, step)
	at := func(i int, v float64) (x, y float64) {
		return chartLeft + (float64(i)+0.5)*slot, float64(plotBottom) - math.Min(v, top)*scale
	}
	for _, s := range c.Series {
		var run []string
		flush := func() {
			if len(run) > 1 {
				fmt.Fprintf(&b, `<polyline class="line" points="%s" fill="none" stroke="%s" stroke-width="2"/>`,
					strings.Join(run, " "), esc(s.Color))
			}
			run = run[:0]
		}
		for i := range c.Labels {
			if i >= len(s.Values) || math.IsNaN(s.Values[i]) || math.IsInf(s.Values[i], 0) || s.Values[i] < 0 {
				flush()
				continue
			}
			x, y := at(i, s.Values[i])
			run = append(run, num(x)+","+num(y))
		}
		flush()
		for i, label := range c.Labels {
			if i >= len(s.Values) || math.IsNaN(s.Values[i]) || math.IsInf(s.Values[i], 0) || s.Values[i] < 0 {
				continue
			}
			x, y := at(i, s.Values[i])
			fmt.Fprintf(&b, `<circle class="dot" cx="%s" cy="%s" r="3" fill="%s"><title>%s</title></circle>`,
				num(x), num(y), esc(s.Color), esc(label+" · "+s.Name+" : "+c.format(s.Values[i])))
		}
	}
	xLabels(&b, c.Labels, slot, chartHeight-10)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// hBars draws one row per label: the label, then a bar as long as its
// share of the largest value (the first series only), and the value.
func hBars(c chart) template.HTML {
	var values []float64
	if len(c.Series) > 0 {
		values = c.Series[0].Values
	}
	largest := 0.0
	for _, v := range values {
		if usable(v) {
			largest = math.Max(largest, v)
		}
	}
	if len(c.Labels) == 0 || largest == 0 {
		return emptyChart(c, 60)
	}
	top := largest
	if c.Max > 0 {
		top = c.Max
	}
	height := len(c.Labels)*hBarRow + 8
	var b strings.Builder
	svgOpen(&b, c.Title, height)
	room := float64(chartWidth - 8 - 70) // room for the value after the longest bar
	for i, label := range c.Labels {
		y := i*hBarRow + 4
		if utf8.RuneCountInString(label) > hBarLabelMax {
			label = string([]rune(label)[:hBarLabelMax]) + "…"
		}
		fmt.Fprintf(&b, `<text x="4" y="%d" fill="#1f2328">%s</text>`, y+12, esc(label))
		v := 0.0
		if i < len(values) && usable(values[i]) {
			v = values[i]
		}
		w := math.Min(v, top) / top * room
		fmt.Fprintf(&b, `<rect class="bar" x="4" y="%d" width="%s" height="14" fill="%s"><title>%s</title></rect>`,
			y+17, num(w), esc(c.Series[0].Color), esc(label+" : "+c.format(v)))
		fmt.Fprintf(&b, `<text x="%s" y="%d" fill="#5b6470">%s</text>`, num(4+w+6), y+28, esc(c.format(v)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
