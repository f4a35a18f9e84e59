package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
)

// How "bulle eval export" turns conversations into questions with ground
// truth. Only what people did labels a question: the visitor's words
// and votes, and the agents' replies; never what the bot thought.

// Labels: why a question carries the truth it does. The README counts them.
const (
	labelHuman      = "human"          // the visitor asked for a person
	labelAgentSent  = "agent_articles" // not answered well; the agents then sent these articles
	labelHelpful    = "helpful_answer" // the bot's answer was voted helpful
	labelNotCovered = "not_covered"    // not answered well; an agent answered without any article
)

// Reasons a question the bot replied to is left out.
const (
	skipNoVote     = "answered, no vote"
	skipSmallTalk  = "small talk"
	skipClarify    = "clarifying question, no follow-up"
	skipDecline    = "declined topic"
	skipNoAgent    = "not answered well, no agent replied"
	skipStaleLinks = "agents linked only articles that no longer exist"
	skipGone       = "helpful answer's article no longer exists"
	skipOther      = "unreadable or unknown bot reply"
	skipLang       = "conversation in a language other than fr or en"
	skipDuplicate  = "duplicate of an earlier question"
)

// exportedQuestion is a labelled question and when it was asked.
type exportedQuestion struct {
	evalQuestion
	label string
	at    time.Time
}

// exportTally counts the questions by label and the skipped by reason.
type exportTally struct {
	labels, skipped map[string]int
}

func newExportTally() exportTally {
	return exportTally{labels: map[string]int{}, skipped: map[string]int{}}
}

// exportTurn is a visitor question the bot replied to.
type exportTurn struct {
	msg      escalation.TrafficMessage
	decision bot.Decision
	parsed   bool // the reply's JSON read as a decision
	voted    bool // on the reply
	helpful  bool
	poor     bool // not answered well: see markPoor
}

// explicit says the visitor asked for a person. Replies stored before
// decisions carried a reason are hand-offs with none: the only other
// hand-off, after unhelpful votes, replies to no question.
func (t exportTurn) explicit() bool {
	return t.decision.Kind == bot.KindHandoff && (t.decision.Reason == bot.ReasonExplicit || t.decision.Reason == "")
}

// exportAgentMessage is what an agent sent: its links, as article ids.
type exportAgentMessage struct {
	seq   int64
	ids   []string
	stale int
}

// labelTraffic labels the questions asked at or after since, the earliest
// first, redacted, each (lang, text) once.
func labelTraffic(convs []escalation.TrafficConversation, since time.Time, links articleLinks) ([]exportedQuestion, exportTally) {
	tally := newExportTally()
	var all []exportedQuestion
	for _, c := range convs {
		all = append(all, labelConversation(c, since, links, tally)...)
	}
	slices.SortStableFunc(all, func(a, b exportedQuestion) int { return a.at.Compare(b.at) })
	seen := map[string]bool{}
	var out []exportedQuestion
	for _, q := range all {
		q.Text = redact(q.Text)
		key := q.Lang + "\x00" + normalQuestion(q.Text)
		if seen[key] {
			tally.skipped[skipDuplicate]++
			continue
		}
		seen[key] = true
		tally.labels[q.label]++
		out = append(out, q)
	}
	return out, tally
}

// labelConversation labels one conversation's questions, counting those
// it skips in tally.
func labelConversation(c escalation.TrafficConversation, since time.Time, links articleLinks, tally exportTally) []exportedQuestion {
	replies := map[int64]escalation.TrafficMessage{}
	var agents []exportAgentMessage
	for _, m := range c.Messages {
		switch {
		case m.Role == escalation.RoleBot && m.ReplyTo != 0:
			replies[m.ReplyTo] = m
		case m.Role == escalation.RoleAgent:
			ids, stale := links.find(m.Body)
			agents = append(agents, exportAgentMessage{seq: m.Seq, ids: ids, stale: stale})
		}
	}
	var turns []exportTurn
	for _, m := range c.Messages {
		r, ok := replies[m.Seq]
		if m.Role != escalation.RoleVisitor || !ok {
			continue // a ticket form, an email reply, a message in a live chat: no bot answered it
		}
		t := exportTurn{msg: m, voted: r.Voted, helpful: r.Helpful}
		t.parsed = json.Unmarshal([]byte(r.Body), &t.decision) == nil
		turns = append(turns, t)
	}
	markPoor(turns)
	var out []exportedQuestion
	for _, t := range turns {
		if t.msg.CreatedAt.Before(since) {
			continue // asked before the window; read for what followed it
		}
		if c.Lang != "fr" && c.Lang != "en" {
			tally.skipped[skipLang]++
			continue
		}
		label, expect, skip := labelTurn(t, agents, links)
		if skip != "" {
			tally.skipped[skip]++
			continue
		}
		out = append(out, exportedQuestion{label: label, at: t.msg.CreatedAt, evalQuestion: evalQuestion{
			ID: fmt.Sprintf("c%d-%d", c.ID, t.msg.Seq), Lang: c.Lang, Text: t.msg.Body,
			Expect: expect, Human: label == labelHuman}})
	}
	return out
}

// markPoor marks the questions the bot did not answer well: those it
// offered a person for, answers voted unhelpful, and the question that
// led the visitor to ask for a person: the nearest before the request,
// small talk aside, within the same round (an earlier hand-off ends one).
func markPoor(turns []exportTurn) {
	for i := range turns {
		t := &turns[i]
		switch {
		case t.decision.Kind == bot.KindOffer:
			t.poor = true
		case t.decision.Kind == bot.KindAnswer && t.voted && !t.helpful:
			t.poor = true
		}
		if !t.explicit() {
			continue
		}
		for j := i - 1; j >= 0; j-- {
			p := &turns[j]
			if p.decision.Kind == bot.KindSmallTalk {
				continue
			}
			if p.decision.Kind != bot.KindHandoff && !(p.voted && p.helpful) {
				p.poor = true
			}
			break
		}
	}
}

// labelTurn applies the rules, first match wins; skip names why a
// question carries no ground truth.
func labelTurn(t exportTurn, agents []exportAgentMessage, links articleLinks) (label string, expect []string, skip string) {
	d := t.decision
	switch {
	case !t.parsed:
		return "", nil, skipOther
	case t.explicit():
		return labelHuman, []string{}, ""
	case t.poor:
		// What the agents did after the question: the articles they sent,
		// in the order first sent, or an answer without any.
		ids, stale, replied := []string{}, 0, false
		for _, a := range agents {
			if a.seq < t.msg.Seq {
				continue
			}
			replied = true
			stale += a.stale
			for _, id := range a.ids {
				if !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
		}
		switch {
		case len(ids) > 0:
			return labelAgentSent, ids, ""
		case stale > 0:
			return "", nil, skipStaleLinks
		case replied:
			return labelNotCovered, []string{}, ""
		}
		return "", nil, skipNoAgent
	case d.Kind == bot.KindAnswer && t.voted && t.helpful && d.Article != nil:
		if len(links.corpus.Translations(d.Article.ID)) == 0 {
			return "", nil, skipGone
		}
		return labelHelpful, []string{d.Article.ID}, ""
	}
	return "", nil, cmp.Or(map[bot.Kind]string{bot.KindAnswer: skipNoVote, bot.KindSmallTalk: skipSmallTalk,
		bot.KindClarify: skipClarify, bot.KindDecline: skipDecline}[d.Kind], skipOther)
}
