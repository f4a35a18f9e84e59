package escalation

import (
	"fmt"
	"time"
)

// The words of a chat's system notes, in the conversation's language
// (French, else English). The bubble shows them as they are.

// QueueText tells a queued visitor their place and the estimated wait:
// "Vous êtes n° 2 dans la file, attente estimée : 3 min".
func QueueText(lang string, position int, wait time.Duration) string {
	if lang == "fr" {
		return fmt.Sprintf("Vous êtes n° %d dans la file, attente estimée : %s", position, WaitText(lang, wait))
	}
	return fmt.Sprintf("You are number %d in the queue, estimated wait: %s", position, WaitText(lang, wait))
}

// WaitText says a wait in whole minutes, rounded up ("3 min"), or in
// hours from an hour ("1 h", "1 h 30 min").
func WaitText(lang string, d time.Duration) string {
	minutes := int((max(d, time.Minute) + time.Minute - 1) / time.Minute)
	if minutes < 60 {
		return fmt.Sprintf("%d min", minutes)
	}
	if m := minutes % 60; m != 0 {
		return fmt.Sprintf("%d h %d min", minutes/60, m)
	}
	return fmt.Sprintf("%d h", minutes/60)
}

func claimedText(lang, agent string) string {
	if lang == "fr" {
		return agent + " a rejoint la conversation."
	}
	return agent + " joined the conversation."
}

func transferredText(lang, from, to string) string {
	if lang == "fr" {
		return from + " a confié la conversation à " + to + "."
	}
	return from + " handed the conversation over to " + to + "."
}

func closedText(lang, agent string) string {
	if lang == "fr" {
		return agent + " a terminé la conversation."
	}
	return agent + " ended the conversation."
}

func ratedText(lang string, rating int) string {
	if lang == "fr" {
		return fmt.Sprintf("Merci pour votre note : %d/5.", rating)
	}
	return fmt.Sprintf("Thank you for your rating: %d/5.", rating)
}

func convertedText(lang string) string {
	if lang == "fr" {
		return "Vous quittez la file d'attente : l'équipe vous répondra par e-mail, avec cette conversation sous les yeux."
	}
	return "You left the queue: the team will reply by email, with this conversation in hand."
}

func abandonedText(lang string) string {
	if lang == "fr" {
		return "Vous avez quitté la file d'attente."
	}
	return "You left the queue."
}
