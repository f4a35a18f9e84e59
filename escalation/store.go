// Package escalation owns the people side of Bulle: conversations, tickets,
// agents, business hours, and the SQLite store behind them.
package escalation

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// journalSizeLimit is the size, in bytes, to which the WAL file is cut back
// after a checkpoint. Without it a long-open read lets the WAL grow, and the
// file keeps its largest size forever.
const journalSizeLimit = 64 << 20

// Store is the SQLite database of the people side. Writes go through a pool
// of one connection, so they queue in Go instead of failing with "database is
// locked"; reads use their own pool and, in WAL mode, never wait for writes.
type Store struct {
	write *sql.DB
	// background writes what may be lost (the insights' batches) on its
	// own connection with a short busy timeout: when another process holds
	// the database, it gives up in a moment instead of keeping the
	// visitors' writer connection waiting for 5 s.
	background *sql.DB
	read       *sql.DB

	appends     chan appendRequest // to the group committer
	closing     chan struct{}
	appendsDone chan struct{}
	closeOnce   sync.Once

	mailQueued chan struct{} // poked after a commit that queued mail; see MailQueued
	hashSlots  chan struct{} // bounds the argon2id hashes run at once; see password.go
	counts     counters      // what committed since Open, for monitoring; see metrics.go

	// Now returns the current time; tests replace it.
	Now func() time.Time
}

// writerParams are the connection options of the writer, read by mattn/go-sqlite3
// on every new connection, busy_timeout first.
var writerParams = []string{
	// Wait up to 5 s for another process's lock (a backup, the sqlite3 shell)
	// instead of failing at once.
	"_busy_timeout=5000",
	// BEGIN IMMEDIATE takes the write lock when the transaction starts. With the
	// default DEFERRED, a read-then-write transaction fails at once with
	// "database is locked" and ignores busy_timeout.
	"_txlock=immediate",
	// SQLite ignores foreign keys unless told otherwise, on every connection.
	"_foreign_keys=on",
	// WAL lets readers work while one writer commits. It is stored in the
	// database file, so the readers inherit it.
	"_journal_mode=WAL",
	// FULL: a commit returns only after the WAL is fsynced, so a visitor's
	// message or vote that we acknowledged survives a power loss, not only a
	// process crash. NORMAL in WAL mode would be faster but can lose the last
	// transactions on power loss. Help-center traffic is a few writes a
	// second; an fsync each is cheap next to losing an acknowledged message.
	"_synchronous=FULL",
}

// backgroundParams are the writer's, with a busy timeout of 250 ms.
var backgroundParams = append([]string{"_busy_timeout=250"}, writerParams[1:]...)

// readerParams are the connection options of the read pool.
var readerParams = []string{
	"_busy_timeout=5000",
	// Reads take no write lock: a read transaction must not queue behind writes.
	"_txlock=deferred",
	"_foreign_keys=on",
	// A reader that tries to write fails loudly instead of racing the writer.
	"_query_only=1",
}

// Open opens (creating if needed) the database at path, with its parent
// folder, and applies the migrations it has not seen yet.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("store: open: need a file path, got %q", path)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("store: open: path %q must not contain ? or #", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	s := &Store{Now: time.Now, appends: make(chan appendRequest), closing: make(chan struct{}),
		appendsDone: make(chan struct{}), mailQueued: make(chan struct{}, 1), hashSlots: make(chan struct{}, hashSlots)}
	s.write = sql.OpenDB(newConnector(path, writerParams))
	// One writer connection: SQLite allows one writer at a time anyway, and
	// queueing in database/sql never meets "database is locked".
	s.write.SetMaxOpenConns(1)
	s.write.SetMaxIdleConns(1)
	s.write.SetConnMaxLifetime(0)
	// Open the writer first: it creates the file and switches it to WAL
	// before any reader connects.
	if err := s.write.PingContext(ctx); err != nil {
		s.write.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.write.Close()
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	s.background = sql.OpenDB(newConnector(path, backgroundParams))
	s.background.SetMaxOpenConns(1)
	s.read = sql.OpenDB(newConnector(path, readerParams))
	n := max(4, runtime.NumCPU())
	s.read.SetMaxOpenConns(n)
	s.read.SetMaxIdleConns(n)
	go s.commitAppends()
	if err := s.read.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: open %s for reading: %w", path, err)
	}
	return s, nil
}

// Close closes both pools.
// Ping checks that both pools reach the database, for /healthz.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping writer: %w", err)
	}
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping reader: %w", err)
	}
	return nil
}

func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		<-s.appendsDone
	})
	var errs []error
	if s.read != nil {
		errs = append(errs, s.read.Close())
	}
	if s.background != nil {
		errs = append(errs, s.background.Close())
	}
	if s.write != nil {
		errs = append(errs, s.write.Close())
	}
	return errors.Join(errs...)
}

// now is the store's clock as stored in the database: UTC, RFC 3339.
func (s *Store) now() string {
	return s.Now().UTC().Format(time.RFC3339Nano)
}

// migrate applies each embedded migration file not yet recorded in the
// migrations table, in name order, each in its own transaction so that a
// failed migration leaves nothing half done.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.write.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := s.migrateFile(ctx, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func (s *Store) migrateFile(ctx context.Context, name string) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	buf, err := fs.ReadFile(migrationFS, name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(buf)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES (?, ?)`, name, s.now()); err != nil {
		return err
	}
	return tx.Commit()
}

// connector opens mattn/go-sqlite3 connections with our options and
// pragmas, without registering a driver name in a package-level table.
type connector struct {
	drv *sqlite3.SQLiteDriver
	dsn string
}

func newConnector(path string, params []string) *connector {
	return &connector{
		dsn: path + "?" + strings.Join(params, "&"),
		drv: &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
			// journal_size_limit is per connection and has no DSN option; any
			// connection may end up running a checkpoint, so set it on all.
			_, err := c.Exec(fmt.Sprintf("PRAGMA journal_size_limit = %d", journalSizeLimit), nil)
			return err
		}},
	}
}

func (c *connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }

func (c *connector) Driver() driver.Driver { return c.drv }

// storageFault reports whether err is the database refusing a write for a
// passing reason: locked by another program, a full disk or file-size
// limit, an I/O error. Not a defect of the request, nor of the server.
func storageFault(err error) bool {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code {
	case sqlite3.ErrBusy, sqlite3.ErrLocked, sqlite3.ErrFull, sqlite3.ErrIoErr, sqlite3.ErrCantOpen:
		return true
	}
	return false
}
