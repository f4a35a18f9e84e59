package escalation

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// A conversation keeps its visitor across requests: the bubble's token
// stays in their browser, and they come back with something new. What a
// new ticket form does then is what Zendesk's and Intercom's messengers
// do, and what their users expect:
//
//   - the same form sent again (same client id: a lost ack, a reconnect)
//     is the same request: the ticket and note of the first time, and no
//     file attached twice;
//   - a new form while the conversation's latest ticket is still open or
//     pending, from the same address, is more of that request: the
//     message (and its files) is added to that ticket, which is open
//     again for the agents, and the visitor is told "added to your
//     request #REF"; no second confirmation mail;
//   - a new form once that ticket is solved, or from another address
//     (someone else at the same browser, whose answer must not go to the
//     first address), opens a new ticket on the same conversation: the
//     agents see everything said before.
//
// A reply by email is different: it names its ticket, and reopens it
// even when solved (DeliverReply).

// Kinds of the system notes CreateTicket records for the bubble.
const (
	KindTicketCreated  = "ticket_created"  // a ticket was opened from the form
	KindTicketFollowUp = "ticket_followup" // the form's message went to the open ticket
)

// ticketNote is the stored body of those notes, as the bubble reads it
// (the "text", "ticket" and "verify" of its message frames).
type ticketNote struct {
	Text   string `json:"text"`
	Ticket string `json:"ticket"`
	Verify bool   `json:"verify,omitempty"`
}

// ticketNoteText tells the visitor their ticket is open, and where the
// answer will come.
func ticketNoteText(lang, ref, email string) string {
	if lang == "fr" {
		return "Demande #" + ref + " enregistrée. Une confirmation part à " + email +
			" ; une personne de l'équipe vous répondra par e-mail. Pour ajouter une précision, répondez à cet e-mail."
	}
	return "Request #" + ref + " recorded. A confirmation is on its way to " + email +
		"; a person from the team will reply by email. To add details, reply to that email."
}

// followUpNoteText tells the visitor their message joined the request
// still open.
func followUpNoteText(lang, ref string) string {
	if lang == "fr" {
		return "Message ajouté à votre demande #" + ref + ", toujours en cours : l'équipe le lira avec le reste et vous répondra par e-mail."
	}
	return "Added to your request #" + ref + ", still open: the team will read it with the rest and reply by email."
}

// appendTicketNoteTx records the bubble's note about t inside tx, under
// the form's client id.
func appendTicketNoteTx(ctx context.Context, tx *sql.Tx, t Ticket, nt NewTicket, kind string, verify bool, now string) (Message, error) {
	text := ticketNoteText(nt.Lang, t.Ref, t.Email)
	if kind == KindTicketFollowUp {
		text = followUpNoteText(nt.Lang, t.Ref)
	}
	body, err := json.Marshal(ticketNote{Text: text, Ticket: t.Ref, Verify: verify})
	if err != nil {
		return Message{}, err
	}
	note, _, err := appendInTx(ctx, tx, NewMessage{ConversationID: t.ConversationID, Role: RoleSystem,
		ClientID: nt.ClientID, Kind: kind, Body: string(body)}, now)
	return note, err
}

// resentTicketTx finds what a resent form recorded the first time: the
// note stored under its client id, and the ticket it names. found is
// false for a new form.
func resentTicketTx(ctx context.Context, tx *sql.Tx, conversationID int64, clientID string) (CreatedTicket, bool, error) {
	if clientID == "" {
		return CreatedTicket{}, false, nil
	}
	prev, found, err := existingMessage(ctx, tx, NewMessage{ConversationID: conversationID, ClientID: clientID})
	if err != nil || !found {
		return CreatedTicket{}, false, err
	}
	var note ticketNote
	if (prev.Kind != KindTicketCreated && prev.Kind != KindTicketFollowUp) ||
		json.Unmarshal([]byte(prev.Body), &note) != nil || note.Ticket == "" {
		return CreatedTicket{}, true, invalid("client_id", "already names another message")
	}
	t, err := scanTicket(tx.QueryRowContext(ctx, selectTicket+` WHERE ref = ? AND conversation_id = ?`,
		note.Ticket, conversationID))
	if err != nil {
		return CreatedTicket{}, true, fmt.Errorf("ticket %s of note %d: %w", note.Ticket, prev.Seq, err)
	}
	return CreatedTicket{Ticket: t, Note: prev, FollowUp: prev.Kind == KindTicketFollowUp}, true, nil
}

