package widget

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/bulle-help/bulle/bot"
	"github.com/bulle-help/bulle/escalation"
	"golang.org/x/time/rate"
)

// maxLimitedInARow is how many rate-limited frames in a row a connection
// may send before it is closed: a person retrying gets many chances, a
// script flooding the server does not keep it busy writing error frames.
const maxLimitedInARow = 50

// pageSize is how many messages a flush reads from the store at a time.
const pageSize = 100

// errFlood ends a connection that keeps sending past the rate limit.
var errFlood = errors.New("widget: too many frames past the rate limit")

// Sender writes one frame to the visitor; it returns an error when the
// connection is gone.
type Sender func(ctx context.Context, frame any) error

// Input is one frame read from the visitor.
type Input struct {
	Data     []byte
	Binary   bool      // a binary frame, which the protocol does not use
	Oversize bool      // over MaxFrameBytes: Data is empty
	At       time.Time // when it was read, to measure answer latency
}

// Session is one visitor connection: it turns the visitor's frames into
// stored messages and bot replies, and sends the conversation's messages
// in seq order, each once. It knows nothing of HTTP or sockets.
type Session struct {
	w       *Widget
	send    Sender
	origin  string
	limiter *rate.Limiter
	limited int // rate-limited frames in a row

	// bg and stop are the connection's, for the flushes the Hub asks for
	// (Start, wake); flushers counts those under way.
	bg          context.Context
	stop        func()
	wakePending atomic.Bool
	flushers    sync.WaitGroup

	// turn is held while a frame is handled and while Run flushes, so Run
	// never slips a stored message between a commit and its ack: a visitor
	// always reads the ack before the message it acknowledges.
	turn sync.Mutex

	mu     sync.Mutex // serialises sends of stored messages; guards the fields below
	conv   *escalation.Conversation
	lang   string
	cursor int64 // the last seq sent to this visitor

	// live is the session's side of the Hub: agent typing and the queue
	// place to send (livechat_session.go).
	live liveState
}

// NewSession starts a session for a visitor whose page has the given
// origin, sending frames with send.
func (w *Widget) NewSession(origin string, send Sender) *Session {
	return &Session{w: w, send: send, origin: origin,
		limiter: rate.NewLimiter(rate.Limit(w.opt.Rate), w.opt.Burst)}
}

// Close unsubscribes the session from its conversation, and waits for
// the flushes the Hub asked for before.
func (s *Session) Close() {
	s.mu.Lock()
	if s.conv != nil {
		s.w.hub.unsubscribe(s.conv.ID, s)
	}
	s.mu.Unlock()
	s.flushers.Wait()
}

// Handle acts on one frame. It returns an error only when the connection
// must end: the visitor is gone, or floods the server. Everything else is
// answered with an error frame and the session carries on.
func (s *Session) Handle(ctx context.Context, in Input) error {
	s.turn.Lock()
	defer s.turn.Unlock()
	if in.At.IsZero() {
		in.At = time.Now()
	}
	if !s.limiter.AllowN(in.At, 1) {
		s.limited++
		if s.limited >= maxLimitedInARow {
			return errFlood
		}
		return s.fail(ctx, errFrame(CodeRateLimited, fmt.Sprintf("more than %g frames a second; wait and resend", s.w.opt.Rate)))
	}
	s.limited = 0
	switch {
	case in.Oversize:
		return s.fail(ctx, errFrame(CodeTooLarge, fmt.Sprintf("frame over %d bytes", s.w.opt.MaxFrameBytes)))
	case in.Binary:
		return s.fail(ctx, errFrame(CodeBadFrame, "send text frames of JSON"))
	}
	var f inFrame
	if err := json.Unmarshal(in.Data, &f); err != nil {
		return s.fail(ctx, errFrame(CodeBadJSON, "frame is not a JSON object with fields of the right types"))
	}
	if f.Type != typeHello && f.Type != typePing && s.conversation() == nil {
		return s.fail(ctx, errFrame(CodeNoHello, "send hello first"))
	}
	switch f.Type {
	case typeHello:
		return s.hello(ctx, f)
	case typeMessage:
		return s.message(ctx, f, in.At)
	case typeVote:
		return s.vote(ctx, f)
	case typePerson:
		return s.person(ctx, f)
	case typeTicket:
		return s.ticket(ctx, f)
	case typeTranscript:
		return s.transcript(ctx, f)
	case typeVerifyStart:
		return s.verifyStart(ctx, f)
	case typeVerifyCode:
		return s.verifyCode(ctx, f)
	case typeTyping:
		return s.typing(ctx, f)
	case typeRate:
		return s.rate(ctx, f)
	case typePing:
		return s.send(ctx, pongFrame{Type: typePong})
	}
	return s.fail(ctx, errFrame(CodeBadFrame, fmt.Sprintf("unknown frame type %q", f.Type)))
}

