package escalation

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestTicketListsFilterByStatusAndTopicAndPage(t *testing.T) {
	d, s := newTestDesk(t)
	ctx := context.Background()
	c := &clock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	s.Now = c.Now
	var refs []string
	for i, topic := range []string{"billing", "bug", "billing", "other", "billing"} {
		c.advance(time.Minute)
		tk, err := d.CreateTicket(ctx, NewTicket{Lang: "fr", Topic: topic, Email: fmt.Sprintf("v%d@example.org", i),
			Message: "Bonjour"})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, tk.Ref)
	}
	c.advance(time.Minute)
	if _, err := s.SetTicketStatus(ctx, refs[0], StatusSolved); err != nil {
		t.Fatal(err)
	}
	c.advance(time.Minute)
	if _, err := s.SetTicketStatus(ctx, "#"+strings.ToLower(refs[3]), StatusSolved); err != nil {
		t.Fatal(err)
	}
	list := func(f TicketFilter) (string, bool) {
		t.Helper()
		p, err := s.ListTickets(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tk := range p.Tickets {
			out = append(out, tk.Ref)
		}
		return strings.Join(out, " "), p.More
	}
	tests := []struct {
		name     string
		filter   TicketFilter
		want     []string
		wantMore bool
	}{
		{"open by default, the longest waiting first", TicketFilter{}, []string{refs[1], refs[2], refs[4]}, false},
		{"open billing", TicketFilter{Status: StatusOpen, Topic: "billing"}, []string{refs[2], refs[4]}, false},
		{"solved, the latest first", TicketFilter{Status: StatusSolved}, []string{refs[3], refs[0]}, false},
		{"a first page of two", TicketFilter{Limit: 2}, []string{refs[1], refs[2]}, true},
		{"the second page", TicketFilter{Limit: 2, Offset: 2}, []string{refs[4]}, false},
		{"nothing pending", TicketFilter{Status: StatusPending}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more := list(tt.filter)
			if want := strings.Join(tt.want, " "); got != want || more != tt.wantMore {
				t.Errorf("got %q (more %v), want %q (more %v)", got, more, want, tt.wantMore)
			}
		})
	}
	if _, err := s.ListTickets(ctx, TicketFilter{Status: "closed"}); ErrorCode(err) != EINVALID {
		t.Errorf("status closed: got %v, want invalid", err)
	}
	counts, err := s.TicketCounts(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if counts[StatusOpen] != 3 || counts[StatusPending] != 0 || counts[StatusSolved] != 2 {
		t.Errorf("counts: got %v, want 3 open, 0 pending, 2 solved", counts)
	}
	if counts, _ := s.TicketCounts(ctx, "billing"); counts[StatusOpen] != 2 || counts[StatusSolved] != 1 {
		t.Errorf("billing counts: got %v, want 2 open, 1 solved", counts)
	}
}

func TestSetTicketStatus(t *testing.T) {
	d, s := newTestDesk(t)
	ctx := context.Background()
	tk, err := d.CreateTicket(ctx, NewTicket{Lang: "en", Topic: "bug", Email: "ana@example.org", Message: "It breaks"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		ref    string
		status string
		want   string // the error code, "" for none
	}{
		{"to pending", tk.Ref, StatusPending, ""},
		{"to solved, with the reference in any case", "#" + strings.ToLower(tk.Ref), StatusSolved, ""},
		{"solved again changes nothing", tk.Ref, StatusSolved, ""},
		{"back to open", tk.Ref, StatusOpen, ""},
		{"a status tickets do not have", tk.Ref, "closed", EINVALID},
		{"an unknown reference", "ZZZ-0000", StatusSolved, ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.SetTicketStatus(ctx, tt.ref, tt.status)
			if code := ErrorCode(err); code != tt.want {
				t.Fatalf("got %q (%v), want %q", code, err, tt.want)
			}
			if err == nil && got.Status != tt.status {
				t.Errorf("status: got %q, want %q", got.Status, tt.status)
			}
		})
	}
}
