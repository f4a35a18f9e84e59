package widget

import (
	"context"
	"errors"
	"slices"

	"github.com/bulle-help/bulle/escalation"
)

// Ownership verification in the bubble: after a ticket on an account
// topic, the visitor asks for a code (verify_start), receives it at the
// ticket's address and types it back (verify_code). A site that knows who
// its visitor is vouches for them instead with a signed identity in hello.
// The frames are in docs/protocol.md.

// Verifier sends and checks verification codes; *escalation.Desk is one.
// The widget offers verification when its Tickets is also a Verifier.
type Verifier interface {
	StartVerification(ctx context.Context, ticketID int64, clientID string) (escalation.Verification, error)
	CheckVerification(ctx context.Context, ticketID int64, code, clientID string) (escalation.Verification, error)
}

// Identities checks the identity an embedding site signed for its visitor
// and records it on the conversation; *escalation.Identities is one.
type Identities interface {
	Attach(ctx context.Context, conversationID int64, signed string) (escalation.Identity, error)
}

var (
	_ Verifier   = (*escalation.Desk)(nil)
	_ Identities = (*escalation.Identities)(nil)
)

// Frame types of verification, client to server.
const (
	typeVerifyStart = "verify_start"
	typeVerifyCode  = "verify_code"
)

// Error codes of verification and identity.
const (
	CodeBadIdentity     = "bad_identity"     // the signed identity is refused; the conversation goes on unverified
	CodeNoTicket        = "no_ticket"        // the conversation has no ticket to verify
	CodeBadCode         = "bad_code"         // wrong or malformed code
	CodeCodeExpired     = "code_expired"     // the code is over 10 minutes old
	CodeTooManyTries    = "too_many_tries"   // 5 wrong codes: this one is locked
	CodeNoCode          = "no_code"          // no code is waiting: none sent, or already used
	CodeTooManyCodes    = "too_many_codes"   // 3 codes this hour already
	CodeAlreadyVerified = "already_verified" // nothing to do
)

// identityInfo is the verified identity a welcome reports, so the bubble
// can fill in the ticket form.
type identityInfo struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

// verifier is the desk's verification, or nil when tickets are off or
// cannot be verified.
func (w *Widget) verifier() Verifier {
	v, _ := w.opt.Tickets.(Verifier)
	return v
}

// offersVerification says whether the visitor should be offered to verify
// the ticket's address: an account topic, not verified yet.
func (w *Widget) offersVerification(t escalation.Ticket) bool {
	if t.Verified || w.verifier() == nil {
		return false
	}
	return slices.ContainsFunc(w.opt.Tickets.Topics(), func(tp escalation.Topic) bool { return tp.ID == t.Topic && tp.Account })
}

// identify records the hello's signed identity on the conversation, or
// clears an earlier one when there is none. It returns what the welcome
// reports, and the error frame to send after the welcome when the identity
// is refused: the conversation goes on, unverified.
func (s *Session) identify(ctx context.Context, convID int64, signed string) (*identityInfo, *errorFrame) {
	ids := s.w.opt.Identities
	if ids == nil {
		if signed == "" {
			return nil, nil
		}
		f := errFrame(CodeBadIdentity, "this help center checks no signed identities: widget.identity_secret is not set")
		return nil, &f
	}
	id, err := ids.Attach(ctx, convID, signed)
	var ve *escalation.ValidationError
	switch {
	case errors.Is(err, escalation.ErrBadIdentity) && errors.As(err, &ve):
		s.w.log.Info("signed identity refused", "conversation_id", convID, "reason", ve.Msg)
		f := errFrame(CodeBadIdentity, ve.Msg)
		return nil, &f
	case err != nil:
		s.w.log.Error("widget failure", "action", "attach identity", "conversation_id", convID, "err", err)
		f := errFrame(CodeInternal, "Internal error.")
		return nil, &f
	case signed == "":
		return nil, nil
	}
	s.w.log.Info("signed identity accepted", "conversation_id", convID)
	return &identityInfo{Email: id.Email, Name: id.Name}, nil
}

