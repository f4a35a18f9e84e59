package widget

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ParseOrigin checks that s is a web origin, scheme://host[:port] with an
// http or https scheme and nothing after the host, and returns it in the
// form browsers send in the Origin header: lower case, default port left out.
func ParseOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	switch {
	case err != nil:
		return "", fmt.Errorf("origin %q: %v", s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("origin %q: want http:// or https://", s)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("origin %q: no host", s)
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return "", fmt.Errorf("origin %q: want only scheme://host[:port], without path, query or user", s)
	case strings.Contains(u.Hostname(), "*"):
		return "", fmt.Errorf("origin %q: wildcards are not allowed; list each site", s)
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6
	}
	if port != "" {
		host = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	return u.Scheme + "://" + host, nil
}

// originList is the set of sites allowed to open the visitor WebSocket.
type originList struct {
	exact map[string]bool
}

func newOriginList(allowed []string, baseURL string) (*originList, error) {
	l := &originList{exact: map[string]bool{}}
	for _, a := range allowed {
		o, err := ParseOrigin(a)
		if err != nil {
			return nil, err
		}
		l.exact[o] = true
	}
	if baseURL != "" {
		u, err := url.Parse(baseURL)
		if err != nil {
			return nil, fmt.Errorf("base url %q: %v", baseURL, err)
		}
		o, err := ParseOrigin(u.Scheme + "://" + u.Host)
		if err != nil {
			return nil, fmt.Errorf("base url: %w", err)
		}
		l.exact[o] = true
	}
	return l, nil
}

// allows reports whether a request with this Origin header, sent to host
// (the request's Host header), may open the WebSocket. A request without
// Origin does not come from a browser page and is allowed: the token, not
// the origin, protects a conversation. The server's own host is allowed.
func (l *originList) allows(origin, host string) bool {
	if origin == "" {
		return true
	}
	o, err := ParseOrigin(origin)
	if err != nil {
		return false // "null" (sandboxed frames, file://) and garbage
	}
	if l.exact[o] {
		return true
	}
	u, _ := url.Parse(o)
	return host != "" && strings.EqualFold(u.Host, host)
}

// patterns are the allowed origins as coder/websocket's OriginPatterns,
// which it matches with path.Match after our own check: glob characters
// are escaped so that each pattern matches its origin exactly.
func (l *originList) patterns() []string {
	var out []string
	for o := range l.exact {
		r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
		out = append(out, r.Replace(o))
	}
	return out
}
