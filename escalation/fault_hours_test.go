package escalation

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

	"github.com/labstack/echo/v4"
)

// Fault 6 of issue 15: a clock change (DST) or a jump of the wall clock
// during open hours. The schedule is checked against a reference, made
// independently of hours.go, around every clock change of 2026 and 2027
// in Paris and New York (and Lord Howe, whose clocks move by 30 minutes);
// and the availability API answers for the clock it reads now, whatever
// it read before: nothing keeps an "open" or "closed" that a jump would
// leave stale.

// faultTransitions are the clock changes tested, as the UTC instant of
// the change and the offsets before and after, in seconds east of UTC.
var faultTransitions = []struct {
	zone          string
	at            time.Time
	before, after int
}{
	{"Europe/Paris", utc(2026, 3, 29, 1, 0), 3600, 7200},
	{"Europe/Paris", utc(2026, 10, 25, 1, 0), 7200, 3600},
	{"Europe/Paris", utc(2027, 3, 28, 1, 0), 3600, 7200},
	{"Europe/Paris", utc(2027, 10, 31, 1, 0), 7200, 3600},
	{"America/New_York", utc(2026, 3, 8, 7, 0), -5 * 3600, -4 * 3600},
	{"America/New_York", utc(2026, 11, 1, 6, 0), -4 * 3600, -5 * 3600},
	{"America/New_York", utc(2027, 3, 14, 7, 0), -5 * 3600, -4 * 3600},
	{"America/New_York", utc(2027, 11, 7, 6, 0), -4 * 3600, -5 * 3600},
	// Lord Howe Island moves its clocks by half an hour, at 02:00.
	{"Australia/Lord_Howe", utc(2026, 4, 4, 15, 0), 39600, 37800},
	{"Australia/Lord_Howe", utc(2026, 10, 3, 15, 30), 37800, 39600},
}

// faultSchedules are weekly schedules whose openings start, end or lie
// within the hour a clock change skips or repeats (between 01:00 and
// 03:00 in these zones), or run across it overnight.
var faultSchedules = []struct {
	name string
	days [7]string // by time.Weekday
}{
	{"01:30-03:30 every day", [7]string{"01:30-03:30", "01:30-03:30", "01:30-03:30", "01:30-03:30", "01:30-03:30", "01:30-03:30", "01:30-03:30"}},
	{"02:15-02:45 every day", [7]string{"02:15-02:45", "02:15-02:45", "02:15-02:45", "02:15-02:45", "02:15-02:45", "02:15-02:45", "02:15-02:45"}},
	{"01:00-02:00 every day", [7]string{"01:00-02:00", "01:00-02:00", "01:00-02:00", "01:00-02:00", "01:00-02:00", "01:00-02:00", "01:00-02:00"}},
	{"saturday night to sunday 06:00", [7]string{"00:00-06:00", "", "", "", "", "", "22:00-24:00"}},
	{"every day 09:00-18:00, sunday 00:00-05:00", [7]string{"00:00-05:00", "09:00-18:00", "09:00-18:00", "09:00-18:00", "09:00-18:00", "09:00-18:00", "09:00-18:00"}},
	{"all day", [7]string{"00:00-24:00", "00:00-24:00", "00:00-24:00", "00:00-24:00", "00:00-24:00", "00:00-24:00", "00:00-24:00"}},
}

