package widget

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"golang.org/x/time/rate"
)

// "My requests": the pages where a visitor sees their own tickets, after
// proving by a sign-in link mailed to them that they read the address.
// Server-rendered, no JavaScript, FR/EN. The rules (links, sessions, what
// an address may see) live in escalation; these pages only carry them.
//
//	GET  /requests                  the form: your email
//	POST /requests                  mails a link if the address has requests; always the same answer
//	GET  /requests/login?t=…        "Continue": looking at a link does not use it (mail scanners fetch links)
//	POST /requests/login            uses the link once, sets the session cookie
//	GET  /requests/list             the address's tickets and transcripts, with their threads
//	GET  /requests/attachments/{id} a file of one of them, as a download
//	POST /requests/logout           ends the session

// Requests is what the pages need; *escalation.Desk is one.
type Requests interface {
	SendRequestsLink(ctx context.Context, email, lang, linkBase string) error
	RequestsLinkLang(ctx context.Context, token string) (string, error)
	OpenRequestsSession(ctx context.Context, linkToken string) (string, escalation.RequestsSession, error)
	RequestsSession(ctx context.Context, token string) (escalation.RequestsSession, error)
	EndRequestsSession(ctx context.Context, token string) error
	Requests(ctx context.Context, email, lang string) ([]escalation.Request, error)
	RequestsAttachment(ctx context.Context, email string, id int64) (escalation.Attachment, *os.File, error)
}

var _ Requests = (*escalation.Desk)(nil)

//go:embed static/requests.html
var requestsFS embed.FS

var requestsTemplate = template.Must(template.ParseFS(requestsFS, "static/requests.html"))

// Cookies of the pages, both limited to /requests, HttpOnly and
// SameSite=Strict: no other site's page can send them along.
const (
	requestsSessionCookie = "bulle_requests"
	requestsCSRFCookie    = "bulle_requests_csrf"
)

// Rate limits of the link form. Per IP: a person mistyping gets a few
// tries; a script walking a list of addresses is slowed to a crawl. Per
// address: the owner's mailbox does not fill with links.
var (
	requestsPerIP      = limit{every: 2 * time.Minute, burst: 5}
	requestsPerAddress = limit{every: 5 * time.Minute, burst: 3}
)

var requestsWords = map[string]map[string]string{
	"fr": {
		"title": "Mes demandes", "back": "Centre d'aide", "other": "English", "contact": "Nous contacter",
		"intro":      "Saisissez l'adresse e-mail avec laquelle vous nous avez écrit : nous y envoyons un lien de connexion, valable une fois et 20 minutes. Pas de mot de passe.",
		"email":      "Votre e-mail",
		"send":       "Recevoir le lien",
		"sent":       "Si cette adresse a des demandes chez nous, un lien de connexion est en route. Ouvrez l'e-mail et cliquez sur le lien ; pensez à regarder dans les courriers indésirables.",
		"again":      "Demander un autre lien",
		"fix":        "À corriger :",
		"expired":    "le formulaire a expiré ; renvoyez-le",
		"too_fast":   "trop de demandes de lien ; réessayez dans quelques minutes",
		"no_base":    "ce centre d'aide n'a pas d'adresse publique configurée (base_url) : il ne peut pas envoyer de lien",
		"continue_q": "Vous allez vous connecter à vos demandes.",
		"continue":   "Continuer",
		"dead_link":  "Ce lien a déjà servi ou a expiré. Demandez-en un nouveau.",
		"signed_in":  "Connecté en tant que",
		"logout":     "Se déconnecter",
		"signed_out": "Vous êtes déconnecté.",
		"none":       "Aucune demande pour cette adresse.",
		"ticket":     "Demande", "conversation": "Conversation", "topic": "Thème", "status": "État",
		"opened": "Ouverte le", "updated": "Mise à jour le", "transcript_sent": "Transcription envoyée le",
		"open": "Ouverte", "pending": "En attente de votre réponse", "solved": "Résolue",
		"files": "Pièces jointes", "reply_hint": "Pour répondre, répondez à l'un de nos e-mails sur cette demande.",
		"when": "02/01/2006 15:04", "utc": "Heures en UTC.", "colon": " :",
	},
	"en": {
		"title": "My requests", "back": "Help center", "other": "Français", "contact": "Contact us",
		"intro":      "Enter the email address you wrote to us from: we send a sign-in link there, valid once and for 20 minutes. No password.",
		"email":      "Your email",
		"send":       "Send me the link",
		"sent":       "If this address has requests with us, a sign-in link is on its way. Open the email and click the link; check your spam folder too.",
		"again":      "Ask for another link",
		"fix":        "Please fix:",
		"expired":    "the form expired; send it again",
		"too_fast":   "too many link requests; try again in a few minutes",
		"no_base":    "this help center has no public address configured (base_url): it cannot send links",
		"continue_q": "You are about to sign in to your requests.",
		"continue":   "Continue",
		"dead_link":  "This link was already used or has expired. Ask for a new one.",
		"signed_in":  "Signed in as",
		"logout":     "Sign out",
		"signed_out": "You are signed out.",
		"none":       "No requests for this address.",
		"ticket":     "Request", "conversation": "Conversation", "topic": "Topic", "status": "Status",
		"opened": "Opened", "updated": "Updated", "transcript_sent": "Transcript sent",
		"open": "Open", "pending": "Waiting for you", "solved": "Solved",
		"files": "Attachments", "reply_hint": "To reply, answer one of our emails about this request.",
		"when": "2006-01-02 15:04", "utc": "Times are UTC.", "colon": ":",
	},
}

