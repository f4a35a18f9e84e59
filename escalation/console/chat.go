package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

// Live chat, the agents' side. The queue and the chats' statuses are the
// store's (escalation/livechat*.go); the Hub wakes the consoles when a
// bubble or another console changes something. An agent sees the queue
// (queue frames), follows conversations (their messages by seq, replayed
// after the last one the console has), claims a queued chat, writes in a
// chat they hold, transfers it or closes it, over the console socket
// (ws.go, chat_session.go); the pages are in chat_page.go. The frames are
// in docs/console.md.
//
// Authorization: every agent reads every queued or active chat (they
// share the queue) and the chats they held; only the holder writes, which
// the store checks in the same transaction as the write.

// ChatStore is the store's side of live chat the console needs;
// *escalation.Store is one.
type ChatStore interface {
	ChatOf(ctx context.Context, conversationID int64) (escalation.Chat, error)
	QueuedChats(ctx context.Context) ([]escalation.Chat, error)
	ActiveChats(ctx context.Context) ([]escalation.Chat, error)
	ClaimChat(ctx context.Context, conversationID, agentID int64) (escalation.ChatChange, error)
	TransferChat(ctx context.Context, conversationID, fromAgent, toAgent int64) (escalation.ChatChange, error)
	CloseChat(ctx context.Context, conversationID, agentID int64) (escalation.ChatChange, error)
	AppendAgentMessage(ctx context.Context, agentID int64, m escalation.NewMessage) (escalation.Message, bool, error)
	MessagesAfter(ctx context.Context, conversationID, after int64, limit int) ([]escalation.Message, error)
	AgentNames(ctx context.Context, conversationID int64, seqs []int64) (map[int64]string, error)
	Agents(ctx context.Context) ([]escalation.Agent, error)
	AgentByID(ctx context.Context, id int64) (escalation.Agent, error)
	// The chat page shows the conversation's internal notes and files.
	AgentNotes(ctx context.Context, conversationID int64) ([]escalation.AgentNote, error)
	ConversationAttachments(ctx context.Context, conversationID int64) ([]escalation.Attachment, error)
}

var _ ChatStore = (*escalation.Store)(nil)

// Limits of live chat in the console.
const (
	// maxAgentText is the longest agent message, in characters: a
	// careful answer with a few steps, not a document.
	maxAgentText = 4000
	// maxAgentFrame bounds a frame from a console: a message of
	// maxAgentText characters in any script (up to 4 bytes each) with its
	// envelope. Past it the library closes the socket with 1009.
	maxAgentFrame = 32 << 10
	// maxFollows bounds the conversations one socket follows: an agent
	// holds a handful of chats, and each follow is a hub subscription.
	maxFollows = 50
	// historyLimit is how many of a conversation's latest messages its
	// page shows; the socket replays from there.
	historyLimit = 1000
	// pageSize is how many messages a flush reads at a time.
	pageSize = 100
)

// readable says whether agent may read the conversation of chat: any
// agent while it is queued or under way, and afterwards the agent who
// held it.
func readable(chat escalation.Chat, agentID int64) bool {
	return chat.Status.Live() || chat.AgentID == agentID
}

// chatInfo is what a console shows of a chat: in the lists, the page of a
// conversation, and the socket's queue and chat frames.
type chatInfo struct {
	ConversationID int64  `json:"conversation_id"`
	Status         string `json:"status"`
	Lang           string `json:"lang"`
	PageURL        string `json:"page_url,omitempty"`
	Topic          string `json:"topic,omitempty"`
	// Verified is the badge: the embedding site vouches for the visitor,
	// or their ticket's address is verified.
	Verified      bool      `json:"verified"`
	VerifiedEmail string    `json:"verified_email,omitempty"`
	AgentID       int64     `json:"agent_id,omitempty"` // who holds (or held) it
	Agent         string    `json:"agent,omitempty"`
	QueuedAt      time.Time `json:"queued_at"`
	// WaitS is how long a queued visitor has waited so far, in seconds.
	WaitS   int   `json:"wait_s,omitempty"`
	LastSeq int64 `json:"last_seq"`
	Rating  int   `json:"rating,omitempty"`
}

func infoOf(c escalation.Chat, now time.Time) chatInfo {
	i := chatInfo{ConversationID: c.ConversationID, Status: string(c.Status), Lang: c.Lang, PageURL: c.PageURL,
		Topic: c.Topic, Verified: c.Verified, VerifiedEmail: c.VerifiedEmail, AgentID: c.AgentID, Agent: c.AgentName,
		QueuedAt: c.QueuedAt.UTC(), LastSeq: c.LastSeq, Rating: c.Rating}
	if c.Status == escalation.ChatQueued {
		i.WaitS = int(max(0, now.Sub(c.QueuedAt)) / time.Second)
	}
	return i
}

func infosOf(chats []escalation.Chat, now time.Time) []chatInfo {
	out := make([]chatInfo, 0, len(chats))
	for _, c := range chats {
		out = append(out, infoOf(c, now))
	}
	return out
}