// faultHours builds hours in zone with days as the chat schedule.
func faultHours(t *testing.T, zone string, days [7]string) *Hours {
	t.Helper()
	h, err := NewHours(HoursConfig{Timezone: zone, ChannelHours: ChannelHours{Sunday: days[0], Monday: days[1],
		Tuesday: days[2], Wednesday: days[3], Thursday: days[4], Friday: days[5], Saturday: days[6]}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// refWall is the date and time clocks in loc show at u, as UTC.
func refWall(u time.Time, loc *time.Location) time.Time {
	w := u.In(loc)
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, time.UTC)
}

// refFirstReading is the first instant at which clocks in loc read wall
// (a date and time given as UTC) or later, found by walking minute by
// minute: the rule of docs/availability.md, without hours.go's arithmetic.
// A skipped wall time is first "read or passed" at the jump; a repeated
// one at its first occurrence.
func refFirstReading(wall time.Time, loc *time.Location) time.Time {
	// No zone is more than 14 hours ahead of UTC: 15 hours before, the
	// clocks read less than wall.
	for u := wall.Add(-15 * time.Hour); ; u = u.Add(time.Minute) {
		if !refWall(u, loc).Before(wall) {
			return u
		}
	}
}

// refOpenings returns the openings of a weekly schedule between two
// dates (midnight UTC standing for dates in loc), as instants, those that
// touch merged.
func refOpenings(t *testing.T, days [7]string, loc *time.Location, from, to time.Time) []opening {
	t.Helper()
	var out []opening
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		spec := days[d.Weekday()]
		if spec == "" {
			continue
		}
		var h1, m1, h2, m2 int
		if _, err := fmt.Sscanf(spec, "%d:%d-%d:%d", &h1, &m1, &h2, &m2); err != nil {
			t.Fatalf("schedule %q: %v", spec, err)
		}
		iv := opening{refFirstReading(d.Add(time.Duration(h1*60+m1)*time.Minute), loc),
			refFirstReading(d.Add(time.Duration(h2*60+m2)*time.Minute), loc)}
		if !iv.end.After(iv.start) {
			continue // swallowed by a spring-forward
		}
		if k := len(out) - 1; k >= 0 && !out[k].end.Before(iv.start) {
			out[k].end = iv.end
			continue
		}
		out = append(out, iv)
	}
	return out
}

// probes are the instants checked around a clock change: every 20
// minutes over four days, and a second and a minute on each side of every
// edge of the reference openings and of the change itself.
func probes(at time.Time, edges []opening) []time.Time {
	var out []time.Time
	for u := at.Add(-48 * time.Hour); u.Before(at.Add(48 * time.Hour)); u = u.Add(20 * time.Minute) {
		out = append(out, u)
	}
	near := []time.Time{at}
	for _, iv := range edges {
		for _, e := range []time.Time{iv.start, iv.end} {
			if e.Sub(at).Abs() <= 48*time.Hour {
				near = append(near, e)
			}
		}
	}
	for _, e := range near {
		for _, d := range []time.Duration{-time.Minute, -time.Second, 0, time.Second, time.Minute} {
			out = append(out, e.Add(d))
		}
	}
	return out
}

func TestFaultScheduleMatchesTheReferenceAcrossClockChanges(t *testing.T) {
	for _, tr := range faultTransitions {
		loc := mustLoad(t, tr.zone)
		// The zone database says what the test expects of it.
		if _, off := tr.at.Add(-time.Second).In(loc).Zone(); off != tr.before {
			t.Fatalf("%s at %v: offset %d before the change, want %d", tr.zone, tr.at, off, tr.before)
		}
		if _, off := tr.at.In(loc).Zone(); off != tr.after {
			t.Fatalf("%s at %v: offset %d after the change, want %d", tr.zone, tr.at, off, tr.after)
		}
		for _, sc := range faultSchedules {
			t.Run(fmt.Sprintf("%s %s %s", tr.zone, tr.at.Format(time.DateOnly), sc.name), func(t *testing.T) {
				s := faultHours(t, tr.zone, sc.days).Schedule(ChannelChat)
				day := time.Date(tr.at.Year(), tr.at.Month(), tr.at.Day(), 0, 0, 0, 0, time.UTC)
				// Every schedule opens at least weekly: ten days ahead hold
				// the next opening of every probe.
				ref := refOpenings(t, sc.days, loc, day.AddDate(0, 0, -4), day.AddDate(0, 0, 12))
				allDay := sc.name == "all day"
				fails := 0
				for _, u := range probes(tr.at, ref) {
					var in *opening
					var next time.Time
					for i := range ref {
						if !u.Before(ref[i].start) && u.Before(ref[i].end) {
							in = &ref[i]
						}
						if next.IsZero() && ref[i].start.After(u) {
							next = ref[i].start
						}
					}
					wantClose := time.Time{}
					if in != nil && !allDay {
						wantClose = in.end
					}
					if allDay {
						next = time.Time{} // open around the clock: no next opening, no close
					}
					open, nextOpen, nextClose := s.Open(u), s.NextOpen(u), s.NextClose(u)
					if open != (in != nil) || !nextOpen.Equal(next) || !nextClose.Equal(wantClose) {
						fails++
						if fails <= 5 {
							t.Errorf("at %v (%v): got open %v, next open %v, next close %v; want %v, %v, %v",
								u, u.In(loc), open, nextOpen.UTC(), nextClose.UTC(), in != nil, next, wantClose)
						}
					}
				}
				if fails > 5 {
					t.Errorf("%d more instants wrong", fails-5)
				}
			})
		}
	}
}

// refWeek is what Week must say for the reference openings: each opening
// that starts on one of the seven dates from now's date in loc, in loc's
// wall-clock time (openings of these schedules last under a day).
func refWeek(ref []opening, now time.Time, loc *time.Location) map[string][]Span {
	date := func(u time.Time) time.Time {
		w := u.In(loc)
		return time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC)
	}
	today := date(now)
	out := map[string][]Span{}
	for i := range 7 {
		out[today.AddDate(0, 0, i).Format(time.DateOnly)] = []Span{}
	}
	for _, iv := range ref {
		d := date(iv.start).Format(time.DateOnly)
		if _, ok := out[d]; !ok {
			continue
		}
		sp := Span{From: iv.start.In(loc).Format("15:04"), Until: iv.end.In(loc).Format("15:04")}
		switch days := date(iv.end).Sub(date(iv.start)); {
		case days == 24*time.Hour && sp.Until == "00:00":
			sp.Until = "24:00"
		case days > 0:
			sp.NextDay = true
		}
		out[d] = append(out[d], sp)
	}
	return out
}

