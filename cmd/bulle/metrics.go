package main

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
	"github.com/bulle-help/bulle/widget"
)

// metrics is what GET /metrics serves, in Prometheus' text format: its
// own registry (not the global one, so tests can run several servers in
// one process), with the Go runtime's and the process's collectors, the
// build, values read at scrape time (sockets, outbox, articles, index
// size, the store's and the sender's counts) and what the hooks report
// (answer and search latency, the bot's decisions and their reasons).
type metrics struct {
	reg       *prometheus.Registry
	answers   prometheus.Histogram
	searches  prometheus.Histogram
	decisions *prometheus.CounterVec
	handoffs  *prometheus.CounterVec
}

// outboxStatsTimeout bounds the store's work for one scrape.
const outboxStatsTimeout = 5 * time.Second

// newMetrics registers everything; the gauges read m's widget, store and
// knowledge base when scraped, so they may be set after this call.
func newMetrics(m *Main) *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "bulle_build_info",
		Help: "Always 1; the labels say which build is running.",
	}, []string{"version", "goversion"})
	build.WithLabelValues(buildVersion(), runtime.Version()).Set(1)
	met := &metrics{
		reg: reg,
		answers: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "bulle_answer_seconds",
			Help: "Time from reading a visitor's message to sending the assistant's reply.",
			// From a cached search to a slow disk; past 10 s visitors leave.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		searches: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "bulle_search_seconds",
			Help: "Time of each knowledge-base search: the assistant's and the help center's search page.",
			// A search in memory takes a millisecond or less; a cold disk or a
			// large index shows in the upper buckets.
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulle_bot_decisions_total",
			Help: "The assistant's decisions on visitor messages, by kind (answer, clarify, offer_person, handoff, decline, small_talk).",
		}, []string{"kind"}),
		handoffs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulle_handoffs_total",
			Help: "The assistant's decisions that did not answer from the articles (hand-offs, offers of a person, declines), by reason.",
		}, []string{"reason"}),
	}
	// Every reason shows from the start, at 0, so a rate over it exists
	// before the first hand-off.
	for _, r := range []bot.Reason{bot.ReasonExplicit, bot.ReasonUnhelpful, bot.ReasonLowConf, bot.ReasonUnsupported} {
		met.handoffs.WithLabelValues(string(r))
	}
	index := &dirSize{ttl: indexSizeTTL, now: time.Now}
	if m.Config.DataDir != "" {
		index.dir = filepath.Join(m.Config.DataDir, "index") // as serve.go opens it
	}
	reg.MustRegister(build, met.answers, met.searches, met.decisions, met.handoffs,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bulle_widget_open_sockets",
			Help: "Visitor sockets open past their hello.",
		}, func() float64 {
			if m.widget == nil {
				return 0
			}
			return float64(m.widget.OpenSockets())
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bulle_kb_articles",
			Help: "Articles in the search index (each language's version counts once).",
		}, func() float64 {
			if m.base == nil {
				return 0
			}
			return float64(m.base.Corpus().Len())
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bulle_index_size_bytes",
			Help: "Bytes on disk of the search index folder (data/index), measured at most every 30 s.",
		}, index.bytes),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "bulle_smtp_errors_total",
			Help: "Failed attempts to send a mail over SMTP (refused, unreachable, timed out); 0 without smtp.host.",
		}, func() float64 {
			if m.mailer == nil || m.mailer.sender == nil {
				return 0
			}
			return float64(m.mailer.sender.SMTPErrors())
		}),
		outboxCollector{m: m},
		storeCollector{m: m},
	)
	return met
}

