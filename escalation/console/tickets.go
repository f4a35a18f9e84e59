package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

// The console's desk: the ticket lists and pages (this file), a
// conversation's page and internal notes (notes.go), search (search.go)
// and canned responses (canned.go). Pages are server-rendered from
// static/tickets.html, search.html and canned.html (html/template: every
// field escaped); the only script, static/canned.js, inserts a canned
// response at the cursor, and the pages work without it. The handlers are
// plain net/http; http.go mounts deskRoutes.

// Desk is what the ticket pages need of the ticket desk; *escalation.Desk
// is one.
type Desk interface {
	// AgentReply stores an agent's answer and queues it by email.
	AgentReply(ctx context.Context, agent escalation.Agent, ref, text string) (escalation.Message, error)
	// AgentAttachment opens any attachment, for an agent.
	AgentAttachment(ctx context.Context, id int64) (escalation.Attachment, *os.File, error)
	// Topics lists the ticket topics, for the lists' filter.
	Topics() []escalation.Topic
}

// DeskStore is what the desk's pages read and write; *escalation.Store is
// one.
type DeskStore interface {
	ListTickets(ctx context.Context, f escalation.TicketFilter) (escalation.TicketPage, error)
	TicketCounts(ctx context.Context, topic string) (map[string]int, error)
	TicketByRef(ctx context.Context, ref string) (escalation.Ticket, error)
	TicketsOfConversation(ctx context.Context, conversationID int64) ([]escalation.Ticket, error)
	SetTicketStatus(ctx context.Context, ref, status string) (escalation.Ticket, error)
	ConversationInfo(ctx context.Context, id int64) (escalation.ConversationInfo, error)
	ConsoleThread(ctx context.Context, conversationID int64, lang string) ([]escalation.ThreadEntry, error)
	AddAgentNote(ctx context.Context, agentID, conversationID int64, body string) (escalation.AgentNote, error)
	Search(ctx context.Context, q escalation.SearchQuery) (escalation.SearchResult, error)
	CannedResponses(ctx context.Context, lang string) ([]escalation.CannedResponse, error)
	CannedResponse(ctx context.Context, id int64) (escalation.CannedResponse, error)
	CreateCannedResponse(ctx context.Context, agentID int64, in escalation.CannedInput) (escalation.CannedResponse, error)
	UpdateCannedResponse(ctx context.Context, agentID, id int64, in escalation.CannedInput) (escalation.CannedResponse, error)
	DeleteCannedResponse(ctx context.Context, id int64) error
}

var (
	_ Desk      = (*escalation.Desk)(nil)
	_ DeskStore = (*escalation.Store)(nil)
)

// maxDeskFormBytes bounds a desk form: a reply or a canned response of
// 10,000 characters, up to 4 bytes each, percent-encoded (3 bytes a
// byte), with room for the other fields.
const maxDeskFormBytes = 256 << 10

// deskRoute is one of the desk's routes: http.go mounts each with echo,
// passing the path parameter named param ("" for none).
type deskRoute struct {
	method, path, param string
	handle              func(c *Console, w http.ResponseWriter, r *http.Request, param string) error
}

// deskRoutes are the desk's routes, under /console.
var deskRoutes = []deskRoute{
	{http.MethodGet, "/tickets", "", (*Console).ticketsPage},
	{http.MethodGet, "/tickets/:ref", "ref", (*Console).ticketPage},
	{http.MethodPost, "/tickets/:ref/reply", "ref", (*Console).ticketReply},
	{http.MethodPost, "/tickets/:ref/status", "ref", (*Console).ticketStatus},
	{http.MethodPost, "/tickets/:ref/notes", "ref", (*Console).ticketNote},
	{http.MethodGet, "/conversations/:id", "id", (*Console).deskConversationPage},
	{http.MethodPost, "/conversations/:id/notes", "id", (*Console).conversationNote},
	{http.MethodGet, "/attachments/:id", "id", (*Console).deskAttachment},
	{http.MethodGet, "/search", "", (*Console).searchPage},
	{http.MethodGet, "/canned", "", (*Console).cannedPage},
	{http.MethodPost, "/canned", "", (*Console).cannedCreate},
	{http.MethodGet, "/canned/:id", "id", (*Console).cannedEditPage},
	{http.MethodPost, "/canned/:id", "id", (*Console).cannedUpdate},
	{http.MethodPost, "/canned/:id/delete", "id", (*Console).cannedDelete},
	{http.MethodGet, "/privacy", "", (*Console).privacyPage},
	{http.MethodPost, "/privacy", "", (*Console).privacyLookup},
	{http.MethodPost, "/privacy/export", "", (*Console).privacyExport},
	{http.MethodPost, "/privacy/delete", "", (*Console).privacyDelete},
	{http.MethodGet, "/insights", "", (*Console).insightsPage},
}

