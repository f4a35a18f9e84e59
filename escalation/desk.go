package escalation

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Topic is a kind of request a visitor chooses on the contact form; it
// routes the ticket to a queue and tags it.
type Topic struct {
	ID    string            `toml:"id"`
	Label map[string]string `toml:"label"` // lang -> what the visitor reads
	Queue string            `toml:"queue"`
	Tags  []string          `toml:"tags"`
	// Account topics ask the visitor to prove they own the account email.
	Account bool `toml:"account"`
	// FeatureRequest topics are recorded and acknowledged without a
	// promise of updates.
	FeatureRequest bool `toml:"feature_request"`
}

// DefaultTopics follow the help center's own articles.
var DefaultTopics = []Topic{
	{ID: "account", Label: map[string]string{"fr": "Compte et connexion", "en": "Account and sign-in"},
		Queue: "accounts", Tags: []string{"account"}, Account: true},
	{ID: "billing", Label: map[string]string{"fr": "Facturation", "en": "Billing"},
		Queue: "billing", Tags: []string{"billing"}, Account: true},
	{ID: "help-center", Label: map[string]string{"fr": "Centre d'aide et assistant", "en": "Help center and assistant"},
		Queue: "support", Tags: []string{"help-center"}},
	{ID: "bug", Label: map[string]string{"fr": "Quelque chose ne fonctionne pas", "en": "Something doesn't work"},
		Queue: "support", Tags: []string{"bug"}},
	{ID: "feature-request", Label: map[string]string{"fr": "Suggérer une fonctionnalité", "en": "Suggest a feature"},
		Queue: "product", Tags: []string{"feature-request"}, FeatureRequest: true},
	{ID: "other", Label: map[string]string{"fr": "Autre question", "en": "Other question"},
		Queue: "support", Tags: []string{"other"}},
}

// Limits on what a visitor sends.
const (
	maxTicketMessage = 10_000 // characters
	maxNameLen       = 200
	maxEmailLen      = 254
	maxPageURLLen    = 2000
)

// DeskOptions configure the ticket desk.
type DeskOptions struct {
	From        string // the no-reply sender, "Bulle <no-reply@help.example>"
	ReplyDomain string // replies go to reply+<token>@ReplyDomain
	Tokens      ReplyTokens
	Topics      []Topic
	SiteName    string
	// Files keeps attachments; nil refuses them.
	Files *Files
	// BaseURL is the help center's public URL, for the article links of
	// transcripts; "" leaves them out of mail.
	BaseURL string
}

// Desk turns escalations into tickets and mail. It holds the rules; the
// store holds the rows.
type Desk struct {
	store  *Store
	opt    DeskOptions
	topics map[string]Topic
}

// NewDesk checks the options and returns a desk over s.
func NewDesk(s *Store, opt DeskOptions) (*Desk, error) {
	if _, err := mail.ParseAddress(opt.From); err != nil {
		return nil, fmt.Errorf("desk: from %q: not an email address", opt.From)
	}
	if opt.ReplyDomain == "" || strings.ContainsAny(opt.ReplyDomain, "@ \r\n") {
		return nil, fmt.Errorf("desk: reply domain %q: want a domain such as help.example.com", opt.ReplyDomain)
	}
	if len(opt.Topics) == 0 {
		opt.Topics = DefaultTopics
	}
	if opt.SiteName == "" {
		opt.SiteName = "Bulle"
	}
	d := &Desk{store: s, opt: opt, topics: map[string]Topic{}}
	for _, t := range opt.Topics {
		if t.ID == "" || t.Queue == "" {
			return nil, fmt.Errorf("desk: topic %q: want an id and a queue", t.ID)
		}
		d.topics[t.ID] = t
	}
	return d, nil
}

// Topics lists the topics in their configured order.
func (d *Desk) Topics() []Topic { return d.opt.Topics }

