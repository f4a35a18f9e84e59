package widget

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

// The ticket form's files. A WebSocket frame is at most 8 KB, so the
// bubble sends each file over HTTP first, POST /widget/uploads with the
// conversation's token, and names the ids it gets in the ticket frame's
// "uploads". The desk sniffs and keeps each file for that conversation
// (escalation.Desk.StageUpload), and CreateTicket takes them. The spec is
// in docs/widget.md, "Email form and files".

// Uploads stages the bubble's files for a conversation's next ticket;
// *escalation.Desk is one. The widget takes files when its Tickets is also
// an Uploads whose limits say it keeps files.
type Uploads interface {
	UploadLimits() (escalation.UploadLimits, bool)
	StageUpload(ctx context.Context, conversationID int64, name string, data []byte) (escalation.Upload, error)
}

var _ Uploads = (*escalation.Desk)(nil)

// uploadsPath is where the bubble stages a file.
const uploadsPath = "/widget/uploads"

// uploadOverhead is what a multipart request may carry besides the file:
// its boundary and headers, with room for a long file name.
const uploadOverhead = 64 << 10

// The rates of uploads. A form sends up to max_files (10) files at once,
// and a visitor whose upload failed sends them all again: 20 at once per
// conversation, 30 per IP (a few visitors behind one address), then one
// more every 15 s. The IP limit counts every request, 404s included, so
// that guessing tokens is as slow as uploading.
const (
	uploadsEvery            = 15 * time.Second
	uploadsBurstPerConv     = 20
	uploadsBurstPerClientIP = 30
)

// uploadsInfo is what the welcome says of the server's files: the bubble
// checks each file against it before sending it.
type uploadsInfo struct {
	MaxBytes int64 `json:"max_bytes"`
	MaxTotal int64 `json:"max_total"`
	MaxFiles int   `json:"max_files"`
}

// uploads returns the desk that stages files, and its limits; nil when the
// server takes no files from the bubble.
func (w *Widget) uploads() (Uploads, *uploadsInfo) {
	u, ok := w.opt.Tickets.(Uploads)
	if !ok {
		return nil, nil
	}
	l, ok := u.UploadLimits()
	if !ok || l.MaxFiles <= 0 {
		return nil, nil
	}
	return u, &uploadsInfo{MaxBytes: l.MaxBytes, MaxTotal: l.MaxTotal, MaxFiles: l.MaxFiles}
}

// uploadInfo answers a staged file.
type uploadInfo struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
}

// uploadError is the body of every refusal: a code for the bubble and a
// sentence for the site's developer.
type uploadError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// uploadHandler serves POST /widget/uploads. It holds the rate limits, so
// one is made per Register.
type uploadHandler struct {
	w      *Widget
	byConv *limiter
	byIP   *limiter
}

// uploadHandler returns the handler of POST and OPTIONS /widget/uploads.
func (w *Widget) uploadHandler() http.Handler {
	return &uploadHandler{w: w, byConv: newLimiter(limit{every: uploadsEvery, burst: uploadsBurstPerConv}),
		byIP: newLimiter(limit{every: uploadsEvery, burst: uploadsBurstPerClientIP})}
}

