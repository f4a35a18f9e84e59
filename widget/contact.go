package widget

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"html/template"
	"sync"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"golang.org/x/time/rate"
)

// contactTemplate is the contact page: a plain HTML form that works without
// JavaScript, for visitors whose browser cannot run the bubble.
var contactTemplate = template.Must(template.ParseFS(staticFS, "static/contact.html"))

var contactWords = map[string]map[string]string{
	"fr": {
		"title": "Contacter l'assistance", "back": "Centre d'aide", "other": "English",
		"intro": "Choisissez le thème qui correspond le mieux à votre question : une personne de l'équipe vous répondra par e-mail.",
		"topic": "Thème", "email": "Votre e-mail", "name": "Votre nom", "page": "La page concernée", "optional": "(facultatif)",
		"message": "Votre message", "send": "Envoyer la demande", "fix": "À corriger :",
		"done": "Demande enregistrée :", "done_more": "Une confirmation part à",
		"too_fast": "trop de demandes depuis votre connexion ; réessayez dans une minute",
		"expired":  "le formulaire a expiré ; renvoyez-le",
		"files":    "Pièces jointes", "files_hint": "captures d'écran (PNG, JPEG, GIF, WebP), PDF ou texte ; 10 Mo par fichier, 20 Mo en tout",
		"reattach": "Joignez à nouveau vos fichiers : le navigateur ne les garde pas d'un envoi à l'autre.",
		"requests": "Mes demandes",
	},
	"en": {
		"title": "Contact support", "back": "Help center", "other": "Français",
		"intro": "Choose the topic that best fits your question: a person from the team will reply by email.",
		"topic": "Topic", "email": "Your email", "name": "Your name", "page": "The page concerned", "optional": "(optional)",
		"message": "Your message", "send": "Send the request", "fix": "Please fix:",
		"done": "Request recorded:", "done_more": "A confirmation is on its way to",
		"too_fast": "too many requests from your connection; try again in a minute",
		"expired":  "the form expired; send it again",
		"files":    "Attachments", "files_hint": "screenshots (PNG, JPEG, GIF, WebP), PDF or text; 10 MB per file, 20 MB in all",
		"reattach": "Attach your files again: the browser does not keep them from one send to the next.",
		"requests": "My requests",
	},
}

// ContactForm is what the contact page posts.
type ContactForm struct {
	Topic, Email, Name, PageURL, Message string
	Website                              string // a field people never see: bots fill it
	// Files are the attachments of a multipart form (contact_files.go).
	Files []escalation.NewAttachment
}

// contactPage is what the template shows.
type contactPage struct {
	Lang, Other string
	T           map[string]string
	Topics      []topicInfo
	Form        ContactForm
	CSRF        string
	Error       string
	Ticket      string
	Email       string
	// Verify asks for the code that proves the ticket's address, after a
	// ticket on an account topic (contact_verify.go); V holds its words.
	Verify *contactVerify
	V      map[string]string
	// conversationToken is the new ticket's conversation, for the cookie
	// /contact/verify reads; never shown.
	conversationToken string
}

// errContactTooFast is a visitor over the contact form's rate limit.
var errContactTooFast = errors.New("widget: contact form: too many requests")

// contactLimits allows each address a few tickets a minute from the form.
type contactLimits struct {
	mu   sync.Mutex
	byIP map[string]*rate.Limiter
	seen time.Time
}

func (l *contactLimits) allow(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byIP == nil || now.Sub(l.seen) > 10*time.Minute {
		l.byIP = map[string]*rate.Limiter{} // forget idle addresses now and then
	}
	l.seen = now
	lim := l.byIP[ip]
	if lim == nil {
		lim = rate.NewLimiter(rate.Every(20*time.Second), 3)
		l.byIP[ip] = lim
	}
	return lim.AllowN(now, 1)
}

// newCSRF makes the token the contact page puts in its form and a cookie:
// a post without both equal comes from another site's page.
func newCSRF() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sameCSRF(form, cookie string) bool {
	return form != "" && subtle.ConstantTimeCompare([]byte(form), []byte(cookie)) == 1
}

// contactLang picks the page's language.
func (w *Widget) contactLang(asked string) string {
	if asked == "fr" || asked == "en" {
		return asked
	}
	return w.opt.DefaultLang
}

// page fills the contact page for lang.
func (w *Widget) contactPage(lang string) contactPage {
	other := "fr"
	if lang == "fr" {
		other = "en"
	}
	return contactPage{Lang: lang, Other: other, T: contactWords[lang], Topics: w.topics(lang)}
}

// submitContact opens a ticket from the contact form. It returns the page
// to show: the confirmation, or the form again with what to fix.
func (w *Widget) submitContact(ctx context.Context, lang, ip string, f ContactForm, csrfOK bool) (contactPage, error) {
	p := w.contactPage(lang)
	p.Form = f
	switch {
	case !csrfOK:
		p.Error = p.T["expired"]
		return p, nil
	case f.Website != "":
		// A bot filled the hidden field: pretend nothing happened.
		p.Error = p.T["expired"]
		return p, nil
	case !w.contactLimits.allow(ip, time.Now()):
		p.Error = p.T["too_fast"]
		return p, errContactTooFast
	}
	t, err := w.opt.Tickets.CreateTicket(ctx, escalation.NewTicket{Lang: lang, Topic: f.Topic, Email: f.Email,
		Name: f.Name, Message: f.Message, PageURL: f.PageURL, Attachments: f.Files})
	var ve *escalation.ValidationError
	if errors.As(err, &ve) {
		p.Error = ve.Error()
		return p, nil
	}
	if err != nil {
		return p, err
	}
	w.log.Info("ticket opened", "conversation_id", t.ConversationID, "ticket", t.Ref, "topic", t.Topic, "from", "contact page")
	p.Ticket, p.Email = t.Ref, t.Email
	w.offerContactVerification(ctx, &p, t)
	return p, nil
}
