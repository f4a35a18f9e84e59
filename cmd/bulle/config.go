package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
	"github.com/bulle-help/bulle/widget"
)

// DefaultConfigPath is the config file read when neither --config nor
// BULLE_CONFIG names one. It is optional: Bulle runs without it.
const DefaultConfigPath = "bulle.toml"

// supportedLangs are the languages kb has analyzers for.
var supportedLangs = []string{"en", "fr"}

// Config is every setting of the program. It is read from an optional TOML
// file, then BULLE_* environment variables, then command-line flags, each
// overriding the one before.
type Config struct {
	Addr        string   `toml:"addr"`
	DataDir     string   `toml:"data_dir"`
	ArticlesDir string   `toml:"articles_dir"`
	BaseURL     string   `toml:"base_url"`
	DefaultLang string   `toml:"default_lang"`
	Langs       []string `toml:"langs"`
	Log         struct {
		Level  string `toml:"level"`
		Format string `toml:"format"`
	} `toml:"log"`
	Server struct {
		// TrustedProxies are the reverse proxies, as CIDRs, whose
		// X-Forwarded-For is believed for the client's address (per-client
		// limits, logs). Empty: the connection's address, headers ignored.
		TrustedProxies []string `toml:"trusted_proxies"`
	} `toml:"server"`
	Bot struct {
		// Threshold is the confidence, from 0 to 1, under which the bot
		// offers a person instead of answering from an article.
		Threshold float64 `toml:"threshold"`
		// ClarifyRatio: when the second article scores at least this share
		// of the first, the bot asks which one the visitor means.
		ClarifyRatio float64 `toml:"clarify_ratio"`
		// Unsupported are the topics support does not cover, declined
		// politely; the file's list replaces the default one.
		Unsupported []bot.Topic `toml:"unsupported"`
	} `toml:"bot"`
	Hours  escalation.HoursConfig `toml:"hours"`
	Widget struct {
		// AllowedOrigins are the sites, as scheme://host[:port], whose pages
		// may open the assistant's WebSocket. The help center's own origin
		// is always allowed.
		AllowedOrigins []string `toml:"allowed_origins"`
		// MaxFrameBytes bounds one frame from a visitor's bubble.
		MaxFrameBytes int `toml:"max_frame_bytes"`
		// IdentitySecret is shared with the sites that sign their visitor's
		// identity (data-identity, docs/identity.md); empty accepts none.
		IdentitySecret Secret `toml:"identity_secret"`
	} `toml:"widget"`
	SMTP struct {
		// Host of the SMTP server mail leaves through; empty keeps mail in
		// the outbox, shown at /dev/mail.
		Host     string `toml:"host"`
		Port     int    `toml:"port"`
		Username string `toml:"username"`
		Password Secret `toml:"password"`
		From     string `toml:"from"`
		// TLS is escalation.TLSStartTLS, TLSImplicit or TLSNone.
		TLS string `toml:"tls"`
		// ReplyDomain is the domain of reply+<token>@ addresses and of
		// Message-IDs; From's domain when empty.
		ReplyDomain string `toml:"reply_domain"`
		// InboundAddr is where the built-in SMTP server for replies
		// listens, host:port; empty turns it off.
		InboundAddr string `toml:"inbound_addr"`
	} `toml:"smtp"`
	Chat struct {
		// MaxWait is the longest estimated wait for which a visitor who
		// asks for a person is queued for live chat; past it, the bubble
		// offers an email ticket instead.
		MaxWait time.Duration `toml:"max_wait"`
		// AbandonAfter is how long a queued visitor may be away (no
		// bubble of the conversation open) before their chat leaves the
		// queue: the time to reload a page or come back from another tab.
		AbandonAfter time.Duration `toml:"abandon_after"`
	} `toml:"chat"`
	Retention struct {
		// Days after their last activity that conversations and tickets
		// are deleted, attachments included; 0 keeps them forever.
		Days int `toml:"days"`
	} `toml:"retention"`
	Metrics struct {
		// Public serves GET /metrics to any client; false (the default)
		// answers 404 to all but this machine's, not through a proxy.
		Public bool `toml:"public"`
	} `toml:"metrics"`
}

