package widget

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/kb/kbtest"
	"github.com/coder/websocket"
)

// The load of BenchmarkAnswerOverSocket: benchVisitors connections, each
// asking a question every benchVisitors/benchRate seconds, for benchLoad.
// 50 visitors at 4 questions a second stay under the per-connection rate
// limit (5/s), as real visitors would.
const (
	benchRate     = 200 // answers per second, all visitors together
	benchVisitors = 50
	benchLoad     = 5 * time.Second
)

// benchQuestions are asked in turn; each needs a search (no small talk or
// hand-off, which skip it).
var benchQuestions = []struct{ lang, text string }{
	{"fr", "comment réinitialiser mon mot de passe"},
	{"fr", "quels sont les horaires du chat"},
	{"fr", "comment joindre une pièce jointe à ma demande"},
	{"en", "how do I reset my password"},
	{"en", "when is live chat open"},
	{"en", "how do I export my data"},
}

// BenchmarkAnswerOverSocket measures the bot's answer latency over real
// WebSockets on loopback, on an index of 2,000 generated articles, at a
// paced 200 answers a second. server_* is measured in the server, from
// reading the visitor's frame to writing the bot's; rtt_* is the visitor's
// round trip, from sending the question to reading the answer. Both
// include the two SQLite commits (synchronous=FULL) of each exchange.
func BenchmarkAnswerOverSocket(b *testing.B) {
	dir := b.TempDir()
	kbtest.Generate(b, "../articles", dir, 2000)
	base := openBase(b, dir)

	var mu sync.Mutex
	var server []time.Duration
	env := newEnvWith(b, base, bot.New(base, chatClosed{}, bot.DefaultConfig()), func(o *Options) {
		o.Rate, o.Burst = DefaultRate, DefaultBurst // the shipped limits
		o.AnswerLatency = func(d time.Duration) {
			mu.Lock()
			server = append(server, d)
			mu.Unlock()
		}
	})

	var rtt []time.Duration
	var failures int
	for b.Loop() {
		r, f := runLoad(b, env)
		rtt = append(rtt, r...)
		failures += f
	}
	mu.Lock()
	defer mu.Unlock()
	report(b, "server", server)
	report(b, "rtt", rtt)
	b.ReportMetric(float64(len(rtt))/benchLoad.Seconds()/float64(b.N), "answers/s")
	b.ReportMetric(float64(failures), "failures")
	// The same load on a bare coder/websocket echo server, in the same run:
	// the ratio says what the bot, the store and the protocol cost over the
	// socket alone.
	echo := echoLoad(b)
	report(b, "echo_rtt", echo)
	if e := percentile(echo, 0.99); e > 0 {
		b.ReportMetric(float64(percentile(rtt, 0.50))/float64(percentile(echo, 0.50)), "rtt_p50_vs_echo")
		b.ReportMetric(float64(percentile(rtt, 0.99))/float64(e), "rtt_p99_vs_echo")
	}
}

// echoLoad runs the visitors' load (benchVisitors sockets, benchRate
// frames a second in all, for benchLoad) against a bare coder/websocket
// server that echoes each frame, and returns the round trips.
func echoLoad(b *testing.B) []time.Duration {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, data, err := c.Read(r.Context())
			if err != nil || c.Write(r.Context(), typ, data) != nil {
				return
			}
		}
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	var mu sync.Mutex
	var rtt []time.Duration
	var wg sync.WaitGroup
	interval := time.Duration(benchVisitors) * time.Second / benchRate
	start := time.Now()
	end := start.Add(benchLoad)
	for v := range benchVisitors {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), benchLoad+10*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(ctx, url, nil)
			if err != nil {
				b.Error(err)
				return
			}
			defer c.CloseNow()
			go func() {
				// The last echoes have a second to come back; then the
				// close ends the reader below.
				defer time.AfterFunc(time.Second, func() { c.CloseNow() })
				for t := start.Add(interval * time.Duration(v) / benchVisitors); t.Before(end); t = t.Add(interval) {
					time.Sleep(time.Until(t))
					data, _ := json.Marshal(map[string]any{"type": "message", "client_id": time.Now().Format(time.RFC3339Nano),
						"text": benchQuestions[v%len(benchQuestions)].text})
					if c.Write(ctx, websocket.MessageText, data) != nil {
						return
					}
				}
			}()
			for {
				_, data, err := c.Read(ctx)
				at := time.Now()
				if err != nil {
					return
				}
				var f struct {
					ClientID string `json:"client_id"`
				}
				json.Unmarshal(data, &f)
				sent, _ := time.Parse(time.RFC3339Nano, f.ClientID)
				mu.Lock()
				rtt = append(rtt, at.Sub(sent))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return rtt
}

