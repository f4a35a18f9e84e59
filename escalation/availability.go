package escalation

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Availability is the business hours in force, shared by the bot, the
// widget and the availability API. A config reload replaces them with
// Set while requests read them: the swap is one atomic pointer store, so a
// reader sees either the old hours or the new ones, never a mix.
type Availability struct {
	hours atomic.Pointer[Hours]

	// AgentsPresent, when set, says whether at least one agent is
	// available in the console: chat is closed while it returns false,
	// even during business hours. Nil means presence is not considered,
	// which is the case until the live-chat console exists. Set it before
	// the Availability is shared.
	AgentsPresent func(ctx context.Context) bool
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// NewAvailability returns an Availability serving h.
func NewAvailability(h *Hours) *Availability {
	a := &Availability{Now: time.Now}
	a.hours.Store(h)
	return a
}

// Hours returns the hours in force.
func (a *Availability) Hours() *Hours { return a.hours.Load() }

// Set puts h in force for every later call.
func (a *Availability) Set(h *Hours) { a.hours.Store(h) }

// ChannelStatus is whether a channel is open at one instant, and when that
// changes: NextClose is when the current opening ends (zero while closed),
// NextOpen the next opening after at (while open, the one after the
// current opening ends). A zero time is none, unknown or beyond a month.
type ChannelStatus struct {
	Open      bool      `json:"open"`
	NextOpen  time.Time `json:"next_open,omitzero"`
	NextClose time.Time `json:"next_close,omitzero"`
}

// Status says whether ch is open at at.
func (a *Availability) Status(ctx context.Context, ch Channel, at time.Time) ChannelStatus {
	s := a.Hours().Schedule(ch)
	if s == nil {
		return ChannelStatus{}
	}
	if !s.Open(at) {
		return ChannelStatus{NextOpen: s.NextOpen(at)}
	}
	if ch == ChannelChat && a.AgentsPresent != nil && !a.AgentsPresent(ctx) {
		// Within the hours but nobody to answer: when someone comes back
		// cannot be known, so no next opening is promised.
		return ChannelStatus{}
	}
	return ChannelStatus{Open: true, NextOpen: s.NextOpen(at), NextClose: s.NextClose(at)}
}

// ChatStatus says whether live chat is open at at. cmd/bulle adapts it to
// the bot's Availability interface, which this package does not import.
func (a *Availability) ChatStatus(ctx context.Context, at time.Time) ChannelStatus {
	return a.Status(ctx, ChannelChat, at)
}

// Report is the answer of GET /api/availability: each channel's status
// and its hours for the coming week, in the configured zone and, when the
// visitor gave theirs, in the visitor's zone.
type Report struct {
	Lang        string        `json:"lang"`
	Zone        string        `json:"zone"`
	VisitorZone string        `json:"visitor_zone,omitempty"`
	Chat        ChannelReport `json:"chat"`
	Email       ChannelReport `json:"email"`
}

// ChannelReport is one channel in a Report.
type ChannelReport struct {
	ChannelStatus
	Hours        Week  `json:"hours"`
	VisitorHours *Week `json:"visitor_hours,omitempty"`
}

// Week is a channel's hours for the seven days from today, as seen in one
// zone, Monday first, with lines that say them in words.
type Week struct {
	Zone  string     `json:"zone"`
	Days  []DayHours `json:"days"`
	Lines []string   `json:"lines"`
}

// DayHours is one day of a Week: the openings that start on that date.
type DayHours struct {
	Day   string `json:"day"`   // monday … sunday
	Date  string `json:"date"`  // the next such date from today, 2026-03-09
	Spans []Span `json:"spans"` // empty when closed
}

// Span is one opening in wall-clock time. Until is 24:00 for an opening
// that runs to the end of the day, and NextDay marks one that ends after
// midnight, such as 10:00 to 02:00.
type Span struct {
	From    string `json:"from"`
	Until   string `json:"until"`
	NextDay bool   `json:"next_day,omitempty"`
}

// Report builds the availability report at at, with lines in lang ("en"
// or "fr"; see ReportLang). visitor may be nil.
func (a *Availability) Report(ctx context.Context, at time.Time, lang string, visitor *time.Location) Report {
	h := a.Hours()
	r := Report{Lang: lang, Zone: h.loc.String()}
	if visitor != nil {
		r.VisitorZone = visitor.String()
	}
	channel := func(ch Channel) ChannelReport {
		s := h.Schedule(ch)
		c := ChannelReport{ChannelStatus: a.Status(ctx, ch, at), Hours: s.Week(at, h.loc, lang)}
		if visitor != nil {
			w := s.Week(at, visitor, lang)
			c.VisitorHours = &w
		}
		return c
	}
	r.Chat, r.Email = channel(ChannelChat), channel(ChannelEmail)
	return r
}

// ReportLang returns the language of a report for a requested one such as
// "fr" or "fr-CA", or fallback when it is not English or French.
func ReportLang(requested, fallback string) string {
	primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(requested)), "-")
	for _, l := range []string{primary, fallback} {
		if l == "en" || l == "fr" {
			return l
		}
	}
	return "en"
}