func TestFaultWeekInEveryZoneAcrossClockChanges(t *testing.T) {
	visitors := []string{"Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"}
	weekdays := [7]string{"00:00-05:00", "04:00-20:00", "04:00-20:00", "04:00-20:00", "04:00-20:00", "04:00-20:00", "22:00-24:00"}
	for _, tr := range faultTransitions {
		loc := mustLoad(t, tr.zone)
		s := faultHours(t, tr.zone, weekdays).Schedule(ChannelChat)
		day := time.Date(tr.at.Year(), tr.at.Month(), tr.at.Day(), 0, 0, 0, 0, time.UTC)
		ref := refOpenings(t, weekdays, loc, day.AddDate(0, 0, -12), day.AddDate(0, 0, 14))
		for _, v := range visitors {
			vloc := mustLoad(t, v)
			// Weeks that start before, on and after the change, at
			// several times of the visitor's day.
			for _, now := range []time.Time{tr.at.Add(-6 * 24 * time.Hour), tr.at.Add(-50 * time.Hour), tr.at.Add(-time.Minute),
				tr.at, tr.at.Add(90 * time.Minute), tr.at.Add(30 * time.Hour), tr.at.Add(5 * 24 * time.Hour)} {
				w := s.Week(now, vloc, "en")
				want := refWeek(ref, now, vloc)
				for _, d := range w.Days {
					if !slices.Equal(d.Spans, want[d.Date]) {
						t.Errorf("%s hours for a %s visitor, week of %v: %s %s got %+v, want %+v",
							tr.zone, v, now.In(vloc), d.Day, d.Date, d.Spans, want[d.Date])
					}
				}
			}
		}
	}
}

