package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bulle-help/bulle/escalation"
	"golang.org/x/time/rate"
)

// Rate limits of a console socket. An agent types fast and clicks a few
// buttons in a row, and their typing frames count too; a script sending
// more is slowed down with rate_limited rather than loading the store.
const (
	agentRate  = 10 // frames a second
	agentBurst = 20
	// maxLimitedInARow rate-limited frames in a row close the socket
	// (1008): a person retrying gets many chances, a flood does not keep
	// the server writing error frames.
	maxLimitedInARow = 50
)

// errFlood ends a socket that keeps sending past the rate limit.
var errFlood = errors.New("console: too many frames past the rate limit")

// sender writes one frame to the console; an error means the socket is
// gone or stalled past the write timeout.
type sender func(ctx context.Context, frame any) error

// chatSession is live chat on one console socket: it acts on the agent's
// frames, and sends what the Hub says changed: the queue, the followed
// conversations' new messages in seq order (each once), typing. It knows
// nothing of sockets (ws.go) or HTTP.
type chatSession struct {
	c       *Console
	agent   escalation.Agent
	send    sender
	sub     *escalation.Subscription
	limiter *rate.Limiter
	limited int // rate-limited frames in a row; read loop only

	// mu serialises the frames that have an order (acks, messages, chat
	// states) and guards cursors.
	mu      sync.Mutex
	cursors map[int64]int64 // followed conversation → last seq sent

	// pmu guards what the Hub said that the next Flush must send. Note
	// takes only pmu, so the event loop never waits on a write.
	pmu    sync.Mutex
	queue  bool             // the queue or the chats under way changed
	dirty  map[int64]bool   // conversations with new messages
	typing map[int64]typing // the latest typing news, by conversation
}

type typing struct {
	role escalation.Role
	on   bool
}

// newChatSession starts live chat for one socket of agent: it follows the
// queue at once, and its first Flush sends the queue.
func (c *Console) newChatSession(agent escalation.Agent, send sender) *chatSession {
	return &chatSession{c: c, agent: agent, send: send, sub: c.hub.SubscribeQueue(),
		limiter: rate.NewLimiter(agentRate, agentBurst),
		cursors: map[int64]int64{}, queue: true, dirty: map[int64]bool{}, typing: map[int64]typing{}}
}

// Events delivers the Hub's events for Note; it is closed when the Hub
// dropped the session as too slow (Dropped) or on Close.
func (s *chatSession) Events() <-chan escalation.Event { return s.sub.C() }

// Dropped says the Hub dropped the session for being slow: close the
// socket, and the console reconnects and replays by seq.
func (s *chatSession) Dropped() bool { return s.sub.Dropped() }

// Close stops following everything.
func (s *chatSession) Close() { s.sub.Close() }

// Note records an event for the next Flush; it never blocks on a write.
func (s *chatSession) Note(ev escalation.Event) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	switch ev.Kind {
	case escalation.EventQueue:
		s.queue = true
	case escalation.EventMessages:
		s.dirty[ev.ConversationID] = true
	case escalation.EventTyping:
		s.typing[ev.ConversationID] = typing{role: ev.Role, on: ev.On}
	}
}

// Flush sends what the Hub said since the last flush.
func (s *chatSession) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked(ctx)
}

func (s *chatSession) flushLocked(ctx context.Context) error {
	s.pmu.Lock()
	queue, dirty, typings := s.queue, s.dirty, s.typing
	s.queue, s.dirty, s.typing = false, map[int64]bool{}, map[int64]typing{}
	s.pmu.Unlock()
	if queue {
		if err := s.sendQueue(ctx); err != nil {
			return err
		}
	}
	ids := make([]int64, 0, len(dirty))
	for id := range dirty {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := s.sendNewLocked(ctx, id, 0); err != nil {
			return err
		}
	}
	for id, t := range typings {
		if _, ok := s.cursors[id]; !ok {
			continue
		}
		if err := s.send(ctx, typingFrame{Type: typeTyping, ConversationID: id, Role: string(t.role), On: t.on}); err != nil {
			return err
		}
	}
	return nil
}

// sendQueue sends the queue and the chats under way. A read failure is
// logged and skipped: the next change tries again.
func (s *chatSession) sendQueue(ctx context.Context) error {
	queued, err := s.c.store.QueuedChats(ctx)
	if err == nil {
		var active []escalation.Chat
		if active, err = s.c.store.ActiveChats(ctx); err == nil {
			now := time.Now()
			return s.send(ctx, queueFrame{Type: typeQueue, Chats: infosOf(queued, now), Active: infosOf(active, now), At: now.UTC()})
		}
	}
	if ctx.Err() == nil {
		s.c.log.Error("console failure", "action", "read queue", "agent_id", s.agent.ID, "err", err)
	}
	return nil
}

