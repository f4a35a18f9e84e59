package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
	"github.com/bulle-help/bulle/kb"
)

// exportArticles writes a small help center in a Hugo layout (default
// language without a folder, x.fr.md translations, a page bundle, a
// draft), so that the export has to bring it to FORMAT.md's layout.
func exportArticles(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "articles")
	for p, text := range map[string]string{
		"domains/transfer.md":             "---\ntitle: Transfer a domain\n---\nTo transfer a domain to another registrar, unlock it and ask for its auth code.\n\n## Auth code\n\nThe auth code is in the domain's settings.\n",
		"domains/transfer.fr.md":          "---\ntitle: Transférer un domaine\n---\nPour transférer un nom de domaine vers un autre registrar, déverrouillez-le et demandez son code d'autorisation.\n",
		"account/reset-password/index.md": "---\ntitle: Reset your password\n---\nForgot your password? Use the reset link on the sign-in page to reset your password.\n",
		"billing/refund.md":               "---\ntitle: Refunds\n---\nWe refund yearly plans within 30 days of payment.\n",
		"billing/draft.md":                "---\ntitle: Not yet\ndraft: true\n---\nWork in progress.\n",
	} {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// trafficSeed writes conversations as the bubble, the console and the
// desk do, through the store's public functions, on a clock it moves a
// minute a step.
type trafficSeed struct {
	t     *testing.T
	s     *escalation.Store
	desk  *escalation.Desk
	agent escalation.Agent
	now   time.Time
	n     int
}

func newTrafficSeed(t *testing.T, data string) *trafficSeed {
	t.Helper()
	ctx := context.Background()
	s, err := escalation.Open(ctx, filepath.Join(data, "bulle.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	tokens, err := escalation.NewReplyTokens(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	desk, err := escalation.NewDesk(s, escalation.DeskOptions{From: "Bulle <no-reply@help.example.com>",
		ReplyDomain: "help.example.com", Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	sd := &trafficSeed{t: t, s: s, desk: desk, now: time.Now().Add(-3 * 24 * time.Hour)}
	s.Now = func() time.Time { return sd.now }
	if sd.agent, _, err = s.AddAgent(ctx, "lea@help.example.com", "Léa"); err != nil {
		t.Fatal(err)
	}
	return sd
}

func (sd *trafficSeed) tick() { sd.now = sd.now.Add(time.Minute) }

func (sd *trafficSeed) conversation(lang string) int64 {
	sd.t.Helper()
	sd.tick()
	c, _, err := sd.s.CreateConversation(context.Background(), lang, "https://shop.example")
	if err != nil {
		sd.t.Fatal(err)
	}
	return c.ID
}

// ask stores a visitor message and the bot's decision replying to it, as
// the widget's session does, and returns both seqs.
func (sd *trafficSeed) ask(conv int64, text string, d bot.Decision) (question, reply int64) {
	sd.t.Helper()
	ctx := context.Background()
	sd.tick()
	sd.n++
	q, _, err := sd.s.AppendMessage(ctx, escalation.NewMessage{ConversationID: conv, Role: escalation.RoleVisitor,
		ClientID: fmt.Sprintf("m%d", sd.n), Kind: "text", Body: text})
	if err != nil {
		sd.t.Fatal(err)
	}
	body, err := json.Marshal(d)
	if err != nil {
		sd.t.Fatal(err)
	}
	r, _, err := sd.s.AppendMessage(ctx, escalation.NewMessage{ConversationID: conv, Role: escalation.RoleBot,
		ReplyTo: q.Seq, Kind: string(d.Kind), Body: string(body)})
	if err != nil {
		sd.t.Fatal(err)
	}
	return q.Seq, r.Seq
}

func (sd *trafficSeed) vote(conv, seq int64, helpful bool) {
	sd.t.Helper()
	sd.tick()
	if _, err := sd.s.RecordAnswerVote(context.Background(), conv, seq, helpful); err != nil {
		sd.t.Fatal(err)
	}
}

// ticketReply opens a ticket on the conversation from the bubble's form,
// and has the agent answer it from the console, a day later.
func (sd *trafficSeed) ticketReply(conv int64, lang, text string) {
	sd.t.Helper()
	ctx := context.Background()
	sd.tick()
	tk, err := sd.desk.CreateTicket(ctx, escalation.NewTicket{ConversationID: conv, Lang: lang, Topic: "other",
		Email: "visitor@example.org", Message: "Please help, the assistant could not."})
	if err != nil {
		sd.t.Fatal(err)
	}
	sd.now = sd.now.Add(24 * time.Hour)
	if _, err := sd.desk.AgentReply(ctx, sd.agent, tk.Ref, text); err != nil {
		sd.t.Fatal(err)
	}
	sd.now = sd.now.Add(-24 * time.Hour) // the next conversations start where they would have
}

// chatReply queues the conversation for live chat, has the agent claim it
// and send texts.
func (sd *trafficSeed) chatReply(conv int64, texts ...string) {
	sd.t.Helper()
	ctx := context.Background()
	sd.tick()
	if _, err := sd.s.EnqueueChat(ctx, conv, "", ""); err != nil {
		sd.t.Fatal(err)
	}
	if _, err := sd.s.ClaimChat(ctx, conv, sd.agent.ID); err != nil {
		sd.t.Fatal(err)
	}
	for _, text := range texts {
		sd.tick()
		if _, _, err := sd.s.AppendAgentMessage(ctx, sd.agent.ID, escalation.NewMessage{ConversationID: conv, Body: text}); err != nil {
			sd.t.Fatal(err)
		}
	}
}

// Decisions as the bot stores them.
func seedAnswer(lang, id string) bot.Decision {
	return bot.Decision{Kind: bot.KindAnswer, Lang: lang, Text: "This article answers it:", Quote: "…",
		Article: &bot.ArticleRef{ID: id, Lang: lang, Title: id, URL: "/" + lang + "/" + id}, Confidence: 0.8}
}

func seedOffer(lang string) bot.Decision {
	return bot.Decision{Kind: bot.KindOffer, Lang: lang, Text: "I am not sure; a person can help.",
		Channels: []bot.Channel{bot.ChannelEmail}, Confidence: 0.1, Reason: bot.ReasonLowConf}
}

func seedHandoff(lang string) bot.Decision {
	return bot.Decision{Kind: bot.KindHandoff, Lang: lang, Text: "Let me put you in touch.",
		Channels: []bot.Channel{bot.ChannelChat, bot.ChannelEmail}, Confidence: 1, Reason: bot.ReasonExplicit}
}

func TestEvalExportLabelsRealTrafficAndTheSetReplays(t *testing.T) {
	articles, data := exportArticles(t), t.TempDir()
	sd := newTrafficSeed(t, data)

	// Ten weeks ago: outside --weeks 4 whatever happened to it.
	now := sd.now
	sd.now = time.Now().AddDate(0, 0, -70)
	old := sd.conversation("en")
	_, r := sd.ask(old, "old question about refunds", seedAnswer("en", "billing/refund"))
	sd.vote(old, r, true)
	sd.now = now

	// The visitor asks for a person at once.
	human := sd.conversation("en")
	sd.ask(human, "I want to talk to a human", seedHandoff("en"))

	// An offer; the agent answers the ticket with a full link (after a
	// link to another site, which is no article of ours).
	offered := sd.conversation("fr")
	sd.ask(offered, "comment transférer mon nom de domaine vers un autre registrar", seedOffer("fr"))
	sd.ticketReply(offered, "fr", "Bonjour, voir https://registrar.example.net/fr/domains/transfer/ puis "+
		"https://help.example.com/fr/domains/transfer/#code-auth. Bonne journée")

	// A helpful answer, and later the same question again in other case.
	helped := sd.conversation("en")
	_, r = sd.ask(helped, "How do I reset my password?", seedAnswer("en", "account/reset-password"))
	sd.vote(helped, r, true)

	// An answer voted unhelpful; in the chat that follows the agent sends
	// a path, twice, and a link to an article that does not exist.
	unhelpful := sd.conversation("en")
	_, r = sd.ask(unhelpful, "refund for my yearly plan", seedAnswer("en", "account/reset-password"))
	sd.vote(unhelpful, r, false)
	sd.chatReply(unhelpful, "Sorry about that! It is here: [refunds](/en/billing/refund).",
		"Again: /en/billing/refund and /en/billing/gone")

	// An agent answered, without any article: the articles do not cover it.
	uncovered := sd.conversation("en")
	sd.ask(uncovered, "do you deliver by carrier pigeon", seedOffer("en"))
	sd.ticketReply(uncovered, "en", "No, sorry, we do not.")

	// Small talk, then a question with an address and a phone number,
	// which the agent answers with a link to a page bundle's article;
	// before the request for a person, so it led to it.
	private := sd.conversation("en")
	sd.ask(private, "hello", bot.Decision{Kind: bot.KindSmallTalk, Lang: "en", Text: "Hello!", Confidence: 1})
	sd.ask(private, "my email is ana.martin@example.org, I cannot sign in, call me on +33 6 12 34 56 78",
		bot.Decision{Kind: bot.KindClarify, Lang: "en", Text: "Which one?", Confidence: 0.5})
	sd.ask(private, "a person please", seedHandoff("en"))
	sd.chatReply(private, "Hello Ana, https://help.example.com/en/account/reset-password/ explains it")

	// Answered, no vote: no ground truth; and the duplicate.
	unvoted := sd.conversation("en")
	sd.ask(unvoted, "what are your opening hours", seedAnswer("en", "billing/refund"))
	again := sd.conversation("en")
	_, r = sd.ask(again, "how do i reset my password", seedAnswer("en", "account/reset-password"))
	sd.vote(again, r, true)

	out := filepath.Join(t.TempDir(), "traffic")
	env := func(k string) string { return map[string]string{"BULLE_BASE_URL": "https://help.example.com"}[k] }
	stdout, stderr, code := runBulle(t, env, "eval", "export", "--weeks", "4", "--out", out, "--data", data, "--articles", articles)
	if code != 0 {
		t.Fatalf("export: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "Exported 7 questions") || !strings.Contains(stdout, "keep it private") {
		t.Errorf("export's report: got %q, want 7 questions and a word on privacy", stdout)
	}

	want := []evalQuestion{
		{ID: fmt.Sprintf("c%d-1", human), Lang: "en", Text: "I want to talk to a human", Expect: []string{}, Human: true},
		{ID: fmt.Sprintf("c%d-1", offered), Lang: "fr", Text: "comment transférer mon nom de domaine vers un autre registrar",
			Expect: []string{"domains/transfer"}},
		{ID: fmt.Sprintf("c%d-1", helped), Lang: "en", Text: "How do I reset my password?", Expect: []string{"account/reset-password"}},
		{ID: fmt.Sprintf("c%d-1", unhelpful), Lang: "en", Text: "refund for my yearly plan", Expect: []string{"billing/refund"}},
		{ID: fmt.Sprintf("c%d-1", uncovered), Lang: "en", Text: "do you deliver by carrier pigeon", Expect: []string{}},
		{ID: fmt.Sprintf("c%d-3", private), Lang: "en", Text: "my email is …@…, I cannot sign in, call me on …",
			Expect: []string{"account/reset-password"}},
		{ID: fmt.Sprintf("c%d-5", private), Lang: "en", Text: "a person please", Expect: []string{}, Human: true},
	}
	raw, err := os.ReadFile(filepath.Join(out, "questions.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	for i := range max(len(lines), len(want)) {
		if i >= len(lines) || i >= len(want) {
			t.Errorf("line %d: got %d lines, want %d:\n%s", i+1, len(lines), len(want), raw)
			break
		}
		var got evalQuestion
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, lines[i])
		}
		if got.ID != want[i].ID || got.Lang != want[i].Lang || got.Text != want[i].Text ||
			!slices.Equal(got.Expect, want[i].Expect) || got.Human != want[i].Human || strings.Contains(lines[i], "null") {
			t.Errorf("line %d:\n got %s\nwant %+v", i+1, lines[i], want[i])
		}
	}

	readme, err := os.ReadFile(filepath.Join(out, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"**Private.**", "| human | 2 |", "| agent_articles | 3 |", "| helpful_answer | 1 |",
		"| not_covered | 1 |", "| small talk | 1 |", "| answered, no vote | 1 |", "| duplicate of an earlier question | 1 |",
		"3 questions the assistant replied to in that time were skipped"} {
		if !strings.Contains(string(readme), s) {
			t.Errorf("README.md lacks %q:\n%s", s, readme)
		}
	}

	// The articles, in FORMAT.md's layout, without the draft.
	var files []string
	filepath.WalkDir(filepath.Join(out, "articles"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(filepath.Join(out, "articles"), p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	slices.Sort(files)
	if wantFiles := []string{"en/account/reset-password.md", "en/billing/refund.md", "en/domains/transfer.md",
		"fr/domains/transfer.md"}; !slices.Equal(files, wantFiles) {
		t.Errorf("articles/: got %q, want %q", files, wantFiles)
	}

	// The set replays as it is: FORMAT.md's metrics, every question read.
	stdout, stderr, code = runBulle(t, noEnv, "eval", "--articles", filepath.Join(out, "articles"),
		"--questions", filepath.Join(out, "questions.jsonl"), "--json")
	if code != 0 {
		t.Fatalf("eval of the export: exit %d\n%s%s", code, stdout, stderr)
	}
	var m map[string]float64
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("eval of the export: %v in %s", err, stdout)
	}
	for _, k := range []string{"hit1", "hit3", "mrr", "map", "answered", "precision", "inscope_acc", "oos_recall",
		"human_precision", "human_recall", "p50_ms", "p99_ms"} {
		if _, ok := m[k]; !ok {
			t.Errorf("eval of the export: no %q in %s", k, stdout)
		}
	}
	if m["questions"] != 7 || m["human_recall"] != 1 {
		t.Errorf("eval of the export: got %s, want 7 questions and both requests for a person handed off", stdout)
	}
}

func TestEvalExportRefusesToOverwriteOrToWriteIntoTheArticles(t *testing.T) {
	articles, data := exportArticles(t), t.TempDir()
	sd := newTrafficSeed(t, data)
	sd.ask(sd.conversation("en"), "I want to talk to a human", seedHandoff("en"))
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "notes.txt"), []byte("mine"), 0o644)
	args := func(out string, more ...string) []string {
		return append([]string{"eval", "export", "--weeks", "2", "--data", data, "--articles", articles, "--out", out}, more...)
	}
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"a folder with something in it, without --force", args(full), 2, "is not empty: pass --force"},
		{"a folder inside the articles, even with --force", args(filepath.Join(articles, "set"), "--force"), 2, "overlaps the articles"},
		{"the folder holding the articles, whose articles/ it would replace", args(filepath.Dir(articles), "--force"), 2, "overlaps the articles"},
		{"no --out", []string{"eval", "export", "--data", data}, 2, "--out DIR is required"},
		{"no whole week", args(t.TempDir(), "--weeks", "0"), 2, "want 1 or more"},
		{"no database", []string{"eval", "export", "--data", t.TempDir(), "--articles", articles, "--out", t.TempDir()}, 1, "no database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runBulle(t, noEnv, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.err) {
				t.Errorf("got exit %d, %q, want %d and %q", code, stderr, tt.code, tt.err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(articles, "set")); err == nil {
		t.Error("a refused export created its folder in the articles")
	}

	// --force replaces the set and leaves the rest alone.
	os.MkdirAll(filepath.Join(full, "articles", "en"), 0o755)
	os.WriteFile(filepath.Join(full, "articles", "en", "stale.md"), []byte("---\ntitle: Stale\n---\nGone.\n"), 0o644)
	if _, stderr, code := runBulle(t, noEnv, args(full, "--force")...); code != 0 {
		t.Fatalf("--force: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(full, "articles", "en", "stale.md")); err == nil {
		t.Error("--force kept an article of the earlier set")
	}
	if b, _ := os.ReadFile(filepath.Join(full, "notes.txt")); string(b) != "mine" {
		t.Error("--force touched a file that is not the set's")
	}
	if st, err := os.Stat(filepath.Join(full, "questions.jsonl")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("questions.jsonl: got %v, %v, want it readable by its owner only", st, err)
	}
}

func TestArticleLinksFindThisHelpCentersArticles(t *testing.T) {
	c, _ := kb.Load(os.DirFS(exportArticles(t)), kb.DefaultLoadOptions)
	tests := []struct {
		name, base, text string
		ids              []string
		stale            int
	}{
		{"a full link with an anchor", "https://help.example.com", "see https://help.example.com/en/domains/transfer/#auth-code.",
			[]string{"domains/transfer"}, 0},
		{"a path in markdown", "https://help.example.com", "[refunds](/en/billing/refund)", []string{"billing/refund"}, 0},
		{"another site's link is not ours", "https://help.example.com", "https://other.example/en/billing/refund", nil, 0},
		{"any host without base_url", "", "https://help.example.com/fr/billing/refund", []string{"billing/refund"}, 0},
		{"the order of first sending, each once", "", "/en/billing/refund, /en/domains/transfer and /fr/billing/refund",
			[]string{"billing/refund", "domains/transfer"}, 0},
		{"an article that no longer exists", "", "try /en/billing/gone", nil, 1},
		{"home, search and contact pages are no articles", "", "/en/ /en/search?q=x /contact /fr", nil, 0},
		{"a slash inside a word is no link", "", "and/or en/billing/refund", nil, 0},
		{"below base_url's path", "https://example.com/help", "https://example.com/help/en/billing/refund/", []string{"billing/refund"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, stale := newArticleLinks(c, tt.base).find(tt.text)
			if !slices.Equal(ids, tt.ids) || stale != tt.stale {
				t.Errorf("got %q and %d stale, want %q and %d", ids, stale, tt.ids, tt.stale)
			}
		})
	}
}

func TestRedactHidesAddressesAndNumbersOnly(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"an address", "write to ana.martin+x@mail.example.org please", "write to …@… please"},
		{"a French phone number", "06 12 34 56 78", "…"},
		{"an international number", "call +33 (0)6.12.34.56.78 now", "call … now"},
		{"a card number", "card 4970 1012 3456 7890", "card …"},
		{"short numbers stay", "order 1234, 3 items, version 2.1.0", "order 1234, 3 items, version 2.1.0"},
		{"a year stays", "since 2024 I cannot sign in", "since 2024 I cannot sign in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redact(tt.in); got != tt.want {
				t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
