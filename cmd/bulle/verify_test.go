package main

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

// TestVerificationEndToEnd follows both ways of proving an address
// through the running server: a site's signed identity (the ticket opens
// verified), and a code mailed through SMTP and typed back in the bubble.
// The agents' API says which.
func TestVerificationEndToEnd(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef-shop"
	rec, addr := startRecorder(t)
	host, port, _ := net.SplitHostPort(addr)
	m := runMailMain(t, func(m *Main) {
		m.Config.SMTP.Host = host
		m.Config.SMTP.Port, _ = strconv.Atoi(port)
		m.Config.SMTP.TLS = escalation.TLSNone
		m.Config.SMTP.From = "Bulle <no-reply@help.example.com>"
		m.Config.Widget.AllowedOrigins = []string{"https://shop.example"}
		m.Config.Widget.IdentitySecret = Secret(secret)
	})
	ctx := context.Background()
	_, agent, err := m.store.AddAgent(ctx, "lea@help.example.com", "Lea")
	if err != nil {
		t.Fatal(err)
	}
	ticketJSON := func(ref string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, m.URL()+"/api/agent/tickets/"+ref, nil)
		req.Header.Set("Authorization", "Bearer "+agent)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	now := time.Now()
	signed := escalation.SignIdentity([]byte(secret), escalation.Identity{Email: "ana@example.org", Name: "Ana",
		IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()})

	// The shop signs Ana in: her ticket opens verified.
	c, _, err := dialBubble(t, m, "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	w := exchange(t, c, `{"type":"hello","lang":"fr","identity":"`+signed+`"}`, 1)[0]
	if id, _ := w["identity"].(map[string]any); id["email"] != "ana@example.org" {
		t.Fatalf("welcome %v: want the signed identity accepted", w)
	}
	got := exchange(t, c, `{"type":"ticket","client_id":"t1","topic":"account","email":"ana@example.org","text":"Changer d'adresse."}`, 4)
	ref, _ := got[3]["ticket"].(string)
	if got[2]["kind"] != "verified" || ref == "" {
		t.Fatalf("got %v, want the verified note, then the ticket's", got)
	}
	if body := ticketJSON(ref); !strings.Contains(body, `"verified":true,"verified_by":"identity"`) {
		t.Errorf("agents' API: %s, want verified by identity", body)
	}

	// A tampered identity is refused; the visitor verifies by code.
	c2, _, err := dialBubble(t, m, "https://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.CloseNow()
	hello := exchange(t, c2, `{"type":"hello","lang":"fr","identity":"`+strings.Replace(signed, "e", "f", 1)+`"}`, 2)
	if hello[1]["code"] != "bad_identity" {
		t.Fatalf("tampered identity: %v, want the welcome then bad_identity", hello)
	}
	got = exchange(t, c2, `{"type":"ticket","client_id":"t1","topic":"billing","email":"bo@example.org","text":"Ma facture."}`, 3)
	ref2, _ := got[2]["ticket"].(string)
	if got[2]["verify"] != true {
		t.Fatalf("got %v, want verification offered", got)
	}
	got = exchange(t, c2, `{"type":"verify_start","client_id":"v1"}`, 2)
	if got[1]["kind"] != "verify_sent" {
		t.Fatalf("verify_start: %v", got)
	}
	var code string
	for code == "" {
		select {
		case <-rec.got:
		case <-time.After(10 * time.Second):
			t.Fatal("the code never reached the SMTP server")
		}
		rec.mu.Lock()
		raw := rec.msgs[len(rec.msgs)-1]
		rec.mu.Unlock()
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if !strings.Contains(subject, "code") {
			continue // a confirmation
		}
		if !strings.Contains(msg.Header.Get("To"), "bo@example.org") || msg.Header.Get("Reply-To") != "" {
			t.Errorf("code mail headers %v: want it to the ticket's address, with no reply address", msg.Header)
		}
		if found := regexp.MustCompile(`(?m)^    (\d{6})\r?$`).FindSubmatch(raw); found != nil {
			code = string(found[1])
		} else {
			t.Fatalf("no code in\n%s", raw)
		}
	}
	got = exchange(t, c2, `{"type":"verify_code","client_id":"c1","code":"`+code+`"}`, 2)
	if got[0]["type"] != "ack" || got[1]["kind"] != "verified" {
		t.Fatalf("verify_code: %v", got)
	}
	if body := ticketJSON(ref2); !strings.Contains(body, `"verified":true,"verified_by":"code"`) {
		t.Errorf("agents' API: %s, want verified by code", body)
	}
}