// handler serves the registry. Unless public, only a client on this
// machine gets it, and not through a proxy: anyone else gets 404, as if
// there were no such page.
func (met *metrics) handler(public bool) http.Handler {
	h := promhttp.HandlerFor(met.reg, promhttp.HandlerOpts{Registry: met.reg})
	if public {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackClient(r) {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// loopbackClient says whether r comes straight from this machine. A
// request a reverse proxy forwarded comes from loopback too when the
// proxy runs here, so one that carries a forwarding header is not.
func loopbackClient(r *http.Request) bool {
	for _, h := range []string{"X-Forwarded-For", "X-Real-Ip", "Forwarded"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// answerLatency is widget.Options.AnswerLatency.
func (met *metrics) answerLatency(d time.Duration) { met.answers.Observe(d.Seconds()) }

// searchLatency is kb.Options.SearchObserved.
func (met *metrics) searchLatency(d time.Duration) { met.searches.Observe(d.Seconds()) }

// countDecisions wraps the assistant to count its decisions by kind, and
// those that carry a reason (hand-off, offer, decline) by reason.
func (met *metrics) countDecisions(a widget.Assistant) widget.Assistant {
	return countingAssistant{Assistant: a, decisions: met.decisions, handoffs: met.handoffs}
}

type countingAssistant struct {
	widget.Assistant
	decisions *prometheus.CounterVec
	handoffs  *prometheus.CounterVec
}

func (c countingAssistant) count(d bot.Decision) {
	c.decisions.WithLabelValues(string(d.Kind)).Inc()
	if d.Reason != "" {
		c.handoffs.WithLabelValues(string(d.Reason)).Inc()
	}
}

func (c countingAssistant) Reply(ctx context.Context, t bot.Turn) (bot.Decision, error) {
	d, err := c.Assistant.Reply(ctx, t)
	if err == nil {
		c.count(d)
	}
	return d, err
}

func (c countingAssistant) Unhelpful(ctx context.Context, lang string, streak int) (bot.Decision, bool) {
	d, ok := c.Assistant.Unhelpful(ctx, lang, streak)
	if ok {
		c.count(d)
	}
	return d, ok
}

// storeCollector reads the store's counts of committed writes once per
// scrape: messages by role, and escalations by channel (chats queued,
// tickets opened). They start at 0 with the process, as counters do.
type storeCollector struct{ m *Main }

var (
	messagesDesc = prometheus.NewDesc("bulle_messages_total",
		"Messages stored in conversations, by role (visitor, bot, agent, system); a resent message counts once.",
		[]string{"role"}, nil)
	escalationsDesc = prometheus.NewDesc("bulle_escalations_total",
		"Visitors handed to a person, by channel: chat (queued for an agent) and email (a ticket opened, from the bubble, the contact page or a reply to a transcript).",
		[]string{"channel"}, nil)
)

// countedRoles are the roles bulle_messages_total shows, always all four.
var countedRoles = []escalation.Role{escalation.RoleVisitor, escalation.RoleBot, escalation.RoleAgent, escalation.RoleSystem}

func (o storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- messagesDesc
	ch <- escalationsDesc
}

func (o storeCollector) Collect(ch chan<- prometheus.Metric) {
	if o.m.store == nil {
		return
	}
	c := o.m.store.Counts()
	for _, r := range countedRoles {
		ch <- prometheus.MustNewConstMetric(messagesDesc, prometheus.CounterValue, float64(c.Messages[r]), string(r))
	}
	ch <- prometheus.MustNewConstMetric(escalationsDesc, prometheus.CounterValue, float64(c.ChatsQueued), "chat")
	ch <- prometheus.MustNewConstMetric(escalationsDesc, prometheus.CounterValue, float64(c.TicketsOpened), "email")
}

// indexSizeTTL is how long a measured index size is served again: walking
// the folder costs a stat per segment file, too much for every scrape of
// a busy Prometheus, and the size moves only on rebuilds and edits.
const indexSizeTTL = 30 * time.Second

// dirSize measures the bytes of the files under dir, at most once per ttl.
type dirSize struct {
	dir string // "" measures nothing: 0
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex // one walk at a time; scrapes meanwhile wait for it
	at   time.Time  // when size was measured; zero before the first time
	size int64
}

// bytes is the size, measured again when the last measure is older than ttl.
func (d *dirSize) bytes() float64 {
	if d.dir == "" {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if now := d.now(); d.at.IsZero() || now.Sub(d.at) >= d.ttl {
		d.size, d.at = walkSize(d.dir), now
	}
	return float64(d.size)
}

// walkSize adds the sizes of the regular files under dir. Bleve merges
// segments while serving, so a file may go between listing and stat: it
// is skipped, and an unreadable folder counts 0, never an error.
func walkSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return fs.SkipDir
		}
		if e.Type().IsRegular() {
			if info, err := e.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// outboxCollector reads the outbox once per scrape for its three gauges.
type outboxCollector struct{ m *Main }

var (
	outboxQueuedDesc = prometheus.NewDesc("bulle_outbox_queued",
		"Mails in the outbox still to send.", nil, nil)
	outboxOldestDesc = prometheus.NewDesc("bulle_outbox_oldest_seconds",
		"How long the oldest mail still to send has waited; 0 when none.", nil, nil)
	outboxFailedDesc = prometheus.NewDesc("bulle_outbox_failed",
		"Mails the sender gave up on (kept in the outbox).", nil, nil)
)

func (o outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxQueuedDesc
	ch <- outboxOldestDesc
	ch <- outboxFailedDesc
}

func (o outboxCollector) Collect(ch chan<- prometheus.Metric) {
	if o.m.store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), outboxStatsTimeout)
	defer cancel()
	queued, oldest, failed, err := o.m.store.OutboxStats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxQueuedDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(outboxQueuedDesc, prometheus.GaugeValue, float64(queued))
	ch <- prometheus.MustNewConstMetric(outboxOldestDesc, prometheus.GaugeValue, oldest.Seconds())
	ch <- prometheus.MustNewConstMetric(outboxFailedDesc, prometheus.GaugeValue, float64(failed))
}

// buildVersion is the main module's version, "(devel)" for a build from
// a work tree.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
