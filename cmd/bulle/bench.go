package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/bulle-help/bulle/escalation"
	"github.com/bulle-help/bulle/kb"
)

// "bulle bench": what this machine does with these articles. It runs the
// whole program on a throwaway data folder (never the real one), so an
// operator sizing a node measures their own disk's fsync and their own
// articles, with the same code paths as production: the index build, a
// cold start from the persisted index, searches, the assistant's answers
// over real WebSockets on loopback, and the database's write rate. The
// repository's `make bench` (go test -bench) measures the same things on
// generated corpora; docs/scaling.md reads both.

const benchUsage = `Usage: bulle bench [flags]

Measures this machine with these articles (--articles, default ./articles) on a throwaway data
folder in the system's temp folder: the real database is never touched, no mail is sent. About
%s with the defaults. Prints a table, or one JSON object with --json.
`

// benchOptions bound the run: every phase has a fixed count or duration.
type benchOptions struct {
	Queries  int           // searches timed
	Visitors int           // bubbles open at once
	Rate     int           // questions a second, all bubbles together
	Duration time.Duration // of the answers phase and of the writes phase each
	Writers  int           // goroutines appending messages at once
}

// benchResult is what one run measured; the JSON keys are stable.
type benchResult struct {
	Articles       int     `json:"articles"`
	BuildMS        float64 `json:"build_ms"`      // start with no index: parse, index, open
	ColdStartMS    float64 `json:"cold_start_ms"` // start again from the persisted index
	Searches       int     `json:"searches"`
	SearchP50MS    float64 `json:"search_p50_ms"`
	SearchP99MS    float64 `json:"search_p99_ms"`
	Answers        int     `json:"answers"`
	AnswerFailures int     `json:"answer_failures"`
	AnswersPerSec  float64 `json:"answers_per_s"`
	AnswerP50MS    float64 `json:"answer_p50_ms"` // visitor's round trip: question sent → answer read
	AnswerP99MS    float64 `json:"answer_p99_ms"`
	Writes         int     `json:"writes"`
	WritesPerSec   float64 `json:"writes_per_s"` // messages committed (synchronous=FULL)
}

func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	def := benchOptions{Queries: 2000, Visitors: 50, Rate: 200, Duration: 5 * time.Second, Writers: 64}
	f := newFlagSet("bench", "[--articles DIR] [--json] [--duration 5s] [--visitors 50] [--rate 200] [--queries 2000] [--writers 64]", stderr)
	f.fs.Usage = func() {
		fmt.Fprintf(stderr, benchUsage, "20 s")
		fmt.Fprintln(stderr, "\nFlags:")
		f.fs.PrintDefaults()
	}
	asJSON := f.fs.Bool("json", false, "print one JSON object")
	opt := def
	f.fs.IntVar(&opt.Queries, "queries", def.Queries, "searches to time")
	f.fs.IntVar(&opt.Visitors, "visitors", def.Visitors, "bubbles open at once in the answers phase")
	f.fs.IntVar(&opt.Rate, "rate", def.Rate, "questions a second, all bubbles together (each bubble stays under the per-socket limit)")
	f.fs.DurationVar(&opt.Duration, "duration", def.Duration, "length of the answers phase, and of the writes phase")
	f.fs.IntVar(&opt.Writers, "writers", def.Writers, "goroutines appending messages at once in the writes phase")
	rest, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{err: fmt.Errorf("bench takes no arguments, got %q", rest)}
	}
	switch {
	case opt.Queries < 1 || opt.Visitors < 1 || opt.Writers < 1:
		return usageError{err: errors.New("bench: --queries, --visitors and --writers want 1 or more")}
	case opt.Duration < 100*time.Millisecond || opt.Duration > 10*time.Minute:
		return usageError{err: fmt.Errorf("bench: --duration %s: want between 100ms and 10m", opt.Duration)}
	case opt.Rate < 1 || float64(opt.Rate)/float64(opt.Visitors) > 4:
		// widget.DefaultRate is 5 frames a second per socket; a visitor
		// past it would measure the rate limiter, not the answers.
		return usageError{err: fmt.Errorf("bench: --rate %d for %d visitors: want at most 4 questions a second each", opt.Rate, opt.Visitors)}
	}
	cfg, _, err := f.load(getenv)
	if err != nil {
		return err
	}
	res, err := bench(ctx, cfg, opt)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printBench(stdout, res, opt)
	return nil
}

