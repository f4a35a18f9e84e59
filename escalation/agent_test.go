package escalation

import (
	"context"
	"errors"
	"testing"
)

func TestAgentByIDFindsOnlyCurrentAgents(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	ana := addTestAgent(t, s, "Ana")
	gone := addTestAgent(t, s, "Bo")
	if _, err := s.RemoveAgent(ctx, gone.Email); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		id      int64
		wantErr error
	}{
		{"a current agent", ana.ID, nil},
		{"a removed agent", gone.ID, ErrAgentGone},
		{"an id no agent ever had", 999, ErrAgentGone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := s.AgentByID(ctx, tt.id)
			switch {
			case tt.wantErr == nil && (err != nil || a.ID != tt.id || a.Name != "Ana"):
				t.Errorf("got %+v, %v; want Ana", a, err)
			case tt.wantErr != nil && (!errors.Is(err, tt.wantErr) || !errors.Is(err, ErrNotFound)):
				t.Errorf("got %+v, %v; want %v, an ErrNotFound", a, err, tt.wantErr)
			}
		})
	}
}
