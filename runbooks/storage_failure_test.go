package runbooks_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/fsfault"
)

// TestStepResultSurvivesAFullDisk (issue 10 item 11): a step finishes while
// the disk is full, so its result cannot be stored. The step must not lose
// its result (nor leave the run running for ever): the record is retried
// and stored once space is freed, without running the step again.
func TestStepResultSurvivesAFullDisk(t *testing.T) {
	dir := fsfault.Tmpfs(t, "4m")
	e := newEnvAt(t, filepath.Join(dir, "sitrep.db"))
	run := e.request("UREQ", "run blocking")
	if err := e.disp.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the step to start", func() bool { return len(startedLines(t, e)) == 1 })

	free := fsfault.Fill(t, dir)
	writeFile(t, filepath.Join(e.dir, "release"), "", 0o644) // the step ends now, on the full disk
	waitFor(t, "the step's record to fail", func() bool { return e.db.Ping(t.Context()) != nil })
	if got := e.run(run.ID); got.State != bot.RunRunning {
		t.Fatalf("run stored as %s on a full disk", got.State)
	}
	free()
	e.runs.Wait()

	got := e.run(run.ID)
	if got.State != bot.RunSucceeded || !strings.Contains(got.Steps[0].Output, "released") {
		t.Fatalf("after space was freed the run is %s (output %q), want succeeded with the step's output", got.State, got.Steps[0].Output)
	}
	if n := len(startedLines(t, e)); n != 1 {
		t.Errorf("the step ran %d times, want once", n)
	}
	if evs := e.events(bot.KindRunbookStepFinished); len(evs) != 1 {
		t.Errorf("%d step_finished events, want one", len(evs))
	}
}
