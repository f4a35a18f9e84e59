package bot

import (
	"unicode"
	"unicode/utf8"
)

// WantsHuman reports whether text explicitly asks to talk to a person
// (agent, human, conseiller...), in French or English, with or without
// accents, with typos.
//
// It is a small hand-written grammar, not a classifier: the text is folded to
// lowercase ASCII and cut into clauses, each word gets a set of roles from a
// lexicon (a person noun, a request verb, a determiner...), with one edit of
// typo tolerance on the words that matter, and a clause asks for a person
// when it matches one of these shapes:
//
//   - a request verb followed by a person: "parler à un conseiller",
//     "passez-moi un humain", "connect me to a real person", "i want a human";
//   - a bare person, alone or with "please": "un conseiller svp", "opérateur";
//   - a refusal of the bot: "I don't wanna talk to a bot", "pas de robot svp";
//   - a person asked to act for the visitor: "un humain peut m'aider ?";
//   - a person asked for by availability or presence: "un conseiller est-il
//     disponible ?", "is there a human I can talk to?".
//
// Questions about agents rather than requests for one are left alone: the
// shapes are vetoed when a third party is the subject ("comment mes clients
// peuvent parler à un conseiller"), when the clause is about setting something
// up ("désactiver le transfert vers un conseiller"), when it asks about hours
// ("jusqu'à quelle heure joindre le support"), when it reports the past
// ("j'ai parlé à un conseiller") or when it asks for sales. Words inside
// quotation marks are mentioned, not used, and are ignored.
func WantsHuman(text string) bool {
	// Explicit requests are short; a pasted log or e-mail is cut so that the
	// cost per message stays bounded.
	const maxBytes = 1024
	if len(text) > maxBytes {
		text = text[:maxBytes]
	}
	// The arrays keep a short message off the heap.
	var bufArr [256]byte
	var tokArr [48]handoffToken
	buf, toks := tokenize(text, bufArr[:0], tokArr[:0])
	s := handoffScanner{buf: buf}
	s.toks = s.resolve(toks)
	start := 0
	for i := 0; i <= len(s.toks); i++ {
		if i < len(s.toks) && s.toks[i].role&rBreak == 0 {
			continue
		}
		if i > start && s.clauseWantsHuman(s.toks[start:i]) {
			return true
		}
		start = i + 1
	}
	return false
}

// handoffToken is one word of the normalised text; start and end index the
// folded text.
type handoffToken struct {
	start, end int32
	role       role
	quoted     bool
}

// handoffScanner holds the folded text and its tokens.
type handoffScanner struct {
	buf  []byte
	toks []handoffToken
}

func (s *handoffScanner) word(t handoffToken) string { return string(s.buf[t.start:t.end]) }

// tokenize folds text to lowercase ASCII words appended to buf, one token
// per word appended to toks, marking clause breaks (sentence punctuation)
// with rBreak tokens and words inside quotation marks as quoted.
func tokenize(text string, buf []byte, toks []handoffToken) ([]byte, []handoffToken) {
	inWord := false
	quoteOpen := -1    // index in toks of the first quoted token, -1 when none
	var quoteMark rune // the mark that opened the quote: '"', '\'' or '«'

	letter := func(b byte) {
		if !inWord {
			toks = append(toks, handoffToken{start: int32(len(buf))})
			inWord = true
		}
		buf = append(buf, b)
	}
	endWord := func() {
		if inWord {
			toks[len(toks)-1].end = int32(len(buf))
			inWord = false
		}
	}
	addBreak := func() {
		endWord()
		if n := len(toks); n > 0 && toks[n-1].role&rBreak == 0 {
			toks = append(toks, handoffToken{role: rBreak})
		}
	}
	openQuote := func(mark rune) {
		endWord()
		quoteOpen, quoteMark = len(toks), mark
	}
	closeQuote := func() {
		endWord()
		for i := quoteOpen; i < len(toks); i++ {
			toks[i].quoted = true
		}
		quoteOpen = -1
	}
	for i := 0; i < len(text); {
		r, size := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		i += size
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			letter(byte(r))
		case r >= 'A' && r <= 'Z':
			letter(byte(r) + 'a' - 'A')
		case r == '\'' || r == '’' || r == '‘' || r == '`' || r == '´' || r == 'ʼ':
			nextLetter := i < len(text) && (isASCIILetter(text[i]) || text[i] >= utf8.RuneSelf)
			switch {
			case !inWord && nextLetter && quoteOpen < 0:
				// An apostrophe opening a word quotes: "the 'talk to
				// an agent' button".
				openQuote('\'')
			case inWord && !nextLetter && quoteOpen >= 0 && quoteMark == '\'':
				closeQuote()
			case inWord && i < len(text) && text[i] == 't' && (i+1 == len(text) || !isASCIILetter(text[i+1])):
				// "don't", "can't": keep the English negation as one
				// word ("dont").
			default:
				// Elsewhere the apostrophe cuts the elision off
				// ("l'humain" -> "l" "humain", "quelqu'un" -> "quelqu"
				// "un", merged again in resolve).
				endWord()
			}
		case r == '"':
			if quoteOpen >= 0 && quoteMark == '"' {
				closeQuote()
			} else if quoteOpen < 0 {
				openQuote('"')
			} else {
				endWord()
			}
		case r == '«' || r == '“' || r == '„':
			if quoteOpen < 0 {
				openQuote('«')
			} else {
				endWord()
			}
		case r == '»' || r == '”':
			if quoteOpen >= 0 && quoteMark == '«' {
				closeQuote()
			} else {
				endWord()
			}
		case r == '.' || r == ',' || r == '!' || r == '?' || r == ';' || r == ':' ||
			r == '(' || r == ')' || r == '[' || r == ']' || r == '\n' || r == '/' ||
			r == '\\' || r == '…' || r == '¿' || r == '¡':
			addBreak()
		default:
			if f, ok := foldLetter(r); ok {
				for j := 0; j < len(f); j++ {
					letter(f[j])
				}
				continue
			}
			endWord()
		}
	}
	endWord()
	return buf, toks
}

func isASCIILetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// foldLetter maps a non-ASCII letter to its lowercase ASCII spelling: é -> e,
// ç -> c, œ -> oe. It reports false for anything that is not a letter we
// know, which then separates words.
func foldLetter(r rune) (string, bool) {
	r = unicode.ToLower(r)
	switch r {
	case 'à', 'â', 'ä', 'á', 'ã', 'å':
		return "a", true
	case 'ç':
		return "c", true
	case 'é', 'è', 'ê', 'ë':
		return "e", true
	case 'î', 'ï', 'í', 'ì':
		return "i", true
	case 'ô', 'ö', 'ó', 'ò', 'õ':
		return "o", true
	case 'ù', 'û', 'ü', 'ú':
		return "u", true
	case 'ÿ', 'ý':
		return "y", true
	case 'ñ':
		return "n", true
	case 'œ':
		return "oe", true
	case 'æ':
		return "ae", true
	case 'ß':
		return "ss", true
	}
	return "", false
}

// resolve gives each token its roles, merges "quelqu" + "un", drops quoted
// words when the message has words outside the quotes, and recognises the
// few compounds whose meaning is not the sum of their words. It rewrites
// toks in place and returns it.
func (s *handoffScanner) resolve(toks []handoffToken) []handoffToken {
	hasUnquoted := false
	for _, t := range toks {
		if !t.quoted && t.role&rBreak == 0 {
			hasUnquoted = true
			break
		}
	}
	out := toks[:0]
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.quoted && hasUnquoted {
			// A quoted phrase is a name ("the 'talk to an agent' button"):
			// keep one opaque word in its place.
			if n := len(out); n == 0 || out[n-1].role != rMention {
				out = append(out, handoffToken{role: rMention})
			}
			continue
		}
		if t.role&rBreak != 0 {
			out = append(out, t)
			continue
		}
		w := s.word(t)
		if i+1 < len(toks) && toks[i+1].role&rBreak == 0 && s.word(toks[i+1]) == "un" && isQuelqu(w) {
			t.role = rSomeone
			i++
			t.end = toks[i].end
			out = append(out, t)
			continue
		}
		t.role = roleOf(w)
		prevDet := len(out) > 0 && out[len(out)-1].role&rDet != 0
		switch {
		case w == "ai" && prevDet:
			t.role = rBot // "an AI"; "j'ai" stays the French verb
		case w == "etre" && !prevDet:
			t.role = rCopula // "je veux être conseiller"; "un être humain" stays a person
		case w == "m" && len(out) > 0 && s.word(out[len(out)-1]) == "i":
			t.role = rCopula // "I'm a real person"
		case w == "est" && len(out) > 0 && s.word(out[len(out)-1]) == "c":
			t.role = rPron // "conseiller svp c'est urgent"
		}
		out = append(out, t)
	}
	toks = out
	for i := range toks {
		t := &toks[i]
		if t.role&(rThird|rDept) == 0 {
			continue
		}
		w := s.word(*t)
		prev, next := "", ""
		if i > 0 && toks[i-1].role&rBreak == 0 {
			prev = s.word(toks[i-1])
		}
		if i+1 < len(toks) && toks[i+1].role&rBreak == 0 {
			next = s.word(toks[i+1])
		}
		switch {
		case (w == "client" || w == "clients") && (prev == "service" || prev == "relation" || prev == "services"):
			// "service client" is a department, not the merchant's customers.
			t.role = rDept
		case (w == "customer" || w == "customers") && (next == "service" || next == "care" || next == "support" || next == "services"):
			t.role = rDept
			toks[i+1].role = rDept // "care" alone is not a department
		}
	}
	// "en relation avec", "en contact avec", "mise en relation": a request
	// only after "en"; "relation client" alone is a department name.
	for i := range toks {
		if toks[i].role&rRelation == 0 {
			continue
		}
		if i == 0 {
			continue
		}
		if prev := s.word(toks[i-1]); prev == "en" || prev == "in" {
			toks[i].role |= rReach
		}
	}
	return toks
}

