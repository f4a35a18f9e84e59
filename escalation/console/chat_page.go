package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

// The console's live-chat pages, server-rendered from static/chat.html
// (html/template: every field escaped) and driven by static/chat.js over
// the console socket. They are plain net/http handlers; http.go mounts
// them.

// chatTemplate draws the chat pages; Page names the part to draw.
var chatTemplate = template.Must(template.New("chat.html").Funcs(template.FuncMap{
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"hhmm":    func(t time.Time) string { return t.UTC().Format("15:04") },
}).ParseFS(staticFS, "static/chat.html", "static/alerts.html"))

var chatWords = map[string]map[string]string{
	"fr": {
		"home": "Accueil", "chats": "Discussions en direct", "conversation": "Conversation",
		"queue": "File d'attente", "mine": "Mes discussions", "active": "Toutes les discussions en cours",
		"queue_empty": "Personne n'attend.", "mine_empty": "Vous n'avez aucune discussion en cours.",
		"active_empty": "Aucune discussion en cours.",
		"waiting":      "attend depuis", "with": "avec",
		"status": "Statut :", "lang": "Langue :", "page": "Page :", "topic": "Sujet :",
		"verified": "Vérifié", "unverified": "Non vérifié",
		"queued": "en attente", "active_status": "en cours", "closed": "terminée", "abandoned": "abandonnée",
		"converted": "passée en e-mail",
		"claim":     "Prendre en charge", "transfer_to": "Confier à", "transfer": "Transférer", "close": "Terminer la discussion",
		"no_other": "aucun autre agent",
		"reply":    "Votre réponse", "send": "Envoyer", "typing": "Le visiteur écrit…", "agent_typing": "Un agent écrit…",
		"visitor": "Visiteur", "bot": "Assistant", "agent": "Agent",
		"earlier":       "Les messages plus anciens ne sont pas affichés.",
		"not_found":     "Cette discussion n'existe pas, ou n'est plus ouverte.",
		"taken":         "Un autre agent a pris cette discussion.",
		"not_holder":    "Vous ne tenez pas cette discussion.",
		"offline":       "Cet agent n'est pas en ligne.",
		"too_long":      "Message trop long (4 000 caractères au plus).",
		"rate_limited":  "Trop vite : patientez un instant.",
		"failed":        "Échec. Réessayez.",
		"reconnecting":  "Connexion perdue, reconnexion…",
		"confirm_close": "Terminer cette discussion ? Le visiteur pourra la noter.",
		"agent_gone":    "Cet agent n'existe plus : il a été retiré.",
		"files":         "Fichiers de la conversation :",
		"notes":         "Notes internes", "no_notes": "Aucune note pour l'instant.",
		"note_invalid": "La note doit compter de 1 à 10 000 caractères.",
		"expired":      "La page a expiré : rechargez-la.",
	},
	"en": {
		"home": "Home", "chats": "Live chats", "conversation": "Conversation",
		"queue": "Queue", "mine": "My chats", "active": "All open chats",
		"queue_empty": "Nobody is waiting.", "mine_empty": "You have no chat under way.",
		"active_empty": "No chat under way.",
		"waiting":      "waiting for", "with": "with",
		"status": "Status:", "lang": "Language:", "page": "Page:", "topic": "Topic:",
		"verified": "Verified", "unverified": "Not verified",
		"queued": "waiting", "active_status": "under way", "closed": "ended", "abandoned": "abandoned",
		"converted": "moved to email",
		"claim":     "Claim", "transfer_to": "Hand over to", "transfer": "Transfer", "close": "End the chat",
		"no_other": "no other agent",
		"reply":    "Your reply", "send": "Send", "typing": "The visitor is typing…", "agent_typing": "An agent is typing…",
		"visitor": "Visitor", "bot": "Assistant", "agent": "Agent",
		"earlier":       "Earlier messages are not shown.",
		"not_found":     "This chat does not exist, or is no longer open.",
		"taken":         "Another agent took this chat.",
		"not_holder":    "You do not hold this chat.",
		"offline":       "That agent is not online.",
		"too_long":      "Message too long (4,000 characters at most).",
		"rate_limited":  "Too fast: wait a moment.",
		"failed":        "Failed. Try again.",
		"reconnecting":  "Connection lost, reconnecting…",
		"confirm_close": "End this chat? The visitor may then rate it.",
		"agent_gone":    "That agent no longer exists: they were removed.",
		"files":         "Files in this conversation:",
		"notes":         "Internal notes", "no_notes": "No note yet.",
		"note_invalid": "A note has 1 to 10,000 characters.",
		"expired":      "The page has expired: reload it.",
	},
}

