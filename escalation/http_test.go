package escalation

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

func TestAvailabilityHandler(t *testing.T) {
	a := NewAvailability(mustHours(t, nil))
	// Saturday 28 November 2026, 12:00 in New York: chat closed until
	// Monday 04:00, email open.
	a.Now = func() time.Time { return utc(2026, 11, 28, 17, 0) }
	e := echo.New()
	e.GET("/api/availability", AvailabilityHandler(a, AvailabilityOptions{DefaultLang: "en",
		AllowedOrigins: []string{"https://shop.example.com"}}))
	srv := httptest.NewServer(e)
	defer srv.Close()

	tests := []struct {
		name        string
		url         string
		origin      string
		wantStatus  int
		wantContent []string
		notContent  []string
		wantHeaders map[string]string
	}{
		{"french for a Paris visitor", "/api/availability?lang=fr&tz=Europe/Paris", "", 200,
			[]string{`"lang":"fr"`, `"zone":"America/New_York"`, `"visitor_zone":"Europe/Paris"`,
				`"chat":{"open":false,"next_open":"2026-11-30T04:00:00-05:00"`,
				`"email":{"open":true,`,
				`"Du lundi au vendredi, de 4 h à 20 h (heure de New York)"`,
				`"Du lundi au vendredi, de 10 h à 2 h (heure de Paris)"`,
				`{"from":"10:00","until":"02:00","next_day":true}`,
				`"Tous les jours, 24 h/24"`},
			[]string{`"next_close"`}, map[string]string{"Cache-Control": "public, max-age=60"}},
		{"english without a zone", "/api/availability?lang=en", "", 200,
			[]string{`"lang":"en"`, `"Monday to Friday, 04:00 to 20:00 (New York time)"`, `"Closed Saturday and Sunday"`,
				`"Every day, 24 hours a day"`},
			[]string{`"visitor_zone"`, `"visitor_hours"`, `Paris`}, nil},
		{"default language", "/api/availability?tz=Asia/Tokyo", "", 200,
			[]string{`"lang":"en"`, `"Monday to Friday, 18:00 to 10:00 (Tokyo time)"`}, nil, nil},
		{"unknown zone", "/api/availability?lang=fr&tz=Mars/Olympus", "", 400,
			[]string{`{"error":"tz: \"Mars/Olympus\" is not an IANA time zone such as Europe/Paris"}`}, nil, nil},
		{"server's zone refused", "/api/availability?tz=Local", "", 400, []string{`"error":"tz: `}, nil, nil},
		{"allowed site may read it", "/api/availability", "https://shop.example.com", 200, nil, nil,
			map[string]string{"Access-Control-Allow-Origin": "https://shop.example.com", "Vary": "Origin"}},
		{"other site may not", "/api/availability", "https://evil.example", 200, nil, nil,
			map[string]string{"Access-Control-Allow-Origin": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, srv.URL+tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status: got %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
				t.Errorf("content type: got %q, want JSON", got)
			}
			if !json.Valid(body) {
				t.Errorf("body: got %s, want JSON", body)
			}
			for _, want := range tt.wantContent {
				if !strings.Contains(string(body), want) {
					t.Errorf("body: got %s, want it to contain %s", body, want)
				}
			}
			for _, not := range tt.notContent {
				if strings.Contains(string(body), not) {
					t.Errorf("body: got %s, want no %s", body, not)
				}
			}
			for h, want := range tt.wantHeaders {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s: got %q, want %q", h, got, want)
				}
			}
		})
	}
}

// TestAvailabilityReportShape decodes one answer the way the bubble reads
// it: RFC 3339 times, seven days Monday first, and next_close only while
// open.
func TestAvailabilityReportShape(t *testing.T) {
	a := NewAvailability(mustHours(t, nil))
	a.Now = func() time.Time { return utc(2026, 11, 24, 14, 0) } // Tuesday 09:00 in New York
	e := echo.New()
	e.GET("/api/availability", AvailabilityHandler(a, AvailabilityOptions{DefaultLang: "fr"}))
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/availability?tz=Europe/Paris", nil))
	var got struct {
		Lang string `json:"lang"`
		Chat struct {
			Open         bool       `json:"open"`
			NextOpen     *time.Time `json:"next_open"`
			NextClose    *time.Time `json:"next_close"`
			VisitorHours Week       `json:"visitor_hours"`
		} `json:"chat"`
		Email struct {
			Open      bool       `json:"open"`
			NextClose *time.Time `json:"next_close"`
		} `json:"email"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
	if got.Lang != "fr" {
		t.Errorf("lang: got %q, want the default, fr", got.Lang)
	}
	wantClose := utc(2026, 11, 25, 1, 0)
	if !got.Chat.Open || got.Chat.NextClose == nil || !got.Chat.NextClose.Equal(wantClose) {
		t.Errorf("chat: got open %v, next_close %v; want open until %v", got.Chat.Open, got.Chat.NextClose, wantClose)
	}
	if got.Chat.NextOpen == nil || !got.Chat.NextOpen.Equal(utc(2026, 11, 25, 9, 0)) {
		t.Errorf("chat next_open: got %v, want Wednesday 04:00 in New York", got.Chat.NextOpen)
	}
	if days := got.Chat.VisitorHours.Days; len(days) != 7 || days[0].Day != "monday" || days[6].Day != "sunday" {
		t.Errorf("visitor days: got %+v, want seven, Monday first", days)
	}
	if !got.Email.Open || got.Email.NextClose != nil {
		t.Errorf("email: got open %v, next_close %v; want open with no closing ahead", got.Email.Open, got.Email.NextClose)
	}
}