func (s *Session) conversation() *escalation.Conversation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conv
}

// hello starts a conversation, or resumes the one the token opens and sends
// every message after last_seq.
func (s *Session) hello(ctx context.Context, f inFrame) error {
	if s.conversation() != nil {
		return s.fail(ctx, errFrame(CodeBadFrame, "hello was already sent on this connection"))
	}
	if f.LastSeq < 0 {
		return s.fail(ctx, errFrame(CodeBadFrame, "last_seq must not be negative"))
	}
	lang := s.w.lang(f.Lang)
	var conv escalation.Conversation
	token, resumed, reset := f.Token, f.Token != "", false
	var err error
	if !resumed {
		conv, token, err = s.w.store.CreateConversation(ctx, lang, s.origin)
		if err != nil {
			return s.internal(ctx, "create conversation", err)
		}
		f.LastSeq = 0
		s.w.log.Info("conversation started", "conversation_id", conv.ID, "lang", lang, "origin", s.origin)
	} else {
		conv, err = s.w.store.ConversationByToken(ctx, f.Token)
		if escalation.ErrorCode(err) == escalation.ENOTFOUND {
			// Never start a new conversation in the old one's place: the
			// visitor's page decides, by sending a hello without token.
			return s.fail(ctx, errFrame(CodeBadToken, "this token opens no conversation; send hello without a token to start a new one"))
		} else if err != nil {
			return s.internal(ctx, "resume conversation", err)
		}
		// A visitor holding more than the server has (a database restored
		// from an older backup) must drop its copy and take the server's.
		if f.LastSeq > conv.LastSeq {
			f.LastSeq, reset = 0, true
		}
	}
	s.mu.Lock()
	s.conv, s.lang, s.cursor = &conv, lang, f.LastSeq
	s.mu.Unlock()
	identity, refused := s.identify(ctx, conv.ID, f.Identity)
	welcome := welcomeFrame{Type: typeWelcome, Token: token, Resumed: resumed, Reset: reset,
		Conversation: conversationInfo{ID: conv.ID, Lang: conv.Lang, LastSeq: conv.LastSeq, CreatedAt: conv.CreatedAt},
		Topics:       s.w.topics(lang), Identity: identity}
	_, welcome.Uploads = s.w.uploads() // the ticket form's files (uploads.go)
	if err := s.send(ctx, welcome); err != nil {
		return err
	}
	if refused != nil {
		if err := s.fail(ctx, *refused); err != nil {
			return err
		}
	}
	// Follow the conversation only now, so that nothing it publishes
	// makes a flush overtake the welcome; what is stored meanwhile, the
	// flush below reads from the store.
	s.w.hub.subscribe(conv.ID, s)
	s.resumeChat(ctx, conv.ID) // livechat.go: a queued visitor hears their place after the replay
	return s.Flush(ctx)
}