// chatLine is one message as a console shows it. Every field is text:
// the page escapes it (html/template) and the script sets it with
// textContent, so a message holding markup shows as that markup.
type chatLine struct {
	Seq       int64        `json:"seq"`
	Role      string       `json:"role"`
	Kind      string       `json:"kind"`
	Text      string       `json:"text"`
	ClientID  string       `json:"client_id,omitempty"`
	Agent     string       `json:"agent,omitempty"`      // an agent message's author; whom a chat note is about
	FromAgent string       `json:"from_agent,omitempty"` // chat_transferred
	Quote     string       `json:"quote,omitempty"`      // a bot answer's passage
	Article   *articleLink `json:"article,omitempty"`    // a bot answer's article
	Rating    int          `json:"rating,omitempty"`     // chat_rated
	CreatedAt time.Time    `json:"created_at"`
}

// articleLink is the article a bot answer quotes.
type articleLink struct {
	Title string `json:"title"`
	URL   string `json:"url,omitempty"` // relative to the help center
}

// noteBody is the part of a stored system note the console shows.
type noteBody struct {
	Text      string `json:"text"`
	Agent     string `json:"agent"`
	FromAgent string `json:"from_agent"`
	Rating    int    `json:"rating"`
	Ticket    string `json:"ticket"`
}

// lineOf turns a stored message into what the console shows; names are
// the authors of agent messages, by seq.
func lineOf(m escalation.Message, names map[int64]string) chatLine {
	l := chatLine{Seq: m.Seq, Role: string(m.Role), Kind: m.Kind, Text: m.Body, CreatedAt: m.CreatedAt.UTC()}
	switch m.Role {
	case escalation.RoleVisitor:
		l.ClientID = m.ClientID
	case escalation.RoleAgent:
		l.ClientID, l.Agent = m.ClientID, names[m.Seq]
	case escalation.RoleBot:
		if b, ok := escalation.ParseBotBody(m.Body); ok {
			l.Text, l.Quote = b.Text, b.Quote
			if l.Quote == "" {
				l.Quote = b.Pointer
			}
			if b.ArticleTitle != "" {
				l.Article = &articleLink{Title: b.ArticleTitle, URL: safeArticleURL(b.ArticleURL)}
				if b.ArticleHeading != "" {
					l.Article.Title += " › " + b.ArticleHeading
				}
			}
		}
	case escalation.RoleSystem:
		var b noteBody
		if json.Unmarshal([]byte(m.Body), &b) == nil {
			l.Text, l.Agent, l.FromAgent, l.Rating = b.Text, b.Agent, b.FromAgent, b.Rating
		}
	}
	return l
}

// safeArticleURL keeps an article link only when it is a path of this
// site: a stored body is ours, but a link is worth no risk.
func safeArticleURL(u string) string {
	if strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") && !strings.ContainsAny(u, "\\\r\n") {
		return u
	}
	return ""
}

// linesAfter reads the conversation's messages after seq, at most limit
// (all when 0), with the names of their agents.
func linesAfter(ctx context.Context, store ChatStore, convID, after int64, limit int) ([]chatLine, error) {
	var out []chatLine
	for {
		n := pageSize
		if limit > 0 {
			n = min(n, limit-len(out))
		}
		msgs, err := store.MessagesAfter(ctx, convID, after, n)
		if err != nil {
			return nil, err
		}
		var seqs []int64
		for _, m := range msgs {
			if m.Role == escalation.RoleAgent {
				seqs = append(seqs, m.Seq)
			}
		}
		names, err := store.AgentNames(ctx, convID, seqs)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			out = append(out, lineOf(m, names))
			after = m.Seq
		}
		if len(msgs) < n || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
	}
}

// statusNote says whether a message records a change of its chat.
func statusNote(l chatLine) bool {
	return l.Role == string(escalation.RoleSystem) && strings.HasPrefix(l.Kind, "chat_")
}

// errChat is a refusal of a chat action, with the code of its error frame.
type errChat struct {
	code, msg string
}

func (e *errChat) Error() string { return e.code + ": " + e.msg }

// chatRefusal maps the store's refusal of a chat action to an error
// frame: a conflict is conflict (taken for a claim, not_holder for the
// rest), and an agent removed (or unknown) is agent_gone, not the
// not_found of a chat. It is nil for no error, and for an error that is
// the server's.
func chatRefusal(err error, conflict string) *errChat {
	var ve *escalation.ValidationError
	switch {
	case errors.As(err, &ve):
		return &errChat{CodeBadFrame, fmt.Sprintf("%s: %s", ve.Field, ve.Msg)}
	case errors.Is(err, escalation.ErrAgentGone):
		return &errChat{CodeAgentGone, "that agent no longer exists (removed)"}
	case escalation.ErrorCode(err) == escalation.ENOTFOUND:
		return &errChat{CodeNotFound, "no such chat"}
	case escalation.ErrorCode(err) == escalation.ECONFLICT && conflict == CodeTaken:
		return &errChat{CodeTaken, "another agent took this chat"}
	case escalation.ErrorCode(err) == escalation.ECONFLICT:
		return &errChat{CodeNotHolder, "you do not hold this chat"}
	}
	return nil
}
