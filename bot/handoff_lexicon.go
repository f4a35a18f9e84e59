package bot

// role is the set of roles a word can play; one word may have several
// ("no" is a negation and a filler, "gimme" a verb and "me").
type role uint64

const (
	rBreak    role = 1 << iota // clause boundary (a token of its own)
	rMention                   // a quoted phrase, kept as one opaque word
	rPerson                    // human, agent, conseiller, opérateur...
	rPlural                    // with rPerson: agents, conseillers
	rNeedDet                   // with rPerson: "personne" is "nobody" without a determiner
	rSomeone                   // someone, quelqu'un, qqn
	rDept                      // support, service client, SAV, team
	rQual                      // real, live, vrai, réel, en ligne, au téléphone
	rBot                       // bot, robot, machine
	rTalk                      // talk, speak, chat, parler, discuter
	rReach                     // contact, connect, transfer, joindre, transférer
	rGive                      // give, get, passer: needs "me" ("passez-moi")
	rWant                      // want, need, veux, voudrais, besoin
	rServe                     // help, answer, aider, répondre, rappeler (a person acting for "me")
	rMe                        // me, moi, m'
	rDet                       // a, the, your, un, le, votre
	rPrep                      // to, with, from, à, avec, vers, par
	rPron                      // i, you, je, vous, il, t (y a-t-il)
	rModal                     // can, could, is, peut, pouvez, est
	rPolite                    // please, svp, stp, now, urgent
	rFiller                    // hello, bonjour, oui, non, merci, ok
	rNeg                       // not, don't, pas, plus, stop, marre, useless
	rHelp                      // help, aide, assistance
	rObj                       // conversation, chat, this: what gets transferred
	rThird                     // clients, visitors, users, they: someone else's request
	rConfig                    // configure, disable, add, console, widget, button
	rTime                      // hours, when, heure, horaires, quand
	rHow                       // how, what, where, comment, quel, pourquoi
	rSales                     // sales, commercial, vente
	rAvail                     // available, disponible, dispo, online
	rAux                       // ai, avons, has, had: "j'ai parlé" reports the past
	rExist                     // there, y: "is there", "y a-t-il"
	rRelation                  // relation, touch: a request after "en"/"in"
	rCopula                    // be, become, devenir: "I want to be an agent" is no request
	rKnown                     // a known word that must not be read as a typo of another
)

