package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

// "bulle backup" and "bulle restore": the database of the data folder.
// backup runs beside a serving bulle (a read transaction, which never
// blocks the server's writes); restore wants the server stopped, and
// checks that it is.

// runBackup writes a checked copy of the data folder's database to FILE.
func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlagSet("backup", "FILE [--force] [--data DIR]", stderr)
	force := f.fs.Bool("force", false, "replace FILE if it exists")
	rest, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError{err: fmt.Errorf("backup takes one file name, got %q", rest)}
	}
	dst := rest[0]
	cfg, _, err := f.load(getenv)
	if err != nil {
		return err
	}
	path := filepath.Join(cfg.DataDir, "bulle.db")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("backup: no database at %s (pass --data)", path)
	}
	start := time.Now()
	// Not escalation.Open: a backup must not migrate a running server's
	// database, nor take the writer.
	info, err := escalation.BackupDatabase(ctx, path, dst, *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Backed up %s to %s in %s: %s, %d conversations, %d tickets; integrity check ok.\n",
		path, dst, time.Since(start).Round(time.Millisecond), humanBytes(info.Size), info.Conversations, info.Tickets)
	fmt.Fprintf(stdout, "The data folder's attachments/ and reply.key are not in it: copy them too.\n")
	return nil
}

// runRestore puts a backup in place of the data folder's database.
func runRestore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlagSet("restore", "FILE [--data DIR]", stderr)
	rest, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError{err: fmt.Errorf("restore takes one file name, got %q", rest)}
	}
	cfg, _, err := f.load(getenv)
	if err != nil {
		return err
	}
	path := filepath.Join(cfg.DataDir, "bulle.db")
	res, err := escalation.Restore(ctx, rest[0], path, time.Now())
	if errors.Is(err, escalation.ErrDatabaseInUse) {
		return fmt.Errorf("restore: %s is open in another program (is bulle serve running on this data folder? stop it first); nothing changed", path)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Restored %s from %s: %s, %d conversations, %d tickets.\n",
		path, rest[0], humanBytes(res.Info.Size), res.Info.Conversations, res.Info.Tickets)
	if res.Previous != "" {
		fmt.Fprintf(stdout, "The database it replaced is kept as %s; delete it once you are sure.\n", res.Previous)
	}
	return nil
}

// humanBytes writes n as 512 B, 1.5 KiB, 3.2 MiB...
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
