package escalation

import (
	"context"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestContentDispositionEncodesEveryNameSafely(t *testing.T) {
	tests := []struct{ name, want string }{
		{"capture.png", `attachment; filename="capture.png"; filename*=UTF-8''capture.png`},
		{"écran 1.png", `attachment; filename="_cran 1.png"; filename*=UTF-8''%C3%A9cran%201.png`},
		{`a"; filename="evil.html`, `attachment; filename="a__ filename=_evil.html"; filename*=UTF-8''a%22%3B%20filename%3D%22evil.html`},
		{"x\r\nSet-Cookie: a=b.txt", `attachment; filename="x__Set-Cookie: a=b.txt"; filename*=UTF-8''x%0D%0ASet-Cookie%3A%20a%3Db.txt`},
		{"日本.pdf", `attachment; filename="__.pdf"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.pdf`},
		{"日本", `attachment; filename="attachment"; filename*=UTF-8''%E6%97%A5%E6%9C%AC`},
	}
	for _, tt := range tests {
		got := ContentDisposition(tt.name)
		if got != tt.want {
			t.Errorf("%q: got %s, want %s", tt.name, got, tt.want)
		}
		if strings.ContainsAny(got, "\r\n") {
			t.Errorf("%q: a line break reached the header", tt.name)
		}
		if _, params, err := mime.ParseMediaType(got); err != nil || params["filename"] != tt.name {
			t.Errorf("%q: a browser reads %q (%v)", tt.name, params["filename"], err)
		}
	}
}

func TestAgentAPIServesAttachmentsToAgentsOnly(t *testing.T) {
	d, s := newTestDesk(t)
	withFiles(t, d)
	ctx := context.Background()
	tk, err := d.CreateTicket(ctx, NewTicket{Lang: "en", Topic: "bug", Email: "ana@example.org", Message: "See the log",
		Attachments: []NewAttachment{{Name: "server <1>.log", Data: []byte("12:00 ERROR payment refused\n")}}})
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := s.AddAgent(ctx, "lea@help.example", "Léa")
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) { // as cmd/bulle maps them
		code := http.StatusInternalServerError
		if he, ok := err.(*echo.HTTPError); ok {
			code = he.Code
		} else if ErrorCode(err) == ENOTFOUND {
			code = http.StatusNotFound
		}
		c.NoContent(code)
	}
	RegisterAgentAPI(e, s, d)
	srv := httptest.NewServer(e)
	defer srv.Close()
	get := func(path, bearer string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}

	resp, list := get("/api/agent/tickets/"+tk.Ref+"/attachments", token)
	if resp.StatusCode != 200 || !strings.Contains(list, `"name":"server \u003c1\u003e.log"`) || !strings.Contains(list, `"url":"/api/agent/attachments/1"`) {
		t.Fatalf("list: %d %s", resp.StatusCode, list)
	}
	tests := []struct {
		name   string
		path   string
		bearer string
		want   int
	}{
		{"an agent", "/api/agent/attachments/1", token, 200},
		{"no token", "/api/agent/attachments/1", "", 401},
		{"a forged token", "/api/agent/attachments/1", "forged", 401},
		{"no such file", "/api/agent/attachments/2", token, 404},
		{"not an id", "/api/agent/attachments/x", token, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(tt.path, tt.bearer)
			if resp.StatusCode != tt.want {
				t.Fatalf("got %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want != 200 {
				return
			}
			h := resp.Header
			for k, want := range map[string]string{
				"Content-Type":            "text/plain; charset=utf-8",
				"Content-Disposition":     `attachment; filename="server <1>.log"; filename*=UTF-8''server%20%3C1%3E.log`,
				"X-Content-Type-Options":  "nosniff",
				"Cache-Control":           "private, no-store",
				"Content-Security-Policy": "default-src 'none'; sandbox",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s: got %q, want %q", k, got, want)
				}
			}
			if body != "12:00 ERROR payment refused\n" {
				t.Errorf("body %q", body)
			}
		})
	}
}
