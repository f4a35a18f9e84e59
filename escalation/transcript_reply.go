package escalation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// replyTicketTx finds, inside tx, the ticket an inbound reply goes to. A
// ticket token names it. A conversation token (the Reply-To of a transcript
// mailed before any ticket existed) names the conversation: its ticket if
// one was opened since, else a new one, opened here on the first reply,
// with topic "other" and the sender's address, and its confirmation mail
// queued in tx (opened is then true). An automatic reply (out of office,
// a list) to a conversation without a ticket opens nothing: the zero
// Ticket and no error.
func (d *Desk) replyTicketTx(ctx context.Context, tx *sql.Tx, r InboundReply, now string) (t Ticket, opened bool, err error) {
	if r.ConversationID == 0 || r.TicketID != 0 {
		t, err := scanTicket(tx.QueryRowContext(ctx, selectTicket+` WHERE id = ?`, r.TicketID))
		if err != nil {
			return Ticket{}, false, fmt.Errorf("ticket %d: %w", r.TicketID, err)
		}
		return t, false, nil
	}
	t, err = scanTicket(tx.QueryRowContext(ctx, latestTicketOfConversation, r.ConversationID))
	if err == nil || !errors.Is(err, ErrNotFound) {
		return t, false, err
	}
	var lang string
	err = tx.QueryRowContext(ctx, `SELECT lang FROM conversations WHERE id = ?`, r.ConversationID).Scan(&lang)
	if errors.Is(err, sql.ErrNoRows) {
		return Ticket{}, false, fmt.Errorf("conversation %d: %w", r.ConversationID, ErrNotFound)
	} else if err != nil {
		return Ticket{}, false, err
	}
	if r.AutoSubmitted {
		return Ticket{}, false, nil
	}
	// The ticket's address is the one that wrote: replies and the
	// confirmation go there. A reply whose sender is no plain address
	// has nowhere to be answered, and is refused like an unknown ticket.
	email, err := checkEmail(r.From)
	if err != nil {
		return Ticket{}, false, fmt.Errorf("conversation %d: sender is not an address: %w", r.ConversationID, ErrNotFound)
	}
	if lang != "fr" {
		lang = "en"
	}
	topic, ok := d.topics["other"]
	if !ok {
		topic = d.opt.Topics[len(d.opt.Topics)-1]
	}
	history, err := conversationMessagesTx(ctx, tx, r.ConversationID)
	if err != nil {
		return Ticket{}, false, err
	}
	messageID := NewMessageID(d.opt.ReplyDomain)
	t, err = createTicketTx(ctx, tx, ticketInsert{conversationID: r.ConversationID, topic: topic.ID, queue: topic.Queue,
		tags: topic.Tags, email: email, lang: lang, messageID: messageID}, now)
	if err != nil {
		return Ticket{}, false, err
	}
	text := strings.TrimSpace(r.Text)
	if utf8.RuneCountInString(text) > maxTicketMessage {
		text = string([]rune(text)[:maxTicketMessage]) + "…"
	}
	m, err := d.confirmation(t, topic, text, transcript(history, lang), nil, messageID)
	if err != nil {
		return Ticket{}, false, err
	}
	if r.MessageID != "" && validMsgID(r.MessageID) {
		m.InReplyTo, m.References = r.MessageID, []string{r.MessageID}
	}
	if _, err := enqueueMail(ctx, tx, m, now); err != nil {
		return Ticket{}, false, err
	}
	return t, true, nil
}
