package console

import "time"

// The JSON frames of live chat on the console socket, documented in
// docs/console.md. Every frame is one JSON object with a "type".

// Frame types, console to server.
const (
	typeClaim    = "claim"    // {conversation_id}
	typeMessage  = "message"  // {conversation_id, client_id, text}; also server to console
	typeTyping   = "typing"   // {conversation_id, on}; also server to console
	typeTransfer = "transfer" // {conversation_id, to_agent_id}
	typeClose    = "close"    // {conversation_id}
	typeFollow   = "follow"   // {conversation_id, last_seq}
	typeUnfollow = "unfollow" // {conversation_id}
	typePing     = "ping"
)

// Frame types, server to console.
const (
	typePresence = "presence"
	typeQueue    = "queue" // the queue and the chats under way
	typeChat     = "chat"  // where one chat stands
	typeAck      = "ack"
	typePong     = "pong"
	typeError    = "error"
)

// Error codes of error frames. The socket stays open after each.
const (
	CodeBadJSON     = "bad_json"     // the frame is not a JSON object with fields of the right types
	CodeBadFrame    = "bad_frame"    // unknown type, missing or malformed field
	CodeTooLong     = "too_long"     // the message is over maxAgentText characters
	CodeRateLimited = "rate_limited" // too many frames; resend later
	CodeNotFound    = "not_found"    // no chat this agent may read in that conversation
	CodeTaken       = "taken"        // claim: another agent was first
	CodeNotHolder   = "not_holder"   // message, typing, transfer, close: the agent does not hold the chat
	CodeOffline     = "offline"      // transfer: the other agent is not online
	CodeAgentGone   = "agent_gone"   // transfer, claim: the agent named was removed, or never existed
	CodeTooMany     = "too_many"     // follow: the socket follows maxFollows conversations already
	CodeInternal    = "internal"     // the server failed; nothing was changed
)

// inFrame is any frame from a console; each type reads the fields it needs.
type inFrame struct {
	Type           string `json:"type"`
	ConversationID int64  `json:"conversation_id"`
	LastSeq        int64  `json:"last_seq"`    // follow
	ClientID       string `json:"client_id"`   // message
	Text           string `json:"text"`        // message
	On             *bool  `json:"on"`          // typing
	ToAgentID      int64  `json:"to_agent_id"` // transfer
}

// presenceFrame is the agent's presence, when it changes and every
// PingEvery.
type presenceFrame struct {
	Type   string `json:"type"`   // "presence"
	Status string `json:"status"` // "online" or "away"
	At     string `json:"at"`     // RFC 3339, UTC
}

// queueFrame is the whole queue and every chat under way, sent when the
// socket opens and whenever either changes.
type queueFrame struct {
	Type   string     `json:"type"`
	Chats  []chatInfo `json:"chats"`  // queued, the longest wait first
	Active []chatInfo `json:"active"` // under way, whoever holds them
	At     time.Time  `json:"at"`
}

// chatFrame says where a chat stands: after a follow, after the agent's
// own claim, transfer or close, and after any status note of a followed
// conversation. Reset says the console's last_seq was past the
// conversation's: it drops its copy and receives every message again.
type chatFrame struct {
	Type  string   `json:"type"`
	Chat  chatInfo `json:"chat"`
	Reset bool     `json:"reset,omitempty"`
}

// messageFrame is one stored message of a followed conversation.
type messageFrame struct {
	Type           string `json:"type"`
	ConversationID int64  `json:"conversation_id"`
	chatLine
}

// typingFrame says someone started or stopped typing in a followed
// conversation: the visitor, or another console of the agent holding it.
type typingFrame struct {
	Type           string `json:"type"`
	ConversationID int64  `json:"conversation_id"`
	Role           string `json:"role"` // visitor or agent
	On             bool   `json:"on"`
}

// ackFrame says the agent's message is committed, under seq.
type ackFrame struct {
	Type           string `json:"type"`
	ConversationID int64  `json:"conversation_id"`
	ClientID       string `json:"client_id"`
	Seq            int64  `json:"seq"`
}

type pongFrame struct {
	Type string `json:"type"`
}

// errorFrame refuses a frame; ConversationID and ClientID say which.
type errorFrame struct {
	Type           string `json:"type"`
	Code           string `json:"code"`
	Message        string `json:"message"`
	ConversationID int64  `json:"conversation_id,omitempty"`
	ClientID       string `json:"client_id,omitempty"`
}
