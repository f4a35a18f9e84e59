package main

import (
	"context"
	"time"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
)

// chatHours tells the bot whether chat is open from the configured business
// hours alone. It stands in until escalation also knows whether an agent is
// present in the console.
type chatHours struct{ schedule *escalation.Schedule }

var _ bot.Availability = chatHours{}

// newChatHours reads cfg.Hours, which Validate has already checked.
func newChatHours(cfg Config) bot.Availability {
	s, err := escalation.NewSchedule(cfg.Hours)
	if err != nil {
		s, _ = escalation.NewSchedule(escalation.DefaultHours())
	}
	return chatHours{schedule: s}
}

func (h chatHours) ChatStatus(_ context.Context, at time.Time) bot.ChatStatus {
	if h.schedule.Open(at) {
		return bot.ChatStatus{Open: true}
	}
	return bot.ChatStatus{NextOpen: h.schedule.NextOpen(at)}
}
