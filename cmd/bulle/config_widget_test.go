package main

import (
	"slices"
	"strings"
	"testing"
)

func TestConfigWidget(t *testing.T) {
	file := writeConfig(t, `
[widget]
allowed_origins = ["https://shop.example", "http://localhost:3000"]
max_frame_bytes = 4096
`)
	tests := []struct {
		name        string
		args        []string
		env         map[string]string
		wantOrigins []string
		wantFrame   int
	}{
		{"defaults", nil, nil, []string{}, 8192},
		{"file", []string{"--config", file}, nil, []string{"https://shop.example", "http://localhost:3000"}, 4096},
		{"env over file", []string{"--config", file},
			map[string]string{"BULLE_WIDGET_ALLOWED_ORIGINS": " https://a.example, https://b.example:8443 ,", "BULLE_WIDGET_MAX_FRAME_BYTES": "2048"},
			[]string{"https://a.example", "https://b.example:8443"}, 2048},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := loadArgs(tt.args, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Widget.AllowedOrigins, tt.wantOrigins) || c.Widget.MaxFrameBytes != tt.wantFrame {
				t.Errorf("got origins %q, max frame %d; want %q, %d",
					c.Widget.AllowedOrigins, c.Widget.MaxFrameBytes, tt.wantOrigins, tt.wantFrame)
			}
		})
	}
}

func TestConfigWidgetValidate(t *testing.T) {
	tests := []struct {
		name    string
		origins []string
		frame   int
		wantErr string // "" means valid
	}{
		{"origins with ports", []string{"https://shop.example", "http://127.0.0.1:3000", "http://[::1]:8080"}, 8192, ""},
		{"trailing slash is tolerated", []string{"https://shop.example/"}, 8192, ""},
		{"no scheme", []string{"shop.example"}, 8192, "widget.allowed_origins"},
		{"a path", []string{"https://shop.example/help"}, 8192, "widget.allowed_origins"},
		{"a wildcard", []string{"https://*.example.com"}, 8192, "wildcards"},
		{"a star alone", []string{"*"}, 8192, "widget.allowed_origins"},
		{"ftp", []string{"ftp://shop.example"}, 8192, "widget.allowed_origins"},
		{"frame too small", nil, 100, "widget.max_frame_bytes"},
		{"frame too big", nil, 8 << 20, "widget.max_frame_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Widget.AllowedOrigins, c.Widget.MaxFrameBytes = tt.origins, tt.frame
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

func TestConfigWidgetEnvErrors(t *testing.T) {
	_, _, err := loadArgs(nil, env(map[string]string{"BULLE_WIDGET_MAX_FRAME_BYTES": "8k"}))
	if err == nil || !strings.Contains(err.Error(), "BULLE_WIDGET_MAX_FRAME_BYTES") {
		t.Errorf("got %v, want an error naming the variable", err)
	}
}
