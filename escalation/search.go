package escalation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Search finds conversations for the console, one hit per conversation:
// by a ticket's reference or by an email address, exactly; by what was
// said, with SQLite full-text search (FTS4, migration 012) over messages
// and internal notes; and by date and time ("précisez la date et l'heure
// de votre échange"), alone or with any of the others.

// SearchMode says how a query was understood.
type SearchMode string

// The modes of a search.
const (
	SearchNone  SearchMode = ""      // nothing to look for
	SearchRef   SearchMode = "ref"   // a ticket's reference, exactly
	SearchEmail SearchMode = "email" // an address, exactly (any case)
	SearchText  SearchMode = "text"  // words in messages and notes
	SearchTime  SearchMode = "time"  // any message within From–To
)

// Bounds of a search.
const (
	DefaultSearchPage = 20
	maxSearchPage     = 100
	// maxSearchTerms bounds the words of a text search: each is a lookup
	// in the index, and an agent never needs more to find a conversation.
	maxSearchTerms = 12
	// snippetChars bounds the text shown of a message that matched on
	// its time or address rather than its words.
	snippetChars = 200
)

// SearchQuery is what an agent looks for.
type SearchQuery struct {
	// Text is a reference ("K7Q-4821", "#k7q-4821"), an address, or
	// words: each must appear (accents and case aside), a word of three
	// letters or more as a prefix, and "quoted words" as a phrase.
	Text string
	// From (inclusive) and To (exclusive) bound the time of the matching
	// message, or note; zero leaves that side open. Taken to the second.
	From, To time.Time
	// Limit is the page size (DefaultSearchPage when 0, at most 100);
	// Offset skips that many hits.
	Limit, Offset int
}

// SnippetPart is a piece of a hit's text; Match marks the words found.
type SnippetPart struct {
	Text  string
	Match bool
}

// ConversationInfo is what the console shows about a conversation beside
// its messages.
type ConversationInfo struct {
	ID        int64
	Lang      string
	Origin    string // the site the bubble ran on
	CreatedAt time.Time
	UpdatedAt time.Time
	Ticket    *Ticket // nil when it has none
	Chat      *Chat   // nil when it never asked for a chat
	// Email is the visitor's address as far as it is known: the ticket's,
	// else the one the embedding site vouched for, else the last a
	// transcript went to.
	Email string
}

// SearchHit is one conversation found, with the message or note that
// matched (the latest, when several did).
type SearchHit struct {
	ConversationInfo
	At      time.Time     // the time of the message or note shown
	Seq     int64         // the message shown; 0 for a note
	Role    Role          // its role; "" for a note
	InNote  bool          // the words were found in an internal note
	Snippet []SnippetPart // its text around the words found
	Matches int           // how many of the conversation's messages and notes matched
}

// SearchResult is one page of hits.
type SearchResult struct {
	Mode SearchMode
	Hits []SearchHit
	More bool // a next page exists
}

// refPattern is a ticket reference as a visitor quotes it.
var refPattern = regexp.MustCompile(`^#?[A-Za-z][2-9][A-Za-z]-[0-9]{4}$`)

// Search runs q. A reference that names no ticket is searched as words
// (it may be quoted in a message). With neither text nor dates there is
// nothing to look for, and no hits.
func (s *Store) Search(ctx context.Context, q SearchQuery) (SearchResult, error) {
	res, err := s.search(ctx, q)
	if err != nil {
		return SearchResult{}, fmt.Errorf("store: search: %w", err)
	}
	return res, nil
}

// hitRow is a hit before its conversation is read.
type hitRow struct {
	conv    int64
	seq     int64
	role    string
	at      string
	note    bool
	snippet string
	matches int
}

