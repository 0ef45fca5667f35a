package main

import (
	"fmt"
	"io"

	"github.com/sitrep-io/sitrep/runbooks"
)

// runbooksCLI runs `sitrep runbooks validate [dir]`: every problem is
// printed with file:line and any problem makes it fail (exit status 1).
func runbooksCLI(cfg Config, out io.Writer, args []string) error {
	if len(args) == 0 || args[0] != "validate" || len(args) > 2 {
		return &usageError{msg: "usage: sitrep runbooks validate [dir]"}
	}
	dir := cfg.Runbooks.Dir
	if len(args) == 2 {
		dir = args[1]
	}
	errs := runbooks.Validate(dir)
	for _, err := range errs {
		fmt.Fprintln(out, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d problem(s) in the runbooks in %s", len(errs), dir)
	}
	cat, err := runbooks.Load(dir)
	if err != nil {
		return err
	}
	// Warnings do not fail validation: a templated host without an
	// allowlist may be deliberate, but it should be a decision.
	for _, w := range cat.Warnings() {
		fmt.Fprintln(out, "warning: "+w)
	}
	fmt.Fprintf(out, "%d runbooks in %s are valid\n", len(cat.List()), dir)
	return nil
}
