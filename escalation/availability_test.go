package escalation

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestWeekForParisVisitorFollowsBothClockChanges converts the default chat
// hours (04:00-20:00 New York) for a Paris visitor in the weeks around the
// 2026 clock changes: six hours apart most of the year, five while only
// one side has changed (8-29 March, 25 October-1 November).
func TestWeekForParisVisitorFollowsBothClockChanges(t *testing.T) {
	s := mustHours(t, nil).Schedule(ChannelChat)
	paris := mustLoad(t, "Europe/Paris")
	tests := []struct {
		name   string
		now    time.Time
		monday Span // the visitor's Monday
		friday Span
		lines  []string
	}{
		{"six hours apart before 8 March", utc(2026, 3, 2, 12, 0),
			Span{"10:00", "02:00", true}, Span{"10:00", "02:00", true},
			[]string{"Du lundi au vendredi, de 10 h à 2 h (heure de Paris)", "Fermé le samedi et le dimanche"}},
		{"five hours apart from 9 March", utc(2026, 3, 9, 12, 0),
			Span{"09:00", "01:00", true}, Span{"09:00", "01:00", true},
			[]string{"Du lundi au vendredi, de 9 h à 1 h (heure de Paris)", "Fermé le samedi et le dimanche"}},
		{"a week that straddles 8 March: each weekday at its next date", utc(2026, 3, 5, 12, 0),
			Span{"09:00", "01:00", true}, Span{"10:00", "02:00", true},
			[]string{"Du lundi au mercredi, de 9 h à 1 h (heure de Paris)",
				"Le jeudi et le vendredi, de 10 h à 2 h (heure de Paris)", "Fermé le samedi et le dimanche"}},
		{"six hours apart again after 29 March", utc(2026, 3, 30, 12, 0),
			Span{"10:00", "02:00", true}, Span{"10:00", "02:00", true},
			[]string{"Du lundi au vendredi, de 10 h à 2 h (heure de Paris)", "Fermé le samedi et le dimanche"}},
		{"five hours apart after 25 October", utc(2026, 10, 26, 12, 0),
			Span{"09:00", "01:00", true}, Span{"09:00", "01:00", true},
			[]string{"Du lundi au vendredi, de 9 h à 1 h (heure de Paris)", "Fermé le samedi et le dimanche"}},
		{"six hours apart after 1 November", utc(2026, 11, 2, 12, 0),
			Span{"10:00", "02:00", true}, Span{"10:00", "02:00", true},
			[]string{"Du lundi au vendredi, de 10 h à 2 h (heure de Paris)", "Fermé le samedi et le dimanche"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := s.Week(tt.now, paris, "fr")
			if w.Zone != "Europe/Paris" || len(w.Days) != 7 {
				t.Fatalf("got zone %s and %d days, want Europe/Paris and 7", w.Zone, len(w.Days))
			}
			if d := w.Days[0]; d.Day != "monday" || !slices.Equal(d.Spans, []Span{tt.monday}) {
				t.Errorf("monday: got %s %+v, want %+v", d.Day, d.Spans, tt.monday)
			}
			if d := w.Days[4]; d.Day != "friday" || !slices.Equal(d.Spans, []Span{tt.friday}) {
				t.Errorf("friday: got %s %+v, want %+v", d.Day, d.Spans, tt.friday)
			}
			if d := w.Days[6]; d.Day != "sunday" || len(d.Spans) != 0 {
				t.Errorf("sunday: got %s %+v, want closed", d.Day, d.Spans)
			}
			if !slices.Equal(w.Lines, tt.lines) {
				t.Errorf("lines: got %q, want %q", w.Lines, tt.lines)
			}
		})
	}
}

func TestWeekDatesAreEachWeekdaysNextDate(t *testing.T) {
	w := mustHours(t, nil).Schedule(ChannelChat).Week(utc(2026, 3, 5, 12, 0), mustLoad(t, "Europe/Paris"), "en")
	want := []string{"2026-03-09", "2026-03-10", "2026-03-11", "2026-03-05", "2026-03-06", "2026-03-07", "2026-03-08"}
	for i, d := range w.Days {
		if d.Date != want[i] {
			t.Errorf("%s: got %s, want %s", d.Day, d.Date, want[i])
		}
	}
}