func (s *Store) search(ctx context.Context, q SearchQuery) (SearchResult, error) {
	text := strings.TrimSpace(q.Text)
	if q.Limit <= 0 {
		q.Limit = DefaultSearchPage
	}
	q.Limit, q.Offset = min(q.Limit, maxSearchPage), max(q.Offset, 0)
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return SearchResult{}, invalid("to", "must be after from")
	}
	w := window{from: searchBound(q.From, false), to: searchBound(q.To, true)}
	var res SearchResult
	var rows []hitRow
	var err error
	switch {
	case refPattern.MatchString(text):
		t, err := s.TicketByRef(ctx, text)
		if err == nil {
			res.Mode = SearchRef
			rows = []hitRow{{conv: t.ConversationID, at: formatOutboxTime(t.UpdatedAt)}}
			break
		} else if !errors.Is(err, ErrNotFound) {
			return SearchResult{}, err
		}
		res.Mode, rows, err = s.textHits(ctx, text, w, q.Limit+1, q.Offset)
		if err != nil {
			return SearchResult{}, err
		}
	case looksLikeEmail(text):
		res.Mode = SearchEmail
		if rows, err = s.emailHits(ctx, asciiLower(text), w, q.Limit+1, q.Offset); err != nil {
			return SearchResult{}, err
		}
	case text != "":
		if res.Mode, rows, err = s.textHits(ctx, text, w, q.Limit+1, q.Offset); err != nil {
			return SearchResult{}, err
		}
	case !q.From.IsZero() || !q.To.IsZero():
		res.Mode = SearchTime
		if rows, err = s.timeHits(ctx, w, q.Limit+1, q.Offset); err != nil {
			return SearchResult{}, err
		}
	default:
		return SearchResult{}, nil
	}
	if len(rows) > q.Limit {
		rows, res.More = rows[:q.Limit], true
	}
	for _, r := range rows {
		h, err := s.hitOf(ctx, r, w)
		if err != nil {
			return SearchResult{}, err
		}
		res.Hits = append(res.Hits, h)
	}
	return res, nil
}

// window is a search's time bounds as searchBound writes them.
type window struct{ from, to string }

// searchBound is t as the store's times are compared to: UTC, to the
// second, with neither fraction nor zone. Stored times all start with
// that layout (RFC 3339 in UTC, with or without a fraction), so a prefix
// compares right in text order: "…T09:15:00" ≤ "…T09:15:00Z" and
// "…T09:15:00.5Z" < "…T09:15:01". A zero t is an open side; an upper
// bound with a fraction is rounded up to the next second.
func searchBound(t time.Time, upper bool) string {
	switch {
	case t.IsZero() && upper:
		return "9999"
	case t.IsZero():
		return ""
	case upper:
		t = t.Add(time.Second - time.Nanosecond)
	}
	return t.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05")
}

// looksLikeEmail says whether a search is an address: one @, no space.
func looksLikeEmail(text string) bool {
	at := strings.IndexByte(text, '@')
	return at > 0 && at < len(text)-1 && strings.Count(text, "@") == 1 && !strings.ContainsFunc(text, unicode.IsSpace)
}

// ftsQuery turns what an agent typed into an FTS4 query: every word must
// match; a word of three letters or more matches as a prefix
// ("rembours" finds "remboursement"); "quoted words" match as a phrase.
// Words are runs of letters and digits, lower-cased, the way the index's
// tokenizer cuts them, so nothing typed can be an FTS operator (AND, OR,
// NOT and NEAR are upper-case only) or break the query's syntax. It
// returns "" when no word is left.
func ftsQuery(text string) string {
	var terms []string
	isWordRune := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
	for i, part := range strings.Split(text, `"`) {
		words := strings.FieldsFunc(strings.ToLower(part), func(r rune) bool { return !isWordRune(r) })
		if len(words) == 0 {
			continue
		}
		if i%2 == 1 && len(words) > 1 { // inside quotes: a phrase
			if len(words) > maxSearchTerms {
				words = words[:maxSearchTerms]
			}
			terms = append(terms, `"`+strings.Join(words, " ")+`"`)
			continue
		}
		for _, w := range words {
			if utf8.RuneCountInString(w) >= 3 {
				w += "*"
			}
			terms = append(terms, w)
		}
	}
	if len(terms) > maxSearchTerms {
		terms = terms[:maxSearchTerms]
	}
	return strings.Join(terms, " ")
}

// Snippet markers: control characters no one types, around each word
// found. splitSnippet turns them into SnippetParts; the console escapes
// the text itself.
const (
	snippetOpen  = "\x02"
	snippetClose = "\x03"
)