// DefaultConfig is the configuration with no file, no environment and no flags.
func DefaultConfig() Config {
	var c Config
	c.Addr = "127.0.0.1:8080"
	c.DataDir = "./data"
	c.ArticlesDir = "./articles"
	c.DefaultLang = "en"
	c.Langs = []string{"en", "fr"}
	c.Log.Level = "info"
	c.Log.Format = "text"
	c.Server.TrustedProxies = []string{}
	c.Bot.Threshold = bot.DefaultThreshold
	c.Bot.ClarifyRatio = bot.DefaultClarifyRatio
	c.Bot.Unsupported = bot.DefaultUnsupported
	c.Hours = escalation.DefaultHours()
	c.Widget.AllowedOrigins = []string{}
	c.Widget.MaxFrameBytes = widget.DefaultMaxFrameBytes
	c.SMTP.Port = 587
	c.SMTP.TLS = escalation.TLSStartTLS
	c.Chat.MaxWait = widget.DefaultChatMaxWait
	c.Chat.AbandonAfter = widget.DefaultChatAbandonAfter
	return c
}

// ReadConfigFile overlays the TOML file at path onto c. A key the Config
// does not know is an error, so that a typo is not silently ignored.
func ReadConfigFile(c *Config, path string) error {
	md, err := toml.DecodeFile(path, c)
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		keys := make([]string, len(undecoded))
		for i, k := range undecoded {
			keys[i] = k.String()
		}
		return fmt.Errorf("config %s: unknown keys: %s", path, strings.Join(keys, ", "))
	}
	return nil
}

// ApplyEnv overlays the BULLE_* variables that getenv reports as set and
// non-empty onto c.
func ApplyEnv(c *Config, getenv func(string) string) error {
	strs := []struct {
		name string
		dst  *string
	}{
		{"BULLE_ADDR", &c.Addr},
		{"BULLE_DATA", &c.DataDir},
		{"BULLE_ARTICLES", &c.ArticlesDir},
		{"BULLE_BASE_URL", &c.BaseURL},
		{"BULLE_DEFAULT_LANG", &c.DefaultLang},
		{"BULLE_LOG_LEVEL", &c.Log.Level},
		{"BULLE_LOG_FORMAT", &c.Log.Format},
		{"BULLE_SMTP_HOST", &c.SMTP.Host},
		{"BULLE_SMTP_USERNAME", &c.SMTP.Username},
		{"BULLE_SMTP_FROM", &c.SMTP.From},
		{"BULLE_SMTP_TLS", &c.SMTP.TLS},
		{"BULLE_SMTP_REPLY_DOMAIN", &c.SMTP.ReplyDomain},
		{"BULLE_SMTP_INBOUND_ADDR", &c.SMTP.InboundAddr},
	}
	for _, s := range strs {
		if v := getenv(s.name); v != "" {
			*s.dst = v
		}
	}
	if v := getenv("BULLE_SMTP_PASSWORD"); v != "" {
		c.SMTP.Password = Secret(v)
	}
	if v := getenv("BULLE_WIDGET_IDENTITY_SECRET"); v != "" {
		c.Widget.IdentitySecret = Secret(v)
	}
	if v := getenv("BULLE_LANGS"); v != "" {
		c.Langs = nil
		for _, l := range strings.Split(v, ",") {
			c.Langs = append(c.Langs, strings.TrimSpace(l))
		}
	}
	if v := getenv("BULLE_BOT_THRESHOLD"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("BULLE_BOT_THRESHOLD=%q: not a number", v)
		}
		c.Bot.Threshold = f
	}
	if v := getenv("BULLE_HOURS_TIMEZONE"); v != "" {
		c.Hours.Timezone = v
	}
	if v := getenv("BULLE_SERVER_TRUSTED_PROXIES"); v != "" {
		c.Server.TrustedProxies = nil
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.Server.TrustedProxies = append(c.Server.TrustedProxies, p)
			}
		}
	}
	if v := getenv("BULLE_WIDGET_ALLOWED_ORIGINS"); v != "" {
		c.Widget.AllowedOrigins = nil
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				c.Widget.AllowedOrigins = append(c.Widget.AllowedOrigins, o)
			}
		}
	}
	if v := getenv("BULLE_WIDGET_MAX_FRAME_BYTES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("BULLE_WIDGET_MAX_FRAME_BYTES=%q: not a whole number", v)
		}
		c.Widget.MaxFrameBytes = n
	}
	if v := getenv("BULLE_CHAT_ABANDON_AFTER"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("BULLE_CHAT_ABANDON_AFTER=%q: not a duration, such as \"2m\"", v)
		}
		c.Chat.AbandonAfter = d
	}
	if v := getenv("BULLE_RETENTION_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("BULLE_RETENTION_DAYS=%q: not a whole number", v)
		}
		c.Retention.Days = n
	}
	if v := getenv("BULLE_SMTP_PORT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("BULLE_SMTP_PORT=%q: not a whole number", v)
		}
		c.SMTP.Port = n
	}
	return nil
}

