package escalation

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// The insights over time: one point per day (7 and 30 days) or per week
// (90 days). What each figure counts, and when:
//
//   - Conversations, by the day they started, each counted once by how
//     it ended: handed to chat when an agent took its chat; else handed
//     to email when it has a ticket (a queued chat the visitor turned
//     into a ticket counts there, once); else handed to chat when it
//     queued for one (abandoned or never taken: the bot did hand it
//     over); else resolved by the bot when the bot answered from an
//     article at least once. The rest (small talk, a declined topic, a
//     question left) is in Conversations only.
//   - Hand-off reasons, by the time of the decision: each offer, hand-off
//     and decline of the bot by the reason it stored, and each
//     conversation's first escalation (a chat queued, a ticket opened) that
//     no offer or hand-off of the bot came before, as visitor_button: the
//     visitor used the bubble's "talk to a person" or the contact page.
//   - First response, by the time the visitor asked: for a chat, from
//     queued to claimed (the visitor sees the agent join); for a ticket,
//     from its creation to the first agent reply by email. Median and
//     90th percentile of those answered; one not answered yet is left out.
//   - CSAT, by the time the chat was queued: the share of rated chats
//     rated 4 or 5.

// Hand-off reasons as the insights chart them: the bot's (bot.Reason,
// stored in its decision), and the visitor's own.
const (
	ReasonLowConfidence    = "low_confidence"    // no article was likely enough: an offer
	ReasonExplicitRequest  = "explicit_request"  // the visitor asked the bot for a person
	ReasonUnhelpfulAnswers = "unhelpful_answers" // two answers in a row marked unhelpful
	ReasonUnsupportedTopic = "unsupported_topic" // a topic support does not cover: a decline
	ReasonVisitorButton    = "visitor_button"    // an escalation no decision of the bot came before
	// ReasonOther is a hand-off stored before decisions said why, or with
	// a reason this version does not know.
	ReasonOther = "other"
)

// HandoffReasons are the reasons in the order the page shows them.
var HandoffReasons = []string{ReasonLowConfidence, ReasonExplicitRequest, ReasonUnhelpfulAnswers,
	ReasonUnsupportedTopic, ReasonVisitorButton, ReasonOther}

// InsightsPoint is one day or week of the series (or, as Insights.Total,
// the whole period).
type InsightsPoint struct {
	From time.Time // its first day, at midnight in the query's zone

	Conversations    int // started then
	Bot, Chat, Email int // of those: resolved by the bot, handed to chat, to email

	Reasons map[string]int // hand-offs by reason (HandoffReasons)

	ChatResponse, EmailResponse ResponseTimes

	Rated, Satisfied int // chats rated, and rated 4 or 5
}

// CSAT is the share of rated chats rated 4 or 5, 0 to 1; 0 with none.
func (p InsightsPoint) CSAT() float64 {
	if p.Rated == 0 {
		return 0
	}
	return float64(p.Satisfied) / float64(p.Rated)
}

// ResponseTimes sums up how long visitors waited for a first answer.
type ResponseTimes struct {
	Count       int // requests answered
	Median, P90 time.Duration
}

// newResponseTimes takes the median and the 90th percentile (nearest
// rank) of ds, which it sorts.
func newResponseTimes(ds []time.Duration) ResponseTimes {
	if len(ds) == 0 {
		return ResponseTimes{}
	}
	slices.Sort(ds)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(ds))+0.999999) - 1
		return ds[max(0, min(i, len(ds)-1))]
	}
	return ResponseTimes{Count: len(ds), Median: rank(0.5), P90: rank(0.9)}
}

// seriesAcc adds up the points and the whole period.
type seriesAcc struct {
	p                  period
	points             []InsightsPoint
	total              InsightsPoint
	chatWait, mailWait [][]time.Duration // per point; the last is the total's
}

func newSeriesAcc(p period) *seriesAcc {
	a := &seriesAcc{p: p, total: InsightsPoint{From: p.from, Reasons: map[string]int{}},
		chatWait: make([][]time.Duration, len(p.starts)+1), mailWait: make([][]time.Duration, len(p.starts)+1)}
	for _, start := range p.starts {
		a.points = append(a.points, InsightsPoint{From: start, Reasons: map[string]int{}})
	}
	return a
}

// add applies f to the point at holds and to the total; a time outside
// the period counts nowhere.
func (a *seriesAcc) add(at time.Time, f func(pt *InsightsPoint, i int)) {
	i := a.p.point(at)
	if i < 0 {
		return
	}
	f(&a.points[i], i)
	f(&a.total, len(a.points))
}

