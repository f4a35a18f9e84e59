package console

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

// The insights page (admins): GET /console/insights?days=7|30|90&in=<lang>.
// For editors, a to-do list: questions the bot could not answer, grouped
// by similarity, answers marked unhelpful, searches without a click, the
// most-read and worst-voted articles, missing translations. For the team,
// the period over time, as charts drawn here (chart.go) with their
// figures in a table under each. ?lang= is the page's language, as on
// every console page, so the visitors' language is ?in=. A period other
// than 7, 30 or 90 days, or a language the help center does not have, is
// answered 400 with the choices: a link that says something else than
// what it shows would mislead whoever shares it.

// InsightsStore reads the page's figures; *escalation.Store is one.
type InsightsStore interface {
	Insights(ctx context.Context, q escalation.InsightsQuery) (escalation.Insights, error)
}

var _ InsightsStore = (*escalation.Store)(nil)

// Articles is what the page needs of the help center's articles, which
// escalation does not see: cmd/bulle adapts the knowledge base.
type Articles interface {
	// Langs are the help center's languages, the default first.
	Langs() []string
	// Title is an article's title in lang; "" when there is none.
	Title(lang, id string) string
	// MissingTranslations lists the articles that lack a language.
	MissingTranslations() []MissingTranslation
}

// MissingTranslation is an article not written in every language.
type MissingTranslation struct {
	ID      string
	Title   string   // in the first language it has
	Path    string   // its source file, under the articles folder
	Have    []string // the languages it has
	Missing []string // the languages it lacks
}

// topRows is how many rows a horizontal bar chart shows; the list under
// it has them all.
const topRows = 10

// insightsView is what static/insights.html shows.
type insightsView struct {
	Days    int
	In      string
	Periods []insightsOption
	Langs   []insightsOption
	Period  string // "Du 03/03/2026 au 09/03/2026 (UTC)."

	Figures []insightsFigure

	Unanswered      []unansweredLang
	UnansweredChart template.HTML
	Unhelpful       []unhelpfulRow
	Searches        string // "5 recherches, 1 avec un résultat ouvert"
	NoClick         []noClickRow
	MostRead        []articleRow
	MostReadChart   template.HTML
	WorstVoted      []articleRow
	Missing         []missingRow
	HasArticles     bool

	Charts []insightsChart // over time
}

type insightsOption struct {
	Value, Label string
	Selected     bool
}

type insightsFigure struct {
	Label, Value, Hint string
}

type unansweredLang struct {
	Lang, Count, More string
	Groups            []questionRow
}

type questionRow struct {
	Count    int
	Examples []exampleRow
}

type exampleRow struct {
	Text, URL string
}

type unhelpfulRow struct {
	Lang, Title, URL string
	Count            int
	Questions        []exampleRow
}

type noClickRow struct {
	Lang, Query string
	Count       int
	NoResults   string // "" when every one found something
}

type articleRow struct {
	Lang, Title, ID    string
	Views              int
	Helpful, Unhelpful int
	UnhelpfulShare     string
}

type missingRow struct {
	Title, ID, Path, Have, Missing string
}

// insightsChart is a chart and the table of its figures.
type insightsChart struct {
	ID, Title, Hint string
	SVG             template.HTML
	Head            []string
	Rows            [][]string // the first cell names the point
}

// insightsPage serves GET /console/insights.
func (c *Console) insightsPage(w http.ResponseWriter, r *http.Request, _ string) error {
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.deskSession(w, r, lang)
	if err != nil || sess == nil {
		return err
	}
	pg := c.newDeskPage("insights", r, lang, sess, token)
	if !pg.Admin {
		c.log.Warn("console page refused", "page", "insights", "reason", "not_admin", "agent_id", sess.Agent.ID)
		pg.Page, pg.Error = "refused", pg.W["forbidden"]
		return renderDesk(w, http.StatusForbidden, pg)
	}
	q := r.URL.Query()
	days := escalation.DefaultInsightsDays
	if s := q.Get("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || !escalation.ValidInsightsDays(n) {
			return c.insightsRefusal(w, pg, pg.W["insights_bad_days"])
		}
		days = n
	}
	langs := c.insightLangs()
	in := q.Get("in")
	if in != "" && !slices.Contains(langs, in) {
		return c.insightsRefusal(w, pg, pg.W["insights_bad_lang"])
	}
	ins, err := c.store.Insights(r.Context(), escalation.InsightsQuery{Days: days, Lang: in, Zone: c.zone()})
	if err != nil {
		return fmt.Errorf("console: insights page: %w", err)
	}
	pg.Insights = c.insightsView(pg, ins, langs)
	return renderDesk(w, http.StatusOK, pg)
}

