package escalation

import (
	htmltemplate "html/template"
	"net/mail"
	"strings"
	texttemplate "text/template"
)

// verifyWords are the words of the code mail and of the verification
// notes, by language.
var verifyWords = map[string]map[string]string{
	"fr": {
		"colon":         " :",
		"hello":         "Bonjour",
		"subject":       "Votre code de vérification",
		"intro":         "Voici le code qui prouve que cette adresse e-mail est bien la vôtre, pour la demande",
		"use":           "Saisissez-le dans la fenêtre d'assistance où vous l'avez demandé. Il expire dans 10 minutes et ne sert qu'une fois.",
		"warn":          "Ne le communiquez à personne, même à quelqu'un qui se présente comme notre équipe : saisissez-le vous-même. Si vous n'avez rien demandé, ignorez ce message.",
		"signature":     "L'équipe d'assistance",
		"sent_note":     "Code de vérification envoyé (valable 10 minutes) à",
		"verified_note": "Adresse vérifiée",
	},
	"en": {
		"colon":         ":",
		"hello":         "Hello",
		"subject":       "Your verification code",
		"intro":         "Here is the code that proves this email address is yours, for request",
		"use":           "Type it in the support window where you asked for it. It expires in 10 minutes and works once.",
		"warn":          "Don't give it to anyone, even someone who says they are our team: type it yourself. If you didn't ask for it, ignore this message.",
		"signature":     "The support team",
		"sent_note":     "Verification code sent (valid for 10 minutes) to",
		"verified_note": "Email verified",
	},
}

// codeMailData fills the code mail's templates.
type codeMailData struct {
	T    map[string]string
	Name string
	Ref  string
	Code string
	Site string
}

var codeMailText = texttemplate.Must(texttemplate.New("text").Parse(
	`{{.T.hello}}{{if .Name}} {{.Name}}{{end}},

{{.T.intro}} #{{.Ref}}{{.T.colon}}

    {{.Code}}

{{.T.use}}

{{.T.warn}}

-- 
{{.T.signature}}, {{.Site}}
`))

var codeMailHTML = htmltemplate.Must(htmltemplate.New("html").Parse(
	`<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">
<p>{{.T.hello}}{{if .Name}} {{.Name}}{{end}},</p>
<p>{{.T.intro}} #{{.Ref}}{{.T.colon}}</p>
<p style="font-size:28px;font-weight:bold;letter-spacing:4px;font-family:monospace">{{.Code}}</p>
<p>{{.T.use}}</p>
<p style="color:#555">{{.T.warn}}</p>
<p>{{.T.signature}}, {{.Site}}</p>
</body></html>`))

// codeMail composes the mail that carries a verification code. It has no
// Reply-To and no place in the ticket's thread: a reply to it must not
// carry the code into the conversation.
func (d *Desk) codeMail(t Ticket, code string) (Mail, error) {
	words := verifyWords[t.Lang]
	data := codeMailData{T: words, Name: t.Name, Ref: t.Ref, Code: code, Site: d.opt.SiteName}
	var text, html strings.Builder
	if err := codeMailText.Execute(&text, data); err != nil {
		return Mail{}, err
	}
	if err := codeMailHTML.Execute(&html, data); err != nil {
		return Mail{}, err
	}
	return Mail{MessageID: NewMessageID(d.opt.ReplyDomain), ConversationID: t.ConversationID, Kind: "code",
		From: d.opt.From, To: (&mail.Address{Name: t.Name, Address: t.Email}).String(),
		Subject: "[#" + t.Ref + "] " + words["subject"], Text: text.String(), HTML: html.String()}, nil
}
