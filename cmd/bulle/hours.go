package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // the zone database travels with the binary, for hosts and images without one

	"github.com/fsnotify/fsnotify"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
	"github.com/bulle-help/bulle/widget"
)

// chatAvailability tells the bot whether live chat is open, from
// escalation's availability: the business hours in force and, once agents
// exist, their presence. escalation does not import bot, so this adapter
// converts its status to the bot's.
type chatAvailability struct{ a *escalation.Availability }

var _ bot.Availability = chatAvailability{}

func (c chatAvailability) ChatStatus(ctx context.Context, at time.Time) bot.ChatStatus {
	st := c.a.ChatStatus(ctx, at)
	if st.Open {
		return bot.ChatStatus{Open: true}
	}
	return bot.ChatStatus{NextOpen: st.NextOpen}
}

// newAvailability builds the availability from cfg.Hours.
func newAvailability(cfg Config) (*escalation.Availability, error) {
	h, err := escalation.NewHours(cfg.Hours)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return escalation.NewAvailability(h), nil
}

// availabilityOptions are the availability API's settings from cfg.
func availabilityOptions(cfg Config) escalation.AvailabilityOptions {
	opt := escalation.AvailabilityOptions{DefaultLang: cfg.DefaultLang}
	for _, o := range cfg.Widget.AllowedOrigins {
		if o, err := widget.ParseOrigin(o); err == nil { // Validate has refused the others
			opt.AllowedOrigins = append(opt.AllowedOrigins, o)
		}
	}
	return opt
}

// reloadDebounce lets an editor finish writing the config file (truncate,
// write, rename: several events) before it is read.
const reloadDebounce = 100 * time.Millisecond

// hoursReloader applies a changed config file to a running server. Only the
// business hours are applied: every other setting needs a restart, and the
// ones that changed are logged as not applied.
type hoursReloader struct {
	avail   *escalation.Availability
	load    func() (Config, string, error) // the start-up pipeline: defaults, file, environment, flags, Validate
	running Config                         // the settings in force
	log     *slog.Logger
	path    string // the config file to watch; "" for none

	watcher *fsnotify.Watcher
	last    []byte // the file's content last read, so that other files' events are ignored
}

// reload reads the config again and, when it is valid, puts its hours in
// force; when it is not, it logs why and keeps the hours in force.
func (r *hoursReloader) reload(reason string) {
	c, path, err := r.load()
	var h *escalation.Hours
	if err == nil {
		h, err = escalation.NewHours(c.Hours) // checked by Validate already
	}
	if err != nil {
		r.log.Error("config reload refused, keeping the current business hours",
			"reason", reason, "file", path, "err", err)
		return
	}
	if changed := changedSettings(r.running, c); len(changed) > 0 {
		r.log.Warn("config changes not applied: restart to apply them",
			"file", path, "settings", strings.Join(changed, ","))
	}
	hoursChanged := !reflect.DeepEqual(r.running.Hours, c.Hours)
	r.avail.Set(h)
	r.running.Hours = c.Hours
	r.log.Info("config reloaded", "reason", reason, "file", path, "hours_changed", hoursChanged)
}

// watch starts watching the config file, if there is one. It returns once
// the watch is in place, so that no edit made afterwards is missed; run
// then reacts to them.
func (r *hoursReloader) watch() error {
	if r.path == "" {
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch config: %w", err)
	}
	// Watch the folder, not the file: editors and config tools replace the
	// file by renaming a new one over it, which ends a watch on the old
	// file, and a mounted config may be a symlink that is swapped.
	if err := w.Add(filepath.Dir(r.path)); err != nil {
		w.Close()
		return fmt.Errorf("watch config: %w", err)
	}
	r.watcher = w
	r.last, _ = os.ReadFile(r.path)
	return nil
}

// run reloads on each signal and, after watch, each time the file's content
// changes, until ctx ends.
func (r *hoursReloader) run(ctx context.Context, signals <-chan os.Signal) {
	var (
		events <-chan fsnotify.Event
		errs   <-chan error
	)
	if r.watcher != nil {
		defer r.watcher.Close()
		events, errs = r.watcher.Events, r.watcher.Errors
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-signals:
			if b, err := os.ReadFile(r.path); err == nil {
				r.last = b
			}
			r.reload(s.String())
		case _, ok := <-events:
			if !ok {
				return
			}
			timer.Reset(reloadDebounce)
		case err, ok := <-errs:
			if !ok {
				return
			}
			r.log.Warn("watch config", "file", r.path, "err", err)
		case <-timer.C:
			b, err := os.ReadFile(r.path)
			if err != nil || bytes.Equal(b, r.last) {
				continue // mid-replace, or another file in the folder
			}
			r.last = b
			r.reload("file changed")
		}
	}
}

// watchHours starts reloading the business hours on SIGHUP and when the
// config file changes; Close stops it. It does nothing when the config
// cannot be read again (a Main built by a test without a file).
func (m *Main) watchHours(ctx context.Context) {
	load := m.loadConfig
	if load == nil && m.ConfigPath != "" {
		path, getenv := m.ConfigPath, m.Getenv
		load = func() (Config, string, error) {
			c := DefaultConfig()
			if err := ReadConfigFile(&c, path); err != nil {
				return c, path, err
			}
			if err := ApplyEnv(&c, getenv); err != nil {
				return c, path, fmt.Errorf("config: %w", err)
			}
			return c, path, c.Validate()
		}
	}
	if load == nil {
		return
	}
	r := &hoursReloader{avail: m.avail, load: load, running: m.Config, log: m.Logger, path: m.ConfigPath}
	if err := r.watch(); err != nil {
		// SIGHUP still works; say why edits alone will not.
		m.Logger.Warn("config file not watched: send SIGHUP to reload the business hours", "err", err)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	m.stopHours = func() {
		signal.Stop(hup)
		cancel()
		<-done
	}
	go func() {
		defer close(done)
		r.run(ctx, hup)
	}()
}

// changedSettings lists the keys, such as bot.threshold, whose values
// differ between two configs, leaving out hours.
func changedSettings(old, new Config) []string {
	var keys []string
	var walk func(prefix string, a, b reflect.Value)
	walk = func(prefix string, a, b reflect.Value) {
		for i := range a.NumField() {
			f := a.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			key := prefix + name
			switch {
			case key == "hours":
			case f.Type.Kind() == reflect.Struct:
				walk(key+".", a.Field(i), b.Field(i))
			case !reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()):
				keys = append(keys, key)
			}
		}
	}
	walk("", reflect.ValueOf(old), reflect.ValueOf(new))
	return keys
}
