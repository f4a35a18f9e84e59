package escalation

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// HoursConfig is the `[hours]` section of bulle.toml: the business hours of
// each channel, in one IANA time zone. The section's own day keys are the
// live chat schedule (as they were before email had hours of its own);
// `[hours.email]` holds the email schedule, with the same keys.
//
// Business hours are the one part of the config that a running server
// reloads (on SIGHUP or when the file changes); see cmd/bulle.
type HoursConfig struct {
	Timezone     string       `toml:"timezone"`
	ChannelHours              // live chat, at the top of [hours]
	Email        ChannelHours `toml:"email"`
}

// ChannelHours is one channel's weekly schedule, its closed dates and its
// temporary schedules. Each day is "HH:MM-HH:MM" (the end may be 24:00) or
// "closed".
type ChannelHours struct {
	Monday    string          `toml:"monday"`
	Tuesday   string          `toml:"tuesday"`
	Wednesday string          `toml:"wednesday"`
	Thursday  string          `toml:"thursday"`
	Friday    string          `toml:"friday"`
	Saturday  string          `toml:"saturday"`
	Sunday    string          `toml:"sunday"`
	Closed    []string        `toml:"closed"`   // dates, "2026-12-25"; they win over overrides
	Override  []HoursOverride `toml:"override"` // temporary schedules
}

// HoursOverride replaces the weekly schedule between two dates, inclusive,
// with the same hours every day ("closed" closes the whole period).
type HoursOverride struct {
	From  string `toml:"from"`
	Until string `toml:"until"`
	Daily string `toml:"daily"`
}

// DefaultHours is the schedule the help center's articles describe: live
// chat Monday to Friday, 04:00 to 20:00 New York time, and email every day,
// all day.
func DefaultHours() HoursConfig {
	const day, allDay = "04:00-20:00", "00:00-24:00"
	return HoursConfig{
		Timezone: "America/New_York",
		ChannelHours: ChannelHours{Monday: day, Tuesday: day, Wednesday: day, Thursday: day, Friday: day,
			Saturday: "closed", Sunday: "closed"},
		Email: ChannelHours{Monday: allDay, Tuesday: allDay, Wednesday: allDay, Thursday: allDay,
			Friday: allDay, Saturday: allDay, Sunday: allDay},
	}
}

// Channel is a way to reach a person.
type Channel string

// The channels that have business hours.
const (
	ChannelChat  Channel = "chat"
	ChannelEmail Channel = "email"
)

// Hours is the checked business hours of every channel. It never changes
// once built: a reload builds a new one.
type Hours struct {
	loc   *time.Location
	chat  *Schedule
	email *Schedule
}

// NewHours checks a config and returns its hours; the error names every bad
// key, such as hours.email.monday.
func NewHours(c HoursConfig) (*Hours, error) {
	var errs []string
	loc, err := time.LoadLocation(c.Timezone)
	// The database also holds legacy names such as EST or CET, fixed
	// offsets or rules that are not the ones of any place: someone who
	// writes EST for New York would lose its summer time. Want a place.
	if err != nil || (!strings.Contains(c.Timezone, "/") && c.Timezone != "UTC") {
		errs = append(errs, fmt.Sprintf("hours.timezone %q: want an IANA zone such as Europe/Paris or UTC, not an abbreviation", c.Timezone))
		loc = time.UTC
	}
	chat, chatErrs := newSchedule(loc, c.ChannelHours, "hours.")
	email, emailErrs := newSchedule(loc, c.Email, "hours.email.")
	errs = append(append(errs, chatErrs...), emailErrs...)
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "; "))
	}
	return &Hours{loc: loc, chat: chat, email: email}, nil
}

// Location is the zone the hours are written in.
func (h *Hours) Location() *time.Location { return h.loc }

// Schedule returns the schedule of one channel; nil for an unknown channel.
func (h *Hours) Schedule(ch Channel) *Schedule {
	switch ch {
	case ChannelChat:
		return h.chat
	case ChannelEmail:
		return h.email
	}
	return nil
}

// Schedule is one channel's opening hours. Its methods work on instants:
// a time given in any zone is read in the schedule's zone, and the times
// they return are in that zone.
type Schedule struct {
	loc       *time.Location
	weekly    [7]span // by time.Weekday
	closed    map[string]bool
	overrides []override
}

// span is an opening in minutes after midnight, wall clock; end is at
// most 24:00.
type span struct{ start, end int }

func (s span) open() bool { return s.end > s.start }

type override struct {
	from, until string // dates, compared as strings
	daily       span
}

// newSchedule reads one channel's hours; prefix starts each key named in
// an error ("hours." or "hours.email.").
func newSchedule(loc *time.Location, c ChannelHours, prefix string) (*Schedule, []string) {
	var errs []string
	s := &Schedule{loc: loc, closed: map[string]bool{}}
	days := []struct {
		day  time.Weekday
		name string
		v    string
	}{{time.Monday, "monday", c.Monday}, {time.Tuesday, "tuesday", c.Tuesday}, {time.Wednesday, "wednesday", c.Wednesday},
		{time.Thursday, "thursday", c.Thursday}, {time.Friday, "friday", c.Friday}, {time.Saturday, "saturday", c.Saturday},
		{time.Sunday, "sunday", c.Sunday}}
	for _, d := range days {
		sp, err := parseSpan(d.v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s%s: %v", prefix, d.name, err))
		}
		s.weekly[d.day] = sp
	}
	for _, d := range c.Closed {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			errs = append(errs, fmt.Sprintf("%sclosed %q: want a date such as 2026-12-25", prefix, d))
		}
		s.closed[d] = true
	}
	for i, o := range c.Override {
		sp, err := parseSpan(o.Daily)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%soverride[%d].daily: %v", prefix, i, err))
		}
		_, e1 := time.Parse(time.DateOnly, o.From)
		_, e2 := time.Parse(time.DateOnly, o.Until)
		if e1 != nil || e2 != nil || o.Until < o.From {
			errs = append(errs, fmt.Sprintf("%soverride[%d]: want from <= until, dates such as 2026-08-03", prefix, i))
			continue
		}
		// Two overrides on one day would leave which one applies to the
		// order of the file; refuse instead.
		for j, p := range s.overrides {
			if o.From <= p.until && p.from <= o.Until {
				errs = append(errs, fmt.Sprintf("%soverride[%d]: overlaps %soverride[%d]", prefix, i, prefix, j))
			}
		}
		s.overrides = append(s.overrides, override{from: o.From, until: o.Until, daily: sp})
	}
	return s, errs
}

// parseSpan reads "09:00-18:00", "closed" or "" (closed).
func parseSpan(v string) (span, error) {
	v = strings.TrimSpace(strings.ToLower(v))
	if v == "" || v == "closed" {
		return span{}, nil
	}
	a, b, ok := strings.Cut(v, "-")
	start, err1 := parseClock(a)
	end, err2 := parseClock(b)
	if !ok || err1 != nil || err2 != nil || start == 24*60 || end <= start {
		return span{}, fmt.Errorf("%q: want HH:MM-HH:MM, such as 09:00-18:00 (the end may be 24:00), or closed", v)
	}
	return span{start, end}, nil
}

func parseClock(v string) (int, error) {
	v = strings.TrimSpace(v)
	if v == "24:00" {
		return 24 * 60, nil
	}
	t, err := time.Parse("15:04", v)
	if err != nil {
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

// horizonDays is how far NextOpen and NextClose look: a month, longer than
// any holiday closure we expect. Past it they give up and return zero.
const horizonDays = 31

// opening is the time between two instants when a channel is open, end
// excluded.
type opening struct{ start, end time.Time }

// day returns the opening span of one calendar date, given as midnight UTC.
func (s *Schedule) day(date time.Time) span {
	d := date.Format(time.DateOnly)
	if s.closed[d] {
		return span{}
	}
	for _, o := range s.overrides {
		if d >= o.from && d <= o.until {
			return o.daily
		}
	}
	return s.weekly[date.Weekday()]
}

// openings returns the openings of n calendar dates from first (midnight
// UTC standing for a date in the schedule's zone), in order, with an
// opening that ends at 24:00 and one that starts at 00:00 the next day
// joined into one.
func (s *Schedule) openings(first time.Time, n int) []opening {
	var out []opening
	for i := range n {
		date := first.AddDate(0, 0, i)
		sp := s.day(date)
		if !sp.open() {
			continue
		}
		iv := opening{wallInstant(date, sp.start, s.loc), wallInstant(date, sp.end, s.loc)}
		if !iv.end.After(iv.start) {
			continue // an opening that a clock change swallowed whole
		}
		if k := len(out) - 1; k >= 0 && !out[k].end.Before(iv.start) {
			out[k].end = iv.end
			continue
		}
		out = append(out, iv)
	}
	return out
}

// civilDate returns the calendar date of t in loc, as midnight UTC, so that
// adding days never meets a clock change.
func civilDate(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// wallClock returns the date and time that t shows in its zone, as UTC.
func wallClock(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// wallInstant returns the first instant at which clocks in loc read min
// minutes after the midnight starting date (midnight UTC standing for a
// calendar date), or later. Around a clock change that wall time may not
// exist (spring forward: the opening starts when the clock jumps past it)
// or occur twice (fall back: the first one counts).
func wallInstant(date time.Time, min int, loc *time.Location) time.Time {
	want := date.Add(time.Duration(min) * time.Minute)
	t := time.Date(want.Year(), want.Month(), want.Day(), want.Hour(), want.Minute(), 0, 0, loc)
	switch got := wallClock(t); {
	case got.Before(want): // skipped, and t is just before the jump
		_, end := t.ZoneBounds()
		return end
	case got.After(want): // skipped, and t is just after the jump
		start, _ := t.ZoneBounds()
		return start
	}
	// A clock set back shows some wall times twice; time.Date may pick
	// either, so step back to the first when there is one.
	if start, _ := t.ZoneBounds(); !start.IsZero() {
		_, before := start.Add(-time.Nanosecond).Zone()
		_, now := t.Zone()
		if earlier := t.Add(time.Duration(now-before) * time.Second); earlier.Before(start) {
			return earlier
		}
	}
	return t
}

// Open reports whether the channel is open at t.
func (s *Schedule) Open(t time.Time) bool {
	// The day before too: a clock set back can return t's wall date to
	// the previous day for an hour.
	for _, iv := range s.openings(civilDate(t, s.loc).AddDate(0, 0, -1), 3) {
		if !t.Before(iv.start) && t.Before(iv.end) {
			return true
		}
	}
	return false
}

// NextOpen is the next time the channel opens after t, within a month;
// zero if it does not. While the channel is open, that is the opening after
// the current one closes, so it is zero for a channel open around the clock.
func (s *Schedule) NextOpen(t time.Time) time.Time {
	for _, iv := range s.openings(civilDate(t, s.loc).AddDate(0, 0, -1), horizonDays+2) {
		if iv.start.After(t) {
			return iv.start.In(s.loc)
		}
	}
	return time.Time{}
}

// NextClose is when the current opening ends: zero when the channel is
// closed at t, and zero when it stays open for the whole month ahead (an
// opening until 24:00 followed by one from 00:00 is one opening).
func (s *Schedule) NextClose(t time.Time) time.Time {
	first := civilDate(t, s.loc).AddDate(0, 0, -1)
	n := horizonDays + 2
	horizon := wallInstant(first.AddDate(0, 0, n), 0, s.loc)
	for _, iv := range s.openings(first, n) {
		if !t.Before(iv.start) && t.Before(iv.end) {
			if !iv.end.Before(horizon) {
				return time.Time{}
			}
			return iv.end.In(s.loc)
		}
	}
	return time.Time{}
}
