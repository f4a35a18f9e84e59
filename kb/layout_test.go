package kb

import (
	"testing"
	"testing/fstest"
)

func TestLocate(t *testing.T) {
	langs := []string{"en", "fr"}
	tests := []struct {
		name        string
		path        string
		wantOK      bool
		wantID      string
		wantLang    string
		wantProblem bool
	}{
		{name: "translation by folder", path: "fr/contact/hours.md", wantOK: true, wantID: "contact/hours", wantLang: "fr"},
		{name: "translation by folder, default language folder", path: "en/contact/hours.md", wantOK: true, wantID: "contact/hours", wantLang: "en"},
		{name: "translation by filename", path: "contact/hours.fr.md", wantOK: true, wantID: "contact/hours", wantLang: "fr"},
		{name: "plain file is the default language", path: "contact/hours.md", wantOK: true, wantID: "contact/hours", wantLang: "en"},
		{name: "markdown extension", path: "x.fr.markdown", wantOK: true, wantID: "x", wantLang: "fr"},
		{name: "page bundle with language", path: "x/index.fr.md", wantOK: true, wantID: "x", wantLang: "fr"},
		{name: "branch bundle", path: "x/_index.md", wantOK: true, wantID: "x", wantLang: "en"},
		{name: "root branch bundle", path: "_index.md", wantOK: true, wantID: "index", wantLang: "en"},
		{name: "root branch bundle in a language folder", path: "fr/_index.md", wantOK: true, wantID: "index", wantLang: "fr"},
		{name: "ordering prefixes on folders", path: "02.administer/10.install/install.fr.md", wantOK: true, wantID: "administer/install/install", wantLang: "fr"},
		{name: "dot in a name that is not a language", path: "guides/v1.2.md", wantOK: true, wantID: "guides/v1.2", wantLang: "en"},
		{name: "language folder only at the root", path: "guides/fr/x.md", wantOK: true, wantID: "guides/fr/x", wantLang: "en"},
		{name: "a file named like a language", path: "fr.md", wantOK: true, wantID: "fr", wantLang: "en"},
		{name: "folder and file disagree", path: "fr/x.en.md", wantOK: true, wantID: "x", wantLang: "en", wantProblem: true},
		{name: "folder and file agree", path: "fr/x.fr.md", wantOK: true, wantID: "x", wantLang: "fr"},
		{name: "image is not an article", path: "fr/contact/map.png", wantOK: false},
		{name: "yaml data is not an article", path: "data/menu.yaml", wantOK: false},
		{name: "no extension is not an article", path: "README", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, ok, problem := locate(tt.path, langs, "en")
			if ok != tt.wantOK {
				t.Fatalf("locate(%q) ok: got %v, want %v", tt.path, ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if loc.ID != tt.wantID || loc.Lang != tt.wantLang {
				t.Errorf("locate(%q): got %s/%s, want %s/%s", tt.path, loc.Lang, loc.ID, tt.wantLang, tt.wantID)
			}
			if (problem != "") != tt.wantProblem {
				t.Errorf("locate(%q) problem: got %q, want a problem: %v", tt.path, problem, tt.wantProblem)
			}
		})
	}
}

func TestLoadLayouts(t *testing.T) {
	tests := []struct {
		name string
		fs   fstest.MapFS
		want []string // Key() of every article loaded, in any order
	}{
		{
			name: "translation by folder",
			fs:   mapFS("fr/contact/hours.md", "# Horaires\n", "en/contact/hours.md", "# Hours\n"),
			want: []string{"fr/contact/hours", "en/contact/hours"},
		},
		{
			name: "translation by filename",
			fs:   mapFS("x.fr.md", "# X fr\n", "x.md", "# X en\n"),
			want: []string{"fr/x", "en/x"},
		},
		{
			name: "page bundles",
			fs: mapFS("x/index.fr.md", "# X\n", "y/_index.md", "# Y\n", "_index.md", "# Home\n",
				"x/photo.jpg", "\xff\xd8 not text"),
			want: []string{"fr/x", "en/y", "en/index"},
		},
		{
			name: "ordering prefixes on folders",
			fs:   mapFS("02.administer/10.install/install.fr.md", "# Installer\n", "02.administer/10.install/install.md", "# Install\n"),
			want: []string{"fr/administer/install/install", "en/administer/install/install"},
		},
		{
			name: "translationKey overrides the id",
			fs: mapFS("fr/horaires.md", "---\ntitle: Horaires\ntranslationKey: contact/hours\n---\n",
				"en/opening-hours.md", "---\ntitle: Hours\ntranslationKey: /contact/hours/\n---\n"),
			want: []string{"fr/contact/hours", "en/contact/hours"},
		},
		{
			name: "non-markdown files are ignored",
			fs:   mapFS("x.md", "# X\n", "x.html", "<h1>X</h1>", "notes.txt", "notes", "menu.yaml", "a: [", "logo.svg", "<svg/>"),
			want: []string{"en/x"},
		},
		{
			name: "hidden folders are skipped",
			fs:   mapFS("x.md", "# X\n", ".git/README.md", "\xff", ".obsidian/draft.md", "# Draft\n", "a/.trash/old.md", "# Old\n"),
			want: []string{"en/x"},
		},
		{
			name: "hidden and editor lock files are skipped",
			fs:   mapFS("x.md", "# X\n", ".#x.md", "", ".x.md.swp.md", "\xff"),
			want: []string{"en/x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, probs := Load(tt.fs, DefaultLoadOptions)
			if len(probs) > 0 {
				t.Errorf("got problems %v, want none", probs)
			}
			assertKeys(t, c, tt.want...)
		})
	}
}

func TestLoadReportsLanguageConflict(t *testing.T) {
	fsys := mapFS("fr/x.en.md", "# X\n", "y.md", "# Y\n")
	c, probs := Load(fsys, DefaultLoadOptions)
	assertKeys(t, c, "en/x", "en/y")
	p := findProblem(t, probs, "fr/x.en.md")
	if p.Severity != Warning {
		t.Errorf("severity: got %v, want %v", p.Severity, Warning)
	}
}

func TestParseDocIDInvertsDocID(t *testing.T) {
	a := &Article{ID: "contact/hours", Lang: "fr"}
	tests := []struct {
		id                  string
		kind, lang, article string
		passage             int
	}{
		{docID(kindArticle, a, 0), kindArticle, "fr", "contact/hours", -1},
		{docID(kindPassage, a, 3), kindPassage, "fr", "contact/hours", 3},
		{"b|fr|contact/hours|2|5", kindBlock, "fr", "contact/hours", 2},
		{"garbage", "", "", "", -1},
	}
	for _, tt := range tests {
		k, l, id, p := parseDocID(tt.id)
		if k != tt.kind || l != tt.lang || id != tt.article || p != tt.passage {
			t.Errorf("parseDocID(%q) = %q %q %q %d", tt.id, k, l, id, p)
		}
	}
}