// isQuelqu reports whether w is the first half of an elided "quelqu'un".
func isQuelqu(w string) bool {
	switch w {
	case "quelqu", "quelq", "quelque", "qelqu", "quelk", "kelqu", "quelqu1":
		return true
	}
	return false
}

// clauseWantsHuman applies the request shapes to one clause.
func (s *handoffScanner) clauseWantsHuman(c []handoffToken) bool {
	var all role
	for _, t := range c {
		all |= t.role
	}
	if all&rSales != 0 {
		// Sales enquiries ("talk to your sales team") go to the sales
		// answer, not to an immediate hand-off.
		return false
	}
	if all&(rPerson|rSomeone|rDept|rBot) == 0 {
		return false
	}
	if s.bare(c, all) {
		return true
	}
	for i, t := range c {
		switch {
		case t.role&(rTalk|rReach|rGive|rWant) != 0:
			if s.verbToPerson(c, i) {
				return true
			}
		case t.role&rPerson != 0 || t.role&rSomeone != 0:
			if s.personServes(c, i) || s.personAvailable(c, i) {
				return true
			}
		case t.role&rExist != 0:
			if s.thereIsPerson(c, i) {
				return true
			}
		}
	}
	return s.refusesBot(c, all)
}

// vetoedBefore reports whether a word before c[i] makes the clause a question
// about agents rather than a request: a third party or an agent in the plural
// as subject, the bot as subject, set-up vocabulary, or a time question.
func (s *handoffScanner) vetoedBefore(c []handoffToken, i int) bool {
	veto := rThird | rConfig | rTime | rBot
	for _, t := range c {
		if t.role&rNeg != 0 {
			// "j'en ai marre de ce robot je veux un humain": a bot that is
			// complained about is not the subject.
			veto &^= rBot
		}
	}
	for _, t := range c[:i] {
		if t.role&veto != 0 {
			return true
		}
		if t.role&rPerson != 0 && t.role&rPlural != 0 {
			return true
		}
	}
	return false
}

// isPersonAt reports whether c[j] names a person. "personne" needs a
// determiner or qualifier before it, or it means "nobody".
func isPersonAt(c []handoffToken, j int) bool {
	k := c[j].role
	if k&rPerson == 0 {
		return false
	}
	if k&rNeedDet != 0 {
		return j > 0 && c[j-1].role&(rDet|rQual) != 0
	}
	return true
}

