package escalation

import (
	"context"
	"strings"
	"testing"
	"time"
)

// noteSecret is a note's text that must never leave the console.
const noteSecret = `NOTE-INTERNE-7731 <script>alert("note")</script> remboursement validé par Marc`

func TestInternalNotesNeverReachWhatTheVisitorSees(t *testing.T) {
	d, s := newTestDesk(t)
	ctx := context.Background()
	conv, token := newConversation(t, s)
	appendMsg(t, s, NewMessage{ConversationID: conv.ID, Role: RoleVisitor, ClientID: "q1", Kind: "text", Body: "ma facture est fausse"})
	created, err := d.CreateTicket(ctx, NewTicket{ConversationToken: token, Lang: "fr", Topic: "billing",
		Email: "ana@example.org", Name: "Ana", Message: "La facture de mars compte deux fois le même mois."})
	if err != nil {
		t.Fatal(err)
	}
	agent := addTestAgent(t, s, "Marc")
	note, err := s.AddAgentNote(ctx, agent.ID, conv.ID, noteSecret)
	if err != nil {
		t.Fatal(err)
	}
	if note.ID == 0 || note.AgentName != "Marc" || note.Body != noteSecret {
		t.Fatalf("note: got %+v", note)
	}
	if _, err := d.AgentReply(ctx, agent, created.Ref, "Nous avons corrigé la facture."); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SendTranscript(ctx, conv.ID, "ana@example.org", "fr", "tr1"); err != nil {
		t.Fatal(err)
	}

	leaks := func(where, text string) {
		t.Helper()
		if strings.Contains(text, "NOTE-INTERNE-7731") {
			t.Errorf("%s shows the internal note: %s", where, text)
		}
	}
	// The bubble's replay (widget/session.go flushLocked) reads MessagesAfter.
	msgs, err := s.MessagesAfter(ctx, conv.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		leaks("the bubble's message "+m.Kind, m.Body)
	}
	mails := queued(t, s, conv.ID)
	if len(mails) != 3 { // confirmation, agent reply, transcript
		t.Fatalf("got %d mails, want 3", len(mails))
	}
	for _, m := range mails {
		leaks("the "+m.Kind+" mail's text", m.Text)
		leaks("the "+m.Kind+" mail's HTML", m.HTML)
	}
	reqs, err := d.Requests(ctx, "ana@example.org", "fr")
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	for _, l := range reqs[0].Lines {
		leaks("My requests", l.Text)
	}

	thread, err := s.ConsoleThread(ctx, conv.ID, "fr")
	if err != nil {
		t.Fatal(err)
	}
	var notes int
	for _, e := range thread {
		if e.Note != nil {
			notes++
			if e.Text != noteSecret || e.Who != "Marc" || e.Seq != 0 {
				t.Errorf("the console's note entry: got %+v", e)
			}
		}
	}
	if notes != 1 {
		t.Errorf("the console shows %d notes, want 1", notes)
	}
}

func TestConsoleThreadPlacesNotesAmongMessagesByTime(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c := &clock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	s.Now = c.Now
	agent := addTestAgent(t, s, "Léa")
	conv, _ := newConversation(t, s)
	appendMsg(t, s, NewMessage{ConversationID: conv.ID, Role: RoleVisitor, ClientID: "a", Kind: "text", Body: "bonjour"})
	appendMsg(t, s, NewMessage{ConversationID: conv.ID, Role: RoleBot, ReplyTo: 1, Kind: "answer", Body: botAnswer})
	c.advance(time.Minute)
	if _, err := s.AddAgentNote(ctx, agent.ID, conv.ID, "première note"); err != nil {
		t.Fatal(err)
	}
	c.advance(time.Minute)
	appendMsg(t, s, NewMessage{ConversationID: conv.ID, Role: RoleVisitor, ClientID: "b", Kind: "text", Body: "toujours là ?"})
	if _, err := s.AddAgentNote(ctx, agent.ID, conv.ID, "seconde note"); err != nil {
		t.Fatal(err)
	}
	thread, err := s.ConsoleThread(ctx, conv.ID, "fr")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range thread {
		got = append(got, e.Text)
	}
	want := []string{"bonjour", "Voici ce que dit le centre d'aide :", "première note", "toujours là ?", "seconde note"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("thread: got %q, want %q", got, want)
	}
	if thread[1].Quote == "" || thread[1].ArticleTitle != "Horaires <du> chat" || thread[1].Kind != "answer" {
		t.Errorf("the bot's answer as text: got %+v", thread[1])
	}
}

func TestAddAgentNoteRefuses(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	agent := addTestAgent(t, s, "Léa")
	gone := addTestAgent(t, s, "Paul")
	if _, err := s.RemoveAgent(ctx, gone.Email); err != nil {
		t.Fatal(err)
	}
	conv, _ := newConversation(t, s)
	tests := []struct {
		name    string
		agentID int64
		convID  int64
		body    string
		want    string
	}{
		{"an empty note", agent.ID, conv.ID, "  \n ", EINVALID},
		{"a note longer than a ticket message", agent.ID, conv.ID, strings.Repeat("é", maxNoteRunes+1), EINVALID},
		{"an unknown conversation", agent.ID, conv.ID + 100, "note", ENOTFOUND},
		{"a removed agent", gone.ID, conv.ID, "note", ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.AddAgentNote(ctx, tt.agentID, tt.convID, tt.body)
			if got := ErrorCode(err); got != tt.want {
				t.Errorf("got %q (%v), want %q", got, err, tt.want)
			}
		})
	}
	if notes, err := s.AgentNotes(ctx, conv.ID); err != nil || len(notes) != 0 {
		t.Errorf("got %d notes (%v), want none stored", len(notes), err)
	}
}