func TestWeekLinesSayTheHoursInEnglishAndFrench(t *testing.T) {
	monday := utc(2026, 6, 1, 12, 0) // a week without clock changes
	tests := []struct {
		name   string
		change func(c *HoursConfig)
		ch     Channel
		zone   string // the visitor's; "" for the configured one
		en, fr []string
	}{
		{"default chat in its zone", nil, ChannelChat, "",
			[]string{"Monday to Friday, 04:00 to 20:00 (New York time)", "Closed Saturday and Sunday"},
			[]string{"Du lundi au vendredi, de 4 h à 20 h (heure de New York)", "Fermé le samedi et le dimanche"}},
		{"default chat crossing midnight for a Paris visitor", nil, ChannelChat, "Europe/Paris",
			[]string{"Monday to Friday, 10:00 to 02:00 (Paris time)", "Closed Saturday and Sunday"},
			[]string{"Du lundi au vendredi, de 10 h à 2 h (heure de Paris)", "Fermé le samedi et le dimanche"}},
		{"default chat for a London visitor", nil, ChannelChat, "Europe/London",
			[]string{"Monday to Friday, 09:00 to 01:00 (London time)", "Closed Saturday and Sunday"},
			[]string{"Du lundi au vendredi, de 9 h à 1 h (heure de Londres)", "Fermé le samedi et le dimanche"}},
		{"default chat in UTC, monday night in tokyo", nil, ChannelChat, "Asia/Tokyo",
			[]string{"Monday to Friday, 17:00 to 09:00 (Tokyo time)", "Closed Saturday and Sunday"},
			[]string{"Du lundi au vendredi, de 17 h à 9 h (heure de Tokyo)", "Fermé le samedi et le dimanche"}},
		{"email around the clock, for any visitor", nil, ChannelEmail, "Australia/Adelaide",
			[]string{"Every day, 24 hours a day"}, []string{"Tous les jours, 24 h/24"}},
		{"half hours, midnight and single days", func(c *HoursConfig) {
			c.Timezone = "UTC"
			c.Monday, c.Tuesday, c.Wednesday, c.Thursday, c.Friday = "08:30-12:00", "closed", "00:00-24:00", "20:00-24:00", "00:00-06:00"
		}, ChannelChat, "",
			[]string{"Monday, 08:30 to 12:00 (UTC)", "Closed Tuesday", "Wednesday, 24 hours a day",
				"Thursday, 20:00 to 06:00 (UTC)", "Closed Friday to Sunday"},
			[]string{"Le lundi, de 8 h 30 à 12 h (heure UTC)", "Fermé le mardi", "Le mercredi, 24 h/24",
				"Le jeudi, de 20 h à 6 h (heure UTC)", "Fermé du vendredi au dimanche"}},
		{"two openings on one visitor day", func(c *HoursConfig) {
			c.Timezone, c.Sunday, c.Monday = "UTC", "20:00-22:00", "06:00-08:00"
			c.Tuesday, c.Wednesday, c.Thursday, c.Friday = "closed", "closed", "closed", "closed"
		}, ChannelChat, "Asia/Tokyo",
			[]string{"Monday, 05:00 to 07:00 and 15:00 to 17:00 (Tokyo time)", "Closed Tuesday to Sunday"},
			[]string{"Le lundi, de 5 h à 7 h et de 15 h à 17 h (heure de Tokyo)", "Fermé du mardi au dimanche"}},
		{"starting at midnight in a zone starting with a vowel", func(c *HoursConfig) {
			c.Timezone = "Europe/Athens"
			c.Monday, c.Tuesday, c.Wednesday, c.Thursday, c.Friday = "00:00-06:00", "00:00-06:00", "00:00-06:00", "00:00-06:00", "00:00-06:00"
			c.Saturday, c.Sunday = "00:00-06:00", "00:00-06:00"
		}, ChannelChat, "",
			[]string{"Every day, midnight to 06:00 (Athens time)"},
			[]string{"Tous les jours, de minuit à 6 h (heure d'Athènes)"}},
		{"closed all week", func(c *HoursConfig) {
			c.Closed = []string{"2026-06-01", "2026-06-02", "2026-06-03", "2026-06-04", "2026-06-05"}
		},
			ChannelChat, "", []string{"Closed all week"}, []string{"Fermé toute la semaine"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := mustHours(t, tt.change)
			loc := h.Location()
			if tt.zone != "" {
				loc = mustLoad(t, tt.zone)
			}
			s := h.Schedule(tt.ch)
			if got := s.Week(monday, loc, "en").Lines; !slices.Equal(got, tt.en) {
				t.Errorf("en: got %q, want %q", got, tt.en)
			}
			if got := s.Week(monday, loc, "fr").Lines; !slices.Equal(got, tt.fr) {
				t.Errorf("fr: got %q, want %q", got, tt.fr)
			}
		})
	}
}

