package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

// Internal notes on a live chat, from its page (/console/chats/{id}). They
// are the desk's notes (escalation/notes.go, console/notes.go): their own
// table, read only by the console's pages, so no reader of messages (the
// bubble, its replay by seq, the transcript) can show one to the visitor.
// The form works without script; chat.js posts it with fetch instead, so
// the page, its socket and a reply being typed stay as they are.

// chatNotesPath is where a chat page's note box posts.
func chatNotesPath(convID int64, lang string) string {
	return "/console/chats/" + strconv.FormatInt(convID, 10) + "/notes?lang=" + lang
}

// noteJSON is a stored note as chat.js shows it. encoding/json escapes
// <, > and & in strings, and the script sets each field as text.
type noteJSON struct {
	ID        int64     `json:"id"`
	Agent     string    `json:"agent"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// noteErrorJSON refuses a note posted by chat.js: code is an
// escalation.ErrorCode, message says what was wrong.
type noteErrorJSON struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// wantsJSON says the request comes from chat.js, which asks for JSON.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// chatNote serves POST /console/chats/{id}/notes: body becomes an
// internal note on the conversation of a chat the agent may read (the
// page's rule: any queued or open chat, and the ones they held). A form
// post goes back to the chat's page; a post that accepts JSON gets the
// note (201) or the refusal as JSON. The session, this site's origin and
// the session's CSRF token are checked first (deskPost), as for every
// console form.
func (c *Console) chatNote(w http.ResponseWriter, r *http.Request, idParam string) error {
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.deskPost(w, r, lang)
	if err != nil || sess == nil {
		return err
	}
	ctx := r.Context()
	id, perr := strconv.ParseInt(idParam, 10, 64)
	var chat escalation.Chat
	switch {
	case perr != nil || id <= 0:
		err = fmt.Errorf("console: chat note: conversation %q: %w", idParam, escalation.ErrNotFound)
	default:
		chat, err = c.store.ChatOf(ctx, id)
		if err == nil && !readable(chat, sess.Agent.ID) {
			// As the page: a chat the agent may not read is one that does
			// not exist.
			err = fmt.Errorf("console: chat note: chat %d is not readable by agent %d: %w", id, sess.Agent.ID, escalation.ErrNotFound)
		}
	}
	var n escalation.AgentNote
	if err == nil {
		n, err = c.store.AddAgentNote(ctx, sess.Agent.ID, id, r.PostForm.Get("body"))
	}
	if err != nil {
		if wantsJSON(r) {
			return c.noteRefusalJSON(w, sess.Agent.ID, id, err)
		}
		return c.deskRefusal(w, c.newDeskPage("refused", r, lang, sess, token), err)
	}
	c.log.Info("console note added", "agent_id", sess.Agent.ID, "conversation_id", id, "note_id", n.ID, "from", "chat")
	if wantsJSON(r) {
		return writeJSON(w, http.StatusCreated, noteJSON{ID: n.ID, Agent: n.AgentName, Body: n.Body, CreatedAt: n.CreatedAt.UTC()})
	}
	http.Redirect(w, r, "/console/chats/"+strconv.FormatInt(id, 10)+"?noted=1&lang="+lang+"#notes", http.StatusSeeOther)
	return nil
}

// noteRefusalJSON answers chat.js's refused note: 404 (no chat the agent
// may read), 422 (an empty or too long note); any other error is the
// server's, logged, and "internal".
func (c *Console) noteRefusalJSON(w http.ResponseWriter, agentID, convID int64, err error) error {
	var ve *escalation.ValidationError
	switch {
	case escalation.ErrorCode(err) == escalation.ENOTFOUND:
		return writeJSON(w, http.StatusNotFound, noteErrorJSON{Error: escalation.ENOTFOUND, Message: "no chat you may read here"})
	case errors.As(err, &ve):
		return writeJSON(w, http.StatusUnprocessableEntity, noteErrorJSON{Error: escalation.EINVALID, Message: ve.Error()})
	}
	c.log.Error("console failure", "action", "chat note", "agent_id", agentID, "conversation_id", convID, "err", err)
	return writeJSON(w, http.StatusInternalServerError, noteErrorJSON{Error: escalation.EINTERNAL, Message: "Internal error."})
}

// writeJSON sends v with the headers of the console's answers: never
// cached, never sniffed.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("console: encode %T: %w", v, err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, err = w.Write(body)
	return err
}
