package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bulle-help/bulle/kb"
)

// fixedChat reports the same chat status whenever asked.
type fixedChat ChatStatus

func (f fixedChat) ChatStatus(context.Context, time.Time) ChatStatus { return ChatStatus(f) }

func newTestBot(t *testing.T, chat ChatStatus) *Bot {
	t.Helper()
	base, err := kb.Open(context.Background(), kb.Options{Dir: "testdata/articles"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { base.Close() })
	return New(base, fixedChat(chat), DefaultConfig())
}

func TestReplyTakesOneDecisionPerTurn(t *testing.T) {
	b := newTestBot(t, ChatStatus{Open: true})
	tests := []struct {
		name     string
		turn     Turn
		kind     Kind
		lang     string
		article  string // answer: the article quoted
		contains string // in the reply text
	}{
		{"french question answered in french", Turn{"quels sont les horaires du chat ?", "fr"}, KindAnswer, "fr", "hours", "centre d'aide"},
		{"accents and stemming", Turn{"reinitialiser mon mot de passe", "fr"}, KindAnswer, "fr", "password", ""},
		{"english question answered", Turn{"how do I reset my password", "en"}, KindAnswer, "en", "password", ""},
		{"english message in a french widget is answered in english", Turn{"how can I reset my password", "fr"}, KindAnswer, "en", "password", ""},
		{"english-only article is labelled for a french visitor", Turn{"reverse proxy nginx websocket", "fr"}, KindAnswer, "fr", "proxy", "qu'en anglais"},
		{"two close candidates: clarify", Turn{"export tickets", "en"}, KindClarify, "en", "", "Do you mean “Export tickets as"},
		{"nothing relevant: offer a person", Turn{"quelle est la recette de la tarte tatin", "fr"}, KindOffer, "fr", "", "pas sûr"},
		{"explicit request for a person", Turn{"je veux parler à un conseiller", "fr"}, KindHandoff, "fr", "", "personne"},
		{"unsupported topic declined", Turn{"can you debug my code", "en"}, KindDecline, "en", "", "doesn't cover"},
		{"greeting in french", Turn{"Bonjour !", "fr"}, KindSmallTalk, "fr", "", "Bonjour"},
		{"thanks in english", Turn{"thanks a lot", "en"}, KindSmallTalk, "en", "", "welcome"},
		{"goodbye", Turn{"merci, au revoir", "fr"}, KindSmallTalk, "fr", "", "Au revoir"},
		{"greeting with a question is a question", Turn{"bonjour, comment réinitialiser mon mot de passe ?", "fr"}, KindAnswer, "fr", "password", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := b.Reply(context.Background(), tt.turn)
			if err != nil {
				t.Fatal(err)
			}
			if d.Kind != tt.kind || d.Lang != tt.lang {
				t.Fatalf("got %s in %s (confidence %.2f, %q), want %s in %s", d.Kind, d.Lang, d.Confidence, d.Text, tt.kind, tt.lang)
			}
			if d.Confidence < 0 || d.Confidence > 1 {
				t.Errorf("confidence %v outside [0,1]", d.Confidence)
			}
			if tt.article != "" && (d.Article == nil || d.Article.ID != tt.article) {
				t.Errorf("article %+v, want %s", d.Article, tt.article)
			}
			if !strings.Contains(d.Text, tt.contains) {
				t.Errorf("text %q does not contain %q", d.Text, tt.contains)
			}
			switch d.Kind {
			case KindAnswer:
				if d.Quote == "" || !strings.HasPrefix(d.Article.URL, "/"+d.Article.Lang+"/"+d.Article.ID) {
					t.Errorf("answer without quote or link: %+v", d)
				}
			case KindClarify:
				if len(d.Choices) != 2 || d.Choices[0].ID == d.Choices[1].ID {
					t.Errorf("clarify wants two different choices, got %+v", d.Choices)
				}
			case KindOffer, KindHandoff:
				if len(d.Channels) != 2 || d.Channels[0] != ChannelChat {
					t.Errorf("chat is open: want chat then email, got %v", d.Channels)
				}
			}
			if want := wantReason[d.Kind]; d.Reason != want {
				t.Errorf("reason %q, want %q", d.Reason, want)
			}
		})
	}
}

// wantReason is why a turn of each kind did not end with an answer.
var wantReason = map[Kind]Reason{KindOffer: ReasonLowConf, KindHandoff: ReasonExplicit, KindDecline: ReasonUnsupported}

func TestClosedChatOffersEmailAndSaysWhenChatReopens(t *testing.T) {
	reopen := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC) // a Monday
	b := newTestBot(t, ChatStatus{NextOpen: reopen})
	d, err := b.Reply(context.Background(), Turn{"je veux parler à quelqu'un", "fr"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != KindHandoff || len(d.Channels) != 1 || d.Channels[0] != ChannelEmail {
		t.Fatalf("got %s via %v, want a hand-off by email only", d.Kind, d.Channels)
	}
	if d.NextOpen == nil || !d.NextOpen.Equal(reopen) || !strings.Contains(d.Text, "lundi à 9h00") {
		t.Errorf("text %q / next open %v: want the reopening time", d.Text, d.NextOpen)
	}
}

func TestTwoUnhelpfulAnswersInARowHandOff(t *testing.T) {
	b := newTestBot(t, ChatStatus{Open: true})
	if _, ok := b.Unhelpful(context.Background(), "en", 1); ok {
		t.Error("one unhelpful answer handed off; want a second chance")
	}
	d, ok := b.Unhelpful(context.Background(), "en", 2)
	if !ok || d.Kind != KindHandoff || d.Reason != ReasonUnhelpful || !strings.Contains(d.Text, "didn't help") {
		t.Errorf("two unhelpful answers: got %v %+v, want a hand-off", ok, d)
	}
}

func TestReplyLanguage(t *testing.T) {
	tests := []struct{ text, widget, want string }{
		{"comment réinitialiser mon mot de passe", "fr", "fr"},
		{"how do I reset my password", "fr", "en"},
		{"je ne trouve pas la page de connexion", "en", "fr"},
		{"password", "fr", "fr"}, // one word: no evidence, keep the widget's
		{"le chat", "en", "en"},  // too little evidence
		{"hello", "de", "en"},    // unknown widget language
		{"mot de passe oublié", "en", "fr"},
		{"nginx websocket", "fr", "fr"}, // no function words: keep the widget's
	}
	for _, tt := range tests {
		if got := replyLang(tt.text, tt.widget); got != tt.want {
			t.Errorf("replyLang(%q, %s) = %s, want %s", tt.text, tt.widget, got, tt.want)
		}
	}
}
