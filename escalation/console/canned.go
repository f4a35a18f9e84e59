package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/bulle-help/bulle/escalation"
)

// Canned responses: every agent reads them (and inserts them into a reply
// from the ticket's page); admins write, edit and delete them here.
//
//	GET  /console/canned              the list, and the form to add one (admins)
//	POST /console/canned              adds one (admins)
//	GET  /console/canned/{id}         the form to edit one (admins)
//	POST /console/canned/{id}         saves it (admins)
//	POST /console/canned/{id}/delete  deletes it (admins)

// cannedView is the list of canned responses, or the one being edited.
type cannedView struct {
	Groups []cannedRows // by language, the page's first
	// Form is what the add or edit form shows: what was typed, after a
	// refusal.
	Form   escalation.CannedInput
	Action string
	ID     int64
}

type cannedRows struct {
	Label string
	Rows  []cannedRow
}

type cannedRow struct {
	escalation.CannedResponse
	EditURL string
	Updated string
}

// cannedPage serves GET /console/canned.
func (c *Console) cannedPage(w http.ResponseWriter, r *http.Request, _ string) error {
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.deskSession(w, r, lang)
	if err != nil || sess == nil {
		return err
	}
	pg := c.newDeskPage("canned", r, lang, sess, token)
	switch {
	case r.URL.Query().Get("saved") == "1":
		pg.Notice = pg.W["canned_saved"]
	case r.URL.Query().Get("deleted") == "1":
		pg.Notice = pg.W["canned_deleted"]
	}
	return c.showCanned(w, r, pg, escalation.CannedInput{Lang: lang}, http.StatusOK)
}

// showCanned renders the list with form in the add form.
func (c *Console) showCanned(w http.ResponseWriter, r *http.Request, pg deskPage, form escalation.CannedInput, status int) error {
	list, err := c.store.CannedResponses(r.Context(), "")
	if err != nil {
		return err
	}
	v := &cannedView{Form: form, Action: "/console/canned?lang=" + pg.Lang}
	pg.OtherURL = "/console/canned?lang=" + pg.Other
	for _, l := range []string{pg.Lang, pg.Other} {
		g := cannedRows{Label: pg.W["lang_group_"+l]}
		for _, cr := range list {
			if cr.Lang == l {
				g.Rows = append(g.Rows, cannedRow{CannedResponse: cr, Updated: c.when(cr.UpdatedAt, pg.Lang),
					EditURL: "/console/canned/" + strconv.FormatInt(cr.ID, 10) + "?lang=" + pg.Lang})
			}
		}
		if len(g.Rows) > 0 {
			v.Groups = append(v.Groups, g)
		}
	}
	pg.Canned = v
	return renderDesk(w, status, pg)
}

// adminPost checks an admin's form (canned responses, privacy): deskPost,
// and the admin role.
// On refusal it has answered and returns a nil session.
func (c *Console) adminPost(w http.ResponseWriter, r *http.Request, lang string) (*escalation.ConsoleSession, string, error) {
	sess, token, err := c.deskPost(w, r, lang)
	if err != nil || sess == nil {
		return nil, "", err
	}
	if sess.Agent.Role != escalation.AgentRoleAdmin {
		c.log.Warn("console form refused", "action", strings.TrimPrefix(r.URL.Path, "/console/"), "reason", "not_admin", "agent_id", sess.Agent.ID)
		pg := c.newDeskPage("refused", r, lang, sess, token)
		pg.Error = pg.W["forbidden"]
		return nil, "", renderDesk(w, http.StatusForbidden, pg)
	}
	return sess, token, nil
}

func cannedForm(r *http.Request) escalation.CannedInput {
	return escalation.CannedInput{Title: r.PostForm.Get("title"), Lang: r.PostForm.Get("canned_lang"), Body: r.PostForm.Get("body")}
}

// cannedCreate serves POST /console/canned.
func (c *Console) cannedCreate(w http.ResponseWriter, r *http.Request, _ string) error {
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.adminPost(w, r, lang)
	if err != nil || sess == nil {
		return err
	}
	in := cannedForm(r)
	cr, err := c.store.CreateCannedResponse(r.Context(), sess.Agent.ID, in)
	if code := escalation.ErrorCode(err); code == escalation.EINVALID || code == escalation.ECONFLICT {
		pg := c.newDeskPage("canned", r, lang, sess, token)
		pg.Error = cannedRefusal(pg, err)
		return c.showCanned(w, r, pg, in, http.StatusUnprocessableEntity)
	} else if err != nil {
		return err
	}
	c.log.Info("canned response created", "agent_id", sess.Agent.ID, "canned_id", cr.ID, "lang", cr.Lang)
	http.Redirect(w, r, "/console/canned?saved=1&lang="+lang, http.StatusSeeOther)
	return nil
}

