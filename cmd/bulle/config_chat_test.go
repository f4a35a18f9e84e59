package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestConfigChatMaxWait(t *testing.T) {
	file := writeConfig(t, "[chat]\nmax_wait = \"4m30s\"\n")
	c, _, err := loadArgs([]string{"--config", file}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Chat.MaxWait != 4*time.Minute+30*time.Second {
		t.Errorf("from the file: got %v, want 4m30s", c.Chat.MaxWait)
	}
	if d := DefaultConfig().Chat.MaxWait; d != 10*time.Minute {
		t.Errorf("default: got %v, want 10m", d)
	}
	tests := []struct {
		name    string
		wait    time.Duration
		wantErr string
	}{
		{"the default", 10 * time.Minute, ""},
		{"a minute", time.Minute, ""},
		{"a day", 24 * time.Hour, ""},
		{"under a minute queues nobody", 30 * time.Second, "chat.max_wait"},
		{"zero", 0, "chat.max_wait"},
		{"over a day", 25 * time.Hour, "chat.max_wait"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Chat.MaxWait = tt.wait
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

func TestConfigChatAbandonAfter(t *testing.T) {
	if d := DefaultConfig().Chat.AbandonAfter; d != 2*time.Minute {
		t.Errorf("default: got %v, want 2m", d)
	}
	file := writeConfig(t, "[chat]\nabandon_after = \"45s\"\n")
	c, _, err := loadArgs([]string{"--config", file}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Chat.AbandonAfter != 45*time.Second {
		t.Errorf("from the file: got %v, want 45s", c.Chat.AbandonAfter)
	}
	c, _, err = loadArgs([]string{"--config", file}, env(map[string]string{"BULLE_CHAT_ABANDON_AFTER": "5m"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Chat.AbandonAfter != 5*time.Minute {
		t.Errorf("from the environment over the file: got %v, want 5m", c.Chat.AbandonAfter)
	}
	if _, _, err := loadArgs(nil, env(map[string]string{"BULLE_CHAT_ABANDON_AFTER": "two minutes"})); err == nil ||
		!strings.Contains(err.Error(), "BULLE_CHAT_ABANDON_AFTER") {
		t.Errorf("a bad duration in the environment: got %v, want an error naming BULLE_CHAT_ABANDON_AFTER", err)
	}
	tests := []struct {
		name    string
		after   time.Duration
		wantErr string
	}{
		{"the default", 2 * time.Minute, ""},
		{"a second", time.Second, ""},
		{"zero", 0, "chat.abandon_after"},
		{"negative", -time.Minute, "chat.abandon_after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Chat.AbandonAfter = tt.after
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want valid", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	var out strings.Builder
	slog.New(slog.NewTextHandler(&out, nil)).Info("config", "config", DefaultConfig())
	if !strings.Contains(out.String(), "chat_abandon_after=2m0s") {
		t.Errorf("printed at start: got %s, want chat_abandon_after=2m0s", out.String())
	}
}