// chatPage is what the chat template shows.
type chatPage struct {
	page
	C       map[string]string
	W       map[string]string // the desk's words: the note box reads the same everywhere
	AgentID int64
	ChatCSS string
	ChatJS  string

	// chats: the three lists.
	Queue, Mine, Active []chatRow

	// chat: one conversation.
	Chat    chatRow
	Lines   []lineRow
	LastSeq int64
	Earlier bool // older messages are not shown
	Holder  bool // this agent holds the chat
	// Others are the agents the chat may be handed to.
	Others []escalation.Agent
	// Files are the conversation's attachments, which the lines carry too.
	Files []fileRow
	// Notes are the conversation's internal notes, for agents only;
	// NotesAction is where the note box posts.
	Notes       []noteRow
	NotesAction string
}

// noteRow is an internal note as the chat page shows it.
type noteRow struct {
	Who  string
	At   time.Time
	Text string
}

// chatRow is a chat with what its row shows in the page's language.
type chatRow struct {
	chatInfo
	C          map[string]string
	PageLang   string
	Wait       string // queued: how long the visitor has waited
	StatusText string
}

// lineRow is a message with the name shown above it and its files.
type lineRow struct {
	chatLine
	Who   string
	Files []fileRow
}

func newChatPage(name, lang string, sess *escalation.ConsoleSession, token string) chatPage {
	pg := chatPage{page: newPage(name, lang), C: chatWords[lang], W: deskWords[lang], AgentID: sess.Agent.ID,
		ChatCSS: assets.url("chat.css"), ChatJS: assets.url("chat.js")}
	pg.CSRF = sessionCSRF(token)
	pg.Away = sess.Agent.Away
	return pg
}

func (pg chatPage) row(i chatInfo) chatRow {
	r := chatRow{chatInfo: i, C: pg.C, PageLang: pg.Lang, StatusText: statusText(pg.C, i.Status)}
	if i.Status == string(escalation.ChatQueued) {
		r.Wait = escalation.WaitText(pg.Lang, time.Duration(i.WaitS)*time.Second)
	}
	return r
}

func (pg chatPage) rows(infos []chatInfo) []chatRow {
	out := make([]chatRow, 0, len(infos))
	for _, i := range infos {
		out = append(out, pg.row(i))
	}
	return out
}

// statusText names a chat's status in the page's language.
func statusText(words map[string]string, status string) string {
	if status == string(escalation.ChatActive) {
		return words["active_status"]
	}
	return words[status]
}

// signedInPage returns the session of a page request, or sends a
// signed-out browser to sign in (nil session).
func (c *Console) signedInPage(w http.ResponseWriter, r *http.Request, lang string) (*escalation.ConsoleSession, string, error) {
	sess, token, err := c.session(r)
	if err != nil || sess != nil {
		return sess, token, err
	}
	http.Redirect(w, r, "/console/login?lang="+lang, http.StatusSeeOther)
	return nil, "", nil
}

// chatsPage serves GET /console/chats: the queue, the agent's chats and
// every chat under way. The script keeps them current from the socket's
// queue frames.
func (c *Console) chatsPage(w http.ResponseWriter, r *http.Request) error {
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.signedInPage(w, r, lang)
	if err != nil || sess == nil {
		return err
	}
	ctx := r.Context()
	queued, err := c.store.QueuedChats(ctx)
	if err != nil {
		return fmt.Errorf("console: chats page: %w", err)
	}
	active, err := c.store.ActiveChats(ctx)
	if err != nil {
		return fmt.Errorf("console: chats page: %w", err)
	}
	now := time.Now()
	pg := newChatPage("chats", lang, sess, token)
	pg.Queue, pg.Active = pg.rows(infosOf(queued, now)), pg.rows(infosOf(active, now))
	for _, row := range pg.Active {
		if row.AgentID == sess.Agent.ID {
			pg.Mine = append(pg.Mine, row)
		}
	}
	return renderChat(w, http.StatusOK, pg)
}

