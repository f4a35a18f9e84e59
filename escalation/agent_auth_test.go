package escalation

import (
	"context"
	"errors"
	"testing"
	"time"
)

const testPassword = "une phrase de passe"

// invitedAgent adds an agent with a setup link and sets their password.
func invitedAgent(t *testing.T, s *Store, email string) Invitation {
	t.Helper()
	inv, err := s.InviteAgent(context.Background(), email, "Léa", AgentRoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetAgentPassword(context.Background(), inv.SetupToken, testPassword); err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestInviteAgentGivesAnAPITokenAndASetupLinkThatWorksOnce(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	inv, err := s.InviteAgent(ctx, "lea@help.example", "Léa", AgentRoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Agent.Role != AgentRoleAdmin || inv.Agent.PasswordSet || inv.SetupToken == "" || inv.APIToken == "" {
		t.Fatalf("invitation %+v: want an admin without password, with both tokens", inv)
	}
	if got := inv.SetupExpiresAt.Sub(s.Now()); got < 47*time.Hour || got > 48*time.Hour {
		t.Errorf("setup link lives %v, want 48 h", got)
	}
	if a, err := s.AgentByToken(ctx, inv.APIToken); err != nil || a.ID != inv.Agent.ID {
		t.Fatalf("API token: %+v %v, want the agent", a, err)
	}
	if a, err := s.SetupTokenAgent(ctx, inv.SetupToken); err != nil || a.Email != "lea@help.example" {
		t.Fatalf("setup link: %+v %v, want the agent", a, err)
	}

	// A password outside the rules leaves the link unused.
	var ve *ValidationError
	if _, err := s.SetAgentPassword(ctx, inv.SetupToken, "short"); !errors.As(err, &ve) {
		t.Fatalf("short password: got %v, want a ValidationError", err)
	}
	a, err := s.SetAgentPassword(ctx, inv.SetupToken, testPassword)
	if err != nil || !a.PasswordSet {
		t.Fatalf("set password: %+v %v", a, err)
	}
	if _, err := s.SetAgentPassword(ctx, inv.SetupToken, "another good password"); !errors.Is(err, ErrNotFound) {
		t.Errorf("link used twice: got %v, want ErrNotFound", err)
	}
	if _, err := s.SetupTokenAgent(ctx, inv.SetupToken); !errors.Is(err, ErrNotFound) {
		t.Errorf("used link still shown: got %v, want ErrNotFound", err)
	}
	if _, err := s.AgentLogin(ctx, "LEA@help.example", testPassword); err != nil {
		t.Errorf("sign in with the address in capitals: %v", err)
	}
	if _, err := s.InviteAgent(ctx, "Lea@Help.example", "Léa", AgentRoleAgent); !errors.Is(err, ErrConflict) {
		t.Errorf("same address in other case: got %v, want ErrConflict", err)
	}
}

func TestSetupLinkExpiresAfter48HoursAndOnlyTheNewestWorks(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c := &clock{now: time.Now()}
	s.Now = c.Now
	inv, err := s.InviteAgent(ctx, "lea@help.example", "Léa", AgentRoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	_, second, _, err := s.NewSetupToken(ctx, "lea@help.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetAgentPassword(ctx, inv.SetupToken, testPassword); !errors.Is(err, ErrNotFound) {
		t.Errorf("replaced link: got %v, want ErrNotFound", err)
	}
	c.advance(SetupTokenTTL)
	if _, err := s.SetAgentPassword(ctx, second, testPassword); !errors.Is(err, ErrNotFound) {
		t.Errorf("link 48 h old: got %v, want ErrNotFound", err)
	}
	_, third, _, _ := s.NewSetupToken(ctx, "lea@help.example")
	c.advance(SetupTokenTTL - time.Minute)
	if _, err := s.SetAgentPassword(ctx, third, testPassword); err != nil {
		t.Errorf("link 47 h 59 old: %v", err)
	}
	if _, _, _, err := s.NewSetupToken(ctx, "nobody@help.example"); !errors.Is(err, ErrNotFound) {
		t.Errorf("link for an unknown address: got %v, want ErrNotFound", err)
	}
}

func TestAgentLoginRefusesEveryWrongPartTheSameWay(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	invitedAgent(t, s, "lea@help.example")
	if _, err := s.InviteAgent(ctx, "new@help.example", "New", AgentRoleAgent); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, email, password string
	}{
		{"wrong password", "lea@help.example", "une phrase de passE"},
		{"unknown address", "eve@help.example", testPassword},
		{"agent without a password yet", "new@help.example", testPassword},
		{"empty password", "lea@help.example", ""},
		{"megabyte password", "lea@help.example", string(make([]byte, 1<<20))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.AgentLogin(ctx, tt.email, tt.password)
			if !errors.Is(err, ErrUnauthorized) || ErrorMessage(err) != "Wrong email or password." {
				t.Errorf("got %v, want ErrUnauthorized", err)
			}
		})
	}
	a, err := s.AgentLogin(ctx, " lea@help.example ", testPassword)
	if err != nil || a.Email != "lea@help.example" || a.Role != AgentRoleAdmin {
		t.Errorf("right password: %+v %v", a, err)
	}
}

func TestConsoleSessionEndsWhenIdleExpiredOrSignedOut(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c := &clock{now: time.Now()}
	s.Now = c.Now
	inv := invitedAgent(t, s, "lea@help.example")
	id := inv.Agent.ID
	open := func() (string, ConsoleSession) {
		t.Helper()
		token, sess, err := s.OpenConsoleSession(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return token, sess
	}
	live := func(token string) bool {
		t.Helper()
		_, err := s.ConsoleSession(ctx, token)
		if err != nil && !errors.Is(err, ErrUnauthorized) {
			t.Fatal(err)
		}
		return err == nil
	}

	// Used every hour, a session lives twelve hours.
	busy, _ := open()
	for range 11 {
		c.advance(time.Hour)
		if !live(busy) {
			t.Fatalf("session used hourly ended at %v", c.now)
		}
	}
	c.advance(time.Hour)
	if live(busy) {
		t.Error("session 12 h old: still live, want ended")
	}

	// Left alone two hours, it ends.
	idle, _ := open()
	c.advance(ConsoleSessionIdle - time.Minute)
	if !live(idle) {
		t.Fatal("session idle 1 h 59: ended, want live")
	}
	c.advance(ConsoleSessionIdle)
	if live(idle) {
		t.Error("session idle 2 h: still live, want ended")
	}

	// Signed out, its row is gone.
	out, sess := open()
	if err := s.EndConsoleSession(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	if live(out) {
		t.Error("session signed out: still live")
	}
	if live("forged") {
		t.Error("forged token: live")
	}
}

func TestLiveConsoleSessionsKeepsAnOpenSocketsSessionAlive(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c := &clock{now: time.Now()}
	s.Now = c.Now
	inv := invitedAgent(t, s, "lea@help.example")
	_, kept, _ := s.OpenConsoleSession(ctx, inv.Agent.ID)
	_, dropped, _ := s.OpenConsoleSession(ctx, inv.Agent.ID)
	for range 3 { // an hour a time: the kept one is checked, the other not
		c.advance(time.Hour)
		got, err := s.LiveConsoleSessions(ctx, []int64{kept.ID})
		if err != nil || len(got) != 1 {
			t.Fatalf("at %v: %v %v, want the checked session live", c.now, got, err)
		}
	}
	got, err := s.LiveConsoleSessions(ctx, []int64{kept.ID, dropped.ID, 999})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got[kept.ID]; !ok || len(got) != 1 {
		t.Errorf("live sessions %v: want only the one kept alive by its socket", got)
	}
	if err := s.SetAgentAway(ctx, inv.Agent.ID, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.LiveConsoleSessions(ctx, []int64{kept.ID}); !got[kept.ID].Agent.Away {
		t.Errorf("after SetAgentAway: %+v, want the agent away", got[kept.ID].Agent)
	}
}

func TestNewPasswordEndsTheAgentsSessions(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	inv := invitedAgent(t, s, "lea@help.example")
	token, _, _ := s.OpenConsoleSession(ctx, inv.Agent.ID)
	_, reset, _, err := s.NewSetupToken(ctx, "lea@help.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsoleSession(ctx, token); err != nil {
		t.Fatalf("session before the reset is used: %v, want live", err)
	}
	if _, err := s.SetAgentPassword(ctx, reset, "a brand new phrase"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsoleSession(ctx, token); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("session after a new password: got %v, want ErrUnauthorized", err)
	}
	if _, err := s.AgentLogin(ctx, "lea@help.example", testPassword); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("old password: got %v, want ErrUnauthorized", err)
	}
}

func TestRemovedAgentLosesSessionsAPITokenPasswordAndLinks(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	inv := invitedAgent(t, s, "lea@help.example")
	token, _, err := s.OpenConsoleSession(ctx, inv.Agent.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, link, _, _ := s.NewSetupToken(ctx, "lea@help.example")
	if _, err := s.RemoveAgent(ctx, "LEA@help.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsoleSession(ctx, token); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("session: got %v, want ErrUnauthorized", err)
	}
	if _, err := s.AgentByToken(ctx, inv.APIToken); !errors.Is(err, ErrNotFound) {
		t.Errorf("API token: got %v, want ErrNotFound", err)
	}
	if _, err := s.AgentLogin(ctx, "lea@help.example", testPassword); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("password: got %v, want ErrUnauthorized", err)
	}
	if _, err := s.SetAgentPassword(ctx, link, testPassword); !errors.Is(err, ErrNotFound) {
		t.Errorf("setup link: got %v, want ErrNotFound", err)
	}
	if _, err := s.RemoveAgent(ctx, "lea@help.example"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removed twice: got %v, want ErrNotFound", err)
	}
	if agents, _ := s.Agents(ctx); len(agents) != 0 {
		t.Errorf("agents listed: %+v, want none", agents)
	}

	// Invited again, the same row comes back, with new tokens and no password.
	again, err := s.InviteAgent(ctx, "lea@help.example", "Léa B.", AgentRoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	if again.Agent.ID != inv.Agent.ID || again.Agent.PasswordSet {
		t.Errorf("re-invited: %+v, want the same id without a password", again.Agent)
	}
	if _, err := s.AgentByToken(ctx, inv.APIToken); !errors.Is(err, ErrNotFound) {
		t.Errorf("old API token after re-invite: got %v, want ErrNotFound", err)
	}
	if _, err := s.AgentByToken(ctx, again.APIToken); err != nil {
		t.Errorf("new API token: %v", err)
	}
}

func TestParseAgentRole(t *testing.T) {
	for in, want := range map[string]AgentRole{"agent": AgentRoleAgent, "admin": AgentRoleAdmin, " admin ": AgentRoleAdmin, "root": ""} {
		if got, err := ParseAgentRole(in); got != want || (want == "") != (err != nil) {
			t.Errorf("ParseAgentRole(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