// Validate returns an error naming every bad value, or nil.
func (c Config) Validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }

	if host, port, err := net.SplitHostPort(c.Addr); err != nil {
		bad("addr %q: want host:port, such as 127.0.0.1:8080", c.Addr)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("addr %q: port %q is not a number from 0 to 65535", c.Addr, port)
	} else if strings.ContainsAny(host, " /") {
		bad("addr %q: bad host %q", c.Addr, host)
	}
	if c.DataDir == "" {
		bad("data_dir is empty")
	}
	if c.ArticlesDir == "" {
		bad("articles_dir is empty")
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		switch {
		case err != nil:
			bad("base_url %q: %v", c.BaseURL, err)
		case u.Scheme != "http" && u.Scheme != "https":
			bad("base_url %q: want an http:// or https:// URL", c.BaseURL)
		case u.Host == "":
			bad("base_url %q: no host", c.BaseURL)
		case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			bad("base_url %q: want no user, query or fragment", c.BaseURL)
		}
	}
	for _, p := range c.Server.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil {
			bad("server.trusted_proxies: %q is not a CIDR: want an address and a prefix length, such as 10.0.0.0/8 or 127.0.0.1/32", p)
		}
	}
	if len(c.Langs) == 0 {
		bad("langs is empty: want some of %s", strings.Join(supportedLangs, ", "))
	}
	for i, l := range c.Langs {
		if !slices.Contains(supportedLangs, l) {
			bad("langs: unknown language %q: want one of %s", l, strings.Join(supportedLangs, ", "))
		} else if slices.Index(c.Langs, l) != i {
			bad("langs: %q is listed twice", l)
		}
	}
	if !slices.Contains(c.Langs, c.DefaultLang) {
		bad("default_lang %q is not in langs [%s]", c.DefaultLang, strings.Join(c.Langs, ", "))
	}
	if _, err := c.LogLevel(); err != nil {
		bad("%v", err)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format %q: want text or json", c.Log.Format)
	}
	if t := c.Bot.Threshold; math.IsNaN(t) || t < 0 || t > 1 {
		bad("bot.threshold %v: want a number from 0 to 1", t)
	}
	if r := c.Bot.ClarifyRatio; math.IsNaN(r) || r < 0 || r > 1 {
		bad("bot.clarify_ratio %v: want a number from 0 to 1", r)
	}
	for i, t := range c.Bot.Unsupported {
		if err := t.Validate(c.Langs); err != nil {
			bad("bot.unsupported[%d]: %v", i, err)
		}
	}
	if _, err := escalation.NewHours(c.Hours); err != nil {
		bad("%v", err)
	}
	for _, o := range c.Widget.AllowedOrigins {
		if _, err := widget.ParseOrigin(o); err != nil {
			bad("widget.allowed_origins: %v", err)
		}
	}
	// 1 KiB still fits a 250-character message in any script; 1 MiB is
	// far past any question and would let one visitor make the server
	// buffer megabytes per frame.
	if n := c.Widget.MaxFrameBytes; n < 1<<10 || n > 1<<20 {
		bad("widget.max_frame_bytes %d: want 1024 to 1048576", n)
	}
	if n := len(c.Widget.IdentitySecret.Reveal()); n > 0 && n < escalation.MinIdentitySecret {
		bad("widget.identity_secret: %d characters, want at least %d (such as the output of: openssl rand -hex 32)",
			n, escalation.MinIdentitySecret)
	}
	if c.SMTP.Port < 0 || c.SMTP.Port > 65535 {
		bad("smtp.port %d: want a number from 0 to 65535", c.SMTP.Port)
	}
	if c.SMTP.From != "" {
		if _, err := mail.ParseAddress(c.SMTP.From); err != nil {
			bad("smtp.from %q: not an email address", c.SMTP.From)
		}
	}
	c.validateSMTP(bad)
	// Under a minute, no estimate (a minute at least) would ever queue
	// anyone; a day is far past any wait worth promising.
	if d := c.Chat.MaxWait; d < time.Minute || d > 24*time.Hour {
		bad("chat.max_wait %q: want 1m to 24h, such as \"10m\"", d)
	}
	if d := c.Chat.AbandonAfter; d <= 0 {
		bad("chat.abandon_after %q: want a duration over 0, such as \"2m\"", d)
	}
	if c.Retention.Days < 0 {
		bad("retention.days %d: want 0 (keep forever) or more", c.Retention.Days)
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.New("config: " + strings.Join(errs, "; "))
}