// handoffLexicon lists the words of each role, folded (no accents).
// Inflected and common misspelt forms are listed as words; other typos are
// found through handoffFuzzy.
var handoffLexicon = []struct {
	k     role
	words string
}{
	{rPerson, "human humain humaine hooman humanbeing person conseiller conseillere conseille " +
		"agent operator operateur operatrice advisor adviser representative rep employee employe " +
		"staff personnel manager supervisor superviseur boss responsable superieur patron " +
		"technician technicien technicienne interlocuteur interlocutrice assistant assistante " +
		"gestionnaire founder fondateur ceo director directeur directrice specialist specialiste " +
		"expert experte teleconseiller teleconseillere hotliner"},
	{rPerson | rPlural, "humans humains humaines people agents operators operateurs conseillers " +
		"conseilleres advisors advisers representatives reps employees employes managers " +
		"supervisors technicians techniciens founders fondateurs experts specialists"},
	{rPerson | rNeedDet, "personne"},
	{rPerson | rNeedDet | rPlural, "personnes persons"},
	{rSomeone, "someone somebody anyone anybody quelquun qqn qqun qq1 quelqun kelkun kelkin kelk1 qlqn qlq1 quelqu1"},
	{rDept, "support service services team equipe sav helpdesk hotline clientele"},
	{rQual, "real live actual proper true genuine vrai vraie vrais vraies reel reelle reels physique etre " +
		"ligne direct telephone phone tel vive voix chez autre else other another " +
		"bloody damn goddamn fucking freaking effing"},
	{rBot, "bot bots robot robots chatbot chatbots machine machines ia automate computer ordinateur algorithme algorithm"},
	{rTalk, "talk talks talking talkin speak speaks speaking converse communicate " +
		"parler parle parles parlez parlons discuter discute discutes discutez echanger echange " +
		"tchatter tchater tchatcher dialoguer entretenir"},
	{rTalk | rObj, "chat chatting chating"},
	{rReach, "contacting contactez contactes reach reaching joindre connect connecting " +
		"connecter connectez connecte transfer transferring transferer transferez transfere " +
		"transferred transfered forward redirect rediriger redirigez redirige escalate escalade escalader hand " +
		"rappelez rappele appelez"},
	{rReach | rObj, "handoff handover transfert"},
	{rReach | rServe, "contact contacte contacter recontacter recontacte recontactez rappeler rappelle appeler appelle"},
	{rGive | rWant, "get"},
	{rGive, "give passer passez passe passes donner donnez donne put"},
	{rGive | rMe, "gimme"},
	{rWant, "want wants wanna wana need needs like prefer rather request requesting require ask asking " +
		"demand veux veut veu vx jveux jveu jvx jveut vouloir voudrais voudrait voudrai voulais voulait " +
		"aimerais aimerai aimerait souhaite souhaites souhaitons souhaiterais souhaiterai souhaiter " +
		"besoin faut demande demander exige avoir preferer prefere prefererais"},
	{rWant | rAux, "have"},
	{rServe, "aider help helps assist repondre reponde answer"},
	{rMe, "me moi m myself"},
	{rDet, "an the your ur yr my our some any un une le la l les votre vos ton ta tes mon ma mes nos notre " +
		"this that these ce cet cette one 1"},
	{rDet | rPrep, "a du des"},
	{rPrep, "to with from at of for by over through thru into au aux avec de d en vers par pour in"},
	{rPron, "i je j tu you u ya vous te t il s c qu que it also just then so on nous we us sil"},
	{rModal, "can could may might would will should peux peut pouvez pourrais pourrait pourriez puis puisse " +
		"est is are va vas do does possible"},
	{rPolite, "please pls plz plse plss svp svpl stp plait plais pitie now asap urgent urgente urgence vite " +
		"immediately immediatement maintenant"},
	{rFiller, "hello hi hey bonjour bonsoir salut slt bjr bsr cc coucou allo alo oui ouais yes yeah yep " +
		"non nope nan ok okay oki merci thanks thank thx alors bon euh hmm hm well wrong nevermind " +
		"sorry pardon desole excuse ah oh bah"},
	{rNeg | rFiller, "no"},
	{rNeg, "not never dont don doesnt didnt cant cannot wont isnt arent aint ne n pas plus jamais aucun " +
		"aucune stop arrete arretez arreter marre assez enough stupid useless annoying dumb pointless " +
		"rubbish nul nulle inutile idiot debile hate deteste"},
	{rCopula, "be become becoming devenir deviens devenu"},
	{rHelp, "aide assistance assistence asistance hep hlp"},
	{rObj, "conversation discussion appel ca cela ceci"},
	{rThird, "client clients customer customers visiteur visiteurs visitor visitors user users utilisateur " +
		"utilisateurs utilisatrice utilisatrices internaute internautes acheteur acheteurs buyer buyers " +
		"ils elles they their leur leurs abonne abonnes subscriber subscribers member members membre membres " +
		"lead leads prospect prospects"},
	{rConfig, "configure configurer configurez configuration config parametrer parametrez parametre parametres " +
		"parametrage set setting settings setup desactiver desactivez disable activer activez enable ajouter " +
		"ajoutez add supprimer supprimez delete remove retirer inviter invitez invite console widget bouton " +
		"button dashboard installer install integrer integrate integration attribuer assign assigner " +
		"reassigner reassign personnaliser customize customise site website formulaire form bulle plugin webhook api"},
	{rTime, "heure heures horaire horaires hours hour when quand jusqu weekend weekends samedi dimanche " +
		"nuit night nights soir evening evenings ferie feries holiday holidays"},
	{rHow, "how what where which why comment quel quelle quels quelles pourquoi combien"},
	{rSales, "sales sale salesperson salesman salesmen salespeople saleswoman commercial commerciale " +
		"commerciaux commerciales vente ventes"},
	{rAvail, "available disponible disponibles dispo dispos online libre"},
	{rAux, "ai as avons avez ont avait avais avaient eu has had ve deja"},
	{rExist, "there y"},
	{rRelation, "relation touch"},
	// Words one edit away from a keyword, seen in real questions: "argent"
	// is not "agent", "whats" is not "chats", "compter" is not "computer".
	{rKnown, "manage managed manages conseillez conseillons contacted contract contracts contacts talked spoke " +
		"spoken chatted argent parce savoir humour agence changer change changez changes aient avoid pause " +
		"casse fasse masse basse paste bonne sonne sonner compter whats thats achats chars charts dispute " +
		"disputes disputer export expect manger moindre parole paroles refer reduire taking walking tasks " +
		"directory quelque quelques personnels stuff react donnee"},
}

// handoffRoles maps each folded word to its roles; handoffFuzzy holds, by
// length, the person nouns and key verbs a typo may stand for. Both are
// built once and never written after init.
var (
	handoffRoles = map[string]role{}
	handoffFuzzy [24][]string
)

// fuzzyRoles are the roles worth a typo match: the words a request needs.
const fuzzyRoles = rPerson | rSomeone | rTalk | rReach | rGive | rWant | rBot

// minFuzzyLen is the shortest word matched with one edit: below five letters
// one edit turns too many words into others ("talk"/"tall", "want"/"went").
const minFuzzyLen = 5

func init() {
	for _, e := range handoffLexicon {
		start := 0
		for i := 0; i <= len(e.words); i++ {
			if i < len(e.words) && e.words[i] != ' ' {
				continue
			}
			if w := e.words[start:i]; w != "" {
				handoffRoles[w] |= e.k
				if e.k&fuzzyRoles != 0 && len(w) >= minFuzzyLen && len(w) < len(handoffFuzzy) {
					handoffFuzzy[len(w)] = append(handoffFuzzy[len(w)], w)
				}
			}
			start = i + 1
		}
	}
}

// roleOf returns the roles of w, allowing one edit (substitution,
// insertion, deletion or swap of two neighbours) for words of five letters
// or more that are not in the lexicon.
func roleOf(w string) role {
	if k, ok := handoffRoles[w]; ok {
		return k &^ rKnown
	}
	n := len(w)
	if n < minFuzzyLen || n > len(handoffFuzzy) {
		return 0
	}
	for l := n - 1; l <= n+1; l++ {
		if l < minFuzzyLen || l >= len(handoffFuzzy) {
			continue
		}
		for _, cand := range handoffFuzzy[l] {
			if withinOneEdit(w, cand) {
				return handoffRoles[cand]
			}
		}
	}
	return 0
}

// withinOneEdit reports whether a and b differ by at most one substitution,
// insertion, deletion or swap of two adjacent letters.
func withinOneEdit(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) > 1 {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if i == len(a) {
		return true
	}
	if len(a) == len(b) {
		if a[i+1:] == b[i+1:] {
			return true
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	}
	return a[i:] == b[i+1:]
}