// message stores a visitor message, acknowledges it, then stores and sends
// the bot's reply. A resend (same client_id) is acknowledged with the
// original seq; it is answered again only if its reply was never stored.
func (s *Session) message(ctx context.Context, f inFrame, at time.Time) error {
	if !escalation.ValidClientID(f.ClientID) {
		return s.fail(ctx, errFrame(CodeBadFrame, "client_id must be 1 to 64 letters, digits, - or _"))
	}
	text := strings.TrimSpace(f.Text)
	if text == "" {
		return s.fail(ctx, errorFrame{Type: typeError, Code: CodeBadFrame, Message: "text is empty", ClientID: f.ClientID})
	}
	if n := utf8.RuneCountInString(text); n > s.w.opt.MaxTextRunes {
		return s.fail(ctx, errorFrame{Type: typeError, Code: CodeTooLong, ClientID: f.ClientID,
			Message: fmt.Sprintf("message of %d characters; at most %d", n, s.w.opt.MaxTextRunes)})
	}
	s.mu.Lock()
	conv := *s.conv
	msg, created, err := s.w.store.AppendMessage(ctx, escalation.NewMessage{ConversationID: conv.ID,
		Role: escalation.RoleVisitor, ClientID: f.ClientID, Kind: "text", Body: text})
	if err != nil {
		s.mu.Unlock()
		return s.internalFor(ctx, f.ClientID, "store visitor message", err)
	}
	// The ack goes out only now that the message is committed, and before
	// its message frame, both under mu so no other flush slips in between.
	err = s.send(ctx, ackFrame{Type: typeAck, ClientID: f.ClientID, Seq: msg.Seq})
	if err == nil {
		err = s.flushLocked(ctx)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if created {
		s.w.hub.publish(conv.ID, s)
	} else if _, answered, err := s.w.store.ReplyTo(ctx, conv.ID, msg.Seq); err != nil {
		return s.internalFor(ctx, f.ClientID, "find reply", err)
	} else if answered {
		return nil // the reply is stored; the visitor has it or gets it on resume
	}
	if s.liveChatHolds(ctx, conv.ID) {
		return nil // a person answers: the agent's console was woken by the publish
	}
	return s.reply(ctx, conv.ID, msg, at)
}

// reply asks the bot about a stored visitor message, stores its decision as
// the reply, and sends it.
func (s *Session) reply(ctx context.Context, convID int64, q escalation.Message, at time.Time) error {
	d, err := s.w.bot.Reply(ctx, bot.Turn{Text: q.Body, Lang: s.turnLang()})
	if err != nil {
		s.w.log.Error("bot reply failed", "conversation_id", convID, "seq", q.Seq, "err", err)
		return s.fail(ctx, errorFrame{Type: typeError, Code: CodeUnavailable, ClientID: q.ClientID,
			Message: "the assistant could not answer; resend the message to try again"})
	}
	m, err := s.store(ctx, convID, q.Seq, d)
	if err != nil {
		return s.internalFor(ctx, q.ClientID, "store bot reply", err)
	}
	attrs := []any{"conversation_id", convID, "seq", m.Seq, "kind", d.Kind, "lang", d.Lang, "confidence", d.Confidence}
	if d.Article != nil {
		attrs = append(attrs, "article", d.Article.Lang+"/"+d.Article.ID)
	}
	s.w.log.Info("bot reply", attrs...)
	if err := s.Flush(ctx); err != nil {
		return err
	}
	if s.w.opt.AnswerLatency != nil {
		s.w.opt.AnswerLatency(time.Since(at))
	}
	return nil
}

// store records a bot decision as a message replying to replyTo (0: none).
func (s *Session) store(ctx context.Context, convID, replyTo int64, d bot.Decision) (escalation.Message, error) {
	body, err := json.Marshal(d)
	if err != nil {
		return escalation.Message{}, fmt.Errorf("widget: encode decision: %w", err)
	}
	m, created, err := s.w.store.AppendMessage(ctx, escalation.NewMessage{ConversationID: convID,
		Role: escalation.RoleBot, ReplyTo: replyTo, Kind: string(d.Kind), Body: string(body)})
	if err != nil {
		return escalation.Message{}, err
	}
	if created {
		s.w.hub.publish(convID, s)
	}
	return m, nil
}

// vote records whether an answer helped; after two unhelpful answers in a
// row the bot hands the visitor to a person.
func (s *Session) vote(ctx context.Context, f inFrame) error {
	if f.Seq <= 0 || f.Helpful == nil {
		return s.fail(ctx, errFrame(CodeBadFrame, "vote needs seq and helpful"))
	}
	convID := s.conversation().ID
	changed, err := s.w.store.RecordAnswerVote(ctx, convID, f.Seq, *f.Helpful)
	if escalation.ErrorCode(err) == escalation.ENOTFOUND {
		return s.fail(ctx, errorFrame{Type: typeError, Code: CodeBadVote, Seq: f.Seq, Message: "no bot answer has this seq"})
	} else if err != nil {
		return s.internal(ctx, "record answer vote", err)
	}
	if err := s.send(ctx, votedFrame{Type: typeVoted, Seq: f.Seq, Helpful: *f.Helpful}); err != nil {
		return err
	}
	if !changed || *f.Helpful {
		return nil
	}
	streak, err := s.w.store.UnhelpfulStreak(ctx, convID)
	if err != nil {
		return s.internal(ctx, "unhelpful streak", err)
	}
	d, ok := s.w.bot.Unhelpful(ctx, s.turnLang(), streak)
	if !ok {
		return nil
	}
	m, err := s.store(ctx, convID, 0, d)
	if err != nil {
		return s.internal(ctx, "store hand-off", err)
	}
	s.w.log.Info("bot reply", "conversation_id", convID, "seq", m.Seq, "kind", d.Kind, "lang", d.Lang, "unhelpful_streak", streak)
	return s.Flush(ctx)
}

// person records that the visitor asked for a person. Chat, when the
// server runs live chat, queues the visitor or offers email (livechat.go);
// otherwise the reply says what will happen, and no more.
func (s *Session) person(ctx context.Context, f inFrame) error {
	if f.Channel != string(bot.ChannelChat) && f.Channel != string(bot.ChannelEmail) {
		return s.fail(ctx, errFrame(CodeBadFrame, `channel must be "chat" or "email"`))
	}
	if f.ClientID != "" && !escalation.ValidClientID(f.ClientID) {
		return s.fail(ctx, errFrame(CodeBadFrame, "client_id must be 1 to 64 letters, digits, - or _"))
	}
	if f.Channel == string(bot.ChannelChat) && s.w.opt.LiveChat != nil {
		return s.chatRequest(ctx, f) // livechat.go
	}
	convID := s.conversation().ID
	body, _ := json.Marshal(systemBody{Text: personText(s.turnLang(), f.Channel), Channel: f.Channel})
	m, created, err := s.w.store.AppendMessage(ctx, escalation.NewMessage{ConversationID: convID,
		Role: escalation.RoleSystem, ClientID: f.ClientID, Kind: "person_request", Body: string(body)})
	if err != nil {
		return s.internalFor(ctx, f.ClientID, "store person request", err)
	}
	if created {
		s.w.log.Info("person requested", "conversation_id", convID, "seq", m.Seq, "channel", f.Channel)
		s.w.hub.publish(convID, s)
	}
	if f.ClientID != "" {
		if err := s.send(ctx, ackFrame{Type: typeAck, ClientID: f.ClientID, Seq: m.Seq}); err != nil {
			return err
		}
	}
	return s.Flush(ctx)
}

// ticket opens an email ticket on this conversation from the bubble's
// form, with the files staged before (uploads.go). The desk records the
// note the visitor reads in the ticket's transaction. A resend (same
// client_id) is answered with the first note's seq and attaches nothing
// again; a new form while the conversation's ticket is still open adds
// to it (ticket_followup), and once it is solved opens a new one
// (escalation/ticket_followup.go).
func (s *Session) ticket(ctx context.Context, f inFrame) error {
	if s.w.opt.Tickets == nil {
		return s.fail(ctx, errFrame(CodeNoTickets, "this help center takes no email tickets"))
	}
	if f.ClientID != "" && !escalation.ValidClientID(f.ClientID) {
		return s.fail(ctx, errFrame(CodeBadFrame, "client_id must be 1 to 64 letters, digits, - or _"))
	}
	convID, lang := s.conversation().ID, s.turnLang()
	// A server that takes no files offered none in its welcome and has
	// nothing staged: ids are refused as unknown ids are, nothing opened.
	switch stager, limits := s.w.uploads(); {
	case stager == nil && len(f.Uploads) > 0:
		return s.fail(ctx, errorFrame{Type: typeError, Code: CodeBadTicket, ClientID: f.ClientID, Field: "uploads",
			Message: "this help center takes no files: send the ticket without uploads"})
	case limits != nil && len(f.Uploads) > limits.MaxFiles:
		return s.fail(ctx, errorFrame{Type: typeError, Code: CodeBadTicket, ClientID: f.ClientID, Field: "uploads",
			Message: fmt.Sprintf("at most %d files", limits.MaxFiles)})
	}
	t, err := s.w.opt.Tickets.CreateTicket(ctx, escalation.NewTicket{ConversationID: convID, Lang: lang,
		Topic: f.Topic, Email: f.Email, Name: f.Name, Message: f.Text, PageURL: f.PageURL, Uploads: f.Uploads,
		Note: true, ClientID: f.ClientID, OfferVerification: s.w.verifier() != nil})
	var ve *escalation.ValidationError
	switch {
	case errors.As(err, &ve):
		return s.fail(ctx, errorFrame{Type: typeError, Code: CodeBadTicket, ClientID: f.ClientID, Field: ve.Field, Message: ve.Msg})
	case err != nil:
		return s.internalFor(ctx, f.ClientID, "create ticket", err)
	}
	if t.Created {
		action := "ticket opened"
		if t.FollowUp {
			action = "ticket followed up"
		}
		s.w.log.Info(action, "conversation_id", convID, "ticket", t.Ref, "topic", t.Topic, "files", len(t.Attachments))
		s.w.hub.publish(convID, s)
	}
	s.chatToTicket(ctx, convID) // a visitor waiting in the chat queue took the email route
	if f.ClientID != "" {
		if err := s.send(ctx, ackFrame{Type: typeAck, ClientID: f.ClientID, Seq: t.Note.Seq}); err != nil {
			return err
		}
	}
	return s.Flush(ctx)
}

// Flush sends the stored messages the visitor has not been sent yet, in
// seq order.
func (s *Session) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked(ctx)
}

