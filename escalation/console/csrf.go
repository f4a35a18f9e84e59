package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// Cross-site request forgery. Every state-changing request carries a
// token that another site's page cannot know, and a browser's Origin
// (or Sec-Fetch-Site) that must be this site's:
//
//   - signed in (logout, away, the socket handshake): a synchronizer
//     token bound to the session, HMAC-SHA256 of a fixed label keyed by
//     the session's own token. Nothing is stored; it changes with the
//     session, and knowing it reveals nothing of the session's token.
//   - before a session (login, setup): double submit. A random token in
//     a cookie (HttpOnly, SameSite=Strict, Path=/console) and the same in
//     the form.
//
// The session cookie is SameSite=Strict as well, so a cross-site form
// does not even carry it; the tokens hold where SameSite does not (a
// sibling subdomain is "same site").

// csrfCookie holds the pre-session token.
const csrfCookie = "bulle_console_csrf"

// csrfLabel is what a session's CSRF token is the HMAC of.
const csrfLabel = "bulle console csrf v1"

// randomToken returns 32 random bytes in base64url.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionCSRF is the CSRF token of the session whose cookie holds token.
func sessionCSRF(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte(csrfLabel))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sameToken compares a token sent with the expected one in constant
// time; an empty token never matches.
func sameToken(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// wellFormed says whether a cookie's token looks like one we made, so a
// planted odd value is replaced rather than reused.
func wellFormed(token string) bool {
	if len(token) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil
}

// sameOrigin says whether a browser request comes from a page of this
// site. With an Origin header, its host must be the request's Host or
// base_url's. Without one (some browsers omit it on same-origin form
// posts), Sec-Fetch-Site, when sent, must not say cross-site. "null"
// (a sandboxed frame, or a page whose referrer policy is no-referrer)
// passes only with Sec-Fetch-Site: same-origin. required refuses a
// request with no Origin at all: browsers always send one on a WebSocket
// handshake.
func sameOrigin(r *http.Request, baseURL string, required bool) bool {
	o, site := r.Header.Get("Origin"), r.Header.Get("Sec-Fetch-Site")
	switch {
	case o == "" && required:
		return false
	case o == "":
		return site == "" || site == "same-origin" || site == "none"
	case o == "null":
		return !required && site == "same-origin"
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false // a file: page, an extension…
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	if b, err := url.Parse(baseURL); err == nil && baseURL != "" && strings.EqualFold(u.Scheme, b.Scheme) && strings.EqualFold(u.Host, b.Host) {
		return true
	}
	return false
}
