package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/kb"
)

// evalQuestion is one line of a question set (../shared/eval/FORMAT.md).
type evalQuestion struct {
	ID     string   `json:"id"`
	Lang   string   `json:"lang"`
	Text   string   `json:"text"`
	Expect []string `json:"expect"`
	Human  bool     `json:"human"`
}

// evalMetrics are the metrics of FORMAT.md, exactly its keys.
type evalMetrics struct {
	Questions      int     `json:"questions"`
	Hit1           float64 `json:"hit1"`
	Hit3           float64 `json:"hit3"`
	MRR            float64 `json:"mrr"`
	MAP            float64 `json:"map"`
	Answered       float64 `json:"answered"`
	Precision      float64 `json:"precision"`
	InscopeAcc     float64 `json:"inscope_acc"`
	OOSRecall      float64 `json:"oos_recall"`
	HumanPrecision float64 `json:"human_precision"`
	HumanRecall    float64 `json:"human_recall"`
	P50ms          float64 `json:"p50_ms"`
	P99ms          float64 `json:"p99_ms"`
}

// evalOutcome is what the bot did with one question, enough to recompute
// the decision metrics at any threshold (the sweep).
type evalOutcome struct {
	answerable, oos, human bool
	searched               bool    // the bot searched: no hand-off, small talk or decline first
	handoff                bool    // the bot handed off at once
	confidence             float64 // of the top hit, when searched
	right                  bool    // the first article offered is expected
	latency                time.Duration
}

// evalTop is how deep MRR and MAP look, as FORMAT.md defines them.
const evalTop = 10

// runEval is "bulle eval": it runs question sets through the search path the
// bubble uses and prints the metrics.
func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bulle eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	articles := fs.String("articles", "", "articles folder of the set")
	questions := fs.String("questions", "", "questions file (JSON lines)")
	var all []string
	fs.Func("all", "a folder of sets (each with articles/ and questions.jsonl): evaluate each; repeatable", func(v string) error {
		all = append(all, v)
		return nil
	})
	asJSON := fs.Bool("json", false, "print JSON")
	baseline := fs.String("baseline", "", "with --all: fail when a metric drops below this file's figures")
	threshold := fs.Float64("threshold", bot.DefaultThreshold, "confidence under which the bot offers a person")
	sweep := fs.Bool("sweep", false, "also print answered versus precision over thresholds 0 to 1")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: bulle eval --articles DIR --questions FILE [--json] [--threshold X] [--sweep]\n       bulle eval --all DIR [--all DIR...] [--json] [--threshold X] [--sweep] [--baseline FILE]\n       bulle eval export "+evalExportSynopsis+"   (a set from real traffic; see bulle eval export -h)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if t := *threshold; math.IsNaN(t) || t < 0 || t > 1 {
		return usageError{err: fmt.Errorf("eval: --threshold %v: want a number from 0 to 1", t)}
	}
	cfg := bot.DefaultConfig()
	cfg.Threshold = *threshold
	if len(all) > 0 {
		return evalAll(ctx, all, cfg, *asJSON, *sweep, *baseline, stdout)
	}
	if *articles == "" || *questions == "" {
		fs.Usage()
		return usageError{err: errors.New("eval: --articles and --questions are required (or --all)"), printed: true}
	}
	m, outcomes, err := evalSet(ctx, *articles, *questions, cfg)
	if err != nil {
		return err
	}
	name := filepath.Base(filepath.Dir(*questions))
	if *asJSON {
		return json.NewEncoder(stdout).Encode(m)
	}
	printMetrics(stdout, name, m, true)
	if *sweep {
		printSweep(stdout, name, outcomes)
	}
	return nil
}

func evalAll(ctx context.Context, dirs []string, cfg bot.Config, asJSON, sweep bool, baselinePath string, stdout io.Writer) error {
	results := map[string]evalMetrics{}
	sweeps := map[string][]evalOutcome{}
	var names []string
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		for _, e := range entries {
			q := filepath.Join(dir, e.Name(), "questions.jsonl")
			if _, err := os.Stat(q); !e.IsDir() || err != nil {
				continue
			}
			m, outcomes, err := evalSet(ctx, filepath.Join(dir, e.Name(), "articles"), q, cfg)
			if err != nil {
				return fmt.Errorf("eval %s: %w", e.Name(), err)
			}
			results[e.Name()], sweeps[e.Name()] = m, outcomes
			names = append(names, e.Name())
		}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return err
		}
	} else {
		for i, n := range names {
			printMetrics(stdout, n, results[n], i == 0)
		}
		if sweep {
			for _, n := range names {
				printSweep(stdout, n, sweeps[n])
			}
		}
	}
	if baselinePath == "" {
		return nil
	}
	return checkBaseline(baselinePath, results, stdout)
}