// VisitorZone reads the IANA zone a visitor's browser reports, such as
// Europe/Paris; "" is no zone (nil, nil).
func VisitorZone(name string) (*time.Location, error) {
	if name == "" {
		return nil, nil
	}
	bad := invalid("tz", "%q is not an IANA time zone such as Europe/Paris", name)
	// "Local" would be the server's zone; LoadLocation already refuses
	// paths that leave the zone database.
	if len(name) > 64 || name == "Local" {
		return nil, bad
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, bad
	}
	return loc, nil
}

// Week returns the channel's hours for the seven days from now's date in
// loc, each weekday at its next date, so that the conversion follows the
// clock changes of both zones in the coming week rather than a fixed
// offset. Closed dates and overrides in that week count.
func (s *Schedule) Week(now time.Time, loc *time.Location, lang string) Week {
	today := civilDate(now, loc)
	days := make([]DayHours, 7)
	for i := range 7 {
		date := today.AddDate(0, 0, i)
		days[weekdayIndex(date.Weekday())] = DayHours{Day: dayKeys[date.Weekday()],
			Date: date.Format(time.DateOnly), Spans: []Span{}}
	}
	// Two zones are at most 26 hours apart: the schedule's dates from two
	// days before to four after the week hold every opening that starts
	// in it, with a margin for openings joined across midnight.
	first := civilDate(wallInstant(today, 0, loc), s.loc).AddDate(0, 0, -2)
	for _, run := range s.openings(first, 13) {
		for _, p := range cutAtMidnights(run, loc) {
			date := civilDate(p.start, loc)
			if date.Before(today) || !date.Before(today.AddDate(0, 0, 7)) {
				continue
			}
			d := &days[weekdayIndex(date.Weekday())]
			d.Spans = append(d.Spans, spanIn(p, loc))
		}
	}
	return Week{Zone: loc.String(), Days: days, Lines: weekLines(days, lang, loc)}
}

// cutAtMidnights cuts an opening longer than a day at each midnight of loc, so
// that email open around the clock reads "every day, all day" rather than
// one week-long span; a shorter one stays whole, even across midnight.
func cutAtMidnights(iv opening, loc *time.Location) []opening {
	if iv.end.Sub(iv.start) <= 24*time.Hour {
		return []opening{iv}
	}
	var out []opening
	for start := iv.start; start.Before(iv.end); {
		end := wallInstant(civilDate(start, loc).AddDate(0, 0, 1), 0, loc)
		if end.After(iv.end) {
			end = iv.end
		}
		out = append(out, opening{start, end})
		start = end
	}
	return out
}

// spanIn writes an opening in loc's wall-clock time.
func spanIn(iv opening, loc *time.Location) Span {
	start, end := iv.start.In(loc), iv.end.In(loc)
	sp := Span{From: start.Format("15:04"), Until: end.Format("15:04")}
	switch days := civilDate(end, loc).Sub(civilDate(start, loc)); {
	case days == 24*time.Hour && sp.Until == "00:00":
		sp.Until = "24:00"
	case days > 0:
		sp.NextDay = true
	}
	return sp
}

// dayKeys are the config's names of time.Weekday.
var dayKeys = [7]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// weekdayIndex is w's place in a week that starts on Monday.
func weekdayIndex(w time.Weekday) int { return (int(w) + 6) % 7 }

// hoursWords are the phrases of the hours lines in one language.
type hoursWords struct {
	days       [7]string // by time.Weekday
	one, two   string    // a group of one or two days: "%s", "%s and %s"
	rng        string    // three days or more: "%s to %s"
	every      string    // all seven days
	closed     string    // "Closed %s"; the days as above
	closedAll  string    // closed all week
	span       string    // "%s to %s"
	and        string    // between spans
	allDay     string    // 00:00 to 24:00
	midnight   string    // 00:00 or 24:00
	clock      func(h, m int) string
	zone, utc  string // "(%s time)" for a city, "(%s)" for a zone such as UTC
	cityNames  map[string]string
	zoneVowels bool // French elides "de" before a vowel: "heure d'Athènes"
}