// openTicketFor returns the conversation's ticket a new form from email
// adds to: its latest, while not solved and from the same address
// (compared without regard to case). found is false when the form opens
// a new ticket; earlier is then the latest ticket, if any.
func openTicketFor(ctx context.Context, tx *sql.Tx, conversationID int64, email string) (open Ticket, found bool, earlier *Ticket, err error) {
	t, err := scanTicket(tx.QueryRowContext(ctx, latestTicketOfConversation, conversationID))
	switch {
	case errors.Is(err, ErrNotFound):
		return Ticket{}, false, nil, nil
	case err != nil:
		return Ticket{}, false, nil, err
	case t.Status != StatusSolved && strings.EqualFold(t.Email, email):
		return t, true, nil, nil
	}
	return Ticket{}, false, &t, nil
}

// followUpTx adds the form's message, with its files, to the open ticket t
// inside tx, opens it again for the agents (a pending ticket waited on the
// visitor, who has spoken), and records the note. No mail: the visitor
// reads the note in the bubble, and the ticket's thread goes on as before.
func (d *Desk) followUpTx(ctx context.Context, tx *sql.Tx, t Ticket, nt NewTicket, now string) (CreatedTicket, error) {
	msg, _, err := appendInTx(ctx, tx, NewMessage{ConversationID: t.ConversationID, Role: RoleVisitor, Kind: KindTicket,
		Body: nt.Message}, now)
	if err != nil {
		return CreatedTicket{}, err
	}
	files, err := d.attachAll(ctx, tx, msg, nt, now)
	if err != nil {
		return CreatedTicket{}, err
	}
	if err := touchTicketTx(ctx, tx, t.ID, t.LastMessageID, StatusOpen, now); err != nil {
		return CreatedTicket{}, err
	}
	t.Status, t.UpdatedAt = StatusOpen, parseTime(now)
	ct := CreatedTicket{Ticket: t, Created: true, FollowUp: true, Attachments: files}
	if nt.Note {
		if ct.Note, err = appendTicketNoteTx(ctx, tx, t, nt, KindTicketFollowUp, false, now); err != nil {
			return CreatedTicket{}, err
		}
	}
	return ct, nil
}

// attachAll attaches the form's files to its message: those sent with it
// (the contact page) and those staged before (the bubble's uploads).
func (d *Desk) attachAll(ctx context.Context, tx *sql.Tx, msg Message, nt NewTicket, now string) ([]Attachment, error) {
	sent, err := d.attach(ctx, tx, msg, nt.Attachments, now)
	if err != nil {
		return nil, err
	}
	staged, err := d.takeUploadsTx(ctx, tx, msg.ConversationID, msg.Seq, nt.Uploads, len(nt.Attachments), now)
	if err != nil {
		return nil, err
	}
	return append(sent, staged...), nil
}

// historySince keeps the messages a new ticket's confirmation quotes:
// those after the conversation's earlier ticket last moved (it was solved,
// or answered), so that a second request does not mail the first one's
// whole thread again.
func historySince(msgs []Message, earlier *Ticket) []Message {
	if earlier == nil {
		return msgs
	}
	var out []Message
	for _, m := range msgs {
		if m.CreatedAt.After(earlier.UpdatedAt) {
			out = append(out, m)
		}
	}
	return out
}