func (a *seriesAcc) done() ([]InsightsPoint, InsightsPoint) {
	for i := range a.points {
		a.points[i].ChatResponse, a.points[i].EmailResponse = newResponseTimes(a.chatWait[i]), newResponseTimes(a.mailWait[i])
	}
	n := len(a.points)
	a.total.ChatResponse, a.total.EmailResponse = newResponseTimes(a.chatWait[n]), newResponseTimes(a.mailWait[n])
	return a.points, a.total
}

// insightSeries reads the period's points and total.
func (s *Store) insightSeries(ctx context.Context, w insightWindow, p period) ([]InsightsPoint, InsightsPoint, error) {
	a := newSeriesAcc(p)
	for _, read := range []func(context.Context, insightWindow, *seriesAcc) error{
		s.conversationOutcomes, s.botReasons, s.chatFigures, s.ticketFigures} {
		if err := read(ctx, w, a); err != nil {
			return nil, InsightsPoint{}, err
		}
	}
	points, total := a.done()
	return points, total, nil
}

// escalationMessage is the first message of a conversation that hands
// it to people: the chat_queued note, or the visitor's ticket message.
const escalationMessage = `((m.role = 'system' AND m.kind = '` + KindChatQueued + `') OR (m.role = 'visitor' AND m.kind = '` + KindTicket + `'))`

// The series' queries; each takes the window's bounds and language
// (insightWindow.args), and reaches its table through the index on the
// time it cuts on (insights_plan_test.go reads the plans).
const (
	// outcomesQuery reads each conversation started in the window: its
	// chat (if any, and whether an agent took it), whether it has a
	// ticket and a bot answer, the seq of the bot's first offer or
	// hand-off, and the seq and time of its first escalation.
	outcomesQuery = `
		SELECT c.created_at, ch.conversation_id IS NOT NULL, ch.claimed_at IS NOT NULL,
			EXISTS (SELECT 1 FROM tickets t WHERE t.conversation_id = c.id),
			EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.role = 'bot' AND m.kind = '` + KindAnswer + `'),
			COALESCE((SELECT MIN(m.seq) FROM messages m WHERE m.conversation_id = c.id AND m.role = 'bot'
				AND m.kind IN ('` + botKindOffer + `', '` + botKindHandoff + `')), 0),
			COALESCE((SELECT MIN(m.seq) FROM messages m WHERE m.conversation_id = c.id AND ` + escalationMessage + `), 0),
			COALESCE((SELECT m.created_at FROM messages m WHERE m.conversation_id = c.id AND ` + escalationMessage + `
				ORDER BY m.seq LIMIT 1), '')
		FROM conversations c
		LEFT JOIN chats ch ON ch.conversation_id = c.id
		WHERE c.created_at >= ? AND c.created_at < ? AND (? = '' OR c.lang = ?)`
	// reasonsQuery reads the bot's offers, hand-offs and declines of the
	// window.
	reasonsQuery = `
		SELECT m.created_at, m.kind, m.body
		FROM messages m JOIN conversations c ON c.id = m.conversation_id
		WHERE m.role = 'bot' AND m.kind IN ('` + botKindOffer + `', '` + botKindHandoff + `', '` + botKindDecline + `')
			AND m.created_at >= ? AND m.created_at < ? AND (? = '' OR c.lang = ?)`
	// chatsQuery reads the chats queued in the window.
	chatsQuery = `
		SELECT ch.queued_at, COALESCE(ch.claimed_at, ''), COALESCE(ch.rating, 0)
		FROM chats ch JOIN conversations c ON c.id = ch.conversation_id
		WHERE ch.queued_at >= ? AND ch.queued_at < ? AND (? = '' OR c.lang = ?)`
	// ticketsQuery reads the tickets opened in the window, and when an
	// agent first answered each by email.
	ticketsQuery = `
		SELECT t.created_at, COALESCE((SELECT m.created_at FROM messages m
			WHERE m.conversation_id = t.conversation_id AND m.role = 'agent' AND m.kind = '` + KindAgentReply + `'
				AND m.created_at >= t.created_at
			ORDER BY m.seq LIMIT 1), '')
		FROM tickets t JOIN conversations c ON c.id = t.conversation_id
		WHERE t.created_at >= ? AND t.created_at < ? AND (? = '' OR c.lang = ?)`
)