// domainName matches a host name such as help.example.com or localhost.
var domainName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

// validateSMTP checks the [smtp] settings that go beyond one value.
func (c Config) validateSMTP(bad func(format string, args ...any)) {
	s := c.SMTP
	switch s.TLS {
	case escalation.TLSStartTLS, escalation.TLSImplicit, escalation.TLSNone:
	default:
		bad("smtp.tls %q: want %s, %s or %s", s.TLS, escalation.TLSStartTLS, escalation.TLSImplicit, escalation.TLSNone)
	}
	if s.Host != "" && s.From == "" {
		bad("smtp.from is empty: mail needs a sender address, such as \"Bulle <no-reply@example.com>\"")
	}
	if strings.ContainsAny(s.Host, " /:@") {
		bad("smtp.host %q: want a host name or an IP address, without a port", s.Host)
	}
	if s.Host != "" && s.Username != "" && s.TLS == escalation.TLSNone && !isLoopback(s.Host) {
		bad("smtp.tls none: would send the password in clear text to %s; use starttls or tls", s.Host)
	}
	if s.ReplyDomain != "" && !domainName.MatchString(s.ReplyDomain) {
		bad("smtp.reply_domain %q: want a domain name, such as help.example.com", s.ReplyDomain)
	}
	if s.InboundAddr != "" {
		if _, port, err := net.SplitHostPort(s.InboundAddr); err != nil {
			bad("smtp.inbound_addr %q: want host:port, such as 127.0.0.1:2525", s.InboundAddr)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad("smtp.inbound_addr %q: port %q is not a number from 0 to 65535", s.InboundAddr, port)
		}
		if c.ReplyDomain() == "" {
			bad("smtp.inbound_addr needs smtp.reply_domain (or smtp.from) to know which addresses to accept")
		}
	}
}

// ReplyDomain is the domain of reply addresses and Message-IDs:
// smtp.reply_domain, else the domain of smtp.from, else "".
func (c Config) ReplyDomain() string {
	if c.SMTP.ReplyDomain != "" {
		return strings.ToLower(c.SMTP.ReplyDomain)
	}
	if a, err := mail.ParseAddress(c.SMTP.From); err == nil {
		if at := strings.LastIndexByte(a.Address, '@'); at >= 0 {
			return strings.ToLower(a.Address[at+1:])
		}
	}
	return ""
}

