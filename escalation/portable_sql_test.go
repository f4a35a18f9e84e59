package escalation

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// sqliteOnly are the constructs of SQLite's dialect, or of its driver,
// that a Postgres store could not run as they are.
var sqliteOnly = []struct {
	name string
	re   *regexp.Regexp
}{
	{"PRAGMA", regexp.MustCompile(`(?i)\bPRAGMA\b`)},
	{"VACUUM", regexp.MustCompile(`(?i)\bVACUUM\b`)},
	{"INSERT OR REPLACE/IGNORE", regexp.MustCompile(`(?i)\bINSERT\s+OR\s+(REPLACE|IGNORE)\b`)},
	{"full-text MATCH", regexp.MustCompile(`\bMATCH\b`)},
	{"FTS virtual table", regexp.MustCompile(`(?i)\b(fts[345]|VIRTUAL\s+TABLE)\b`)},
	{"SQLite date functions", regexp.MustCompile(`(?i)\b(strftime|julianday|datetime|unixepoch)\s*\(`)},
	{"SQLite JSON functions", regexp.MustCompile(`(?i)\bjson_(extract|each|tree|group_array)\s*\(`)},
	{"rowid", regexp.MustCompile(`(?i)\b(_?rowid_?|oid)\b`)},
	{"sqlite_ catalogue", regexp.MustCompile(`(?i)\bsqlite_\w+`)},
	{"GLOB", regexp.MustCompile(`\bGLOB\b`)},
}

// sqliteFiles are where the SQLite-only parts live, as docs/scaling.md
// names them; a Postgres store replaces these files, and the rest of the
// store's SQL runs on both.
var sqliteFiles = map[string]bool{
	"store.go":  true, // the connection's set-up: WAL, synchronous, busy timeout, one writer
	"backup.go": true, // VACUUM INTO and the file checks of a restore
	"search.go": true, // the FTS4 table and MATCH
}

// TestStoreSQLIsPortableOutsideTheNamedFiles keeps the boundary drawn in
// docs/scaling.md: SQLite's dialect only in the named files, and no
// LastInsertId (Postgres drivers have none; INSERT … RETURNING works on
// both).
func TestStoreSQLIsPortableOutsideTheNamedFiles(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || sqliteFiles[name] {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if n.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(n.Value)
				if err != nil || !looksLikeSQL(s) {
					return true
				}
				for _, c := range sqliteOnly {
					if c.re.MatchString(s) {
						t.Errorf("%s: %s in SQL outside the SQLite files: %q", fset.Position(n.Pos()), c.name, s)
					}
				}
			case *ast.SelectorExpr:
				if n.Sel.Name == "LastInsertId" {
					t.Errorf("%s: LastInsertId: use INSERT … RETURNING id", fset.Position(n.Pos()))
				}
			}
			return true
		})
	}
}

var sqlVerb = regexp.MustCompile(`(?i)\b(SELECT|INSERT|UPDATE|DELETE|CREATE|WHERE|PRAGMA|VACUUM)\b`)

func looksLikeSQL(s string) bool { return sqlVerb.MatchString(s) }

func TestThePortabilityCheckCatchesSQLiteOnlySQL(t *testing.T) {
	for _, s := range []string{
		"INSERT OR IGNORE INTO t VALUES (1)", "SELECT rowid FROM t", "SELECT strftime('%s', created_at) FROM t",
		"PRAGMA foreign_keys = ON", "SELECT * FROM m WHERE m MATCH ?", "SELECT json_extract(body, '$.kind') FROM messages",
	} {
		caught := false
		for _, c := range sqliteOnly {
			caught = caught || c.re.MatchString(s)
		}
		if !looksLikeSQL(s) || !caught {
			t.Errorf("%q: not caught", s)
		}
	}
	for _, s := range []string{"SELECT id FROM t WHERE lower(email) = ? ORDER BY created_at", "INSERT INTO t (a) VALUES (?) ON CONFLICT DO NOTHING RETURNING id"} {
		for _, c := range sqliteOnly {
			if c.re.MatchString(s) {
				t.Errorf("%q: portable SQL flagged as %s", s, c.name)
			}
		}
	}
}