// textHits finds the conversations whose messages or notes have the
// words, within w; a text with no word falls back to the time window.
func (s *Store) textHits(ctx context.Context, text string, w window, limit, offset int) (SearchMode, []hitRow, error) {
	match := ftsQuery(text)
	if match == "" {
		if w.from == "" && w.to == "9999" {
			return SearchNone, nil, nil
		}
		rows, err := s.timeHits(ctx, w, limit, offset)
		return SearchTime, rows, err
	}
	// One hit per conversation: its latest match, and how many matched.
	rows, err := s.read.QueryContext(ctx, `
		WITH hits AS (
			SELECT m.conversation_id AS conv, m.seq AS seq, m.role AS role, m.created_at AS at, 0 AS note,
				snippet(message_search, ?, ?, '…', -1, 24) AS snip
			FROM message_search
			JOIN messages m ON m.conversation_id = (message_search.docid >> 32)
				AND m.seq = (message_search.docid & 4294967295)
			WHERE message_search MATCH ? AND m.created_at >= ? AND m.created_at < ?
			UNION ALL
			SELECT n.conversation_id, 0, '', n.created_at, 1, snippet(agent_note_search, ?, ?, '…', -1, 24)
			FROM agent_note_search JOIN agent_notes n ON n.id = agent_note_search.docid
			WHERE agent_note_search MATCH ? AND n.created_at >= ? AND n.created_at < ?
		), ranked AS (
			SELECT *, row_number() OVER (PARTITION BY conv ORDER BY at DESC, seq DESC) AS rn,
				count(*) OVER (PARTITION BY conv) AS matches
			FROM hits
		)
		SELECT conv, seq, role, at, note, snip, matches FROM ranked WHERE rn = 1
		ORDER BY at DESC, conv DESC LIMIT ? OFFSET ?`,
		snippetOpen, snippetClose, match, w.from, w.to,
		snippetOpen, snippetClose, match, w.from, w.to, limit, offset)
	if err != nil {
		return SearchText, nil, err
	}
	defer rows.Close()
	var out []hitRow
	for rows.Next() {
		var h hitRow
		if err := rows.Scan(&h.conv, &h.seq, &h.role, &h.at, &h.note, &h.snippet, &h.matches); err != nil {
			return SearchText, nil, err
		}
		out = append(out, h)
	}
	return SearchText, out, rows.Err()
}

// emailHits finds the conversations of an address (lower-cased): its
// tickets, the conversations the embedding site vouched it for, and those
// whose transcript went to it, with a message within w.
func (s *Store) emailHits(ctx context.Context, key string, w window, limit, offset int) ([]hitRow, error) {
	return s.groupedHits(ctx, `
		WITH convs (conv) AS (
			SELECT id FROM conversations WHERE lower(identity_email) = ?
			UNION SELECT conversation_id FROM tickets WHERE lower(email) = ?
			UNION SELECT conversation_id FROM transcripts WHERE email = ?
		)
		SELECT m.conversation_id, MAX(m.created_at), COUNT(*) FROM convs JOIN messages m ON m.conversation_id = convs.conv
		WHERE m.created_at >= ? AND m.created_at < ?
		GROUP BY m.conversation_id ORDER BY 2 DESC, 1 DESC LIMIT ? OFFSET ?`,
		key, key, key, w.from, w.to, limit, offset)
}

// timeHits finds the conversations with a message within w, the latest
// activity first.
func (s *Store) timeHits(ctx context.Context, w window, limit, offset int) ([]hitRow, error) {
	return s.groupedHits(ctx, `
		SELECT conversation_id, MAX(created_at), COUNT(*) FROM messages
		WHERE created_at >= ? AND created_at < ?
		GROUP BY conversation_id ORDER BY 2 DESC, 1 DESC LIMIT ? OFFSET ?`,
		w.from, w.to, limit, offset)
}