func (s *Session) flushLocked(ctx context.Context) error {
	if s.conv == nil {
		return nil
	}
	for {
		msgs, err := s.w.store.MessagesAfter(ctx, s.conv.ID, s.cursor, pageSize)
		if err != nil {
			s.w.log.Error("read messages", "conversation_id", s.conv.ID, "err", err)
			return s.send(ctx, errFrame(CodeInternal, "Internal error."))
		}
		files, err := s.w.filesBySeq(ctx, s.conv.ID, msgs) // attachments.go
		if err != nil {
			s.w.log.Error("read attachments", "conversation_id", s.conv.ID, "err", err)
			return s.send(ctx, errFrame(CodeInternal, "Internal error."))
		}
		agents, err := s.w.agentNames(ctx, s.conv.ID, msgs) // livechat_session.go
		if err != nil {
			s.w.log.Error("read agent names", "conversation_id", s.conv.ID, "err", err)
			return s.send(ctx, errFrame(CodeInternal, "Internal error."))
		}
		for _, m := range msgs {
			f := frameOf(m)
			f.Attachments = files[m.Seq]
			if name := agents[m.Seq]; name != "" {
				f.Agent = name
			}
			if err := s.send(ctx, f); err != nil {
				return err
			}
			s.cursor = m.Seq
		}
		if len(msgs) < pageSize {
			return s.flushLiveLocked(ctx) // typing and queue place, after the messages
		}
	}
}