// insightsRefusal answers a period or language the page does not offer:
// 400, with the links to those it does.
func (c *Console) insightsRefusal(w http.ResponseWriter, pg deskPage, why string) error {
	pg.Page, pg.Error = "insights_refused", why
	pg.Insights = &insightsView{Days: escalation.DefaultInsightsDays}
	for _, d := range escalation.InsightsDays {
		pg.Insights.Periods = append(pg.Insights.Periods, insightsOption{Value: insightsURL(pg.Lang, d),
			Label: pg.W["insights_days_"+strconv.Itoa(d)]})
	}
	return renderDesk(w, http.StatusBadRequest, pg)
}

// insightsURL is the page for a period, every language.
func insightsURL(lang string, days int) string {
	return "/console/insights?" + url.Values{"lang": {lang}, "days": {strconv.Itoa(days)}}.Encode()
}

// insightLangs are the help center's languages: the articles', else the
// console's own.
func (c *Console) insightLangs() []string {
	if c.opt.Articles != nil {
		if l := c.opt.Articles.Langs(); len(l) > 0 {
			return l
		}
	}
	return []string{"fr", "en"}
}

// articleTitle names an article: its title in the articles, else the one
// the data had, else its id.
func (c *Console) articleTitle(lang, id, known string) string {
	if c.opt.Articles != nil {
		if t := c.opt.Articles.Title(lang, id); t != "" {
			return t
		}
	}
	if known != "" {
		return known
	}
	return id
}

// langName names a language in the page's words, or gives its code.
func langName(pg deskPage, lang string) string {
	if n := pg.W["lang_"+lang]; n != "" {
		return n
	}
	return lang
}

func (c *Console) insightsView(pg deskPage, in escalation.Insights, langs []string) *insightsView {
	W := pg.W
	v := &insightsView{Days: in.Days, In: in.Lang, HasArticles: c.opt.Articles != nil}
	for _, d := range escalation.InsightsDays {
		v.Periods = append(v.Periods, insightsOption{Value: strconv.Itoa(d), Label: W["insights_days_"+strconv.Itoa(d)], Selected: d == in.Days})
	}
	v.Langs = append(v.Langs, insightsOption{Value: "", Label: W["insights_all_langs"], Selected: in.Lang == ""})
	for _, l := range langs {
		v.Langs = append(v.Langs, insightsOption{Value: l, Label: langName(pg, l), Selected: l == in.Lang})
	}
	v.Period = fmt.Sprintf(W["insights_period"], c.day(in.From, pg.Lang), c.day(in.To.Add(-time.Nanosecond), pg.Lang), c.zone().String())
	v.Figures = figures(pg, in.Total, in.Searches)
	c.todoLists(pg, in, v)
	v.Charts = seriesCharts(pg, in, c)
	return v
}

// day writes t's date in the desk's zone.
func (c *Console) day(t time.Time, lang string) string {
	layout := "2006-01-02"
	if lang == "fr" {
		layout = "02/01/2006"
	}
	return t.In(c.zone()).Format(layout)
}

// percent writes a share, 0 to 1, as the page's language writes it.
func percent(share float64, lang string) string {
	n := strconv.Itoa(int(math.Round(share * 100)))
	if lang == "fr" {
		return n + "\u00a0%"
	}
	return n + "%"
}

// share is part of whole, 0 when whole is.
func share(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) / float64(whole)
}

// duration writes a wait for people: "45 s", "12 min", "3 h 05".
func duration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Round(time.Minute)/time.Minute))
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%d h %02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

