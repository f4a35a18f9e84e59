package widget

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
)

// Live chat on the visitor's side. A visitor who picks "chat" in the
// bot's offer is queued when chat is open: within the chat hours, with an
// agent online, and a wait under the limit. They then see their place and
// the wait (queue frames), the agent's arrival and messages (stored
// messages, like any other), the agent typing (typing frames), and after
// the close they may rate the chat (rate). When chat is not open, the
// bubble offers an email ticket on the same conversation, which carries
// the whole exchange: the visitor never meets a dead end. The frames are
// in docs/protocol.md; the queue and the chat's statuses are the store's
// (escalation/livechat*.go), and the Hub carries events to and from the
// agents' consoles.

// LiveChat is the store's side of live chat; *escalation.Store is one.
type LiveChat interface {
	EnqueueChat(ctx context.Context, conversationID int64, pageURL, topic string) (escalation.ChatChange, error)
	ChatOf(ctx context.Context, conversationID int64) (escalation.Chat, error)
	QueuePosition(ctx context.Context, conversationID int64) (position, ahead int, err error)
	QueueLength(ctx context.Context) (int, error)
	WaitEstimate(ctx context.Context, position int) (time.Duration, error)
	ConvertChatToTicket(ctx context.Context, conversationID int64) (escalation.ChatChange, error)
	RateChat(ctx context.Context, conversationID int64, r escalation.ChatRating) (escalation.ChatChange, error)
	AgentNames(ctx context.Context, conversationID int64, seqs []int64) (map[int64]string, error)
	ChatAbandoner // a visitor who leaves the queue (abandon.go)
}

// ChatHours says whether live chat is within its hours;
// *escalation.Availability is one.
type ChatHours interface {
	ChatStatus(ctx context.Context, at time.Time) escalation.ChannelStatus
}

// Agents counts the agents ready to take a chat; the agents' console
// implements it from the consoles connected and not away.
type Agents interface {
	Online() int
}

var (
	_ LiveChat  = (*escalation.Store)(nil)
	_ ChatHours = (*escalation.Availability)(nil)
)

// DefaultChatMaxWait is the longest estimated wait for which a visitor is
// queued; past it, email is the better promise.
const DefaultChatMaxWait = 10 * time.Minute

// Frame types of live chat.
const (
	typeTyping = "typing" // both ways: {on}; to the visitor, {role: "agent", on}
	typeRate   = "rate"   // client to server: {rating, comment?, client_id?}
	typeQueue  = "queue"  // server to client: {position, wait_s}
)

// Kinds of the widget's own live-chat notes.
const (
	kindPersonRequest   = "person_request"
	kindChatUnavailable = "chat_unavailable"
)

// Error codes of live chat.
const (
	CodeNoChat       = "no_chat"       // this server runs no live chat
	CodeBadRating    = "bad_rating"    // the rating is not 1 to 5, or its comment too long
	CodeNotClosed    = "not_closed"    // there is no closed chat to rate
	CodeAlreadyRated = "already_rated" // the chat was rated already
)

// Why chat is not offered to a visitor who asked for it.
const (
	reasonClosed  = "closed"   // outside the chat hours
	reasonNoAgent = "no_agent" // nobody online
	reasonWait    = "wait"     // the estimated wait is over the limit
)

// queueFrame tells a queued visitor their place; position 0 says they are
// out of the queue (claimed, or gone to email).
type queueFrame struct {
	Type     string `json:"type"`
	Position int    `json:"position"`
	WaitS    int    `json:"wait_s,omitempty"`
}

// typingFrame tells the visitor the agent is typing, or stopped.
type typingFrame struct {
	Type string `json:"type"`
	Role string `json:"role"`
	On   bool   `json:"on"`
}

