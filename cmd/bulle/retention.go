package main

import (
	"context"
	"log/slog"

	"github.com/bulle-help/bulle/escalation"
)

// startRetention starts deleting what has been inactive for days
// ([retention] days), at once and then hourly, and returns what stops it
// and waits for it; with days 0 it starts nothing.
func startRetention(ctx context.Context, days int, s *escalation.Store, files *escalation.Files, log *slog.Logger) func() {
	if days <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); escalation.RunRetention(ctx, s, files, days, 0, log) }()
	return func() { cancel(); <-done }
}
