package widget

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// multipartForm encodes fields and files as a browser posts the contact
// form.
func multipartForm(t *testing.T, fields map[string]string, files map[string][]byte) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for name, data := range files {
		fw, err := mw.CreateFormFile("files", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	if len(files) == 0 { // an untouched file input still sends one empty part
		mw.CreateFormFile("files", "")
	}
	mw.Close()
	return mw.FormDataContentType(), &buf
}

func TestContactPageTakesAttachmentsItsDeskAccepts(t *testing.T) {
	env, _ := newDeskEnv(t, nil)
	hc := contactClient(t)
	form := browse(t, hc, "GET", env.srv.URL+"/contact?lang=en", nil)
	for _, want := range []string{`enctype="multipart/form-data"`, `type="file" name="files" multiple accept="image/png,`, `href="/requests?lang=en"`} {
		if !strings.Contains(form.body, want) {
			t.Errorf("contact form lacks %s", want)
		}
	}
	post := func(csrf string, files map[string][]byte) page {
		t.Helper()
		ct, body := multipartForm(t, map[string]string{"csrf": csrf, "topic": "bug", "email": "ana@example.org",
			"message": "It crashes, see the screenshot"}, files)
		resp, err := hc.Post(env.srv.URL+"/contact?lang=en", ct, body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return page{status: resp.StatusCode, body: string(b)}
	}

	refused := post(form.csrf(t), map[string][]byte{"screenshot.png": screenshotPNG, "setup.exe": []byte("MZ\x90\x00\x03\x00")})
	if refused.status != http.StatusUnprocessableEntity || !strings.Contains(refused.body, "attachment: ") ||
		!strings.Contains(refused.body, "Attach your files again") {
		t.Fatalf("an executable: %d, want the form again naming the refused file:\n%s", refused.status, refused.body)
	}
	if n := len(outbox(t, env.store, "confirmation")); n != 0 {
		t.Fatalf("a refused file still opened %d tickets", n)
	}

	done := post(refused.csrf(t), map[string][]byte{"screenshot.png": screenshotPNG, "server.log": []byte("12:00 ERROR\n")})
	ref := regexp.MustCompile(`#([A-Z][2-9][A-Z]-\d{4})`).FindStringSubmatch(done.body)
	if done.status != 200 || ref == nil {
		t.Fatalf("valid form with files: %d\n%s", done.status, done.body)
	}
	tk, err := env.store.TicketByRef(context.Background(), ref[1])
	if err != nil {
		t.Fatal(err)
	}
	files, err := env.store.ConversationAttachments(context.Background(), tk.ConversationID)
	if err != nil || len(files) != 2 {
		t.Fatalf("stored files %+v (%v), want the two", files, err)
	}
	types := map[string]string{}
	for _, f := range files {
		types[f.Name] = f.ContentType
	}
	if types["screenshot.png"] != "image/png" || types["server.log"] != "text/plain; charset=utf-8" {
		t.Errorf("types %v, want them sniffed from the bytes", types)
	}

	huge := bytes.Repeat([]byte("a"), ContactMaxUpload)
	form = browse(t, hc, "GET", env.srv.URL+"/contact?lang=en", nil)
	if p := post(form.csrf(t), map[string][]byte{"huge.txt": huge}); p.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a form over %d bytes: %d, want 413", ContactMaxUpload, p.status)
	}
}
