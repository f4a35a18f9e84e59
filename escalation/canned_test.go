package escalation

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestCannedResponsesAreWrittenListedByLanguageAndDeleted(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	admin := addTestAgent(t, s, "Léa")
	reset, err := s.CreateCannedResponse(ctx, admin.ID, CannedInput{Title: " Mot de passe oublié ", Lang: "fr",
		Body: "Cliquez sur « Mot de passe oublié » sur la page de connexion."})
	if err != nil {
		t.Fatal(err)
	}
	if reset.Title != "Mot de passe oublié" || reset.UpdatedBy != "Léa" || reset.CreatedAt.IsZero() {
		t.Errorf("created: got %+v", reset)
	}
	for _, in := range []CannedInput{
		{Title: "Password reset", Lang: "en", Body: "Click “Forgot password” on the sign-in page."},
		{Title: "Facture", Lang: "fr", Body: "Vos factures sont dans Facturation."},
	} {
		if _, err := s.CreateCannedResponse(ctx, admin.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	titles := func(lang string) string {
		t.Helper()
		list, err := s.CannedResponses(ctx, lang)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range list {
			out = append(out, c.Lang+":"+c.Title)
		}
		return strings.Join(out, ", ")
	}
	if got, want := titles("fr"), "fr:Facture, fr:Mot de passe oublié"; got != want {
		t.Errorf("French list: got %q, want %q", got, want)
	}
	if got, want := titles(""), "en:Password reset, fr:Facture, fr:Mot de passe oublié"; got != want {
		t.Errorf("whole list: got %q, want %q", got, want)
	}

	if _, err := s.CreateCannedResponse(ctx, admin.ID, CannedInput{Title: "Facture", Lang: "fr", Body: "autre"}); ErrorCode(err) != ECONFLICT {
		t.Errorf("a second French \"Facture\": got %v, want a conflict", err)
	}
	if _, err := s.CreateCannedResponse(ctx, admin.ID, CannedInput{Title: "Facture", Lang: "en", Body: "Invoices are under Billing."}); err != nil {
		t.Errorf("the same title in English: got %v, want it stored", err)
	}
	up, err := s.UpdateCannedResponse(ctx, admin.ID, reset.ID, CannedInput{Title: "Mot de passe", Lang: "fr", Body: "Nouveau texte"})
	if err != nil || up.Title != "Mot de passe" || up.Body != "Nouveau texte" {
		t.Errorf("update: got %+v, %v", up, err)
	}
	if err := s.DeleteCannedResponse(ctx, reset.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CannedResponse(ctx, reset.ID); ErrorCode(err) != ENOTFOUND {
		t.Errorf("deleted response: got %v, want not found", err)
	}
	if err := s.DeleteCannedResponse(ctx, reset.ID); ErrorCode(err) != ENOTFOUND {
		t.Errorf("deleting twice: got %v, want not found", err)
	}
	if _, err := s.UpdateCannedResponse(ctx, admin.ID, reset.ID, CannedInput{Title: "x", Lang: "fr", Body: "y"}); ErrorCode(err) != ENOTFOUND {
		t.Errorf("updating a deleted response: got %v, want not found", err)
	}
}

func TestCannedResponseInputIsChecked(t *testing.T) {
	s := openTest(t)
	admin := addTestAgent(t, s, "Léa")
	tests := []struct {
		name  string
		in    CannedInput
		field string
	}{
		{"no title", CannedInput{Title: " ", Lang: "fr", Body: "texte"}, "title"},
		{"a title on two lines", CannedInput{Title: "a\nb", Lang: "fr", Body: "texte"}, "title"},
		{"a title too long", CannedInput{Title: strings.Repeat("t", maxCannedTitle+1), Lang: "fr", Body: "texte"}, "title"},
		{"a language other than fr or en", CannedInput{Title: "Titel", Lang: "de", Body: "Text"}, "lang"},
		{"no body", CannedInput{Title: "Titre", Lang: "fr", Body: "\n"}, "body"},
		{"a body too long", CannedInput{Title: "Titre", Lang: "fr", Body: strings.Repeat("x", maxTicketMessage+1)}, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateCannedResponse(context.Background(), admin.ID, tt.in)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Errorf("got %v, want a validation error on %s", err, tt.field)
			}
		})
	}
}