// bench runs the phases in order on a fresh data folder, removed after.
func bench(ctx context.Context, cfg Config, opt benchOptions) (benchResult, error) {
	dir, err := os.MkdirTemp("", "bulle-bench-")
	if err != nil {
		return benchResult{}, err
	}
	defer os.RemoveAll(dir)
	var res benchResult

	start := time.Now()
	m, err := startBenchMain(ctx, cfg, dir)
	if err != nil {
		return res, fmt.Errorf("bench: start: %w", err)
	}
	res.BuildMS = ms(time.Since(start))
	if err := m.Close(); err != nil {
		return res, err
	}
	start = time.Now()
	m, err = startBenchMain(ctx, cfg, dir)
	if err != nil {
		return res, fmt.Errorf("bench: start again: %w", err)
	}
	res.ColdStartMS = ms(time.Since(start))
	defer m.Close()

	questions := benchQuestions(m.base.Corpus())
	res.Articles = m.base.Corpus().Len()
	if len(questions) == 0 {
		return res, fmt.Errorf("bench: no articles in %s", cfg.ArticlesDir)
	}
	lat, err := benchSearch(ctx, m.base, questions, opt.Queries)
	if err != nil {
		return res, err
	}
	res.Searches, res.SearchP50MS, res.SearchP99MS = len(lat), ms(quantile(lat, 0.50)), ms(quantile(lat, 0.99))

	lat, failures := benchAnswers(ctx, m.URL(), questions, opt)
	res.Answers, res.AnswerFailures = len(lat), failures
	res.AnswersPerSec = float64(len(lat)) / opt.Duration.Seconds()
	res.AnswerP50MS, res.AnswerP99MS = ms(quantile(lat, 0.50)), ms(quantile(lat, 0.99))

	n, err := benchWrites(ctx, m.store, opt)
	if err != nil {
		return res, err
	}
	res.Writes, res.WritesPerSec = n, float64(n)/opt.Duration.Seconds()
	return res, m.Close()
}

// startBenchMain runs the program on dir with cfg's articles, languages
// and bot, on a free loopback port, without mail and quiet.
func startBenchMain(ctx context.Context, cfg Config, dir string) (*Main, error) {
	m := NewMain()
	c := DefaultConfig()
	c.Addr, c.DataDir, c.ArticlesDir = "127.0.0.1:0", dir, cfg.ArticlesDir
	c.DefaultLang, c.Langs, c.Bot = cfg.DefaultLang, cfg.Langs, cfg.Bot
	c.Log.Level = "error"
	m.Config, m.Getenv, m.Stderr = c, func(string) string { return "" }, io.Discard
	if err := m.Run(ctx); err != nil {
		return nil, errors.Join(err, m.Close())
	}
	return m, nil
}

// benchQuestion is an article's title asked in its language: a question
// the help center has an answer to, as visitors' mostly are.
type benchQuestion struct{ lang, text string }

func benchQuestions(c *kb.Corpus) []benchQuestion {
	var qs []benchQuestion
	for _, a := range c.Articles() {
		if t := strings.TrimSpace(a.Title); t != "" {
			qs = append(qs, benchQuestion{a.Lang, strings.ToLower(t)})
		}
	}
	return qs
}

func benchSearch(ctx context.Context, b *kb.Base, qs []benchQuestion, n int) ([]time.Duration, error) {
	lat := make([]time.Duration, 0, n)
	for i := range n {
		q := qs[i%len(qs)]
		t := time.Now()
		if _, err := b.Search(ctx, kb.Query{Text: q.text, Lang: q.lang, Limit: 10}); err != nil {
			return nil, fmt.Errorf("bench: search %q: %w", q.text, err)
		}
		lat = append(lat, time.Since(t))
	}
	return lat, nil
}

// benchAnswers opens opt.Visitors bubbles on the visitor WebSocket, each
// asking a question at a steady pace without waiting for the answers
// (open loop, so a slow answer cannot slow the load), for opt.Duration,
// and returns the round trips of the answers and the questions that got
// none.
func benchAnswers(ctx context.Context, baseURL string, qs []benchQuestion, opt benchOptions) ([]time.Duration, int) {
	var mu sync.Mutex
	var lat []time.Duration
	failures := 0
	interval := time.Duration(opt.Visitors) * time.Second / time.Duration(opt.Rate)
	start := time.Now()
	end := start.Add(opt.Duration)
	var wg sync.WaitGroup
	for v := range opt.Visitors {
		wg.Go(func() {
			got, failed := benchVisitor(ctx, baseURL, qs, v, start.Add(interval*time.Duration(v)/time.Duration(opt.Visitors)), interval, end)
			mu.Lock()
			lat, failures = append(lat, got...), failures+failed
			mu.Unlock()
		})
	}
	wg.Wait()
	return lat, failures
}

