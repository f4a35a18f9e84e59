package main

import (
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