// chatRequest answers a person frame for chat: the request is recorded
// (acked with its seq), then the conversation is queued, or chat is not
// open and the visitor is offered email, in a note replying to the
// request. A resend finds the chat queued or that note, and decides
// nothing twice.
func (s *Session) chatRequest(ctx context.Context, f inFrame) error {
	conv, lang := s.conversation(), s.turnLang()
	body, _ := json.Marshal(systemBody{Text: chatRequestText(lang), Channel: string(bot.ChannelChat)})
	req, created, err := s.w.store.AppendMessage(ctx, escalation.NewMessage{ConversationID: conv.ID,
		Role: escalation.RoleSystem, ClientID: f.ClientID, Kind: kindPersonRequest, Body: string(body)})
	if err != nil {
		return s.internalFor(ctx, f.ClientID, "store person request", err)
	}
	if created {
		s.w.log.Info("person requested", "conversation_id", conv.ID, "seq", req.Seq, "channel", f.Channel)
		s.w.hub.publish(conv.ID, s)
	}
	if f.ClientID != "" {
		if err := s.send(ctx, ackFrame{Type: typeAck, ClientID: f.ClientID, Seq: req.Seq}); err != nil {
			return err
		}
	}
	lc := s.w.opt.LiveChat
	chat, err := lc.ChatOf(ctx, conv.ID)
	switch {
	case err == nil && chat.Status.Live():
		if chat.Status == escalation.ChatQueued {
			s.live.watchQueue() // a second click: say the place again
		}
		return s.Flush(ctx)
	case err == nil && !created && !chat.QueuedAt.Before(req.CreatedAt):
		return s.Flush(ctx) // a resend of a request that was queued, and has ended since
	case err != nil && !errors.Is(err, escalation.ErrNotFound):
		return s.internalFor(ctx, f.ClientID, "read chat", err)
	}
	if !created {
		if _, answered, err := s.w.store.ReplyTo(ctx, conv.ID, req.Seq); err != nil {
			return s.internalFor(ctx, f.ClientID, "find chat answer", err)
		} else if answered {
			return s.Flush(ctx)
		}
	}
	reason, err := s.w.chatClosedReason(ctx)
	if err != nil {
		return s.internalFor(ctx, f.ClientID, "check chat", err)
	}
	if reason != "" {
		return s.chatUnavailable(ctx, conv.ID, req.Seq, reason)
	}
	ch, err := lc.EnqueueChat(ctx, conv.ID, f.PageURL, f.Topic)
	var ve *escalation.ValidationError
	if errors.As(err, &ve) {
		// A page address the store refuses must not cost the visitor their
		// place: queue them without it.
		ch, err = lc.EnqueueChat(ctx, conv.ID, "", "")
	}
	if err != nil {
		return s.internalFor(ctx, f.ClientID, "enqueue chat", err)
	}
	if ch.Created {
		s.w.log.Info("chat queued", "conversation_id", conv.ID, "seq", ch.Note.Seq)
		s.w.hub.publish(conv.ID, s)
		s.w.hub.publishQueue()
	}
	s.live.watchQueue()
	return s.Flush(ctx)
}

// chatClosedReason says why chat is not open now, or "" when it is.
func (w *Widget) chatClosedReason(ctx context.Context) (string, error) {
	if w.opt.ChatHours != nil && !w.opt.ChatHours.ChatStatus(ctx, time.Now()).Open {
		return reasonClosed, nil
	}
	if w.opt.Agents == nil || w.opt.Agents.Online() < 1 {
		return reasonNoAgent, nil
	}
	n, err := w.opt.LiveChat.QueueLength(ctx)
	if err != nil {
		return "", err
	}
	wait, err := w.opt.LiveChat.WaitEstimate(ctx, n+1)
	if err != nil {
		return "", err
	}
	if wait > w.opt.ChatMaxWait {
		return reasonWait, nil
	}
	return "", nil
}

// chatUnavailable records that chat is not open, replying to the request,
// with the email channel when the server takes tickets: the bubble then
// shows the ticket form, and the ticket opens on this conversation.
func (s *Session) chatUnavailable(ctx context.Context, convID, requestSeq int64, reason string) error {
	lang := s.turnLang()
	b := systemBody{Text: unavailableText(lang, reason, s.w.opt.ChatMaxWait, s.w.opt.Tickets != nil), Reason: reason}
	if s.w.opt.Tickets != nil {
		b.Channel = string(bot.ChannelEmail)
	}
	body, _ := json.Marshal(b)
	m, created, err := s.w.store.AppendMessage(ctx, escalation.NewMessage{ConversationID: convID,
		Role: escalation.RoleSystem, ReplyTo: requestSeq, Kind: kindChatUnavailable, Body: string(body)})
	if err != nil {
		return s.internal(ctx, "store chat unavailable", err)
	}
	if created {
		s.w.log.Info("chat unavailable", "conversation_id", convID, "seq", m.Seq, "reason", reason)
		s.w.hub.publish(convID, s)
	}
	return s.Flush(ctx)
}

