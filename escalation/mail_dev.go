package escalation

import (
	"context"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// LogUnsentMail logs one line for each mail queued while no SMTP server is
// configured, so that none goes unnoticed, until ctx is done. The line
// names the mail, never its addresses or text, and points at the local
// page that shows it (pageURL, such as http://localhost:8080/dev/mail).
func LogUnsentMail(ctx context.Context, store *Store, log *slog.Logger, pageURL string) {
	var last int64
	poll := time.NewTicker(DefaultPollInterval)
	defer poll.Stop()
	for {
		for {
			mails, err := store.unsentMailAfter(ctx, last, maxPage)
			if err != nil {
				if ctx.Err() == nil {
					log.Error("outbox: read unsent mail", "err", err)
				}
				break
			}
			for _, m := range mails {
				log.Warn("mail queued, not sent: no smtp.host configured", "outbox_id", m.ID,
					"message_id", m.MessageID, "kind", m.Kind, "view", pageURL+"/"+strconv.FormatInt(m.ID, 10))
				last = m.ID
			}
			if len(mails) < maxPage {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-store.MailQueued():
		case <-poll.C:
		}
	}
}

// DevMailPage is the local development page of the outbox, for a server
// with no SMTP configured: GET /dev/mail lists the mails, newest first, and
// GET /dev/mail/{id} shows one rendered, headers, text and HTML. It answers
// only requests from this machine (see fromLoopback) and 404 to any other,
// and escapes everything; the HTML of a mail is shown as source, and
// rendered only inside a sandboxed frame that runs no script and loads
// nothing from the network.
type DevMailPage struct {
	store *Store
	log   *slog.Logger
	mux   *http.ServeMux
}

// NewDevMailPage returns the page for store's outbox. Mount it at /dev/mail.
func NewDevMailPage(store *Store, log *slog.Logger) *DevMailPage {
	p := &DevMailPage{store: store, log: log, mux: http.NewServeMux()}
	p.mux.HandleFunc("GET /dev/mail", p.list)
	p.mux.HandleFunc("GET /dev/mail/{id}", p.show)
	p.mux.HandleFunc("GET /dev/mail/{id}/html", p.html)
	return p
}

// devPageCSP lets the page use its inline style and frame its own mails'
// HTML, and nothing else: no script, no remote image, no form.
const devPageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// devHTMLCSP serves a mail's HTML in a sandbox: a unique origin with no
// script, showing only inline styles and data: images (no tracking pixel).
const devHTMLCSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"

func (p *DevMailPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !fromLoopback(r) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	p.mux.ServeHTTP(w, r)
}

// fromLoopback reports a request made on this machine to a loopback name:
// the peer is a loopback address, no proxy forwarded it (a reverse proxy on
// the same host connects from loopback too, but adds these headers), and
// the Host is a loopback name, which also turns away DNS rebinding.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return false
	}
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	name := r.Host
	if h, _, err := net.SplitHostPort(name); err == nil {
		name = h
	}
	return isLoopbackHost(strings.Trim(name, "[]"))
}

type devMailRow struct {
	OutboxMail
	Status string
}

func (p *DevMailPage) list(w http.ResponseWriter, r *http.Request) {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	mails, err := p.store.OutboxMails(r.Context(), before, 100)
	if err != nil {
		p.fail(w, err)
		return
	}
	now := p.store.Now()
	rows := make([]devMailRow, len(mails))
	for i, m := range mails {
		rows[i] = devMailRow{OutboxMail: m, Status: m.Status(now)}
	}
	var next int64
	if len(mails) == 100 {
		next = mails[len(mails)-1].ID
	}
	p.render(w, devListPage, map[string]any{"Mails": rows, "Next": next})
}

func (p *DevMailPage) mail(w http.ResponseWriter, r *http.Request) (OutboxMail, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.NotFound(w, r)
		return OutboxMail{}, false
	}
	m, err := p.store.OutboxMail(r.Context(), id)
	if ErrorCode(err) == ENOTFOUND {
		http.NotFound(w, r)
		return OutboxMail{}, false
	} else if err != nil {
		p.fail(w, err)
		return OutboxMail{}, false
	}
	return m, true
}

