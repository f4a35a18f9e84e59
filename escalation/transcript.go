package escalation

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// TranscriptLine is one message of a conversation as a person reads it:
// who said it, when, and its words; a bot answer also has the passage it
// quoted and its article, and any message the files attached to it.
type TranscriptLine struct {
	Seq          int64
	At           time.Time
	Role         Role
	Who          string // "Vous", "Assistant", the agent's name…
	Text         string
	Quote        string   // bot answers: the passage quoted
	ArticleTitle string   // bot answers: the article
	ArticleURL   string   // as stored (relative to the help center), or absolute when the base URL is known
	Choices      []string // clarify: the articles offered
	Files        []Attachment
}

// Line is the message on one line, « quote » and (article) included, as
// the ticket's confirmation mail lists the bot exchange.
func (l TranscriptLine) Line() string {
	text := l.Text
	if l.Quote != "" {
		text += " « " + l.Quote + " »"
	}
	if l.ArticleTitle != "" {
		text += " (" + l.ArticleTitle + ")"
	}
	return text
}

// roleNames name each side of a conversation, by language.
var roleNames = map[string]map[Role]string{
	"fr": {RoleVisitor: "Vous", RoleBot: "Assistant", RoleAgent: "Équipe", RoleSystem: "Note"},
	"en": {RoleVisitor: "You", RoleBot: "Assistant", RoleAgent: "Team", RoleSystem: "Note"},
}

// transcript turns the bubble's messages into lines a person reads: who
// said what, the bot's answers as their text, the passage and the article
// they quoted.
func transcript(msgs []Message, lang string) []TranscriptLine {
	out := make([]TranscriptLine, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, lineOf(m, lang, ""))
	}
	return out
}

// lineOf reads one stored message. Bot and system bodies are JSON (the
// bot's decision, a note's text); anything else is shown as stored.
func lineOf(m Message, lang, baseURL string) TranscriptLine {
	names := roleNames[lang]
	if names == nil {
		names = roleNames["en"]
	}
	l := TranscriptLine{Seq: m.Seq, At: m.CreatedAt, Role: m.Role, Who: names[m.Role], Text: m.Body}
	if m.Role != RoleBot && m.Role != RoleSystem {
		return l
	}
	d, ok := ParseBotBody(m.Body)
	if !ok {
		return l
	}
	l.Text, l.Quote = d.Text, d.Quote
	if d.ArticleTitle != "" || d.ArticleURL != "" {
		l.ArticleTitle, l.ArticleURL = d.ArticleTitle, d.ArticleURL
		if baseURL != "" && strings.HasPrefix(l.ArticleURL, "/") && !strings.HasPrefix(l.ArticleURL, "//") {
			l.ArticleURL = strings.TrimSuffix(baseURL, "/") + l.ArticleURL
		}
	}
	l.Choices = d.Choices
	return l
}

// BotBody is what people read of a stored bot decision or system note:
// the widget stores the bot's whole decision as JSON, and every view of a
// conversation (transcripts, the console, the agents' API) shows the same
// parts of it.
type BotBody struct {
	Text, Quote, Pointer                     string
	ArticleTitle, ArticleHeading, ArticleURL string
	Choices                                  []string // a clarifying question's article titles
}

// ParseBotBody reads a stored bot or system message body; ok is false
// when it is not JSON with a text, and the body is then plain text.
func ParseBotBody(body string) (BotBody, bool) {
	var d struct {
		Text    string `json:"text"`
		Quote   string `json:"quote"`
		Pointer string `json:"pointer"`
		Article *struct {
			Title   string `json:"title"`
			Heading string `json:"heading"`
			URL     string `json:"url"`
		} `json:"article"`
		Choices []struct {
			Title string `json:"title"`
		} `json:"choices"`
	}
	if json.Unmarshal([]byte(body), &d) != nil || d.Text == "" {
		return BotBody{}, false
	}
	b := BotBody{Text: d.Text, Quote: d.Quote, Pointer: d.Pointer}
	if d.Article != nil {
		b.ArticleTitle, b.ArticleHeading, b.ArticleURL = d.Article.Title, d.Article.Heading, d.Article.URL
	}
	for _, c := range d.Choices {
		b.Choices = append(b.Choices, c.Title)
	}
	return b, true
}

