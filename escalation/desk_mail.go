package escalation

import (
	htmltemplate "html/template"
	"net/mail"
	"strings"
	texttemplate "text/template"
)

// mailText holds the words of the desk's mails, by language.
var mailText = map[string]map[string]string{
	"fr": {
		"colon":            " :", // French typography: a space before the colon
		"hello":            "Bonjour",
		"received_subject": "Nous avons bien reçu votre demande",
		"received":         "Nous avons bien reçu votre demande. Une personne de l'équipe vous répondra par e-mail, à cette adresse.",
		"feature_subject":  "Merci pour votre suggestion",
		"feature":          "Merci pour votre suggestion : elle est enregistrée et sera lue par l'équipe produit. Nous ne pouvons pas envoyer de nouvelles sur chaque suggestion ; les nouveautés sont annoncées dans les notes de version.",
		"reference":        "Référence",
		"topic":            "Thème",
		"reply_hint":       "Pour ajouter une précision ou une capture d'écran, répondez simplement à ce message.",
		"your_message":     "Votre message",
		"transcript":       "Votre conversation avec l'assistant",
		"files":            "Fichier joint",
		"signature":        "L'équipe d'assistance",
	},
	"en": {
		"colon":            ":",
		"hello":            "Hello",
		"received_subject": "We have received your request",
		"received":         "We have received your request. A person from the team will reply by email, to this address.",
		"feature_subject":  "Thank you for your suggestion",
		"feature":          "Thank you for your suggestion: it is recorded and will be read by the product team. We can't send news about each suggestion; new features are announced in the release notes.",
		"reference":        "Reference",
		"topic":            "Topic",
		"reply_hint":       "To add details or a screenshot, just reply to this message.",
		"your_message":     "Your message",
		"transcript":       "Your conversation with the assistant",
		"files":            "Attached file",
		"signature":        "The support team",
	},
}

// confirmationData fills the confirmation templates.
type confirmationData struct {
	T          map[string]string
	Name       string
	Ref        string
	Topic      string
	Intro      string
	Message    string
	Files      []string // the names of the files sent with the message
	Transcript []TranscriptLine
	Site       string
}

var confirmationText = texttemplate.Must(texttemplate.New("text").Parse(
	`{{.T.hello}}{{if .Name}} {{.Name}}{{end}},

{{.Intro}}

{{.T.reference}}{{.T.colon}} #{{.Ref}}
{{.T.topic}}{{.T.colon}} {{.Topic}}

{{.T.reply_hint}}

{{.T.your_message}}{{.T.colon}}
{{.Message}}
{{range .Files}}{{$.T.files}}{{$.T.colon}} {{.}}
{{end}}{{if .Transcript}}
{{.T.transcript}}{{.T.colon}}
{{range .Transcript}}- {{.Who}}{{$.T.colon}} {{.Line}}
{{end}}{{end}}
-- 
{{.T.signature}}, {{.Site}}
`))

var confirmationHTML = htmltemplate.Must(htmltemplate.New("html").Parse(
	`<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">
<p>{{.T.hello}}{{if .Name}} {{.Name}}{{end}},</p>
<p>{{.Intro}}</p>
<p><strong>{{.T.reference}}{{.T.colon}} #{{.Ref}}</strong><br>{{.T.topic}}{{.T.colon}} {{.Topic}}</p>
<p>{{.T.reply_hint}}</p>
<h3>{{.T.your_message}}</h3>
<blockquote style="white-space:pre-wrap">{{.Message}}</blockquote>
{{range .Files}}<div>{{$.T.files}}{{$.T.colon}} {{.}}</div>{{end}}
{{if .Transcript}}<h3>{{.T.transcript}}</h3>
<ul>{{range .Transcript}}<li><strong>{{.Who}}</strong>{{$.T.colon}} {{.Line}}</li>{{end}}</ul>{{end}}
<p>{{.T.signature}}, {{.Site}}</p>
</body></html>`))

// confirmation composes the mail that tells a visitor their ticket exists.
func (d *Desk) confirmation(t Ticket, topic Topic, message string, lines []TranscriptLine, files []Attachment, messageID string) (Mail, error) {
	words := mailText[t.Lang]
	subject, intro := words["received_subject"], words["received"]
	if topic.FeatureRequest {
		subject, intro = words["feature_subject"], words["feature"]
	}
	label := topic.Label[t.Lang]
	if label == "" {
		label = topic.ID
	}
	data := confirmationData{T: words, Name: t.Name, Ref: t.Ref, Topic: label, Intro: intro, Message: message,
		Transcript: lines, Site: d.opt.SiteName}
	for _, f := range files {
		data.Files = append(data.Files, f.Name)
	}
	var text, html strings.Builder
	if err := confirmationText.Execute(&text, data); err != nil {
		return Mail{}, err
	}
	if err := confirmationHTML.Execute(&html, data); err != nil {
		return Mail{}, err
	}
	to := (&mail.Address{Name: t.Name, Address: t.Email}).String()
	return Mail{MessageID: messageID, ConversationID: t.ConversationID, Kind: "confirmation", From: d.opt.From,
		To: to, ReplyTo: d.replyAddress(t.ID), Subject: "[#" + t.Ref + "] " + subject,
		Text: text.String(), HTML: html.String()}, nil
}

// agentReplyWords are the lines around an agent's answer.
var agentReplyWords = map[string]map[string]string{
	"fr": {"subject": "Réponse à votre demande", "hint": "Pour nous répondre, répondez simplement à ce message."},
	"en": {"subject": "A reply to your request", "hint": "To answer, just reply to this message."},
}

var agentReplyHTML = htmltemplate.Must(htmltemplate.New("reply").Parse(
	`<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">
<div style="white-space:pre-wrap">{{.Text}}</div>
<p>{{.Agent}}, {{.Site}}</p>
<p style="color:#555">#{{.Ref}} · {{.Hint}}</p>
</body></html>`))

// agentMail composes an agent's answer to the visitor.
func (d *Desk) agentMail(t Ticket, agent Agent, text string) (Mail, error) {
	words := agentReplyWords[t.Lang]
	var html strings.Builder
	err := agentReplyHTML.Execute(&html, map[string]string{"Text": text, "Agent": agent.Name, "Site": d.opt.SiteName,
		"Ref": t.Ref, "Hint": words["hint"]})
	if err != nil {
		return Mail{}, err
	}
	body := text + "\n\n-- \n" + agent.Name + ", " + d.opt.SiteName + "\n#" + t.Ref + " · " + words["hint"] + "\n"
	return Mail{MessageID: NewMessageID(d.opt.ReplyDomain), ConversationID: t.ConversationID, Kind: "agent_reply",
		From: (&mail.Address{Name: agent.Name + " (" + d.opt.SiteName + ")", Address: d.fromAddress()}).String(),
		To:   (&mail.Address{Name: t.Name, Address: t.Email}).String(), ReplyTo: d.replyAddress(t.ID),
		InReplyTo: t.LastMessageID, References: references(t),
		Subject: "[#" + t.Ref + "] " + words["subject"], Text: body, HTML: html.String()}, nil
}

// fromAddress is the bare address of the no-reply sender.
func (d *Desk) fromAddress() string {
	a, err := mail.ParseAddress(d.opt.From)
	if err != nil {
		return d.opt.From
	}
	return a.Address
}
