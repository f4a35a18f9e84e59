package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/bulle-help/bulle/escalation"
	"github.com/coder/websocket"
)

// stageFile posts a file to /widget/uploads as the bubble does, from the
// shop's page, and returns the status and the JSON answer.
func stageFile(t *testing.T, m *Main, token, name string, data []byte) (int, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, m.URL()+"/widget/uploads", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", "https://shop.example")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Errorf("upload answered without CORS for the shop: %v", res.Header)
	}
	var out map[string]any
	decodeJSON(t, raw, &out)
	return res.StatusCode, out
}

// TestBubbleFilesReachTheTicketTheMailAndTheAgentEndToEnd runs the whole
// server with an SMTP server in the process: a visitor stages two files
// with the token of a real bubble socket, sends the ticket form naming
// them; the confirmation mail lists them, and an agent downloads them
// from the console. Another visitor can neither use nor see them. The
// visitor comes back: a second form joins the open request; once it is
// solved, a third opens a new ticket, which the console shows beside the
// first.
func TestBubbleFilesReachTheTicketTheMailAndTheAgentEndToEnd(t *testing.T) {
	rec, addr := startRecorder(t)
	host, port, _ := net.SplitHostPort(addr)
	m := runMailMain(t, func(m *Main) {
		m.Config.SMTP.Host = host
		m.Config.SMTP.Port, _ = strconv.Atoi(port)
		m.Config.SMTP.TLS = escalation.TLSNone
		m.Config.SMTP.From = "Bulle <no-reply@help.example.com>"
		m.Config.SMTP.ReplyDomain = "reply.example.com"
		m.Config.Widget.AllowedOrigins = []string{"https://shop.example"}
	})
	box := mailbox{t, rec}
	ctx := context.Background()

	c, _, err := dialBubble(t, m, "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	welcome := exchange(t, c, `{"type":"hello","lang":"fr"}`, 1)[0]
	token := welcome["token"].(string)
	if u, _ := welcome["uploads"].(map[string]any); u["max_files"] != float64(10) || u["max_bytes"] != float64(10<<20) {
		t.Fatalf("welcome: uploads %v, want the server's limits", welcome["uploads"])
	}
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0}, 40)...)
	pdf := []byte("%PDF-1.7\n1 0 obj << >> endobj\n")
	status, shot := stageFile(t, m, token, "capture d'écran.png", png)
	if status != http.StatusCreated || shot["content_type"] != "image/png" || shot["name"] != "capture d'écran.png" {
		t.Fatalf("staging the screenshot: %d %v", status, shot)
	}
	status, invoice := stageFile(t, m, token, "facture.pdf", pdf)
	if status != http.StatusCreated {
		t.Fatalf("staging the invoice: %d %v", status, invoice)
	}
	if status, refused := stageFile(t, m, token, "setup.exe", []byte("MZ\x90\x00\x03\x00\x00\x00")); status != http.StatusUnsupportedMediaType ||
		!strings.Contains(refused["message"].(string), "setup.exe") {
		t.Errorf("a program: %d %v, want 415 naming the file", status, refused)
	}

	// Another visitor cannot put Ana's file in their own ticket.
	eve, _, err := dialBubble(t, m, "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	defer eve.CloseNow()
	eveToken := exchange(t, eve, `{"type":"hello","lang":"en"}`, 1)[0]["token"].(string)
	stolen := exchange(t, eve, `{"type":"ticket","client_id":"e1","topic":"other","email":"eve@example.org","text":"mine","uploads":["`+
		shot["id"].(string)+`"]}`, 1)[0]
	if stolen["code"] != "bad_ticket" || stolen["field"] != "uploads" {
		t.Fatalf("Eve naming Ana's upload: %v, want bad_ticket on uploads", stolen)
	}

	frame, _ := json.Marshal(map[string]any{"type": "ticket", "client_id": "t1", "topic": "billing", "email": "ana@example.org",
		"name": "Ana", "text": "Ma facture est fausse, voici la capture.", "uploads": []any{shot["id"], invoice["id"]}})
	if err := c.Write(ctx, websocket.MessageText, frame); err != nil {
		t.Fatal(err)
	}
	frames := readUntil(t, c, func(f map[string]any) bool { return f["kind"] == escalation.KindTicketCreated })
	var files []any
	for _, f := range frames {
		if f["kind"] == escalation.KindTicket {
			files, _ = f["attachments"].([]any)
		}
	}
	if len(files) != 2 {
		t.Fatalf("the ticket's message lists %v, want both files", files)
	}
	ref := frames[len(frames)-1]["ticket"].(string)
	fileURL := files[0].(map[string]any)["url"].(string)
	fileID := strings.TrimPrefix(fileURL, "/widget/attachments/")

	// The confirmation names the files.
	confirm, text := box.next("the confirmation")
	subject, _ := new(mime.WordDecoder).DecodeHeader(confirm.Header.Get("Subject"))
	if !strings.Contains(subject, "#"+ref) || !strings.Contains(text, "Fichier joint : capture d'écran.png") ||
		!strings.Contains(text, "Fichier joint : facture.pdf") {
		t.Errorf("confirmation %q does not list the files:\n%s", subject, text)
	}

	// Eve's token does not reach the file; Ana's does.
	for tok, want := range map[string]int{token: 200, eveToken: 404} {
		req, _ := http.NewRequest(http.MethodGet, m.URL()+fileURL, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("download with a token: %d, want %d", res.StatusCode, want)
		}
	}

	// The agent sees the files on the ticket and downloads them.
	inv, err := m.store.InviteAgent(ctx, "lea@help.example.com", "Léa", escalation.AgentRoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	const password = "une phrase de passe assez longue"
	if _, err := m.store.SetAgentPassword(ctx, inv.SetupToken, password); err != nil {
		t.Fatal(err)
	}
	origin := "http://" + m.Addr()
	b := newConsoleBrowser(t, origin)
	_, _, page := b.do("GET", origin+"/console/login", nil, nil)
	if status, _, _ := b.do("POST", origin+"/console/login", url.Values{"csrf": {csrfFrom(t, page)},
		"email": {inv.Agent.Email}, "password": {password}}, nil); status != http.StatusSeeOther {
		t.Fatalf("sign in: %d", status)
	}
	ticketURL := origin + "/console/tickets/" + ref
	_, _, body := b.do("GET", ticketURL+"?lang=fr", nil, nil)
	if !strings.Contains(body, "/console/attachments/"+fileID) || !strings.Contains(body, "facture.pdf") {
		t.Errorf("the console's ticket page does not list the files:\n%s", body)
	}
	status, h, got := b.do("GET", origin+"/console/attachments/"+fileID, nil, nil)
	if status != 200 || got != string(png) || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") ||
		h.Get("Content-Type") != "image/png" {
		t.Errorf("agent download: %d %v, %d bytes; want the screenshot as an attachment", status, h, len(got))
	}

	// The visitor comes back with the same token: a new form joins the
	// open request, and no second confirmation is mailed.
	c2, _, err := dialBubble(t, m, "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.CloseNow()
	exchange(t, c2, `{"type":"hello","lang":"fr","token":"`+token+`","last_seq":`+
		strconv.FormatFloat(frames[len(frames)-1]["seq"].(float64), 'f', 0, 64)+`}`, 1)
	follow := exchange(t, c2, `{"type":"ticket","client_id":"t2","topic":"billing","email":"ana@example.org","text":"Elle date de mars."}`, 3)
	if follow[2]["kind"] != escalation.KindTicketFollowUp || follow[2]["ticket"] != ref ||
		!strings.Contains(follow[2]["text"].(string), "#"+ref) {
		t.Fatalf("second form while open: %v, want it added to #%s", follow, ref)
	}
	_, _, home := b.do("GET", origin+"/console/", nil, nil)
	csrf := csrfFrom(t, home)
	if status, _, _ := b.do("POST", ticketURL+"/status?lang=fr", url.Values{"csrf": {csrf}, "status": {"solved"}}, nil); status != http.StatusSeeOther {
		t.Fatalf("solve: %d", status)
	}
	opened := exchange(t, c2, `{"type":"ticket","client_id":"t3","topic":"other","email":"ana@example.org","text":"Autre question : puis-je changer d'offre ?"}`, 3)
	second, _ := opened[2]["ticket"].(string)
	if opened[2]["kind"] != escalation.KindTicketCreated || second == "" || second == ref {
		t.Fatalf("form after the solved request: %v, want a new ticket", opened)
	}
	_, text = box.next("the second confirmation")
	if !strings.Contains(text, "#"+second) || strings.Contains(text, "Ma facture est fausse") {
		t.Errorf("second confirmation: want its own reference and not the first request again:\n%s", text)
	}
	_, _, body = b.do("GET", origin+"/console/tickets/"+second+"?lang=fr", nil, nil)
	if !strings.Contains(body, "Autres demandes de la conversation") || !strings.Contains(body, `href="/console/tickets/`+ref+`?lang=fr"`) {
		t.Errorf("the new ticket's page does not point to the first one:\n%s", body)
	}
}