// TicketOfConversation returns the conversation's latest ticket;
// ErrNotFound when it has none.
func (d *Desk) TicketOfConversation(ctx context.Context, conversationID int64) (Ticket, error) {
	return d.store.TicketOfConversation(ctx, conversationID)
}

// NewTicket is a visitor's request for a person.
type NewTicket struct {
	// ConversationToken is the bubble's conversation, whose bot part
	// becomes the ticket's transcript; "" starts a new conversation (the
	// contact page).
	ConversationToken string
	// ConversationID names the conversation directly, for a caller that
	// has already opened it with its token (the bubble's session).
	ConversationID int64
	Lang           string
	Topic          string
	Email, Name    string
	Message        string
	PageURL        string
	// Attachments are screenshots and files sent with the request.
	Attachments []NewAttachment
	// Uploads name files the bubble staged for this conversation before
	// (StageUpload); they become the attachments of the visitor's
	// message, in the ticket's transaction. An id not staged for this
	// conversation is a ValidationError on "uploads".
	Uploads []string

	// Note, set by the bubble, records in the conversation, in the same
	// transaction, the system note it shows: KindTicketCreated, or
	// KindTicketFollowUp when the message went to the open ticket (see
	// ticket_followup.go).
	Note bool
	// ClientID is the form's id (ValidClientID), the note's: a resend
	// returns the ticket and note of the first time, attaching nothing.
	// It needs Note.
	ClientID string
	// OfferVerification says the caller can verify an address: the note
	// of a ticket on an account topic, not verified already, then offers
	// it ("verify").
	OfferVerification bool
}

// CreatedTicket is what CreateTicket did: the ticket (new, or the open one
// the message went to), and the token of its conversation for a visitor
// who did not have one.
type CreatedTicket struct {
	Ticket
	ConversationToken string
	// Note is the system note recorded for NewTicket.Note; zero without.
	Note Message
	// Created is false when the form was a resend, and nothing was
	// stored this time.
	Created bool
	// FollowUp says the message went to the conversation's ticket still
	// open, instead of opening a new one.
	FollowUp bool
	// Attachments are the files of the visitor's message.
	Attachments []Attachment
}