// sendNewLocked sends a followed conversation's messages after its
// cursor, in order, then where the chat stands when one of them past
// known (the seq of the chat state the console has, 0 for none) changed
// it. A read failure is logged and skipped: the next event, or a
// reconnect, sends what was missed.
func (s *chatSession) sendNewLocked(ctx context.Context, convID, known int64) error {
	cursor, ok := s.cursors[convID]
	if !ok {
		return nil
	}
	changed := false
	for {
		lines, err := linesAfter(ctx, s.c.store, convID, cursor, pageSize)
		if err != nil {
			s.logFailure(ctx, "read messages", convID, err)
			return nil
		}
		for _, l := range lines {
			if err := s.send(ctx, messageFrame{Type: typeMessage, ConversationID: convID, chatLine: l}); err != nil {
				return err
			}
			cursor = l.Seq
			s.cursors[convID] = cursor
			changed = changed || (statusNote(l) && l.Seq > known)
		}
		if len(lines) < pageSize {
			break
		}
	}
	if !changed {
		return nil
	}
	return s.sendChatLocked(ctx, convID, false)
}

// sendChatLocked sends where a chat stands.
func (s *chatSession) sendChatLocked(ctx context.Context, convID int64, reset bool) error {
	chat, err := s.c.store.ChatOf(ctx, convID)
	if err != nil {
		s.logFailure(ctx, "read chat", convID, err)
		return nil
	}
	return s.send(ctx, chatFrame{Type: typeChat, Chat: infoOf(chat, time.Now()), Reset: reset})
}

// Handle acts on one frame from the console. It returns an error only
// when the socket must close: the console is gone, or floods the server.
// Everything else is answered with an error frame.
func (s *chatSession) Handle(ctx context.Context, data []byte, binary bool, at time.Time) error {
	if !s.limiter.AllowN(at, 1) {
		s.limited++
		if s.limited >= maxLimitedInARow {
			return errFlood
		}
		return s.fail(ctx, errorFrame{Code: CodeRateLimited, Message: fmt.Sprintf("more than %d frames a second; wait and resend", agentRate)})
	}
	s.limited = 0
	if binary {
		return s.fail(ctx, errorFrame{Code: CodeBadFrame, Message: "send text frames of JSON"})
	}
	var f inFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return s.fail(ctx, errorFrame{Code: CodeBadJSON, Message: "frame is not a JSON object with fields of the right types"})
	}
	if f.Type != typePing && f.ConversationID <= 0 {
		return s.fail(ctx, errorFrame{Code: CodeBadFrame, Message: f.Type + " needs conversation_id"})
	}
	var err error
	switch f.Type {
	case typeFollow:
		err = s.follow(ctx, f)
	case typeUnfollow:
		err = s.unfollow(f)
	case typeClaim:
		err = s.claim(ctx, f)
	case typeMessage:
		err = s.message(ctx, f)
	case typeTyping:
		err = s.typingFrame(ctx, f)
	case typeTransfer:
		err = s.transfer(ctx, f)
	case typeClose:
		err = s.close(ctx, f)
	case typePing:
		return s.send(ctx, pongFrame{Type: typePong})
	default:
		return s.fail(ctx, errorFrame{Code: CodeBadFrame, Message: fmt.Sprintf("unknown frame type %q", f.Type)})
	}
	var refused *errChat
	switch {
	case errors.As(err, &refused):
		return s.fail(ctx, errorFrame{Code: refused.code, Message: refused.msg, ConversationID: f.ConversationID, ClientID: f.ClientID})
	case errors.Is(err, errSend):
		return err
	case err != nil:
		if ctx.Err() != nil {
			return ctx.Err() // the socket is closing
		}
		s.c.log.Error("console failure", "action", f.Type, "agent_id", s.agent.ID, "conversation_id", f.ConversationID, "err", err)
		return s.fail(ctx, errorFrame{Code: CodeInternal, Message: "the server failed; nothing was changed, try again",
			ConversationID: f.ConversationID, ClientID: f.ClientID})
	}
	return nil
}

// errSend wraps a failed write: the socket is gone, the frame handler
// must not answer with an error frame.
var errSend = errors.New("console: send")

// sendOrdered writes a frame under mu; its error ends the socket.
func (s *chatSession) sendOrdered(ctx context.Context, v any) error {
	if err := s.send(ctx, v); err != nil {
		return fmt.Errorf("%w: %w", errSend, err)
	}
	return nil
}

// fail sends an error frame.
func (s *chatSession) fail(ctx context.Context, f errorFrame) error {
	f.Type = typeError
	return s.send(ctx, f)
}

