package escalation

import (
	"strings"
	"testing"
	"time"
)

func TestScheduleOpensOnWeekdayHoursInItsZone(t *testing.T) {
	c := DefaultHours()
	c.Closed = []string{"2026-12-25"}
	c.Override = []HoursOverride{{From: "2026-08-03", Until: "2026-08-14", Daily: "08:00-16:00"}}
	s, err := NewSchedule(c)
	if err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, ny) }
	tests := []struct {
		name string
		at   time.Time
		open bool
		next time.Time
	}{
		{"tuesday morning", at(2026, 11, 24, 9, 0), true, at(2026, 11, 25, 4, 0)},
		{"tuesday 03:59", at(2026, 11, 24, 3, 59), false, at(2026, 11, 24, 4, 0)},
		{"tuesday 20:00 closes", at(2026, 11, 24, 20, 0), false, at(2026, 11, 25, 4, 0)},
		{"saturday", at(2026, 11, 28, 12, 0), false, at(2026, 11, 30, 4, 0)},
		{"christmas friday closed", at(2026, 12, 25, 10, 0), false, at(2026, 12, 28, 4, 0)},
		{"summer override at 07:00", at(2026, 8, 4, 7, 0), false, at(2026, 8, 4, 8, 0)},
		{"summer override at 17:00", at(2026, 8, 4, 17, 0), false, at(2026, 8, 5, 8, 0)},
		{"same instant from Paris", at(2026, 11, 24, 9, 0).In(time.FixedZone("CET", 3600)), true, at(2026, 11, 25, 4, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Open(tt.at); got != tt.open {
				t.Errorf("Open = %v, want %v", got, tt.open)
			}
			if got := s.NextOpen(tt.at); !got.Equal(tt.next) {
				t.Errorf("NextOpen = %v, want %v", got, tt.next)
			}
		})
	}
}

func TestScheduleRejectsBadHoursNamingEachValue(t *testing.T) {
	c := DefaultHours()
	c.Timezone = "EST5"
	c.Monday = "9h-18h"
	c.Closed = []string{"25/12/2026"}
	c.Override = []HoursOverride{{From: "2026-08-14", Until: "2026-08-03", Daily: "08:00-16:00"}}
	_, err := NewSchedule(c)
	if err == nil {
		t.Fatal("bad hours accepted")
	}
	for _, want := range []string{"hours.timezone", "hours.monday", "hours.closed", "hours.override[0]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
