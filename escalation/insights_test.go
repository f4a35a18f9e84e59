package escalation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// insightsWeek seeds a week of traffic through the store's own functions:
// conversations with the bot's decisions as the widget stores them,
// votes, chats claimed and rated, tickets answered by email, searches and
// article views. now is Monday 9 March 2026, 15:00 UTC; the 7-day period
// is 3 to 9 March.
type insightsWeek struct {
	t     *testing.T
	s     *Store
	d     *Desk
	clock *clock
	agent Agent
	n     int // client ids
}

var insightsNow = time.Date(2026, 3, 9, 15, 0, 0, 0, time.UTC)

// marchDay is 9:00 UTC on d March 2026, plus extra.
func marchDay(d int, extra time.Duration) time.Time {
	return time.Date(2026, 3, d, 9, 0, 0, 0, time.UTC).Add(extra)
}

func newInsightsWeek(t *testing.T) *insightsWeek {
	d, s := newTestDesk(t)
	c := &clock{now: marchDay(1, 0)}
	s.Now = c.Now
	w := &insightsWeek{t: t, s: s, d: d, clock: c}
	w.agent = addTestAgent(t, s, "Ana")
	return w
}

func (w *insightsWeek) at(t time.Time) *insightsWeek { w.clock.now = t; return w }

func (w *insightsWeek) conversation(lang string) int64 {
	w.t.Helper()
	c, _, err := w.s.CreateConversation(context.Background(), lang, "https://shop.example")
	if err != nil {
		w.t.Fatal(err)
	}
	return c.ID
}

// ask stores a visitor's question and returns its seq.
func (w *insightsWeek) ask(conv int64, text string) int64 {
	w.t.Helper()
	w.n++
	m, _, err := w.s.AppendMessage(context.Background(), NewMessage{ConversationID: conv, Role: RoleVisitor,
		ClientID: fmt.Sprintf("c%d", w.n), Kind: "text", Body: text})
	if err != nil {
		w.t.Fatal(err)
	}
	return m.Seq
}

// decide stores the bot's decision on question seq, as the widget does:
// the kind in the column, the decision's JSON in the body.
func (w *insightsWeek) decide(conv, question int64, d map[string]any) int64 {
	w.t.Helper()
	body, err := json.Marshal(d)
	if err != nil {
		w.t.Fatal(err)
	}
	m, _, err := w.s.AppendMessage(context.Background(), NewMessage{ConversationID: conv, Role: RoleBot, ReplyTo: question,
		Kind: d["kind"].(string), Body: string(body)})
	if err != nil {
		w.t.Fatal(err)
	}
	return m.Seq
}

func answerIn(lang, article, title string) map[string]any {
	return map[string]any{"kind": "answer", "lang": lang, "text": "Voici", "confidence": 0.8,
		"article": map[string]any{"id": article, "lang": lang, "title": title, "url": "/" + lang + "/" + article}}
}

func decisionOf(kind, lang, reason string) map[string]any {
	d := map[string]any{"kind": kind, "lang": lang, "text": "…", "confidence": 0.1}
	if reason != "" {
		d["reason"] = reason
	}
	return d
}

func (w *insightsWeek) vote(conv, seq int64, helpful bool) {
	w.t.Helper()
	if _, err := w.s.RecordAnswerVote(context.Background(), conv, seq, helpful); err != nil {
		w.t.Fatal(err)
	}
}

func (w *insightsWeek) must(_ any, err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *insightsWeek) ticket(conv int64, lang string) CreatedTicket {
	w.t.Helper()
	ct, err := w.d.CreateTicket(context.Background(), NewTicket{ConversationID: conv, Lang: lang, Topic: "billing",
		Email: "visitor@example.org", Message: "Please help"})
	if err != nil {
		w.t.Fatal(err)
	}
	return ct
}

func (w *insightsWeek) reply(ref string) {
	w.t.Helper()
	w.must(w.d.AgentReply(context.Background(), w.agent, ref, "Here is the answer."))
}