// checkBaseline fails when a quality metric falls below the figure main
// last reached. Latency is not guarded here: it depends on the machine.
func checkBaseline(path string, got map[string]evalMetrics, stdout io.Writer) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("eval: baseline: %w", err)
	}
	var base map[string]evalMetrics
	if err := json.Unmarshal(data, &base); err != nil {
		return fmt.Errorf("eval: baseline %s: %w", path, err)
	}
	// Ties in BM25 scores may break differently across platforms; a
	// drop smaller than this is noise, not a regression.
	const tolerance = 0.002
	var drops []string
	for set, b := range base {
		g, ok := got[set]
		if !ok {
			drops = append(drops, set+": set missing")
			continue
		}
		for _, m := range []struct {
			name      string
			got, base float64
		}{{"hit1", g.Hit1, b.Hit1}, {"hit3", g.Hit3, b.Hit3}, {"mrr", g.MRR, b.MRR}, {"map", g.MAP, b.MAP},
			{"inscope_acc", g.InscopeAcc, b.InscopeAcc}, {"oos_recall", g.OOSRecall, b.OOSRecall},
			{"human_precision", g.HumanPrecision, b.HumanPrecision}, {"human_recall", g.HumanRecall, b.HumanRecall}} {
			if m.got < m.base-tolerance {
				drops = append(drops, fmt.Sprintf("%s %s: %.3f < baseline %.3f", set, m.name, m.got, m.base))
			}
		}
	}
	if len(drops) > 0 {
		return errors.New("eval regression:\n  " + strings.Join(drops, "\n  "))
	}
	fmt.Fprintf(stdout, "eval: no metric below the baseline in %s\n", path)
	return nil
}

func printMetrics(w io.Writer, name string, m evalMetrics, header bool) {
	if header {
		fmt.Fprintf(w, "%-20s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s %7s %7s\n", "set", "q", "hit1", "hit3", "mrr", "map",
			"answ", "prec", "insc", "oos_r", "hum_p", "hum_r", "p50_ms", "p99_ms")
	}
	fmt.Fprintf(w, "%-20s %6d %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f %7.3f %7.3f\n", name, m.Questions,
		m.Hit1, m.Hit3, m.MRR, m.MAP, m.Answered, m.Precision, m.InscopeAcc, m.OOSRecall, m.HumanPrecision, m.HumanRecall, m.P50ms, m.P99ms)
}

// evalSet indexes a set's articles in memory and asks the bot every
// question, as the bubble would.
func evalSet(ctx context.Context, articlesDir, questionsPath string, cfg bot.Config) (evalMetrics, []evalOutcome, error) {
	qs, err := readQuestions(questionsPath)
	if err != nil {
		return evalMetrics{}, nil, err
	}
	base, err := kb.Open(ctx, kb.Options{Dir: articlesDir})
	if err != nil {
		return evalMetrics{}, nil, err
	}
	defer base.Close()
	// Chat availability changes only the wording, never the decision.
	b := bot.New(base, nil, cfg)
	m := evalMetrics{Questions: len(qs)}
	outcomes := make([]evalOutcome, 0, len(qs))
	answerable := 0
	for _, q := range qs {
		start := time.Now()
		d, err := b.Reply(ctx, bot.Turn{Text: q.Text, Lang: q.Lang})
		o := evalOutcome{latency: time.Since(start), human: q.Human,
			answerable: len(q.Expect) > 0, oos: len(q.Expect) == 0 && !q.Human}
		if err != nil {
			return evalMetrics{}, nil, fmt.Errorf("question %s: %w", q.ID, err)
		}
		o.handoff = d.Kind == bot.KindHandoff
		o.searched = d.Kind == bot.KindAnswer || d.Kind == bot.KindClarify || d.Kind == bot.KindOffer
		o.confidence = d.Confidence
		if len(d.Hits) > 0 {
			o.right = slices.Contains(q.Expect, d.Hits[0].ID)
		}
		outcomes = append(outcomes, o)
		if !o.answerable {
			continue
		}
		answerable++
		ids := make([]string, len(d.Hits))
		for i, h := range d.Hits {
			ids[i] = h.ID
		}
		r := rankMetrics(ids, q.Expect)
		m.Hit1 += r.Hit1
		m.Hit3 += r.Hit3
		m.MRR += r.MRR
		m.MAP += r.MAP
	}
	if answerable > 0 {
		n := float64(answerable)
		m.Hit1, m.Hit3, m.MRR, m.MAP = round3(m.Hit1/n), round3(m.Hit3/n), round3(m.MRR/n), round3(m.MAP/n)
	}
	decisionMetrics(&m, outcomes, b.Threshold())
	lat := make([]time.Duration, len(outcomes))
	for i, o := range outcomes {
		lat[i] = o.latency
	}
	m.P50ms, m.P99ms = percentileMs(lat, 0.50), percentileMs(lat, 0.99)
	return m, outcomes, nil
}

