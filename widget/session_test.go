package widget

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
)

// fakeAssistant answers with Decide, or fails while Fail is set.
type fakeAssistant struct {
	Fail  bool
	calls int
}

var _ Assistant = (*fakeAssistant)(nil)

func (f *fakeAssistant) Reply(_ context.Context, t bot.Turn) (bot.Decision, error) {
	f.calls++
	if f.Fail {
		return bot.Decision{}, errors.New("index unavailable")
	}
	return bot.Decision{Kind: bot.KindAnswer, Lang: t.Lang, Text: "Voici :", Quote: "q",
		Article: &bot.ArticleRef{ID: "contact/hours", Lang: t.Lang, Title: "Horaires", URL: "/fr/contact/hours"}}, nil
}

func (f *fakeAssistant) Unhelpful(_ context.Context, lang string, streak int) (bot.Decision, bool) {
	return bot.Decision{Kind: bot.KindHandoff, Lang: lang, Text: "Désolé."}, streak >= 2
}

// failingStore refuses to append, as a full disk would.
type failingStore struct{ Conversations }

func (failingStore) AppendMessage(context.Context, escalation.NewMessage) (escalation.Message, bool, error) {
	return escalation.Message{}, false, errors.New("disk full")
}

// recorder is a Sender that keeps the frames, decoded.
type recorder struct{ frames []frame }

func (r *recorder) send(_ context.Context, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		return err
	}
	r.frames = append(r.frames, f)
	return nil
}

func (r *recorder) types() []string {
	var out []string
	for _, f := range r.frames {
		if f.Type == typeError {
			out = append(out, "error:"+f.Code)
		} else {
			out = append(out, f.Type)
		}
	}
	r.frames = nil
	return out
}

func handle(t *testing.T, s *Session, v any) {
	t.Helper()
	data, _ := json.Marshal(v)
	if err := s.Handle(context.Background(), Input{Data: data}); err != nil {
		t.Fatal(err)
	}
}

func TestSessionWithoutSocket(t *testing.T) {
	a := &fakeAssistant{}
	var latencies []time.Duration
	w, err := New(openStore(t), a, Options{AnswerLatency: func(d time.Duration) { latencies = append(latencies, d) }})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	s := w.NewSession("", rec.send)
	defer s.Close()

	steps := []struct {
		name  string
		frame map[string]any
		want  []string
	}{
		{"hello", map[string]any{"type": "hello", "lang": "fr"}, []string{"welcome"}},
		{"question", map[string]any{"type": "message", "client_id": "a", "text": "horaires ?"}, []string{"ack", "message", "message"}},
		{"vote", map[string]any{"type": "vote", "seq": 2, "helpful": false}, []string{"voted"}},
		{"second question", map[string]any{"type": "message", "client_id": "b", "text": "et le samedi ?"}, []string{"ack", "message", "message"}},
		{"second unhelpful vote hands off", map[string]any{"type": "vote", "seq": 4, "helpful": false}, []string{"voted", "message"}},
		{"person", map[string]any{"type": "person", "channel": "chat"}, []string{"message"}},
	}
	for _, st := range steps {
		handle(t, s, st.frame)
		if got := rec.types(); !slices.Equal(got, st.want) {
			t.Errorf("%s: got frames %v, want %v", st.name, got, st.want)
		}
	}
	if len(latencies) != 2 {
		t.Errorf("answer latency: got %d reports, want 2", len(latencies))
	}
}

func TestAssistantFailureIsRetriedByResending(t *testing.T) {
	a := &fakeAssistant{Fail: true}
	store := openStore(t)
	w, err := New(store, a, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	s := w.NewSession("", rec.send)
	handle(t, s, map[string]any{"type": "hello", "lang": "fr"})
	rec.types()
	q := map[string]any{"type": "message", "client_id": "a", "text": "horaires ?"}
	handle(t, s, q)
	frames := rec.frames
	if got := rec.types(); !slices.Equal(got, []string{"ack", "message", "error:unavailable"}) {
		t.Fatalf("failing assistant: got %v, want ack, the echo, then unavailable", got)
	}
	if frames[2].ClientID != "a" {
		t.Errorf("unavailable: got client_id %q, want a", frames[2].ClientID)
	}
	// The question is stored; resending it asks the assistant again.
	a.Fail = false
	handle(t, s, q)
	frames = rec.frames
	if got := rec.types(); !slices.Equal(got, []string{"ack", "message"}) || frames[0].Seq != 1 || frames[1].ReplyTo != 1 {
		t.Errorf("resend: got %+v, want the ack of seq 1 and the reply to it", frames)
	}
	// Once answered, a resend is only acknowledged.
	handle(t, s, q)
	if got := rec.types(); !slices.Equal(got, []string{"ack"}) || a.calls != 2 {
		t.Errorf("resend after the answer: got %v and %d assistant calls, want only an ack and 2 calls", got, a.calls)
	}
}

func TestNoAckWhenTheMessageIsNotStored(t *testing.T) {
	w, err := New(failingStore{openStore(t)}, &fakeAssistant{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	s := w.NewSession("", rec.send)
	handle(t, s, map[string]any{"type": "hello", "lang": "en"})
	rec.types()
	handle(t, s, map[string]any{"type": "message", "client_id": "a", "text": "hello?"})
	frames := rec.frames
	if got := rec.types(); !slices.Equal(got, []string{"error:internal"}) || frames[0].ClientID != "a" || frames[0].Message != "Internal error." {
		t.Errorf("got %+v, want only an internal error about client a", frames)
	}
}

func TestPersonTextPromisesNoLiveAgent(t *testing.T) {
	for _, lang := range []string{"fr", "en"} {
		for _, ch := range []string{"chat", "email"} {
			txt := personText(lang, ch)
			if txt == "" {
				t.Errorf("%s/%s: got no text", lang, ch)
			}
			for _, lie := range []string{"connecté avec", "connected with", "is typing", "est en ligne"} {
				if strings.Contains(txt, lie) {
					t.Errorf("%s/%s: got %q, which claims a live agent", lang, ch, txt)
				}
			}
		}
	}
}
