package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/cookiejar"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

// TestHostileLineBreaksNeverReachAMailHeader sends line breaks, and the
// Unicode line separators that are not, through every field of the
// server that ends up in a mail's header: the bubble's ticket (name,
// address, topic, page) and transcript address, the contact form, the
// "My requests" form, an agent's name. Each CR or LF is refused where it
// is typed; what is accepted renders with RenderMail's headers alone.
func TestHostileLineBreaksNeverReachAMailHeader(t *testing.T) {
	m := runChatMain(t)
	ctx := context.Background()
	const bcc = "Bcc: x@evil.test"
	var lsConversation int64
	for _, tt := range []struct {
		name   string
		frame  map[string]any
		field  string // "" when it is accepted
		wantTo string
	}{
		{"CR LF in the name", map[string]any{"name": "Ana\r\n" + bcc}, "name", ""},
		{"LF in the name", map[string]any{"name": "Ana\n" + bcc}, "name", ""},
		{"CR in the name", map[string]any{"name": "Ana\r" + bcc}, "name", ""},
		{"CR LF in the address", map[string]any{"email": "ana@example.org\r\n" + bcc}, "email", ""},
		{"an address list", map[string]any{"email": "ana@example.org, x@evil.test"}, "email", ""},
		{"a named address", map[string]any{"email": "Ana <ana@example.org>"}, "email", ""},
		{"CR LF in the topic", map[string]any{"topic": "billing\r\n" + bcc}, "topic", ""},
		{"CR LF in the page", map[string]any{"page_url": "https://shop.example/\r\n" + bcc}, "page_url", ""},
		{"a line separator in the name", map[string]any{"name": "Ana\u2028" + bcc}, "", "ls@example.org"},
		{"a next-line in the name", map[string]any{"name": "Ana\u0085" + bcc}, "", "nel@example.org"},
		{"a paragraph separator in the name", map[string]any{"name": "Ana\u2029" + bcc}, "", "ps@example.org"},
		{"quotes and brackets in the name", map[string]any{"name": `Ana" <x@evil.test>, "Bo`}, "", "quotes@example.org"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, w := bubble(t, m, map[string]any{"lang": "fr"})
			f := map[string]any{"type": "ticket", "client_id": "t1", "topic": "billing", "email": tt.wantTo, "text": "Facture"}
			for k, val := range tt.frame {
				f[k] = val
			}
			v.send(f)
			got := v.next()
			if tt.field != "" {
				if got.Type != "error" || got.Code != "bad_ticket" {
					t.Errorf("got %+v, want bad_ticket on %s", got, tt.field)
				}
				return
			}
			if got.Type != "ack" {
				t.Errorf("got %+v, want the ticket opened", got)
			}
			if tt.wantTo == "ls@example.org" {
				lsConversation = w.Conversation.ID
			}
		})
	}
	// The transcript's address.
	v, _ := bubble(t, m, map[string]any{"lang": "fr"})
	for _, bad := range []string{"ana@example.org\r\n" + bcc, "ana@example.org\n" + bcc, "ana@example.org, x@evil.test"} {
		v.send(map[string]any{"type": "transcript", "client_id": "tr" + strconv.Itoa(len(bad)), "email": bad})
		if f := v.next(); f.Type != "error" || f.Code != "bad_transcript" {
			t.Errorf("transcript to %q: got %+v, want bad_transcript", bad, f)
		}
	}
	// The contact form.
	c := newContactClient(t, m)
	for _, name := range []string{"Ana\r\n" + bcc, "Ana\n" + bcc} {
		if status, page := c.post(map[string]string{"topic": "bug", "email": "form@example.org", "name": name, "message": "x"}, nil, nil); status != http.StatusUnprocessableEntity {
			t.Errorf("contact form, name %q: %d, want 422: %.300s", name, status, page)
		}
	}
	// "My requests": the address of a sign-in link.
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	for _, bad := range []string{"ls@example.org\r\n" + bcc, "ls@example.org\n" + bcc} {
		res, err := hc.Get(m.URL() + "/requests?lang=fr")
		if err != nil {
			t.Fatal(err)
		}
		form, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res, err = hc.PostForm(m.URL()+"/requests?lang=fr", url.Values{"csrf": {csrfFrom(t, string(form))}, "email": {bad}}); err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	// An agent's name: a line break is refused, a line separator is a
	// character of the name, and her reply's From shows it encoded.
	if _, err := m.store.InviteAgent(ctx, "x@team.example", "Léa\r\n"+bcc, escalation.AgentRoleAgent); err == nil {
		t.Error("an agent named with a line break: accepted, want refused")
	}
	lea := signInAgent(t, m, "lea@team.example", "Léa\u2028"+bcc)
	tk, err := m.store.TicketOfConversation(ctx, lsConversation)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, body := lea.b.do("POST", "http://"+m.Addr()+"/console/tickets/"+tk.Ref+"/reply", url.Values{"csrf": {lea.csrf}, "text": {"Réponse"}}, nil); status != http.StatusSeeOther {
		t.Fatalf("reply: %d %s", status, body)
	}

	mails, err := m.store.OutboxMails(ctx, 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, om := range mails {
		kinds[om.Kind]++
		to := ""
		for _, addr := range []string{"ls@example.org", "nel@example.org", "ps@example.org", "quotes@example.org"} {
			if strings.Contains(om.To, addr) {
				to = addr
			}
		}
		if to == "" {
			t.Errorf("mail %d (%s) to %q: want only the accepted tickets' addresses", om.ID, om.Kind, om.To)
		}
		inertMail(t, om, to)
	}
	if kinds["confirmation"] != 4 || kinds["agent_reply"] != 1 || kinds["magic_link"] != 0 {
		t.Errorf("mails %v: want the 4 tickets' confirmations, the reply and no sign-in link", kinds)
	}
}

// replyWithFiles has from answer the ticket of a conversation by email,
// through the inbound listener, with a text file named after each payload
// (at most 10: the desk keeps 10 files a message), a payload as its
// subject, and every payload in its text.
func replyWithFiles(t *testing.T, m *Main, conversationID int64, from string, payloads []string) {
	t.Helper()
	var replyTo string
	mails, err := m.store.OutboxMails(context.Background(), 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	for _, om := range mails {
		if om.ConversationID == conversationID && om.ReplyTo != "" {
			a, _ := mail.ParseAddress(om.ReplyTo)
			replyTo = a.Address
		}
	}
	if replyTo == "" {
		t.Fatalf("no reply address for conversation %d", conversationID)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	pw, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"}})
	qp := quotedprintable.NewWriter(pw)
	io.WriteString(qp, strings.Join(payloads, "\r\n")+"\r\n")
	qp.Close()
	for _, p := range payloads {
		aw, _ := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {"text/plain; charset=utf-8"},
			"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": p + ".txt"})},
			"Content-Transfer-Encoding": {"base64"},
		})
		io.WriteString(aw, "YSB0ZXh0IGZpbGUK\r\n")
	}
	mw.Close()
	msg := "From: " + from + "\r\nTo: " + replyTo + "\r\nSubject: " + mime.QEncoding.Encode("utf-8", payloads[0]) +
		"\r\nMessage-ID: <" + mw.Boundary() + "@mail.example.org>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=" + mw.Boundary() + "\r\n\r\n" + body.String()
	if err := smtp.SendMail(m.InboundAddr(), nil, from, []string{replyTo}, []byte(msg)); err != nil {
		t.Fatalf("a reply by email with hostile file names: %v", err)
	}
}

