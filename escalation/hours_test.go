package escalation

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones of the tests, on machines without a zone database
)

// mustLoad loads an IANA zone or stops the test.
func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// mustHours builds hours from the default config changed by change.
func mustHours(t *testing.T, change func(c *HoursConfig)) *Hours {
	t.Helper()
	c := DefaultHours()
	if change != nil {
		change(&c)
	}
	h, err := NewHours(c)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// utc is a UTC instant, so that tests around clock changes say exactly
// which of two equal wall times they mean.
func utc(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

func TestScheduleOpensOnWeekdayHoursInItsZone(t *testing.T) {
	s := mustHours(t, func(c *HoursConfig) {
		c.Closed = []string{"2026-12-25"}
		c.Override = []HoursOverride{{From: "2026-08-03", Until: "2026-08-14", Daily: "08:00-16:00"}}
	}).Schedule(ChannelChat)
	ny := mustLoad(t, "America/New_York")
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, ny) }
	tests := []struct {
		name      string
		at        time.Time
		open      bool
		nextOpen  time.Time
		nextClose time.Time
	}{
		{"tuesday morning", at(2026, 11, 24, 9, 0), true, at(2026, 11, 25, 4, 0), at(2026, 11, 24, 20, 0)},
		{"tuesday 03:59", at(2026, 11, 24, 3, 59), false, at(2026, 11, 24, 4, 0), time.Time{}},
		{"tuesday 04:00 opens", at(2026, 11, 24, 4, 0), true, at(2026, 11, 25, 4, 0), at(2026, 11, 24, 20, 0)},
		{"tuesday 20:00 closes", at(2026, 11, 24, 20, 0), false, at(2026, 11, 25, 4, 0), time.Time{}},
		{"saturday", at(2026, 11, 28, 12, 0), false, at(2026, 11, 30, 4, 0), time.Time{}},
		{"christmas friday closed", at(2026, 12, 25, 10, 0), false, at(2026, 12, 28, 4, 0), time.Time{}},
		{"summer override at 07:00", at(2026, 8, 4, 7, 0), false, at(2026, 8, 4, 8, 0), time.Time{}},
		{"summer override at 15:00", at(2026, 8, 4, 15, 0), true, at(2026, 8, 5, 8, 0), at(2026, 8, 4, 16, 0)},
		{"summer override at 17:00", at(2026, 8, 4, 17, 0), false, at(2026, 8, 5, 8, 0), time.Time{}},
		{"same instant from Paris", at(2026, 11, 24, 9, 0).In(time.FixedZone("CET", 3600)), true, at(2026, 11, 25, 4, 0), at(2026, 11, 24, 20, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Open(tt.at); got != tt.open {
				t.Errorf("Open: got %v, want %v", got, tt.open)
			}
			if got := s.NextOpen(tt.at); !got.Equal(tt.nextOpen) {
				t.Errorf("NextOpen: got %v, want %v", got, tt.nextOpen)
			}
			if got := s.NextClose(tt.at); !got.Equal(tt.nextClose) {
				t.Errorf("NextClose: got %v, want %v", got, tt.nextClose)
			}
		})
	}
}

