package escalation

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// The help center's searches, the results opened from them and the
// articles read (migration 016), recorded for the editors' insights. The
// pages are public and need no sign-in, so a write transaction per page
// view would let anyone queue work on the single writer: events wait in
// memory and are written in batches, one transaction each. Nothing here
// ever makes a page wait: when the buffer is full an event is dropped and
// counted, and a failed write loses its batch rather than retrying it.

// Batching defaults: a batch is written every insightsFlushEvery, or
// sooner once insightsFlushAt events wait; at most insightsMaxPending wait.
const (
	insightsFlushEvery = 2 * time.Second
	insightsFlushAt    = 200
	insightsMaxPending = 10_000
	// insightsFlushTimeout bounds one batch's transaction, including the
	// last one at shutdown, which must not hang the program's Close.
	insightsFlushTimeout = 10 * time.Second
	// insightsLostLogEvery spaces the warnings about lost events: under a
	// flood, one line a minute says enough.
	insightsLostLogEvery = time.Minute
	// maxInsightsQuery is the longest query stored, in characters, as
	// migration 016 promises whatever the caller sends.
	maxInsightsQuery = 200
)

// InsightsOptions tune an InsightsRecorder; the zero value is the default.
type InsightsOptions struct {
	FlushEvery time.Duration // how often Run writes what waits; 2 s when 0
	FlushAt    int           // events that wake Run before its tick; 200 when 0
	MaxPending int           // events held at most, then dropped; 10,000 when 0
	Logger     *slog.Logger  // warnings about lost events; discarded when nil
}

// InsightsStats counts what a recorder holds and what it lost.
type InsightsStats struct {
	Pending int   // events waiting for the next batch
	Dropped int64 // events refused because the buffer was full
	Failed  int64 // events lost with a batch whose write failed
}

// InsightsRecorder records the help center's activity in batches; it
// satisfies kb.Activity (asserted in cmd/bulle). Its recording methods
// never block on the database and are safe for concurrent use; Run writes
// the batches.
type InsightsRecorder struct {
	store *Store
	opt   InsightsOptions
	log   *slog.Logger
	wake  chan struct{} // poked when FlushAt events wait

	flushMu sync.Mutex // one batch written at a time, so batches land in order

	mu        sync.Mutex
	batch     insightsBatch
	dropped   int64
	failed    int64
	lostSeen  int64     // dropped+failed when a warning was last logged
	lostSaid  time.Time // when it was
	lastError error     // of the last failed write, for the warning
}

// insightsBatch is what waits for the next transaction. An event is a
// search, a click on an already written search, or a (day, lang, article)
// counter: repeated views of one article add to its counter, and a click
// on a search still waiting is set on it, so neither takes more room.
type insightsBatch struct {
	searches []pendingSearch
	searchAt map[int64]int    // search id → index in searches
	clicks   map[int64]string // search id → first article opened
	views    map[viewKey]int
}

type pendingSearch struct {
	id         int64
	lang       string
	query      string
	results    int
	clicked    string // "" while no result was opened
	recordedAt string
}

type viewKey struct{ day, lang, article string }

func (b *insightsBatch) size() int { return len(b.searches) + len(b.clicks) + len(b.views) }

// NewInsightsRecorder returns a recorder writing to s; start its Run.
func NewInsightsRecorder(s *Store, opt InsightsOptions) *InsightsRecorder {
	opt.FlushEvery = cmp.Or(opt.FlushEvery, insightsFlushEvery)
	opt.FlushAt = cmp.Or(opt.FlushAt, insightsFlushAt)
	opt.MaxPending = cmp.Or(opt.MaxPending, insightsMaxPending)
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &InsightsRecorder{store: s, opt: opt, log: log, wake: make(chan struct{}, 1)}
}

// SearchDone records a search and returns its id: random, positive and
// 63 bits long, so it needs no round trip to the database before the page
// is rendered, nor any coordination between servers, and nobody marks
// other visitors' searches as opened by counting. A dropped search still
// gets an id; its clicks then update nothing.
func (r *InsightsRecorder) SearchDone(lang, query string, results int) int64 {
	id := newSearchID()
	query = strings.ToValidUTF8(query, "\uFFFD")
	if utf8.RuneCountInString(query) > maxInsightsQuery {
		query = string([]rune(query)[:maxInsightsQuery])
	}
	// A negative count would fail the table's CHECK, and its whole batch.
	s := pendingSearch{id: id, lang: lang, query: query, results: max(results, 0),
		recordedAt: formatOutboxTime(r.store.Now())}
	r.record(func(b *insightsBatch, room bool) bool {
		if !room {
			return false
		}
		if b.searchAt == nil {
			b.searchAt = map[int64]int{}
		}
		b.searchAt[id] = len(b.searches)
		b.searches = append(b.searches, s)
		return true
	})
	return id
}

// ResultOpened records that articleID was opened from the results of
// search id; only the first article opened from a search counts.
func (r *InsightsRecorder) ResultOpened(id int64, articleID string) {
	if id <= 0 {
		return
	}
	r.record(func(b *insightsBatch, room bool) bool {
		if i, ok := b.searchAt[id]; ok { // not written yet: set it on the row to insert
			if b.searches[i].clicked == "" {
				b.searches[i].clicked = articleID
			}
			return true
		}
		if _, ok := b.clicks[id]; ok {
			return true // a later click, which would not count
		}
		if !room {
			return false
		}
		if b.clicks == nil {
			b.clicks = map[int64]string{}
		}
		b.clicks[id] = articleID
		return true
	})
}