// seed writes the week. What each conversation should count as is said
// beside it; TestInsightsOfAWeek checks the sums.
func (w *insightsWeek) seed() {
	ctx := context.Background()
	s := w.s

	// Out of the period (1 March): counts nowhere.
	w.at(marchDay(1, 0))
	k := w.conversation("fr")
	w.decide(k, w.ask(k, "réinitialiser mot de passe"), decisionOf("offer_person", "fr", "low_confidence"))
	w.must(nil, s.RecordVote(ctx, "fr", "old-article", "voter-old-1", false))

	// 3 March. A: answered, voted unhelpful, nothing more: resolved by
	// the bot, and a question not answered.
	w.at(marchDay(3, 0))
	a := w.conversation("fr")
	aAnswer := w.decide(a, w.ask(a, "Comment réinitialiser mon mot de passe ?"), answerIn("fr", "reset-password", "Réinitialiser le mot de passe"))
	w.vote(a, aAnswer, false)
	// B: offered a person (low confidence), then a chat claimed after
	// two minutes, closed and rated 5.
	w.at(marchDay(3, time.Hour))
	b := w.conversation("fr")
	w.decide(b, w.ask(b, "reinitialiser mot de passe"), decisionOf("offer_person", "fr", "low_confidence"))
	w.at(marchDay(3, time.Hour+time.Minute))
	w.must(s.EnqueueChat(ctx, b, "", ""))
	w.at(marchDay(3, time.Hour+3*time.Minute))
	w.must(s.ClaimChat(ctx, b, w.agent.ID))
	w.must(s.CloseChat(ctx, b, w.agent.ID))
	w.must(s.RateChat(ctx, b, ChatRating{Rating: 5}))

	// 4 March. C: asked for a person (explicit), opened a ticket answered
	// two hours later: handed to email.
	w.at(marchDay(4, 0))
	c := w.conversation("en")
	w.decide(c, w.ask(c, "I want to talk to a human"), decisionOf("handoff", "en", "explicit_request"))
	ct := w.ticket(c, "en")
	w.at(marchDay(4, 2*time.Hour))
	w.reply(ct.Ref)
	// D: answered, voted helpful: resolved by the bot.
	w.at(marchDay(4, 3*time.Hour))
	d := w.conversation("fr")
	w.vote(d, w.decide(d, w.ask(d, "Où est ma facture ?"), answerIn("fr", "invoices", "Vos factures")), true)
	// Votes on the help center's pages.
	for i, helpful := range []bool{false, false, true} {
		w.must(nil, s.RecordVote(ctx, "fr", "reset-password", fmt.Sprintf("voter-fr-%d", i), helpful))
	}
	w.must(nil, s.RecordVote(ctx, "en", "reset-password", "voter-en-0", true))
	w.must(nil, s.RecordVote(ctx, "fr", "invoices", "voter-fr-9", true))
	w.must(nil, s.RecordVote(ctx, "fr", "invoices", "voter-fr-8", true))

	// 5 March. E: no decision of the bot, the visitor asked for chat
	// (the button): claimed after ten minutes, rated 2.
	w.at(marchDay(5, 0))
	e := w.conversation("fr")
	w.ask(e, "allo ?")
	w.must(s.EnqueueChat(ctx, e, "", ""))
	w.at(marchDay(5, 10*time.Minute))
	w.must(s.ClaimChat(ctx, e, w.agent.ID))
	w.must(s.CloseChat(ctx, e, w.agent.ID))
	w.must(s.RateChat(ctx, e, ChatRating{Rating: 2}))
	// F: an unsupported topic, declined: neither resolved nor handed over.
	f := w.conversation("en")
	w.decide(f, w.ask(f, "how do I pay with bitcoin"), decisionOf("decline", "en", "unsupported_topic"))

	// 6 March. G: an offer stored before decisions had a reason, with a
	// typo: low confidence, and a question not answered.
	w.at(marchDay(6, 0))
	g := w.conversation("fr")
	w.decide(g, w.ask(g, "Réinitialiser le mot de pase"), decisionOf("offer_person", "fr", ""))
	// H: two answers voted unhelpful, the hand-off that follows, a chat
	// queued and abandoned: handed to chat, not by the button.
	h := w.conversation("en")
	h1 := w.decide(h, w.ask(h, "reset my password"), answerIn("en", "reset-password", "Reset your password"))
	w.vote(h, h1, false)
	w.at(marchDay(6, time.Minute))
	h2 := w.decide(h, w.ask(h, "password reset not working"), answerIn("en", "reset-password", "Reset your password"))
	w.vote(h, h2, false)
	w.decide(h, w.ask(h, "still broken"), decisionOf("handoff", "en", "unhelpful_answers"))
	w.must(s.EnqueueChat(ctx, h, "", ""))
	w.must(s.AbandonChat(ctx, h))

	// 7 March. The contact page: a ticket with no conversation before it,
	// answered after 30 minutes. I: the chat button, then the email form
	// instead: one escalation, handed to email, answered after 4 hours.
	w.at(marchDay(7, 0))
	contact, err := w.d.CreateTicket(ctx, NewTicket{Lang: "en", Topic: "billing", Email: "other@example.org", Message: "Invoice?"})
	if err != nil {
		w.t.Fatal(err)
	}
	i := w.conversation("fr")
	w.must(s.EnqueueChat(ctx, i, "", ""))
	w.must(s.ConvertChatToTicket(ctx, i))
	ti := w.ticket(i, "fr")
	w.at(marchDay(7, 30*time.Minute))
	w.reply(contact.Ref)
	w.at(marchDay(7, 4*time.Hour))
	w.reply(ti.Ref)

	// 8 March: nothing. 9 March (today): J, hostile text, offered a person.
	w.at(marchDay(9, 0))
	j := w.conversation("en")
	w.decide(j, w.ask(j, `<script>alert(1)</script>`), decisionOf("offer_person", "en", "low_confidence"))

	// The help center's searches and reads, through the recorder.
	rec := NewInsightsRecorder(s, InsightsOptions{})
	w.at(marchDay(1, 0))
	rec.SearchDone("fr", "ancien", 0) // out of the period
	rec.ArticleRead("fr", "old")
	w.at(marchDay(4, 0))
	rec.SearchDone("fr", "mot de passe oublié", 0)
	w.at(marchDay(4, time.Minute)) // the latest wording names the group
	rec.SearchDone("fr", "Mot de passe oublie", 0)
	rec.ResultOpened(rec.SearchDone("fr", "facture", 3), "invoices")
	rec.SearchDone("en", "refund policy", 2)
	w.at(marchDay(5, 0))
	rec.SearchDone("en", "policy refund", 2)
	for range 10 {
		rec.ArticleRead("fr", "reset-password")
	}
	w.at(marchDay(6, 0))
	for range 5 {
		rec.ArticleRead("fr", "reset-password")
	}
	for range 12 {
		rec.ArticleRead("en", "faq")
	}
	if err := rec.Flush(ctx); err != nil {
		w.t.Fatal(err)
	}
	w.at(insightsNow)
}

