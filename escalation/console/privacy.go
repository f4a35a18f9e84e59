package console

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/bulle-help/bulle/escalation"
)

// The privacy page: an admin finds everything stored about one email
// address, downloads it as JSON, or erases it, as `bulle privacy` does
// from a shell. The address travels only in POST bodies, so it stays out
// of URLs, histories and access logs, and the logs name the agent and the
// counts, never the address.
//
//	GET  /console/privacy          the form (admins)
//	POST /console/privacy          what is stored about the address typed
//	POST /console/privacy/export   that, as a JSON download
//	POST /console/privacy/delete   erases it, when the address is typed again

// Privacy finds and erases one address's data; *escalation.Desk is one.
type Privacy interface {
	ExportAddress(ctx context.Context, email string) (escalation.AddressExport, error)
	EraseAddress(ctx context.Context, email string) (escalation.Deleted, error)
}

// privacyView is the privacy page: the form, what was found, or what was
// erased.
type privacyView struct {
	PW      map[string]string // the page's words
	Email   string
	Found   *privacyCounts
	Deleted *escalation.Deleted
}

// privacyCounts sums up an export for the page.
type privacyCounts struct {
	Tickets, Conversations, Messages, Attachments, Mail, Codes, Sessions int
}

func countExport(x escalation.AddressExport) *privacyCounts {
	n := &privacyCounts{Tickets: len(x.Tickets), Conversations: len(x.Conversations), Mail: len(x.Mail),
		Codes: len(x.VerificationCodes), Sessions: len(x.RequestsSessions)}
	for _, c := range x.Conversations {
		n.Messages += len(c.Messages)
		for _, m := range c.Messages {
			n.Attachments += len(m.Attachments)
		}
	}
	return n
}

var privacyWords = map[string]map[string]string{
	"fr": {
		"title": "Données personnelles", "nav": "Données personnelles",
		"hint":  "Tout ce que Bulle garde sur une adresse e-mail : demandes, conversations, pièces jointes (noms), codes, sessions « Mes demandes », e-mails envoyés. Téléchargez-le pour répondre à une demande d'accès, ou effacez-le pour une demande d'effacement.",
		"email": "Adresse e-mail", "find": "Chercher", "found": "Trouvé pour %s :",
		"tickets": "demandes", "conversations": "conversations", "messages": "messages", "attachments": "pièces jointes",
		"mail": "e-mails", "codes": "codes de vérification", "sessions": "liens et sessions « Mes demandes »",
		"nothing": "Rien n'est enregistré pour cette adresse.",
		"export":  "Télécharger (JSON)",
		"erase":   "Tout effacer", "erase_hint": "Irréversible : les conversations sont supprimées entières, pièces jointes comprises. Retapez l'adresse pour confirmer.",
		"confirm":   "Retapez l'adresse",
		"mismatch":  "L'adresse retapée ne correspond pas : rien n'a été effacé.",
		"erased":    "Effacé pour cette adresse :",
		"bad_email": "Cette adresse e-mail n'est pas valide :",
	},
	"en": {
		"title": "Personal data", "nav": "Personal data",
		"hint":  "Everything Bulle keeps about one email address: requests, conversations, attachments (names), codes, “My requests” sessions, mail sent. Download it to answer an access request, or erase it to answer an erasure request.",
		"email": "Email address", "find": "Find", "found": "Found for %s:",
		"tickets": "requests", "conversations": "conversations", "messages": "messages", "attachments": "attachments",
		"mail": "emails", "codes": "verification codes", "sessions": "“My requests” links and sessions",
		"nothing": "Nothing is stored for this address.",
		"export":  "Download (JSON)",
		"erase":   "Erase everything", "erase_hint": "This cannot be undone: conversations are deleted whole, attachments included. Type the address again to confirm.",
		"confirm":   "Type the address again",
		"mismatch":  "The address typed again does not match: nothing was erased.",
		"erased":    "Erased for this address:",
		"bad_email": "This email address is not valid:",
	},
}

// privacyPage serves GET /console/privacy.
func (c *Console) privacyPage(w http.ResponseWriter, r *http.Request, _ string) error {
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.deskSession(w, r, lang)
	if err != nil || sess == nil {
		return err
	}
	pg := c.newDeskPage("privacy", r, lang, sess, token)
	if !pg.Admin || c.opt.Privacy == nil {
		pg.Page, pg.Error = "refused", pg.W["forbidden"]
		return renderDesk(w, http.StatusForbidden, pg)
	}
	pg.Privacy = &privacyView{PW: privacyWords[pg.Lang]}
	return renderDesk(w, http.StatusOK, pg)
}

