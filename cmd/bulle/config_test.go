package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/bulle-help/bulle/bot"
)

// writeConfig writes a TOML config file and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bulle.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// loadArgs parses args as "bulle serve" does and builds the config.
func loadArgs(args []string, getenv func(string) string) (Config, string, error) {
	f := newFlagSet("serve", "", new(bytes.Buffer))
	if _, err := f.parse(args); err != nil {
		return Config{}, "", err
	}
	return f.load(getenv)
}

func TestConfigPrecedence(t *testing.T) {
	file := writeConfig(t, `
addr = "127.0.0.1:1111"
data_dir = "/from/file"
default_lang = "fr"
[bot]
threshold = 0.5
`)
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		wantAddr  string
		wantData  string
		wantLang  string
		wantThres float64
	}{
		{"defaults", nil, nil, "127.0.0.1:8080", "./data", "en", bot.DefaultThreshold},
		{"file over defaults", []string{"--config", file}, nil, "127.0.0.1:1111", "/from/file", "fr", 0.5},
		{"config file named by env", nil, map[string]string{"BULLE_CONFIG": file}, "127.0.0.1:1111", "/from/file", "fr", 0.5},
		{"env over file", []string{"--config", file},
			map[string]string{"BULLE_ADDR": "127.0.0.1:2222", "BULLE_DEFAULT_LANG": "en", "BULLE_BOT_THRESHOLD": "0.7"},
			"127.0.0.1:2222", "/from/file", "en", 0.7},
		{"flag over env and file", []string{"--config", file, "--addr", "127.0.0.1:3333", "--data", "/from/flag"},
			map[string]string{"BULLE_ADDR": "127.0.0.1:2222", "BULLE_DATA": "/from/env"},
			"127.0.0.1:3333", "/from/flag", "fr", 0.5},
		{"flag given with its default value still wins", []string{"--addr", "127.0.0.1:8080"},
			map[string]string{"BULLE_ADDR": "127.0.0.1:2222"}, "127.0.0.1:8080", "./data", "en", bot.DefaultThreshold},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := loadArgs(tt.args, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.Addr != tt.wantAddr || c.DataDir != tt.wantData || c.DefaultLang != tt.wantLang || c.Bot.Threshold != tt.wantThres {
				t.Errorf("got addr %s, data %s, lang %s, threshold %v; want %s, %s, %s, %v",
					c.Addr, c.DataDir, c.DefaultLang, c.Bot.Threshold, tt.wantAddr, tt.wantData, tt.wantLang, tt.wantThres)
			}
		})
	}
}

func TestConfigDefaultFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	c, path, err := loadArgs(nil, noEnv)
	if err != nil || path != "" || c.Addr != "127.0.0.1:8080" {
		t.Fatalf("without bulle.toml: got %q, %q, %v; want the defaults and no file", c.Addr, path, err)
	}
	if err := os.WriteFile(filepath.Join(dir, DefaultConfigPath), []byte(`addr = "127.0.0.1:4444"`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, path, err = loadArgs(nil, noEnv)
	if err != nil || path != DefaultConfigPath || c.Addr != "127.0.0.1:4444" {
		t.Errorf("with bulle.toml: got %q, %q, %v; want 127.0.0.1:4444 from %s", c.Addr, path, err, DefaultConfigPath)
	}
}

func TestConfigFileErrors(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		wantErr []string
	}{
		{"unknown keys are named", "adr = \"x\"\n[smtp]\nhost = \"mail\"\npasword = \"x\"\n", []string{"unknown keys", "adr", "smtp.pasword"}},
		{"wrong type", `addr = 8080`, []string{"addr"}},
		{"bad TOML", `addr = `, []string{"bulle.toml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadArgs([]string{"--config", writeConfig(t, tt.text)}, noEnv)
			if err == nil {
				t.Fatalf("got nil, want an error containing %q", tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("got %q, want it to contain %q", err, want)
				}
			}
		})
	}
	if _, _, err := loadArgs([]string{"--config", "/no/such/bulle.toml"}, noEnv); err == nil {
		t.Error("missing --config file: got nil, want an error")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(c *Config)
		wantErr string // "" means valid
	}{
		{"defaults are valid", func(c *Config) {}, ""},
		{"port 0 is valid", func(c *Config) { c.Addr = "127.0.0.1:0" }, ""},
		{"any interface", func(c *Config) { c.Addr = ":8080" }, ""},
		{"addr without port", func(c *Config) { c.Addr = "localhost" }, `addr "localhost"`},
		{"addr with bad port", func(c *Config) { c.Addr = "localhost:http80" }, "port"},
		{"addr port too big", func(c *Config) { c.Addr = "localhost:70000" }, "port"},
		{"unknown lang", func(c *Config) { c.Langs = []string{"en", "de"} }, `unknown language "de"`},
		{"no langs", func(c *Config) { c.Langs = nil }, "langs is empty"},
		{"lang twice", func(c *Config) { c.Langs = []string{"en", "en"} }, "twice"},
		{"default lang not in langs", func(c *Config) { c.Langs = []string{"fr"} }, `default_lang "en" is not in langs`},
		{"threshold above 1", func(c *Config) { c.Bot.Threshold = 1.5 }, "bot.threshold"},
		{"threshold below 0", func(c *Config) { c.Bot.Threshold = -0.1 }, "bot.threshold"},
		{"unsupported topic without a french pointer", func(c *Config) {
			c.Bot.Unsupported = []bot.Topic{{Name: "crypto", Phrases: map[string][]string{"en": {"bitcoin"}, "fr": {"bitcoin"}},
				Pointer: map[string]string{"en": "/en/policies/not-covered"}}}
		}, "bot.unsupported[0]: topic \"crypto\": want pointer.fr"},
		{"base url https", func(c *Config) { c.BaseURL = "https://help.example.com" }, ""},
		{"base url without scheme", func(c *Config) { c.BaseURL = "help.example.com" }, "base_url"},
		{"base url ftp", func(c *Config) { c.BaseURL = "ftp://help.example.com" }, "base_url"},
		{"base url with query", func(c *Config) { c.BaseURL = "https://help.example.com/?a=b" }, "base_url"},
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, "log.level"},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format"},
		{"smtp port", func(c *Config) { c.SMTP.Port = 99999 }, "smtp.port"},
		{"smtp from", func(c *Config) { c.SMTP.From = "not an address" }, "smtp.from"},
		{"empty data dir", func(c *Config) { c.DataDir = "" }, "data_dir"},
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

func TestConfigEnvErrors(t *testing.T) {
	for name, value := range map[string]string{"BULLE_BOT_THRESHOLD": "high", "BULLE_SMTP_PORT": "25a"} {
		_, _, err := loadArgs(nil, env(map[string]string{name: value}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: got %v, want an error naming the variable", name, value, err)
		}
	}
	c, _, err := loadArgs(nil, env(map[string]string{"BULLE_LANGS": "fr", "BULLE_DEFAULT_LANG": "fr"}))
	if err != nil || len(c.Langs) != 1 || c.Langs[0] != "fr" {
		t.Errorf("BULLE_LANGS=fr: got %v, %v; want [fr]", c.Langs, err)
	}
}

func TestSecureCookies(t *testing.T) {
	for url, want := range map[string]bool{"": false, "http://help.example.com": false, "https://help.example.com": true, "HTTPS://Help.example.com": true} {
		c := DefaultConfig()
		c.BaseURL = url
		if got := c.SecureCookies(); got != want {
			t.Errorf("%q: got %v, want %v", url, got, want)
		}
	}
}

func TestConfigMasksSecrets(t *testing.T) {
	const secret = "hunter2-very-secret"
	file := writeConfig(t, "[smtp]\nhost = \"mail.example.com\"\nfrom = \"no-reply@example.com\"\npassword = \""+secret+"\"\n")
	c, _, err := loadArgs([]string{"--config", file}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTP.Password.Reveal() != secret {
		t.Fatalf("password: got %q, want the file's", c.SMTP.Password.Reveal())
	}
	fromEnv, _, err := loadArgs(nil, env(map[string]string{"BULLE_SMTP_PASSWORD": secret}))
	if err != nil || fromEnv.SMTP.Password.Reveal() != secret {
		t.Fatalf("password from env: got %q, %v; want it set", fromEnv.SMTP.Password.Reveal(), err)
	}

	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("config", "config", c)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("config", "config", c)
	jsonConfig, _ := json.Marshal(c)
	outputs := map[string]string{
		"slog text": text.String(),
		"slog json": js.String(),
		"%v":        fmt.Sprintf("%v", c),
		"%+v":       fmt.Sprintf("%+v", c),
		"%#v":       fmt.Sprintf("%#v", c),
		"json":      string(jsonConfig),
	}
	for name, out := range outputs {
		if strings.Contains(out, secret) {
			t.Errorf("%s: got %s, want the password masked", name, out)
		}
		if !strings.Contains(out, "***") {
			t.Errorf("%s: got %s, want *** for the password", name, out)
		}
	}
	if !strings.Contains(text.String(), "config.smtp_host=mail.example.com") {
		t.Errorf("slog text: got %s, want the other settings shown", text.String())
	}

	var empty bytes.Buffer
	slog.New(slog.NewTextHandler(&empty, nil)).Info("config", "config", DefaultConfig())
	if strings.Contains(empty.String(), "***") {
		t.Errorf("no password: got %s, want no ***", empty.String())
	}
}

// TestExampleConfig keeps bulle.example.toml true: it loads without
// unknown keys, documents every key, and shows the real defaults.
func TestExampleConfig(t *testing.T) {
	const example = "../../bulle.example.toml"
	c := DefaultConfig()
	if err := ReadConfigFile(&c, example); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, DefaultConfig()) {
		t.Errorf("example values: got %+v, want the defaults %+v", c, DefaultConfig())
	}
	documented := map[string]bool{}
	md, err := toml.DecodeFile(example, &map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range md.Keys() {
		documented[k.String()] = true
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	all, err := toml.Decode(buf.String(), &map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range all.Keys() {
		if !documented[k.String()] {
			t.Errorf("key %s: got undocumented, want it in %s", k, example)
		}
	}
}