// jumpingClock is a wall clock that a test moves at will, in any direction.
type jumpingClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *jumpingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *jumpingClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// TestFaultAvailabilityFollowsAWallClockJump moves the server's wall
// clock back an hour, forward 25 hours, across a weekend and back, and
// through a clock change during open hours: each answer of the
// availability API, and each ChatStatus, is the one for the clock read
// now, as if computed by a fresh server. Nothing caches open or closed.
func TestFaultAvailabilityFollowsAWallClockJump(t *testing.T) {
	// Chat on weekdays 04:00-20:00 New York, and on Sunday 00:00-05:00
	// so that the spring change (Sunday 02:00) falls in open hours.
	days := [7]string{"00:00-05:00", "04:00-20:00", "04:00-20:00", "04:00-20:00", "04:00-20:00", "04:00-20:00", ""}
	h := faultHours(t, "America/New_York", days)
	clock := &jumpingClock{}
	a := NewAvailability(h)
	a.Now = clock.Now
	e := echo.New()
	e.GET("/api/availability", AvailabilityHandler(a, AvailabilityOptions{DefaultLang: "en"}))
	srv := httptest.NewServer(e)
	defer srv.Close()

	get := func() ChannelStatus {
		t.Helper()
		res, err := http.Get(srv.URL + "/api/availability?tz=Europe/Paris")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var r Report
		if err := json.NewDecoder(res.Body).Decode(&r); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("availability: %d %v", res.StatusCode, err)
		}
		return r.Chat.ChannelStatus
	}
	fresh := func(at time.Time) ChannelStatus {
		return NewAvailability(faultHours(t, "America/New_York", days)).ChatStatus(context.Background(), at)
	}
	var none time.Time
	steps := []struct {
		name      string
		at        time.Time
		open      bool
		nextClose time.Time
		nextOpen  time.Time
	}{
		{"Monday 04:30 EST, open", utc(2026, 11, 30, 9, 30), true, utc(2026, 12, 1, 1, 0), utc(2026, 12, 1, 9, 0)},
		{"back an hour: 03:30, not open yet", utc(2026, 11, 30, 8, 30), false, none, utc(2026, 11, 30, 9, 0)},
		{"forward 25 hours: Tuesday 04:30, open", utc(2026, 12, 1, 9, 30), true, utc(2026, 12, 2, 1, 0), utc(2026, 12, 2, 9, 0)},
		{"forward to Friday 20:30, closed for the weekend", utc(2026, 12, 5, 1, 30), false, none, utc(2026, 12, 6, 5, 0)},
		{"back to the Monday, open again", utc(2026, 11, 30, 9, 30), true, utc(2026, 12, 1, 1, 0), utc(2026, 12, 1, 9, 0)},
		// Sunday 8 March 2026: open from 00:00 EST; at 02:00 EST the
		// clocks jump to 03:00 EDT; the opening ends at 05:00 EDT, 09:00
		// UTC, four hours (not five) after it began.
		{"Sunday 01:59 EST, open across the coming change", utc(2026, 3, 8, 6, 59), true, utc(2026, 3, 8, 9, 0), utc(2026, 3, 9, 8, 0)},
		{"Sunday 03:00 EDT, just after the jump, still open", utc(2026, 3, 8, 7, 0), true, utc(2026, 3, 8, 9, 0), utc(2026, 3, 9, 8, 0)},
		{"Sunday 05:00 EDT, closed", utc(2026, 3, 8, 9, 0), false, none, utc(2026, 3, 9, 8, 0)},
		{"Sunday 03:59 EDT, an hour after 01:59 EST", utc(2026, 3, 8, 7, 59), true, utc(2026, 3, 8, 9, 0), utc(2026, 3, 9, 8, 0)},
		{"back before the change: 01:00 EST", utc(2026, 3, 8, 6, 0), true, utc(2026, 3, 8, 9, 0), utc(2026, 3, 9, 8, 0)},
		// Sunday 1 November 2026: 01:00-02:00 happens twice; the opening
		// from 00:00 EDT ends at 05:00 EST, six hours later.
		{"Sunday 01:30 EDT, first pass", utc(2026, 11, 1, 5, 30), true, utc(2026, 11, 1, 10, 0), utc(2026, 11, 2, 9, 0)},
		{"Sunday 01:30 EST, second pass", utc(2026, 11, 1, 6, 30), true, utc(2026, 11, 1, 10, 0), utc(2026, 11, 2, 9, 0)},
		{"Sunday 04:59 EST, last minute", utc(2026, 11, 1, 9, 59), true, utc(2026, 11, 1, 10, 0), utc(2026, 11, 2, 9, 0)},
		{"a year on, 2027 spring change: Sunday 01:00 EST", utc(2027, 3, 14, 6, 0), true, utc(2027, 3, 14, 9, 0), utc(2027, 3, 15, 8, 0)},
		{"and back to 2026", utc(2026, 11, 30, 8, 30), false, none, utc(2026, 11, 30, 9, 0)},
	}
	for _, st := range steps {
		clock.set(st.at)
		want := ChannelStatus{Open: st.open, NextOpen: st.nextOpen, NextClose: st.nextClose}
		if got := get(); !sameStatus(got, want) {
			t.Errorf("%s: API says %s, want %s", st.name, statusText(got), statusText(want))
		}
		if got := a.ChatStatus(context.Background(), clock.Now()); !sameStatus(got, want) {
			t.Errorf("%s: ChatStatus says %s, want %s", st.name, statusText(got), statusText(want))
		}
		if got := fresh(st.at); !sameStatus(got, want) {
			t.Errorf("%s: a fresh availability says %s, want %s", st.name, statusText(got), statusText(want))
		}
	}
}

func sameStatus(a, b ChannelStatus) bool {
	return a.Open == b.Open && a.NextOpen.Equal(b.NextOpen) && a.NextClose.Equal(b.NextClose)
}

func statusText(s ChannelStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "open=%v", s.Open)
	for _, x := range []struct {
		k string
		v time.Time
	}{{"next_open", s.NextOpen}, {"next_close", s.NextClose}} {
		if !x.v.IsZero() {
			fmt.Fprintf(&b, " %s=%s", x.k, x.v.UTC().Format(time.RFC3339))
		}
	}
	return b.String()
}