func (d *Desk) validate(nt NewTicket) (NewTicket, Topic, error) {
	nt.Email, nt.Name, nt.PageURL = strings.TrimSpace(nt.Email), strings.TrimSpace(nt.Name), strings.TrimSpace(nt.PageURL)
	nt.Message = strings.TrimSpace(nt.Message)
	topic, ok := d.topics[nt.Topic]
	switch {
	case !ok:
		return nt, topic, invalid("topic", "choose one of the listed topics")
	case nt.Lang != "fr" && nt.Lang != "en":
		return nt, topic, invalid("lang", "want fr or en")
	case len(nt.Email) > maxEmailLen || strings.ContainsAny(nt.Email, "\r\n<>\" ,;"):
		return nt, topic, invalid("email", "is not an email address")
	case utf8.RuneCountInString(nt.Name) > maxNameLen || strings.ContainsAny(nt.Name, "\r\n"):
		return nt, topic, invalid("name", "must be one line of at most %d characters", maxNameLen)
	case nt.Message == "":
		return nt, topic, invalid("message", "must not be empty")
	case utf8.RuneCountInString(nt.Message) > maxTicketMessage:
		return nt, topic, invalid("message", "is longer than %d characters", maxTicketMessage)
	case !utf8.ValidString(nt.Message + nt.Name):
		return nt, topic, invalid("message", "is not valid UTF-8")
	}
	if a, err := mail.ParseAddress(nt.Email); err != nil || a.Address != nt.Email || !strings.Contains(nt.Email, ".") {
		return nt, topic, invalid("email", "is not an email address")
	}
	if nt.PageURL != "" {
		u, err := url.Parse(nt.PageURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(nt.PageURL) > maxPageURLLen {
			return nt, topic, invalid("page_url", "want the http(s) address of the page")
		}
	}
	if nt.ClientID != "" && (!nt.Note || !ValidClientID(nt.ClientID)) {
		return nt, topic, invalid("client_id", "want 1 to 64 letters, digits, - or _, with a note")
	}
	if err := checkUploadIDs(nt.Uploads); err != nil {
		return nt, topic, err
	}
	return nt, topic, nil
}

// CreateTicket stores a ticket, the visitor's message in its conversation
// with its files, and the confirmation mail, in one transaction: the
// visitor is told the reference only once all are committed. On a
// conversation that has a ticket already, a resend returns it, and a new
// form may go to the ticket still open instead (ticket_followup.go).
func (d *Desk) CreateTicket(ctx context.Context, nt NewTicket) (CreatedTicket, error) {
	ct, err := d.createTicket(ctx, nt)
	if err != nil {
		return CreatedTicket{}, fmt.Errorf("desk: create ticket: %w", err)
	}
	if ct.Created && !ct.FollowUp {
		d.store.notifyMailQueued() // the confirmation
	}
	return ct, nil
}

func (d *Desk) createTicket(ctx context.Context, nt NewTicket) (CreatedTicket, error) {
	nt, topic, err := d.validate(nt)
	if err != nil {
		return CreatedTicket{}, err
	}
	s := d.store
	ctx, n := s.counting(ctx)
	convID := nt.ConversationID
	if convID == 0 && nt.ConversationToken != "" {
		c, err := s.ConversationByToken(ctx, nt.ConversationToken)
		if err != nil {
			return CreatedTicket{}, err
		}
		convID = c.ID
	}
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return CreatedTicket{}, err
	}
	defer tx.Rollback()
	now := s.now()
	var token string
	var earlier *Ticket
	if convID == 0 {
		if convID, token, err = s.createConversationTx(ctx, tx, nt.Lang, now); err != nil {
			return CreatedTicket{}, err
		}
	} else {
		if prev, found, err := resentTicketTx(ctx, tx, convID, nt.ClientID); err != nil || found {
			return prev, err
		}
		open, found, latest, err := openTicketFor(ctx, tx, convID, nt.Email)
		if err != nil {
			return CreatedTicket{}, err
		}
		if found {
			ct, err := d.followUpTx(ctx, tx, open, nt, now)
			if err != nil {
				return CreatedTicket{}, err
			}
			if err := tx.Commit(); err != nil {
				return CreatedTicket{}, err
			}
			n.committed()
			return ct, nil
		}
		earlier = latest
	}
	history, err := conversationMessagesTx(ctx, tx, convID)
	if err != nil {
		return CreatedTicket{}, err
	}
	messageID := NewMessageID(d.opt.ReplyDomain)
	t, err := createTicketTx(ctx, tx, ticketInsert{conversationID: convID, topic: topic.ID, queue: topic.Queue,
		tags: topic.Tags, email: nt.Email, name: nt.Name, lang: nt.Lang, pageURL: nt.PageURL, messageID: messageID}, now)
	if err != nil {
		return CreatedTicket{}, err
	}
	msg, _, err := appendInTx(ctx, tx, NewMessage{ConversationID: convID, Role: RoleVisitor, Kind: KindTicket,
		Body: nt.Message}, now)
	if err != nil {
		return CreatedTicket{}, err
	}
	files, err := d.attachAll(ctx, tx, msg, nt, now)
	if err != nil {
		return CreatedTicket{}, err
	}
	// A signed identity with the same address verifies it (identity.go).
	if err := verifyByIdentityTx(ctx, tx, &t, now); err != nil {
		return CreatedTicket{}, err
	}
	ct := CreatedTicket{Ticket: t, ConversationToken: token, Created: true, Attachments: files}
	if nt.Note {
		verify := nt.OfferVerification && topic.Account && !t.Verified
		if ct.Note, err = appendTicketNoteTx(ctx, tx, t, nt, KindTicketCreated, verify, now); err != nil {
			return CreatedTicket{}, err
		}
	}
	m, err := d.confirmation(t, topic, nt.Message, transcript(historySince(history, earlier), nt.Lang), files, messageID)
	if err != nil {
		return CreatedTicket{}, err
	}
	if _, err := enqueueMail(ctx, tx, m, now); err != nil {
		return CreatedTicket{}, err
	}
	if err := tx.Commit(); err != nil {
		return CreatedTicket{}, fmt.Errorf("commit: %w", err)
	}
	n.committed()
	return ct, nil
}