// requestsPage is what the template shows; Page names the part to draw.
type requestsPage struct {
	Page        string // form, sent, login, dead, list
	Lang, Other string
	T           map[string]string
	CSRF        string
	Error       string
	Notice      string
	Email       string
	Token       string
	Requests    []requestView
}

type requestView struct {
	Ref, Topic, Status, StatusClass string
	Opened, Updated, TranscriptSent string
	Lines                           []lineView
}

type lineView struct {
	When, Who, Role string
	Text, Quote     string
	ArticleTitle    string
	ArticleURL      string
	Choices         string
	Files           []fileView
}

type fileView struct{ URL, Name, Size string }

// requestsPages serves the pages; one per Widget, made by Register.
type requestsPages struct {
	w      *Widget
	byIP   *limiter
	byAddr *limiter
}

func (w *Widget) newRequestsPages() *requestsPages {
	return &requestsPages{w: w, byIP: newLimiter(requestsPerIP), byAddr: newLimiter(requestsPerAddress)}
}

// handler routes the pages, with the standard library's patterns: this
// file stays free of echo, which only mounts it.
func (p *requestsPages) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /requests", p.form)
	mux.HandleFunc("POST /requests", p.ask)
	mux.HandleFunc("GET /requests/login", p.loginPage)
	mux.HandleFunc("POST /requests/login", p.login)
	mux.HandleFunc("GET /requests/list", p.list)
	mux.HandleFunc("GET /requests/attachments/{id}", p.attachment)
	mux.HandleFunc("POST /requests/logout", p.logout)
	return mux
}

func (p *requestsPages) lang(r *http.Request, fallback string) string {
	switch l := r.URL.Query().Get("lang"); {
	case l == "fr" || l == "en":
		return l
	case fallback == "fr" || fallback == "en":
		return fallback
	}
	return p.w.contactLang("")
}

func (p *requestsPages) page(name, lang string) requestsPage {
	other := "fr"
	if lang == "fr" {
		other = "en"
	}
	return requestsPage{Page: name, Lang: lang, Other: other, T: requestsWords[lang]}
}

// form shows the address form, or the list to a visitor still signed in.
func (p *requestsPages) form(rw http.ResponseWriter, r *http.Request) {
	if sess, ok := p.session(r); ok {
		http.Redirect(rw, r, "/requests/list?lang="+p.lang(r, sess.Lang), http.StatusSeeOther)
		return
	}
	pg := p.page("form", p.lang(r, ""))
	if r.URL.Query().Get("out") == "1" {
		pg.Notice = pg.T["signed_out"]
	}
	p.render(rw, r, http.StatusOK, pg)
}

// ask mails a sign-in link. Whatever the address, the page says the same
// ("if this address has requests, a link is on its way"), so that it
// tells no one who wrote to us; the desk does the same work either way.
func (p *requestsPages) ask(rw http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(rw, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(rw, "The form is too large.", http.StatusRequestEntityTooLarge)
		return
	}
	pg := p.page("form", p.lang(r, ""))
	pg.Email = strings.TrimSpace(r.PostForm.Get("email"))
	now := time.Now()
	switch {
	case !p.csrfOK(r):
		pg.Error = pg.T["expired"]
		p.render(rw, r, http.StatusUnprocessableEntity, pg)
		return
	case !p.byIP.allow(clientIP(r), now) || !p.byAddr.allow(strings.ToLower(pg.Email), now):
		pg.Error = pg.T["too_fast"]
		p.render(rw, r, http.StatusTooManyRequests, pg)
		return
	}
	base, ok := p.linkBase(r)
	if !ok {
		p.w.log.Warn("requests link not sent: set base_url, the address links point to")
		pg.Error = pg.T["no_base"]
		p.render(rw, r, http.StatusServiceUnavailable, pg)
		return
	}
	err := p.w.opt.Requests.SendRequestsLink(r.Context(), pg.Email, pg.Lang, base)
	var ve *escalation.ValidationError
	switch {
	case errors.As(err, &ve):
		pg.Error = ve.Error()
		p.render(rw, r, http.StatusUnprocessableEntity, pg)
		return
	case err != nil:
		p.w.notFoundOr(rw, r, "send requests link", err)
		return
	}
	pg.Page = "sent"
	p.render(rw, r, http.StatusOK, pg)
}