func (s *Session) turnLang() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lang
}

// fail sends an error frame; the session goes on.
func (s *Session) fail(ctx context.Context, f errorFrame) error { return s.send(ctx, f) }

// internal logs a server failure and tells the visitor no more than that.
func (s *Session) internal(ctx context.Context, action string, err error) error {
	return s.internalFor(ctx, "", action, err)
}

func (s *Session) internalFor(ctx context.Context, clientID, action string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err() // shutting down or gone: nothing to tell
	}
	attrs := []any{"action", action, "err", err}
	if c := s.conversation(); c != nil {
		attrs = append(attrs, "conversation_id", c.ID)
	}
	s.w.log.Error("widget failure", attrs...)
	return s.send(ctx, errorFrame{Type: typeError, Code: CodeInternal, Message: "Internal error.", ClientID: clientID})
}

// personText is the system message recording a request for a person. It
// promises nothing the product does not do yet: no agent is live, and the
// reply comes later.
func personText(lang, channel string) string {
	fr := lang == "fr"
	switch {
	case channel == string(bot.ChannelChat) && fr:
		return "Votre demande de discuter avec une personne est enregistrée. Personne n'est connecté en direct pour l'instant : une personne de l'équipe vous répondra dans cette conversation."
	case channel == string(bot.ChannelChat):
		return "Your request to chat with a person is recorded. Nobody is connected live right now: a person from the team will reply in this conversation."
	case fr:
		return "Votre demande est enregistrée. Une personne de l'équipe vous répondra dans cette conversation ; gardez cette page ou revenez-y pour lire sa réponse."
	}
	return "Your request is recorded. A person from the team will reply in this conversation; keep this page or come back to it to read the reply."
}
