package widget

import (
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/bulle-help/bulle/escalation"
)

// Files sent with the contact form. The desk checks each one (type sniffed
// from its bytes against an allowlist, size, count) when it opens the
// ticket; the form only bounds the whole request.
const (
	// ContactMaxUpload bounds the whole contact form, files included:
	// two 10 MB screenshots, or many small ones. Past it the form is
	// refused with 413 before anything is stored.
	ContactMaxUpload = 21 << 20
	// contactFormMemory is how much of a multipart form is held in
	// memory; larger files go to temporary files until the ticket is
	// stored.
	contactFormMemory = 2 << 20
	// contactPlainMax bounds a form without files.
	contactPlainMax = 64 << 10
)

// errContactTooLarge is a form over ContactMaxUpload.
var errContactTooLarge = errors.New("widget: contact form too large")

// parseContactForm reads the contact form, plain or multipart, and
// returns the files of its "files" field (an empty file input sends one
// empty part, which is skipped). Call dropContactFiles once done.
func parseContactForm(rw http.ResponseWriter, r *http.Request) ([]escalation.NewAttachment, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		r.Body = http.MaxBytesReader(rw, r.Body, contactPlainMax)
		if err := r.ParseForm(); err != nil {
			return nil, errContactTooLarge
		}
		return nil, nil
	}
	r.Body = http.MaxBytesReader(rw, r.Body, ContactMaxUpload)
	if err := r.ParseMultipartForm(contactFormMemory); err != nil {
		return nil, errContactTooLarge
	}
	var files []escalation.NewAttachment
	for _, fh := range r.MultipartForm.File["files"] {
		if fh.Filename == "" && fh.Size == 0 {
			continue
		}
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		files = append(files, escalation.NewAttachment{Name: fh.Filename, Data: data})
	}
	return files, nil
}

// dropContactFiles removes the temporary files of a multipart form.
func dropContactFiles(r *http.Request) {
	if r.MultipartForm != nil {
		r.MultipartForm.RemoveAll()
	}
}
