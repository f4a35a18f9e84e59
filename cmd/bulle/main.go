// Command bulle is the Bulle help center: one binary that serves the
// articles, the bubble and the agents' console, and checks, searches and
// evaluates the knowledge base from the command line.
//
//	bulle [serve] [--addr 127.0.0.1:8080] [--data ./data] [--articles ./articles] [--config bulle.toml]
//	bulle check   [--articles DIR]
//	bulle search  [--articles DIR] [--lang fr] [--json] [--limit 10] "question"
//	bulle eval    --articles DIR --questions FILE [--json] [--threshold X] [--sweep]
//	bulle eval export --weeks N --out DIR [--force] [--data DIR] [--articles DIR]
//	bulle agent   add EMAIL [--name N] [--role agent|admin] [--data DIR] | reset EMAIL | remove EMAIL | list
//	bulle privacy export EMAIL [--data DIR] | delete EMAIL [--yes] [--data DIR]
//	bulle backup  FILE [--force] [--data DIR]
//	bulle restore FILE [--data DIR]
//	bulle bench   [--articles DIR] [--json] [--duration 5s] [--visitors 50] [--rate 200]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, give the default behaviour back so that a
	// second Ctrl-C kills a shutdown that hangs.
	context.AfterFunc(ctx, stop)
	code := exitCode(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr), os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand. With no subcommand, or with only flags,
// it serves.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, args, getenv, stderr)
	case "check":
		return runCheck(ctx, args, getenv, stdout, stderr)
	case "search":
		return runSearch(ctx, args, getenv, stdout, stderr)
	case "eval":
		if len(args) > 0 && args[0] == "export" {
			return runEvalExport(ctx, args[1:], getenv, stdout, stderr) // eval_export.go
		}
		return runEval(ctx, args, stdout, stderr)
	case "agent":
		return runAgent(ctx, args, getenv, stdout, stderr)
	case "privacy":
		return runPrivacy(ctx, args, getenv, stdout, stderr)
	case "backup":
		return runBackup(ctx, args, getenv, stdout, stderr)
	case "restore":
		return runRestore(ctx, args, getenv, stdout, stderr)
	case "bench":
		return runBench(ctx, args, getenv, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{err: fmt.Errorf("unknown command %q", cmd)}
}

const usage = `Usage: bulle [command] [flags]

Commands:
  serve    serve the help center (the default)
  check    check the articles and report problems
  search   search the articles from the command line
  eval     measure answer quality on question sets
           ("eval export": an eval set from the last weeks of real traffic)
  agent    add, reset, remove and list the agents who sign in to the console
  privacy  export or delete everything stored about one email address
  backup   copy the database to a file while the server runs
  restore  put a backup in place of the database (server stopped)
  bench    measure this machine with these articles (throwaway data folder)

Run "bulle <command> -h" for a command's flags.
`

// exitCode reports err on one line of stderr and returns the process's
// exit status: 0 for success or -h, 2 for a command-line mistake, 1 otherwise.
func exitCode(err error, stderr io.Writer) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		if !ue.printed {
			fmt.Fprintln(stderr, "bulle:", ue.Error())
		}
		return 2
	}
	fmt.Fprintln(stderr, "bulle:", strings.ReplaceAll(err.Error(), "\n", "; "))
	return 1
}