// ArticleRead counts a view of an article, on the day (UTC) it happens.
func (r *InsightsRecorder) ArticleRead(lang, articleID string) {
	k := viewKey{day: r.store.Now().UTC().Format(time.DateOnly), lang: lang, article: articleID}
	r.record(func(b *insightsBatch, room bool) bool {
		if _, ok := b.views[k]; ok {
			b.views[k]++
			return true
		}
		if !room {
			return false
		}
		if b.views == nil {
			b.views = map[viewKey]int{}
		}
		b.views[k] = 1
		return true
	})
}

// record applies add to the batch under the lock. room says whether a new
// event fits; add returns false when it needed room and had none, and the
// event is then dropped and counted. An event that adds to one already
// waiting (a view of a counted article, a click on a waiting search)
// needs no room, so those are never dropped.
func (r *InsightsRecorder) record(add func(b *insightsBatch, room bool) bool) {
	r.mu.Lock()
	if !add(&r.batch, r.batch.size() < r.opt.MaxPending) {
		r.dropped++
		warn := r.lostWarning()
		r.mu.Unlock()
		warn()
		return
	}
	full := r.batch.size() >= r.opt.FlushAt
	r.mu.Unlock()
	if full {
		select {
		case r.wake <- struct{}{}:
		default: // already poked
		}
	}
}

// Stats reports the recorder's counts.
func (r *InsightsRecorder) Stats() InsightsStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return InsightsStats{Pending: r.batch.size(), Dropped: r.dropped, Failed: r.failed}
}

// lostWarning, called with r.mu held after counting lost events, returns
// what logs a warning about them, at most once a minute by the store's
// clock; it is called after r.mu is released.
func (r *InsightsRecorder) lostWarning() func() {
	now := r.store.Now()
	lost := r.dropped + r.failed
	if lost == r.lostSeen || (!r.lostSaid.IsZero() && now.Sub(r.lostSaid) < insightsLostLogEvery) {
		return func() {}
	}
	r.lostSeen, r.lostSaid = lost, now
	dropped, failed, err := r.dropped, r.failed, r.lastError
	return func() {
		attrs := []any{"dropped_total", dropped, "failed_total", failed, "max_pending", r.opt.MaxPending}
		if err != nil {
			attrs = append(attrs, "err", err)
		}
		r.log.Warn("insights: events not recorded", attrs...)
	}
}

// Run writes the waiting events every FlushEvery, or sooner once FlushAt
// wait, until ctx ends; then it writes what is left and returns. Stop it
// after the server that records, and before the store closes.
func (r *InsightsRecorder) Run(ctx context.Context) {
	t := time.NewTicker(r.opt.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			r.flushLogged(ctx)
			return
		case <-t.C:
		case <-r.wake:
		}
		r.flushLogged(ctx)
	}
}

// flushLogged writes a batch; a failure is counted and warned about by
// Flush. The batch's context outlives ctx, so that neither the last batch
// nor one under way when the program stops is lost to the cancellation.
func (r *InsightsRecorder) flushLogged(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), insightsFlushTimeout)
	defer cancel()
	_ = r.Flush(ctx)
}

// Flush writes every waiting event in one transaction. On failure the
// batch is lost (counted in Stats().Failed, warned about at most once a
// minute): retrying it would let a failing disk fill the memory.
func (r *InsightsRecorder) Flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	b := r.batch
	r.batch = insightsBatch{}
	r.mu.Unlock()
	if b.size() == 0 {
		return nil
	}
	err := r.store.writeInsights(ctx, b)
	if err == nil {
		return nil
	}
	err = fmt.Errorf("store: record insights: %w", err)
	r.mu.Lock()
	r.failed += int64(b.size())
	r.lastError = err
	warn := r.lostWarning()
	r.mu.Unlock()
	warn()
	return err
}

// writeInsights writes a batch in one transaction: the new searches, the
// clicks on searches written before (the first click wins, by the guard),
// and the view counters added to the day's.
func (s *Store) writeInsights(ctx context.Context, b insightsBatch) error {
	tx, err := s.background.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if len(b.searches) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT INTO searches (id, lang, query, results, clicked_article, created_at)
			VALUES (?, ?, ?, ?, NULLIF(?, ''), ?) ON CONFLICT (id) DO NOTHING`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, q := range b.searches {
			if _, err := st.ExecContext(ctx, q.id, q.lang, q.query, q.results, q.clicked, q.recordedAt); err != nil {
				return err
			}
		}
	}
	if len(b.clicks) > 0 {
		st, err := tx.PrepareContext(ctx, `UPDATE searches SET clicked_article = ? WHERE id = ? AND clicked_article IS NULL`)
		if err != nil {
			return err
		}
		defer st.Close()
		for id, article := range b.clicks {
			if _, err := st.ExecContext(ctx, article, id); err != nil {
				return err
			}
		}
	}
	if len(b.views) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT INTO article_views (day, lang, article_id, views) VALUES (?, ?, ?, ?)
			ON CONFLICT (day, lang, article_id) DO UPDATE SET views = views + excluded.views`)
		if err != nil {
			return err
		}
		defer st.Close()
		// In key order, so that two servers writing the same counters
		// (on a database that locks rows) take their locks in one order.
		keys := make([]viewKey, 0, len(b.views))
		for k := range b.views {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(x, y viewKey) int {
			return cmp.Or(strings.Compare(x.day, y.day), strings.Compare(x.lang, y.lang), strings.Compare(x.article, y.article))
		})
		for _, k := range keys {
			if _, err := st.ExecContext(ctx, k.day, k.lang, k.article, b.views[k]); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// newSearchID returns a random id in [1, 2^63).
func newSearchID() int64 {
	var b [8]byte
	for {
		rand.Read(b[:]) // never fails since Go 1.24; it crashes the program instead
		if id := int64(binary.BigEndian.Uint64(b[:]) >> 1); id > 0 {
			return id
		}
	}
}
