package escalation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"
)

// ErrDatabaseInUse is returned by Restore when another connection (a
// running server, a "bulle agent" command, the sqlite3 shell) has the
// database open.
var ErrDatabaseInUse = errors.New("the database is open in another program (is bulle serve running? stop it first)")

// DatabaseInfo describes a database file that passed InspectDatabase.
type DatabaseInfo struct {
	Size          int64  // bytes
	Migration     string // the latest migration applied, such as "014_uploads.sql"
	Conversations int64
	Tickets       int64
}

// Backup writes a consistent copy of the database to path while the store
// keeps serving, then checks the copy. It runs VACUUM INTO on a read
// connection: a read transaction sees one snapshot of the WAL, so the copy
// holds every transaction committed before it began and none after, and
// writers are never blocked (WAL readers do not take the write lock).
//
// The copy is written under a temporary name in path's folder, checked
// (integrity_check), synced, and only then given its name, so path is
// either absent or complete. An existing path is refused unless overwrite.
func (s *Store) Backup(ctx context.Context, path string, overwrite bool) (DatabaseInfo, error) {
	var src string
	if err := s.read.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&src); err != nil {
		return DatabaseInfo{}, fmt.Errorf("store: backup: find the database file: %w", err)
	}
	return BackupDatabase(ctx, src, path, overwrite)
}

// BackupDatabase is Store.Backup for the database at src, without opening
// a Store: no writer, no migrations, so a newer binary backing up an older
// server's database leaves its schema alone.
func BackupDatabase(ctx context.Context, src, path string, overwrite bool) (DatabaseInfo, error) {
	if _, err := os.Stat(src); err != nil {
		return DatabaseInfo{}, fmt.Errorf("store: backup: %w", err)
	}
	if !overwrite {
		if _, err := os.Lstat(path); err == nil {
			return DatabaseInfo{}, fmt.Errorf("store: backup: %s already exists (pass --force to replace it)", path)
		}
	}
	// VACUUM INTO wants a file that does not exist or is empty; CreateTemp
	// gives an empty one, private (0600) like the database it copies.
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return DatabaseInfo{}, fmt.Errorf("store: backup: %w", err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	done := false
	defer func() {
		if !done {
			removeDatabaseFiles(tmpName)
		}
	}()
	if err := vacuumInto(ctx, src, tmpName); err != nil {
		return DatabaseInfo{}, fmt.Errorf("store: backup: %w", err)
	}
	info, err := InspectDatabase(ctx, tmpName)
	if err != nil {
		return DatabaseInfo{}, fmt.Errorf("store: backup: the copy failed its check: %w", err)
	}
	if err := syncFile(tmpName); err != nil {
		return DatabaseInfo{}, fmt.Errorf("store: backup: %w", err)
	}
	if overwrite {
		err = os.Rename(tmpName, path)
	} else {
		// A hard link fails if path appeared meanwhile: no overwrite, even
		// in a race with another program.
		if err = os.Link(tmpName, path); err == nil {
			os.Remove(tmpName)
		}
	}
	if err != nil {
		return DatabaseInfo{}, fmt.Errorf("store: backup: %w", err)
	}
	done = true
	syncDir(filepath.Dir(path))
	return info, nil
}

// vacuumInto runs VACUUM INTO dst on a connection of its own. A store's
// read pool is query_only, which refuses VACUUM INTO even though it
// writes only to dst. It takes no write lock: in WAL mode it is a read
// transaction.
func vacuumInto(ctx context.Context, src, dst string) error {
	db := sql.OpenDB(newConnector(src, []string{"_busy_timeout=5000", "_txlock=deferred"}))
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("vacuum into %s: %w", dst, err)
	}
	return db.Close()
}

