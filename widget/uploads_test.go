package widget

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/labstack/echo/v4"
)

// uploadBody is a multipart form with one file in field.
func uploadBody(t testing.TB, field, name string, data []byte) (body *bytes.Buffer, contentType string) {
	t.Helper()
	body = &bytes.Buffer{}
	mw := multipart.NewWriter(body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+field+`"; filename="`+strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name)+`"`)
	h.Set("Content-Type", "application/octet-stream")
	pw, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	pw.Write(data)
	mw.Close()
	return body, mw.FormDataContentType()
}

// uploadResult is an answer of POST /widget/uploads.
type uploadResult struct {
	status int
	header http.Header
	info   uploadInfo
	err    uploadError
	raw    string
}

// upload posts a file as the bubble does: origin ("" for none), bearer
// token ("" for none).
func upload(t testing.TB, url, origin, token, name string, data []byte) uploadResult {
	t.Helper()
	body, ct := uploadBody(t, "file", name, data)
	return postUpload(t, url, origin, token, ct, body)
}

func postUpload(t testing.TB, url, origin, token, contentType string, body io.Reader) uploadResult {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+uploadsPath, body)
	req.Header.Set("Content-Type", contentType)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := uploadResult{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if resp.StatusCode == http.StatusCreated {
		json.Unmarshal(raw, &r.info)
	} else if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.err); err != nil || r.err.Error == "" || r.err.Message == "" {
			t.Errorf("%d answered %q, want JSON saying what was wrong", resp.StatusCode, raw)
		}
	}
	return r
}

// rawFrame is a server frame with the parts these tests read.
type rawFrame struct {
	Type        string           `json:"type"`
	Code        string           `json:"code"`
	Field       string           `json:"field"`
	Message     string           `json:"message"`
	ClientID    string           `json:"client_id"`
	Seq         int64            `json:"seq"`
	Role        string           `json:"role"`
	Kind        string           `json:"kind"`
	Text        string           `json:"text"`
	Ticket      string           `json:"ticket"`
	Uploads     *uploadsInfo     `json:"uploads"`
	Token       string           `json:"token"`
	Attachments []attachmentInfo `json:"attachments"`
}

