package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestRankMetrics(t *testing.T) {
	tests := []struct {
		name   string
		ranked []string
		expect []string
		want   evalMetrics
	}{
		{"first is expected", []string{"a", "b"}, []string{"a"}, evalMetrics{Hit1: 1, Hit3: 1, MRR: 1, MAP: 1}},
		{"second is expected", []string{"x", "a"}, []string{"a"}, evalMetrics{Hit3: 1, MRR: 0.5, MAP: 0.5}},
		{"fourth is expected", []string{"x", "y", "z", "a"}, []string{"a"}, evalMetrics{MRR: 0.25, MAP: 0.25}},
		{"absent", []string{"x", "y"}, []string{"a"}, evalMetrics{}},
		{"two expected, one found first", []string{"a", "x"}, []string{"a", "b"}, evalMetrics{Hit1: 1, Hit3: 1, MRR: 1, MAP: 0.5}},
		{"two expected at 1 and 3", []string{"a", "x", "b"}, []string{"a", "b"}, evalMetrics{Hit1: 1, Hit3: 1, MRR: 1, MAP: 0.5 + 1.0/3}},
		{"beyond the top 10 does not count", []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a"}, []string{"a"}, evalMetrics{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rankMetrics(tt.ranked, tt.expect)
			near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
			if !near(got.Hit1, tt.want.Hit1) || !near(got.Hit3, tt.want.Hit3) || !near(got.MRR, tt.want.MRR) || !near(got.MAP, tt.want.MAP) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestEvalSetRunsTheSearchPath evaluates a tiny set end to end through the
// bot and checks the JSON has exactly the keys FORMAT.md names.
func TestEvalSetRunsTheSearchPath(t *testing.T) {
	dir := t.TempDir()
	write := func(p, s string) {
		t.Helper()
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("articles/en/hours.md", "---\ntitle: Chat hours\n---\nLive chat is open Monday to Friday.\n")
	write("articles/en/refund.md", "---\ntitle: Refunds\n---\nWe refund unused subscriptions.\n")
	write("articles/fr/hours.md", "---\ntitle: Horaires du chat\n---\nLe chat est ouvert du lundi au vendredi.\n")
	write("questions.jsonl", `{"id":"1","lang":"en","text":"when is chat open","expect":["hours"],"human":false}
{"id":"2","lang":"en","text":"refund my subscription","expect":["refund"],"human":false}
{"id":"3","lang":"fr","text":"horaires du chat","expect":["hours"],"human":false}
{"id":"4","lang":"en","text":"talk to a human","expect":[],"human":true}
`)
	var out bytes.Buffer
	err := runEval(context.Background(), []string{"--articles", filepath.Join(dir, "articles"), "--questions", filepath.Join(dir, "questions.jsonl"), "--json"}, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	keys := []string{"questions", "hit1", "hit3", "mrr", "map", "answered", "precision", "inscope_acc",
		"oos_recall", "human_precision", "human_recall", "p50_ms", "p99_ms"}
	for _, k := range keys {
		if _, ok := got[k]; !ok {
			t.Errorf("missing key %q in %s", k, out.String())
		}
	}
	if len(got) != len(keys) {
		t.Errorf("got %d keys, want %d: %s", len(got), len(keys), out.String())
	}
	if got["hit1"] != 1.0 || got["questions"] != 4.0 {
		t.Errorf("got hit1 %v questions %v, want 1 and 4", got["hit1"], got["questions"])
	}
	if got["human_recall"] != 1.0 || got["human_precision"] != 1.0 {
		t.Errorf("\"talk to a human\" not handed off: %s", out.String())
	}
}

func TestBaselineGuardFailsOnADrop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "baseline.json")
	os.WriteFile(path, []byte(`{"s":{"hit1":0.70,"hit3":0.8,"mrr":0.75,"map":0.75}}`), 0o644)
	var out bytes.Buffer
	if err := checkBaseline(path, map[string]evalMetrics{"s": {Hit1: 0.70, Hit3: 0.8, MRR: 0.75, MAP: 0.75}}, &out); err != nil {
		t.Errorf("equal figures: got %v, want no error", err)
	}
	if err := checkBaseline(path, map[string]evalMetrics{"s": {Hit1: 0.69, Hit3: 0.8, MRR: 0.75, MAP: 0.75}}, &out); err == nil {
		t.Error("hit1 drop: got no error, want a regression")
	}
	if err := checkBaseline(path, map[string]evalMetrics{}, &out); err == nil {
		t.Error("missing set: got no error, want one")
	}
}

func TestDecisionMetricsFollowTheThreshold(t *testing.T) {
	outcomes := []evalOutcome{
		{answerable: true, searched: true, confidence: 0.9, right: true},
		{answerable: true, searched: true, confidence: 0.6, right: false},
		{answerable: true, searched: true, confidence: 0.2, right: true},
		{oos: true, searched: true, confidence: 0.7},
		{oos: true, searched: true, confidence: 0.1},
		{human: true, handoff: true},
		{oos: true, handoff: true}, // a look-alike handed off by mistake
	}
	tests := []struct {
		threshold float64
		want      evalMetrics
	}{
		{0.5, evalMetrics{Answered: 0.667, Precision: 0.5, InscopeAcc: 0.333, OOSRecall: 0.667, HumanPrecision: 0.5, HumanRecall: 1}},
		{0.8, evalMetrics{Answered: 0.333, Precision: 1, InscopeAcc: 0.333, OOSRecall: 1, HumanPrecision: 0.5, HumanRecall: 1}},
		{0, evalMetrics{Answered: 1, Precision: 0.667, InscopeAcc: 0.667, OOSRecall: 0.333, HumanPrecision: 0.5, HumanRecall: 1}},
	}
	for _, tt := range tests {
		var got evalMetrics
		decisionMetrics(&got, outcomes, tt.threshold)
		if got != tt.want {
			t.Errorf("threshold %.1f: got %+v, want %+v", tt.threshold, got, tt.want)
		}
	}
}