// InspectDatabase checks that the file at p is a sound Bulle database this
// binary can open: SQLite's integrity_check passes, the migrations table is
// there, and it records no migration this binary does not know (a database
// from a newer Bulle). It returns its size and counts.
//
// It opens the file read-write and sets journal_mode=DELETE, so that the
// file stands alone, without -wal: call it on files of your own (a fresh
// backup, a copy about to be restored), not on a database in use.
func InspectDatabase(ctx context.Context, p string) (DatabaseInfo, error) {
	st, err := os.Stat(p)
	if err != nil {
		return DatabaseInfo{}, err
	}
	if !st.Mode().IsRegular() {
		return DatabaseInfo{}, fmt.Errorf("%s is not a regular file", p)
	}
	db := sql.OpenDB(newConnector(p, []string{"_busy_timeout=5000"}))
	defer db.Close()
	db.SetMaxOpenConns(1)
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode=DELETE`).Scan(&mode); err != nil {
		return DatabaseInfo{}, notADatabase(p, err)
	}
	var check string
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return DatabaseInfo{}, notADatabase(p, err)
	}
	var problems []string
	for rows.Next() {
		if err := rows.Scan(&check); err != nil {
			rows.Close()
			return DatabaseInfo{}, notADatabase(p, err)
		}
		if check != "ok" && len(problems) < 5 {
			problems = append(problems, check)
		}
	}
	if err := rows.Close(); err != nil {
		return DatabaseInfo{}, notADatabase(p, err)
	}
	if err := rows.Err(); err != nil {
		return DatabaseInfo{}, notADatabase(p, err)
	}
	if len(problems) > 0 {
		return DatabaseInfo{}, fmt.Errorf("%s is damaged: integrity_check: %s", p, strings.Join(problems, "; "))
	}
	var n int
	if err := db.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'migrations'`).Scan(&n); err != nil {
		return DatabaseInfo{}, notADatabase(p, err)
	}
	if n == 0 {
		return DatabaseInfo{}, fmt.Errorf("%s is an SQLite database but not Bulle's: it has no migrations table", p)
	}
	known, err := knownMigrations()
	if err != nil {
		return DatabaseInfo{}, err
	}
	info := DatabaseInfo{Size: st.Size()}
	rows, err = db.QueryContext(ctx, `SELECT name FROM migrations ORDER BY name`)
	if err != nil {
		return DatabaseInfo{}, fmt.Errorf("%s: read migrations: %w", p, err)
	}
	var unknown []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return DatabaseInfo{}, fmt.Errorf("%s: read migrations: %w", p, err)
		}
		if !known[name] {
			unknown = append(unknown, name)
		}
		info.Migration = name
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return DatabaseInfo{}, fmt.Errorf("%s: read migrations: %w", p, err)
	}
	if len(unknown) > 0 {
		return DatabaseInfo{}, fmt.Errorf("%s comes from a newer Bulle (migrations this binary does not know: %s): upgrade bulle first",
			p, strings.Join(unknown, ", "))
	}
	// Both tables exist from migrations 002 and 004; a database that has
	// not reached them simply has none.
	for _, c := range []struct {
		table string
		dst   *int64
	}{{"conversations", &info.Conversations}, {"tickets", &info.Tickets}} {
		var exists int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, c.table).Scan(&exists); err != nil {
			return DatabaseInfo{}, fmt.Errorf("%s: %w", p, err)
		}
		if exists == 0 {
			continue
		}
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+c.table).Scan(c.dst); err != nil {
			return DatabaseInfo{}, fmt.Errorf("%s: count %s: %w", p, c.table, err)
		}
	}
	if st, err := os.Stat(p); err == nil { // journal_mode may have rewritten it
		info.Size = st.Size()
	}
	return info, nil
}

// notADatabase words SQLite's "file is not a database" for a person.
func notADatabase(p string, err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrNotADB || se.Code == sqlite3.ErrCorrupt) {
		return fmt.Errorf("%s is not an SQLite database, or is damaged: %w", p, err)
	}
	return fmt.Errorf("%s: %w", p, err)
}

// knownMigrations is the set of migration file names this binary has.
func knownMigrations() (map[string]bool, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	known := make(map[string]bool, len(names))
	for _, n := range names {
		// Recorded as the embedded path, such as "migrations/001_votes.sql".
		known[n] = true
		known[path.Base(n)] = true
	}
	return known, nil
}