// deskTemplate draws the desk's pages; Page names the part to draw.
var deskTemplate = template.Must(template.New("tickets.html").ParseFS(staticFS,
	"static/tickets.html", "static/search.html", "static/canned.html", "static/alerts.html", "static/privacy.html",
	"static/insights.html"))

// deskPage is what the desk's templates show.
type deskPage struct {
	page
	W        map[string]string // the desk's words
	OtherURL string            // this page in the other language
	DeskCSS  string
	CannedJS string // set on pages with a reply box
	Admin    bool
	Zone     string // the zone times are shown in

	Tickets  *ticketsView
	Ticket   *ticketView
	Search   *searchView
	Canned   *cannedView
	Privacy  *privacyView
	Insights *insightsView
	Fallback string // the error page's way back
}

func (c *Console) newDeskPage(name string, r *http.Request, lang string, sess *escalation.ConsoleSession, token string) deskPage {
	pg := deskPage{page: newPage(name, lang), W: deskWords[lang], DeskCSS: assets.url("tickets.css"),
		Admin: sess.Agent.Role == escalation.AgentRoleAdmin, Zone: c.zone().String()}
	pg.CSRF, pg.Away = sessionCSRF(token), sess.Agent.Away
	// The same page in the other language; a form's answer has no page
	// of its own, so it offers the request list (the pages that answer
	// forms set their own).
	pg.OtherURL = "/console/tickets?lang=" + pg.Other
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		q.Set("lang", pg.Other)
		pg.OtherURL = r.URL.Path + "?" + q.Encode()
	}
	return pg
}

// renderDesk draws a desk page to bytes first, so that a template failure
// becomes an error before anything is written.
func renderDesk(w http.ResponseWriter, status int, pg deskPage) error {
	var buf bytes.Buffer
	if err := deskTemplate.Execute(&buf, pg); err != nil {
		return fmt.Errorf("console: render %s: %w", pg.Page, err)
	}
	pageHeaders(w.Header())
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// deskRefusal answers what the agent asked for with a page saying why it
// cannot be done: not found (404), a refused input (422), not allowed
// (403). Any other error is returned, for the server's error handler.
func (c *Console) deskRefusal(w http.ResponseWriter, pg deskPage, err error) error {
	var ve *escalation.ValidationError
	pg.Page = "refused"
	switch {
	case escalation.ErrorCode(err) == escalation.ENOTFOUND:
		pg.Error = pg.W["not_found"]
		return renderDesk(w, http.StatusNotFound, pg)
	case errors.As(err, &ve):
		pg.Error = pg.W["invalid"] + " " + ve.Error()
		return renderDesk(w, http.StatusUnprocessableEntity, pg)
	case escalation.ErrorCode(err) == escalation.ECONFLICT:
		pg.Error = pg.W["conflict"]
		return renderDesk(w, http.StatusConflict, pg)
	}
	return err
}

// deskSession returns the session of a desk page, or sends a signed-out
// browser to sign in (nil session).
func (c *Console) deskSession(w http.ResponseWriter, r *http.Request, lang string) (*escalation.ConsoleSession, string, error) {
	sess, token, err := c.session(r)
	if err != nil || sess != nil {
		return sess, token, err
	}
	http.Redirect(w, r, "/console/login?lang="+lang, http.StatusSeeOther)
	return nil, "", nil
}

// deskPost checks a desk form: a live session, this site's origin and the
// session's CSRF token. On refusal it has answered (to sign in, or 403
// with the form's page to reload) and returns a nil session.
func (c *Console) deskPost(w http.ResponseWriter, r *http.Request, lang string) (*escalation.ConsoleSession, string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxDeskFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form is too large.", http.StatusRequestEntityTooLarge)
		return nil, "", nil
	}
	sess, token, err := c.deskSession(w, r, lang)
	if err != nil || sess == nil {
		return nil, "", err
	}
	if !sameOrigin(r, c.opt.BaseURL, false) || !sameToken(r.PostForm.Get("csrf"), sessionCSRF(token)) {
		c.log.Warn("console form refused", "action", strings.TrimPrefix(r.URL.Path, "/console/"), "reason", "csrf",
			"agent_id", sess.Agent.ID)
		pg := c.newDeskPage("refused", r, lang, sess, token)
		pg.Error = pg.T["expired"]
		return nil, "", renderDesk(w, http.StatusForbidden, pg)
	}
	return sess, token, nil
}

