package widget

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/bulle-help/bulle/escalation"
)

// Attachments opens a conversation's files for the visitor holding its
// token; *escalation.Desk is one.
type Attachments interface {
	ConversationAttachment(ctx context.Context, conversationID, id int64) (escalation.Attachment, *os.File, error)
}

var _ Attachments = (*escalation.Desk)(nil)

// attachmentLister lists a conversation's files, for the message frames;
// *escalation.Store is one. A store without it sends frames without files.
type attachmentLister interface {
	ConversationAttachments(ctx context.Context, conversationID int64) ([]escalation.Attachment, error)
}

// attachmentInfo is a file of a message, as message frames list it.
type attachmentInfo struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	// URL is the download, relative to the server; it needs the
	// conversation's token as a bearer token.
	URL string `json:"url"`
}

// attachmentsPath is where the bubble downloads a file.
const attachmentsPath = "/widget/attachments/"

// filesBySeq returns the conversation's files by message seq, when there
// are messages to send and the store can list them.
func (w *Widget) filesBySeq(ctx context.Context, conversationID int64, msgs []escalation.Message) (map[int64][]attachmentInfo, error) {
	lister, ok := w.store.(attachmentLister)
	if !ok || len(msgs) == 0 {
		return nil, nil
	}
	files, err := lister.ConversationAttachments(ctx, conversationID)
	if err != nil {
		return nil, err
	}
	out := map[int64][]attachmentInfo{}
	for _, a := range files {
		out[a.Seq] = append(out[a.Seq], attachmentInfo{ID: a.ID, Name: a.Name, ContentType: a.ContentType, Size: a.Size,
			URL: attachmentsPath + strconv.FormatInt(a.ID, 10)})
	}
	return out, nil
}

// corsForBubble answers the CORS side of a request from the bubble, which
// runs on other sites and calls with "Authorization: Bearer <token>": an
// origin not allowed (as for the WebSocket) gets refuse, a preflight its
// answer for method. It reports whether the handler goes on.
func (w *Widget) corsForBubble(rw http.ResponseWriter, r *http.Request, method string, refuse func()) bool {
	h := rw.Header()
	h.Add("Vary", "Origin")
	if origin := r.Header.Get("Origin"); origin != "" {
		if !w.origins.allows(origin, r.Host) {
			refuse()
			return false
		}
		h.Set("Access-Control-Allow-Origin", origin)
	}
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", method)
		h.Set("Access-Control-Allow-Headers", "Authorization")
		h.Set("Access-Control-Max-Age", "600")
		rw.WriteHeader(http.StatusNoContent)
		return false
	}
	return true
}

// handleAttachment serves GET /widget/attachments/{id} to the visitor
// whose conversation holds the file: "Authorization: Bearer <conversation
// token>". The bubble runs on other sites, so it fetches the file with
// CORS (its origin must be allowed, as for the WebSocket) and saves it
// through a blob URL. A token that opens no conversation, or a file of
// another conversation, is 404: nobody learns that a file exists.
func (w *Widget) handleAttachment(rw http.ResponseWriter, r *http.Request) {
	if !w.corsForBubble(rw, r, http.MethodGet, func() {
		http.Error(rw, "This site may not fetch Bulle attachments: add its origin to widget.allowed_origins.", http.StatusForbidden)
	}) {
		return
	}
	h := rw.Header()
	h.Set("Access-Control-Expose-Headers", "Content-Disposition")
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		h.Set("WWW-Authenticate", `Bearer realm="bulle conversation"`)
		http.Error(rw, "Send the conversation's token: Authorization: Bearer <token>.", http.StatusUnauthorized)
		return
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, attachmentsPath), 10, 64)
	if err != nil || id <= 0 || w.opt.Attachments == nil {
		http.NotFound(rw, r)
		return
	}
	ctx := r.Context()
	conv, err := w.store.ConversationByToken(ctx, strings.TrimSpace(token))
	if err != nil {
		w.notFoundOr(rw, r, "conversation by token", err)
		return
	}
	a, f, err := w.opt.Attachments.ConversationAttachment(ctx, conv.ID, id)
	if err != nil {
		w.notFoundOr(rw, r, "open attachment", err)
		return
	}
	w.log.Info("attachment downloaded", "conversation_id", conv.ID, "attachment_id", a.ID, "by", "visitor")
	escalation.ServeAttachment(rw, r, a, f)
}

// notFoundOr answers 404 for ErrNotFound and logs anything else as an
// internal error.
func (w *Widget) notFoundOr(rw http.ResponseWriter, r *http.Request, action string, err error) {
	if escalation.ErrorCode(err) == escalation.ENOTFOUND {
		http.NotFound(rw, r)
		return
	}
	w.log.Error("widget failure", "action", action, "path", r.URL.Path, "err", err)
	http.Error(rw, "Internal error.", http.StatusInternalServerError)
}
