package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestConfigWidgetIdentitySecret(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	file := writeConfig(t, "[widget]\nidentity_secret = \""+secret+"\"\n")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"none by default", nil, nil, ""},
		{"from the file", []string{"--config", file}, nil, secret},
		{"the environment over the file", []string{"--config", file},
			map[string]string{"BULLE_WIDGET_IDENTITY_SECRET": secret + "-env"}, secret + "-env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := loadArgs(tt.args, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Widget.IdentitySecret.Reveal(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			var log bytes.Buffer
			slog.New(slog.NewTextHandler(&log, nil)).Info("config", "config", c)
			if tt.want != "" && (strings.Contains(log.String(), tt.want) || !strings.Contains(log.String(), "widget_identity_secret=***")) {
				t.Errorf("log %s: want the secret masked", log.String())
			}
		})
	}
}

func TestConfigWidgetIdentitySecretValidate(t *testing.T) {
	for _, tt := range []struct {
		name, secret, wantErr string
	}{
		{"empty: no signed identities", "", ""},
		{"32 characters", strings.Repeat("k", 32), ""},
		{"too short to be a key", "hunter2", "widget.identity_secret: 7 characters, want at least 32"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Widget.IdentitySecret = Secret(tt.secret)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want valid", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error %q shows the secret", err)
			}
		})
	}
}
