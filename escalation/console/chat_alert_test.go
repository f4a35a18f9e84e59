package console

import (
	"net/http"
	"strings"
	"testing"
)

func TestEveryPageWithTheSocketCarriesTheNewChatAlert(t *testing.T) {
	f := newDeskFixture(t, Options{DefaultLang: "en"}, false)
	tk := f.chatWithFiles("Facture")
	pages := []struct {
		name, path, lang string
	}{
		{"home", "/console/?lang=en", "en"},
		{"home, in French", "/console/?lang=fr", "fr"},
		{"the chats", "/console/chats?lang=en", "en"},
		{"a chat", "/console/chats/" + itoa(tk.ConversationID) + "?lang=fr", "fr"},
		{"the requests", "/console/tickets?lang=en", "en"},
		{"a request", "/console/tickets/" + tk.Ref + "?lang=en", "en"},
		{"search", "/console/search?lang=fr", "fr"},
		{"canned responses", "/console/canned?lang=en", "en"},
	}
	want := map[string][]string{
		"en": {`data-t-new="New chat waiting"`, `data-t-dismiss="Dismiss"`, `>Turn on notifications</button>`},
		"fr": {`data-t-new="Nouvelle discussion en attente"`, `data-t-dismiss="Masquer"`, `>Activer les notifications</button>`},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			res := f.b.get(p.path)
			if res.status != http.StatusOK {
				t.Fatalf("got %d, want 200: %s", res.status, res.body)
			}
			for _, w := range append([]string{
				`<div id="chat-alerts" class="chat-alerts" role="status" aria-live="polite"`,
				`<script src="/console/static/alert.js?v=`,
				// Hidden until the script knows the browser can ask: never a prompt on load.
				`<button type="button" id="notify-enable" class="quiet small" hidden>`,
			}, want[p.lang]...) {
				if !strings.Contains(res.body, w) {
					t.Errorf("want %s in %s", w, res.body)
				}
			}
			if n := strings.Count(res.body, `id="chat-alerts"`); n != 1 {
				t.Errorf("alert regions: got %d, want 1", n)
			}
			for _, inline := range []string{"<script>", " style=", " onclick=", "javascript:"} {
				if strings.Contains(res.body, inline) {
					t.Errorf("inline code %q in %s", inline, res.body)
				}
			}
		})
	}
	t.Run("the sign-in page, which has no socket", func(t *testing.T) {
		res := f.browser().get("/console/login?lang=en")
		if strings.Contains(res.body, "alert.js") || strings.Contains(res.body, "chat-alerts") {
			t.Errorf("sign-in page: got the alert, want none: %s", res.body)
		}
	})
	t.Run("the script", func(t *testing.T) {
		res := f.b.get("/console/static/alert.js")
		if res.status != http.StatusOK || res.header.Get("Content-Type") != "text/javascript; charset=utf-8" ||
			!strings.Contains(res.body, "bulle:frame") {
			t.Errorf("got %d %q, want the script", res.status, res.header.Get("Content-Type"))
		}
	})
}
