package widget

import (
	"context"
	"errors"

	"github.com/bulle-help/bulle/escalation"
)

// Transcripts mails a conversation to the visitor; *escalation.Desk is one.
type Transcripts interface {
	SendTranscript(ctx context.Context, conversationID int64, email, lang, clientID string) (escalation.Message, error)
}

var _ Transcripts = (*escalation.Desk)(nil)

// typeTranscript asks for the conversation by email (docs/protocol.md).
const typeTranscript = "transcript"

// Error codes of the transcript frame.
const (
	CodeBadTranscript = "bad_transcript" // the address is refused; "field" is "email"
	CodeTooMany       = "too_many"       // too many transcripts for this conversation lately
	CodeNoTranscripts = "no_transcripts" // this server sends no transcripts
)

// transcript mails the whole conversation to the address the visitor
// typed. The desk records a system note in the same transaction as the
// mail; the visitor gets an ack with the note's seq, then the note. A
// resend with the same client_id is acknowledged with the first note and
// mails nothing more.
func (s *Session) transcript(ctx context.Context, f inFrame) error {
	if s.w.opt.Transcripts == nil {
		return s.fail(ctx, errFrame(CodeNoTranscripts, "this help center sends no transcripts"))
	}
	if !escalation.ValidClientID(f.ClientID) {
		return s.fail(ctx, errFrame(CodeBadFrame, "client_id must be 1 to 64 letters, digits, - or _"))
	}
	convID := s.conversation().ID
	note, err := s.w.opt.Transcripts.SendTranscript(ctx, convID, f.Email, s.turnLang(), f.ClientID)
	var ve *escalation.ValidationError
	switch {
	case errors.As(err, &ve):
		return s.fail(ctx, errorFrame{Type: typeError, Code: CodeBadTranscript, ClientID: f.ClientID, Field: ve.Field, Message: ve.Msg})
	case errors.Is(err, escalation.ErrTooMany):
		return s.fail(ctx, errorFrame{Type: typeError, Code: CodeTooMany, ClientID: f.ClientID,
			Message: "this conversation was mailed several times in the last hour; try again later"})
	case err != nil:
		return s.internalFor(ctx, f.ClientID, "send transcript", err)
	}
	s.w.log.Info("transcript queued", "conversation_id", convID, "seq", note.Seq)
	s.w.hub.publish(convID, s)
	if err := s.send(ctx, ackFrame{Type: typeAck, ClientID: f.ClientID, Seq: note.Seq}); err != nil {
		return err
	}
	return s.Flush(ctx)
}
