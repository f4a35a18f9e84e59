package main

import (
	"fmt"
	"strings"
	"time"
)

// exportInfo is what the README of an exported set says about it.
type exportInfo struct {
	since, until         time.Time
	weeks                int
	data, articles       string
	nArticles, nQuestion int
	tally                exportTally
}

// exportReadme writes the set's README.md: where it came from, what is
// in it, how it was labelled, and that it is private. FORMAT.md lets a
// set carry one; the label rules are repeated here because whoever reads
// the set may never see Bulle's docs.
func exportReadme(x exportInfo) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Eval set from real traffic\n\n")
	p("Exported by `bulle eval export` on %s from %s: the questions visitors asked the bubble's assistant "+
		"from %s to %s (%d weeks, UTC), with the %d articles of %s as they were then, in articles/.\n\n",
		x.until.Format("2006-01-02 15:04"), x.data, x.since.Format("2006-01-02"), x.until.Format("2006-01-02"),
		x.weeks, x.nArticles, x.articles)
	p("**Private.** questions.jsonl holds what visitors typed. Email addresses and numbers of 8 digits or more " +
		"(phones, cards, orders) are replaced by `…@…` and `…`, but names and anything else a visitor wrote are " +
		"kept. Share it only with the editors who need it, keep it out of public repositories, and delete it " +
		"when it is no longer needed. A question's id, `c<conversation>-<message>`, is the conversation's id and " +
		"the question's number in it in the help center's database, to check a label against what was said.\n\n")

	p("## Questions\n\n%d questions, by label:\n\n| label | questions | expect |\n|---|---|---|\n", x.nQuestion)
	for _, l := range []struct{ name, expect string }{
		{labelHuman, "`[]`, human true"},
		{labelAgentSent, "the articles agents sent"},
		{labelHelpful, "the answer's article"},
		{labelNotCovered, "`[]`"},
	} {
		p("| %s | %d | %s |\n", l.name, x.tally.labels[l.name], l.expect)
	}
	p("\n%d questions the assistant replied to in that time were skipped:\n\n", tallySum(x.tally.skipped))
	if len(x.tally.skipped) > 0 {
		p("| reason | questions |\n|---|---|\n")
		for _, k := range sortedByCount(x.tally.skipped) {
			p("| %s | %d |\n", k, x.tally.skipped[k])
		}
		p("\n")
	}

	p(`## How it was labelled

Only what people did labels a question: the visitors' requests and votes, and what agents sent
afterwards, in a live chat or in a ticket reply (from the console or by email). The first rule
that applies wins:

1. **human**: the assistant handed the visitor off because they asked for a person → ` + "`expect: []`, `human: true`" + `.
2. **agent_articles**: the assistant did not answer the question well (it offered a person, its
   answer was voted unhelpful, or this is the question just before the visitor asked for a
   person), and agents later sent links to articles in that conversation → ` + "`expect`" + ` is those
   articles, in the order first sent, each once. Only links to this help center's article pages
   count (` + "`/<lang>/<id>`" + `, as a path or a full URL on base_url's host), and only articles that exist
   now.
3. **helpful_answer**: the visitor voted the assistant's answer helpful → ` + "`expect`" + ` is its article.
4. **not_covered**: not answered well (as in 2), and an agent replied without sending any
   article → ` + "`expect: []`" + `: the articles do not cover it, and the right behaviour is to offer a person.

Everything else carries no ground truth and is skipped: answers nobody voted on, small talk,
clarifying questions, declined topics, questions nobody from the team answered. A question asked
again in the same language with the same words (case, spacing and punctuation aside) is kept once,
the first time. ` + "`lang`" + ` is the language the conversation started in, as the bubble reported it.

## Replay

    bulle eval --articles articles --questions questions.jsonl

Before publishing a change to the articles, replay the same questions against the edited copy:

    bulle eval --articles ../path/to/edited/articles --questions questions.jsonl
`)
	return b.String()
}