func figures(pg deskPage, t escalation.InsightsPoint, searches escalation.SearchCounts) []insightsFigure {
	W, lang := pg.W, pg.Lang
	ofAll := func(n int) string { return fmt.Sprintf(W["fig_share"], percent(share(n, t.Conversations), lang)) }
	first := func(rt escalation.ResponseTimes) (string, string) {
		if rt.Count == 0 {
			return W["none"], ""
		}
		return duration(rt.Median), fmt.Sprintf(W["fig_first_hint"], duration(rt.P90), rt.Count)
	}
	out := []insightsFigure{
		{Label: W["fig_conversations"], Value: strconv.Itoa(t.Conversations)},
		{Label: W["fig_bot"], Value: strconv.Itoa(t.Bot), Hint: ofAll(t.Bot)},
		{Label: W["fig_chat"], Value: strconv.Itoa(t.Chat), Hint: ofAll(t.Chat)},
		{Label: W["fig_email"], Value: strconv.Itoa(t.Email), Hint: ofAll(t.Email)},
	}
	f := insightsFigure{Label: W["fig_chat_first"]}
	f.Value, f.Hint = first(t.ChatResponse)
	out = append(out, f)
	f = insightsFigure{Label: W["fig_email_first"]}
	f.Value, f.Hint = first(t.EmailResponse)
	out = append(out, f)
	csat := insightsFigure{Label: W["fig_csat"], Value: W["none"]}
	if t.Rated > 0 {
		csat.Value, csat.Hint = percent(t.CSAT(), lang), fmt.Sprintf(W["fig_csat_hint"], t.Satisfied, t.Rated)
	}
	out = append(out, csat)
	out = append(out, insightsFigure{Label: W["fig_searches"], Value: strconv.Itoa(searches.Total),
		Hint: fmt.Sprintf(W["fig_searches_hint"], percent(share(searches.Clicked, searches.Total), lang))})
	return out
}

// conversationURL is a question's conversation in the desk.
func conversationURL(id int64, lang string) string {
	return "/console/conversations/" + strconv.FormatInt(id, 10) + "?lang=" + lang
}

func examplesOf(qs []escalation.Question, lang string) []exampleRow {
	var out []exampleRow
	for _, q := range qs {
		out = append(out, exampleRow{Text: q.Text, URL: conversationURL(q.ConversationID, lang)})
	}
	return out
}

// todoLists fills the editors' lists.
func (c *Console) todoLists(pg deskPage, in escalation.Insights, v *insightsView) {
	W, lang := pg.W, pg.Lang
	var topLabels []string
	var topCounts []float64
	for _, lq := range in.Unanswered {
		u := unansweredLang{Lang: langName(pg, lq.Lang), Count: fmt.Sprintf(W["questions_count"], lq.Questions)}
		if lq.More > 0 {
			u.More = fmt.Sprintf(W["groups_more"], lq.More)
		}
		for _, g := range lq.Groups {
			u.Groups = append(u.Groups, questionRow{Count: g.Count, Examples: examplesOf(g.Examples, lang)})
		}
		v.Unanswered = append(v.Unanswered, u)
	}
	// The chart ranks the groups of every language shown together, each
	// named by its latest wording.
	type ranked struct {
		label string
		count int
	}
	var all []ranked
	for _, lq := range in.Unanswered {
		for _, g := range lq.Groups {
			label := g.Examples[0].Text
			if len(in.Unanswered) > 1 {
				label = "[" + lq.Lang + "] " + label
			}
			all = append(all, ranked{label, g.Count})
		}
	}
	slices.SortStableFunc(all, func(a, b ranked) int { return b.count - a.count })
	for _, g := range all[:min(len(all), topRows)] {
		topLabels, topCounts = append(topLabels, g.label), append(topCounts, float64(g.count))
	}
	v.UnansweredChart = hBars(chart{Title: W["unanswered_chart"], Labels: topLabels, Whole: true, Empty: W["no_unanswered"],
		Series: []chartSeries{{Name: W["asked"], Color: chartPalette[3], Values: topCounts}}})

	for _, u := range in.Unhelpful {
		v.Unhelpful = append(v.Unhelpful, unhelpfulRow{Lang: u.Lang, Title: c.articleTitle(u.Lang, u.ArticleID, u.Title),
			URL: deskArticleURL(u.URL), Count: u.Count, Questions: examplesOf(u.Questions, lang)})
	}
	v.Searches = fmt.Sprintf(W["searches_summary"], in.Searches.Total, in.Searches.Clicked)
	for _, s := range in.NoClick {
		row := noClickRow{Lang: s.Lang, Query: s.Query, Count: s.Count}
		switch {
		case s.NoResults == s.Count:
			row.NoResults = W["no_results"]
		case s.NoResults > 0:
			row.NoResults = fmt.Sprintf(W["some_no_results"], s.NoResults)
		}
		v.NoClick = append(v.NoClick, row)
	}
	var readLabels []string
	var reads []float64
	for i, a := range in.MostRead {
		row := articleRow{Lang: a.Lang, ID: a.ArticleID, Title: c.articleTitle(a.Lang, a.ArticleID, ""), Views: a.Views}
		v.MostRead = append(v.MostRead, row)
		if i < topRows {
			readLabels, reads = append(readLabels, "["+a.Lang+"] "+row.Title), append(reads, float64(a.Views))
		}
	}
	v.MostReadChart = hBars(chart{Title: W["most_read"], Labels: readLabels, Whole: true, Empty: W["no_reads"],
		Series: []chartSeries{{Name: W["views"], Color: chartPalette[0], Values: reads}}})
	for _, a := range in.WorstVoted {
		v.WorstVoted = append(v.WorstVoted, articleRow{Lang: a.Lang, ID: a.ArticleID, Title: c.articleTitle(a.Lang, a.ArticleID, a.Title),
			Helpful: a.Helpful, Unhelpful: a.Unhelpful, UnhelpfulShare: percent(a.UnhelpfulShare(), lang)})
	}
	if c.opt.Articles != nil {
		for _, m := range c.opt.Articles.MissingTranslations() {
			if in.Lang != "" && !slices.Contains(m.Missing, in.Lang) {
				continue
			}
			v.Missing = append(v.Missing, missingRow{Title: m.Title, ID: m.ID, Path: m.Path,
				Have: strings.Join(m.Have, ", "), Missing: strings.Join(m.Missing, ", ")})
		}
	}
}

