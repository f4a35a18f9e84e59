package widget

import (
	"encoding/json"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

// The JSON frames of the visitor WebSocket, documented in docs/protocol.md.
// Every frame is one JSON object with a "type".

// Frame types, client to server.
const (
	typeHello   = "hello"
	typeMessage = "message" // also server to client
	typeVote    = "vote"
	typePerson  = "person"
	typeTicket  = "ticket"
	typePing    = "ping"
)

// Frame types, server to client.
const (
	typeWelcome = "welcome"
	typeAck     = "ack"
	typeVoted   = "voted"
	typePong    = "pong"
	typeError   = "error"
)

// Error codes of error frames. The connection stays open after each of them.
const (
	CodeTooLarge    = "too_large"    // the frame is over the size limit
	CodeBadJSON     = "bad_json"     // the frame is not a JSON object
	CodeBadFrame    = "bad_frame"    // unknown type, missing or malformed field
	CodeNoHello     = "no_hello"     // a frame other than hello before the hello
	CodeTooLong     = "too_long"     // the message text is over the limit
	CodeRateLimited = "rate_limited" // too many frames; resend later
	CodeBadToken    = "bad_token"    // the token opens no conversation
	CodeBadVote     = "bad_vote"     // the seq is not a bot answer of this conversation
	CodeBadTicket   = "bad_ticket"   // the ticket form has a wrong field, named in "field"
	CodeNoTickets   = "no_tickets"   // this server takes no tickets
	CodeUnavailable = "unavailable"  // the assistant could not answer; resend to retry
	CodeInternal    = "internal"     // the server failed; nothing was stored
)

// inFrame is any client frame; each type reads the fields it needs.
type inFrame struct {
	Type     string `json:"type"`
	Token    string `json:"token"`     // hello
	LastSeq  int64  `json:"last_seq"`  // hello
	Lang     string `json:"lang"`      // hello
	ClientID string `json:"client_id"` // message, person
	Text     string `json:"text"`      // message
	Seq      int64  `json:"seq"`       // vote
	Helpful  *bool  `json:"helpful"`   // vote
	Channel  string `json:"channel"`   // person
	Topic    string `json:"topic"`     // ticket
	Email    string `json:"email"`     // ticket
	Name     string `json:"name"`      // ticket
	PageURL  string `json:"page_url"`  // ticket
	Identity string `json:"identity"`  // hello: the site's signed identity (verify.go)
	Code     string `json:"code"`      // verify_code
	On       *bool  `json:"on"`        // typing (livechat.go)
	Rating   *int   `json:"rating"`    // rate
	Comment  string `json:"comment"`   // rate
	// Uploads are the ids of files staged with POST /widget/uploads
	// (uploads.go), for a ticket.
	Uploads []string `json:"uploads"`
}

// welcomeFrame answers a hello.
type welcomeFrame struct {
	Type         string           `json:"type"`
	Token        string           `json:"token"`
	Resumed      bool             `json:"resumed"`
	Reset        bool             `json:"reset,omitempty"`
	Conversation conversationInfo `json:"conversation"`
	// Topics are the choices of the ticket form, in the visitor's language.
	Topics []topicInfo `json:"topics,omitempty"`
	// Identity is the visitor the site's signed identity vouches for.
	Identity *identityInfo `json:"identity,omitempty"`
	// Uploads are the limits of the ticket form's files, when the server
	// takes them (uploads.go).
	Uploads *uploadsInfo `json:"uploads,omitempty"`
}

type topicInfo struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

type conversationInfo struct {
	ID        int64     `json:"id"`
	Lang      string    `json:"lang"`
	LastSeq   int64     `json:"last_seq"`
	CreatedAt time.Time `json:"created_at"`
}

// ackFrame says a visitor message is stored, under seq.
type ackFrame struct {
	Type     string `json:"type"`
	ClientID string `json:"client_id"`
	Seq      int64  `json:"seq"`
}

// messageFrame is one stored message.
type messageFrame struct {
	Type      string          `json:"type"`
	Seq       int64           `json:"seq"`
	Role      string          `json:"role"`
	Kind      string          `json:"kind"`
	Text      string          `json:"text"`
	ClientID  string          `json:"client_id,omitempty"` // visitor messages
	ReplyTo   int64           `json:"reply_to,omitempty"`  // bot replies
	Channel   string          `json:"channel,omitempty"`   // person requests
	Ticket    string          `json:"ticket,omitempty"`    // ticket_created, ticket_followup: the reference
	Verify    bool            `json:"verify,omitempty"`    // ticket_created: offer to verify the address
	Decision  json.RawMessage `json:"decision,omitempty"`  // bot messages
	CreatedAt time.Time       `json:"created_at"`

	// Live chat (livechat.go): the agent who wrote an agent message, or
	// whom a chat note is about; the place and wait of chat_queued; the
	// rating of chat_rated; why chat_unavailable.
	Agent     string `json:"agent,omitempty"`
	FromAgent string `json:"from_agent,omitempty"`
	Position  int    `json:"position,omitempty"`
	WaitS     int    `json:"wait_s,omitempty"`
	Rating    int    `json:"rating,omitempty"`
	Reason    string `json:"reason,omitempty"`

	// Attachments are the message's files (attachments.go).
	Attachments []attachmentInfo `json:"attachments,omitempty"`
}

// votedFrame confirms a stored vote.
type votedFrame struct {
	Type    string `json:"type"`
	Seq     int64  `json:"seq"`
	Helpful bool   `json:"helpful"`
}

type pongFrame struct {
	Type string `json:"type"`
}

// errorFrame reports a refused frame. ClientID or Seq name the message or
// vote it is about, when there is one.
type errorFrame struct {
	Type     string `json:"type"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	ClientID string `json:"client_id,omitempty"`
	Seq      int64  `json:"seq,omitempty"`
	Field    string `json:"field,omitempty"` // bad_ticket: the form field to fix
}

func errFrame(code, msg string) errorFrame {
	return errorFrame{Type: typeError, Code: code, Message: msg}
}

// systemBody is the stored body of a system message.
type systemBody struct {
	Text    string `json:"text"`
	Channel string `json:"channel,omitempty"`
	Ticket  string `json:"ticket,omitempty"` // ticket_created, ticket_followup: the reference
	Verify  bool   `json:"verify,omitempty"` // ticket_created: offer to verify the address

	// Live chat notes; the store writes the chat_* ones with these names
	// (escalation/livechat_change.go).
	Agent     string `json:"agent,omitempty"`
	FromAgent string `json:"from_agent,omitempty"`
	Position  int    `json:"position,omitempty"`
	WaitS     int    `json:"wait_s,omitempty"`
	Rating    int    `json:"rating,omitempty"`
	Reason    string `json:"reason,omitempty"` // chat_unavailable
}

// frameOf turns a stored message into the frame visitors receive.
func frameOf(m escalation.Message) messageFrame {
	f := messageFrame{Type: typeMessage, Seq: m.Seq, Role: string(m.Role), Kind: m.Kind,
		ReplyTo: m.ReplyTo, CreatedAt: m.CreatedAt}
	switch m.Role {
	case escalation.RoleVisitor:
		f.Text, f.ClientID = m.Body, m.ClientID
	case escalation.RoleBot:
		var d struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal([]byte(m.Body), &d) // the store only holds what we marshalled
		f.Text, f.Decision = d.Text, json.RawMessage(m.Body)
	case escalation.RoleSystem:
		var b systemBody
		_ = json.Unmarshal([]byte(m.Body), &b)
		f.Text, f.Channel, f.Ticket, f.Verify = b.Text, b.Channel, b.Ticket, b.Verify
		f.Agent, f.FromAgent, f.Position, f.WaitS, f.Rating, f.Reason = b.Agent, b.FromAgent, b.Position, b.WaitS, b.Rating, b.Reason
	default:
		f.Text = m.Body
	}
	return f
}