// zone is where the desk shows times and reads the dates typed in
// search: the business hours' zone, else UTC.
func (c *Console) zone() *time.Location {
	if c.opt.Zone != nil {
		if loc := c.opt.Zone(); loc != nil {
			return loc
		}
	}
	return time.UTC
}

// when writes t in the desk's zone, as the page's language writes dates.
func (c *Console) when(t time.Time, lang string) string {
	if t.IsZero() {
		return ""
	}
	layout := "2006-01-02 15:04"
	if lang == "fr" {
		layout = "02/01/2006 15:04"
	}
	return t.In(c.zone()).Format(layout)
}

// topics are the desk's topics, or the default ones without a desk.
func (c *Console) topics() []escalation.Topic {
	if c.opt.Desk != nil {
		return c.opt.Desk.Topics()
	}
	return escalation.DefaultTopics
}

// topicLabel names a topic id in lang.
func (c *Console) topicLabel(id, lang string) string {
	for _, t := range c.topics() {
		if t.ID == id && t.Label[lang] != "" {
			return t.Label[lang]
		}
	}
	return id
}

// ticketsView is the ticket list.
type ticketsView struct {
	Status  string
	Topic   string
	Tabs    []ticketTab
	Topics  []topicOption
	Rows    []ticketRow
	Page    int
	PrevURL string
	NextURL string
}

type ticketTab struct {
	Status, Label, URL string
	Count              int
	Current            bool
}

type topicOption struct {
	ID, Label string
	Selected  bool
}

// ticketRow is a ticket as its list row shows it.
type ticketRow struct {
	escalation.Ticket
	URL         string
	TopicLabel  string
	StatusLabel string
	Updated     string
	UpdatedISO  string
}

func (c *Console) ticketRow(t escalation.Ticket, pg deskPage) ticketRow {
	return ticketRow{Ticket: t, URL: "/console/tickets/" + url.PathEscape(t.Ref) + "?lang=" + pg.Lang,
		TopicLabel: c.topicLabel(t.Topic, pg.Lang), StatusLabel: pg.W["status_"+t.Status],
		Updated: c.when(t.UpdatedAt, pg.Lang), UpdatedISO: t.UpdatedAt.UTC().Format(time.RFC3339)}
}

// pageNumber reads ?page= (1 and up).
func pageNumber(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 || n > 100_000 {
		return 1
	}
	return n
}

// ticketsPage serves GET /console/tickets?status=open|pending|solved&topic=…&page=N.
func (c *Console) ticketsPage(w http.ResponseWriter, r *http.Request, _ string) error {
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.deskSession(w, r, lang)
	if err != nil || sess == nil {
		return err
	}
	ctx := r.Context()
	pg := c.newDeskPage("tickets", r, lang, sess, token)
	q := r.URL.Query()
	v := &ticketsView{Status: q.Get("status"), Topic: q.Get("topic"), Page: pageNumber(r)}
	if !escalation.ValidTicketStatus(v.Status) {
		v.Status = escalation.StatusOpen
	}
	list, err := c.store.ListTickets(ctx, escalation.TicketFilter{Status: v.Status, Topic: v.Topic,
		Limit: escalation.DefaultTicketPage, Offset: (v.Page - 1) * escalation.DefaultTicketPage})
	if err != nil {
		return fmt.Errorf("console: tickets page: %w", err)
	}
	counts, err := c.store.TicketCounts(ctx, v.Topic)
	if err != nil {
		return fmt.Errorf("console: tickets page: %w", err)
	}
	link := func(status string, page int) string {
		u := url.Values{"lang": {lang}, "status": {status}}
		if v.Topic != "" {
			u.Set("topic", v.Topic)
		}
		if page > 1 {
			u.Set("page", strconv.Itoa(page))
		}
		return "/console/tickets?" + u.Encode()
	}
	for _, st := range []string{escalation.StatusOpen, escalation.StatusPending, escalation.StatusSolved} {
		v.Tabs = append(v.Tabs, ticketTab{Status: st, Label: pg.W["tab_"+st], URL: link(st, 1), Count: counts[st],
			Current: st == v.Status})
	}
	for _, t := range c.topics() {
		v.Topics = append(v.Topics, topicOption{ID: t.ID, Label: c.topicLabel(t.ID, lang), Selected: t.ID == v.Topic})
	}
	for _, t := range list.Tickets {
		v.Rows = append(v.Rows, c.ticketRow(t, pg))
	}
	if v.Page > 1 {
		v.PrevURL = link(v.Status, v.Page-1)
	}
	if list.More {
		v.NextURL = link(v.Status, v.Page+1)
	}
	pg.Tickets = v
	return renderDesk(w, http.StatusOK, pg)
}