// percentile returns the q-th quantile of lat (0 for none).
func percentile(lat []time.Duration, q float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

// runLoad runs the visitors for benchLoad and returns their round trips.
func runLoad(b *testing.B, env *testEnv) (rtt []time.Duration, failures int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	interval := time.Duration(benchVisitors) * time.Second / benchRate
	start := time.Now()
	for v := range benchVisitors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, failed := visit(env, v, start.Add(interval*time.Duration(v)/benchVisitors), interval, start.Add(benchLoad))
			mu.Lock()
			rtt = append(rtt, got...)
			failures += failed
			mu.Unlock()
		}()
	}
	wg.Wait()
	return rtt, failures
}

// visit is one visitor: it sends a question every interval from first
// until end, without waiting for answers (open loop), and times each answer.
func visit(env *testEnv, v int, first time.Time, interval time.Duration, end time.Time) (rtt []time.Duration, failures int) {
	c, _, err := env.tryDial("")
	if err != nil {
		return nil, 1
	}
	defer c.conn.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), time.Until(end)+10*time.Second)
	defer cancel()
	write := func(f map[string]any) error {
		data, _ := json.Marshal(f)
		return c.conn.Write(ctx, websocket.MessageText, data)
	}
	q := benchQuestions[v%len(benchQuestions)]
	if write(map[string]any{"type": "hello", "lang": q.lang}) != nil {
		return nil, 1
	}

	var mu sync.Mutex
	sent := map[string]time.Time{} // client_id -> when
	bySeq := map[int64]string{}    // seq -> client_id, from the acks
	asked, finished := 0, false
	go func() {
		for t := first; t.Before(end); t = t.Add(interval) {
			time.Sleep(time.Until(t))
			q := benchQuestions[(v+asked)%len(benchQuestions)]
			id := fmt.Sprintf("v%d-%d", v, asked)
			mu.Lock()
			sent[id] = time.Now()
			asked++
			mu.Unlock()
			if write(map[string]any{"type": "message", "client_id": id, "text": q.text}) != nil {
				break
			}
		}
		mu.Lock()
		finished = true
		mu.Unlock()
		write(map[string]any{"type": "ping"}) // wakes the reader if it has everything
	}()
	for {
		mu.Lock()
		done := finished && len(rtt)+failures >= asked
		mu.Unlock()
		if done {
			return rtt, failures
		}
		_, data, err := c.conn.Read(ctx)
		if err != nil {
			mu.Lock()
			defer mu.Unlock()
			return rtt, asked - len(rtt)
		}
		at := time.Now()
		var f frame
		if json.Unmarshal(data, &f) != nil {
			continue
		}
		mu.Lock()
		switch {
		case f.Type == typeAck:
			bySeq[f.Seq] = f.ClientID
		case f.Type == typeMessage && f.Role == "bot":
			rtt = append(rtt, at.Sub(sent[bySeq[f.ReplyTo]]))
		case f.Type == typeError:
			failures++
		}
		mu.Unlock()
	}
}

// report adds the median and 99th percentile of lat, in milliseconds.
func report(b *testing.B, name string, lat []time.Duration) {
	if len(lat) == 0 {
		b.Errorf("%s: no measurements", name)
		return
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	b.ReportMetric(float64(s[len(s)/2].Microseconds())/1000, name+"_p50_ms")
	b.ReportMetric(float64(s[len(s)*99/100].Microseconds())/1000, name+"_p99_ms")
}