// MailFrom is the sender of every mail Bulle writes: smtp.from, else a
// no-reply address at the reply domain, else at localhost (for mail that
// only the development page will show).
func (c Config) MailFrom() string {
	if c.SMTP.From != "" {
		return c.SMTP.From
	}
	if d := c.ReplyDomain(); d != "" {
		return "Bulle <no-reply@" + d + ">"
	}
	return "Bulle <no-reply@localhost>"
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// TrustedProxyNets returns server.trusted_proxies parsed; call it on a
// validated config (a bad entry is skipped).
func (c Config) TrustedProxyNets() []*net.IPNet {
	var nets []*net.IPNet
	for _, p := range c.Server.TrustedProxies {
		if _, n, err := net.ParseCIDR(p); err == nil {
			nets = append(nets, n)
		}
	}
	return nets
}

// SecureCookies reports whether the public URL is https, in which case
// cookies carry the Secure attribute.
func (c Config) SecureCookies() bool {
	return strings.HasPrefix(strings.ToLower(c.BaseURL), "https://")
}

// LogLevel parses Log.Level.
func (c Config) LogLevel() (slog.Level, error) {
	switch c.Log.Level {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log.level %q: want debug, info, warn or error", c.Log.Level)
}

// NewLogger returns the logger the config asks for, writing to w. Call it
// on a validated config: an unknown level falls back to info.
func (c Config) NewLogger(w io.Writer) *slog.Logger {
	level, _ := c.LogLevel()
	opt := &slog.HandlerOptions{Level: level}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opt))
	}
	return slog.New(slog.NewTextHandler(w, opt))
}

// LogValue prints the config on one log line, secrets masked.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("data_dir", c.DataDir),
		slog.String("articles_dir", c.ArticlesDir),
		slog.String("base_url", c.BaseURL),
		slog.String("default_lang", c.DefaultLang),
		slog.String("langs", strings.Join(c.Langs, ",")),
		slog.String("log_level", c.Log.Level),
		slog.String("log_format", c.Log.Format),
		slog.String("server_trusted_proxies", strings.Join(c.Server.TrustedProxies, ",")),
		slog.Float64("bot_threshold", c.Bot.Threshold),
		slog.Float64("bot_clarify_ratio", c.Bot.ClarifyRatio),
		slog.String("hours_timezone", c.Hours.Timezone),
		slog.String("widget_allowed_origins", strings.Join(c.Widget.AllowedOrigins, ",")),
		slog.Int("widget_max_frame_bytes", c.Widget.MaxFrameBytes),
		slog.Any("widget_identity_secret", c.Widget.IdentitySecret),
		slog.String("smtp_host", c.SMTP.Host),
		slog.Int("smtp_port", c.SMTP.Port),
		slog.String("smtp_username", c.SMTP.Username),
		slog.Any("smtp_password", c.SMTP.Password),
		slog.String("smtp_from", c.SMTP.From),
		slog.String("smtp_tls", c.SMTP.TLS),
		slog.String("smtp_reply_domain", c.SMTP.ReplyDomain),
		slog.String("smtp_inbound_addr", c.SMTP.InboundAddr),
		slog.Duration("chat_max_wait", c.Chat.MaxWait),
		slog.Duration("chat_abandon_after", c.Chat.AbandonAfter),
		slog.Int("retention_days", c.Retention.Days),
	)
}

// Secret is a string that never prints: logs, %v and JSON show "***" when
// it is set and "" when it is not.
type Secret string

func (s Secret) mask() string {
	if s == "" {
		return ""
	}
	return "***"
}

// String masks the secret.
func (s Secret) String() string { return s.mask() }

// GoString masks the secret for %#v.
func (s Secret) GoString() string { return strconv.Quote(s.mask()) }

// LogValue masks the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.mask()) }

// MarshalText masks the secret in JSON and TOML output.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.mask()), nil }

// Reveal returns the secret itself, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }
