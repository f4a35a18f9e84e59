package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchMeasuresEveryPhaseOnAThrowawayFolder runs a short `bulle bench`
// on the test articles: every phase measures something, no question goes
// unanswered, and the data folder it used is gone afterwards.
func TestBenchMeasuresEveryPhaseOnAThrowawayFolder(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the bench makes its data folder
	articles := writeArticles(t, testArticles)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"bench", "--articles", articles, "--json", "--duration", "500ms",
		"--visitors", "4", "--rate", "8", "--queries", "50", "--writers", "4"}, noEnv, &stdout, &stderr)
	if err != nil {
		t.Fatalf("bench: %v; stderr %s", err, stderr.String())
	}
	var r benchResult
	decodeJSON(t, stdout.Bytes(), &r)
	if r.Articles == 0 || r.BuildMS <= 0 || r.ColdStartMS <= 0 || r.Searches != 50 || r.SearchP99MS <= 0 {
		t.Errorf("index and search phases: got %+v", r)
	}
	if r.Answers == 0 || r.AnswerFailures != 0 || r.AnswerP50MS <= 0 || r.AnswerP99MS < r.AnswerP50MS {
		t.Errorf("answers phase: got %+v, want answers to every question", r)
	}
	if r.Writes == 0 || r.WritesPerSec <= 0 {
		t.Errorf("writes phase: got %+v", r)
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "bulle-bench-*"))
	if len(left) != 0 {
		t.Errorf("the bench left its data folder behind: %v", left)
	}
}

func TestBenchRefusesLoadsItCannotMeasure(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"past the per-socket rate limit", []string{"--visitors", "2", "--rate", "20"}, "at most 4 questions a second each"},
		{"a duration too long", []string{"--duration", "1h"}, "want between 100ms and 10m"},
		{"no visitors", []string{"--visitors", "0"}, "want 1 or more"},
		{"an argument", []string{"now"}, "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := exitCode(run(context.Background(), append([]string{"bench"}, tt.args...), noEnv, &stdout, &stderr), &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("got exit %d, stderr %q; want 2 and %q", code, stderr.String(), tt.wantErr)
			}
		})
	}
}
