package escalation

import (
	htmltemplate "html/template"
	"net/mail"
	"strings"
	texttemplate "text/template"
)

// requestsLinkWords are the words of the sign-in link mail, by language.
var requestsLinkWords = map[string]map[string]string{
	"fr": {
		"subject":   "Votre lien pour consulter vos demandes",
		"hello":     "Bonjour,",
		"intro":     "Voici votre lien pour consulter vos demandes :",
		"button":    "Voir mes demandes",
		"limits":    "Il ne fonctionne qu'une fois, pendant 20 minutes.",
		"ignore":    "Si vous n'avez pas demandé ce lien, ignorez ce message : rien ne se passe tant que personne ne clique dessus.",
		"signature": "L'équipe d'assistance",
	},
	"en": {
		"subject":   "Your link to see your requests",
		"hello":     "Hello,",
		"intro":     "Here is your link to see your requests:",
		"button":    "See my requests",
		"limits":    "It works once, for 20 minutes.",
		"ignore":    "If you didn't ask for this link, ignore this message: nothing happens unless someone clicks it.",
		"signature": "The support team",
	},
}

type requestsLinkData struct {
	T    map[string]string
	Link string
	Site string
}

var requestsLinkText = texttemplate.Must(texttemplate.New("text").Parse(
	`{{.T.hello}}

{{.T.intro}}

{{.Link}}

{{.T.limits}}

{{.T.ignore}}

-- 
{{.T.signature}}, {{.Site}}
`))

var requestsLinkHTML = htmltemplate.Must(htmltemplate.New("html").Parse(
	`<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">
<p>{{.T.hello}}</p>
<p>{{.T.intro}}</p>
<p><a href="{{.Link}}" style="display:inline-block;background:#3451b2;color:#fff;padding:10px 16px;border-radius:8px;text-decoration:none">{{.T.button}}</a></p>
<p style="color:#57606a;font-size:13px;word-break:break-all">{{.Link}}</p>
<p>{{.T.limits}}</p>
<p>{{.T.ignore}}</p>
<p>{{.T.signature}}, {{.Site}}</p>
</body></html>`))

// requestsLinkMail composes the mail that carries a sign-in link. It has
// no Reply-To: nobody reads answers to it, and it must stay short.
func (d *Desk) requestsLinkMail(email, lang, link string) (Mail, error) {
	data := requestsLinkData{T: requestsLinkWords[lang], Link: link, Site: d.opt.SiteName}
	var text, html strings.Builder
	if err := requestsLinkText.Execute(&text, data); err != nil {
		return Mail{}, err
	}
	if err := requestsLinkHTML.Execute(&html, data); err != nil {
		return Mail{}, err
	}
	return Mail{MessageID: NewMessageID(d.opt.ReplyDomain), Kind: "magic_link", From: d.opt.From,
		To: (&mail.Address{Address: email}).String(), Subject: data.T["subject"] + " · " + d.opt.SiteName,
		Text: text.String(), HTML: html.String()}, nil
}