// linkBase is the address links point to: base_url, or, without one, a
// loopback host (development) when the request came straight from this
// machine. Never any other Host header: whoever sends it would get the
// victim's link pointing at their site.
func (p *requestsPages) linkBase(r *http.Request) (string, bool) {
	if p.w.opt.BaseURL != "" {
		return p.w.opt.BaseURL, true
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	host = strings.Trim(host, "[]")
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", false
	}
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return "", false
		}
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return scheme + r.Host, true
}

// loginPage shows the link's "Continue" button. Looking does not use the
// link: mail scanners and previews fetch links, and must not spend them.
func (p *requestsPages) loginPage(rw http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("t")
	lang, err := p.w.opt.Requests.RequestsLinkLang(r.Context(), token)
	if escalation.ErrorCode(err) == escalation.ENOTFOUND {
		p.render(rw, r, http.StatusNotFound, p.page("dead", p.lang(r, "")))
		return
	} else if err != nil {
		p.w.notFoundOr(rw, r, "check requests link", err)
		return
	}
	pg := p.page("login", p.lang(r, lang))
	pg.Token = token
	p.render(rw, r, http.StatusOK, pg)
}

// login uses the link, once, and opens the session.
func (p *requestsPages) login(rw http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(rw, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(rw, "The form is too large.", http.StatusRequestEntityTooLarge)
		return
	}
	token := r.PostForm.Get("t")
	if !p.csrfOK(r) {
		pg := p.page("login", p.lang(r, ""))
		pg.Token, pg.Error = token, pg.T["expired"]
		p.render(rw, r, http.StatusUnprocessableEntity, pg)
		return
	}
	cookie, sess, err := p.w.opt.Requests.OpenRequestsSession(r.Context(), token)
	if escalation.ErrorCode(err) == escalation.ENOTFOUND {
		p.render(rw, r, http.StatusNotFound, p.page("dead", p.lang(r, "")))
		return
	} else if err != nil {
		p.w.notFoundOr(rw, r, "open requests session", err)
		return
	}
	http.SetCookie(rw, &http.Cookie{Name: requestsSessionCookie, Value: cookie, Path: "/requests", HttpOnly: true,
		Secure: p.secure(r), SameSite: http.SameSiteStrictMode, Expires: sess.ExpiresAt})
	p.w.log.Info("requests session opened")
	http.Redirect(rw, r, "/requests/list?lang="+p.lang(r, sess.Lang), http.StatusSeeOther)
}

// list shows the signed-in address's requests, and nobody else's: the
// desk reads only what belongs to the session's address.
func (p *requestsPages) list(rw http.ResponseWriter, r *http.Request) {
	sess, ok := p.session(r)
	if !ok {
		http.Redirect(rw, r, "/requests?lang="+p.lang(r, ""), http.StatusSeeOther)
		return
	}
	pg := p.page("list", p.lang(r, sess.Lang))
	pg.Email = sess.Email
	reqs, err := p.w.opt.Requests.Requests(r.Context(), sess.Email, pg.Lang)
	if err != nil {
		p.w.notFoundOr(rw, r, "list requests", err)
		return
	}
	for _, req := range reqs {
		pg.Requests = append(pg.Requests, viewOf(req, pg.T))
	}
	p.render(rw, r, http.StatusOK, pg)
}

// attachment downloads a file of one of the session's requests; any
// other id is 404, as one that does not exist.
func (p *requestsPages) attachment(rw http.ResponseWriter, r *http.Request) {
	sess, ok := p.session(r)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if !ok || err != nil || id <= 0 {
		http.NotFound(rw, r)
		return
	}
	a, f, err := p.w.opt.Requests.RequestsAttachment(r.Context(), sess.Email, id)
	if err != nil {
		p.w.notFoundOr(rw, r, "open attachment", err)
		return
	}
	p.w.log.Info("attachment downloaded", "conversation_id", a.ConversationID, "attachment_id", a.ID, "by", "requests session")
	escalation.ServeAttachment(rw, r, a, f)
}

