package escalation

import (
	"reflect"
	"testing"
	"time"
)

func TestGroupQuestions(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	// at gives the i-th question a later time than the one before.
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	tests := []struct {
		name string
		lang string
		qs   []string // asked in this order, one minute apart
		want [][]string
	}{
		{
			name: "the same French question with and without accents is one group",
			lang: "fr",
			qs:   []string{"Comment réinitialiser mon mot de passe ?", "comment reinitialiser mon mot de passe", "Où est ma facture ?"},
			want: [][]string{{"comment reinitialiser mon mot de passe", "Comment réinitialiser mon mot de passe ?"}, {"Où est ma facture ?"}},
		},
		{
			name: "a typo that keeps most words joins its group",
			lang: "fr",
			qs:   []string{"réinitialiser le mot de passe", "reinitialisation du mot de pase", "changer mon adresse e-mail"},
			want: [][]string{{"reinitialisation du mot de pase", "réinitialiser le mot de passe"}, {"changer mon adresse e-mail"}},
		},
		{
			name: "English word order, stop words and plurals aside",
			lang: "en",
			qs:   []string{"How do I reset my password?", "password reset", "reset passwords please", "Where is my invoice?"},
			want: [][]string{{"reset passwords please", "password reset", "How do I reset my password?"}, {"Where is my invoice?"}},
		},
		{
			name: "questions sharing one word of several stay apart",
			lang: "en",
			qs:   []string{"cancel my subscription renewal", "change my subscription plan", "cancel an order"},
			want: [][]string{{"cancel an order"}, {"change my subscription plan"}, {"cancel my subscription renewal"}},
		},
		{
			name: "the largest group comes first, and examples are three distinct wordings, latest first",
			lang: "en",
			qs: []string{"Where is my invoice?", "refund", "Refund ", "refund!", "refunds", "my refund", "refund please",
				"where is my invoice"},
			want: [][]string{{"refund please", "my refund", "refunds"}, {"where is my invoice", "Where is my invoice?"}},
		},
		{
			name: "greetings only are grouped by what they say, not with everything",
			lang: "fr",
			qs:   []string{"bonjour", "Bonjour !", "merci"},
			want: [][]string{{"Bonjour !", "bonjour"}, {"merci"}},
		},
		{
			name: "a language without its own stop words uses both lists",
			lang: "de",
			qs:   []string{"the invoice", "la facture", "invoice"},
			want: [][]string{{"invoice", "the invoice"}, {"la facture"}},
		},
		{name: "no questions, no groups", lang: "fr", qs: nil, want: [][]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var qs []Question
			for i, q := range tt.qs {
				qs = append(qs, Question{Text: q, At: at(i), ConversationID: int64(i + 1)})
			}
			groups := GroupQuestions(qs, tt.lang)
			got := [][]string{}
			for _, g := range groups {
				var ex []string
				for _, q := range g.Examples {
					ex = append(ex, q.Text)
				}
				got = append(got, ex)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			total := 0
			for _, g := range groups {
				total += g.Count
			}
			if total != len(tt.qs) {
				t.Errorf("the groups count %d questions, want %d", total, len(tt.qs))
			}
		})
	}
}

func TestGroupQuestionsCountsEveryAskingAndDatesTheGroupByItsLatest(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	qs := []Question{
		{Text: "reset password", At: t0.Add(3 * time.Hour)},
		{Text: "reset password", At: t0.Add(time.Hour)},
		{Text: "Reset my password", At: t0.Add(2 * time.Hour)},
		{Text: "invoice copy", At: t0.Add(5 * time.Hour)},
	}
	groups := GroupQuestions(qs, "en")
	if len(groups) != 2 || groups[0].Count != 3 || groups[1].Count != 1 {
		t.Fatalf("got %+v, want a group of 3 then one of 1", groups)
	}
	if !groups[0].Latest.Equal(t0.Add(3*time.Hour)) || !groups[1].Latest.Equal(t0.Add(5*time.Hour)) {
		t.Errorf("latest: got %v and %v", groups[0].Latest, groups[1].Latest)
	}
	if len(groups[0].Examples) != 2 || groups[0].Examples[0].Text != "reset password" || groups[0].Examples[1].Text != "Reset my password" {
		t.Errorf("examples: got %+v, want the two distinct wordings, latest first", groups[0].Examples)
	}
}

func TestQuestionWordsFoldStemAndDropStopWords(t *testing.T) {
	tests := []struct {
		text, lang string
		want       []string
	}{
		{"Comment RÉINITIALISER mon mot de passe ?", "fr", []string{"mot", "pas", "reinitialis"}},
		{"réinitialisation", "fr", []string{"reinitialis"}},
		{"L'adresse e-mail d'accès", "fr", []string{"acc", "adres", "mail"}},
		{"Resetting my passwords", "en", []string{"password", "reset"}},
		{"Œuvre cœur", "fr", []string{"coeur", "oeuvr"}},
		{"error 404", "en", []string{"404", "error"}},
		{"   ", "en", []string{}},
	}
	for _, tt := range tests {
		got := questionWords(tt.text, tt.lang)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("questionWords(%q, %s) = %q, want %q", tt.text, tt.lang, got, tt.want)
		}
	}
}