var hoursEN = hoursWords{
	days: [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
	one:  "%s", two: "%s and %s", rng: "%s to %s", every: "Every day",
	closed: "Closed %s", closedAll: "Closed all week",
	span: "%s to %s", and: " and ", allDay: "24 hours a day", midnight: "midnight",
	clock: func(h, m int) string { return fmt.Sprintf("%02d:%02d", h, m) },
	zone:  "(%s time)", utc: "(%s)",
}

var hoursFR = hoursWords{
	days: [7]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"},
	one:  "le %s", two: "le %s et le %s", rng: "du %s au %s", every: "tous les jours",
	closed: "fermé %s", closedAll: "fermé toute la semaine",
	span: "de %s à %s", and: " et ", allDay: "24 h/24", midnight: "minuit",
	clock: func(h, m int) string {
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %02d", h, m)
	},
	zone: "(heure de %s)", utc: "(heure %s)", zoneVowels: true,
	cityNames: map[string]string{"London": "Londres", "Brussels": "Bruxelles", "Lisbon": "Lisbonne",
		"Vienna": "Vienne", "Athens": "Athènes", "Warsaw": "Varsovie", "Copenhagen": "Copenhague",
		"Moscow": "Moscou", "Montreal": "Montréal", "Mexico City": "Mexico", "Algiers": "Alger"},
}

// weekLines says a week's hours in words, one line per run of days with
// the same hours: "Du lundi au vendredi, de 10 h à 2 h (heure de Paris)".
func weekLines(days []DayHours, lang string, loc *time.Location) []string {
	w := hoursEN
	if lang == "fr" {
		w = hoursFR
	}
	lines := []string{}
	for i := 0; i < len(days); {
		j := i + 1
		for j < len(days) && slices.Equal(days[j].Spans, days[i].Spans) {
			j++
		}
		group := w.dayGroup(mondayFirst(i), mondayFirst(j-1), j-i)
		var line string
		switch spans := days[i].Spans; {
		case len(spans) == 0 && j-i == 7:
			line = w.closedAll
		case len(spans) == 0:
			line = fmt.Sprintf(w.closed, group)
		case len(spans) == 1 && spans[0] == Span{From: "00:00", Until: "24:00"}:
			line = group + ", " + w.allDay
		default:
			texts := make([]string, len(spans))
			for k, sp := range spans {
				texts[k] = fmt.Sprintf(w.span, w.clockText(sp.From), w.clockText(sp.Until))
			}
			line = group + ", " + strings.Join(texts, w.and) + " " + w.zoneLabel(loc)
		}
		lines = append(lines, capitalizeLine(line))
		i = j
	}
	return lines
}

// mondayFirst is the weekday at place i of a week that starts on Monday.
func mondayFirst(i int) time.Weekday { return time.Weekday((i + 1) % 7) }

// dayGroup names n consecutive days from first to last.
func (w hoursWords) dayGroup(first, last time.Weekday, n int) string {
	switch n {
	case 1:
		return fmt.Sprintf(w.one, w.days[first])
	case 2:
		return fmt.Sprintf(w.two, w.days[first], w.days[last])
	case 7:
		return w.every
	}
	return fmt.Sprintf(w.rng, w.days[first], w.days[last])
}

// clockText says an "HH:MM" wall-clock time.
func (w hoursWords) clockText(hhmm string) string {
	if hhmm == "00:00" || hhmm == "24:00" {
		return w.midnight
	}
	var h, m int
	fmt.Sscanf(hhmm, "%d:%d", &h, &m)
	return w.clock(h, m)
}

// zoneLabel names a zone by its city, "(Paris time)", or by its name when
// it has no city, "(UTC)".
func (w hoursWords) zoneLabel(loc *time.Location) string {
	name := loc.String()
	_, city, ok := strings.Cut(name, "/")
	if !ok || city == "" || strings.HasPrefix(name, "Etc/") {
		return fmt.Sprintf(w.utc, name)
	}
	if i := strings.LastIndex(city, "/"); i >= 0 {
		city = city[i+1:] // America/Argentina/Buenos_Aires
	}
	city = strings.ReplaceAll(city, "_", " ")
	if n, ok := w.cityNames[city]; ok {
		city = n
	}
	label := fmt.Sprintf(w.zone, city)
	if w.zoneVowels && strings.ContainsRune("AEIOUÉ", []rune(city)[0]) {
		label = strings.Replace(label, "de ", "d'", 1)
	}
	return label
}

// capitalizeLine capitalises a line's first letter.
func capitalizeLine(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}
