package bot

import (
	"fmt"
	"time"
)

// Message keys.
const (
	msgGreeting         = "greeting"
	msgThanks           = "thanks"
	msgGoodbye          = "goodbye"
	msgAnswer           = "answer"
	msgEnglishOnly      = "english_only"
	msgClarify          = "clarify"
	msgOfferChat        = "offer_chat"
	msgOfferEmail       = "offer_email"
	msgHandoffChat      = "handoff_chat"
	msgHandoffEmail     = "handoff_email"
	msgNextOpen         = "next_open"
	msgUnhelpfulHandoff = "unhelpful_handoff"
	msgDecline          = "decline"
)

var messages = map[string]map[string]string{
	"fr": {
		msgGreeting:         "Bonjour ! Posez-moi votre question, je cherche dans le centre d'aide.",
		msgThanks:           "Avec plaisir ! Autre chose ?",
		msgGoodbye:          "Au revoir, et bonne journée !",
		msgAnswer:           "Voici ce que dit le centre d'aide :",
		msgEnglishOnly:      "Cet article n'est disponible qu'en anglais :",
		msgClarify:          "Voulez-vous dire « %s » ou « %s » ?",
		msgOfferChat:        "Je ne suis pas sûr de pouvoir répondre à cette question. Voulez-vous parler à une personne ? Le chat est ouvert, ou écrivez-nous par e-mail.",
		msgOfferEmail:       "Je ne suis pas sûr de pouvoir répondre à cette question. Voulez-vous écrire à une personne ? Le chat est fermé pour le moment, mais nous répondons par e-mail.",
		msgHandoffChat:      "Une personne de l'équipe peut prendre le relais : choisissez le chat ou l'e-mail.",
		msgHandoffEmail:     "Le chat est fermé pour le moment : laissez-nous votre message et votre e-mail, une personne de l'équipe vous répondra.",
		msgNextOpen:         "Le chat rouvre %s.",
		msgUnhelpfulHandoff: "Désolé, mes réponses ne vous ont pas aidé.",
		msgDecline:          "Désolé, l'assistance ne couvre pas ce sujet.",
	},
	"en": {
		msgGreeting:         "Hello! Ask me your question and I'll look in the help center.",
		msgThanks:           "You're welcome! Anything else?",
		msgGoodbye:          "Goodbye, and have a nice day!",
		msgAnswer:           "Here is what the help center says:",
		msgEnglishOnly:      "Here is what the help center says:",
		msgClarify:          "Do you mean “%s” or “%s”?",
		msgOfferChat:        "I'm not sure I can answer that. Would you like to talk to a person? Chat is open, or you can email us.",
		msgOfferEmail:       "I'm not sure I can answer that. Would you like to write to a person? Chat is closed right now, but we answer by email.",
		msgHandoffChat:      "A person from the team can take over: choose chat or email.",
		msgHandoffEmail:     "Chat is closed right now: leave us your message and email address, and a person from the team will reply.",
		msgNextOpen:         "Chat opens again %s.",
		msgUnhelpfulHandoff: "Sorry my answers didn't help.",
		msgDecline:          "Sorry, support doesn't cover this topic.",
	},
}

// say returns a message in lang, English when lang is unknown.
func say(lang, key string) string {
	if m, ok := messages[lang]; ok {
		return m[key]
	}
	return messages["en"][key]
}

var frDays = []string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}

// formatWhen says when chat reopens, in the time zone of t.
func formatWhen(lang string, t time.Time) string {
	if lang == "fr" {
		return fmt.Sprintf("%s à %dh%02d", frDays[t.Weekday()], t.Hour(), t.Minute())
	}
	return t.Format("Monday at 3:04 PM")
}
