package escalation

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Privacy: everything stored about one email address, to hand it over
// ("bulle privacy export") or erase it ("bulle privacy delete"). Addresses
// match whatever their case.
//
// A conversation belongs to an address when one of its tickets was opened
// with it, when the visitor was signed in with it (a site's signed
// identity), or when its transcript was mailed to it. Deleting the address
// deletes those conversations whole, with the same cascade as retention.

// AddressExport is everything stored about one address.
type AddressExport struct {
	Email             string               `json:"email"`
	Tickets           []ExportTicket       `json:"tickets"`
	Conversations     []ExportConversation `json:"conversations"`
	RequestsSessions  []ExportSession      `json:"requests_sessions"`
	VerificationCodes []ExportCode         `json:"verification_codes"`
	Mail              []ExportMail         `json:"mail"`
}

// ExportTicket is a ticket opened with the address; its messages are in
// its conversation.
type ExportTicket struct {
	Ref            string     `json:"ref"`
	ConversationID int64      `json:"conversation_id"`
	Topic          string     `json:"topic"`
	Email          string     `json:"email"`
	Name           string     `json:"name"`
	Lang           string     `json:"lang"`
	PageURL        string     `json:"page_url"`
	Status         string     `json:"status"`
	VerifiedAt     *time.Time `json:"verified_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// ExportConversation is a conversation of the address, with why it is one
// ("ticket", "identity", "transcript") and all its messages.
type ExportConversation struct {
	ID            int64           `json:"id"`
	Linked        []string        `json:"linked_by"`
	Lang          string          `json:"lang"`
	Origin        string          `json:"origin"`
	IdentityEmail string          `json:"identity_email,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
	Messages      []ExportMessage `json:"messages"`
	Notes         []ExportNote    `json:"agent_notes,omitempty"`
}

// ExportMessage is one message, with its attachments' names and sizes.
type ExportMessage struct {
	Seq         int64              `json:"seq"`
	Role        string             `json:"role"`
	Kind        string             `json:"kind"`
	Body        string             `json:"body"`
	CreatedAt   time.Time          `json:"created_at"`
	Attachments []ExportAttachment `json:"attachments,omitempty"`
}