// nextRaw reads the next frame with its attachments and uploads.
func (c *client) nextRaw() rawFrame {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := c.conn.Read(ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var f rawFrame
	if err := json.Unmarshal(data, &f); err != nil {
		c.t.Fatalf("frame %s: %v", data, err)
	}
	return f
}

// ticketFrames sends a ticket frame and reads what answers it: an error,
// or the ack and the messages up to the note.
func (c *client) ticketFrames(frame map[string]any) (ack rawFrame, msgs []rawFrame) {
	c.t.Helper()
	c.send(frame)
	ack = c.nextRaw()
	if ack.Type != typeAck {
		return ack, nil
	}
	for {
		m := c.nextRaw()
		msgs = append(msgs, m)
		if m.Seq == ack.Seq || m.Type != typeMessage {
			return ack, msgs
		}
	}
}

func TestUploadsAreStagedForTheTokensConversationOnly(t *testing.T) {
	env, _ := newDeskEnv(t, nil)
	ana := env.dial(t, "https://shop.example")
	ana.send(map[string]any{"type": "hello", "lang": "fr"})
	welcome := ana.nextRaw()
	if welcome.Uploads == nil || *welcome.Uploads != (uploadsInfo{MaxBytes: 10 << 20, MaxTotal: 20 << 20, MaxFiles: 10}) {
		t.Fatalf("welcome uploads %+v, want the desk's limits", welcome.Uploads)
	}
	eve := env.dial(t, "https://shop.example")
	eveToken := eve.hello("en").Token
	url := env.srv.URL

	tests := []struct {
		name       string
		origin     string
		token      string
		file       string
		data       []byte
		wantStatus int
		wantError  string
	}{
		{"a screenshot from the shop", "https://shop.example", welcome.Token, "capture.png", screenshotPNG, 201, ""},
		{"a log, same origin", "", welcome.Token, "journal.txt", []byte("erreur 500 à 10 h\n"), 201, ""},
		{"a hostile name", "https://shop.example", welcome.Token, `..\..\"évil".png`, screenshotPNG, 201, ""},
		{"no token", "https://shop.example", "", "capture.png", screenshotPNG, 401, "no_token"},
		{"a forged token", "https://shop.example", "forged", "capture.png", screenshotPNG, 404, "bad_token"},
		{"another site", "https://evil.example", welcome.Token, "capture.png", screenshotPNG, 403, "bad_origin"},
		{"a program", "https://shop.example", welcome.Token, "setup.exe", append([]byte("MZ\x90\x00\x03"), make([]byte, 60)...), 415, "bad_type"},
		{"a web page", "https://shop.example", welcome.Token, "page.txt", []byte("<!DOCTYPE html><script>alert(1)</script>"), 415, "bad_type"},
		{"an empty file", "https://shop.example", welcome.Token, "vide.txt", nil, 400, "bad_request"},
		{"over 10 MB", "https://shop.example", welcome.Token, "big.txt", bytes.Repeat([]byte("a"), 10<<20+1), 413, "too_large"},
	}
	staged := map[string]uploadInfo{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := upload(t, url, tt.origin, tt.token, tt.file, tt.data)
			if r.status != tt.wantStatus || r.err.Error != tt.wantError {
				t.Fatalf("got %d %s, want %d %s", r.status, r.raw, tt.wantStatus, tt.wantError)
			}
			if tt.origin == "https://shop.example" && r.header.Get("Access-Control-Allow-Origin") != tt.origin {
				t.Errorf("CORS: Access-Control-Allow-Origin %q", r.header.Get("Access-Control-Allow-Origin"))
			}
			if tt.origin == "https://evil.example" && r.header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("CORS lets another site read the answer")
			}
			if tt.wantStatus == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if tt.wantStatus == 201 {
				if len(r.info.ID) != 22 || r.info.Size != int64(len(tt.data)) || r.info.ContentType == "" {
					t.Errorf("staged %+v", r.info)
				}
				staged[tt.name] = r.info
			}
		})
	}
	if got := staged["a hostile name"].Name; got != "évil.png" {
		t.Errorf("hostile name staged as %q, want the last element, without quotes", got)
	}
	if got := staged["a log, same origin"].ContentType; got != "text/plain; charset=utf-8" {
		t.Errorf("log staged as %q", got)
	}

	// The preflight lets the shop send the token, and only the shop.
	for origin, want := range map[string]int{"https://shop.example": 204, "https://evil.example": 403} {
		req, _ := http.NewRequest(http.MethodOptions, url+uploadsPath, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || (want == 204 && (resp.Header.Get("Access-Control-Allow-Headers") != "Authorization" ||
			resp.Header.Get("Access-Control-Allow-Methods") != "POST")) {
			t.Errorf("preflight from %s: %d %v, want %d", origin, resp.StatusCode, resp.Header, want)
		}
	}
	// Not a form with a file.
	if r := postUpload(t, url, "", welcome.Token, "application/json", strings.NewReader(`{"file":"x"}`)); r.status != 400 {
		t.Errorf("JSON body: %d, want 400", r.status)
	}
	// Over the limit without a Content-Length: the body is cut while read.
	big, ct := uploadBody(t, "file", "big.txt", bytes.Repeat([]byte("a"), 10<<20+1))
	if r := postUpload(t, url, "", welcome.Token, ct, io.MultiReader(big)); r.status != 413 || r.err.Error != "too_large" {
		t.Errorf("chunked, over 10 MB: %d %s, want 413", r.status, r.raw)
	}
	body, ct := uploadBody(t, "files", "capture.png", screenshotPNG)
	if r := postUpload(t, url, "", welcome.Token, ct, body); r.status != 400 || !strings.Contains(r.err.Message, `"file"`) {
		t.Errorf("file in another field: %d %s, want 400 naming the field", r.status, r.raw)
	}
	evesFile := upload(t, url, "https://shop.example", eveToken, "eve.png", screenshotPNG)
	if evesFile.status != 201 {
		t.Fatalf("Eve's upload: %d %s", evesFile.status, evesFile.raw)
	}

	// Eve's file in Ana's ticket is refused, and opens nothing.
	shot, log := staged["a screenshot from the shop"], staged["a log, same origin"]
	frame := map[string]any{"type": "ticket", "client_id": "t1", "topic": "bug", "email": "ana@example.org",
		"text": "Ça plante, voici la capture.", "uploads": []string{shot.ID, evesFile.info.ID}}
	if e, _ := ana.ticketFrames(frame); e.Type != typeError || e.Code != CodeBadTicket || e.Field != "uploads" || e.ClientID != "t1" {
		t.Fatalf("Eve's id in Ana's ticket: %+v, want bad_ticket on uploads", e)
	}
	frame["uploads"] = []string{shot.ID, log.ID}
	ack, msgs := ana.ticketFrames(frame)
	if ack.Type != typeAck || len(msgs) != 2 {
		t.Fatalf("ticket: %+v %+v, want the ack, the message and the note", ack, msgs)
	}
	files := msgs[0].Attachments
	if msgs[0].Kind != escalation.KindTicket || len(files) != 2 || files[0].Name != "capture.png" || files[1].Name != "journal.txt" ||
		msgs[1].Kind != escalation.KindTicketCreated || msgs[1].Seq != ack.Seq {
		t.Fatalf("ticket frames %+v, want the message with both files, then the note", msgs)
	}
	// A resend attaches nothing twice; the files download with Ana's
	// token only.
	ana.send(frame)
	if again := ana.nextRaw(); again.Type != typeAck || again.Seq != ack.Seq {
		t.Fatalf("resend: %+v, want the first ack", again)
	}
	ana.quiet()
	if all, _ := env.store.ConversationAttachments(context.Background(), welcome.conversationID(t, env)); len(all) != 2 {
		t.Errorf("after the resend: %d files, want 2", len(all))
	}
	for token, want := range map[string]int{welcome.Token: 200, eveToken: 404} {
		req, _ := http.NewRequest(http.MethodGet, url+files[0].URL, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || (want == 200 && !bytes.Equal(got, screenshotPNG)) {
			t.Errorf("download with a token: %d, want %d", resp.StatusCode, want)
		}
	}
	// The spent ids are refused for another form.
	frame["client_id"], frame["uploads"] = "t2", []string{shot.ID}
	if e, _ := ana.ticketFrames(frame); e.Code != CodeBadTicket || e.Field != "uploads" {
		t.Errorf("spent id: %+v, want bad_ticket on uploads", e)
	}
	frame["uploads"] = []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}
	if e, _ := ana.ticketFrames(frame); e.Code != CodeBadTicket || e.Field != "uploads" {
		t.Errorf("11 ids: %+v, want bad_ticket on uploads", e)
	}
}

