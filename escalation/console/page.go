package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"strconv"

	"golang.org/x/text/language"
)

//go:embed static
var staticFS embed.FS

// pageTemplate draws every console page; Page names the part to draw.
// static/alerts.html holds the new-chat alert that every page with the
// console socket shows (here, home; chat.html and the desk's too).
var pageTemplate = template.Must(template.ParseFS(staticFS, "static/console.html", "static/alerts.html"))

// contentSecurityPolicy lets a console page load only its own stylesheet
// and script (no inline code at all), talk only to this origin (the
// socket), post forms only here, and be framed by no one.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

var words = map[string]map[string]string{
	"fr": {
		"title": "Console Bulle", "other": "English",
		"login": "Connexion", "email": "E-mail", "password": "Mot de passe", "sign_in": "Se connecter",
		"bad_login":  "Adresse ou mot de passe incorrect.",
		"too_many":   "Trop d'essais manqués. Réessayez dans %d minutes.",
		"expired":    "Le formulaire a expiré ou vient d'un autre site. Rechargez la page et recommencez.",
		"signed_out": "Vous êtes déconnecté.",
		"ended":      "Votre session est terminée. Reconnectez-vous.",
		"set":        "Mot de passe enregistré. Connectez-vous.",
		"setup":      "Choisir votre mot de passe", "account": "Compte :",
		"new_password": "Nouveau mot de passe", "confirm": "Le même, encore une fois", "save": "Enregistrer",
		"rules":    "De 12 à 256 caractères. Une phrase de quelques mots fait très bien l'affaire.",
		"bad_rule": "Le mot de passe doit compter de 12 à 256 caractères.",
		"mismatch": "Les deux mots de passe ne sont pas identiques.",
		"dead":     "Ce lien a déjà servi ou a expiré. Demandez-en un autre à un administrateur (bulle agent reset).",
		"hello":    "Bonjour %s", "role": "Rôle :", "agent": "agent", "admin": "administrateur",
		"status": "Statut :", "online": "en ligne", "away": "absent", "offline": "hors ligne",
		"set_away": "Me mettre absent", "set_back": "Revenir en ligne", "sign_out": "Se déconnecter",
		"nav_chats": "Discussions en direct", "nav_tickets": "Demandes par e-mail", "nav_search": "Rechercher une conversation",
		"nav_canned": "Réponses types", "nav_insights": "Indicateurs pour les rédacteurs",
		// The new-chat alert (alerts.html, alert.js).
		"alerts": "Discussions qui arrivent", "alert_new": "Nouvelle discussion en attente",
		"alert_dismiss": "Masquer", "notify_enable": "Activer les notifications",
	},
	"en": {
		"title": "Bulle console", "other": "Français",
		"login": "Sign in", "email": "Email", "password": "Password", "sign_in": "Sign in",
		"bad_login":  "Wrong email or password.",
		"too_many":   "Too many failed attempts. Try again in %d minutes.",
		"expired":    "The form expired or came from another site. Reload the page and try again.",
		"signed_out": "You are signed out.",
		"ended":      "Your session has ended. Sign in again.",
		"set":        "Password saved. Sign in.",
		"setup":      "Choose your password", "account": "Account:",
		"new_password": "New password", "confirm": "The same, once more", "save": "Save",
		"rules":    "12 to 256 characters. A sentence of a few words does very well.",
		"bad_rule": "The password must have 12 to 256 characters.",
		"mismatch": "The two passwords differ.",
		"dead":     "This link was already used or has expired. Ask an administrator for another (bulle agent reset).",
		"hello":    "Hello %s", "role": "Role:", "agent": "agent", "admin": "administrator",
		"status": "Status:", "online": "online", "away": "away", "offline": "offline",
		"set_away": "Set me away", "set_back": "Come back online", "sign_out": "Sign out",
		"nav_chats": "Live chats", "nav_tickets": "Email requests", "nav_search": "Find a conversation",
		"nav_canned": "Canned responses", "nav_insights": "Insights for editors",
		// The new-chat alert (alerts.html, alert.js).
		"alerts": "Incoming chats", "alert_new": "New chat waiting",
		"alert_dismiss": "Dismiss", "notify_enable": "Turn on notifications",
	},
}

// page is what the template shows.
type page struct {
	Page        string // login, setup, dead, home
	Lang, Other string
	T           map[string]string
	CSRF        string
	Notice      string
	Error       string
	Email       string
	Token       string // the setup link's, posted back
	Hello       string
	Role        string
	Away        bool
	CSSURL      string
	JSURL       string
	AlertJS     string // the new-chat alert's script, on pages with the console socket
}

// langMatcher picks the console's language from Accept-Language.
var langMatcher = language.NewMatcher([]language.Tag{language.English, language.French})

// pickLang is ?lang= when it is fr or en, else the best match of
// Accept-Language, else fallback.
func pickLang(r *http.Request, fallback string) string {
	switch l := r.URL.Query().Get("lang"); l {
	case "fr", "en":
		return l
	}
	if h := r.Header.Get("Accept-Language"); h != "" {
		tags, _, err := language.ParseAcceptLanguage(h)
		if err == nil && len(tags) > 0 {
			_, i, conf := langMatcher.Match(tags...)
			if conf != language.No {
				return []string{"en", "fr"}[i]
			}
		}
	}
	if fallback == "fr" {
		return "fr"
	}
	return "en"
}

func newPage(name, lang string) page {
	other := "fr"
	if lang == "fr" {
		other = "en"
	}
	return page{Page: name, Lang: lang, Other: other, T: words[lang], CSSURL: assets.url("console.css"), JSURL: assets.url("console.js"),
		AlertJS: assets.url("alert.js")}
}

// renderPage draws pg to bytes, so that a template failure becomes an
// error before anything is written.
func renderPage(pg page) ([]byte, error) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, pg); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// pageHeaders are the headers of every console page.
func pageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	// The setup page's URL holds its token: no other site may see it. Not
	// no-referrer, with which browsers send "Origin: null" on this site's
	// own form posts, and the origin check needs the real one.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Add("Vary", "Accept-Language")
}

// asset is an embedded file served under /console/static/, with an ETag
// of its content.
type asset struct {
	body        []byte
	etag        string
	contentType string
}

type assetSet map[string]asset

// url is the asset's address, versioned by its content so that a new
// release is fetched at once.
func (s assetSet) url(name string) string {
	return "/console/static/" + name + "?v=" + s[name].etag[1:9]
}

// assets are the console's stylesheets and scripts, read once.
var assets = func() assetSet {
	out := assetSet{}
	for name, typ := range map[string]string{"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8",
		"chat.css": "text/css; charset=utf-8", "chat.js": "text/javascript; charset=utf-8",
		"tickets.css": "text/css; charset=utf-8", "canned.js": "text/javascript; charset=utf-8",
		"alert.js": "text/javascript; charset=utf-8"} {
		b, err := staticFS.ReadFile("static/" + name)
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		out[name] = asset{body: b, etag: strconv.Quote(hex.EncodeToString(sum[:16])), contentType: typ}
	}
	return out
}()