// ExportAttachment names a file; the bytes stay in the attachments folder.
type ExportAttachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// ExportNote is an agent's internal note on a conversation.
type ExportNote struct {
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// ExportSession is a "My requests" sign-in link or session (kind "link"
// or "session"); the tokens themselves are stored only hashed.
type ExportSession struct {
	Kind      string    `json:"kind"`
	Lang      string    `json:"lang"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ExportCode is a verification code mailed to the address (only its HMAC
// is stored, so not the code).
type ExportCode struct {
	TicketRef string    `json:"ticket_ref"`
	Attempts  int       `json:"attempts"`
	Used      bool      `json:"used"`
	CreatedAt time.Time `json:"created_at"`
}

// ExportMail is a mail of the outbox addressed to the address.
type ExportMail struct {
	Kind      string     `json:"kind"`
	To        string     `json:"to"`
	Subject   string     `json:"subject"`
	Text      string     `json:"text"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
}

// normalizeAddress lower-cases and trims an address, refusing one that is
// not one.
func normalizeAddress(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	if e == "" || !strings.Contains(e, "@") || strings.ContainsAny(e, " <>\r\n") {
		return "", invalid("email", "%q is not an email address", email)
	}
	return e, nil
}

// mailToAddress matches outbox rows addressed to ?1: to_addr is a bare
// address or "Name <address>".
const mailToAddress = `(lower(to_addr) = ?1 OR instr(lower(to_addr), '<' || ?1 || '>') > 0)`

// addressConversations lists the conversations of email, and why each is.
func addressConversations(ctx context.Context, q querier, email string) ([]int64, map[int64][]string, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT conversation_id, 'ticket' FROM tickets WHERE lower(email) = ?1
		UNION SELECT id, 'identity' FROM conversations WHERE lower(identity_email) = ?1
		UNION SELECT conversation_id, 'transcript' FROM transcripts WHERE email = ?1
		ORDER BY 1, 2`, email)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var ids []int64
	why := map[int64][]string{}
	for rows.Next() {
		var id int64
		var reason string
		if err := rows.Scan(&id, &reason); err != nil {
			return nil, nil, err
		}
		if _, seen := why[id]; !seen {
			ids = append(ids, id)
		}
		why[id] = append(why[id], reason)
	}
	return ids, why, rows.Err()
}

// ExportAddress returns everything stored about email, read in one
// transaction so that the parts agree.
func (s *Store) ExportAddress(ctx context.Context, email string) (AddressExport, error) {
	e, err := normalizeAddress(email)
	if err != nil {
		return AddressExport{}, err
	}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return AddressExport{}, fmt.Errorf("store: export address: %w", err)
	}
	defer tx.Rollback()
	x := AddressExport{Email: e, Tickets: []ExportTicket{}, Conversations: []ExportConversation{},
		RequestsSessions: []ExportSession{}, VerificationCodes: []ExportCode{}, Mail: []ExportMail{}}
	if err := exportAddressTx(ctx, tx, e, &x); err != nil {
		return AddressExport{}, fmt.Errorf("store: export address: %w", err)
	}
	return x, nil
}

func exportAddressTx(ctx context.Context, tx *sql.Tx, e string, x *AddressExport) error {
	err := eachRow(ctx, tx, `SELECT ref, conversation_id, topic, email, name, lang, page_url, status,
		COALESCE(verified_at, ''), created_at, updated_at FROM tickets WHERE lower(email) = ? ORDER BY id`,
		[]any{e}, func(r *sql.Rows) error {
			var t ExportTicket
			var verified, created, updated string
			if err := r.Scan(&t.Ref, &t.ConversationID, &t.Topic, &t.Email, &t.Name, &t.Lang, &t.PageURL, &t.Status,
				&verified, &created, &updated); err != nil {
				return err
			}
			if verified != "" {
				v := parseTime(verified)
				t.VerifiedAt = &v
			}
			t.CreatedAt, t.UpdatedAt = parseTime(created), parseTime(updated)
			x.Tickets = append(x.Tickets, t)
			return nil
		})
	if err != nil {
		return err
	}
	ids, why, err := addressConversations(ctx, tx, e)
	if err != nil {
		return err
	}
	for _, id := range ids {
		c, err := exportConversation(ctx, tx, id)
		if err != nil {
			return err
		}
		c.Linked = why[id]
		x.Conversations = append(x.Conversations, c)
	}
	err = eachRow(ctx, tx, `SELECT 'link', lang, created_at, expires_at FROM request_links WHERE email = ?1
		UNION ALL SELECT 'session', lang, created_at, expires_at FROM request_sessions WHERE email = ?1
		ORDER BY 3`, []any{e}, func(r *sql.Rows) error {
		var rs ExportSession
		var created, expires string
		if err := r.Scan(&rs.Kind, &rs.Lang, &created, &expires); err != nil {
			return err
		}
		rs.CreatedAt, rs.ExpiresAt = parseTime(created), parseTime(expires)
		x.RequestsSessions = append(x.RequestsSessions, rs)
		return nil
	})
	if err != nil {
		return err
	}
	err = eachRow(ctx, tx, `SELECT COALESCE(t.ref, ''), v.attempts, v.used_at IS NOT NULL, v.created_at
		FROM verification_codes v LEFT JOIN tickets t ON t.id = v.ticket_id
		WHERE lower(v.email) = ? ORDER BY v.id`, []any{e}, func(r *sql.Rows) error {
		var c ExportCode
		var created string
		if err := r.Scan(&c.TicketRef, &c.Attempts, &c.Used, &created); err != nil {
			return err
		}
		c.CreatedAt = parseTime(created)
		x.VerificationCodes = append(x.VerificationCodes, c)
		return nil
	})
	if err != nil {
		return err
	}
	return eachRow(ctx, tx, `SELECT kind, to_addr, subject, text_body, created_at, COALESCE(sent_at, '')
		FROM outbox WHERE `+mailToAddress+` ORDER BY id`, []any{e}, func(r *sql.Rows) error {
		var m ExportMail
		var created, sent string
		if err := r.Scan(&m.Kind, &m.To, &m.Subject, &m.Text, &created, &sent); err != nil {
			return err
		}
		m.CreatedAt = parseTime(created)
		if sent != "" {
			t := parseTime(sent)
			m.SentAt = &t
		}
		x.Mail = append(x.Mail, m)
		return nil
	})
}

// exportConversation reads one conversation whole.
func exportConversation(ctx context.Context, tx *sql.Tx, id int64) (ExportConversation, error) {
	c := ExportConversation{ID: id, Messages: []ExportMessage{}}
	var created, updated string
	err := tx.QueryRowContext(ctx, `SELECT lang, origin, COALESCE(identity_email, ''), created_at, updated_at
		FROM conversations WHERE id = ?`, id).Scan(&c.Lang, &c.Origin, &c.IdentityEmail, &created, &updated)
	if err != nil {
		return c, fmt.Errorf("conversation %d: %w", id, err)
	}
	c.CreatedAt, c.UpdatedAt = parseTime(created), parseTime(updated)
	bySeq := map[int64]int{}
	err = eachRow(ctx, tx, `SELECT seq, role, kind, body, created_at FROM messages WHERE conversation_id = ? ORDER BY seq`,
		[]any{id}, func(r *sql.Rows) error {
			var m ExportMessage
			var at string
			if err := r.Scan(&m.Seq, &m.Role, &m.Kind, &m.Body, &at); err != nil {
				return err
			}
			m.CreatedAt = parseTime(at)
			bySeq[m.Seq] = len(c.Messages)
			c.Messages = append(c.Messages, m)
			return nil
		})
	if err != nil {
		return c, err
	}
	err = eachRow(ctx, tx, `SELECT seq, name, content_type, size FROM attachments WHERE conversation_id = ? ORDER BY id`,
		[]any{id}, func(r *sql.Rows) error {
			var seq int64
			var a ExportAttachment
			if err := r.Scan(&seq, &a.Name, &a.ContentType, &a.Size); err != nil {
				return err
			}
			if i, ok := bySeq[seq]; ok {
				c.Messages[i].Attachments = append(c.Messages[i].Attachments, a)
			}
			return nil
		})
	if err != nil {
		return c, err
	}
	err = eachRow(ctx, tx, `SELECT body, created_at FROM agent_notes WHERE conversation_id = ? ORDER BY id`,
		[]any{id}, func(r *sql.Rows) error {
			var n ExportNote
			var at string
			if err := r.Scan(&n.Body, &at); err != nil {
				return err
			}
			n.CreatedAt = parseTime(at)
			c.Notes = append(c.Notes, n)
			return nil
		})
	return c, err
}

// eachRow runs query and calls fn on each row.
func eachRow(ctx context.Context, q querier, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// DeleteAddress deletes everything stored about email, in one
// transaction: its conversations whole (as retention deletes them: tickets,
// messages, files, notes, chats, their mail), any other mail to it, its
// verification codes, and its "My requests" links and sessions. The caller
// removes d.Files once it returns.
func (s *Store) DeleteAddress(ctx context.Context, email string) (Deleted, error) {
	e, err := normalizeAddress(email)
	if err != nil {
		return Deleted{}, err
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return Deleted{}, fmt.Errorf("store: delete address: %w", err)
	}
	defer tx.Rollback()
	ids, _, err := addressConversations(ctx, tx, e)
	if err != nil {
		return Deleted{}, fmt.Errorf("store: delete address: %w", err)
	}
	var d Deleted
	// An address rarely has many conversations; batches keep each
	// statement's list of ids short all the same.
	for start := 0; start < len(ids); start += retentionBatch {
		part, err := deleteConversationsTx(ctx, tx, ids[start:min(start+retentionBatch, len(ids))])
		if err != nil {
			return Deleted{}, fmt.Errorf("store: delete address: %w", err)
		}
		d.add(part)
	}
	for _, st := range []struct {
		sql string
		n   *int
	}{
		{`DELETE FROM verification_codes WHERE lower(email) = ?1`, &d.Codes},
		{`DELETE FROM outbox WHERE ` + mailToAddress, &d.Mail},
		{`DELETE FROM request_links WHERE email = ?1`, &d.Sessions},
		{`DELETE FROM request_sessions WHERE email = ?1`, &d.Sessions},
	} {
		res, err := tx.ExecContext(ctx, st.sql, e)
		if err != nil {
			return Deleted{}, fmt.Errorf("store: delete address: %w", err)
		}
		n, _ := res.RowsAffected()
		*st.n += int(n)
	}
	if err := tx.Commit(); err != nil {
		return Deleted{}, fmt.Errorf("store: delete address: commit: %w", err)
	}
	return d, nil
}

// ExportAddress is Store.ExportAddress, for the console's privacy page.
func (d *Desk) ExportAddress(ctx context.Context, email string) (AddressExport, error) {
	return d.store.ExportAddress(ctx, email)
}

// EraseAddress deletes everything stored about email (Store.DeleteAddress)
// and then its files. Rows deleted and files left behind are both
// reported: the rows are gone either way, and a file that could not be
// removed is unreachable.
func (d *Desk) EraseAddress(ctx context.Context, email string) (Deleted, error) {
	del, err := d.store.DeleteAddress(ctx, email)
	if err != nil || d.opt.Files == nil {
		return del, err
	}
	if err := d.opt.Files.RemoveDeleted(del); err != nil {
		return del, fmt.Errorf("privacy: rows deleted, but some files could not be removed: %w", err)
	}
	return del, nil
}
