package bot

import (
	"strings"
	"testing"
)

func TestWantsHumanDetectsExplicitRequestsNotLookAlikes(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		// French requests, with and without accents.
		{"je veux parler à quelqu'un", true},
		{"je veux parler a quelqu’un", true},
		{"un conseiller svp", true},
		{"passez-moi un humain", true},
		{"je veux parler a un humain", true},
		{"parler a un conseiller", true},
		{"opérateur", true},
		{"OPERATEUR", true},
		{"mettez-moi en relation avec le support", true},
		{"pouvez-vous me mettre en relation avec un de vos conseillers ?", true},
		{"Je voudrais parler à un conseiller humain s'il vous plaît", true},
		{"est-ce possible de parler à un être humain", true},
		{"pouvez-vous me passer un conseiller ?", true},
		{"Un humain, vite !", true},
		{"PARLER À UN HUMAIN", true},
		{"je veux parler à un vrai conseiller, pas à votre IA", true},
		{"J'aimerais discuter avec un agent du service client", true},
		{"bonjour est-ce que je pourrais parler à quelqu'un svp", true},
		{"merci mais je préfère un humain", true},
		{"Je veux qu'un humain me réponde", true},
		{"je souhaiterais être recontacté par un conseiller", true},
		{"Transférez-moi vers un opérateur", true},
		{"Je veux contacter le service client", true},
		{"un conseiller est-il disponible ?", true},
		{"y a-t-il un humain ?", true},
		// French refusals of the bot.
		{"pas un robot svp", true},
		{"je ne veux pas parler à une IA", true},
		{"j'en ai marre de ce robot je veux un humain", true},
		// French typos and SMS style.
		{"conseilé svp", true},
		{"conseillé", true},
		{"je veu parlé a un conseillé", true},
		{"parler a un coseiller", true},
		{"un humaim svp", true},
		{"jveux parler a qqn", true},
		{"slt je veux parler a kelkun", true},
		// English requests.
		{"talk to an agent", true},
		{"real person please", true},
		{"can I speak to someone", true},
		{"i want a human", true},
		{"agent please", true},
		{"Can I get a human?", true},
		{"Please transfer me to a live agent", true},
		{"I'd like to speak with a representative", true},
		{"Operator!", true},
		{"let me talk to someone real", true},
		{"is there a human I can talk to?", true},
		{"connect me with customer support", true},
		{"stop the bot and get me an agent", true},
		{"Can a human help me?", true},
		{"I don't want to talk to a bot", true},
		{"I don't want to talk to an AI", true},
		{"talking to a bot is useless", true},
		{"someone from customer care", true},
		{"I want to be transferred to an agent", true},
		// English typos.
		{"talk to a real peson", true},
		{"speak to a humna", true},
		{"talk to an agnet", true},
		{"I'm trying to talk to somone", true},

		// Questions about contact, agents and people, not requests.
		{"how do my customers contact me", false},
		{"add a contact form", false},
		{"l'humain derrière la marque", false},
		{"comment mes clients peuvent me contacter", false},
		{"ajouter un formulaire de contact", false},
		{"what is a live agent in the console", false},
		{"how do agents reply to tickets", false},
		{"configurer les horaires des conseillers", false},
		{"how can my visitors talk to a human?", false},
		{"comment mes visiteurs peuvent-ils parler à un conseiller ?", false},
		{"mon client veut parler à un conseiller, comment faire ?", false},
		{"How do I add a new agent?", false},
		{"Agent console", false},
		{"agents", false},
		{"human resources", false},
		{"ressources humaines", false},
		{"what does the 'Talk to a human' button do?", false},
		{`le bouton "parler à un conseiller" ne s'affiche pas`, false},
		{"comment désactiver le transfert vers un conseiller", false},
		{"How do I transfer a conversation to another agent?", false},
		{"comment transférer une conversation à un autre conseiller ?", false},
		{"do you support live chat with agents?", false},
		{"What languages do your agents speak?", false},
		{"le bot transfère-t-il automatiquement à un agent ?", false},
		{"can the bot hand over to a human at night?", false},
		{"is the live agent available on weekends?", false},
		{"jusqu'à quelle heure puis-je joindre le support ?", false},
		{"comment contacter le support ?", false},
		{"How can i contact the team ?", false},
		// Reports, statements and look-alike words.
		{"I talked to an agent yesterday but nobody called back", false},
		{"j'ai parlé à un conseiller hier, il devait me rappeler", false},
		{"un agent de votre service m'a appelé, est-ce normal ?", false},
		{"personne ne m'a répondu", false},
		{"I'm a real person", false},
		{"je suis un humain pas un robot, pourquoi le captcha me bloque ?", false},
		{"tu es un humain ou un robot ?", false},
		{"est-ce que je parle à un vrai humain là ?", false},
		{"Are you a real person?", false},
		{"je veux être conseiller", false},
		{"I want to be an agent", false},
		{"que me conseillez-vous pour un matelas ferme ?", false},
		{"quel modèle est conseillé pour un enfant ?", false},
		{"je voudrais un conseil", false},
		{"transférer de l'argent vers un autre compte", false},
		{"changer d'opérateur en gardant mon numéro", false},
		{"quelqu'un a utilisé ma carte bancaire", false},
		{"I need someone in the forum to help me", false},
		{"I want to talk about my order", false},
		{"I want to talk to your sales team", false},
		{"je veux quelque chose de moins cher", false},
		{"I want to speak French", false},
		{"contact us", false},
		{"je veux supprimer mon compte", false},
		{"bonjour", false},
		{"j'ai besoin d'aide", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := WantsHuman(tt.text); got != tt.want {
			t.Errorf("WantsHuman(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestWantsHumanSurvivesLongAndMalformedInput(t *testing.T) {
	tests := []struct {
		name, text string
		want       bool
	}{
		{"invalid UTF-8", "un conseiller \xff\xfe svp", true},
		{"emoji", "un humain svp 🙏", true},
		{"unclosed quote", `"je veux parler à un humain`, true},
		{"only a quote", `"un conseiller svp"`, true},
		{"many words", strings.Repeat("mon colis n'est pas arrivé ", 30) + ", un conseiller svp", true},
		{"past the cut", strings.Repeat("bonjour ", 200) + ", un conseiller svp", false},
		{"one long word", strings.Repeat("a", 300), false},
		{"punctuation only", `?!... ,,, ''' "" «»`, false},
	}
	for _, tt := range tests {
		if got := WantsHuman(tt.text); got != tt.want {
			t.Errorf("%s: WantsHuman(%.40q) = %v, want %v", tt.name, tt.text, got, tt.want)
		}
	}
}

func TestWithinOneEditCountsSwapsAsOneEdit(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"humain", "humain", true},
		{"humian", "humain", true},  // swap
		{"humaim", "humain", true},  // substitution
		{"humin", "humain", true},   // deletion
		{"huumain", "humain", true}, // insertion
		{"hmuian", "humain", false}, // two swaps
		{"humains", "humai", false}, // two deletions
		{"agent", "argent", true},
	}
	for _, tt := range tests {
		if got := withinOneEdit(tt.a, tt.b); got != tt.want {
			t.Errorf("withinOneEdit(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func BenchmarkWantsHuman(b *testing.B) {
	texts := []string{
		"je veux parler à quelqu'un",
		"Comment puis-je réinitialiser mon mot de passe si je n'ai plus accès à mon adresse e-mail ?",
		"talk to a real peson",
		"how do agents reply to tickets",
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		WantsHuman(texts[i%len(texts)])
	}
}