// decisionMetrics fills the answered / precision / in-scope / out-of-scope
// / hand-off metrics as the bot decides at threshold t. A clarifying
// question counts as answered, its first choice as the first article.
func decisionMetrics(m *evalMetrics, outcomes []evalOutcome, t float64) {
	var answerable, answered, right, oos, oosKept, humans, handoffs, rightHandoffs int
	for _, o := range outcomes {
		answers := o.searched && o.confidence >= t
		if o.answerable {
			answerable++
			if answers {
				answered++
				if o.right {
					right++
				}
			}
		}
		if o.oos {
			oos++
			if !answers {
				oosKept++
			}
		}
		if o.human {
			humans++
		}
		if o.handoff {
			handoffs++
			if o.human {
				rightHandoffs++
			}
		}
	}
	m.Answered, m.Precision, m.InscopeAcc = ratio(answered, answerable), ratio(right, answered), ratio(right, answerable)
	m.OOSRecall = ratio(oosKept, oos)
	m.HumanPrecision, m.HumanRecall = ratio(rightHandoffs, handoffs), ratio(rightHandoffs, humans)
}

// ratio is n/of rounded to three places; 0 when there is nothing to count.
func ratio(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return round3(float64(n) / float64(of))
}

// printSweep prints the answered-versus-precision curve over thresholds.
func printSweep(w io.Writer, name string, outcomes []evalOutcome) {
	fmt.Fprintf(w, "%s: threshold sweep\n%9s %8s %9s %11s %10s\n", name, "threshold", "answered", "precision", "inscope_acc", "oos_recall")
	for i := 0; i <= 20; i++ {
		t := float64(i) / 20
		var m evalMetrics
		decisionMetrics(&m, outcomes, t)
		fmt.Fprintf(w, "%9.2f %8.3f %9.3f %11.3f %10.3f\n", t, m.Answered, m.Precision, m.InscopeAcc, m.OOSRecall)
	}
}

// rankMetrics scores one ranked list against the expected ids.
func rankMetrics(ranked, expect []string) evalMetrics {
	want := map[string]bool{}
	for _, e := range expect {
		want[e] = true
	}
	var r evalMetrics
	found := 0.0
	for i, id := range ranked {
		if i >= evalTop || !want[id] {
			continue
		}
		if found == 0 {
			r.MRR = 1 / float64(i+1)
			if i == 0 {
				r.Hit1 = 1
			}
			if i < 3 {
				r.Hit3 = 1
			}
		}
		found++
		r.MAP += found / float64(i+1)
		delete(want, id) // a duplicate id counts once
	}
	r.MAP /= float64(len(expect))
	return r
}

func readQuestions(path string) ([]evalQuestion, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	defer f.Close()
	var out []evalQuestion
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	line := 0
	for sc.Scan() {
		line++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var q evalQuestion
		if err := json.Unmarshal(sc.Bytes(), &q); err != nil {
			return nil, fmt.Errorf("eval: %s:%d: %w", path, line, err)
		}
		if q.Text == "" || (q.Lang != "fr" && q.Lang != "en") {
			return nil, fmt.Errorf("eval: %s:%d: a question needs text and lang fr or en", path, line)
		}
		out = append(out, q)
	}
	return out, sc.Err()
}

func percentileMs(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(p*float64(len(s)))) - 1
	i = max(0, min(i, len(s)-1))
	return round3(float64(s[i].Microseconds()) / 1000)
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
