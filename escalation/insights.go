package escalation

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Insights: what the console's insights page (admins) shows for a period.
// For editors, a to-do list: the questions the bot could not answer,
// grouped by similarity; the answers visitors marked unhelpful; the
// searches nobody clicked a result of; the most-read and the worst-voted
// articles. For the team, the same period over time (insights_series.go):
// conversations the bot resolved or handed to chat or email, why it
// handed them, the agents' first-response times and the chats' ratings.
//
// The bot's decisions are stored as JSON in messages.body; they are read
// here in Go, never with json_extract, so that the SQL stays plain enough
// for another database. Every list is bounded (the latest rows of the
// period), so a busy quarter costs a page load what a quiet one does.

// InsightsDays are the periods the page offers, in days; the default is
// DefaultInsightsDays.
var InsightsDays = []int{7, 30, 90}

// DefaultInsightsDays is the period of a page that names none.
const DefaultInsightsDays = 30

// Bounds on what one insights page reads and shows.
const (
	maxInsightQuestions = 5_000  // the latest questions grouped per period
	maxInsightVotes     = 50_000 // the latest answer votes read
	maxInsightSearches  = 20_000 // the latest searches without a click read
	maxQuestionGroups   = 50     // groups shown per language
	maxInsightRows      = 20     // articles in each list
	maxSearchGroups     = 30
	maxQuestionRunes    = 300 // an example wording is cut there
)

// The kinds of the bot's decisions the insights read (bot.Kind; the store
// names only what it needs, as answer_vote.go does for KindAnswer).
const (
	botKindOffer   = "offer_person"
	botKindHandoff = "handoff"
	botKindDecline = "decline"
)

// InsightsQuery chooses what the page shows.
type InsightsQuery struct {
	Days int    // one of InsightsDays
	Lang string // the visitors' language ("fr"); "" for all
	// Zone is where days begin, for the points of the series: the
	// business hours' zone. UTC when nil.
	Zone *time.Location
}

// Insights is the page's figures for one period.
type Insights struct {
	Days     int
	Lang     string
	From, To time.Time // the period: From included, To (the end of today) excluded
	StepDays int       // days per point of the series: 1, or 7 for 90 days
	Points   []InsightsPoint
	Total    InsightsPoint // the whole period as one point

	Unanswered []LangQuestions    // by language
	Unhelpful  []UnhelpfulArticle // the most often first
	Searches   SearchCounts
	NoClick    []SearchGroup // the most frequent first
	MostRead   []ArticleReads
	WorstVoted []ArticleVotes
}

// LangQuestions are one language's questions the bot could not answer:
// how many in the period (at most the latest 5,000 are grouped), and
// their groups, the largest first (at most 50).
type LangQuestions struct {
	Lang      string
	Questions int
	Groups    []QuestionGroup
	More      int // groups left out
}

// UnhelpfulArticle is an article the bot answered with and visitors
// marked unhelpful: how often, and up to three of the questions.
type UnhelpfulArticle struct {
	Lang, ArticleID, Title, URL string
	Count                       int
	Questions                   []Question
}

// SearchCounts are the help center's searches in the period.
type SearchCounts struct {
	Total, Clicked int
}

// SearchGroup is searches without a click that say the same thing: the
// latest wording, how many, and how many found nothing at all.
type SearchGroup struct {
	Lang, Query string
	Count       int
	NoResults   int
}

// ArticleReads is how often an article was read in the period.
type ArticleReads struct {
	Lang, ArticleID string
	Views           int
}

// ArticleVotes is an article's votes in the period: on its page ("was
// this helpful?") and on the bot's answers quoting it.
type ArticleVotes struct {
	Lang, ArticleID, Title string
	Helpful, Unhelpful     int
}

// Votes is how many votes the article had.
func (a ArticleVotes) Votes() int { return a.Helpful + a.Unhelpful }

// UnhelpfulShare is the share of the votes that said unhelpful, 0 to 1.
func (a ArticleVotes) UnhelpfulShare() float64 {
	if a.Votes() == 0 {
		return 0
	}
	return float64(a.Unhelpful) / float64(a.Votes())
}

// minArticleVotes is the least votes an article needs to be among the
// worst voted: one visitor's bad day says nothing.
const minArticleVotes = 3

// ValidInsightsDays reports whether days is a period the page offers.
func ValidInsightsDays(days int) bool { return slices.Contains(InsightsDays, days) }