// ticketView is one ticket's page, or a conversation's (Row zero).
type ticketView struct {
	Row          ticketRow
	Others       []ticketRow // the conversation's other tickets, latest first
	Conversation escalation.ConversationInfo
	ChatURL      string // the live chat's page, when the conversation has a chat
	ChatStatus   string
	PageLang     string // the conversation's language, named
	Created      string
	Entries      []entryRow
	Statuses     []ticketTab   // the statuses the ticket can move to
	Draft        string        // the reply box's text
	CannedGroups []cannedGroup // by language, the visitor's first
	NotesAction  string
	ReplyAction  string
	StatusAction string
}

// cannedGroup is the canned responses of one language, in the reply
// box's list.
type cannedGroup struct {
	Label string
	List  []escalation.CannedResponse
}

// entryRow is a message or a note as the thread shows it.
type entryRow struct {
	Class        string // visitor, bot, agent, system or note
	Who          string
	Via          string // how it came: by email, from a form…
	When, ISO    string
	Text         string
	Quote        string
	ArticleTitle string
	ArticleURL   string
	Choices      []string
	Files        []fileRow
}

type fileRow struct {
	URL, Name, Size string
}

// deskArticleURL keeps a bot answer's article link only when it is a
// path of this site: a stored body is ours, but a link is worth no risk.
func deskArticleURL(u string) string {
	if strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") && !strings.ContainsAny(u, "\\\r\n") {
		return u
	}
	return ""
}

// byteSize writes a file's size for people.
func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d kB", (n+1<<9)>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// entries turns a thread into rows; visitor names the visitor (their
// name on the ticket, else "Visitor").
func (c *Console) entries(thread []escalation.ThreadEntry, pg deskPage, visitor string) []entryRow {
	out := make([]entryRow, 0, len(thread))
	for _, e := range thread {
		row := entryRow{Class: string(e.Role), When: c.when(e.At, pg.Lang), ISO: e.At.UTC().Format(time.RFC3339),
			Text: e.Text, Quote: e.Quote, ArticleTitle: e.ArticleTitle, ArticleURL: deskArticleURL(e.ArticleURL),
			Choices: e.Choices, Via: pg.W["via_"+e.Kind]}
		switch {
		case e.Note != nil:
			row.Class, row.Who, row.Via = "note", e.Who, pg.W["internal_note"]
		case e.Role == escalation.RoleVisitor:
			row.Who = visitor
		case e.Role == escalation.RoleBot:
			row.Who, row.Via = pg.W["bot"], ""
		case e.Role == escalation.RoleAgent && e.Who != "":
			row.Who = e.Who
		case e.Role == escalation.RoleAgent:
			row.Who = pg.W["agent"]
		default:
			row.Who, row.Via = pg.W["system"], ""
		}
		for _, f := range e.Files {
			row.Files = append(row.Files, fileRow{URL: "/console/attachments/" + strconv.FormatInt(f.ID, 10),
				Name: f.Name, Size: byteSize(f.Size)})
		}
		out = append(out, row)
	}
	return out
}