// wordings lists a group's example wordings.
func wordings(g QuestionGroup) []string {
	var out []string
	for _, q := range g.Examples {
		out = append(out, q.Text)
	}
	return out
}

func TestInsightsOfAWeek(t *testing.T) {
	w := newInsightsWeek(t)
	w.seed()
	in, err := w.s.Insights(context.Background(), InsightsQuery{Days: 7})
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC); !in.From.Equal(want) || !in.To.Equal(want.AddDate(0, 0, 7)) || in.StepDays != 1 {
		t.Errorf("period: got %v to %v by %d days, want 3 to 10 March by day", in.From, in.To, in.StepDays)
	}

	t.Run("conversations by how they ended, per day", func(t *testing.T) {
		type counts struct{ Conversations, Bot, Chat, Email int }
		want := []counts{{2, 1, 1, 0}, {2, 1, 0, 1}, {2, 0, 1, 0}, {2, 0, 1, 0}, {2, 0, 0, 2}, {0, 0, 0, 0}, {1, 0, 0, 0}}
		var got []counts
		for _, p := range in.Points {
			got = append(got, counts{p.Conversations, p.Bot, p.Chat, p.Email})
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got  %v\nwant %v", got, want)
		}
		if tot := (counts{in.Total.Conversations, in.Total.Bot, in.Total.Chat, in.Total.Email}); tot != (counts{11, 2, 3, 3}) {
			t.Errorf("total: got %+v", tot)
		}
	})

	t.Run("hand-off reasons, the button's included", func(t *testing.T) {
		want := map[string]int{ReasonLowConfidence: 3, ReasonExplicitRequest: 1, ReasonUnhelpfulAnswers: 1,
			ReasonUnsupportedTopic: 1, ReasonVisitorButton: 3}
		if !reflect.DeepEqual(in.Total.Reasons, want) {
			t.Errorf("total: got %v, want %v", in.Total.Reasons, want)
		}
		perDay := []map[string]int{
			{ReasonLowConfidence: 1}, {ReasonExplicitRequest: 1}, {ReasonVisitorButton: 1, ReasonUnsupportedTopic: 1},
			{ReasonLowConfidence: 1, ReasonUnhelpfulAnswers: 1}, {ReasonVisitorButton: 2}, {}, {ReasonLowConfidence: 1}}
		for i, p := range in.Points {
			if !reflect.DeepEqual(p.Reasons, perDay[i]) {
				t.Errorf("day %d: got %v, want %v", i, p.Reasons, perDay[i])
			}
		}
	})

	t.Run("first response times and ratings", func(t *testing.T) {
		if got, want := in.Total.ChatResponse, (ResponseTimes{Count: 2, Median: 2 * time.Minute, P90: 10 * time.Minute}); got != want {
			t.Errorf("chat: got %+v, want %+v", got, want)
		}
		if got, want := in.Total.EmailResponse, (ResponseTimes{Count: 3, Median: 2 * time.Hour, P90: 4 * time.Hour}); got != want {
			t.Errorf("email: got %+v, want %+v", got, want)
		}
		if got, want := in.Points[4].EmailResponse, (ResponseTimes{Count: 2, Median: 30 * time.Minute, P90: 4 * time.Hour}); got != want {
			t.Errorf("email on 7 March: got %+v, want %+v", got, want)
		}
		if in.Points[0].ChatResponse.Median != 2*time.Minute || in.Points[2].ChatResponse.Median != 10*time.Minute || in.Points[1].ChatResponse.Count != 0 {
			t.Errorf("chat per day: got %+v, %+v, %+v", in.Points[0].ChatResponse, in.Points[1].ChatResponse, in.Points[2].ChatResponse)
		}
		if in.Total.Rated != 2 || in.Total.Satisfied != 1 || in.Total.CSAT() != 0.5 {
			t.Errorf("CSAT: got %d of %d", in.Total.Satisfied, in.Total.Rated)
		}
		if in.Points[0].CSAT() != 1 || in.Points[2].CSAT() != 0 || in.Points[2].Rated != 1 {
			t.Errorf("CSAT per day: got %+v and %+v", in.Points[0], in.Points[2])
		}
	})

	t.Run("questions not answered, grouped per language", func(t *testing.T) {
		if len(in.Unanswered) != 2 {
			t.Fatalf("got %d languages, want 2: %+v", len(in.Unanswered), in.Unanswered)
		}
		byLang := map[string]LangQuestions{}
		for _, lq := range in.Unanswered {
			byLang[lq.Lang] = lq
		}
		fr, en := byLang["fr"], byLang["en"]
		if fr.Questions != 3 || len(fr.Groups) != 1 || fr.Groups[0].Count != 3 {
			t.Fatalf("fr: got %+v, want one group of the three password questions", fr)
		}
		if got, want := wordings(fr.Groups[0]), []string{"Réinitialiser le mot de pase", "reinitialiser mot de passe",
			"Comment réinitialiser mon mot de passe ?"}; !reflect.DeepEqual(got, want) {
			t.Errorf("fr examples: got %q, want %q", got, want)
		}
		if en.Questions != 3 || len(en.Groups) != 2 || en.Groups[0].Count != 2 ||
			!reflect.DeepEqual(wordings(en.Groups[1]), []string{`<script>alert(1)</script>`}) {
			t.Errorf("en: got %+v, want the two reset questions, then the script one", en)
		}
	})

	t.Run("unhelpful answers per article", func(t *testing.T) {
		if len(in.Unhelpful) != 2 {
			t.Fatalf("got %+v", in.Unhelpful)
		}
		en, fr := in.Unhelpful[0], in.Unhelpful[1]
		if en.Lang != "en" || en.ArticleID != "reset-password" || en.Count != 2 || en.Title != "Reset your password" ||
			len(en.Questions) != 2 || en.Questions[0].Text != "password reset not working" {
			t.Errorf("first: got %+v", en)
		}
		if fr.Lang != "fr" || fr.Count != 1 || fr.URL != "/fr/reset-password" || fr.Questions[0].Text != "Comment réinitialiser mon mot de passe ?" {
			t.Errorf("second: got %+v", fr)
		}
	})

	t.Run("worst voted: pages and answers together, three votes at least", func(t *testing.T) {
		want := []ArticleVotes{
			{Lang: "fr", ArticleID: "reset-password", Title: "Réinitialiser le mot de passe", Helpful: 1, Unhelpful: 3},
			{Lang: "en", ArticleID: "reset-password", Title: "Reset your password", Helpful: 1, Unhelpful: 2},
		}
		if !reflect.DeepEqual(in.WorstVoted, want) {
			t.Errorf("got  %+v\nwant %+v", in.WorstVoted, want)
		}
	})

	t.Run("searches without a click, grouped by their words", func(t *testing.T) {
		if in.Searches != (SearchCounts{Total: 5, Clicked: 1}) {
			t.Errorf("counts: got %+v", in.Searches)
		}
		want := []SearchGroup{
			{Lang: "en", Query: "policy refund", Count: 2, NoResults: 0},
			{Lang: "fr", Query: "Mot de passe oublie", Count: 2, NoResults: 2},
		}
		if !reflect.DeepEqual(in.NoClick, want) {
			t.Errorf("got  %+v\nwant %+v", in.NoClick, want)
		}
	})

	t.Run("most read", func(t *testing.T) {
		want := []ArticleReads{{Lang: "fr", ArticleID: "reset-password", Views: 15}, {Lang: "en", ArticleID: "faq", Views: 12}}
		if !reflect.DeepEqual(in.MostRead, want) {
			t.Errorf("got %+v, want %+v", in.MostRead, want)
		}
	})
}