// TestScheduleAcrossClockChanges pins Open, NextOpen and NextClose around
// the 2026 clock changes of New York (8 March, 1 November) and Paris
// (29 March, 25 October), all on Sundays. Times are in UTC so that the
// repeated hour of a fall-back night is unambiguous.
func TestScheduleAcrossClockChanges(t *testing.T) {
	sunday := func(zone, hours string) *Schedule {
		return mustHours(t, func(c *HoursConfig) { c.Timezone, c.Sunday = zone, hours }).Schedule(ChannelChat)
	}
	var none time.Time
	tests := []struct {
		name      string
		s         *Schedule
		at        time.Time
		open      bool
		nextOpen  time.Time
		nextClose time.Time
	}{
		// New York springs forward at 02:00 EST (07:00 UTC) to 03:00 EDT.
		{"NY spring: open before the jump closes at 05:00 EDT", sunday("America/New_York", "01:00-05:00"),
			utc(2026, 3, 8, 6, 30), true, utc(2026, 3, 9, 8, 0), utc(2026, 3, 8, 9, 0)},
		{"NY spring: still open just after the jump", sunday("America/New_York", "01:00-05:00"),
			utc(2026, 3, 8, 7, 0), true, utc(2026, 3, 9, 8, 0), utc(2026, 3, 8, 9, 0)},
		{"NY spring: an opening at 02:30, which does not exist, starts at the jump", sunday("America/New_York", "02:30-06:00"),
			utc(2026, 3, 8, 6, 0), false, utc(2026, 3, 8, 7, 0), none},
		{"NY spring: open from the jump", sunday("America/New_York", "02:30-06:00"),
			utc(2026, 3, 8, 7, 0), true, utc(2026, 3, 9, 8, 0), utc(2026, 3, 8, 10, 0)},
		{"NY spring: monday opens at 04:00 EDT, 08:00 UTC", sunday("America/New_York", "closed"),
			utc(2026, 3, 7, 17, 0), false, utc(2026, 3, 9, 8, 0), none},
		{"NY a week before: monday opens at 04:00 EST, 09:00 UTC", sunday("America/New_York", "closed"),
			utc(2026, 2, 28, 17, 0), false, utc(2026, 3, 2, 9, 0), none},
		// New York falls back at 02:00 EDT (06:00 UTC) to 01:00 EST: 01:xx happens twice.
		{"NY fall: first 01:15 is before the 01:30 close", sunday("America/New_York", "00:00-01:30"),
			utc(2026, 11, 1, 5, 15), true, utc(2026, 11, 2, 9, 0), utc(2026, 11, 1, 5, 30)},
		{"NY fall: second 01:15 is after it", sunday("America/New_York", "00:00-01:30"),
			utc(2026, 11, 1, 6, 15), false, utc(2026, 11, 2, 9, 0), none},
		{"NY fall: an opening at 01:30 starts at the first one", sunday("America/New_York", "01:30-12:00"),
			utc(2026, 11, 1, 4, 0), false, utc(2026, 11, 1, 5, 30), none},
		{"NY fall: open through the repeated hour, closes at 12:00 EST", sunday("America/New_York", "01:30-12:00"),
			utc(2026, 11, 1, 6, 15), true, utc(2026, 11, 2, 9, 0), utc(2026, 11, 1, 17, 0)},
		// Paris springs forward at 02:00 CET (01:00 UTC) to 03:00 CEST.
		{"Paris spring: closes at 04:00 CEST, 02:00 UTC", sunday("Europe/Paris", "01:00-04:00"),
			utc(2026, 3, 29, 0, 30), true, utc(2026, 3, 30, 2, 0), utc(2026, 3, 29, 2, 0)},
		{"Paris spring: an opening at 02:00 starts at the jump", sunday("Europe/Paris", "02:00-05:00"),
			utc(2026, 3, 29, 0, 30), false, utc(2026, 3, 29, 1, 0), none},
		{"Paris spring: 02:00-03:00 does not happen that day", sunday("Europe/Paris", "02:00-03:00"),
			utc(2026, 3, 29, 0, 30), false, utc(2026, 3, 30, 2, 0), none},
		// Paris falls back at 03:00 CEST (01:00 UTC) to 02:00 CET: 02:xx happens twice.
		{"Paris fall: first 02:15 is open", sunday("Europe/Paris", "02:00-02:30"),
			utc(2026, 10, 25, 0, 15), true, utc(2026, 10, 26, 3, 0), utc(2026, 10, 25, 0, 30)},
		{"Paris fall: second 02:15 is not", sunday("Europe/Paris", "02:00-02:30"),
			utc(2026, 10, 25, 1, 15), false, utc(2026, 10, 26, 3, 0), none},
		{"Paris fall: the day lasts 25 hours", sunday("Europe/Paris", "00:00-24:00"),
			utc(2026, 10, 24, 22, 0), true, utc(2026, 10, 26, 3, 0), utc(2026, 10, 25, 23, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Open(tt.at); got != tt.open {
				t.Errorf("Open: got %v, want %v", got, tt.open)
			}
			if got := tt.s.NextOpen(tt.at); !got.Equal(tt.nextOpen) {
				t.Errorf("NextOpen: got %v, want %v", got.UTC(), tt.nextOpen)
			}
			if got := tt.s.NextClose(tt.at); !got.Equal(tt.nextClose) {
				t.Errorf("NextClose: got %v, want %v", got.UTC(), tt.nextClose)
			}
		})
	}
}

func TestScheduleJoinsOpeningsAcrossMidnight(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	at := func(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, ny) }
	var none time.Time
	late := mustHours(t, func(c *HoursConfig) { c.Monday, c.Tuesday = "20:00-24:00", "00:00-02:00" }).Schedule(ChannelChat)
	email := mustHours(t, func(c *HoursConfig) { c.Email.Closed = []string{"2026-12-25"} }).Schedule(ChannelEmail)
	tests := []struct {
		name      string
		s         *Schedule
		at        time.Time
		open      bool
		nextOpen  time.Time
		nextClose time.Time
	}{
		{"monday night runs into tuesday", late, at(11, 23, 21, 0), true, at(11, 25, 4, 0), at(11, 24, 2, 0)},
		{"midnight itself is open", late, at(11, 24, 0, 0), true, at(11, 25, 4, 0), at(11, 24, 2, 0)},
		{"email never closes in the month ahead", email, at(3, 7, 12, 0), true, none, none},
		{"email across New York's spring forward", email, at(3, 8, 1, 59), true, none, none},
		{"email across New York's fall back", email, at(11, 1, 1, 30), true, none, none},
		{"email closes for christmas", email, at(12, 20, 9, 0), true, at(12, 26, 0, 0), at(12, 25, 0, 0)},
		{"email on christmas", email, at(12, 25, 9, 0), false, at(12, 26, 0, 0), none},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Open(tt.at); got != tt.open {
				t.Errorf("Open: got %v, want %v", got, tt.open)
			}
			if got := tt.s.NextOpen(tt.at); !got.Equal(tt.nextOpen) {
				t.Errorf("NextOpen: got %v, want %v", got, tt.nextOpen)
			}
			if got := tt.s.NextClose(tt.at); !got.Equal(tt.nextClose) {
				t.Errorf("NextClose: got %v, want %v", got, tt.nextClose)
			}
		})
	}
}