// privacyPost checks a privacy form (an admin's, with its CSRF token) and
// returns the page to answer with; on refusal it has answered.
func (c *Console) privacyPost(w http.ResponseWriter, r *http.Request) (*escalation.ConsoleSession, deskPage, bool, error) {
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.adminPost(w, r, lang)
	if err != nil || sess == nil {
		return nil, deskPage{}, false, err
	}
	pg := c.newDeskPage("privacy", r, lang, sess, token)
	pg.OtherURL = "/console/privacy?lang=" + pg.Other
	if c.opt.Privacy == nil {
		pg.Page, pg.Error = "refused", pg.W["forbidden"]
		return nil, pg, false, renderDesk(w, http.StatusForbidden, pg)
	}
	pg.Privacy = &privacyView{PW: privacyWords[pg.Lang], Email: strings.TrimSpace(r.PostForm.Get("email"))}
	return sess, pg, true, nil
}

// privacyExportOf reads what is stored about the address typed; an
// address that is not one is answered with the form and why (ok false).
func (c *Console) privacyExportOf(w http.ResponseWriter, r *http.Request, pg deskPage) (escalation.AddressExport, bool, error) {
	x, err := c.opt.Privacy.ExportAddress(r.Context(), pg.Privacy.Email)
	if escalation.ErrorCode(err) == escalation.EINVALID {
		pg.Error = pg.Privacy.PW["bad_email"] + " " + escalation.ErrorMessage(err)
		return x, false, renderDesk(w, http.StatusUnprocessableEntity, pg)
	}
	return x, err == nil, err
}

// privacyLookup serves POST /console/privacy: the counts for an address.
func (c *Console) privacyLookup(w http.ResponseWriter, r *http.Request, _ string) error {
	sess, pg, ok, err := c.privacyPost(w, r)
	if !ok {
		return err
	}
	x, ok, err := c.privacyExportOf(w, r, pg)
	if !ok {
		return err
	}
	pg.Privacy.Found = countExport(x)
	c.log.Info("console privacy lookup", "agent_id", sess.Agent.ID, "conversations", len(x.Conversations), "tickets", len(x.Tickets))
	return renderDesk(w, http.StatusOK, pg)
}

// privacyExport serves POST /console/privacy/export: the JSON download.
func (c *Console) privacyExport(w http.ResponseWriter, r *http.Request, _ string) error {
	sess, pg, ok, err := c.privacyPost(w, r)
	if !ok {
		return err
	}
	x, ok, err := c.privacyExportOf(w, r, pg)
	if !ok {
		return err
	}
	body, err := json.MarshalIndent(x, "", "  ")
	if err != nil {
		return err
	}
	c.log.Info("console privacy export", "agent_id", sess.Agent.ID, "conversations", len(x.Conversations), "tickets", len(x.Tickets))
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="bulle-personal-data.json"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	_, err = w.Write(append(body, '\n'))
	return err
}

// privacyDelete serves POST /console/privacy/delete: erases the address's
// data once the admin has typed it twice.
func (c *Console) privacyDelete(w http.ResponseWriter, r *http.Request, _ string) error {
	sess, pg, ok, err := c.privacyPost(w, r)
	if !ok {
		return err
	}
	v := pg.Privacy
	if !strings.EqualFold(v.Email, strings.TrimSpace(r.PostForm.Get("confirm"))) {
		pg.Error = v.PW["mismatch"]
		if x, err := c.opt.Privacy.ExportAddress(r.Context(), v.Email); err == nil {
			v.Found = countExport(x)
		}
		return renderDesk(w, http.StatusUnprocessableEntity, pg)
	}
	d, err := c.opt.Privacy.EraseAddress(r.Context(), v.Email)
	if escalation.ErrorCode(err) == escalation.EINVALID {
		pg.Error = v.PW["bad_email"] + " " + escalation.ErrorMessage(err)
		return renderDesk(w, http.StatusUnprocessableEntity, pg)
	} else if err != nil && d.Conversations+d.Tickets+d.Mail+d.Codes+d.Sessions == 0 {
		return err
	} else if err != nil {
		// The rows are gone; only files were left behind. Say so in the
		// log for the operator, and show what was erased.
		c.log.Error("console privacy delete: files left behind", "agent_id", sess.Agent.ID, "err", err)
	}
	c.log.Info("console privacy delete", "agent_id", sess.Agent.ID, "conversations", d.Conversations, "tickets", d.Tickets,
		"messages", d.Messages, "attachments", d.Attachments, "mail", d.Mail)
	v.Deleted = &d
	return renderDesk(w, http.StatusOK, pg)
}