// conversationPage serves GET /console/chats/{id}: one conversation's
// whole history, what is known of the visitor, and the actions the agent
// may take. A chat the agent may not read is 404, as one that does not
// exist.
func (c *Console) conversationPage(w http.ResponseWriter, r *http.Request, idParam string) error {
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.signedInPage(w, r, lang)
	if err != nil || sess == nil {
		return err
	}
	ctx := r.Context()
	pg := newChatPage("chat", lang, sess, token)
	id, err := strconv.ParseInt(idParam, 10, 64)
	var chat escalation.Chat
	if err == nil && id > 0 {
		chat, err = c.store.ChatOf(ctx, id)
	}
	switch {
	case errors.Is(err, strconv.ErrSyntax), errors.Is(err, strconv.ErrRange), id <= 0,
		escalation.ErrorCode(err) == escalation.ENOTFOUND, err == nil && !readable(chat, sess.Agent.ID):
		pg.Page = "missing"
		return renderChat(w, http.StatusNotFound, pg)
	case err != nil:
		return fmt.Errorf("console: chat page: %w", err)
	}
	after := max(0, chat.LastSeq-historyLimit)
	lines, err := linesAfter(ctx, c.store, id, after, historyLimit)
	if err != nil {
		return fmt.Errorf("console: chat page: %w", err)
	}
	agents, err := c.store.Agents(ctx)
	if err != nil {
		return fmt.Errorf("console: chat page: %w", err)
	}
	notes, err := c.store.AgentNotes(ctx, id)
	if err != nil {
		return fmt.Errorf("console: chat page: %w", err)
	}
	files, err := c.store.ConversationAttachments(ctx, id)
	if err != nil {
		return fmt.Errorf("console: chat page: %w", err)
	}
	pg.Chat, pg.Earlier = pg.row(infoOf(chat, time.Now())), after > 0
	pg.Holder = chat.Status == escalation.ChatActive && chat.AgentID == sess.Agent.ID
	pg.LastSeq = after
	bySeq := map[int64][]fileRow{}
	for _, f := range files {
		row := attachmentRow(f)
		pg.Files = append(pg.Files, row)
		bySeq[f.Seq] = append(bySeq[f.Seq], row)
	}
	for _, l := range lines {
		pg.Lines = append(pg.Lines, lineRow{chatLine: l, Who: who(pg.C, l), Files: bySeq[l.Seq]})
		pg.LastSeq = l.Seq
	}
	pg.Others = transferTargets(agents, sess.Agent.ID)
	for _, n := range notes {
		pg.Notes = append(pg.Notes, noteRow{Who: n.AgentName, At: n.CreatedAt, Text: n.Body})
	}
	pg.NotesAction = chatNotesPath(id, lang)
	if r.URL.Query().Get("noted") == "1" {
		pg.Notice = pg.W["noted"]
	}
	return renderChat(w, http.StatusOK, pg)
}

// transferTargets are the agents a chat may be handed to, from the current
// agents (escalation's Agents lists no removed one): not the agent handing
// it over, nor one who never set a password and so can never be online.
// The socket still checks presence, and the store the agent, at the
// transfer itself.
func transferTargets(agents []escalation.Agent, me int64) []escalation.Agent {
	var out []escalation.Agent
	for _, a := range agents {
		if a.ID != me && a.PasswordSet {
			out = append(out, a)
		}
	}
	return out
}

// attachmentRow is a file as a link to its download for agents.
func attachmentRow(a escalation.Attachment) fileRow {
	return fileRow{URL: "/console/attachments/" + strconv.FormatInt(a.ID, 10), Name: a.Name, Size: byteSize(a.Size)}
}

// who is the name shown above a message.
func who(words map[string]string, l chatLine) string {
	switch escalation.Role(l.Role) {
	case escalation.RoleVisitor:
		return words["visitor"]
	case escalation.RoleBot:
		return words["bot"]
	case escalation.RoleAgent:
		if l.Agent != "" {
			return l.Agent
		}
		return words["agent"]
	}
	return ""
}

// renderChat draws a chat page to bytes first, so that a template
// failure becomes an error before anything is written.
func renderChat(w http.ResponseWriter, status int, pg chatPage) error {
	var buf bytes.Buffer
	if err := chatTemplate.Execute(&buf, pg); err != nil {
		return fmt.Errorf("console: render %s: %w", pg.Page, err)
	}
	pageHeaders(w.Header())
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}