// readableChat returns the conversation's chat when the agent may read it.
func (s *chatSession) readableChat(ctx context.Context, convID int64) (escalation.Chat, error) {
	chat, err := s.c.store.ChatOf(ctx, convID)
	if escalation.ErrorCode(err) == escalation.ENOTFOUND || (err == nil && !readable(chat, s.agent.ID)) {
		return escalation.Chat{}, &errChat{CodeNotFound, "no chat you may read in this conversation"}
	}
	return chat, err
}

// follow sends the conversation's messages after last_seq, then every new
// one, until unfollow or the socket closes.
func (s *chatSession) follow(ctx context.Context, f inFrame) error {
	if f.LastSeq < 0 {
		return &errChat{CodeBadFrame, "last_seq must not be negative"}
	}
	chat, err := s.readableChat(ctx, f.ConversationID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cursors[f.ConversationID]; !ok && len(s.cursors) >= maxFollows {
		return &errChat{CodeTooMany, fmt.Sprintf("a socket follows at most %d conversations; unfollow one", maxFollows)}
	}
	// Subscribe before reading: whatever is stored from now on wakes a
	// flush, and what was stored before, the read below sends.
	s.sub.Follow(f.ConversationID)
	reset := f.LastSeq > chat.LastSeq // a database restored from an older backup
	if reset {
		f.LastSeq = 0
	}
	s.cursors[f.ConversationID] = f.LastSeq
	s.c.log.Debug("console follows conversation", "agent_id", s.agent.ID, "conversation_id", f.ConversationID, "last_seq", f.LastSeq)
	if err := s.sendOrdered(ctx, chatFrame{Type: typeChat, Chat: infoOf(chat, time.Now()), Reset: reset}); err != nil {
		return err
	}
	if err := s.sendNewLocked(ctx, f.ConversationID, chat.LastSeq); err != nil {
		return fmt.Errorf("%w: %w", errSend, err)
	}
	return nil
}

// unfollow stops sending a conversation's news.
func (s *chatSession) unfollow(f inFrame) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sub.Unfollow(f.ConversationID)
	delete(s.cursors, f.ConversationID)
	return nil
}

// claim takes a queued chat; the store settles a race, and the losers get
// taken.
func (s *chatSession) claim(ctx context.Context, f inFrame) error {
	ch, err := s.c.store.ClaimChat(ctx, f.ConversationID, s.agent.ID)
	if r := chatRefusal(err, CodeTaken); r != nil {
		s.c.log.Info("chat claim refused", "agent_id", s.agent.ID, "conversation_id", f.ConversationID, "reason", r.code)
		return r
	} else if err != nil {
		return err
	}
	if ch.Created {
		s.c.log.Info("chat claimed", "agent_id", s.agent.ID, "conversation_id", f.ConversationID, "seq", ch.Note.Seq)
	}
	return s.changed(ctx, ch, false)
}

// transfer hands a chat the agent holds to another agent, who must be a
// current agent and online: a chat handed to nobody would wait
// unanswered.
func (s *chatSession) transfer(ctx context.Context, f inFrame) error {
	switch {
	case f.ToAgentID <= 0:
		return &errChat{CodeBadFrame, "transfer needs to_agent_id"}
	case f.ToAgentID == s.agent.ID:
		return &errChat{CodeBadFrame, "transfer to another agent"}
	case !s.c.sessions.Online(f.ToAgentID):
		// A removed agent is offline too (their sockets close within a
		// second): say which, so the console drops them from its picker
		// rather than suggest trying later.
		if _, err := s.c.store.AgentByID(ctx, f.ToAgentID); errors.Is(err, escalation.ErrAgentGone) {
			s.c.log.Info("chat transfer refused", "agent_id", s.agent.ID, "to_agent_id", f.ToAgentID,
				"conversation_id", f.ConversationID, "reason", CodeAgentGone)
			return chatRefusal(err, CodeNotHolder)
		} else if err != nil {
			return err
		}
		return &errChat{CodeOffline, "that agent is not online"}
	}
	// The store checks again, in the transaction of the transfer: an agent
	// removed a moment ago may still have a socket open here.
	ch, err := s.c.store.TransferChat(ctx, f.ConversationID, s.agent.ID, f.ToAgentID)
	if r := chatRefusal(err, CodeNotHolder); r != nil {
		s.c.log.Info("chat transfer refused", "agent_id", s.agent.ID, "to_agent_id", f.ToAgentID,
			"conversation_id", f.ConversationID, "reason", r.code)
		return r
	} else if err != nil {
		return err
	}
	s.c.log.Info("chat transferred", "agent_id", s.agent.ID, "to_agent_id", f.ToAgentID, "conversation_id", f.ConversationID, "seq", ch.Note.Seq)
	return s.changed(ctx, ch, true)
}