// cannedRefusal says why a canned response was refused.
func cannedRefusal(pg deskPage, err error) string {
	if escalation.ErrorCode(err) == escalation.ECONFLICT {
		return pg.W["conflict"]
	}
	return pg.W["invalid"] + " " + escalation.ErrorMessage(err)
}

// cannedEditPage serves GET /console/canned/{id}: the edit form.
func (c *Console) cannedEditPage(w http.ResponseWriter, r *http.Request, idParam string) error {
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.deskSession(w, r, lang)
	if err != nil || sess == nil {
		return err
	}
	pg := c.newDeskPage("canned_edit", r, lang, sess, token)
	if !pg.Admin {
		pg.Page, pg.Error = "refused", pg.W["forbidden"]
		return renderDesk(w, http.StatusForbidden, pg)
	}
	id, perr := strconv.ParseInt(idParam, 10, 64)
	if perr != nil || id <= 0 {
		return c.deskRefusal(w, pg, escalation.ErrNotFound)
	}
	cr, err := c.store.CannedResponse(r.Context(), id)
	if err != nil {
		return c.deskRefusal(w, pg, err)
	}
	return c.showCannedEdit(w, pg, id, escalation.CannedInput{Title: cr.Title, Lang: cr.Lang, Body: cr.Body}, http.StatusOK)
}

func (c *Console) showCannedEdit(w http.ResponseWriter, pg deskPage, id int64, form escalation.CannedInput, status int) error {
	base := "/console/canned/" + strconv.FormatInt(id, 10)
	pg.Page, pg.OtherURL = "canned_edit", base+"?lang="+pg.Other
	pg.Canned = &cannedView{Form: form, ID: id, Action: base + "?lang=" + pg.Lang}
	return renderDesk(w, status, pg)
}

// cannedUpdate serves POST /console/canned/{id}.
func (c *Console) cannedUpdate(w http.ResponseWriter, r *http.Request, idParam string) error {
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.adminPost(w, r, lang)
	if err != nil || sess == nil {
		return err
	}
	pg := c.newDeskPage("canned_edit", r, lang, sess, token)
	id, perr := strconv.ParseInt(idParam, 10, 64)
	if perr != nil || id <= 0 {
		return c.deskRefusal(w, pg, escalation.ErrNotFound)
	}
	in := cannedForm(r)
	cr, err := c.store.UpdateCannedResponse(r.Context(), sess.Agent.ID, id, in)
	if code := escalation.ErrorCode(err); code == escalation.EINVALID || code == escalation.ECONFLICT {
		pg.Error = cannedRefusal(pg, err)
		return c.showCannedEdit(w, pg, id, in, http.StatusUnprocessableEntity)
	} else if err != nil {
		return c.deskRefusal(w, pg, err)
	}
	c.log.Info("canned response updated", "agent_id", sess.Agent.ID, "canned_id", cr.ID, "lang", cr.Lang)
	http.Redirect(w, r, "/console/canned?saved=1&lang="+lang, http.StatusSeeOther)
	return nil
}

// cannedDelete serves POST /console/canned/{id}/delete.
func (c *Console) cannedDelete(w http.ResponseWriter, r *http.Request, idParam string) error {
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.adminPost(w, r, lang)
	if err != nil || sess == nil {
		return err
	}
	pg := c.newDeskPage("canned", r, lang, sess, token)
	id, perr := strconv.ParseInt(idParam, 10, 64)
	if perr != nil || id <= 0 {
		return c.deskRefusal(w, pg, escalation.ErrNotFound)
	}
	if err := c.store.DeleteCannedResponse(r.Context(), id); err != nil {
		return c.deskRefusal(w, pg, err)
	}
	c.log.Info("canned response deleted", "agent_id", sess.Agent.ID, "canned_id", id)
	http.Redirect(w, r, "/console/canned?deleted=1&lang="+lang, http.StatusSeeOther)
	return nil
}
