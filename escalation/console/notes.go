package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/bulle-help/bulle/escalation"
)

// A conversation's page (a bubble conversation or a chat, read-only) and
// internal notes, on tickets and conversations alike. Notes are stored
// apart from messages (escalation/notes.go): only these pages show them.

// deskConversationPage serves GET /console/conversations/{id}: the whole
// conversation with its notes, and the note box. A conversation with a
// ticket is shown on the ticket's page, where it can be answered.
func (c *Console) deskConversationPage(w http.ResponseWriter, r *http.Request, idParam string) error {
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.deskSession(w, r, lang)
	if err != nil || sess == nil {
		return err
	}
	ctx := r.Context()
	pg := c.newDeskPage("conversation", r, lang, sess, token)
	id, perr := strconv.ParseInt(idParam, 10, 64)
	if perr != nil || id <= 0 {
		return c.deskRefusal(w, pg, escalation.ErrNotFound)
	}
	info, err := c.store.ConversationInfo(ctx, id)
	if err != nil {
		return c.deskRefusal(w, pg, err)
	}
	if info.Ticket != nil {
		http.Redirect(w, r, "/console/tickets/"+url.PathEscape(info.Ticket.Ref)+"?lang="+lang, http.StatusSeeOther)
		return nil
	}
	if r.URL.Query().Get("noted") == "1" {
		pg.Notice = pg.W["noted"]
	}
	v, err := c.conversationView(ctx, pg, info, pg.W["visitor"])
	if err != nil {
		return fmt.Errorf("console: conversation page: %w", err)
	}
	v.NotesAction = "/console/conversations/" + strconv.FormatInt(id, 10) + "/notes?lang=" + lang
	pg.Ticket = v
	return renderDesk(w, http.StatusOK, pg)
}

// ticketNote serves POST /console/tickets/{ref}/notes: body becomes an
// internal note on the ticket's conversation.
func (c *Console) ticketNote(w http.ResponseWriter, r *http.Request, ref string) error {
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.deskPost(w, r, lang)
	if err != nil || sess == nil {
		return err
	}
	pg := c.newDeskPage("ticket", r, lang, sess, token)
	t, err := c.store.TicketByRef(r.Context(), ref)
	if err != nil {
		return c.deskRefusal(w, pg, err)
	}
	if done, err := c.addNote(w, r, pg, sess, t.ConversationID); done {
		return err
	}
	http.Redirect(w, r, "/console/tickets/"+url.PathEscape(t.Ref)+"?noted=1&lang="+lang+"#notes", http.StatusSeeOther)
	return nil
}

// conversationNote serves POST /console/conversations/{id}/notes.
func (c *Console) conversationNote(w http.ResponseWriter, r *http.Request, idParam string) error {
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.deskPost(w, r, lang)
	if err != nil || sess == nil {
		return err
	}
	pg := c.newDeskPage("conversation", r, lang, sess, token)
	id, perr := strconv.ParseInt(idParam, 10, 64)
	if perr != nil || id <= 0 {
		return c.deskRefusal(w, pg, escalation.ErrNotFound)
	}
	if done, err := c.addNote(w, r, pg, sess, id); done {
		return err
	}
	http.Redirect(w, r, "/console/conversations/"+strconv.FormatInt(id, 10)+"?noted=1&lang="+lang+"#notes", http.StatusSeeOther)
	return nil
}

// addNote stores the form's note on the conversation. When the note is
// refused, it has answered (or returns the error to answer) and done is
// true.
func (c *Console) addNote(w http.ResponseWriter, r *http.Request, pg deskPage, sess *escalation.ConsoleSession, convID int64) (done bool, err error) {
	n, err := c.store.AddAgentNote(r.Context(), sess.Agent.ID, convID, r.PostForm.Get("body"))
	if err != nil {
		return true, c.deskRefusal(w, pg, err)
	}
	c.log.Info("console note added", "agent_id", sess.Agent.ID, "conversation_id", convID, "note_id", n.ID)
	return false, nil
}
