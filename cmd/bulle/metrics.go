package main

import (
	"context"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/widget"
)

// metrics is what GET /metrics serves, in Prometheus' text format: its
// own registry (not the global one, so tests can run several servers in
// one process), with the Go runtime's and the process's collectors, the
// build, gauges read at scrape time (sockets, outbox, articles) and what
// the widget's hooks report (answer latency, the bot's decisions).
type metrics struct {
	reg       *prometheus.Registry
	answers   prometheus.Histogram
	decisions *prometheus.CounterVec
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
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulle_bot_decisions_total",
			Help: "The assistant's decisions on visitor messages, by kind (answer, clarify, offer_person, handoff, decline, small_talk).",
		}, []string{"kind"}),
	}
	reg.MustRegister(build, met.answers, met.decisions,
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
		outboxCollector{m: m},
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

// countDecisions wraps the assistant to count its decisions by kind.
func (met *metrics) countDecisions(a widget.Assistant) widget.Assistant {
	return countingAssistant{Assistant: a, decisions: met.decisions}
}

type countingAssistant struct {
	widget.Assistant
	decisions *prometheus.CounterVec
}

func (c countingAssistant) Reply(ctx context.Context, t bot.Turn) (bot.Decision, error) {
	d, err := c.Assistant.Reply(ctx, t)
	if err == nil {
		c.decisions.WithLabelValues(string(d.Kind)).Inc()
	}
	return d, err
}

func (c countingAssistant) Unhelpful(ctx context.Context, lang string, streak int) (bot.Decision, bool) {
	d, ok := c.Assistant.Unhelpful(ctx, lang, streak)
	if ok {
		c.decisions.WithLabelValues(string(d.Kind)).Inc()
	}
	return d, ok
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
