package widget

import (
	"context"
	"errors"
	"net/http"

	"github.com/bulle-help/bulle/escalation"
)

// Ownership verification on the contact page, without JavaScript: a ticket
// opened there on an account topic sends a code at once, and the page that
// confirms the ticket asks for it (POST /contact/verify). The ticket's
// conversation token travels in an HttpOnly cookie, never in the page.

// contactConvCookie holds the token of the conversation the contact form
// opened, for /contact/verify.
const contactConvCookie = "bulle_contact_conversation"

// contactConvMaxAge is how long, in seconds, the contact page remembers
// the ticket it opened: enough to find the code mail, or come back for a
// new code.
const contactConvMaxAge = 24 * 3600

// contactVerifyWords are the verification lines of the contact page.
var contactVerifyWords = map[string]map[string]string{
	"fr": {
		"verify_title":      "Vérifier votre adresse",
		"verify_intro":      "Votre demande concerne un compte : pour prouver que cette adresse est bien la vôtre, saisissez le code à 6 chiffres que nous venons d'envoyer à",
		"verify_code":       "Code reçu par e-mail",
		"verify_check":      "Vérifier",
		"verify_resend":     "Envoyer un nouveau code",
		"verify_sent":       "Un nouveau code est parti ; il expire dans 10 minutes.",
		"verify_done":       "Adresse vérifiée. L'équipe le verra sur votre demande.",
		"verify_lost":       "nous ne retrouvons pas votre demande sur ce navigateur ; suivez le mail de confirmation",
		"verify_failed":     "le code n'a pas pu être envoyé ; réessayez dans un instant.",
		CodeBadCode:         "ce code ne correspond pas ; vérifiez les 6 chiffres et réessayez.",
		CodeCodeExpired:     "ce code a expiré ; demandez-en un nouveau.",
		CodeTooManyTries:    "trop d'essais : ce code est bloqué ; demandez-en un nouveau.",
		CodeNoCode:          "aucun code n'attend ; demandez-en un.",
		CodeTooManyCodes:    "trop de codes envoyés ; réessayez dans une heure.",
		CodeAlreadyVerified: "cette adresse est déjà vérifiée.",
	},
	"en": {
		"verify_title":      "Verify your address",
		"verify_intro":      "Your request is about an account: to prove this address is yours, type the 6-digit code we just sent to",
		"verify_code":       "Code from the email",
		"verify_check":      "Verify",
		"verify_resend":     "Send a new code",
		"verify_sent":       "A new code is on its way; it expires in 10 minutes.",
		"verify_done":       "Email verified. The team will see it on your request.",
		"verify_lost":       "we can't find your request in this browser; follow the confirmation email",
		"verify_failed":     "the code could not be sent; try again in a moment.",
		CodeBadCode:         "this code does not match; check the 6 digits and try again.",
		CodeCodeExpired:     "this code expired; ask for a new one.",
		CodeTooManyTries:    "too many tries: this code is locked; ask for a new one.",
		CodeNoCode:          "no code is waiting; ask for one.",
		CodeTooManyCodes:    "too many codes sent; try again in an hour.",
		CodeAlreadyVerified: "this address is verified already.",
	},
}

// contactVerify is the verification part of the contact page.
type contactVerify struct {
	Email    string
	Verified bool
	Error    string
	Notice   string
}

// offerContactVerification sends a code for a ticket the contact form
// just opened on an account topic, and fills in the page that asks for it.
func (w *Widget) offerContactVerification(ctx context.Context, p *contactPage, t escalation.CreatedTicket) {
	if !w.offersVerification(t.Ticket) || t.ConversationToken == "" {
		return
	}
	p.conversationToken = t.ConversationToken
	p.Verify, p.V = &contactVerify{Email: t.Email}, contactVerifyWords[p.Lang]
	if _, err := w.verifier().StartVerification(ctx, t.ID, ""); err != nil {
		p.Verify.Error = w.contactVerifyRefusal(p, "start verification", err)
		return
	}
	w.log.Info("verification code sent", "conversation_id", t.ConversationID, "ticket", t.Ref, "from", "contact page")
}

// submitContactVerify sends a new code (action "send") or checks the one
// typed, for the ticket whose conversation token the cookie holds. It
// returns the page to show and its status.
func (w *Widget) submitContactVerify(ctx context.Context, lang, token, action, code string, csrfOK bool) (contactPage, int, error) {
	p := w.contactPage(lang)
	p.V = contactVerifyWords[p.Lang]
	v := w.verifier()
	if v == nil {
		return p, http.StatusNotFound, nil
	}
	var t escalation.Ticket
	conv, err := w.store.ConversationByToken(ctx, token)
	if err == nil {
		t, err = w.opt.Tickets.TicketOfConversation(ctx, conv.ID)
	}
	if escalation.ErrorCode(err) == escalation.ENOTFOUND {
		p.Error = p.V["verify_lost"]
		return p, http.StatusUnprocessableEntity, nil
	} else if err != nil {
		return p, 0, err
	}
	p.Ticket, p.Email = t.Ref, t.Email
	p.Verify = &contactVerify{Email: t.Email, Verified: t.Verified}
	switch {
	case t.Verified:
		return p, http.StatusOK, nil
	case !csrfOK:
		p.Verify.Error = p.T["expired"]
		return p, http.StatusUnprocessableEntity, nil
	case action == "send":
		_, err = v.StartVerification(ctx, t.ID, "")
		if err == nil {
			p.Verify.Notice = p.V["verify_sent"]
			w.log.Info("verification code sent", "conversation_id", t.ConversationID, "ticket", t.Ref, "from", "contact page")
		}
	default:
		_, err = v.CheckVerification(ctx, t.ID, code, "")
		if err == nil {
			p.Verify.Verified = true
			w.log.Info("ownership verified", "conversation_id", t.ConversationID, "ticket", t.Ref, "by", escalation.VerifiedByCode, "from", "contact page")
		}
	}
	switch {
	case err == nil:
		return p, http.StatusOK, nil
	case verifyErrorCode(err) == CodeInternal:
		return p, 0, err
	case errors.Is(err, escalation.ErrTooManyCodes):
		p.Verify.Error = w.contactVerifyRefusal(&p, action, err)
		return p, http.StatusTooManyRequests, nil
	}
	p.Verify.Error = w.contactVerifyRefusal(&p, action, err)
	return p, http.StatusUnprocessableEntity, nil
}

// contactVerifyRefusal is what the page says about a refused code, in its
// language; a failure of the server is logged and reported as such.
func (w *Widget) contactVerifyRefusal(p *contactPage, action string, err error) string {
	code := verifyErrorCode(err)
	if msg, ok := p.V[code]; ok {
		return msg
	}
	if code == CodeBadFrame {
		return p.V[CodeBadCode]
	}
	w.log.Error("widget failure", "action", action, "from", "contact page", "err", err)
	return p.V["verify_failed"]
}