// querier is a transaction or a pool: what reads a thread.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// threadMessages reads a conversation's messages in seq order, with the
// name of the agent who wrote each agent message, by seq.
func threadMessages(ctx context.Context, q querier, conversationID int64) ([]Message, map[int64]string, error) {
	rows, err := q.QueryContext(ctx, selectMessage+` WHERE conversation_id = ? ORDER BY seq`, conversationID)
	if err != nil {
		return nil, nil, err
	}
	msgs, err := scanMessages(rows)
	if err != nil {
		return nil, nil, err
	}
	rows, err = q.QueryContext(ctx, selectAgentNames+` WHERE ma.conversation_id = ?`, conversationID)
	if err != nil {
		return nil, nil, err
	}
	names, err := scanAgentNames(rows)
	if err != nil {
		return nil, nil, err
	}
	return msgs, names, nil
}

// selectAgentNames reads who wrote agent messages, as (seq, name).
const selectAgentNames = `SELECT ma.seq, a.name FROM message_agents ma JOIN agents a ON a.id = ma.agent_id`

// scanAgentNames reads and closes rows of selectAgentNames.
func scanAgentNames(rows *sql.Rows) (map[int64]string, error) {
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var seq int64
		var name string
		if err := rows.Scan(&seq, &name); err != nil {
			return nil, err
		}
		out[seq] = name
	}
	return out, rows.Err()
}

// threadOf reads a whole conversation as lines: its messages, each agent
// message under the agent's name, each message with its files.
func threadOf(ctx context.Context, q querier, conversationID int64, lang, baseURL string) ([]TranscriptLine, error) {
	msgs, agents, err := threadMessages(ctx, q, conversationID)
	if err != nil {
		return nil, err
	}
	files, err := attachmentsOf(ctx, q, conversationID)
	if err != nil {
		return nil, err
	}
	out := make([]TranscriptLine, 0, len(msgs))
	for _, m := range msgs {
		l := lineOf(m, lang, baseURL)
		if name := agents[m.Seq]; name != "" {
			l.Who = name
		}
		l.Files = files[m.Seq]
		out = append(out, l)
	}
	return out, nil
}

