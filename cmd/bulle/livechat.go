package main

import (
	"context"
	"time"

	"github.com/bulle-help/bulle/escalation"
	"github.com/bulle-help/bulle/widget"
)

// Live chat's wiring: the console says who is online, the availability
// and the bubble ask it.

// agentsPresent says whether at least one agent can answer a chat now,
// for escalation.Availability, which closes chat while nobody can.
func agentsPresent(agents widget.Agents) func(context.Context) bool {
	return func(context.Context) bool { return agents.Online() > 0 }
}

// chatHours is the chat hours alone, for the bubble: it asks presence
// itself (widget.Agents), so that a visitor turned away while nobody is
// online hears why (no_agent) rather than that chat is closed.
type chatHours struct{ a *escalation.Availability }

var _ widget.ChatHours = chatHours{}

func (c chatHours) ChatStatus(_ context.Context, at time.Time) escalation.ChannelStatus {
	s := c.a.Hours().Schedule(escalation.ChannelChat)
	switch {
	case s == nil:
		return escalation.ChannelStatus{}
	case !s.Open(at):
		return escalation.ChannelStatus{NextOpen: s.NextOpen(at)}
	}
	return escalation.ChannelStatus{Open: true, NextOpen: s.NextOpen(at), NextClose: s.NextClose(at)}
}
