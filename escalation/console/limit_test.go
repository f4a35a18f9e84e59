package console

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestFailuresBlockAtTheLimitUntilTheOldestLeavesTheWindow(t *testing.T) {
	f := newFailures(Limit{Failures: 3, Window: 15 * time.Minute})
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	f.add("a", t0)
	f.add("a", t0.Add(time.Minute))
	if _, blocked := f.blocked("a", t0.Add(2*time.Minute)); blocked {
		t.Fatal("two failures of three: blocked")
	}
	f.add("a", t0.Add(2*time.Minute))
	wait, blocked := f.blocked("a", t0.Add(3*time.Minute))
	if !blocked || wait != 12*time.Minute {
		t.Errorf("three failures: blocked %v, wait %v; want blocked 12m (the first leaves at 9:15)", blocked, wait)
	}
	if _, blocked := f.blocked("b", t0.Add(3*time.Minute)); blocked {
		t.Error("another key: blocked")
	}
	if _, blocked := f.blocked("a", t0.Add(15*time.Minute)); blocked {
		t.Error("at 9:15 the first failure has left the window: still blocked")
	}
	f.reset("a")
	if _, blocked := f.blocked("a", t0.Add(3*time.Minute)); blocked {
		t.Error("after reset: blocked")
	}
}

func TestFailuresForgetOldKeysWhenFull(t *testing.T) {
	f := newFailures(Limit{Failures: 1, Window: time.Minute})
	t0 := time.Now()
	for i := range maxFailureKeys {
		f.keys[strconv.Itoa(i)] = []time.Time{t0}
	}
	f.add("new", t0.Add(2*time.Minute))
	if len(f.keys) != 1 {
		t.Errorf("keys after a full map of old failures: %d, want only the new one", len(f.keys))
	}
}

func TestClientKeyIsTheConnectionsAddressIPv6ByItsSlash64(t *testing.T) {
	tests := []struct{ remote, forwarded, want string }{
		{"192.0.2.7:5123", "", "192.0.2.7"},
		{"192.0.2.7:5123", "198.51.100.1", "192.0.2.7"},
		{"[2001:db8:1:2:aaaa::1]:443", "", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:bbbb::9]:443", "", "2001:db8:1:2::/64"},
	}
	for _, tt := range tests {
		r := &http.Request{RemoteAddr: tt.remote, Header: http.Header{}}
		if tt.forwarded != "" {
			r.Header.Set("X-Forwarded-For", tt.forwarded)
		}
		if got := clientKey(r); got != tt.want {
			t.Errorf("clientKey(%s, XFF %q) = %q, want %q", tt.remote, tt.forwarded, got, tt.want)
		}
	}
}