// conversationID finds the welcome's conversation by its token.
func (f rawFrame) conversationID(t *testing.T, env *testEnv) int64 {
	t.Helper()
	c, err := env.store.ConversationByToken(context.Background(), f.Token)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func TestUploadsAreRateLimited(t *testing.T) {
	env, _ := newDeskEnv(t, nil)
	c := env.dial(t, "https://shop.example")
	token := c.hello("fr").Token
	// One request at once per conversation, three per address.
	h := &uploadHandler{w: env.widget, byConv: newLimiter(limit{every: time.Hour, burst: 1}),
		byIP: newLimiter(limit{every: time.Hour, burst: 3})}
	e := echo.New()
	e.Any(uploadsPath, echo.WrapHandler(h))
	srv := httptest.NewServer(e)
	defer srv.Close()

	if r := upload(t, srv.URL, "", token, "a.png", screenshotPNG); r.status != 201 {
		t.Fatalf("first: %d %s", r.status, r.raw)
	}
	r := upload(t, srv.URL, "", token, "b.png", screenshotPNG)
	if r.status != 429 || r.err.Error != "rate_limited" || r.header.Get("Retry-After") == "" {
		t.Errorf("second for the conversation: %d %s, want 429 with Retry-After", r.status, r.raw)
	}
	// Token guesses count against the address.
	if r := upload(t, srv.URL, "", "guess", "c.png", screenshotPNG); r.status != 404 {
		t.Errorf("a guess: %d, want 404", r.status)
	}
	if r := upload(t, srv.URL, "", "guess", "c.png", screenshotPNG); r.status != 429 {
		t.Errorf("fourth from the address: %d, want 429", r.status)
	}
}

func TestServerWithoutFilesOffersNoUploadsAndRefusesThem(t *testing.T) {
	env := newTicketEnv(t) // a desk that keeps no files
	ctx := context.Background()
	c := env.dial(t, "https://shop.example")
	c.send(map[string]any{"type": "hello", "lang": "en"})
	w := c.nextRaw()
	if w.Uploads != nil {
		t.Errorf("welcome offers uploads %+v with no files kept", w.Uploads)
	}
	body, ct := uploadBody(t, "file", "a.png", screenshotPNG)
	req, _ := http.NewRequest(http.MethodPost, env.srv.URL+uploadsPath, body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+w.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var refusal struct{ Error, Message string }
	json.NewDecoder(resp.Body).Decode(&refusal)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || refusal.Error != "no_uploads" {
		t.Errorf("upload to a server that keeps no files: %d %+v, want 404 no_uploads", resp.StatusCode, refusal)
	}
	// Ids here name nothing a bubble could have staged: the frame is
	// refused on uploads, as an unknown id is, and nothing is opened.
	frame := map[string]any{"type": "ticket", "client_id": "t1", "topic": "other",
		"email": "ana@example.org", "text": "Hello", "uploads": []string{"q3H0v6kq2m3Xj9bP1sVw5A"}}
	if e, _ := c.ticketFrames(frame); e.Type != typeError || e.Code != CodeBadTicket || e.Field != "uploads" || e.ClientID != "t1" {
		t.Fatalf("ticket with ids on a server without files: %+v, want bad_ticket on uploads", e)
	}
	convID := w.conversationID(t, env)
	if _, err := env.store.TicketOfConversation(ctx, convID); escalation.ErrorCode(err) != escalation.ENOTFOUND {
		t.Fatalf("the refused frame opened a ticket (%v)", err)
	}
	// The same form without them opens the ticket.
	delete(frame, "uploads")
	ack, msgs := c.ticketFrames(frame)
	if ack.Type != typeAck || len(msgs) != 2 || len(msgs[0].Attachments) != 0 || msgs[1].Kind != escalation.KindTicketCreated {
		t.Errorf("the same form without uploads: %+v %+v, want the ticket", ack, msgs)
	}
}

// TestANewFormAddsToTheOpenRequestThenOpensANewOne follows a returning
// visitor in the bubble: a second form while the request is open joins
// it; once solved, a new form opens a new ticket on the same conversation.
func TestANewFormAddsToTheOpenRequestThenOpensANewOne(t *testing.T) {
	env, _ := newDeskEnv(t, nil)
	ctx := context.Background()
	c := env.dial(t, "https://shop.example")
	c.send(map[string]any{"type": "hello", "lang": "fr"})
	w := c.nextRaw()
	form := func(clientID, text string) map[string]any {
		return map[string]any{"type": "ticket", "client_id": clientID, "topic": "billing", "email": "ana@example.org", "text": text}
	}
	ack, msgs := c.ticketFrames(form("t1", "Ma facture est fausse."))
	if ack.Type != typeAck || len(msgs) != 2 || msgs[1].Kind != escalation.KindTicketCreated {
		t.Fatalf("first form: %+v %+v", ack, msgs)
	}
	first := msgs[1].Ticket

	// The visitor comes back (a new socket, the same token) while it is open.
	c2 := env.dial(t, "https://shop.example")
	c2.send(map[string]any{"type": "hello", "token": w.Token, "last_seq": ack.Seq, "lang": "fr"})
	c2.nextRaw()
	ack2, msgs := c2.ticketFrames(form("t2", "J'ajoute : elle date de mars."))
	if ack2.Type != typeAck || len(msgs) != 2 || msgs[0].Kind != escalation.KindTicket || msgs[1].Kind != escalation.KindTicketFollowUp ||
		msgs[1].Ticket != first || !strings.Contains(msgs[1].Text, "ajouté à votre demande #"+first) {
		t.Fatalf("second form while open: %+v %+v, want it added to #%s", ack2, msgs, first)
	}
	if tks, _ := env.store.TicketsOfConversation(ctx, w.conversationID(t, env)); len(tks) != 1 {
		t.Errorf("%d tickets, want still one", len(tks))
	}
	// Solved by an agent, then a new question: a new ticket.
	if _, err := env.store.SetTicketStatus(ctx, first, escalation.StatusSolved); err != nil {
		t.Fatal(err)
	}
	ack3, msgs := c2.ticketFrames(form("t3", "Autre chose : je veux changer d'offre."))
	if ack3.Type != typeAck || len(msgs) != 2 || msgs[1].Kind != escalation.KindTicketCreated || msgs[1].Ticket == first ||
		!strings.Contains(msgs[1].Text, "#"+msgs[1].Ticket) {
		t.Fatalf("form after the solved request: %+v %+v, want a new ticket", ack3, msgs)
	}
	tk, err := env.store.TicketOfConversation(ctx, w.conversationID(t, env))
	if err != nil || tk.Ref != msgs[1].Ticket || tk.Status != escalation.StatusOpen {
		t.Errorf("the conversation's ticket: %+v (%v), want the new one", tk, err)
	}
	// The first socket saw it all, in order.
	seen := map[string]bool{}
	for f := c.nextRaw(); ; f = c.nextRaw() {
		seen[f.Kind] = true
		if f.Seq == ack3.Seq {
			break
		}
	}
	if !seen[escalation.KindTicketFollowUp] || !seen[escalation.KindTicketCreated] {
		t.Errorf("the other tab saw %v, want the follow-up and the new ticket", seen)
	}
}
