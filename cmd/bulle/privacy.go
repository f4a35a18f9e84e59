package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/bulle-help/bulle/escalation"
)

// "bulle privacy": everything stored about one email address, exported as
// JSON or deleted. Like "bulle agent", it opens the data folder's database
// directly, so it works with the server running or stopped.

const privacyUsage = `Usage: bulle privacy <command> EMAIL [flags]

Commands:
  export EMAIL           print, as JSON, everything stored about EMAIL: tickets, conversations
                         (messages, attachments' names and sizes), sign-in sessions, codes, mail
  delete EMAIL [--yes]   delete all of it, attachment files included; without --yes, print what
                         would be deleted and change nothing

Each takes --data DIR (env BULLE_DATA, default ./data) and --config FILE. Addresses match
whatever their case.
`

// runPrivacy dispatches "bulle privacy <command>".
func runPrivacy(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, privacyUsage)
		return usageError{err: errors.New("privacy: want a command: export or delete")}
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "export":
		return runPrivacyExport(ctx, rest, getenv, stdout, stderr)
	case "delete":
		return runPrivacyDelete(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, privacyUsage)
		return nil
	default:
		fmt.Fprint(stderr, privacyUsage)
		return usageError{err: fmt.Errorf("privacy: unknown command %q", sub)}
	}
}

// openPrivacy parses a privacy command's flags and EMAIL and opens the
// existing database and attachments folder.
func openPrivacy(ctx context.Context, name string, f *commonFlags, args []string, getenv func(string) string) (*escalation.Store, *escalation.Files, string, error) {
	rest, err := f.parse(args)
	if err != nil {
		return nil, nil, "", err
	}
	if len(rest) != 1 {
		return nil, nil, "", usageError{err: fmt.Errorf("privacy %s takes one email address, got %q", name, rest)}
	}
	cfg, _, err := f.load(getenv)
	if err != nil {
		return nil, nil, "", err
	}
	path := filepath.Join(cfg.DataDir, "bulle.db")
	if _, err := os.Stat(path); err != nil {
		return nil, nil, "", fmt.Errorf("privacy %s: no database at %s (pass --data)", name, path)
	}
	files, err := escalation.NewFiles(filepath.Join(cfg.DataDir, "attachments"), 0)
	if err != nil {
		return nil, nil, "", err
	}
	s, err := escalation.Open(ctx, path)
	if err != nil {
		return nil, nil, "", err
	}
	return s, files, rest[0], nil
}

func runPrivacyExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlagSet("privacy export", "EMAIL [--data DIR]", stderr)
	s, _, email, err := openPrivacy(ctx, "export", f, args, getenv)
	if err != nil {
		return err
	}
	defer s.Close()
	x, err := s.ExportAddress(ctx, email)
	if escalation.ErrorCode(err) == escalation.EINVALID {
		return usageError{err: fmt.Errorf("privacy export: %s", escalation.ErrorMessage(err))}
	} else if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(x)
}

func runPrivacyDelete(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlagSet("privacy delete", "EMAIL [--yes] [--data DIR]", stderr)
	yes := f.fs.Bool("yes", false, "delete for real; without it, only say what would be deleted")
	s, files, email, err := openPrivacy(ctx, "delete", f, args, getenv)
	if err != nil {
		return err
	}
	defer s.Close()
	if !*yes {
		x, err := s.ExportAddress(ctx, email)
		if escalation.ErrorCode(err) == escalation.EINVALID {
			return usageError{err: fmt.Errorf("privacy delete: %s", escalation.ErrorMessage(err))}
		} else if err != nil {
			return err
		}
		var messages, attachments int
		for _, c := range x.Conversations {
			messages += len(c.Messages)
			for _, m := range c.Messages {
				attachments += len(m.Attachments)
			}
		}
		fmt.Fprintf(stdout, "Would delete, for %s: %d tickets, %d conversations (%d messages, %d attachments), "+
			"%d mails, %d verification codes, %d sign-in links and sessions.\n", x.Email, len(x.Tickets),
			len(x.Conversations), messages, attachments, len(x.Mail), len(x.VerificationCodes), len(x.RequestsSessions))
		return fmt.Errorf("privacy delete: nothing deleted; run again with --yes to delete it")
	}
	d, err := s.DeleteAddress(ctx, email)
	if escalation.ErrorCode(err) == escalation.EINVALID {
		return usageError{err: fmt.Errorf("privacy delete: %s", escalation.ErrorMessage(err))}
	} else if err != nil {
		return err
	}
	// The rows are gone; a file left behind now is unreachable garbage.
	ferr := files.RemoveDeleted(d)
	fmt.Fprintf(stdout, "Deleted: %d tickets, %d conversations (%d messages, %d attachments), %d mails, "+
		"%d verification codes, %d sign-in links and sessions.\n", d.Tickets, d.Conversations, d.Messages,
		d.Attachments, d.Mail, d.Codes, d.Sessions)
	if ferr != nil {
		return fmt.Errorf("privacy delete: rows deleted, but some files could not be removed: %w", ferr)
	}
	return nil
}