// verifyStart sends a code to the address of the conversation's ticket.
func (s *Session) verifyStart(ctx context.Context, f inFrame) error {
	v, t, refused, err := s.verifiable(ctx, f.ClientID)
	if err != nil {
		return s.internalFor(ctx, f.ClientID, "find ticket", err)
	} else if refused != nil {
		return s.fail(ctx, *refused)
	}
	res, err := v.StartVerification(ctx, t.ID, f.ClientID)
	if err != nil {
		return s.verifyFailed(ctx, f.ClientID, "start verification", err)
	}
	if res.Created {
		s.w.log.Info("verification code sent", "conversation_id", t.ConversationID, "ticket", t.Ref, "seq", res.Note.Seq)
	}
	return s.verifyDone(ctx, f.ClientID, res)
}

// verifyCode checks the code the visitor typed.
func (s *Session) verifyCode(ctx context.Context, f inFrame) error {
	v, t, refused, err := s.verifiable(ctx, f.ClientID)
	if err != nil {
		return s.internalFor(ctx, f.ClientID, "find ticket", err)
	} else if refused != nil {
		return s.fail(ctx, *refused)
	}
	res, err := v.CheckVerification(ctx, t.ID, f.Code, f.ClientID)
	if err != nil {
		return s.verifyFailed(ctx, f.ClientID, "check verification", err)
	}
	if res.Created {
		s.w.log.Info("ownership verified", "conversation_id", t.ConversationID, "ticket", t.Ref, "by", escalation.VerifiedByCode)
	}
	return s.verifyDone(ctx, f.ClientID, res)
}

// verifiable finds the verifier and the conversation's ticket, or the
// error frame that says why there is nothing to verify.
func (s *Session) verifiable(ctx context.Context, clientID string) (Verifier, escalation.Ticket, *errorFrame, error) {
	refuse := func(code, msg string) (Verifier, escalation.Ticket, *errorFrame, error) {
		return nil, escalation.Ticket{}, &errorFrame{Type: typeError, Code: code, ClientID: clientID, Message: msg}, nil
	}
	v := s.w.verifier()
	if v == nil {
		return refuse(CodeNoTickets, "this help center takes no email tickets, so it verifies no addresses")
	}
	if clientID != "" && !escalation.ValidClientID(clientID) {
		return refuse(CodeBadFrame, "client_id must be 1 to 64 letters, digits, - or _")
	}
	t, err := s.w.opt.Tickets.TicketOfConversation(ctx, s.conversation().ID)
	if escalation.ErrorCode(err) == escalation.ENOTFOUND {
		return refuse(CodeNoTicket, "this conversation has no ticket whose address could be verified")
	} else if err != nil {
		return nil, escalation.Ticket{}, nil, err
	}
	return v, t, nil, nil
}

// verifyDone acknowledges the note the desk recorded and sends it, to this
// connection and the conversation's other tabs.
func (s *Session) verifyDone(ctx context.Context, clientID string, res escalation.Verification) error {
	if res.Created {
		s.w.hub.publish(res.Ticket.ConversationID, s)
	}
	if clientID != "" {
		if err := s.send(ctx, ackFrame{Type: typeAck, ClientID: clientID, Seq: res.Note.Seq}); err != nil {
			return err
		}
	}
	return s.Flush(ctx)
}

// verifyFailed answers a refused verification with its error code.
func (s *Session) verifyFailed(ctx context.Context, clientID, action string, err error) error {
	code := verifyErrorCode(err)
	if code == CodeInternal {
		return s.internalFor(ctx, clientID, action, err)
	}
	var ve *escalation.ValidationError
	errors.As(err, &ve)
	return s.fail(ctx, errorFrame{Type: typeError, Code: code, ClientID: clientID, Message: ve.Msg})
}

// verifyErrorCode is the error code of a refused verification.
func verifyErrorCode(err error) string {
	var ve *escalation.ValidationError
	switch {
	case errors.Is(err, escalation.ErrCodeExpired):
		return CodeCodeExpired
	case errors.Is(err, escalation.ErrTooManyTries):
		return CodeTooManyTries
	case errors.Is(err, escalation.ErrNoCode):
		return CodeNoCode
	case errors.Is(err, escalation.ErrTooManyCodes):
		return CodeTooManyCodes
	case errors.Is(err, escalation.ErrAlreadyVerified):
		return CodeAlreadyVerified
	case errors.As(err, &ve) && ve.Field == "client_id":
		return CodeBadFrame
	case errors.As(err, &ve):
		return CodeBadCode // ErrBadCode, or not 6 digits
	}
	return CodeInternal
}