// Insights reads the figures of the period q names.
func (s *Store) Insights(ctx context.Context, q InsightsQuery) (Insights, error) {
	if !ValidInsightsDays(q.Days) {
		return Insights{}, fmt.Errorf("store: insights: %w", invalid("days", "want 7, 30 or 90"))
	}
	if q.Zone == nil {
		q.Zone = time.UTC
	}
	p := newPeriod(s.Now(), q.Days, q.Zone)
	in := Insights{Days: q.Days, Lang: q.Lang, From: p.from, To: p.to, StepDays: p.step}
	w := insightWindow{from: searchBound(p.from, false), to: searchBound(p.to, false), lang: q.Lang}
	var err error
	if in.Points, in.Total, err = s.insightSeries(ctx, w, p); err != nil {
		return Insights{}, fmt.Errorf("store: insights: %w", err)
	}
	offered, err := s.offeredQuestions(ctx, w)
	if err != nil {
		return Insights{}, fmt.Errorf("store: insights: %w", err)
	}
	votes, err := s.answerVotes(ctx, w)
	if err != nil {
		return Insights{}, fmt.Errorf("store: insights: %w", err)
	}
	in.Unanswered = unanswered(offered, votes)
	in.Unhelpful = unhelpfulArticles(votes)
	if in.WorstVoted, err = s.worstVoted(ctx, w, votes); err != nil {
		return Insights{}, fmt.Errorf("store: insights: %w", err)
	}
	if in.Searches, in.NoClick, err = s.searchesWithoutClick(ctx, w); err != nil {
		return Insights{}, fmt.Errorf("store: insights: %w", err)
	}
	if in.MostRead, err = s.mostRead(ctx, p, q.Lang); err != nil {
		return Insights{}, fmt.Errorf("store: insights: %w", err)
	}
	return in, nil
}

// The queries of the to-do lists. Each takes the window's bounds and
// language (insightWindow.args), then any limit. The period's tables are
// reached through the indexes on their times (migrations 012, 016, 017);
// insights_plan_test.go reads the plans.
const (
	// offeredQuestionsQuery reads the offers of a person of the window,
	// the latest first, with the question each answered.
	offeredQuestionsQuery = `
		SELECT c.lang, v.conversation_id, v.body, v.created_at, b.body
		FROM messages b
		JOIN messages v ON v.conversation_id = b.conversation_id AND v.seq = b.reply_to
		JOIN conversations c ON c.id = b.conversation_id
		WHERE b.role = 'bot' AND b.kind = '` + botKindOffer + `' AND b.created_at >= ? AND b.created_at < ?
			AND (? = '' OR c.lang = ?)
		ORDER BY b.created_at DESC LIMIT ?`
	// answerVotesQuery reads the votes on answers cast or changed in the
	// window, the latest first, with the answer and its question.
	answerVotesQuery = `
		SELECT c.lang, av.conversation_id, av.helpful, b.body, COALESCE(v.body, ''), COALESCE(v.created_at, av.updated_at)
		FROM answer_votes av
		JOIN messages b ON b.conversation_id = av.conversation_id AND b.seq = av.seq
		JOIN conversations c ON c.id = av.conversation_id
		LEFT JOIN messages v ON v.conversation_id = b.conversation_id AND v.seq = b.reply_to
		WHERE av.updated_at >= ? AND av.updated_at < ? AND (? = '' OR c.lang = ?)
		ORDER BY av.updated_at DESC LIMIT ?`
	// articleVotesQuery counts the votes on the help center's pages cast
	// or changed in the window, per article.
	articleVotesQuery = `
		SELECT lang, article_id, SUM(helpful), COUNT(*) FROM article_votes
		WHERE updated_at >= ? AND updated_at < ? AND (? = '' OR lang = ?)
		GROUP BY lang, article_id`
	// searchCountsQuery counts the window's searches, and those a result
	// was opened from.
	searchCountsQuery = `
		SELECT COUNT(*), COUNT(clicked_article) FROM searches
		WHERE created_at >= ? AND created_at < ? AND (? = '' OR lang = ?)`
	// noClickQuery reads the window's searches no result was opened from,
	// the latest first.
	noClickQuery = `
		SELECT lang, query, results FROM searches
		WHERE created_at >= ? AND created_at < ? AND (? = '' OR lang = ?) AND clicked_article IS NULL
		ORDER BY created_at DESC, id DESC LIMIT ?`
	// mostReadQuery sums the views of the days from the first to the
	// last given, per article, the most first.
	mostReadQuery = `
		SELECT lang, article_id, SUM(views) FROM article_views
		WHERE day >= ? AND day <= ? AND (? = '' OR lang = ?)
		GROUP BY lang, article_id
		ORDER BY SUM(views) DESC, lang, article_id LIMIT ?`
)

