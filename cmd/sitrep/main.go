// Command sitrep is a ChatOps incident-response bot: alerts open incidents
// with their own chat channel, everything is recorded on a timeline, and
// runbook actions run behind approvals.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `sitrep: incident response in chat.

Usage:
  sitrep demo [--out FILE]  replay the seed outage end to end against local stand-ins
                            of Slack, PagerDuty and GitHub (no credentials, no network)
  sitrep serve              run the bot (HTTP server, outbox delivery, console chat)
  sitrep incidents [--all]  list incidents: open ones, then those resolved in the last 7 days
  sitrep timeline INC-<n> [--collapse]
                            print one incident's full timeline; --collapse: repeated
                            alerts as one line each (count, last time, what changed)
  sitrep migrate            apply database migrations
  sitrep db copy <sqlite-file> <postgres-url>
                            copy a SQLite database into an empty PostgreSQL one
  sitrep postmortem INC-<n> [--export] [--out FILE]
                            draft an incident's postmortem; --export: to GitHub
  sitrep health             probe a running server's /readyz (for container health checks)
  sitrep runbooks validate [dir]  check runbook files; every problem with file:line
  sitrep web-login [--user ID]  print a one-time link that signs in to the web view
  sitrep api-token NAME     make a REST API token and its SITREP_API_TOKENS line
  sitrep version            print the version

Flags (before or after the command):
  --config FILE   YAML configuration (default: sitrep.yaml when present)

Configuration keys and environment variables are listed in README.md.
`

// env is what a command run sees of the outside world.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// interactive reports whether stdin is a terminal.
	interactive bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := env{getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, interactive: isTerminal(os.Stdin)}
	os.Exit(run(ctx, os.Args[1:], e))
}

// run executes one sitrep command and returns the process exit status:
// 0 success, 1 failure, 2 bad usage or configuration.
func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(e.stdout, usage)
		return 0
	}
	name, rest := args[0], args[1:]
	if name == "demo" { // its own flags and no configuration: it brings its own world
		return exitStatus(e, demoCommand(ctx, e, rest))
	}
	fs := flag.NewFlagSet("sitrep "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	configPath := fs.String("config", "", "YAML configuration file")
	all := fs.Bool("all", false, "incidents: include every resolved incident")
	collapse := fs.Bool("collapse", false, "timeline: repeated alerts as one line")
	webUser := fs.String("user", "", "web-login: who the link signs in as (a Slack user id; default console_user)")
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	if name == "version" {
		fmt.Fprintf(e.stdout, "sitrep %s\n", version)
		return 0
	}
	if name == "api-token" { // needs no configuration
		return exitStatus(e, apiTokenCommand(e.stdout, fs.Args()))
	}
	path, required := *configPath, true
	if path == "" {
		path, required = "sitrep.yaml", false
	}
	cfg, err := LoadConfig(path, required, e.getenv)
	if err != nil {
		fmt.Fprintf(e.stderr, "sitrep: %v\n", err)
		return 2
	}
	switch name {
	case "serve":
		err = serve(ctx, cfg, e, processHooks)
	case "incidents":
		err = listIncidents(ctx, cfg, e.stdout, *all)
	case "timeline":
		err = printTimeline(ctx, cfg, e.stdout, fs.Args(), *collapse)
	case "postmortem":
		err = postmortemCommand(ctx, cfg, e, fs.Args())
	case "web-login":
		err = webLoginCommand(ctx, cfg, e.stdout, *webUser)
	case "migrate":
		err = migrate(ctx, cfg, e.stdout)
	case "db":
		err = dbCommand(ctx, e.stdout, fs.Args())
	case "health":
		err = probeHealth(ctx, cfg, e.stdout)
	case "runbooks":
		err = runbooksCLI(cfg, e.stdout, fs.Args())
	default:
		fmt.Fprintf(e.stderr, "sitrep: unknown command %q\n\n%s", name, usage)
		return 2
	}
	return exitStatus(e, err)
}

// exitStatus reports err and returns the exit status for it: 0 success, 1
// failure, 2 bad usage.
func exitStatus(e env, err error) int {
	var usageErr *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usageErr):
		fmt.Fprintf(e.stderr, "sitrep: %v\n", err)
		return 2
	default:
		fmt.Fprintf(e.stderr, "sitrep: %v\n", err)
		return 1
	}
}

// usageError is a command-line mistake; sitrep exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// isTerminal reports whether f is a terminal: a character device other than
// the null device (containers and CI give a process /dev/null as stdin).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(st, null)
}
