package widget

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/bulle-help/bulle/bot"
)

// FuzzSessionFrame sends any bytes as a visitor's frame, after a hello, to
// a session on a real store and the real bot, as a hostile page could over
// the socket. The session never ends the connection for one frame, never
// answers with an internal error, answers a frame that is not JSON with
// bad_json, and every frame it sends is JSON with a type.
func FuzzSessionFrame(f *testing.F) {
	for _, seed := range []string{
		`{"type":"message","client_id":"a","text":"horaires ?"}`,
		`{"type":"message","client_id":"<script>","text":"\u0000\ud800"}`,
		`{"type":"vote","seq":2,"helpful":false}`,
		`{"type":"person","channel":"chat","topic":"billing/invoice","page_url":"javascript:alert(1)"}`,
		`{"type":"ticket","client_id":"t1","topic":"account","email":"a@b.c\r\nBcc: x@y.z","text":"x"}`,
		`{"type":"verify_code","client_id":"v","code":"12345678901234567890"}`,
		`{"type":"transcript","email":"a@b.c","client_id":"x"}`,
		`{"type":"hello","token":"x"}`,
		`{"type":"typing","on":true}`,
		`{"type":"rate","rating":9}`,
		`{"type":1}`, `[]`, `null`, `{"type":"message","text":` + "\"\xff\"}",
	} {
		f.Add([]byte(seed))
	}
	base := openBase(f, writeArticles(f, testArticles))
	w, err := New(openStore(f), bot.New(base, chatClosed{}, bot.DefaultConfig()), Options{Rate: 1e9, Burst: 1e9,
		Langs: []string{"en", "fr"}, DefaultLang: "en"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var sent [][]byte
		send := func(_ context.Context, v any) error {
			b, err := json.Marshal(v)
			sent = append(sent, b)
			return err
		}
		s := w.NewSession("https://shop.example", send)
		defer s.Close()
		ctx := context.Background()
		if err := s.Handle(ctx, Input{Data: []byte(`{"type":"hello","lang":"fr"}`)}); err != nil {
			t.Fatal(err)
		}
		sent = nil
		if err := s.Handle(ctx, Input{Data: data}); err != nil {
			t.Fatalf("the connection ends on one frame: %v", err)
		}
		var frames []frame
		for _, b := range sent {
			var fr frame
			if err := json.Unmarshal(b, &fr); err != nil || fr.Type == "" {
				t.Fatalf("sent %s: not a JSON frame with a type", b)
			}
			if fr.Code == CodeInternal {
				t.Fatalf("internal error for %q: %s", data, b)
			}
			frames = append(frames, fr)
		}
		var obj map[string]any
		if json.Unmarshal(data, &obj) != nil && (len(frames) != 1 || frames[0].Code != CodeBadJSON) {
			t.Fatalf("%q is no JSON object: got %+v, want one bad_json error", data, frames)
		}
	})
}