// RestoreResult says what Restore did.
type RestoreResult struct {
	Info DatabaseInfo
	// Previous is where the database that was in place now is; empty when
	// there was none.
	Previous string
}

// Restore puts a copy of the backup src in place of the database at
// dbPath, which no program may have open. The copy is checked first
// (InspectDatabase); the database in place, if any, is kept as
// dbPath.before-restore-<time>, and its stale -wal and -shm are removed.
//
// Whether another program has the database open is asked of SQLite
// itself: a connection in exclusive locking mode must take an exclusive
// lock on the file to read it, which fails while any other connection
// (a server's, in any process) holds its shared lock. So no lock file can
// go stale, and a "bulle agent" or sqlite3 shell is caught too. The check
// and the swap are not one atomic step: a server started in between the
// two would lose the race; stop the server before restoring.
func Restore(ctx context.Context, src, dbPath string, now time.Time) (RestoreResult, error) {
	if st, err := os.Stat(src); err != nil {
		return RestoreResult{}, fmt.Errorf("restore: %w", err)
	} else if !st.Mode().IsRegular() {
		return RestoreResult{}, fmt.Errorf("restore: %s is not a regular file", src)
	}
	dir := filepath.Dir(dbPath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return RestoreResult{}, fmt.Errorf("restore: %w", err)
	}
	// Work on a copy beside the database: the backup itself stays
	// untouched, and the final rename is within one file system.
	tmpName, err := copyToTemp(src, dir)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("restore: %w", err)
	}
	done := false
	defer func() {
		if !done {
			removeDatabaseFiles(tmpName)
		}
	}()
	info, err := InspectDatabase(ctx, tmpName)
	if err != nil {
		// Name the user's file, not our temporary copy.
		return RestoreResult{}, fmt.Errorf("restore: %s", strings.ReplaceAll(err.Error(), tmpName, src))
	}
	if err := syncFile(tmpName); err != nil {
		return RestoreResult{}, fmt.Errorf("restore: %w", err)
	}
	var res RestoreResult
	res.Info = info
	if _, err := os.Stat(dbPath); err == nil {
		if err := checkpointAlone(ctx, dbPath); err != nil {
			return RestoreResult{}, fmt.Errorf("restore: %w", err)
		}
		res.Previous = dbPath + ".before-restore-" + now.UTC().Format("20060102T150405Z")
		if err := os.Rename(dbPath, res.Previous); err != nil {
			return RestoreResult{}, fmt.Errorf("restore: keep the current database: %w", err)
		}
	}
	// Stale -wal and -shm would be replayed into the restored file.
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(dbPath + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return RestoreResult{}, fmt.Errorf("restore: remove stale %s: %w", dbPath+suffix, err)
		}
	}
	if err := os.Rename(tmpName, dbPath); err != nil {
		return RestoreResult{}, fmt.Errorf("restore: %w", err)
	}
	done = true
	syncDir(dir)
	return res, nil
}

// checkpointAlone takes an exclusive lock on the database at p, failing
// with ErrDatabaseInUse if another connection has it open, and folds its
// WAL into the file, so that the file alone is the whole database.
func checkpointAlone(ctx context.Context, p string) error {
	// busy_timeout 0: a lock held by a server is not about to be released.
	db := sql.OpenDB(newConnector(p, []string{"_busy_timeout=0", "_locking_mode=EXCLUSIVE"}))
	defer db.Close()
	db.SetMaxOpenConns(1)
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master`).Scan(&n); err != nil {
		var se sqlite3.Error
		if errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked) {
			return ErrDatabaseInUse
		}
		return notADatabase(p, err)
	}
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("checkpoint %s: %w", p, err)
	}
	return db.Close()
}

// copyToTemp copies src to a new private file in dir and returns its name.
func copyToTemp(src, dir string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, ".bulle.db.restore-*")
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(out.Name())
		return "", err
	}
	if err := out.Close(); err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}

// removeDatabaseFiles removes a database file and its sidecars.
func removeDatabaseFiles(p string) {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		os.Remove(p + suffix)
	}
}

func syncFile(p string) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes a rename in dir durable; best effort, as some file
// systems refuse to sync a folder.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
