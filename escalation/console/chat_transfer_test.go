package console

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"

	"github.com/bulle-help/bulle/escalation"
)

func TestTransferToAnAgentWhoIsGoneSaysSo(t *testing.T) {
	f := newFixture(t, Options{}, false)
	ctx := context.Background()
	ana := f.console("ana@team.example", "Ana")
	bo := f.console("bo@team.example", "Bo")          // removed below, console still open
	carl := f.agentNamed("carl@team.example", "Carl") // removed, no console
	dee := f.agentNamed("dee@team.example", "Dee")    // current, no console
	if _, err := f.store.RemoveAgent(ctx, "carl@team.example"); err != nil {
		t.Fatal(err)
	}
	v := f.queuedVisitor("Bonjour")
	ana.follow(v.conv.ID, 4)
	ana.send(map[string]any{"type": typeClaim, "conversation_id": v.conv.ID})
	ana.nextOf(typeMessage)
	ana.nextOf(typeChat)
	before := len(v.messages(0))

	tests := []struct {
		name  string
		setup func()
		to    int64
		want  string
	}{
		// The registry drops a removed agent's sockets within a second;
		// until then the store refuses the transfer in its transaction.
		{"an agent removed a moment ago, console still open", func() {
			if _, err := f.store.RemoveAgent(ctx, "bo@team.example"); err != nil {
				t.Fatal(err)
			}
		}, bo.agent.ID, CodeAgentGone},
		{"an agent removed earlier, offline", nil, carl.ID, CodeAgentGone},
		{"an id no agent ever had", nil, 999, CodeAgentGone},
		{"a current agent who is offline", nil, dee.ID, CodeOffline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			ana.send(map[string]any{"type": typeTransfer, "conversation_id": v.conv.ID, "to_agent_id": tt.to})
			e := ana.nextOf(typeError)
			if e.Code != tt.want || e.ConversationID != v.conv.ID {
				t.Errorf("got %+v, want %s for conversation %d", e, tt.want, v.conv.ID)
			}
			if tt.want == CodeAgentGone && e.Message != "that agent no longer exists (removed)" {
				t.Errorf("message: got %q, want it to say the agent no longer exists", e.Message)
			}
		})
	}
	if chat, err := f.store.ChatOf(ctx, v.conv.ID); err != nil || chat.AgentID != ana.agent.ID || chat.Status != escalation.ChatActive {
		t.Errorf("chat: got %+v, %v; want still Ana's", chat, err)
	}
	if got := len(v.messages(0)); got != before {
		t.Errorf("messages: got %d, want %d: a refused transfer stores no note", got, before)
	}
}

func TestChatRefusalTellsAGoneAgentFromAMissingChat(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		conflict string
		want     string // "" for an error that is the server's
	}{
		{"a removed agent", fmt.Errorf("store: transfer chat: agent 3: %w", escalation.ErrAgentGone), CodeNotHolder, CodeAgentGone},
		{"a removed agent claiming", fmt.Errorf("store: claim chat: agent 3: %w", escalation.ErrAgentGone), CodeTaken, CodeAgentGone},
		{"no chat", fmt.Errorf("store: chat of conversation 9: %w", escalation.ErrNotFound), CodeNotHolder, CodeNotFound},
		{"a claim race lost", fmt.Errorf("store: claim chat: %w", escalation.ErrConflict), CodeTaken, CodeTaken},
		{"a chat not held", fmt.Errorf("store: close chat: %w", escalation.ErrConflict), CodeNotHolder, CodeNotHolder},
		{"a refused field", &escalation.ValidationError{Field: "agent", Msg: "transfer to another agent"}, CodeNotHolder, CodeBadFrame},
		{"the database failing", errors.New("disk I/O error"), CodeNotHolder, ""},
		{"no error", nil, CodeNotHolder, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := chatRefusal(tt.err, tt.conflict)
			switch {
			case tt.want == "" && r != nil:
				t.Errorf("got %+v, want nil: the server's error, not a refusal", r)
			case tt.want != "" && (r == nil || r.code != tt.want):
				t.Errorf("got %+v, want %s", r, tt.want)
			}
		})
	}
}

// transferOption is an agent in a chat page's transfer picker.
var transferOption = regexp.MustCompile(`<option value="(\d+)">([^<]*)</option>`)

func TestTransferPickerListsOnlyOtherCurrentAgents(t *testing.T) {
	f := newFixture(t, Options{}, false)
	ctx := context.Background()
	ana := f.console("ana@team.example", "Ana")
	bo := f.agentNamed("bo@team.example", "Bo")
	carl := f.agentNamed("carl@team.example", "Carl")
	if _, err := f.store.RemoveAgent(ctx, "carl@team.example"); err != nil {
		t.Fatal(err)
	}
	dee := f.invite("dee@team.example", "Dee", escalation.AgentRoleAgent).Agent // never set a password
	eve := f.agentNamed("eve@team.example", "Eve")
	if _, err := f.store.RemoveAgent(ctx, "eve@team.example"); err != nil {
		t.Fatal(err)
	}
	back := f.invite("eve@team.example", "Eve", escalation.AgentRoleAgent) // invited again
	if _, err := f.store.SetAgentPassword(ctx, back.SetupToken, testPassword); err != nil {
		t.Fatal(err)
	}
	v := f.queuedVisitor("Bonjour")
	ana.send(map[string]any{"type": typeClaim, "conversation_id": v.conv.ID})
	ana.nextOf(typeChat)

	page := ana.b.get(fmt.Sprintf("/console/chats/%d?lang=en", v.conv.ID))
	select_ := regexp.MustCompile(`(?s)<select id="transfer-to">(.*?)</select>`).FindStringSubmatch(page.body)
	if select_ == nil {
		t.Fatalf("no transfer picker in %s", page.body)
	}
	offered := map[string]bool{}
	for _, m := range transferOption.FindAllStringSubmatch(select_[1], -1) {
		offered[m[1]] = true
	}
	tests := []struct {
		name  string
		agent escalation.Agent
		want  bool
	}{
		{"another current agent", bo, true},
		{"an agent removed then invited again", eve, true},
		{"the agent handing the chat over", ana.agent, false},
		{"a removed agent", carl, false},
		{"an agent who never set a password", dee, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := offered[fmt.Sprint(tt.agent.ID)]; got != tt.want {
				t.Errorf("%s (%d) offered: got %v, want %v; picker %s", tt.agent.Name, tt.agent.ID, got, tt.want, select_[1])
			}
		})
	}
}
