package escalation

import (
	htmltemplate "html/template"
	"net/mail"
	"strings"
	texttemplate "text/template"
)

// transcriptWords are the words of the transcript mail, by language.
var transcriptWords = map[string]map[string]string{
	"fr": {
		"colon":     " :",
		"hello":     "Bonjour,",
		"subject":   "Transcription de votre conversation",
		"intro":     "Voici la transcription complète de votre conversation avec l'assistance de %s, comme vous l'avez demandée. Les heures sont en UTC.",
		"reference": "Référence",
		"files":     "Fichier joint",
		"choices":   "Articles proposés",
		"reply":     "Pour nous écrire au sujet de cette conversation, répondez simplement à ce message : votre réponse arrive à l'équipe.",
		"signature": "L'équipe d'assistance",
		"open":      "« ",
		"close":     " »",
		"when":      "02/01/2006 15:04",
	},
	"en": {
		"colon":     ":",
		"hello":     "Hello,",
		"subject":   "Transcript of your conversation",
		"intro":     "Here is the full transcript of your conversation with %s support, as you asked. Times are UTC.",
		"reference": "Reference",
		"files":     "Attached file",
		"choices":   "Articles offered",
		"reply":     "To write to us about this conversation, just reply to this message: your reply reaches the team.",
		"signature": "The support team",
		"open":      "“",
		"close":     "”",
		"when":      "2006-01-02 15:04",
	},
}

// transcriptMailLine is one message as the mail shows it.
type transcriptMailLine struct {
	When, Who, Text string
	Quote           string
	ArticleTitle    string
	ArticleURL      string // absolute http(s) only: a relative link means nothing in a mail
	Choices         string
	Files           []string
}

type transcriptMailData struct {
	T     map[string]string
	Intro string
	Ref   string
	Lines []transcriptMailLine
	Site  string
}

var transcriptText = texttemplate.Must(texttemplate.New("text").Parse(
	`{{.T.hello}}

{{.Intro}}
{{if .Ref}}
{{.T.reference}}{{.T.colon}} #{{.Ref}}
{{end}}
{{range .Lines}}[{{.When}}] {{.Who}}{{$.T.colon}} {{.Text}}
{{if .Quote}}    {{$.T.open}}{{.Quote}}{{$.T.close}}
{{end}}{{if .ArticleTitle}}    {{.ArticleTitle}}{{if .ArticleURL}} <{{.ArticleURL}}>{{end}}
{{end}}{{if .Choices}}    {{$.T.choices}}{{$.T.colon}} {{.Choices}}
{{end}}{{range .Files}}    {{$.T.files}}{{$.T.colon}} {{.}}
{{end}}{{end}}
{{.T.reply}}

-- 
{{.T.signature}}, {{.Site}}
`))

var transcriptHTML = htmltemplate.Must(htmltemplate.New("html").Parse(
	`<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">
<p>{{.T.hello}}</p>
<p>{{.Intro}}</p>
{{if .Ref}}<p><strong>{{.T.reference}}{{.T.colon}} #{{.Ref}}</strong></p>{{end}}
<table style="border-collapse:collapse">
{{range .Lines}}<tr style="vertical-align:top;border-top:1px solid #e1e4e8">
<td style="padding:6px 10px 6px 0;color:#57606a;white-space:nowrap">{{.When}}</td>
<td style="padding:6px 0"><strong>{{.Who}}</strong><div style="white-space:pre-wrap">{{.Text}}</div>
{{if .Quote}}<blockquote style="margin:6px 0;padding-left:10px;border-left:3px solid #3451b2;color:#424a53">{{.Quote}}</blockquote>{{end}}
{{if .ArticleTitle}}<div>{{if .ArticleURL}}<a href="{{.ArticleURL}}">{{.ArticleTitle}}</a>{{else}}{{.ArticleTitle}}{{end}}</div>{{end}}
{{if .Choices}}<div>{{$.T.choices}}{{$.T.colon}} {{.Choices}}</div>{{end}}
{{range .Files}}<div>{{$.T.files}}{{$.T.colon}} {{.}}</div>{{end}}
</td></tr>
{{end}}</table>
<p>{{.T.reply}}</p>
<p>{{.T.signature}}, {{.Site}}</p>
</body></html>`))

// transcriptMail composes the transcript of a conversation for email. Its
// Reply-To is the ticket's reply address, threaded under the ticket's
// mails, when there is a ticket; else a conversation token's, so that a
// reply opens one.
func (d *Desk) transcriptMail(conversationID int64, t *Ticket, email, lang string, lines []TranscriptLine) (Mail, error) {
	words := transcriptWords[lang]
	data := transcriptMailData{T: words, Intro: strings.Replace(words["intro"], "%s", d.opt.SiteName, 1), Site: d.opt.SiteName}
	for _, l := range lines {
		ml := transcriptMailLine{When: l.At.UTC().Format(words["when"]), Who: l.Who, Text: l.Text, Quote: l.Quote,
			ArticleTitle: l.ArticleTitle, Choices: strings.Join(l.Choices, " / ")}
		if strings.HasPrefix(l.ArticleURL, "https://") || strings.HasPrefix(l.ArticleURL, "http://") {
			ml.ArticleURL = l.ArticleURL
		}
		for _, f := range l.Files {
			ml.Files = append(ml.Files, f.Name)
		}
		data.Lines = append(data.Lines, ml)
	}
	m := Mail{MessageID: NewMessageID(d.opt.ReplyDomain), ConversationID: conversationID, Kind: "transcript",
		From: d.opt.From, To: (&mail.Address{Address: email}).String(), Subject: words["subject"]}
	if t != nil {
		data.Ref = t.Ref
		m.ReplyTo, m.InReplyTo, m.References = d.replyAddress(t.ID), t.LastMessageID, references(*t)
		m.Subject = "[#" + t.Ref + "] " + m.Subject
	} else {
		m.ReplyTo = "reply+" + d.opt.Tokens.MakeConversation(conversationID) + "@" + d.opt.ReplyDomain
	}
	var text, html strings.Builder
	if err := transcriptText.Execute(&text, data); err != nil {
		return Mail{}, err
	}
	if err := transcriptHTML.Execute(&html, data); err != nil {
		return Mail{}, err
	}
	m.Text, m.HTML = text.String(), html.String()
	return m, nil
}
