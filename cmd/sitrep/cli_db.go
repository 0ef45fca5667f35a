package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/sitrep-io/sitrep/store"
	"github.com/sitrep-io/sitrep/store/postgres"
)

const dbUsage = "usage: sitrep db copy <sqlite-file> <postgres-url>   (copy a SQLite database into an empty PostgreSQL one)"

// dbCommand runs `sitrep db …`; copy is its one subcommand.
func dbCommand(ctx context.Context, out io.Writer, args []string) error {
	if len(args) != 3 || args[0] != "copy" {
		return &usageError{msg: dbUsage}
	}
	from, to := args[1], args[2]
	if postgres.IsURL(from) || !postgres.IsURL(to) {
		return &usageError{msg: dbUsage + ": the source is a SQLite file path, the target a postgres:// URL"}
	}
	if err := postgres.CheckURL(to); err != nil {
		return &usageError{msg: err.Error()}
	}
	if _, err := os.Stat(from); err != nil {
		return fmt.Errorf("no SQLite database to copy at %s: %w", from, err)
	}
	// No server may write the file while it is copied (nor deliver from it
	// afterwards: the copy takes over its outbox).
	lock, err := store.LockServer(from)
	if errors.Is(err, store.ErrInUse) {
		return fmt.Errorf("%s is being served: stop its `sitrep serve` first, then copy (the copy takes over its outbox)", from)
	}
	if err != nil {
		return err
	}
	defer lock.Release()
	src, err := store.Open(ctx, from)
	if err != nil {
		return fmt.Errorf("open database %s: %w", from, err)
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, to)
	if err != nil {
		return fmt.Errorf("open database %s: %w", postgres.Redact(to), err)
	}
	defer dst.Close()
	rep, err := dst.CopyFrom(ctx, src)
	if err != nil {
		return fmt.Errorf("copy %s to %s: %w", from, postgres.Redact(to), err)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS")
	for _, tc := range rep.Tables {
		fmt.Fprintf(tw, "%s\t%d\n", tc.Table, tc.Rows)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rep.Recovered > 0 {
		fmt.Fprintf(out, "%d outbox entries were being delivered when the SQLite server stopped: they will be delivered again, checked first where the chat allows.\n", rep.Recovered)
	}
	fmt.Fprintf(out, "Copied %s to %s. Set SITREP_DB (or db:) to the PostgreSQL URL and start sitrep serve; keep the SQLite file as a backup.\n",
		from, postgres.Redact(to))
	return nil
}