// verbToPerson matches a request verb at c[i] followed by a person:
// "parler à un conseiller", "passez-moi un humain", "i want a real person".
func (s *handoffScanner) verbToPerson(c []handoffToken, i int) bool {
	v := c[i].role
	if s.vetoedBefore(c, i) {
		return false
	}
	if i > 0 && v&(rTalk|rReach|rGive) != 0 && v&rWant == 0 {
		prev := s.word(c[i-1])
		if c[i-1].role&rAux != 0 || prev == "a" && i > 1 && c[i-2].role&(rMe|rPron) != 0 {
			return false // "j'ai parlé à un conseiller", "il m'a appelé": a report
		}
		if prev == "s" || prev == "se" {
			return false // "s'appeler", "se connecter": reflexive, not a request
		}
		if w := s.word(c[i]); (w == "parle" || w == "parles") && (prev == "je" || prev == "j" || prev == "tu") {
			return false // "est-ce que je parle à un humain ?"
		}
	}
	how := false
	for _, t := range c[:i] {
		if t.role&rHow != 0 {
			how = true
		}
	}
	if how && v&rObj != 0 && i > 0 && c[i-1].role&(rDet|rQual) != 0 {
		return false // "quel plan inclut le chat avec un conseiller ?": chat is a product here
	}
	if v&rTalk != 0 && i+2 < len(c) && c[i+1].role&rMe != 0 {
		if w := s.word(c[i+2]); w == "de" || w == "d" || w == "du" || w == "des" || w == "about" {
			return false // "parlez-moi d'un conseiller" asks to be told about one
		}
	}
	needMe := v&rGive != 0 && v&(rTalk|rReach|rWant|rMe) == 0
	hasMe := i > 0 && c[i-1].role&rMe != 0
	skipped := false // one unknown word may be skipped
	obj := false     // a conversation is being moved
	for j := i + 1; j < len(c) && j <= i+7; j++ {
		k := c[j].role
		switch {
		case k&rMe != 0:
			hasMe = true
			continue
		case isPersonAt(c, j) || k&rSomeone != 0 || k&rDept != 0 && k&rPerson == 0:
			if needMe && !hasMe || how && obj {
				// "how do I transfer a conversation to another agent"
				// asks how the console works.
				return false
			}
			if k&rPlural != 0 && c[j-1].role&rDet == 0 {
				return false // "do you support live chat with agents?"
			}
			return s.acceptTarget(c, j, v, how)
		case k&rObj != 0:
			obj = true
			continue
		case k&(rDet|rPrep|rPron|rQual|rHelp) != 0:
			continue
		case k == 0 && !skipped && j+1 < len(c) && s.skippable(c, j):
			skipped = true
			continue
		}
		return false
	}
	return false
}

// skippable reports whether the unknown word c[j] inside a request may be
// passed over: an adjective between a determiner and the person ("a real
// rasa employee") or a mistyped short function word ("chat wth somebody").
func (s *handoffScanner) skippable(c []handoffToken, j int) bool {
	next := c[j+1].role
	if c[j-1].role&(rDet|rQual) != 0 && next&(rPerson|rQual) != 0 {
		return true
	}
	return c[j].end-c[j].start <= 4 && next&(rPrep|rDet|rPerson|rSomeone) != 0
}

// acceptTarget decides whether the person found at c[j] after the request
// verb of role v completes the request.
func (s *handoffScanner) acceptTarget(c []handoffToken, j int, v role, how bool) bool {
	k := c[j].role
	if k&rDept != 0 && k&(rPerson|rSomeone) == 0 {
		// A department is reached through a request ("mettez-moi en
		// relation avec le support") but a how-to question about it is
		// answered by an article ("comment contacter le support ?"), and
		// "I need support" asks for help, not for a person.
		if how || v&(rTalk|rReach|rGive) == 0 {
			return false
		}
	}
	if v&(rTalk|rReach) != 0 {
		return true
	}
	// After want/need/give, the person must end the phrase: "je veux un
	// conseiller svp", not "I want someone to call me" or "I have an agent
	// account".
	next := j + 1
	for next < len(c) && c[next].role&(rPerson|rQual|rDept) != 0 && (k&rSomeone == 0 || c[next].role&rQual != 0) {
		next++
	}
	if next >= len(c) {
		return true
	}
	nk := c[next].role
	if nk&(rPolite|rFiller|rNeg) != 0 {
		return true // "un humain svp", "une vraie personne, pas une machine"
	}
	if k&rSomeone != 0 {
		// "quelqu'un de réel", "quelqu'un au téléphone", "someone from
		// customer care".
		if nk&rPrep == 0 || next+1 >= len(c) {
			return false
		}
		after := c[next+1].role
		return after&(rQual|rDept) != 0 || after&rDet != 0 && next+2 < len(c) && c[next+2].role&rDept != 0
	}
	return nk&(rPrep|rPron|rMe|rDet|rTalk) != 0
}

