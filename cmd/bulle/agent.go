package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bulle-help/bulle/escalation"
)

// "bulle agent": the people who sign in to the console. It opens the
// database in the data folder directly, so it works with the server
// running (SQLite takes turns) or stopped; a removal reaches a running
// server's open consoles within a second, through the database.

const agentUsage = `Usage: bulle agent <command> [flags]

Commands:
  add EMAIL [--name N] [--role agent|admin]   add an agent; prints their one-time password-setup link
  reset EMAIL                                  print a new setup link (forgotten password, expired link)
  remove EMAIL                                 remove an agent: sessions, API token and password stop working
  list                                         list the agents

Each takes --data DIR (env BULLE_DATA, default ./data) and --config FILE; the link points to
base_url, or to addr when base_url is not set. Run "bulle agent <command> -h" for its flags.
`

// runAgent dispatches "bulle agent <command>".
func runAgent(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, agentUsage)
		return usageError{err: errors.New("agent: want a command: add, reset, remove or list")}
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "add":
		return runAgentAdd(ctx, rest, getenv, stdout, stderr)
	case "reset":
		return runAgentReset(ctx, rest, getenv, stdout, stderr)
	case "remove":
		return runAgentRemove(ctx, rest, getenv, stdout, stderr)
	case "list":
		return runAgentList(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, agentUsage)
		return nil
	default:
		fmt.Fprint(stderr, agentUsage)
		return usageError{err: fmt.Errorf("agent: unknown command %q", sub)}
	}
}

// agentCommand parses one agent command's flags and its EMAIL argument
// (none for list), loads the config and opens the store.
type agentCommand struct {
	name     string
	synopsis string
	needsArg bool
	create   bool // add creates the database; the others want it to exist
	// check, when set, checks the flags before anything is opened.
	check func() error
}

func (a agentCommand) open(ctx context.Context, f *commonFlags, args []string, getenv func(string) string) (*escalation.Store, Config, string, error) {
	rest, err := f.parse(args)
	if err != nil {
		return nil, Config{}, "", err
	}
	var email string
	switch {
	case a.needsArg && len(rest) != 1:
		return nil, Config{}, "", usageError{err: fmt.Errorf("agent %s takes one email address, got %q", a.name, rest)}
	case a.needsArg:
		email = rest[0]
	case len(rest) > 0:
		return nil, Config{}, "", usageError{err: fmt.Errorf("agent %s takes no arguments, got %q", a.name, rest)}
	}
	if a.check != nil {
		if err := a.check(); err != nil {
			return nil, Config{}, "", err
		}
	}
	cfg, _, err := f.load(getenv)
	if err != nil {
		return nil, Config{}, "", err
	}
	path := filepath.Join(cfg.DataDir, "bulle.db")
	if !a.create {
		if _, err := os.Stat(path); err != nil {
			return nil, Config{}, "", fmt.Errorf("agent %s: no database at %s (pass --data, or add an agent first)", a.name, path)
		}
	}
	s, err := escalation.Open(ctx, path)
	if err != nil {
		return nil, Config{}, "", err
	}
	return s, cfg, email, nil
}