// benchFrame is the part of the protocol's frames (docs/protocol.md) a
// visitor needs to time answers.
type benchFrame struct {
	Type     string `json:"type"`
	Seq      int64  `json:"seq"`
	ClientID string `json:"client_id"`
	Role     string `json:"role"`
	ReplyTo  int64  `json:"reply_to"`
}

func benchVisitor(ctx context.Context, baseURL string, qs []benchQuestion, v int, first time.Time, interval time.Duration, end time.Time) ([]time.Duration, int) {
	ctx, cancel := context.WithDeadline(ctx, end.Add(10*time.Second))
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(baseURL, "http")+"/widget/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {baseURL}}})
	if err != nil {
		return nil, 1
	}
	defer c.CloseNow()
	var wmu sync.Mutex
	write := func(f map[string]any) error {
		data, _ := json.Marshal(f)
		wmu.Lock()
		defer wmu.Unlock()
		return c.Write(ctx, websocket.MessageText, data)
	}
	if write(map[string]any{"type": "hello", "lang": qs[v%len(qs)].lang}) != nil {
		return nil, 1
	}
	var mu sync.Mutex
	sent := map[string]time.Time{} // client_id → when
	bySeq := map[int64]string{}    // the acks: seq → client_id
	var asked atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, t := 0, first; t.Before(end); i, t = i+1, t.Add(interval) {
			time.Sleep(time.Until(t))
			q := qs[(v*7+i)%len(qs)]
			id := fmt.Sprintf("b%d-%d", v, i)
			mu.Lock()
			sent[id] = time.Now()
			mu.Unlock()
			asked.Add(1)
			if write(map[string]any{"type": "message", "client_id": id, "text": q.text, "lang": q.lang}) != nil {
				return
			}
		}
		// The pong wakes the reader below should every answer be in.
		write(map[string]any{"type": "ping"})
	}()
	var lat []time.Duration
	for {
		_, data, err := c.Read(ctx)
		at := time.Now()
		if err != nil {
			<-done
			return lat, int(asked.Load()) - len(lat)
		}
		var f benchFrame
		if json.Unmarshal(data, &f) != nil {
			continue
		}
		mu.Lock()
		switch {
		case f.Type == "ack":
			bySeq[f.Seq] = f.ClientID
		case f.Type == "message" && f.Role == "bot":
			if t, ok := sent[bySeq[f.ReplyTo]]; ok {
				lat = append(lat, at.Sub(t))
			}
		}
		mu.Unlock()
		if int64(len(lat)) >= asked.Load() && isClosed(done) {
			return lat, 0
		}
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// benchWrites appends visitor messages from opt.Writers goroutines, each
// on its own conversation, for opt.Duration, and returns how many were
// committed: the single writer's rate with group commit.
func benchWrites(ctx context.Context, s *escalation.Store, opt benchOptions) (int, error) {
	var n atomic.Int64
	var firstErr error
	var once sync.Once
	end := time.Now().Add(opt.Duration)
	var wg sync.WaitGroup
	for w := range opt.Writers {
		wg.Go(func() {
			conv, _, err := s.CreateConversation(ctx, "en", "")
			for i := 0; err == nil && time.Now().Before(end); i++ {
				_, _, err = s.AppendMessage(ctx, escalation.NewMessage{ConversationID: conv.ID, Role: escalation.RoleVisitor,
					ClientID: fmt.Sprintf("w%d-%d", w, i), Kind: "text", Body: "how do I reset my password"})
				if err == nil {
					n.Add(1)
				}
			}
			if err != nil {
				once.Do(func() { firstErr = fmt.Errorf("bench: write: %w", err) })
			}
		})
	}
	wg.Wait()
	return int(n.Load()), firstErr
}

func printBench(w io.Writer, r benchResult, opt benchOptions) {
	fmt.Fprintf(w, "%d articles, on this machine (%s of load per phase)\n\n", r.Articles, opt.Duration)
	fmt.Fprintf(w, "  start, building the index   %9.0f ms\n", r.BuildMS)
	fmt.Fprintf(w, "  start from the saved index  %9.0f ms\n", r.ColdStartMS)
	fmt.Fprintf(w, "  search                      %9.3f ms p50  %7.3f ms p99   (%d searches)\n", r.SearchP50MS, r.SearchP99MS, r.Searches)
	fmt.Fprintf(w, "  answer over WebSocket       %9.2f ms p50  %7.2f ms p99   (%d visitors, %.0f answers/s, %d without answer)\n",
		r.AnswerP50MS, r.AnswerP99MS, opt.Visitors, r.AnswersPerSec, r.AnswerFailures)
	fmt.Fprintf(w, "  messages stored             %9.0f /s              (%d writers, synchronous=FULL)\n", r.WritesPerSec, opt.Writers)
}

func quantile(lat []time.Duration, q float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