// bare matches a clause made only of a person and politeness: "un conseiller
// svp", "humain", "someone from customer care", "assistance humaine".
func (s *handoffScanner) bare(c []handoffToken, all role) bool {
	if all&(rThird|rConfig) != 0 {
		return false
	}
	if all&rBot != 0 && all&rNeg == 0 {
		return false
	}
	content, person, someone := 0, false, false
	for j, t := range c {
		k := t.role
		switch {
		case isPersonAt(c, j):
			// "agents" alone searches the help center; "agent" asks.
			person = person || k&rPlural == 0
			content++
		case k&rSomeone != 0:
			someone = true
			content++
		case k&(rDept|rQual|rHelp|rBot) != 0 || k&rReach != 0 && k&rObj != 0:
			// rReach with rObj: a noun of transfer, as in "human handoff".
			content++
		case k&(rDet|rPrep|rPron|rMe|rPolite|rFiller|rNeg) != 0:
		default:
			return false
		}
	}
	if content > 4 {
		return false
	}
	if person {
		return true
	}
	return someone && all&(rQual|rDept|rPolite) != 0
}

// personServes matches a person asked to act for the visitor: "un humain
// peut m'aider ?", "un conseiller peut-il me rappeler ?", "j'aimerais qu'un
// conseiller me contacte", "get a human to assist me".
func (s *handoffScanner) personServes(c []handoffToken, i int) bool {
	if !isPersonAt(c, i) && c[i].role&rSomeone == 0 {
		return false
	}
	if c[i].role&rPlural != 0 || s.vetoedBefore(c, i) {
		return false
	}
	me := false
	for j := i + 1; j < len(c) && j <= i+6; j++ {
		k := c[j].role
		switch {
		case k&rMe != 0:
			me = true
		case k&rServe != 0:
			if me || j+1 < len(c) && c[j+1].role&rMe != 0 {
				return c[j-1].role&rAux == 0
			}
			return false
		case k&(rPron|rModal|rPrep|rQual) != 0:
		default:
			return false
		}
	}
	return false
}

// personAvailable matches "un conseiller est-il disponible ?", "is an agent
// available".
func (s *handoffScanner) personAvailable(c []handoffToken, i int) bool {
	if !isPersonAt(c, i) || s.vetoedBefore(c, i) {
		return false
	}
	for _, t := range c[i:] {
		if t.role&rTime != 0 {
			return false // "is the live agent available on weekends?" asks for hours
		}
	}
	for j := i + 1; j < len(c) && j <= i+4; j++ {
		k := c[j].role
		switch {
		case k&rAvail != 0:
			return true
		case k&(rPron|rModal|rQual) != 0:
		default:
			return false
		}
	}
	return false
}

// thereIsPerson matches "y a-t-il un conseiller ?", "is there a human",
// "are there also humans working for you".
func (s *handoffScanner) thereIsPerson(c []handoffToken, i int) bool {
	if s.vetoedBefore(c, i) {
		return false
	}
	for j := i + 1; j < len(c) && j <= i+5; j++ {
		k := c[j].role
		switch {
		case isPersonAt(c, j):
			return true
		case k&rSomeone != 0:
			// "is there someone I can talk to?"; "is there anybody?" alone
			// is as often a greeting.
			for _, t := range c[j+1:] {
				if t.role&rTalk != 0 {
					return true
				}
			}
			return false
		case k&(rDet|rPron|rQual|rExist) != 0:
		default:
			return false
		}
	}
	return false
}

// refusesBot matches a refusal of the bot: "I don't wanna talk to a bot",
// "je ne veux plus parler à un robot", "pas de robot svp", "talking to a bot
// is stupid".
func (s *handoffScanner) refusesBot(c []handoffToken, all role) bool {
	if all&rBot == 0 || all&rNeg == 0 || all&(rThird|rConfig) != 0 {
		return false
	}
	talkAt, botAt, negAt := -1, -1, -1
	for j, t := range c {
		switch {
		case t.role&rTalk != 0 && talkAt < 0:
			talkAt = j
		case t.role&rBot != 0 && botAt < 0:
			botAt = j
		}
		if t.role&rNeg != 0 && negAt < 0 {
			negAt = j
		}
	}
	if botAt < 0 {
		return false
	}
	if talkAt >= 0 && talkAt < botAt {
		// The negation may come first ("I don't want to talk to a bot") or
		// judge the talk afterwards ("talking to a bot is useless").
		return true
	}
	// "pas de robot svp": a short clause of negation, bot and politeness.
	return all&rPolite != 0 && negAt >= 0 && negAt < botAt && len(c) <= 6
}