// insightWindow is the period as the store's times compare (searchBound:
// UTC to the second, a prefix of every stored layout), and the language.
type insightWindow struct {
	from, to string
	lang     string
}

// args are the window's bounds, then its language twice: the arguments
// of the queries' time range and of their "all languages, or this one".
func (w insightWindow) args() []any { return []any{w.from, w.to, w.lang, w.lang} }

// period is the page's period cut into points.
type period struct {
	from, to time.Time
	step     int         // days per point
	starts   []time.Time // each point's first instant; the next one's ends it
}

// newPeriod ends the period with today (in loc) and cuts it into days,
// or into weeks when it is longer than a month: 7 and 30 days are 7 and
// 30 points, 90 days 13 weeks (91 days). Days begin at midnight in loc,
// so a day of a change of clock is 23 or 25 hours long, as it was lived.
func newPeriod(now time.Time, days int, loc *time.Location) period {
	p := period{step: 1}
	n := days
	if days > 31 {
		p.step, n = 7, (days+6)/7
	}
	y, m, d := now.In(loc).Date()
	first := d + 1 - n*p.step
	for i := 0; i <= n; i++ {
		p.starts = append(p.starts, time.Date(y, m, first+i*p.step, 0, 0, 0, 0, loc))
	}
	p.from, p.to = p.starts[0], p.starts[n]
	p.starts = p.starts[:n]
	return p
}

// point is the index of the point t falls in; -1 outside the period.
func (p period) point(t time.Time) int {
	if t.Before(p.from) || !t.Before(p.to) {
		return -1
	}
	i, found := slices.BinarySearchFunc(p.starts, t, func(start, t time.Time) int { return start.Compare(t) })
	if found {
		return i
	}
	return i - 1
}

// storedDecision is what the insights read of a bot message's body: the
// JSON of bot.Decision.
type storedDecision struct {
	Kind    string `json:"kind"`
	Lang    string `json:"lang"`
	Reason  string `json:"reason"`
	Article *struct {
		ID    string `json:"id"`
		Lang  string `json:"lang"`
		Title string `json:"title"`
		URL   string `json:"url"`
	} `json:"article"`
}

// parseDecision reads a bot message's body; a body that is not a
// decision reads as an empty one.
func parseDecision(body string) storedDecision {
	var d storedDecision
	_ = json.Unmarshal([]byte(body), &d)
	return d
}

// langQuestion is a question and the language it was asked in.
type langQuestion struct {
	lang string
	Question
}

// offeredQuestions reads the latest visitor messages the bot answered by
// offering a person because no article was likely enough (an offer that
// says no reason was stored before reasons were: offers then had no other).
func (s *Store) offeredQuestions(ctx context.Context, w insightWindow) ([]langQuestion, error) {
	rows, err := s.read.QueryContext(ctx, offeredQuestionsQuery, append(w.args(), maxInsightQuestions)...)
	if err != nil {
		return nil, fmt.Errorf("offered questions: %w", err)
	}
	defer rows.Close()
	var out []langQuestion
	for rows.Next() {
		var q langQuestion
		var at, decision string
		if err := rows.Scan(&q.lang, &q.ConversationID, &q.Text, &at, &decision); err != nil {
			return nil, fmt.Errorf("offered questions: %w", err)
		}
		if r := parseDecision(decision).Reason; r != "" && r != ReasonLowConfidence {
			continue
		}
		q.At = parseTime(at)
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("offered questions: %w", err)
	}
	return out, nil
}

// answerVote is a visitor's vote on a bot answer, with the answer's
// article and the question it answered.
type answerVote struct {
	question langQuestion // Text "" when the question is gone
	helpful  bool
	decision storedDecision
}