// close ends a chat the agent holds; the bubble then offers the rating
// and the transcript.
func (s *chatSession) close(ctx context.Context, f inFrame) error {
	ch, err := s.c.store.CloseChat(ctx, f.ConversationID, s.agent.ID)
	if r := chatRefusal(err, CodeNotHolder); r != nil {
		return r
	} else if err != nil {
		return err
	}
	if ch.Created {
		s.c.log.Info("chat closed", "agent_id", s.agent.ID, "conversation_id", f.ConversationID, "seq", ch.Note.Seq)
	}
	return s.changed(ctx, ch, true)
}

// changed publishes a chat change (its note to the conversation, the
// lists to every console when they changed) and tells this console where
// the chat stands, after the note when it follows the conversation.
func (s *chatSession) changed(ctx context.Context, ch escalation.ChatChange, lists bool) error {
	if ch.Created {
		s.c.hub.PublishChange(ch)
		if lists && !ch.QueueChanged {
			// A transfer or a close changes no queue but the lists of
			// chats under way: every console looks again.
			s.c.hub.PublishQueue()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := ch.Chat.ConversationID
	if _, ok := s.cursors[id]; ok {
		if err := s.sendNewLocked(ctx, id, 0); err != nil {
			return fmt.Errorf("%w: %w", errSend, err)
		}
		if ch.Created {
			return nil // the note's chat frame went out with it
		}
	}
	return s.sendOrdered(ctx, chatFrame{Type: typeChat, Chat: infoOf(ch.Chat, time.Now())})
}

// message stores the agent's message in a chat they hold, acknowledges
// it once committed, and wakes the conversation's other followers: the
// visitor's bubbles first of all.
func (s *chatSession) message(ctx context.Context, f inFrame) error {
	if !escalation.ValidClientID(f.ClientID) {
		return &errChat{CodeBadFrame, "client_id must be 1 to 64 letters, digits, - or _"}
	}
	text := strings.TrimSpace(f.Text)
	if text == "" {
		return &errChat{CodeBadFrame, "text is empty"}
	}
	if n := utf8.RuneCountInString(text); n > maxAgentText {
		return &errChat{CodeTooLong, fmt.Sprintf("message of %d characters; at most %d", n, maxAgentText)}
	}
	// Under mu from the write on: no flush of this socket sends the
	// message before its ack.
	s.mu.Lock()
	defer s.mu.Unlock()
	m, created, err := s.c.store.AppendAgentMessage(ctx, s.agent.ID, escalation.NewMessage{
		ConversationID: f.ConversationID, ClientID: f.ClientID, Body: text})
	if r := chatRefusal(err, CodeNotHolder); r != nil {
		return r
	} else if err != nil {
		return err
	}
	if !created && m.Role != escalation.RoleAgent {
		return &errChat{CodeBadFrame, "client_id names another message of this conversation"}
	}
	if created {
		s.c.log.Info("agent message", "agent_id", s.agent.ID, "conversation_id", f.ConversationID, "seq", m.Seq)
		s.sub.Publish(f.ConversationID) // not to this session: it sends the message itself, after the ack
	}
	if err := s.sendOrdered(ctx, ackFrame{Type: typeAck, ConversationID: f.ConversationID, ClientID: f.ClientID, Seq: m.Seq}); err != nil {
		return err
	}
	if err := s.sendNewLocked(ctx, f.ConversationID, 0); err != nil {
		return fmt.Errorf("%w: %w", errSend, err)
	}
	return nil
}

// typingFrame relays the agent's typing to the visitor of a chat they
// hold. It is not stored.
func (s *chatSession) typingFrame(ctx context.Context, f inFrame) error {
	if f.On == nil {
		return &errChat{CodeBadFrame, "typing needs on"}
	}
	chat, err := s.c.store.ChatOf(ctx, f.ConversationID)
	if r := chatRefusal(err, CodeNotHolder); r != nil {
		return r
	} else if err != nil {
		return err
	}
	if chat.Status != escalation.ChatActive || chat.AgentID != s.agent.ID {
		return &errChat{CodeNotHolder, "you do not hold this chat"}
	}
	s.sub.PublishTyping(f.ConversationID, escalation.RoleAgent, *f.On)
	return nil
}

// logFailure logs a read that failed while the socket is still wanted.
func (s *chatSession) logFailure(ctx context.Context, action string, convID int64, err error) {
	if ctx.Err() == nil {
		s.c.log.Error("console failure", "action", action, "agent_id", s.agent.ID, "conversation_id", convID, "err", err)
	}
}