// conversationView fills what a ticket's and a conversation's pages share.
func (c *Console) conversationView(ctx context.Context, pg deskPage, info escalation.ConversationInfo, visitor string) (*ticketView, error) {
	thread, err := c.store.ConsoleThread(ctx, info.ID, pg.Lang)
	if err != nil {
		return nil, err
	}
	v := &ticketView{Conversation: info, Created: c.when(info.CreatedAt, pg.Lang),
		PageLang: pg.W["lang_"+info.Lang], Entries: c.entries(thread, pg, visitor)}
	if v.PageLang == "" {
		v.PageLang = info.Lang
	}
	if info.Chat != nil {
		v.ChatURL = "/console/chats/" + strconv.FormatInt(info.ID, 10) + "?lang=" + pg.Lang
		v.ChatStatus = pg.W["chat_"+string(info.Chat.Status)]
	}
	return v, nil
}

// ticketPage serves GET /console/tickets/{ref}: the ticket, its whole
// thread with the internal notes, the reply box, the status buttons and
// the note box.
func (c *Console) ticketPage(w http.ResponseWriter, r *http.Request, ref string) error {
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.deskSession(w, r, lang)
	if err != nil || sess == nil {
		return err
	}
	pg := c.newDeskPage("ticket", r, lang, sess, token)
	switch {
	case r.URL.Query().Get("sent") == "1":
		pg.Notice = pg.W["sent"]
	case r.URL.Query().Get("status") != "":
		pg.Notice = pg.W["status_changed"]
	case r.URL.Query().Get("noted") == "1":
		pg.Notice = pg.W["noted"]
	}
	return c.showTicket(w, r, pg, ref, "", http.StatusOK)
}

// showTicket renders a ticket's page with draft in its reply box.
func (c *Console) showTicket(w http.ResponseWriter, r *http.Request, pg deskPage, ref, draft string, status int) error {
	ctx := r.Context()
	t, err := c.store.TicketByRef(ctx, ref)
	if err != nil {
		return c.deskRefusal(w, pg, err)
	}
	info, err := c.store.ConversationInfo(ctx, t.ConversationID)
	if err != nil {
		return fmt.Errorf("console: ticket page: %w", err)
	}
	visitor := t.Name
	if visitor == "" {
		visitor = pg.W["visitor"]
	}
	v, err := c.conversationView(ctx, pg, info, visitor)
	if err != nil {
		return fmt.Errorf("console: ticket page: %w", err)
	}
	v.Row, v.Draft = c.ticketRow(t, pg), draft
	// A returning visitor's conversation may hold several requests, one
	// after the other; the thread shows them all.
	all, err := c.store.TicketsOfConversation(ctx, t.ConversationID)
	if err != nil {
		return fmt.Errorf("console: ticket page: %w", err)
	}
	for _, o := range all {
		if o.ID != t.ID {
			v.Others = append(v.Others, c.ticketRow(o, pg))
		}
	}
	base := "/console/tickets/" + url.PathEscape(t.Ref)
	pg.OtherURL = base + "?lang=" + pg.Other
	v.ReplyAction, v.StatusAction, v.NotesAction = base+"/reply?lang="+pg.Lang, base+"/status?lang="+pg.Lang,
		base+"/notes?lang="+pg.Lang
	for _, st := range []string{escalation.StatusOpen, escalation.StatusPending, escalation.StatusSolved} {
		if st != t.Status {
			v.Statuses = append(v.Statuses, ticketTab{Status: st, Label: pg.W["set_"+st]})
		}
	}
	canned, err := c.store.CannedResponses(ctx, "")
	if err != nil {
		return fmt.Errorf("console: ticket page: %w", err)
	}
	langs := []string{"en", "fr"}
	if t.Lang == "fr" {
		langs = []string{"fr", "en"}
	}
	for _, l := range langs {
		g := cannedGroup{Label: pg.W["lang_group_"+l]}
		for _, cr := range canned {
			if cr.Lang == l {
				g.List = append(g.List, cr)
			}
		}
		if len(g.List) > 0 {
			v.CannedGroups = append(v.CannedGroups, g)
		}
	}
	pg.Ticket, pg.CannedJS = v, assets.url("canned.js")
	return renderDesk(w, status, pg)
}