// conversationOutcomes counts the conversations started in the period by
// how they ended, and the escalations the visitor asked for unprompted.
func (s *Store) conversationOutcomes(ctx context.Context, w insightWindow, a *seriesAcc) error {
	rows, err := s.read.QueryContext(ctx, outcomesQuery, w.args()...)
	if err != nil {
		return fmt.Errorf("conversation outcomes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var created, escalatedAt string
		var chat, claimed, ticket, answered bool
		var offerSeq, escalationSeq int64
		if err := rows.Scan(&created, &chat, &claimed, &ticket, &answered, &offerSeq, &escalationSeq, &escalatedAt); err != nil {
			return fmt.Errorf("conversation outcomes: %w", err)
		}
		a.add(parseTime(created), func(pt *InsightsPoint, _ int) {
			pt.Conversations++
			switch {
			case claimed:
				pt.Chat++
			case ticket:
				pt.Email++
			case chat:
				pt.Chat++
			case answered:
				pt.Bot++
			}
		})
		if escalationSeq > 0 && (offerSeq == 0 || offerSeq > escalationSeq) {
			a.add(parseTime(escalatedAt), func(pt *InsightsPoint, _ int) { pt.Reasons[ReasonVisitorButton]++ })
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("conversation outcomes: %w", err)
	}
	return nil
}

// botReasons counts the bot's offers, hand-offs and declines by the
// reason each stored; one stored before reasons were takes the only
// reason its kind then had, or "other" for a hand-off, which had two.
func (s *Store) botReasons(ctx context.Context, w insightWindow, a *seriesAcc) error {
	rows, err := s.read.QueryContext(ctx, reasonsQuery, w.args()...)
	if err != nil {
		return fmt.Errorf("hand-off reasons: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var at, kind, body string
		if err := rows.Scan(&at, &kind, &body); err != nil {
			return fmt.Errorf("hand-off reasons: %w", err)
		}
		reason := handoffReason(kind, parseDecision(body).Reason)
		a.add(parseTime(at), func(pt *InsightsPoint, _ int) { pt.Reasons[reason]++ })
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("hand-off reasons: %w", err)
	}
	return nil
}

// handoffReason is the reason a decision of kind is charted under.
func handoffReason(kind, stored string) string {
	switch stored {
	case ReasonLowConfidence, ReasonExplicitRequest, ReasonUnhelpfulAnswers, ReasonUnsupportedTopic:
		return stored
	case "":
		switch kind {
		case botKindOffer:
			return ReasonLowConfidence
		case botKindDecline:
			return ReasonUnsupportedTopic
		}
	}
	return ReasonOther
}

// chatFigures reads the chats queued in the period: how long each waited
// for an agent, and its rating.
func (s *Store) chatFigures(ctx context.Context, w insightWindow, a *seriesAcc) error {
	rows, err := s.read.QueryContext(ctx, chatsQuery, w.args()...)
	if err != nil {
		return fmt.Errorf("chat figures: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var queuedAt, claimedAt string
		var rating int
		if err := rows.Scan(&queuedAt, &claimedAt, &rating); err != nil {
			return fmt.Errorf("chat figures: %w", err)
		}
		queued, claimed := parseTime(queuedAt), parseTime(claimedAt)
		a.add(queued, func(pt *InsightsPoint, i int) {
			if !claimed.IsZero() {
				a.chatWait[i] = append(a.chatWait[i], max(0, claimed.Sub(queued)))
			}
			if rating > 0 {
				pt.Rated++
				if rating >= 4 {
					pt.Satisfied++
				}
			}
		})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("chat figures: %w", err)
	}
	return nil
}

// ticketFigures reads the tickets opened in the period and when an agent
// first answered each by email.
func (s *Store) ticketFigures(ctx context.Context, w insightWindow, a *seriesAcc) error {
	rows, err := s.read.QueryContext(ctx, ticketsQuery, w.args()...)
	if err != nil {
		return fmt.Errorf("ticket figures: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var createdAt, repliedAt string
		if err := rows.Scan(&createdAt, &repliedAt); err != nil {
			return fmt.Errorf("ticket figures: %w", err)
		}
		if repliedAt == "" {
			continue
		}
		created, replied := parseTime(createdAt), parseTime(repliedAt)
		a.add(created, func(_ *InsightsPoint, i int) { a.mailWait[i] = append(a.mailWait[i], max(0, replied.Sub(created))) })
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ticket figures: %w", err)
	}
	return nil
}