func TestInsightsOfOneLanguage(t *testing.T) {
	w := newInsightsWeek(t)
	w.seed()
	in, err := w.s.Insights(context.Background(), InsightsQuery{Days: 30, Lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Points) != 30 || !in.From.Equal(time.Date(2026, 2, 8, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("30 days: got %d points from %v", len(in.Points), in.From)
	}
	tot := in.Total
	if tot.Conversations != 5 || tot.Bot != 0 || tot.Chat != 1 || tot.Email != 2 {
		t.Errorf("English conversations: got %d: bot %d, chat %d, email %d; want 5: 0, 1, 2", tot.Conversations, tot.Bot, tot.Chat, tot.Email)
	}
	if tot.Rated != 0 || tot.EmailResponse.Count != 2 {
		t.Errorf("English chats and tickets: got %+v", tot)
	}
	if len(in.Unanswered) != 1 || in.Unanswered[0].Lang != "en" {
		t.Errorf("questions: got %+v, want English ones only", in.Unanswered)
	}
	if in.Searches != (SearchCounts{Total: 2}) || len(in.NoClick) != 1 {
		t.Errorf("searches: got %+v, %+v", in.Searches, in.NoClick)
	}
	if len(in.MostRead) != 1 || in.MostRead[0].ArticleID != "faq" || len(in.WorstVoted) != 1 || in.WorstVoted[0].Lang != "en" {
		t.Errorf("articles: got %+v and %+v", in.MostRead, in.WorstVoted)
	}
	want := map[string]int{ReasonExplicitRequest: 1, ReasonUnsupportedTopic: 1, ReasonUnhelpfulAnswers: 1,
		ReasonLowConfidence: 1, ReasonVisitorButton: 1}
	if !reflect.DeepEqual(in.Total.Reasons, want) {
		t.Errorf("English hand-offs: got %v, want %v", in.Total.Reasons, want)
	}
}

func TestInsightsOfAnEmptyStoreAreZero(t *testing.T) {
	s := openTest(t)
	s.Now = func() time.Time { return insightsNow }
	in, err := s.Insights(context.Background(), InsightsQuery{Days: 90})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Points) != 13 || in.StepDays != 7 || in.Total.Conversations != 0 || in.Unanswered != nil || len(in.NoClick) != 0 ||
		len(in.MostRead) != 0 || len(in.WorstVoted) != 0 || in.Total.ChatResponse.Count != 0 {
		t.Errorf("got %+v", in)
	}
}

func TestInsightsRefuseAPeriodNotOffered(t *testing.T) {
	s := openTest(t)
	for _, days := range []int{0, -7, 8, 365} {
		_, err := s.Insights(context.Background(), InsightsQuery{Days: days})
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "days" {
			t.Errorf("%d days: got %v, want a ValidationError on days", days, err)
		}
	}
}

func TestInsightsPeriodEndsWithTodayInTheZone(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	tests := []struct {
		name       string
		now        time.Time
		days       int
		loc        *time.Location
		from, to   time.Time
		points     int
		lastLength time.Duration
	}{
		{"a week of days in UTC", insightsNow, 7, time.UTC,
			time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), 7, 24 * time.Hour},
		{"90 days are 13 weeks ending today", insightsNow, 90, time.UTC,
			time.Date(2025, 12, 9, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), 13, 7 * 24 * time.Hour},
		{"today is the zone's: 23:30 UTC is tomorrow in Paris", time.Date(2026, 3, 9, 23, 30, 0, 0, time.UTC), 7, paris,
			time.Date(2026, 3, 4, 0, 0, 0, 0, paris), time.Date(2026, 3, 11, 0, 0, 0, 0, paris), 7, 24 * time.Hour},
		{"the day clocks go forward is 23 hours long", time.Date(2026, 3, 29, 12, 0, 0, 0, time.UTC), 7, paris,
			time.Date(2026, 3, 23, 0, 0, 0, 0, paris), time.Date(2026, 3, 30, 0, 0, 0, 0, paris), 7, 23 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPeriod(tt.now, tt.days, tt.loc)
			if !p.from.Equal(tt.from) || !p.to.Equal(tt.to) || len(p.starts) != tt.points {
				t.Fatalf("got %v to %v in %d points, want %v to %v in %d", p.from, p.to, len(p.starts), tt.from, tt.to, tt.points)
			}
			if got := p.to.Sub(p.starts[len(p.starts)-1]); got != tt.lastLength {
				t.Errorf("the last point lasts %v, want %v", got, tt.lastLength)
			}
			if p.point(p.from) != 0 || p.point(p.to.Add(-time.Nanosecond)) != tt.points-1 || p.point(p.to) != -1 ||
				p.point(p.from.Add(-time.Nanosecond)) != -1 {
				t.Errorf("point(): the ends fall in the wrong points")
			}
		})
	}
}

func TestResponseTimesTakeTheMedianAndNinetiethPercentile(t *testing.T) {
	tests := []struct {
		name        string
		in          []time.Duration
		median, p90 time.Duration
	}{
		{"none", nil, 0, 0},
		{"one", []time.Duration{time.Minute}, time.Minute, time.Minute},
		{"ten, unsorted", []time.Duration{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}, 5, 9},
		{"two", []time.Duration{time.Hour, time.Minute}, time.Minute, time.Hour},
	}
	for _, tt := range tests {
		got := newResponseTimes(tt.in)
		if got.Median != tt.median || got.P90 != tt.p90 || got.Count != len(tt.in) {
			t.Errorf("%s: got %+v, want median %v, p90 %v", tt.name, got, tt.median, tt.p90)
		}
	}
}
