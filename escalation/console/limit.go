package console

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Limit is how many failed sign-ins a key (an address, a client IP) may
// have within Window before further attempts are refused.
type Limit struct {
	Failures int
	Window   time.Duration
}

// Default sign-in limits. Per address: five wrong passwords in 15
// minutes, then wait; a person mistyping is not stopped, a guesser gets
// 480 tries a day at most. Per client IP, more, since a whole office
// behind one address signs in from it; it slows one machine trying many
// addresses. A locked address locks its owner out too, for 15 minutes
// at most: the price of stopping guesses without CAPTCHAs.
var (
	DefaultLoginLimit   = Limit{Failures: 5, Window: 15 * time.Minute}
	DefaultLoginLimitIP = Limit{Failures: 20, Window: 15 * time.Minute}
)

// maxFailureKeys bounds the memory of failures: past it, keys whose
// failures are all old are forgotten, and if that is not enough (a flood
// from many addresses), all of them are. The limits then restart, which
// is the lesser harm next to running out of memory.
const maxFailureKeys = 100_000

// failures counts recent failed sign-ins per key, in memory: a restart
// forgets them, which only gives a guesser one more window.
type failures struct {
	lim  Limit
	mu   sync.Mutex
	keys map[string][]time.Time // failures within the window, oldest first
}

func newFailures(l Limit) *failures { return &failures{lim: l, keys: map[string][]time.Time{}} }

// blocked reports whether key has used up its failures, and when it may
// try again.
func (f *failures) blocked(key string, now time.Time) (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	recent := f.recentLocked(key, now)
	if len(recent) < f.lim.Failures {
		return 0, false
	}
	// The oldest failure that still counts leaves the window at:
	return recent[len(recent)-f.lim.Failures].Add(f.lim.Window).Sub(now), true
}

// add records a failure of key.
func (f *failures) add(key string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.keys[key]; !ok && len(f.keys) >= maxFailureKeys {
		for k := range f.keys {
			f.recentLocked(k, now) // deletes k when all its failures are old
		}
		if len(f.keys) >= maxFailureKeys {
			f.keys = map[string][]time.Time{}
		}
	}
	recent := f.recentLocked(key, now)
	if len(recent) >= f.lim.Failures { // keep only what blocked needs
		recent = recent[1:]
	}
	f.keys[key] = append(recent, now)
}

// reset forgets key's failures: its owner just signed in.
func (f *failures) reset(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.keys, key)
}

// recentLocked drops key's failures older than the window and returns
// the rest.
func (f *failures) recentLocked(key string, now time.Time) []time.Time {
	ts := f.keys[key]
	i := 0
	for i < len(ts) && !ts[i].After(now.Add(-f.lim.Window)) {
		i++
	}
	if i == len(ts) {
		delete(f.keys, key)
		return nil
	}
	if i > 0 {
		ts = ts[i:]
		f.keys[key] = ts
	}
	return ts
}

// clientKey is the key of the request's client for the IP limit: the
// connection's address, never a header a client can forge; an IPv6
// client by its /64, which one machine usually holds whole. Behind a
// reverse proxy every client shares the proxy's address, which makes
// the limit stricter, not looser.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}