// liveChatHolds reports whether the conversation's chat is queued or
// active: the visitor's messages then wait for a person, and the bot
// stays quiet. A failure to know lets the bot answer: better an answer
// too many than none.
func (s *Session) liveChatHolds(ctx context.Context, convID int64) bool {
	if s.w.opt.LiveChat == nil {
		return false
	}
	chat, err := s.w.opt.LiveChat.ChatOf(ctx, convID)
	if err != nil {
		if !errors.Is(err, escalation.ErrNotFound) {
			s.w.log.Error("widget failure", "action", "read chat", "conversation_id", convID, "err", err)
		}
		return false
	}
	return chat.Status.Live()
}

// resumeChat is the hello's part: a visitor still queued gets their place
// again after the replay.
func (s *Session) resumeChat(ctx context.Context, convID int64) {
	if s.w.opt.LiveChat == nil {
		return
	}
	chat, err := s.w.opt.LiveChat.ChatOf(ctx, convID)
	if err != nil {
		if !errors.Is(err, escalation.ErrNotFound) {
			s.w.log.Error("widget failure", "action", "read chat", "conversation_id", convID, "err", err)
		}
		return
	}
	if chat.Status == escalation.ChatQueued {
		s.live.watchQueue()
	}
}

// chatToTicket marks the conversation's queued chat converted once the
// visitor opened a ticket instead. Any other chat is left as it is.
func (s *Session) chatToTicket(ctx context.Context, convID int64) {
	if s.w.opt.LiveChat == nil {
		return
	}
	ch, err := s.w.opt.LiveChat.ConvertChatToTicket(ctx, convID)
	switch {
	case errors.Is(err, escalation.ErrNotFound), errors.Is(err, escalation.ErrConflict):
		return // no chat waiting
	case err != nil:
		s.w.log.Error("widget failure", "action", "convert chat", "conversation_id", convID, "err", err)
		return
	}
	// Out of the queue before the queue event, so that this session is
	// not woken by its own change before its ack is sent; the next flush
	// says position 0.
	s.live.leaveQueue(true)
	if ch.Created {
		s.w.log.Info("chat converted to ticket", "conversation_id", convID, "seq", ch.Note.Seq)
		s.w.hub.publish(convID, s)
		s.w.hub.publishQueue()
	}
}

// chatRequestText records the visitor's choice.
func chatRequestText(lang string) string {
	if lang == "fr" {
		return "Vous avez demandé à discuter avec une personne."
	}
	return "You asked to chat with a person."
}

// unavailableText says why nobody can chat now, and what to do instead.
func unavailableText(lang, reason string, maxWait time.Duration, tickets bool) string {
	fr := lang == "fr"
	var why string
	switch {
	case reason == reasonClosed && fr:
		why = "Le chat en direct est fermé en ce moment."
	case reason == reasonClosed:
		why = "Live chat is closed right now."
	case reason == reasonWait && fr:
		why = "L'attente pour discuter en direct dépasse " + escalation.WaitText(lang, maxWait) + " en ce moment."
	case reason == reasonWait:
		why = "The wait for live chat is over " + escalation.WaitText(lang, maxWait) + " right now."
	case fr:
		why = "Personne n'est disponible pour discuter en direct en ce moment."
	default:
		why = "Nobody is available to chat live right now."
	}
	switch {
	case tickets && fr:
		return why + " Laissez-nous un message : l'équipe vous répondra par e-mail, avec cette conversation sous les yeux."
	case tickets:
		return why + " Leave us a message: the team will reply by email, with this conversation in hand."
	case fr:
		return why + " Réessayez un peu plus tard."
	}
	return why + " Please try again a little later."
}
