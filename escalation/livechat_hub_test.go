package escalation

import (
	"sync"
	"testing"
	"time"
)

// drain reads sub until it is closed and returns what it read.
func drain(sub *Subscription) <-chan []Event {
	out := make(chan []Event, 1)
	go func() {
		var got []Event
		for ev := range sub.C() {
			got = append(got, ev)
		}
		out <- got
	}()
	return out
}

// within fails the test when f does not return within d.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s: still running after %v, want it never to block", what, d)
	}
}

func TestHubDropsASlowSubscriberAndOthersKeepReceiving(t *testing.T) {
	h := NewHub(HubOptions{Buffer: 4})
	slow := h.Subscribe(7)  // never reads
	other := h.Subscribe(7) // reads everything, and says so
	seen := make(chan struct{})
	got := make(chan int, 1)
	go func() {
		n := 0
		for range other.C() {
			n++
			seen <- struct{}{}
		}
		got <- n
	}()
	const n = 1000
	within(t, 5*time.Second, "publishing to a stuck subscriber", func() {
		for range n {
			h.Publish(7)
			<-seen // a prompt reader: it never has more than one event waiting
		}
	})
	if !slow.Dropped() {
		t.Errorf("slow subscriber: got not dropped, want dropped")
	}
	buffered := 0
	for range slow.C() { // closed once its buffer is read
		buffered++
	}
	if buffered != 4 {
		t.Errorf("slow subscriber: got %d events before the close, want its buffer of 4", buffered)
	}
	other.Close()
	if events := <-got; events != n {
		t.Errorf("other subscriber: got %d events, want all %d", events, n)
	}
	if other.Dropped() {
		t.Errorf("other subscriber: got dropped, want closed by its owner")
	}
}

func TestHubPublishNeverBlocks(t *testing.T) {
	h := NewHub(HubOptions{Buffer: 1})
	var subs []*Subscription
	for i := range 50 {
		s := h.Subscribe(int64(i % 5))
		s.FollowQueue(true)
		subs = append(subs, s)
	}
	within(t, 5*time.Second, "publishing with nobody reading", func() {
		var wg sync.WaitGroup
		for p := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 1000 {
					h.Publish(int64(i % 5))
					h.PublishTyping(int64(p%5), RoleAgent, i%2 == 0)
					h.PublishQueue()
				}
			}()
		}
		wg.Wait()
	})
	for i, s := range subs {
		if !s.Dropped() {
			t.Errorf("subscriber %d: got kept, want dropped after its buffer filled", i)
		}
	}
}

func TestHubDeliversToFollowersOnly(t *testing.T) {
	h := NewHub(HubOptions{})
	visitor := h.Subscribe(1)
	console := h.SubscribeQueue()
	console.Follow(1)
	console.Follow(2)
	elsewhere := h.Subscribe(3)

	visitor.Publish(1) // the visitor's own message: everyone else on 1
	visitor.PublishTyping(1, RoleVisitor, true)
	h.PublishTyping(2, RoleAgent, true)
	h.PublishQueue()
	console.Unfollow(2)
	h.Publish(2) // nobody follows 2 any more
	h.PublishChange(ChatChange{Chat: Chat{ConversationID: 1}, Note: Message{Seq: 4}, Created: true, QueueChanged: true})
	h.PublishChange(ChatChange{Chat: Chat{ConversationID: 1}}) // a repeat: nothing

	v, c, e := drain(visitor), drain(console), drain(elsewhere)
	for _, s := range []*Subscription{visitor, console, elsewhere} {
		s.Close()
		s.Close() // twice is fine
	}
	want := map[string][]Event{
		"visitor": {{Kind: EventMessages, ConversationID: 1}},
		"console": {
			{Kind: EventMessages, ConversationID: 1},
			{Kind: EventTyping, ConversationID: 1, Role: RoleVisitor, On: true},
			{Kind: EventTyping, ConversationID: 2, Role: RoleAgent, On: true},
			{Kind: EventQueue},
			{Kind: EventMessages, ConversationID: 1},
			{Kind: EventQueue},
		},
		"elsewhere": nil,
	}
	for name, ch := range map[string]<-chan []Event{"visitor": v, "console": c, "elsewhere": e} {
		got := <-ch
		if len(got) != len(want[name]) {
			t.Errorf("%s: got %+v, want %+v", name, got, want[name])
			continue
		}
		for i := range got {
			if got[i] != want[name][i] {
				t.Errorf("%s event %d: got %+v, want %+v", name, i, got[i], want[name][i])
			}
		}
	}
}

func TestHubClosedSubscriptionFollowsNothing(t *testing.T) {
	h := NewHub(HubOptions{})
	s := h.Subscribe(1)
	s.Close()
	s.Follow(2)
	s.FollowQueue(true)
	within(t, time.Second, "publishing after a close", func() {
		h.Publish(1)
		h.Publish(2)
		h.PublishQueue()
	})
	if len(h.convs) != 0 || len(h.queue) != 0 {
		t.Errorf("hub: got %d conversations and %d queue followers, want none", len(h.convs), len(h.queue))
	}
	if _, open := <-s.C(); open {
		t.Errorf("channel: got open, want closed")
	}
}

func TestHubCallsAFuncSubscriberInOrderAndNeverDropsIt(t *testing.T) {
	h := NewHub(HubOptions{Buffer: 1})
	var got []Event
	sub := h.SubscribeFunc(7, func(ev Event) { got = append(got, ev) }) // under the hub's lock
	sub.FollowQueue(true)
	if sub.C() != nil {
		t.Errorf("C() = %v, want nil for a func subscriber", sub.C())
	}
	const n = 100 // far past the buffer of 1
	for range n {
		h.Publish(7)
	}
	h.PublishTyping(7, RoleAgent, true)
	h.PublishQueue()
	h.Publish(8)   // not followed
	sub.Publish(7) // its own publish skips it
	sub.Close()
	h.Publish(7) // after the close
	if sub.Dropped() {
		t.Errorf("dropped, want a func subscriber never dropped")
	}
	want := n + 2
	if len(got) != want {
		t.Fatalf("got %d events, want %d", len(got), want)
	}
	if last := got[n:]; last[0] != (Event{Kind: EventTyping, ConversationID: 7, Role: RoleAgent, On: true}) ||
		last[1] != (Event{Kind: EventQueue}) {
		t.Errorf("got %+v after the messages, want the typing then the queue event", last)
	}
}