// pointLabel names a point of the series: its first day.
func pointLabel(t time.Time, lang string) string {
	if lang == "fr" {
		return t.Format("02/01")
	}
	return t.Format("Jan 2")
}

// timeUnit picks the unit a chart of waits is drawn in, from its
// largest: seconds, minutes or hours, so that its axis reads "20 min"
// rather than "1200 s".
func timeUnit(largest time.Duration) (time.Duration, string) {
	switch {
	case largest >= 2*time.Hour:
		return time.Hour, "h"
	case largest >= 2*time.Minute:
		return time.Minute, "min"
	}
	return time.Second, "s"
}

// seriesCharts draws the period over time.
func seriesCharts(pg deskPage, in escalation.Insights, c *Console) []insightsChart {
	W, lang := pg.W, pg.Lang
	col := W["col_day"]
	if in.StepDays > 1 {
		col = W["col_week"]
	}
	labels := make([]string, len(in.Points))
	for i, p := range in.Points {
		labels[i] = pointLabel(p.From.In(c.zone()), lang)
	}
	values := func(f func(escalation.InsightsPoint) float64) []float64 {
		out := make([]float64, len(in.Points))
		for i, p := range in.Points {
			out[i] = f(p)
		}
		return out
	}
	rows := func(cells func(p escalation.InsightsPoint) []string) [][]string {
		out := make([][]string, len(in.Points))
		for i, p := range in.Points {
			out[i] = append([]string{labels[i]}, cells(p)...)
		}
		return out
	}
	itoa := strconv.Itoa

	outcomes := insightsChart{ID: "outcomes", Title: W["outcomes_title"], Hint: W["outcomes_hint"],
		Head: []string{col, W["series_bot"], W["series_chat"], W["series_email"], W["col_total"]},
		Rows: rows(func(p escalation.InsightsPoint) []string {
			return []string{itoa(p.Bot), itoa(p.Chat), itoa(p.Email), itoa(p.Conversations)}
		})}
	outcomes.SVG = stackedBars(chart{Title: outcomes.Title, Labels: labels, Whole: true, Empty: W["chart_empty"], Series: []chartSeries{
		{Name: W["series_bot"], Color: chartPalette[2], Values: values(func(p escalation.InsightsPoint) float64 { return float64(p.Bot) })},
		{Name: W["series_chat"], Color: chartPalette[0], Values: values(func(p escalation.InsightsPoint) float64 { return float64(p.Chat) })},
		{Name: W["series_email"], Color: chartPalette[1], Values: values(func(p escalation.InsightsPoint) float64 { return float64(p.Email) })},
	}})

	reasons := insightsChart{ID: "reasons", Title: W["reasons_title"], Hint: W["reasons_hint"], Head: []string{col}}
	var reasonSeries []chartSeries
	var shown []string
	for i, r := range escalation.HandoffReasons {
		if r == escalation.ReasonOther && in.Total.Reasons[r] == 0 {
			continue // only for hand-offs stored before reasons were
		}
		shown = append(shown, r)
		reasons.Head = append(reasons.Head, W["reason_"+r])
		if in.Total.Reasons[r] > 0 {
			reasonSeries = append(reasonSeries, chartSeries{Name: W["reason_"+r], Color: chartPalette[i%len(chartPalette)],
				Values: values(func(p escalation.InsightsPoint) float64 { return float64(p.Reasons[r]) })})
		}
	}
	reasons.Rows = rows(func(p escalation.InsightsPoint) []string {
		var cells []string
		for _, r := range shown {
			cells = append(cells, itoa(p.Reasons[r]))
		}
		return cells
	})
	reasons.SVG = stackedBars(chart{Title: reasons.Title, Labels: labels, Whole: true, Empty: W["chart_empty"], Series: reasonSeries})

	wait := func(id, title string, pick func(escalation.InsightsPoint) escalation.ResponseTimes) insightsChart {
		ch := insightsChart{ID: id, Title: title, Hint: W["first_hint"], Head: []string{col, W["answered"], W["median"], W["p90"]},
			Rows: rows(func(p escalation.InsightsPoint) []string {
				rt := pick(p)
				if rt.Count == 0 {
					return []string{"0", W["none"], W["none"]}
				}
				return []string{itoa(rt.Count), duration(rt.Median), duration(rt.P90)}
			})}
		var largest time.Duration
		for _, p := range in.Points {
			largest = max(largest, pick(p).P90)
		}
		unit, name := timeUnit(largest)
		inUnit := func(f func(escalation.ResponseTimes) time.Duration) []float64 {
			return values(func(p escalation.InsightsPoint) float64 {
				if pick(p).Count == 0 {
					return math.NaN()
				}
				return float64(f(pick(p))) / float64(unit)
			})
		}
		ch.SVG = lines(chart{Title: title, Labels: labels, Empty: W["chart_empty"],
			Format: func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + " " + name },
			Series: []chartSeries{
				{Name: W["median"], Color: chartPalette[0], Values: inUnit(func(rt escalation.ResponseTimes) time.Duration { return rt.Median })},
				{Name: W["p90"], Color: chartPalette[1], Values: inUnit(func(rt escalation.ResponseTimes) time.Duration { return rt.P90 })},
			}})
		return ch
	}

	csat := insightsChart{ID: "csat", Title: W["csat_title"], Head: []string{col, W["rated"], W["satisfied"], W["share"]},
		Rows: rows(func(p escalation.InsightsPoint) []string {
			if p.Rated == 0 {
				return []string{"0", "0", W["none"]}
			}
			return []string{itoa(p.Rated), itoa(p.Satisfied), percent(p.CSAT(), lang)}
		})}
	csat.SVG = stackedBars(chart{Title: csat.Title, Labels: labels, Max: 100, Empty: W["chart_empty"],
		Format: func(v float64) string { return percent(v/100, lang) },
		Series: []chartSeries{{Name: W["share"], Color: chartPalette[2], Values: values(func(p escalation.InsightsPoint) float64 {
			if p.Rated == 0 {
				return math.NaN()
			}
			return p.CSAT() * 100
		})}}})

	return []insightsChart{outcomes, reasons,
		wait("chat_first", W["chat_first_title"], func(p escalation.InsightsPoint) escalation.ResponseTimes { return p.ChatResponse }),
		wait("email_first", W["email_first_title"], func(p escalation.InsightsPoint) escalation.ResponseTimes { return p.EmailResponse }),
		csat}
}