// answerVotes reads the latest votes on the bot's answers cast (or
// changed) in the period, the latest first.
func (s *Store) answerVotes(ctx context.Context, w insightWindow) ([]answerVote, error) {
	rows, err := s.read.QueryContext(ctx, answerVotesQuery, append(w.args(), maxInsightVotes)...)
	if err != nil {
		return nil, fmt.Errorf("answer votes: %w", err)
	}
	defer rows.Close()
	var out []answerVote
	for rows.Next() {
		var v answerVote
		var body, at string
		if err := rows.Scan(&v.question.lang, &v.question.ConversationID, &v.helpful, &body, &v.question.Text, &at); err != nil {
			return nil, fmt.Errorf("answer votes: %w", err)
		}
		v.question.At, v.decision = parseTime(at), parseDecision(body)
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("answer votes: %w", err)
	}
	return out, nil
}

// unanswered groups, per language, the questions the bot offered a
// person for and those whose answer was voted unhelpful: the latest 5,000
// of them.
func unanswered(offered []langQuestion, votes []answerVote) []LangQuestions {
	qs := slices.Clone(offered)
	for _, v := range votes {
		if !v.helpful && strings.TrimSpace(v.question.Text) != "" {
			qs = append(qs, v.question)
		}
	}
	slices.SortStableFunc(qs, func(a, b langQuestion) int { return b.At.Compare(a.At) })
	qs = qs[:min(len(qs), maxInsightQuestions)]
	byLang := map[string][]Question{}
	for _, q := range qs {
		q.Text = shortQuestion(q.Text)
		byLang[q.lang] = append(byLang[q.lang], q.Question)
	}
	var out []LangQuestions
	for lang, list := range byLang {
		groups := GroupQuestions(list, lang)
		lq := LangQuestions{Lang: lang, Questions: len(list), Groups: groups[:min(len(groups), maxQuestionGroups)]}
		lq.More = len(groups) - len(lq.Groups)
		out = append(out, lq)
	}
	// The language with the most questions first.
	slices.SortFunc(out, func(a, b LangQuestions) int {
		if a.Questions != b.Questions {
			return b.Questions - a.Questions
		}
		return strings.Compare(a.Lang, b.Lang)
	})
	return out
}

// shortQuestion trims a wording and cuts a long one: the page shows what
// was asked, not a pasted log.
func shortQuestion(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxQuestionRunes {
		s = string([]rune(s)[:maxQuestionRunes]) + "…"
	}
	return s
}

// articleKey names an article in one language.
type articleKey struct{ lang, id string }

// votedArticle is the article a voted answer quoted; ok is false for an
// answer that names none.
func (v answerVote) votedArticle() (articleKey, bool) {
	a := v.decision.Article
	if a == nil || a.ID == "" {
		return articleKey{}, false
	}
	return articleKey{lang: cmp.Or(a.Lang, v.decision.Lang, v.question.lang), id: a.ID}, true
}

// unhelpfulArticles counts the unhelpful votes of the latest 5,000 per
// article the answer quoted, the most first, with up to three questions.
func unhelpfulArticles(votes []answerVote) []UnhelpfulArticle {
	byArticle := map[articleKey]*UnhelpfulArticle{}
	var order []articleKey
	seen := 0
	for _, v := range votes {
		if v.helpful {
			continue
		}
		if seen++; seen > maxInsightQuestions {
			break
		}
		k, ok := v.votedArticle()
		if !ok {
			continue
		}
		ua := byArticle[k]
		if ua == nil {
			ua = &UnhelpfulArticle{Lang: k.lang, ArticleID: k.id, Title: v.decision.Article.Title, URL: v.decision.Article.URL}
			byArticle[k] = ua
			order = append(order, k)
		}
		ua.Count++
		if text := shortQuestion(v.question.Text); text != "" && len(ua.Questions) < maxExamples &&
			!slices.ContainsFunc(ua.Questions, func(q Question) bool { return strings.EqualFold(q.Text, text) }) {
			q := v.question.Question
			q.Text = text
			ua.Questions = append(ua.Questions, q)
		}
	}
	out := make([]UnhelpfulArticle, 0, len(order))
	for _, k := range order { // votes come latest first: ties stay in that order
		out = append(out, *byArticle[k])
	}
	slices.SortStableFunc(out, func(a, b UnhelpfulArticle) int { return b.Count - a.Count })
	return out[:min(len(out), maxInsightRows)]
}