func TestDefaultHoursAreChatOnWeekdaysAndEmailAlways(t *testing.T) {
	h := mustHours(t, nil)
	if got := h.Location().String(); got != "America/New_York" {
		t.Errorf("zone: got %s, want America/New_York", got)
	}
	sundayNight := utc(2026, 6, 7, 7, 0) // 03:00 in New York
	if h.Schedule(ChannelChat).Open(sundayNight) {
		t.Error("chat on Sunday night: got open, want closed")
	}
	if !h.Schedule(ChannelEmail).Open(sundayNight) {
		t.Error("email on Sunday night: got closed, want open")
	}
	if h.Schedule("fax") != nil {
		t.Error("unknown channel: got a schedule, want nil")
	}
}

func TestNewHoursRejectsBadHoursNamingEachKey(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *HoursConfig)
		want   []string
	}{
		{"abbreviated zone", func(c *HoursConfig) { c.Timezone = "EST5" }, []string{"hours.timezone"}},
		{"legacy zone without summer time", func(c *HoursConfig) { c.Timezone = "EST" }, []string{"hours.timezone"}},
		{"legacy zone with the rules of no place", func(c *HoursConfig) { c.Timezone = "CET" }, []string{"hours.timezone"}},
		{"server's zone", func(c *HoursConfig) { c.Timezone = "Local" }, []string{"hours.timezone"}},
		{"empty zone", func(c *HoursConfig) { c.Timezone = "" }, []string{"hours.timezone"}},
		{"chat day", func(c *HoursConfig) { c.Monday = "9h-18h" }, []string{"hours.monday"}},
		{"reversed span", func(c *HoursConfig) { c.Friday = "18:00-09:00" }, []string{"hours.friday"}},
		{"span from 24:00", func(c *HoursConfig) { c.Friday = "24:00-24:00" }, []string{"hours.friday"}},
		{"past 24:00", func(c *HoursConfig) { c.Friday = "20:00-25:00" }, []string{"hours.friday"}},
		{"chat closed date", func(c *HoursConfig) { c.Closed = []string{"25/12/2026"} }, []string{"hours.closed"}},
		{"chat override dates", func(c *HoursConfig) {
			c.Override = []HoursOverride{{From: "2026-08-14", Until: "2026-08-03", Daily: "08:00-16:00"}}
		}, []string{"hours.override[0]"}},
		{"overlapping overrides", func(c *HoursConfig) {
			c.Override = []HoursOverride{{From: "2026-08-03", Until: "2026-08-14", Daily: "08:00-16:00"},
				{From: "2026-08-10", Until: "2026-08-20", Daily: "closed"}}
		}, []string{"hours.override[1]: overlaps hours.override[0]"}},
		{"email day", func(c *HoursConfig) { c.Email.Sunday = "always" }, []string{"hours.email.sunday"}},
		{"email closed date", func(c *HoursConfig) { c.Email.Closed = []string{"2026-13-01"} }, []string{"hours.email.closed"}},
		{"email override daily", func(c *HoursConfig) {
			c.Email.Override = []HoursOverride{{From: "2026-08-03", Until: "2026-08-14", Daily: "all day"}}
		}, []string{"hours.email.override[0].daily"}},
		{"every bad key at once", func(c *HoursConfig) { c.Timezone, c.Monday, c.Email.Tuesday = "Mars/Olympus", "x", "y" },
			[]string{"hours.timezone", "hours.monday", "hours.email.tuesday"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultHours()
			tt.change(&c)
			_, err := NewHours(c)
			if err == nil {
				t.Fatalf("got nil, want an error naming %s", tt.want)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("got %q, want it to name %s", err, want)
				}
			}
		})
	}
}

func TestNewHoursAcceptsClosedOverridesAndAllDay(t *testing.T) {
	if _, err := NewHours(HoursConfig{Timezone: "UTC"}); err != nil {
		t.Errorf("UTC, closed every day: got %v, want valid", err)
	}
	_, err := NewHours(HoursConfig{Timezone: "Europe/Paris",
		ChannelHours: ChannelHours{Monday: "00:00-24:00", Tuesday: " Closed ", Override: []HoursOverride{
			{From: "2026-08-03", Until: "2026-08-09", Daily: "closed"},
			{From: "2026-08-10", Until: "2026-08-10", Daily: "10:00-12:00"}}},
	})
	if err != nil {
		t.Errorf("got %v, want valid", err)
	}
}