// ticketReply serves POST /console/tickets/{ref}/reply: text is mailed to
// the visitor through the outbox (Desk.AgentReply), and the ticket waits
// on them. With insert=1 it sends nothing: the chosen canned response is
// added to the text and the page comes back, for browsers without the
// script.
func (c *Console) ticketReply(w http.ResponseWriter, r *http.Request, ref string) error {
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.deskPost(w, r, lang)
	if err != nil || sess == nil {
		return err
	}
	ctx := r.Context()
	pg := c.newDeskPage("ticket", r, lang, sess, token)
	text := r.PostForm.Get("text")
	if r.PostForm.Get("insert") == "1" {
		id, err := strconv.ParseInt(r.PostForm.Get("canned"), 10, 64)
		if err == nil {
			cr, err := c.store.CannedResponse(ctx, id)
			if err != nil && escalation.ErrorCode(err) != escalation.ENOTFOUND {
				return fmt.Errorf("console: insert canned response: %w", err)
			} else if err == nil {
				text = joinDraft(text, cr.Body)
			}
		}
		return c.showTicket(w, r, pg, ref, text, http.StatusOK)
	}
	if c.opt.Desk == nil {
		pg.Error = pg.W["no_desk"]
		return c.showTicket(w, r, pg, ref, text, http.StatusServiceUnavailable)
	}
	msg, err := c.opt.Desk.AgentReply(ctx, sess.Agent, ref, text)
	var ve *escalation.ValidationError
	switch {
	case errors.As(err, &ve):
		pg.Error = pg.W["reply_invalid"]
		return c.showTicket(w, r, pg, ref, text, http.StatusUnprocessableEntity)
	case err != nil:
		return c.deskRefusal(w, pg, err)
	}
	c.log.Info("console ticket reply", "agent_id", sess.Agent.ID, "ticket", strings.ToUpper(ref),
		"conversation_id", msg.ConversationID, "seq", msg.Seq)
	c.hub.Publish(msg.ConversationID) // a bubble still open on the conversation shows the answer at once
	http.Redirect(w, r, "/console/tickets/"+url.PathEscape(ref)+"?sent=1&lang="+lang, http.StatusSeeOther)
	return nil
}

// joinDraft appends a canned response to what the agent typed, after a
// blank line.
func joinDraft(draft, add string) string {
	draft = strings.TrimRight(draft, " \t\r\n")
	if draft == "" {
		return add
	}
	return draft + "\n\n" + add
}

// ticketStatus serves POST /console/tickets/{ref}/status: status=open,
// pending or solved.
func (c *Console) ticketStatus(w http.ResponseWriter, r *http.Request, ref string) error {
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.deskPost(w, r, lang)
	if err != nil || sess == nil {
		return err
	}
	pg := c.newDeskPage("ticket", r, lang, sess, token)
	status := r.PostForm.Get("status")
	t, err := c.store.SetTicketStatus(r.Context(), ref, status)
	if err != nil {
		return c.deskRefusal(w, pg, err)
	}
	c.log.Info("console ticket status", "agent_id", sess.Agent.ID, "ticket", t.Ref, "status", t.Status)
	http.Redirect(w, r, "/console/tickets/"+url.PathEscape(t.Ref)+"?status="+t.Status+"&lang="+lang, http.StatusSeeOther)
	return nil
}

// deskAttachment serves GET /console/attachments/{id} to any signed-in
// agent (agents see every conversation), as a download that no browser
// renders (escalation.ServeAttachment).
func (c *Console) deskAttachment(w http.ResponseWriter, r *http.Request, idParam string) error {
	lang := pickLang(r, c.opt.DefaultLang)
	sess, token, err := c.deskSession(w, r, lang)
	if err != nil || sess == nil {
		return err
	}
	pg := c.newDeskPage("refused", r, lang, sess, token)
	id, perr := strconv.ParseInt(idParam, 10, 64)
	if perr != nil || id <= 0 || c.opt.Desk == nil {
		return c.deskRefusal(w, pg, escalation.ErrNotFound)
	}
	a, f, err := c.opt.Desk.AgentAttachment(r.Context(), id)
	if err != nil {
		return c.deskRefusal(w, pg, err)
	}
	c.log.Info("console attachment download", "agent_id", sess.Agent.ID, "attachment_id", a.ID, "conversation_id", a.ConversationID)
	escalation.ServeAttachment(w, r, a, f)
	return nil
}