func (p *DevMailPage) show(w http.ResponseWriter, r *http.Request) {
	m, ok := p.mail(w, r)
	if !ok {
		return
	}
	data := map[string]any{"Mail": m, "Status": m.Status(p.store.Now())}
	raw, err := RenderMail(m)
	if err != nil {
		data["RenderError"] = err.Error()
	} else {
		data["Raw"] = string(raw)
		if msg, err := mail.ReadMessage(strings.NewReader(string(raw))); err == nil {
			var headers [][2]string
			for _, name := range []string{"Date", "From", "To", "Reply-To", "Subject", "Message-ID", "In-Reply-To", "References", "Auto-Submitted", "Content-Type"} {
				if v := msg.Header.Get(name); v != "" {
					shown := v
					if d, err := wordDecoder.DecodeHeader(v); err == nil {
						shown = d
					}
					headers = append(headers, [2]string{name, shown})
				}
			}
			data["Headers"] = headers
		}
	}
	p.render(w, devShowPage, data)
}

func (p *DevMailPage) html(w http.ResponseWriter, r *http.Request) {
	m, ok := p.mail(w, r)
	if !ok {
		return
	}
	if m.HTML == "" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Security-Policy", devHTMLCSP)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(m.HTML))
}

func (p *DevMailPage) render(w http.ResponseWriter, t *template.Template, data any) {
	w.Header().Set("Content-Security-Policy", devPageCSP)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := t.Execute(w, data); err != nil {
		p.log.Debug("dev mail page: write", "err", err)
	}
}

func (p *DevMailPage) fail(w http.ResponseWriter, err error) {
	p.log.Error("dev mail page", "err", err)
	http.Error(w, "Internal error.", http.StatusInternalServerError)
}

const devStyle = `<style>
body{font:15px/1.4 system-ui,sans-serif;margin:2rem auto;max-width:64rem;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
pre{background:#f6f6f6;padding:1rem;overflow:auto;white-space:pre-wrap}iframe{width:100%;height:30rem;border:1px solid #ccc}
.queued,.sending{color:#a60}.sent{color:#080}.failed{color:#c00}
</style>`

var devListPage = template.Must(template.New("list").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Outbox (development)</title>` + devStyle + `</head><body>
<h1>Outbox</h1>
<p>No SMTP server is configured (<code>smtp.host</code>), so mail stays here, queued. Set one and it leaves on its own.</p>
<table><tr><th>#</th><th>Status</th><th>Kind</th><th>To</th><th>Subject</th><th>Queued</th></tr>
{{range .Mails}}<tr><td><a href="/dev/mail/{{.ID}}">{{.ID}}</a></td><td class="{{.Status}}">{{.Status}}</td><td>{{.Kind}}</td>
<td>{{.To}}</td><td><a href="/dev/mail/{{.ID}}">{{.Subject}}</a></td><td>{{.CreatedAt.Format "2006-01-02 15:04:05 MST"}}</td></tr>
{{else}}<tr><td colspan="6">No mail yet.</td></tr>{{end}}
</table>
{{if .Next}}<p><a href="/dev/mail?before={{.Next}}">Older</a></p>{{end}}
</body></html>
`))

var devShowPage = template.Must(template.New("show").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Mail {{.Mail.ID}} (development)</title>` + devStyle + `</head><body>
<p><a href="/dev/mail">Outbox</a></p>
<h1>{{.Mail.Subject}}</h1>
<p>Status <b class="{{.Status}}">{{.Status}}</b>, kind {{.Mail.Kind}}, {{.Mail.Attempts}} attempts.{{if .Mail.LastError}} Last error: {{.Mail.LastError}}{{end}}</p>
{{if .RenderError}}<p class="failed">Cannot render: {{.RenderError}}</p>{{end}}
<table>{{range .Headers}}<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>{{end}}</table>
<h2>Text</h2>
<pre>{{.Mail.Text}}</pre>
{{if .Mail.HTML}}<h2>HTML</h2>
<iframe sandbox src="/dev/mail/{{.Mail.ID}}/html" title="HTML part"></iframe>
<details><summary>HTML source</summary><pre>{{.Mail.HTML}}</pre></details>{{end}}
{{if .Raw}}<details><summary>Message as sent (RFC 5322)</summary><pre>{{.Raw}}</pre></details>{{end}}
</body></html>
`))
