package escalation

import (
	"strings"
	"testing"
)

func TestStripQuoted(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"quoted lines go", "Yes, thanks.\n> Did it work?\n>> Earlier", "Yes, thanks."},
		{"english attribution and all after it", "Fixed!\n\nOn Mon, 23 Nov 2026 at 10:00, Bulle <a@b.c> wrote:\nHello\n> quoted", "Fixed!"},
		{"attribution wrapped over two lines", "Fixed!\nOn Mon, 23 Nov 2026 at 10:00, Bulle Support Team\n<no-reply@help.example.com> wrote:\n> x", "Fixed!"},
		{"french attribution with a no-break space", "Merci !\n\nLe lun. 23 nov. 2026 à 10:00, Bulle <a@b.c> a écrit\u00a0:\n> Bonjour", "Merci !"},
		{"french attribution without space", "Merci\nLe 23/11/2026 à 10:00, Bulle a écrit:\n> Bonjour", "Merci"},
		{"signature delimiter", "See you.\n-- \nAna Dupont\nACME Inc.", "See you."},
		{"signature delimiter without its space", "See you.\n--\nAna", "See you."},
		{"outlook original message", "OK\n\n-----Original Message-----\nFrom: Bulle\nHello", "OK"},
		{"outlook french header block", "D'accord.\n\nDe : Bulle <no-reply@help.example.com>\nEnvoyé : lundi 23 novembre 2026 10:00\nÀ : Zoé\nObjet : Votre demande", "D'accord."},
		{"outlook underscore separator", "OK\n________________________________\nFrom: Bulle\nSent: Monday", "OK"},
		{"inline answers stay", "> Which browser?\nFirefox 140.\n> Which page?\nThe invoice page.", "Firefox 140.\nThe invoice page."},
		{"a sentence starting with On stays", "On Monday I tried again.\nIt failed.", "On Monday I tried again.\nIt failed."},
		{"a reply of quotes only is kept whole", "> Did it work?", "> Did it work?"},
		{"CRLF line endings", "Yes.\r\n> quoted\r\n", "Yes."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stripQuoted(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHTMLToTextMarksBlockquotesAsQuoted(t *testing.T) {
	got := htmlToText(`<p>Answer   here,<br>on two lines.</p><blockquote><p>Old</p><blockquote>Older</blockquote></blockquote><ul><li>one</li><li>two</li></ul>`)
	want := "Answer here,\non two lines.\n> Old\n> > Older\n- one\n- two\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseInboundTextEncodingsAndNames(t *testing.T) {
	lim := inboundLimits{maxAttachments: 5, maxAttachmentBytes: 1 << 20}
	for _, tt := range []struct {
		name, msg, wantText, wantAttachment string
	}{
		{"base64 utf-8", "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: base64\n\nw4dhIG1hcmNoZSDinJM=\n", "Ça marche ✓", ""},
		{"windows-1252 8bit", "Content-Type: text/plain; charset=windows-1252\n\n\x93Merci\x94 \x80\n", "“Merci” €", ""},
		{"unknown charset read as utf-8", "Content-Type: text/plain; charset=x-unknown\n\nhello\n", "hello", ""},
		{"no content type", "\nplain\n", "plain", ""},
		{"attachment name with a path", "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\nContent-Type: text/plain\nContent-Disposition: attachment; filename=\"..\\\\..\\\\etc\\\\passwd\"\n\nroot\n--b--\n", "hi", "passwd"},
		{"attachment without a name", "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\nContent-Type: application/pdf\n\n%PDF-1.4\n--b--\n", "hi", "attachment-1.pdf"},
		{"encoded-word name", "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\nContent-Type: image/png; name=\"=?utf-8?q?r=C3=A9sum=C3=A9.png?=\"\n\nx\n--b--\n", "hi", "résumé.png"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in, err := parseInbound(strings.NewReader(strings.ReplaceAll("From: a@b.c\n"+tt.msg, "\n", "\r\n")), lim)
			if err != nil {
				t.Fatal(err)
			}
			if in.Text != tt.wantText {
				t.Errorf("text: got %q, want %q", in.Text, tt.wantText)
			}
			var name string
			if len(in.Attachments) > 0 {
				name = in.Attachments[0].Name
			}
			if name != tt.wantAttachment {
				t.Errorf("attachment: got %q, want %q", name, tt.wantAttachment)
			}
		})
	}
}
