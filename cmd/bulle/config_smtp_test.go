package main

import (
	"strings"
	"testing"
)

func TestConfigSMTP(t *testing.T) {
	file := writeConfig(t, `
[smtp]
host = "smtp.example.com"
port = 465
from = "Bulle <no-reply@example.com>"
tls = "tls"
reply_domain = "reply.example.com"
inbound_addr = "127.0.0.1:2525"
`)
	tests := []struct {
		name                        string
		args                        []string
		env                         map[string]string
		wantTLS, wantDomain, wantIn string
	}{
		{"defaults", nil, nil, "starttls", "", ""},
		{"file", []string{"--config", file}, nil, "tls", "reply.example.com", "127.0.0.1:2525"},
		{"env over file", []string{"--config", file},
			map[string]string{"BULLE_SMTP_TLS": "none", "BULLE_SMTP_HOST": "127.0.0.1", "BULLE_SMTP_REPLY_DOMAIN": "in.example.com", "BULLE_SMTP_INBOUND_ADDR": "127.0.0.1:2626"},
			"none", "in.example.com", "127.0.0.1:2626"},
		{"reply domain from the sender", nil, map[string]string{"BULLE_SMTP_FROM": "Bulle <No-Reply@Help.Example.com>"}, "starttls", "help.example.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := loadArgs(tt.args, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.SMTP.TLS != tt.wantTLS || c.ReplyDomain() != tt.wantDomain || c.SMTP.InboundAddr != tt.wantIn {
				t.Errorf("got tls %q, reply domain %q, inbound %q; want %q, %q, %q",
					c.SMTP.TLS, c.ReplyDomain(), c.SMTP.InboundAddr, tt.wantTLS, tt.wantDomain, tt.wantIn)
			}
		})
	}
}

func TestConfigSMTPValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(c *Config)
		wantErr string // "" means valid
	}{
		{"no smtp at all", func(c *Config) {}, ""},
		{"a host with a sender", func(c *Config) { c.SMTP.Host, c.SMTP.From = "smtp.example.com", "no-reply@example.com" }, ""},
		{"a host without a sender", func(c *Config) { c.SMTP.Host = "smtp.example.com" }, "smtp.from is empty"},
		{"a host with a port in it", func(c *Config) { c.SMTP.Host, c.SMTP.From = "smtp.example.com:587", "a@example.com" }, "smtp.host"},
		{"unknown tls", func(c *Config) { c.SMTP.TLS = "ssl" }, "smtp.tls"},
		{"password in clear to a remote server", func(c *Config) {
			c.SMTP.Host, c.SMTP.From, c.SMTP.Username, c.SMTP.TLS = "smtp.example.com", "a@example.com", "u", "none"
		}, "clear text"},
		{"password in clear to a local relay", func(c *Config) {
			c.SMTP.Host, c.SMTP.From, c.SMTP.Username, c.SMTP.TLS = "127.0.0.1", "a@example.com", "u", "none"
		}, ""},
		{"reply domain with an at", func(c *Config) { c.SMTP.ReplyDomain = "reply@example.com" }, "smtp.reply_domain"},
		{"inbound without a domain", func(c *Config) { c.SMTP.InboundAddr = "127.0.0.1:2525" }, "needs smtp.reply_domain"},
		{"inbound without a port", func(c *Config) { c.SMTP.InboundAddr, c.SMTP.ReplyDomain = "127.0.0.1", "reply.example.com" }, "smtp.inbound_addr"},
		{"inbound on port 0", func(c *Config) { c.SMTP.InboundAddr, c.SMTP.ReplyDomain = "127.0.0.1:0", "reply.example.com" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want valid", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestConfigMailFrom(t *testing.T) {
	for _, tt := range []struct {
		name, from, domain, want string
	}{
		{"the configured sender", "Help <help@example.com>", "reply.example.com", "Help <help@example.com>"},
		{"no-reply at the reply domain", "", "reply.example.com", "Bulle <no-reply@reply.example.com>"},
		{"no-reply at localhost for the development page", "", "", "Bulle <no-reply@localhost>"},
	} {
		c := DefaultConfig()
		c.SMTP.From, c.SMTP.ReplyDomain = tt.from, tt.domain
		if got := c.MailFrom(); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
