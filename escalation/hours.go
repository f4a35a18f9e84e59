package escalation

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// HoursConfig is the `[hours]` section of bulle.toml: when live chat is
// staffed, in one time zone. Email is always open.
type HoursConfig struct {
	Timezone  string          `toml:"timezone"`
	Monday    string          `toml:"monday"`
	Tuesday   string          `toml:"tuesday"`
	Wednesday string          `toml:"wednesday"`
	Thursday  string          `toml:"thursday"`
	Friday    string          `toml:"friday"`
	Saturday  string          `toml:"saturday"`
	Sunday    string          `toml:"sunday"`
	Closed    []string        `toml:"closed"`   // dates, "2026-12-25"
	Override  []HoursOverride `toml:"override"` // temporary schedules
}

// HoursOverride replaces the weekly schedule between two dates, inclusive.
type HoursOverride struct {
	From  string `toml:"from"`
	Until string `toml:"until"`
	Daily string `toml:"daily"`
}

// DefaultHours is the schedule the help center's articles describe:
// Monday to Friday, 04:00 to 20:00 New York time.
func DefaultHours() HoursConfig {
	const day = "04:00-20:00"
	return HoursConfig{Timezone: "America/New_York", Monday: day, Tuesday: day, Wednesday: day,
		Thursday: day, Friday: day, Saturday: "closed", Sunday: "closed"}
}

// Schedule answers whether chat is open at a given time.
type Schedule struct {
	loc       *time.Location
	weekly    [7]span // by time.Weekday
	closed    map[string]bool
	overrides []override
}

// span is an opening in minutes after midnight; end may pass 24:00.
type span struct{ start, end int }

func (s span) open() bool { return s.end > s.start }

type override struct {
	from, until string // dates, compared as strings
	daily       span
}

// NewSchedule checks a config and returns its schedule; the error names
// every bad value.
func NewSchedule(c HoursConfig) (*Schedule, error) {
	var errs []string
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil || c.Timezone == "" {
		errs = append(errs, fmt.Sprintf("hours.timezone %q: want an IANA zone such as Europe/Paris", c.Timezone))
		loc = time.UTC
	}
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
			errs = append(errs, fmt.Sprintf("hours.%s: %v", d.name, err))
		}
		s.weekly[d.day] = sp
	}
	for _, d := range c.Closed {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			errs = append(errs, fmt.Sprintf("hours.closed %q: want a date such as 2026-12-25", d))
		}
		s.closed[d] = true
	}
	for i, o := range c.Override {
		sp, err := parseSpan(o.Daily)
		if err != nil {
			errs = append(errs, fmt.Sprintf("hours.override[%d].daily: %v", i, err))
		}
		_, e1 := time.Parse(time.DateOnly, o.From)
		_, e2 := time.Parse(time.DateOnly, o.Until)
		if e1 != nil || e2 != nil || o.Until < o.From {
			errs = append(errs, fmt.Sprintf("hours.override[%d]: want from <= until, dates such as 2026-08-03", i))
		}
		s.overrides = append(s.overrides, override{from: o.From, until: o.Until, daily: sp})
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "; "))
	}
	return s, nil
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
	if !ok || err1 != nil || err2 != nil || end <= start {
		return span{}, fmt.Errorf("%q: want HH:MM-HH:MM, such as 09:00-18:00, or closed", v)
	}
	return span{start, end}, nil
}

func parseClock(v string) (int, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(v))
	if err != nil {
		if strings.TrimSpace(v) == "24:00" {
			return 24 * 60, nil
		}
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

// day returns the opening span of the calendar day of t (in the schedule's zone).
func (s *Schedule) day(t time.Time) span {
	date := t.Format(time.DateOnly)
	if s.closed[date] {
		return span{}
	}
	for _, o := range s.overrides {
		if date >= o.from && date <= o.until {
			return o.daily
		}
	}
	return s.weekly[t.Weekday()]
}

// Open reports whether chat is staffed at t.
func (s *Schedule) Open(t time.Time) bool {
	t = t.In(s.loc)
	sp := s.day(t)
	m := t.Hour()*60 + t.Minute()
	return sp.open() && m >= sp.start && m < sp.end
}

// NextOpen is the next time chat opens after t, within two weeks; zero if
// it never does.
func (s *Schedule) NextOpen(t time.Time) time.Time {
	t = t.In(s.loc)
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, s.loc)
	for d := 0; d <= 14; d++ {
		day := midnight.AddDate(0, 0, d)
		sp := s.day(day)
		if !sp.open() {
			continue
		}
		start := time.Date(day.Year(), day.Month(), day.Day(), sp.start/60, sp.start%60, 0, 0, s.loc)
		if start.After(t) {
			return start
		}
	}
	return time.Time{}
}
