package escalation

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestExportAndDeleteAddressTouchOnlyThatAddress(t *testing.T) {
	ctx := context.Background()
	d, s, _, _, dir := newPrivacyDesk(t)
	ana := newTicketWithFile(t, d, "Ana@Example.org", "anaword my invoice")
	if _, err := d.StartVerification(ctx, ana.ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := d.SendRequestsLink(ctx, "ana@example.org", "en", "https://help.example"); err != nil {
		t.Fatal(err)
	}
	bob := newTicketWithFile(t, d, "bob@example.org", "bobword my refund")

	x, err := s.ExportAddress(ctx, "ANA@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Tickets) != 1 || x.Tickets[0].Ref != ana.Ref || len(x.Conversations) != 1 ||
		x.Conversations[0].ID != ana.ConversationID || len(x.VerificationCodes) != 1 || len(x.RequestsSessions) != 1 {
		t.Fatalf("got %+v, want ana's ticket, conversation, code and link", x)
	}
	var att []ExportAttachment
	for _, m := range x.Conversations[0].Messages {
		att = append(att, m.Attachments...)
	}
	if len(att) != 1 || att[0].Name != "screen.png" || att[0].Size != int64(len(screenshotPNG)) {
		t.Errorf("got attachments %+v, want screen.png with its size", att)
	}
	if len(x.Mail) < 3 {
		t.Errorf("got %d mails, want the confirmation, the code and the link", len(x.Mail))
	}
	buf, _ := json.Marshal(x)
	if !strings.Contains(string(buf), "anaword") || strings.Contains(strings.ToLower(string(buf)), "bob") {
		t.Errorf("export: got %s, want ana's words and nothing of bob", buf)
	}

	// Erasing ana (the console's way: rows, then files) leaves bob whole.
	del, err := d.EraseAddress(ctx, "ana@EXAMPLE.org")
	if err != nil {
		t.Fatal(err)
	}
	if del.Conversations != 1 || del.Tickets != 1 || del.Attachments != 1 || del.Codes != 1 || del.Sessions != 1 {
		t.Errorf("got %+v, want ana's conversation, ticket, file, code and link", del)
	}
	x, err = s.ExportAddress(ctx, "ana@example.org")
	if err != nil || len(x.Tickets)+len(x.Conversations)+len(x.Mail)+len(x.VerificationCodes)+len(x.RequestsSessions) != 0 {
		t.Errorf("export after delete: got %+v, %v, want nothing", x, err)
	}
	if n := searchCount(t, s, "anaword"); n != 0 {
		t.Errorf("search for ana's words: got %d hits, want 0", n)
	}
	if n := searchCount(t, s, "bobword"); n != 1 {
		t.Errorf("search for bob's words: got %d hits, want 1", n)
	}
	if got := filesIn(t, dir); len(got) != 1 {
		t.Errorf("got files %v, want bob's only", got)
	}
	xb, err := s.ExportAddress(ctx, "bob@example.org")
	if err != nil || len(xb.Tickets) != 1 || xb.Tickets[0].Ref != bob.Ref || len(xb.Mail) == 0 {
		t.Errorf("bob after ana's deletion: got %+v, %v, want his ticket and mail", xb, err)
	}
}

func TestAddressMustBeOne(t *testing.T) {
	s := openTest(t)
	for _, e := range []string{"", "nobody", "a b@example.org"} {
		if _, err := s.ExportAddress(context.Background(), e); ErrorCode(err) != EINVALID {
			t.Errorf("export %q: got %v, want EINVALID", e, err)
		}
		if _, err := s.DeleteAddress(context.Background(), e); ErrorCode(err) != EINVALID {
			t.Errorf("delete %q: got %v, want EINVALID", e, err)
		}
	}
}
