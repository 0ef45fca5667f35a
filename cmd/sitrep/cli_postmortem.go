package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/app"
)

const postmortemUsage = "usage: sitrep postmortem INC-<n> [--export] [--out FILE]"

// postmortemCommand drafts an incident's postmortem to a file (or standard
// output) and, with --export, exports it to GitHub as /incident export
// does: the links go on the timeline and to the channel (posted by the
// server).
func postmortemCommand(ctx context.Context, cfg Config, e env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return &usageError{msg: postmortemUsage}
	}
	id, err := bot.ParseIncidentKey(args[0])
	if err != nil {
		return &usageError{msg: bot.PlainText(bot.ErrorMessage(err)) + "\n" + postmortemUsage}
	}
	fs := flag.NewFlagSet("sitrep postmortem", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	export := fs.Bool("export", false, "export to GitHub")
	out := fs.String("out", "", "write the draft to this file")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return &usageError{msg: postmortemUsage}
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	// People are named through the same directory serve uses: Slack's (so
	// ids become display names) when it is configured, else the console's.
	// The chat is only asked for names here; it posts nothing (what the
	// export queues is delivered by the server).
	quiet := env{getenv: e.getenv, stdin: e.stdin, stdout: io.Discard, stderr: io.Discard}
	dir, _ := newChat(cfg, quiet, slog.New(slog.DiscardHandler), chatPacing{}, nil)
	ac := app.Config{Store: db, Chat: dir, Directory: dir, Service: bot.ServiceConfig{DefaultSeverity: cfg.DefaultSeverity}}
	p, err := postmortemConfig(cfg, &ac, db, dir, nil, nil)
	if err != nil {
		return err
	}
	sitrep, err := app.New(ac)
	if err != nil {
		return err
	}
	p.cmds = sitrep.Postmortems
	if *export {
		if err := exportNow(ctx, p, id, e.stderr); err != nil {
			return err
		}
	}
	draft, err := p.drafter.DraftPostmortem(ctx, id)
	if err != nil {
		return userError(err)
	}
	if err := writeDraft(draft, *out, e.stdout); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "%s: %s, %d prompts left for people, %d flags\n", bot.IncidentKey(id), draft.Status, draft.Prompts, len(draft.Flags))
	for _, f := range draft.Flags {
		fmt.Fprintf(e.stderr, "  flag: %s\n", f)
	}
	for _, f := range draft.Findings {
		fmt.Fprintf(e.stderr, "  reword: %s\n", f)
	}
	return nil
}

func exportNow(ctx context.Context, p *postmortems, id int64, w io.Writer) error {
	if p.publisher == nil {
		return fmt.Errorf("GitHub export is not configured: set GITHUB_TOKEN and GITHUB_REPO (owner/name)")
	}
	exp, err := p.cmds.Export(ctx, id)
	if temp, wait := bot.IsTemporary(err); temp {
		return fmt.Errorf("GitHub cannot take the export now (%v); try again in %s", err, max(wait, 0))
	}
	if err != nil {
		return fmt.Errorf("export %s: %w", bot.IncidentKey(id), userError(err))
	}
	fmt.Fprintf(w, "%s exported to %s: %s\n", bot.IncidentKey(id), p.publisher.Target(), exp.URL())
	return nil
}

func writeDraft(draft bot.PostmortemDraft, path string, stdout io.Writer) error {
	if path == "" {
		_, err := stdout.Write(draft.File.Content)
		return err
	}
	if err := os.WriteFile(path, draft.File.Content, 0o644); err != nil {
		return fmt.Errorf("write the draft: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", path)
	return nil
}

// userError is err's user-facing message for domain errors, and err itself
// (with its details) for anything unexpected: the terminal is the log here.
func userError(err error) error {
	if bot.ErrorCode(err) == bot.EINTERNAL {
		return err
	}
	return fmt.Errorf("%s", bot.PlainText(bot.ErrorMessage(err)))
}