// attachmentsOf returns a conversation's attachments by message seq.
func attachmentsOf(ctx context.Context, q querier, conversationID int64) (map[int64][]Attachment, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, conversation_id, seq, name, content_type, size FROM attachments
		WHERE conversation_id = ? ORDER BY id`, conversationID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]Attachment{}
	for rows.Next() {
		var a Attachment
		if err := rows.Scan(&a.ID, &a.ConversationID, &a.Seq, &a.Name, &a.ContentType, &a.Size); err != nil {
			return nil, err
		}
		out[a.Seq] = append(out[a.Seq], a)
	}
	return out, rows.Err()
}

// KindTranscriptSent marks the system note that records a transcript
// mailed to the visitor.
const KindTranscriptSent = "transcript_sent"

// maxTranscriptsPerHour bounds the transcripts one conversation mails in
// an hour: a visitor asks once or twice; a script typing other people's
// addresses must not turn the help center into a mail cannon.
const maxTranscriptsPerHour = 3

// SendTranscript mails the whole conversation so far to email, in lang
// ("" for the conversation's), and records a system note saying so, in
// one transaction: the note exists only if the mail is queued. The bubble
// calls it on request; live chat (a later issue) calls it when a chat
// ends. clientID, when set, makes it idempotent: a resend returns the
// first note and queues nothing.
//
// The mail's Reply-To works: it is the ticket's reply address when the
// conversation has a ticket (and the mail joins the ticket's thread),
// else a conversation reply token, and the first reply opens a ticket
// (see DeliverReply). More than maxTranscriptsPerHour in an hour is
// ErrTooMany.
func (d *Desk) SendTranscript(ctx context.Context, conversationID int64, email, lang, clientID string) (Message, error) {
	note, err := d.sendTranscript(ctx, conversationID, email, lang, clientID)
	if err != nil {
		return Message{}, fmt.Errorf("desk: send transcript: %w", err)
	}
	return note, nil
}

func (d *Desk) sendTranscript(ctx context.Context, conversationID int64, email, lang, clientID string) (Message, error) {
	email, err := checkEmail(email)
	if err != nil {
		return Message{}, err
	}
	if lang != "" && lang != "fr" && lang != "en" {
		return Message{}, invalid("lang", "want fr or en")
	}
	s := d.store
	ctx, n := s.counting(ctx)
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return Message{}, err
	}
	defer tx.Rollback()
	var convLang string
	err = tx.QueryRowContext(ctx, `SELECT lang FROM conversations WHERE id = ?`, conversationID).Scan(&convLang)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, fmt.Errorf("conversation %d: %w", conversationID, ErrNotFound)
	} else if err != nil {
		return Message{}, err
	}
	if lang == "" {
		lang = convLang
	}
	if lang != "fr" {
		lang = "en"
	}
	note := NewMessage{ConversationID: conversationID, Role: RoleSystem, ClientID: clientID, Kind: KindTranscriptSent}
	if prev, found, err := existingMessage(ctx, tx, note); err != nil || found {
		return prev, err // a resend: the mail is already queued
	}
	now := s.now()
	nowTime := parseTime(now)
	var recent int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM transcripts WHERE conversation_id = ? AND created_at > ?`,
		conversationID, formatOutboxTime(nowTime.Add(-time.Hour))).Scan(&recent); err != nil {
		return Message{}, err
	}
	if recent >= maxTranscriptsPerHour {
		return Message{}, fmt.Errorf("%d transcripts in the last hour: %w", recent, ErrTooMany)
	}
	lines, err := threadOf(ctx, tx, conversationID, lang, d.opt.BaseURL)
	if err != nil {
		return Message{}, err
	}
	if len(lines) == 0 {
		return Message{}, invalid("conversation", "has no messages yet")
	}
	t, err := scanTicket(tx.QueryRowContext(ctx, latestTicketOfConversation, conversationID))
	var ticket *Ticket
	switch {
	case err == nil:
		ticket = &t
	case !errors.Is(err, ErrNotFound):
		return Message{}, err
	}
	m, err := d.transcriptMail(conversationID, ticket, email, lang, lines)
	if err != nil {
		return Message{}, err
	}
	body, _ := json.Marshal(map[string]string{"text": transcriptNote(lang, email), "email": email})
	note.Body = string(body)
	msg, _, err := appendInTx(ctx, tx, note, now)
	if err != nil {
		return Message{}, err
	}
	if _, err := enqueueMail(ctx, tx, m, now); err != nil {
		return Message{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO transcripts (conversation_id, email, seq, message_id, created_at)
		VALUES (?, ?, ?, ?, ?)`, conversationID, strings.ToLower(email), msg.Seq, m.MessageID, formatOutboxTime(nowTime)); err != nil {
		return Message{}, err
	}
	if err := tx.Commit(); err != nil {
		return Message{}, fmt.Errorf("commit: %w", err)
	}
	n.committed()
	s.notifyMailQueued()
	return msg, nil
}

// transcriptNote is the system note the visitor sees in the conversation.
func transcriptNote(lang, email string) string {
	if lang == "fr" {
		return "La transcription de cette conversation part à " + email + "."
	}
	return "A transcript of this conversation is on its way to " + email + "."
}

// checkEmail trims an address a visitor typed and accepts it only when it
// is one plain address, with nothing that could reach a header.
func checkEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	if email == "" || len(email) > maxEmailLen || strings.ContainsAny(email, "\r\n<>\" ,;") {
		return "", invalid("email", "is not an email address")
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || !strings.Contains(email, ".") {
		return "", invalid("email", "is not an email address")
	}
	return email, nil
}