func TestAvailabilityStatus(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	tuesday := time.Date(2026, 11, 24, 9, 0, 0, 0, ny)
	wednesday := time.Date(2026, 11, 25, 4, 0, 0, 0, ny)
	saturday := time.Date(2026, 11, 28, 9, 0, 0, 0, ny)
	monday := time.Date(2026, 11, 30, 4, 0, 0, 0, ny)
	tests := []struct {
		name    string
		present func(context.Context) bool
		ch      Channel
		at      time.Time
		want    ChannelStatus
	}{
		{"chat in hours, presence not considered", nil, ChannelChat, tuesday,
			ChannelStatus{Open: true, NextOpen: wednesday, NextClose: time.Date(2026, 11, 24, 20, 0, 0, 0, ny)}},
		{"chat in hours with an agent", func(context.Context) bool { return true }, ChannelChat, tuesday,
			ChannelStatus{Open: true, NextOpen: wednesday, NextClose: time.Date(2026, 11, 24, 20, 0, 0, 0, ny)}},
		{"chat in hours without an agent is closed, reopening unknown", func(context.Context) bool { return false }, ChannelChat, tuesday,
			ChannelStatus{}},
		{"chat out of hours", func(context.Context) bool { return true }, ChannelChat, saturday, ChannelStatus{NextOpen: monday}},
		{"email needs no agent", func(context.Context) bool { return false }, ChannelEmail, tuesday, ChannelStatus{Open: true}},
		{"unknown channel", nil, "fax", tuesday, ChannelStatus{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAvailability(mustHours(t, nil))
			a.AgentsPresent = tt.present
			got := a.Status(context.Background(), tt.ch, tt.at)
			if got.Open != tt.want.Open || !got.NextOpen.Equal(tt.want.NextOpen) || !got.NextClose.Equal(tt.want.NextClose) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestAvailabilitySetSwapsWhileRead runs readers against a swap; with
// -race it checks that readers need no lock.
func TestAvailabilitySetSwapsWhileRead(t *testing.T) {
	open := mustHours(t, func(c *HoursConfig) { c.Saturday = "00:00-24:00" })
	closed := mustHours(t, nil)
	a := NewAvailability(closed)
	saturday := utc(2026, 11, 28, 17, 0)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				a.ChatStatus(context.Background(), saturday)
				a.Report(context.Background(), saturday, "fr", nil)
			}
		})
	}
	a.Set(open)
	wg.Wait()
	if !a.ChatStatus(context.Background(), saturday).Open {
		t.Error("after Set: got closed, want the new hours (open)")
	}
}

func TestReportLang(t *testing.T) {
	tests := []struct{ requested, fallback, want string }{
		{"fr", "en", "fr"}, {"FR-ca", "en", "fr"}, {"en-GB", "fr", "en"},
		{"de", "fr", "fr"}, {"", "fr", "fr"}, {"", "", "en"}, {"de", "de", "en"},
	}
	for _, tt := range tests {
		if got := ReportLang(tt.requested, tt.fallback); got != tt.want {
			t.Errorf("ReportLang(%q, %q): got %q, want %q", tt.requested, tt.fallback, got, tt.want)
		}
	}
}

func TestVisitorZone(t *testing.T) {
	tests := []struct {
		name, tz, want string // want "" is no zone; "!" an error
	}{
		{"absent", "", ""},
		{"city", "Europe/Paris", "Europe/Paris"},
		{"utc", "UTC", "UTC"},
		{"unknown", "Mars/Olympus", "!"},
		{"server's zone", "Local", "!"},
		{"path out of the database", "../../etc/passwd", "!"},
		{"too long", "Europe/" + string(make([]byte, 80)), "!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := VisitorZone(tt.tz)
			switch {
			case tt.want == "!":
				if err == nil || ErrorCode(err) != EINVALID {
					t.Errorf("got %v, %v; want a validation error", loc, err)
				}
			case err != nil:
				t.Errorf("got %v, want %s", err, tt.want)
			case tt.want == "" && loc != nil:
				t.Errorf("got %v, want no zone", loc)
			case tt.want != "" && (loc == nil || loc.String() != tt.want):
				t.Errorf("got %v, want %s", loc, tt.want)
			}
		})
	}
}