func runAgentAdd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := agentCommand{name: "add", synopsis: "EMAIL [--name N] [--role agent|admin] [--data DIR]", needsArg: true, create: true}
	f := newFlagSet("agent add", cmd.synopsis, stderr)
	name := f.fs.String("name", "", "the name visitors and colleagues see (default: the part of EMAIL before @)")
	role := f.fs.String("role", string(escalation.AgentRoleAgent), "agent, or admin")
	var r escalation.AgentRole
	cmd.check = func() (err error) {
		if r, err = escalation.ParseAgentRole(*role); err != nil {
			return usageError{err: fmt.Errorf("--role %q: want agent or admin", *role)}
		}
		return nil
	}
	s, cfg, email, err := cmd.open(ctx, f, args, getenv)
	if err != nil {
		return err
	}
	defer s.Close()
	if *name == "" {
		*name, _, _ = strings.Cut(email, "@")
	}
	inv, err := s.InviteAgent(ctx, email, *name, r)
	switch escalation.ErrorCode(err) {
	case "":
	case escalation.ECONFLICT:
		return fmt.Errorf("agent add: %s is already an agent (bulle agent reset %s prints a new setup link)", email, email)
	case escalation.EINVALID:
		return fmt.Errorf("agent add: %s", escalation.ErrorMessage(err))
	default:
		return err
	}
	a := inv.Agent
	fmt.Fprintf(stdout, "Added %s (%s, %s).\n\n", a.Email, a.Name, a.Role)
	printSetupLink(stdout, cfg, inv.SetupToken, inv.SetupExpiresAt)
	fmt.Fprintf(stdout, "\nAPI token for the agents' API (shown once; keep it secret):\n\n  %s\n", inv.APIToken)
	return nil
}

func runAgentReset(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := agentCommand{name: "reset", synopsis: "EMAIL [--data DIR]", needsArg: true}
	f := newFlagSet("agent reset", cmd.synopsis, stderr)
	s, cfg, email, err := cmd.open(ctx, f, args, getenv)
	if err != nil {
		return err
	}
	defer s.Close()
	a, token, expires, err := s.NewSetupToken(ctx, email)
	if escalation.ErrorCode(err) == escalation.ENOTFOUND {
		return fmt.Errorf("agent reset: no agent %s (bulle agent list shows them)", email)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "New setup link for %s; their earlier links no longer work, and their current password works\nuntil they choose a new one, which signs them out everywhere.\n\n", a.Email)
	printSetupLink(stdout, cfg, token, expires)
	return nil
}

func runAgentRemove(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := agentCommand{name: "remove", synopsis: "EMAIL [--data DIR]", needsArg: true}
	f := newFlagSet("agent remove", cmd.synopsis, stderr)
	s, _, email, err := cmd.open(ctx, f, args, getenv)
	if err != nil {
		return err
	}
	defer s.Close()
	a, err := s.RemoveAgent(ctx, email)
	if escalation.ErrorCode(err) == escalation.ENOTFOUND {
		return fmt.Errorf("agent remove: no agent %s (bulle agent list shows them)", email)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Removed %s (%s). Their sessions, API token, password and setup links no longer work;\nan open console closes within seconds. Their past messages keep their name.\n", a.Email, a.Name)
	return nil
}

func runAgentList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := agentCommand{name: "list", synopsis: "[--data DIR]"}
	f := newFlagSet("agent list", cmd.synopsis, stderr)
	s, _, _, err := cmd.open(ctx, f, args, getenv)
	if err != nil {
		return err
	}
	defer s.Close()
	agents, err := s.Agents(ctx)
	if err != nil {
		return err
	}
	if len(agents) == 0 {
		fmt.Fprintln(stdout, "No agents yet: bulle agent add EMAIL")
		return nil
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "EMAIL\tNAME\tROLE\tPASSWORD\tADDED")
	for _, a := range agents {
		pw := "set"
		if !a.PasswordSet {
			pw = "not yet (setup link)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", a.Email, a.Name, a.Role, pw, a.CreatedAt.UTC().Format("2006-01-02"))
	}
	return w.Flush()
}

// printSetupLink prints the one-time link that lets an agent choose
// their password.
func printSetupLink(w io.Writer, cfg Config, token string, expires time.Time) {
	fmt.Fprintf(w, "Send them this link to choose their password. It works once, until %s:\n\n  %s/console/setup?t=%s\n",
		expires.UTC().Format("2006-01-02 15:04 UTC"), linkBase(cfg), token)
}

// linkBase is where printed links point: base_url, or else the address
// the server listens on, with a host a browser on this machine can open.
func linkBase(cfg Config) string {
	if cfg.BaseURL != "" {
		return strings.TrimSuffix(cfg.BaseURL, "/")
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return "http://127.0.0.1:8080"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