// logout ends the session, in the database and in the browser.
func (p *requestsPages) logout(rw http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(rw, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil || !p.csrfOK(r) {
		http.Redirect(rw, r, "/requests/list?lang="+p.lang(r, ""), http.StatusSeeOther)
		return
	}
	if c, err := r.Cookie(requestsSessionCookie); err == nil {
		if err := p.w.opt.Requests.EndRequestsSession(r.Context(), c.Value); err != nil {
			p.w.notFoundOr(rw, r, "end requests session", err)
			return
		}
	}
	http.SetCookie(rw, &http.Cookie{Name: requestsSessionCookie, Value: "", Path: "/requests", HttpOnly: true,
		Secure: p.secure(r), SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(rw, r, "/requests?out=1&lang="+p.lang(r, ""), http.StatusSeeOther)
}

// session returns the live session of the request's cookie.
func (p *requestsPages) session(r *http.Request) (escalation.RequestsSession, bool) {
	c, err := r.Cookie(requestsSessionCookie)
	if err != nil || c.Value == "" {
		return escalation.RequestsSession{}, false
	}
	sess, err := p.w.opt.Requests.RequestsSession(r.Context(), c.Value)
	if err != nil {
		if escalation.ErrorCode(err) != escalation.ENOTFOUND {
			p.w.log.Error("widget failure", "action", "requests session", "err", err)
		}
		return escalation.RequestsSession{}, false
	}
	return sess, true
}

// csrfOK checks the form's token against the cookie: a post from another
// site's page has neither.
func (p *requestsPages) csrfOK(r *http.Request) bool {
	c, err := r.Cookie(requestsCSRFCookie)
	return err == nil && sameCSRF(r.PostForm.Get("csrf"), c.Value)
}

func (p *requestsPages) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(p.w.opt.BaseURL, "https://")
}

// render draws a page with its own strict policy, and a fresh CSRF token
// for its forms.
func (p *requestsPages) render(rw http.ResponseWriter, r *http.Request, status int, pg requestsPage) {
	pg.CSRF = newCSRF()
	http.SetCookie(rw, &http.Cookie{Name: requestsCSRFCookie, Value: pg.CSRF, Path: "/requests", HttpOnly: true,
		Secure: p.secure(r), SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	var buf bytes.Buffer
	if err := requestsTemplate.Execute(&buf, pg); err != nil {
		p.w.notFoundOr(rw, r, "requests page", err)
		return
	}
	h := rw.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer") // the login page's URL holds the link's token
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	rw.WriteHeader(status)
	rw.Write(buf.Bytes())
}

// viewOf prepares one request for the page.
func viewOf(req escalation.Request, t map[string]string) requestView {
	when := func(at time.Time) string {
		if at.IsZero() {
			return ""
		}
		return at.UTC().Format(t["when"])
	}
	v := requestView{Opened: when(req.StartedAt), Updated: when(req.UpdatedAt), TranscriptSent: when(req.TranscriptSentAt)}
	if tk := req.Ticket; tk != nil {
		v.Ref, v.Topic, v.Status, v.StatusClass = tk.Ref, req.TopicLabel, t[tk.Status], tk.Status
	}
	for _, l := range req.Lines {
		lv := lineView{When: when(l.At), Who: l.Who, Role: string(l.Role), Text: l.Text, Quote: l.Quote,
			ArticleTitle: l.ArticleTitle, ArticleURL: l.ArticleURL, Choices: strings.Join(l.Choices, " / ")}
		for _, f := range l.Files {
			lv.Files = append(lv.Files, fileView{URL: "/requests/attachments/" + strconv.FormatInt(f.ID, 10),
				Name: f.Name, Size: humanSize(f.Size)})
		}
		v.Lines = append(v.Lines, lv)
	}
	return v
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// clientIP is the address the request came from: the connection's. A
// reverse proxy in front makes every visitor share its address, which
// only makes the limit stricter; headers a client can forge are ignored.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limit is a rate: one more every, up to burst at once.
type limit struct {
	every time.Duration
	burst int
}

// limiter keeps one token bucket per key (an IP, an address), forgetting
// them all after ten quiet minutes so that the map cannot grow forever.
type limiter struct {
	lim  limit
	mu   sync.Mutex
	keys map[string]*rate.Limiter
	seen time.Time
}

func newLimiter(l limit) *limiter { return &limiter{lim: l} }

func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.keys == nil || now.Sub(l.seen) > 10*time.Minute || len(l.keys) > 100_000 {
		l.keys = map[string]*rate.Limiter{}
	}
	l.seen = now
	b := l.keys[key]
	if b == nil {
		b = rate.NewLimiter(rate.Every(l.lim.every), l.lim.burst)
		l.keys[key] = b
	}
	return b.AllowN(now, 1)
}