// attach stores a message's attachments, or refuses them when the desk
// keeps no files.
func (d *Desk) attach(ctx context.Context, tx *sql.Tx, msg Message, files []NewAttachment, now string) ([]Attachment, error) {
	if len(files) == 0 {
		return nil, nil
	}
	if d.opt.Files == nil {
		return nil, invalid("attachment", "this help center takes no attachments")
	}
	if len(files) > maxAttachments {
		return nil, invalid("attachment", "at most %d files per message", maxAttachments)
	}
	return d.opt.Files.attachTx(ctx, tx, msg.ConversationID, msg.Seq, files, now)
}

// maxAttachments bounds the files of one message.
const maxAttachments = 10

// KindTicket marks the visitor message a ticket was opened with.
const KindTicket = "ticket"

// replyAddress is where the visitor's replies to a ticket's mail go.
func (d *Desk) replyAddress(ticketID int64) string {
	return "reply+" + d.opt.Tokens.Make(ticketID) + "@" + d.opt.ReplyDomain
}

// KindAgentReply marks an agent's answer to a ticket, and KindEmail a
// visitor's reply that arrived by email.
const (
	KindAgentReply = "agent_reply"
	KindEmail      = "email"
)

// AgentReply stores an agent's answer in the ticket's conversation and
// queues it to the visitor by email, threaded under the ticket's earlier
// mails, in one transaction. The ticket then waits on the visitor.
func (d *Desk) AgentReply(ctx context.Context, agent Agent, ref, text string) (Message, error) {
	text = strings.TrimSpace(text)
	if text == "" || utf8.RuneCountInString(text) > maxTicketMessage || !utf8.ValidString(text) {
		return Message{}, fmt.Errorf("desk: agent reply: %w", invalid("text", "want 1 to %d characters", maxTicketMessage))
	}
	s := d.store
	ctx, n := s.counting(ctx)
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return Message{}, fmt.Errorf("desk: agent reply: %w", err)
	}
	defer tx.Rollback()
	t, err := scanTicket(tx.QueryRowContext(ctx, selectTicket+` WHERE ref = ?`,
		normalRef(ref)))
	if err != nil {
		return Message{}, fmt.Errorf("desk: agent reply to %s: %w", ref, err)
	}
	now := s.now()
	msg, _, err := appendInTx(ctx, tx, NewMessage{ConversationID: t.ConversationID, Role: RoleAgent,
		Kind: KindAgentReply, Body: text}, now)
	if err != nil {
		return Message{}, fmt.Errorf("desk: agent reply: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO message_agents (conversation_id, seq, agent_id) VALUES (?, ?, ?)`,
		t.ConversationID, msg.Seq, agent.ID); err != nil {
		return Message{}, fmt.Errorf("desk: agent reply: %w", err)
	}
	m, err := d.agentMail(t, agent, text)
	if err != nil {
		return Message{}, fmt.Errorf("desk: agent reply: %w", err)
	}
	if _, err := enqueueMail(ctx, tx, m, now); err != nil {
		return Message{}, fmt.Errorf("desk: agent reply: %w", err)
	}
	if err := touchTicketTx(ctx, tx, t.ID, m.MessageID, StatusPending, now); err != nil {
		return Message{}, fmt.Errorf("desk: agent reply: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Message{}, fmt.Errorf("desk: agent reply: commit: %w", err)
	}
	n.committed()
	s.notifyMailQueued()
	return msg, nil
}

// references is the References header of a new mail in a ticket's thread:
// the root, and the mail it answers when that is another one.
func references(t Ticket) []string {
	if t.LastMessageID == "" || t.LastMessageID == t.RootMessageID {
		return []string{t.RootMessageID}
	}
	return []string{t.RootMessageID, t.LastMessageID}
}

// DeliverReply adds a visitor's reply by email to its ticket: the text in
// the ticket's conversation, the attachments the allowlist accepts, and a
// note naming any it refused. A mail server that missed our answer sends
// the same reply again; its Message-ID finds the first copy, so it is
// stored once. An unknown ticket is ErrNotFound, and nothing is stored.
func (d *Desk) DeliverReply(ctx context.Context, r InboundReply) error {
	s := d.store
	ctx, n := s.counting(ctx)
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("desk: deliver reply: %w", err)
	}
	defer tx.Rollback()
	// A reply to a transcript's conversation address opens its ticket
	// (transcript_reply.go).
	t, opened, err := d.replyTicketTx(ctx, tx, r, s.now())
	if err != nil {
		return fmt.Errorf("desk: deliver reply: %w", err)
	}
	if t.ID == 0 {
		return nil // a machine's answer to a transcript: it opens nothing
	}
	text := strings.TrimSpace(r.Text)
	if text == "" {
		text = map[string]string{"fr": "(réponse sans texte)", "en": "(reply without text)"}[t.Lang]
	}
	if utf8.RuneCountInString(text) > maxTicketMessage {
		text = string([]rune(text)[:maxTicketMessage]) + "…"
	}
	now := s.now()
	msg, created, err := appendInTx(ctx, tx, NewMessage{ConversationID: t.ConversationID, Role: RoleVisitor,
		ClientID: mailClientID(r), Kind: KindEmail, Body: text}, now)
	if err != nil {
		return fmt.Errorf("desk: deliver reply: %w", err)
	}
	if !created {
		return nil // already stored: the sender retried after a lost answer
	}
	var kept []NewAttachment
	var refused []string
	for _, a := range r.Attachments {
		if d.opt.Files == nil {
			refused = append(refused, a.Name)
			continue
		}
		if _, err := d.opt.Files.sniff(a.Name, a.Data); err != nil {
			refused = append(refused, a.Name)
			continue
		}
		kept = append(kept, NewAttachment{Name: a.Name, Data: a.Data})
	}
	if len(kept) > maxAttachments {
		refused = append(refused, fmt.Sprintf("%d more", len(kept)-maxAttachments))
		kept = kept[:maxAttachments]
	}
	if _, err := d.attach(ctx, tx, msg, kept, now); err != nil {
		return fmt.Errorf("desk: deliver reply: %w", err)
	}
	if len(refused) > 0 {
		note := map[string]string{"fr": "Pièces jointes refusées (type ou taille non acceptés) : ",
			"en": "Attachments refused (type or size not accepted): "}[t.Lang] + strings.Join(refused, ", ")
		if _, _, err := appendInTx(ctx, tx, NewMessage{ConversationID: t.ConversationID, Role: RoleSystem,
			Kind: "attachments_refused", Body: note}, now); err != nil {
			return fmt.Errorf("desk: deliver reply: %w", err)
		}
	}
	last := t.LastMessageID
	if r.MessageID != "" {
		last = r.MessageID
	}
	if err := touchTicketTx(ctx, tx, t.ID, last, StatusOpen, now); err != nil {
		return fmt.Errorf("desk: deliver reply: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("desk: deliver reply: commit: %w", err)
	}
	n.committed()
	if opened {
		s.notifyMailQueued() // the new ticket's confirmation
	}
	return nil
}

// mailClientID keys a reply by its Message-ID within the conversation, so
// that a resent reply is stored once; a reply without one is keyed by its
// content.
func mailClientID(r InboundReply) string {
	key := r.MessageID
	if key == "" {
		key = r.From + "\x00" + r.Text
	}
	sum := sha256.Sum256([]byte(key))
	return "mail-" + hex.EncodeToString(sum[:20])
}