// groupedHits reads rows of (conversation, latest time, count).
func (s *Store) groupedHits(ctx context.Context, query string, args ...any) ([]hitRow, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []hitRow
	for rows.Next() {
		var h hitRow
		if err := rows.Scan(&h.conv, &h.at, &h.matches); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// hitOf reads a hit's conversation and, for a hit on its address or
// time, the message to show: the visitor's first within w (else the
// first), which is what they will remember.
func (s *Store) hitOf(ctx context.Context, r hitRow, w window) (SearchHit, error) {
	info, err := s.conversationInfo(ctx, r.conv)
	if err != nil {
		return SearchHit{}, err
	}
	h := SearchHit{ConversationInfo: info, At: parseTime(r.at), Seq: r.seq, Role: Role(r.role), InNote: r.note,
		Matches: r.matches}
	if r.snippet != "" {
		h.Snippet = splitSnippet(r.snippet)
		return h, nil
	}
	rows, err := s.read.QueryContext(ctx, selectMessage+` WHERE conversation_id = ? AND created_at >= ? AND created_at < ?
		ORDER BY role <> 'visitor', seq LIMIT 1`, r.conv, w.from, w.to)
	if err != nil {
		return SearchHit{}, err
	}
	msgs, err := scanMessages(rows)
	if err != nil || len(msgs) == 0 {
		return h, err
	}
	m := msgs[0]
	h.Seq, h.Role, h.At = m.Seq, m.Role, m.CreatedAt
	text := lineOf(m, info.Lang, "").Text
	if utf8.RuneCountInString(text) > snippetChars {
		text = string([]rune(text)[:snippetChars]) + "…"
	}
	h.Snippet = []SnippetPart{{Text: text}}
	return h, nil
}

// splitSnippet cuts FTS's snippet at its markers.
func splitSnippet(s string) []SnippetPart {
	var out []SnippetPart
	for s != "" {
		open := strings.Index(s, snippetOpen)
		if open < 0 {
			out = append(out, SnippetPart{Text: s})
			break
		}
		if open > 0 {
			out = append(out, SnippetPart{Text: s[:open]})
		}
		s = s[open+len(snippetOpen):]
		end := strings.Index(s, snippetClose)
		if end < 0 {
			out = append(out, SnippetPart{Text: s, Match: true})
			break
		}
		out = append(out, SnippetPart{Text: s[:end], Match: true})
		s = s[end+len(snippetClose):]
	}
	return out
}

// ConversationInfo returns what the console shows about a conversation
// beside its messages; ErrNotFound when there is no such conversation.
func (s *Store) ConversationInfo(ctx context.Context, id int64) (ConversationInfo, error) {
	info, err := s.conversationInfo(ctx, id)
	if err != nil {
		return ConversationInfo{}, fmt.Errorf("store: conversation %d: %w", id, err)
	}
	return info, nil
}

func (s *Store) conversationInfo(ctx context.Context, id int64) (ConversationInfo, error) {
	var info ConversationInfo
	var created, updated, identity, transcript string
	err := s.read.QueryRowContext(ctx, `SELECT c.id, c.lang, c.origin, c.created_at, c.updated_at, COALESCE(c.identity_email, ''),
			COALESCE((SELECT email FROM transcripts WHERE conversation_id = c.id ORDER BY id DESC LIMIT 1), '')
		FROM conversations c WHERE c.id = ?`, id).
		Scan(&info.ID, &info.Lang, &info.Origin, &created, &updated, &identity, &transcript)
	if errors.Is(err, sql.ErrNoRows) {
		return ConversationInfo{}, fmt.Errorf("conversation %d: %w", id, ErrNotFound)
	} else if err != nil {
		return ConversationInfo{}, err
	}
	info.CreatedAt, info.UpdatedAt = parseTime(created), parseTime(updated)
	t, err := scanTicket(s.read.QueryRowContext(ctx, latestTicketOfConversation, id))
	switch {
	case err == nil:
		info.Ticket = &t
	case !errors.Is(err, ErrNotFound):
		return ConversationInfo{}, err
	}
	c, err := s.chatIn(ctx, s.read, id)
	switch {
	case err == nil:
		info.Chat = &c
	case !errors.Is(err, ErrNotFound):
		return ConversationInfo{}, err
	}
	switch {
	case info.Ticket != nil:
		info.Email = info.Ticket.Email
	case identity != "":
		info.Email = identity
	default:
		info.Email = transcript
	}
	return info, nil
}