// worstVoted adds the votes on the help center's pages to those on the
// bot's answers, per article, and keeps the articles with at least three
// votes and one unhelpful, the largest unhelpful share first.
func (s *Store) worstVoted(ctx context.Context, w insightWindow, votes []answerVote) ([]ArticleVotes, error) {
	byArticle := map[articleKey]*ArticleVotes{}
	get := func(k articleKey) *ArticleVotes {
		if byArticle[k] == nil {
			byArticle[k] = &ArticleVotes{Lang: k.lang, ArticleID: k.id}
		}
		return byArticle[k]
	}
	rows, err := s.read.QueryContext(ctx, articleVotesQuery, w.args()...)
	if err != nil {
		return nil, fmt.Errorf("article votes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k articleKey
		var helpful, total int
		if err := rows.Scan(&k.lang, &k.id, &helpful, &total); err != nil {
			return nil, fmt.Errorf("article votes: %w", err)
		}
		a := get(k)
		a.Helpful += helpful
		a.Unhelpful += total - helpful
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("article votes: %w", err)
	}
	for _, v := range votes {
		k, ok := v.votedArticle()
		if !ok {
			continue
		}
		a := get(k)
		if a.Title == "" {
			a.Title = v.decision.Article.Title
		}
		if v.helpful {
			a.Helpful++
		} else {
			a.Unhelpful++
		}
	}
	var out []ArticleVotes
	for _, a := range byArticle {
		if a.Votes() >= minArticleVotes && a.Unhelpful > 0 {
			out = append(out, *a)
		}
	}
	slices.SortFunc(out, func(a, b ArticleVotes) int {
		if c := b.UnhelpfulShare() - a.UnhelpfulShare(); c != 0 {
			if c > 0 {
				return 1
			}
			return -1
		}
		if a.Votes() != b.Votes() {
			return b.Votes() - a.Votes()
		}
		return strings.Compare(a.Lang+"/"+a.ArticleID, b.Lang+"/"+b.ArticleID)
	})
	return out[:min(len(out), maxInsightRows)], nil
}

// searchesWithoutClick counts the period's searches and groups the
// latest 20,000 of those where no result was opened, by their words.
func (s *Store) searchesWithoutClick(ctx context.Context, w insightWindow) (SearchCounts, []SearchGroup, error) {
	var counts SearchCounts
	if err := s.read.QueryRowContext(ctx, searchCountsQuery, w.args()...).
		Scan(&counts.Total, &counts.Clicked); err != nil {
		return SearchCounts{}, nil, fmt.Errorf("searches: %w", err)
	}
	rows, err := s.read.QueryContext(ctx, noClickQuery, append(w.args(), maxInsightSearches)...)
	if err != nil {
		return SearchCounts{}, nil, fmt.Errorf("searches: %w", err)
	}
	defer rows.Close()
	byKey := map[string]*SearchGroup{}
	var order []string
	for rows.Next() {
		var lang, query string
		var results int
		if err := rows.Scan(&lang, &query, &results); err != nil {
			return SearchCounts{}, nil, fmt.Errorf("searches: %w", err)
		}
		key := lang + "\x00" + searchKey(query, lang)
		g := byKey[key]
		if g == nil { // the latest wording names the group
			g = &SearchGroup{Lang: lang, Query: shortQuestion(query)}
			byKey[key] = g
			order = append(order, key)
		}
		g.Count++
		if results == 0 {
			g.NoResults++
		}
	}
	if err := rows.Err(); err != nil {
		return SearchCounts{}, nil, fmt.Errorf("searches: %w", err)
	}
	out := make([]SearchGroup, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	slices.SortStableFunc(out, func(a, b SearchGroup) int { return b.Count - a.Count })
	return counts, out[:min(len(out), maxSearchGroups)], nil
}

// mostRead sums the article views of the period's days. Views are
// counted per UTC day, so the period's first and last days are those of
// UTC that hold its ends.
func (s *Store) mostRead(ctx context.Context, p period, lang string) ([]ArticleReads, error) {
	const day = "2006-01-02"
	rows, err := s.read.QueryContext(ctx, mostReadQuery,
		p.from.UTC().Format(day), p.to.Add(-time.Nanosecond).UTC().Format(day), lang, lang, maxInsightRows)
	if err != nil {
		return nil, fmt.Errorf("most read: %w", err)
	}
	defer rows.Close()
	var out []ArticleReads
	for rows.Next() {
		var a ArticleReads
		if err := rows.Scan(&a.Lang, &a.ArticleID, &a.Views); err != nil {
			return nil, fmt.Errorf("most read: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("most read: %w", err)
	}
	return out, nil
}