// TestEmailReplyReachesAnOpenBubbleAtOnce: a visitor's reply by email, and
// its files, reach a bubble open on the conversation at once, as an
// agent's answer does (the hostile tests found it waited for the next
// message to be read).
func TestEmailReplyReachesAnOpenBubbleAtOnce(t *testing.T) {
	m := runHostileMain(t, nil, func(m *Main) {
		m.Config.SMTP.InboundAddr = "127.0.0.1:0"
		m.Config.SMTP.ReplyDomain = "reply.example.com"
	})
	v, w := bubble(t, m, map[string]any{"lang": "fr"})
	v.send(map[string]any{"type": "ticket", "client_id": "t1", "topic": "bug", "email": "ana@example.org", "text": "Ça plante"})
	v.nextOf("ack", "")
	v.nextOf("message", "ticket")
	v.nextOf("message", "ticket_created")
	replyWithFiles(t, m, w.Conversation.ID, "ana@example.org", []string{"capture", "journal"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := v.conn.Read(ctx)
	if err != nil {
		t.Fatalf("the reply by email never reached the open bubble: %v", err)
	}
	var f struct {
		Kind        string `json:"kind"`
		Text        string `json:"text"`
		Attachments []struct {
			Name string `json:"name"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(data, &f); err != nil || f.Kind != escalation.KindEmail || len(f.Attachments) != 2 ||
		f.Attachments[0].Name != "capture.txt" {
		t.Errorf("got %s, want the reply with its two files", data)
	}
}