// ServeHTTP stages one file for the conversation whose token is the
// bearer: "Authorization: Bearer <token>", multipart/form-data with the
// file in the field "file". The bubble runs on other sites, so CORS lets
// the origins the WebSocket allows (and only them) send it and read the
// answer. Each refusal is JSON {"error", "message"}: 401 without a token,
// 404 for a token that opens no conversation, 413 over the size limit,
// 415 for a refused type, 429 over a rate, 400 for a request that is not
// a form with a file.
func (h *uploadHandler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := h.w
	if !w.corsForBubble(rw, r, http.MethodPost, func() {
		uploadFail(rw, http.StatusForbidden, "bad_origin", "This site may not send files to Bulle: add its origin to widget.allowed_origins.")
	}) {
		return
	}
	hd := rw.Header()
	stager, limits := w.uploads()
	if stager == nil {
		uploadFail(rw, http.StatusNotFound, "no_uploads", "This help center takes no files.")
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		hd.Set("WWW-Authenticate", `Bearer realm="bulle conversation"`)
		uploadFail(rw, http.StatusUnauthorized, "no_token", "Send the conversation's token: Authorization: Bearer <token>.")
		return
	}
	now := time.Now()
	if !h.byIP.allow(clientIP(r), now) {
		uploadTooFast(rw, "Too many files from this address: wait a little and send again.")
		return
	}
	ctx := r.Context()
	conv, err := w.store.ConversationByToken(ctx, strings.TrimSpace(token))
	if escalation.ErrorCode(err) == escalation.ENOTFOUND {
		uploadFail(rw, http.StatusNotFound, "bad_token", "This token opens no conversation.")
		return
	} else if err != nil {
		w.uploadInternal(rw, r, 0, "conversation by token", err)
		return
	}
	if !h.byConv.allow(strconv.FormatInt(conv.ID, 10), now) {
		uploadTooFast(rw, "Too many files for this conversation: wait a little and send again.")
		return
	}
	if r.ContentLength > limits.MaxBytes+uploadOverhead {
		uploadFail(rw, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("A file may weigh at most %d bytes.", limits.MaxBytes))
		return
	}
	name, data, status, why := readUpload(rw, r, limits.MaxBytes)
	switch status {
	case http.StatusRequestEntityTooLarge:
		uploadFail(rw, status, "too_large", why)
		return
	case http.StatusBadRequest:
		uploadFail(rw, status, "bad_request", why)
		return
	}
	u, err := stager.StageUpload(ctx, conv.ID, name, data)
	var ve *escalation.ValidationError
	switch {
	case errors.Is(err, escalation.ErrFileTooLarge):
		uploadFail(rw, http.StatusRequestEntityTooLarge, "too_large", validationText(err))
		return
	case errors.Is(err, escalation.ErrFileType):
		uploadFail(rw, http.StatusUnsupportedMediaType, "bad_type", validationText(err))
		return
	case errors.Is(err, escalation.ErrTooMany):
		rw.Header().Set("Retry-After", "600")
		uploadFail(rw, http.StatusTooManyRequests, "too_many", validationText(err))
		return
	case errors.As(err, &ve):
		uploadFail(rw, http.StatusBadRequest, "bad_request", ve.Msg)
		return
	case err != nil:
		w.uploadInternal(rw, r, conv.ID, "stage upload", err)
		return
	}
	w.log.Info("upload staged", "conversation_id", conv.ID, "upload", u.ID, "size", u.Size, "content_type", u.ContentType)
	writeUploadJSON(rw, http.StatusCreated, uploadInfo{ID: u.ID, Name: u.Name, Size: u.Size, ContentType: u.ContentType})
}

// readUpload reads the first part named "file" of a multipart form, at
// most max bytes of it; the whole body is bounded too. A refusal comes
// with the status to answer and why.
func readUpload(rw http.ResponseWriter, r *http.Request, max int64) (name string, data []byte, status int, why string) {
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" || params["boundary"] == "" {
		return "", nil, http.StatusBadRequest, `Send multipart/form-data with the file in the field "file".`
	}
	r.Body = http.MaxBytesReader(rw, r.Body, max+uploadOverhead)
	mr := multipart.NewReader(r.Body, params["boundary"])
	tooLarge := fmt.Sprintf("A file may weigh at most %d bytes.", max)
	for {
		p, err := mr.NextPart()
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return "", nil, http.StatusRequestEntityTooLarge, tooLarge
		case err == io.EOF:
			return "", nil, http.StatusBadRequest, `No file in the field "file".`
		case err != nil:
			return "", nil, http.StatusBadRequest, "The multipart form is malformed."
		}
		if p.FormName() != "file" {
			continue // the next call skips what is left of it
		}
		data, err = io.ReadAll(io.LimitReader(p, max+1))
		switch {
		case errors.As(err, &mbe), err == nil && int64(len(data)) > max:
			return "", nil, http.StatusRequestEntityTooLarge, tooLarge
		case err != nil:
			return "", nil, http.StatusBadRequest, "The multipart form is malformed."
		}
		return p.FileName(), data, 0, ""
	}
}

// validationText is the sentence of the ValidationError inside err.
func validationText(err error) string {
	var ve *escalation.ValidationError
	if errors.As(err, &ve) {
		return ve.Msg
	}
	return "Refused."
}

func uploadFail(rw http.ResponseWriter, status int, code, msg string) {
	writeUploadJSON(rw, status, uploadError{Error: code, Message: msg})
}

// uploadTooFast answers 429, with the time to wait.
func uploadTooFast(rw http.ResponseWriter, msg string) {
	rw.Header().Set("Retry-After", strconv.Itoa(int(uploadsEvery/time.Second)))
	uploadFail(rw, http.StatusTooManyRequests, "rate_limited", msg)
}

// uploadInternal logs a failure and tells the visitor no more than that.
func (w *Widget) uploadInternal(rw http.ResponseWriter, r *http.Request, convID int64, action string, err error) {
	w.log.Error("widget failure", "action", action, "path", r.URL.Path, "conversation_id", convID, "err", err)
	uploadFail(rw, http.StatusInternalServerError, "internal", "Internal error.")
}

func writeUploadJSON(rw http.ResponseWriter, status int, v any) {
	h := rw.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	rw.WriteHeader(status)
	json.NewEncoder(rw).Encode(v)
}
