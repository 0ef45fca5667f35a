package runbooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/runbooks"
)

func TestRequestPostsApprovalCard(t *testing.T) {
	e := newEnv(t)
	run := e.request("UREQ", "run gated msg=hello")
	if run.State != bot.RunRequested || !run.NeedsApproval || !run.TwoPerson {
		t.Fatalf("run = %+v, want requested, needing a two-person approval", run)
	}
	if got, want := run.ExpiresAt, start.Add(15*time.Minute); !got.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v", got, want)
	}
	e.settle()
	card := e.card(run.ID)
	if got := actionIDs(card); !reflect.DeepEqual(got, []string{runbooks.ActionApproveRun, runbooks.ActionDenyRun}) {
		t.Errorf("card actions = %v, want approve and deny", got)
	}
	for _, a := range card.Actions {
		if a.Value != fmt.Sprint(run.ID) || a.Confirm == "" {
			t.Errorf("button %s: value %q confirm %q, want the run id and a confirmation", a.ID, a.Value, a.Confirm)
		}
	}
	// The card shows every step exactly as it will run, and who asked.
	for _, want := range []string{
		`act (exec): /bin/sh ./record.sh act hello [timeout 30s] — needs approval (two-person)`,
		`audit (exec): /bin/sh ./record.sh audit hello [timeout 30s]`,
		bot.Mention("UREQ"),
	} {
		if !strings.Contains(card.Text, want) {
			t.Errorf("card text lacks %q:\n%s", want, card.Text)
		}
	}
	if !hasKind(e.kinds(), bot.KindRunbookRequested) {
		t.Errorf("timeline %v lacks %s", e.kinds(), bot.KindRunbookRequested)
	}
	if got := e.executions(); got != nil {
		t.Errorf("executed %v before any approval", got)
	}
}

func TestApproveRunsStepsAndRecordsThem(t *testing.T) {
	e := newEnv(t)
	run := e.request("UREQ", "run gated msg=hello")
	if _, err := e.click("UAPPROVER", runbooks.ActionApproveRun, run); err != nil {
		t.Fatalf("approve: %v", err)
	}
	e.settle()
	got := e.run(run.ID)
	if got.State != bot.RunSucceeded || got.DecidedBy != "UAPPROVER" {
		t.Fatalf("run = %s decided by %q, want succeeded, approved by UAPPROVER (reason %q)", got.State, got.DecidedBy, got.Reason)
	}
	if ex := e.executions(); !reflect.DeepEqual(ex, []string{"audit hello", "act hello"}) {
		t.Errorf("executions = %q, want audit then act, once each", ex)
	}
	want := []bot.EventKind{bot.KindRunbookRequested, bot.KindRunbookApproved,
		bot.KindRunbookStepStarted, bot.KindRunbookStepFinished, bot.KindRunbookStepStarted, bot.KindRunbookStepFinished,
		bot.KindRunbookSucceeded}
	if k := e.kinds(); !reflect.DeepEqual(k, want) {
		t.Errorf("timeline = %v, want %v", k, want)
	}
	finished := e.events(bot.KindRunbookStepFinished)
	if len(finished) != 2 || !strings.Contains(finished[1].Text, "did act with hello") {
		t.Errorf("step results on the timeline lack the output excerpt: %+v", finished)
	}
	if approved := e.events(bot.KindRunbookApproved); len(approved) != 1 || approved[0].Actor != "UAPPROVER" {
		t.Errorf("approved events = %+v, want one by UAPPROVER", approved)
	}
	card := e.card(run.ID)
	if !strings.Contains(card.Title, "succeeded") || len(card.Actions) != 0 {
		t.Errorf("final card = %q with actions %v, want succeeded and no buttons", card.Title, actionIDs(card))
	}
	if !strings.Contains(card.Text, "act (exec): /bin/sh ./record.sh act hello [timeout 30s] — needs approval (two-person) [succeeded]") {
		t.Errorf("final card does not show each step's result:\n%s", card.Text)
	}
	if len(e.chat.Sent("post", run.Key()+" (gated) succeeded")) != 1 {
		t.Errorf("the channel was not told the run succeeded")
	}
	if got.Steps[1].Output != "did act with hello\n" {
		t.Errorf("stored output = %q", got.Steps[1].Output)
	}
}

func TestUnauthorisedApprovalIsRefusedAndRecorded(t *testing.T) {
	e := newEnv(t)
	run := e.request("UREQ", "run gated msg=hello")
	_, err := e.click("UNOBODY", runbooks.ActionApproveRun, run)
	if bot.ErrorCode(err) != bot.EFORBIDDEN {
		t.Fatalf("approve by a stranger: %v, want EFORBIDDEN", err)
	}
	if !strings.Contains(bot.ErrorMessage(err), bot.Mention("UAPPROVER")) {
		t.Errorf("refusal %q does not say whom to ask", bot.ErrorMessage(err))
	}
	refused := e.events(bot.KindRunbookApprovalRefused)
	if len(refused) != 1 || refused[0].Actor != "UNOBODY" {
		t.Fatalf("refused events = %+v, want one by UNOBODY", refused)
	}
	// A stranger cannot deny either.
	if _, err := e.cmd("UNOBODY", "deny "+run.Key()); bot.ErrorCode(err) != bot.EFORBIDDEN {
		t.Errorf("deny by a stranger: %v, want EFORBIDDEN", err)
	}
	e.settle()
	if got := e.run(run.ID).State; got != bot.RunRequested {
		t.Errorf("state = %s, want still requested", got)
	}
	if ex := e.executions(); ex != nil {
		t.Errorf("executed %v", ex)
	}
}

func TestSelfApprovalRefusedUnderTwoPerson(t *testing.T) {
	e := newEnv(t)
	// UREQ is a member of the approver group SONCALL, yet asked for it.
	run := e.request("UREQ", "run gated msg=hello")
	if _, err := e.cmd("UREQ", "approve "+run.Key()); bot.ErrorCode(err) != bot.EFORBIDDEN {
		t.Fatalf("self-approval: %v, want EFORBIDDEN", err)
	}
	if n := len(e.events(bot.KindRunbookApprovalRefused)); n != 1 {
		t.Errorf("%d refusals recorded, want 1", n)
	}
	// Another member of the group may.
	if _, err := e.cmd("UMEMBER", "approve "+run.Key()); err != nil {
		t.Fatalf("approval by a group member: %v", err)
	}
	e.settle()
	if got := e.run(run.ID); got.State != bot.RunSucceeded || got.DecidedBy != "UMEMBER" {
		t.Errorf("run = %s by %s, want succeeded, approved by UMEMBER", got.State, got.DecidedBy)
	}
}

func TestGroupLookupFailureIsNotARefusal(t *testing.T) {
	e := newEnv(t)
	run := e.request("UREQ", "run gated msg=hello")
	e.users.err = bot.Temporary(errors.New("slack: 503"), 0)
	_, err := e.click("UMEMBER", runbooks.ActionApproveRun, run)
	if err == nil || bot.ErrorCode(err) == bot.EFORBIDDEN {
		t.Fatalf("approve while the directory is down: %v, want an error that is not a refusal", err)
	}
	if n := len(e.events(bot.KindRunbookApprovalRefused)); n != 0 {
		t.Errorf("%d refusals recorded for a lookup failure", n)
	}
	e.users.err = nil
	if _, err := e.click("UMEMBER", runbooks.ActionApproveRun, run); err != nil {
		t.Fatalf("approve once the directory answers: %v", err)
	}
}

func TestApproveAfterExpiryIsRefused(t *testing.T) {
	e := newEnv(t)
	run := e.request("UREQ", "run gated msg=hello")
	e.clock.Advance(15*time.Minute + time.Second)
	_, err := e.click("UAPPROVER", runbooks.ActionApproveRun, run)
	if bot.ErrorCode(err) != bot.EINVALID || !strings.Contains(bot.ErrorMessage(err), "expired") {
		t.Fatalf("late approval: %v, want EINVALID saying it expired", err)
	}
	e.settle()
	if got := e.run(run.ID).State; got != bot.RunExpired {
		t.Errorf("state = %s, want expired", got)
	}
	if n := len(e.events(bot.KindRunbookExpired)); n != 1 {
		t.Errorf("%d expired events, want 1", n)
	}
	if e.executions() != nil || len(e.card(run.ID).Actions) != 0 {
		t.Errorf("an expired run executed or still offers buttons")
	}
}

func TestRequestExpiresOnSchedule(t *testing.T) {
	e := newEnv(t)
	run := e.request("UREQ", "run gated msg=hello")
	e.settle()
	e.clock.Advance(10 * time.Minute)
	e.settle()
	if got := e.run(run.ID).State; got != bot.RunRequested {
		t.Fatalf("state after 10m = %s, want still requested", got)
	}
	e.clock.Advance(5 * time.Minute)
	e.settle()
	if got := e.run(run.ID).State; got != bot.RunExpired {
		t.Fatalf("state after 15m = %s, want expired by the scheduled entry", got)
	}
	card := e.card(run.ID)
	if len(card.Actions) != 0 || !strings.Contains(card.Title, "expired") {
		t.Errorf("card = %q %v, want expired without buttons", card.Title, actionIDs(card))
	}
}

func TestConcurrentApprovalsRunOnce(t *testing.T) {
	e := newEnv(t)
	run := e.request("UREQ", "run gated msg=hello")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, conflicts int
	for i := range 20 {
		actor := []string{"UAPPROVER", "UMEMBER"}[i%2]
		wg.Go(func() {
			_, err := e.click(actor, runbooks.ActionApproveRun, run)
			mu.Lock()
			defer mu.Unlock()
			switch bot.ErrorCode(err) {
			case "":
				ok++
			case bot.ECONFLICT:
				conflicts++
			default:
				t.Errorf("approve: %v", err)
			}
		})
	}
	wg.Wait()
	if ok != 1 || conflicts != 19 {
		t.Fatalf("%d approvals succeeded and %d conflicted, want 1 and 19", ok, conflicts)
	}
	e.settle()
	if n := len(e.events(bot.KindRunbookApproved)); n != 1 {
		t.Errorf("%d approved events, want 1", n)
	}
	if n := e.deliveries(runbooks.OpExecute); n != 1 {
		t.Errorf("%d execute entries, want 1", n)
	}
	if ex := e.executions(); len(ex) != 2 {
		t.Errorf("executions = %q, want each step once", ex)
	}
}

func TestDeny(t *testing.T) {
	e := newEnv(t)
	run := e.request("UREQ", "run gated msg=hello")
	if _, err := e.cmd("UAPPROVER", "deny "+run.Key()+" not during peak"); err != nil {
		t.Fatalf("deny: %v", err)
	}
	if _, err := e.click("UMEMBER", runbooks.ActionApproveRun, run); bot.ErrorCode(err) != bot.ECONFLICT {
		t.Errorf("approve after deny: %v, want ECONFLICT", err)
	}
	e.settle()
	got := e.run(run.ID)
	if got.State != bot.RunDenied || got.Reason != "not during peak" || got.DecidedBy != "UAPPROVER" {
		t.Errorf("run = %s %q by %s, want denied with the reason by UAPPROVER", got.State, got.Reason, got.DecidedBy)
	}
	denied := e.events(bot.KindRunbookDenied)
	if len(denied) != 1 || !strings.Contains(denied[0].Text, "not during peak") {
		t.Errorf("denied events = %+v", denied)
	}
	if e.executions() != nil || e.deliveries(runbooks.OpExecute) != 0 {
		t.Errorf("a denied run was executed or queued")
	}
	if card := e.card(run.ID); len(card.Actions) != 0 || !strings.Contains(card.Title, "denied") {
		t.Errorf("card = %q %v, want denied without buttons", card.Title, actionIDs(card))
	}
}

func TestRequesterMayWithdraw(t *testing.T) {
	e := newEnv(t)
	run := e.request("UREQ", "run gated msg=hello")
	if _, err := e.click("UREQ", runbooks.ActionDenyRun, run); err != nil {
		t.Fatalf("requester denies own request: %v", err)
	}
	if got := e.run(run.ID).State; got != bot.RunDenied {
		t.Errorf("state = %s, want denied", got)
	}
}

func TestDryRunRendersAndRunsNothing(t *testing.T) {
	e := newEnv(t)
	reply, err := e.cmd("UREQ", "run gated msg=hello --dry-run")
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	for _, want := range []string{"nothing was run", "/bin/sh ./record.sh audit hello", "/bin/sh ./record.sh act hello"} {
		if !strings.Contains(reply.Text, want) {
			t.Errorf("dry run reply lacks %q:\n%s", want, reply.Text)
		}
	}
	e.settle()
	if runs := e.allRuns(); len(runs) != 0 {
		t.Errorf("dry run created %d runs", len(runs))
	}
	if e.executions() != nil || len(e.chat.Sent("post", "RUN-")) != 0 {
		t.Errorf("dry run executed or posted something")
	}
	// A dry run checks parameters like a real one.
	if _, err := e.cmd("UREQ", "run gated --dry-run"); bot.ErrorCode(err) != bot.EINVALID || fieldOf(err) != "msg" {
		t.Errorf("dry run without msg: %v, want EINVALID naming msg", err)
	}
}

func fieldOf(err error) string {
	var be *bot.Error
	if errors.As(err, &be) {
		return be.Field
	}
	return ""
}

func TestInjectionAttemptsAreRejected(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ text, field string }{
		{"run echo msg=x ; rm -rf /", ""},      // extra words are not key=value
		{"run echo msg=x\nrm -rf /", ""},       // a newline starts another word
		{"run echo msg=x\nevil=1", "msg"},      // ...which is an unknown parameter
		{"run echo --install msg=x", ""},       // options are not parameters
		{"run echo msg=--install", "msg"},      // a value may not smuggle an option
		{"run echo msg=x msg=y", "msg"},        // a value given twice
		{"run echo msg=x other=$(reboot)", ""}, // an undeclared parameter
	} {
		_, err := e.cmd("UREQ", tc.text)
		if bot.ErrorCode(err) != bot.EINVALID {
			t.Errorf("%q: %v, want EINVALID", tc.text, err)
			continue
		}
		if tc.field != "" && !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%q: %v does not name %s", tc.text, err, tc.field)
		}
	}
	e.settle()
	if runs := e.allRuns(); len(runs) != 0 || e.executions() != nil {
		t.Fatalf("rejected requests created %d runs / executed %v", len(runs), e.executions())
	}
}

func TestShellMetacharactersAreInert(t *testing.T) {
	e := newEnv(t)
	for _, v := range []string{"$(touch${IFS}pwned)", ";touch${IFS}pwned", "`touch${IFS}pwned`", "a|touch${IFS}pwned&&x"} {
		e.request("UREQ", "run echo msg="+v)
	}
	e.settle()
	want := []string{"say $(touch${IFS}pwned)", "say ;touch${IFS}pwned", "say `touch${IFS}pwned`", "say a|touch${IFS}pwned&&x"}
	got := e.executions()
	slices.Sort(got) // runs execute in parallel
	slices.Sort(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("executions = %q, want the values passed literally: %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "pwned")); err == nil {
		t.Errorf("a value was interpreted by a shell")
	}
	for _, r := range e.allRuns() {
		if r.State != bot.RunSucceeded {
			t.Errorf("%s is %s: %s", r.Key(), r.State, r.Reason)
		}
	}
}

func TestNoApprovalRunbookRunsAtOnce(t *testing.T) {
	e := newEnv(t)
	run := e.request("UREQ", "run echo msg=hi")
	if run.State != bot.RunApproved || run.NeedsApproval || run.DecidedBy != "" {
		t.Fatalf("run = %+v, want approved without a decision", run)
	}
	e.settle()
	if got := e.run(run.ID).State; got != bot.RunSucceeded {
		t.Errorf("state = %s, want succeeded", got)
	}
	if _, err := e.click("UAPPROVER", runbooks.ActionApproveRun, run); bot.ErrorCode(err) != bot.ECONFLICT {
		t.Errorf("approve a run that needs none: %v, want ECONFLICT", err)
	}
}

func TestFailedStepFailsRunAndSkipsTheRest(t *testing.T) {
	e := newEnv(t)
	run := e.request("UREQ", "run failing")
	e.settle()
	got := e.run(run.ID)
	if got.State != bot.RunFailed || got.Steps[0].State != bot.StepFailed || got.Steps[1].State != bot.StepSkipped {
		t.Fatalf("run %s steps %s/%s, want failed, failed/skipped", got.State, got.Steps[0].State, got.Steps[1].State)
	}
	if got.Steps[0].ExitCode != 3 || !strings.Contains(got.Steps[0].Output, "the gateway said no") {
		t.Errorf("failed step = %+v, want exit 3 with its output", got.Steps[0])
	}
	if e.executions() != nil {
		t.Errorf("a step after the failure ran")
	}
	if !hasKind(e.kinds(), bot.KindRunbookFailed) || len(e.chat.Sent("post", "failed")) != 1 {
		t.Errorf("the failure is not on the timeline %v or in the channel", e.kinds())
	}
}

func TestTimelineOutputIsCapped(t *testing.T) {
	e := newEnv(t)
	big := strings.Repeat("x", runbooks.MaxParamValueLen) // the longest value a param takes
	e.request("UREQ", "run echo msg="+big)
	e.settle()
	finished := e.events(bot.KindRunbookStepFinished)
	if len(finished) != 1 {
		t.Fatalf("%d step results", len(finished))
	}
	if n := len(finished[0].Text); n > 1300 || !strings.Contains(finished[0].Text, "more bytes") {
		t.Errorf("timeline text is %d bytes, want about 1 KiB marked as cut", n)
	}
	if out := e.allRuns()[0].Steps[0].Output; !strings.Contains(out, big) {
		t.Errorf("the run record lost the output (%d bytes)", len(out))
	}
}

func TestCardShowsProgress(t *testing.T) {
	e := newEnv(t)
	run := e.request("UREQ", "run blocking")
	if err := e.disp.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the step to start", func() bool { return e.run(run.ID).Steps[0].State == bot.StepRunning })
	if err := e.disp.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if card := e.card(run.ID); !strings.Contains(card.Title, "running step 1 of 1") {
		t.Errorf("card while running = %q", card.Title)
	}
	writeFile(t, filepath.Join(e.dir, "release"), "", 0o644)
	e.settle()
	if card := e.card(run.ID); !strings.Contains(card.Title, "succeeded") || !strings.Contains(card.Text, "[succeeded]") {
		t.Errorf("card after = %q", card.Title)
	}
}

// crashMidRun starts the blocking runbook, waits until its step runs, and
// "kills" the process: the database is closed under it. It returns the
// next process (not yet recovered) and the run.
func crashMidRun(t *testing.T) (*env, bot.RunbookRun) {
	e := newEnv(t)
	run := e.request("UREQ", "run blocking")
	if err := e.disp.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the step to start", func() bool { return len(startedLines(t, e)) == 1 })
	dead := e.runs
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	// Let the orphaned step end when the test does; its records fail, as a
	// dead process's would never be written.
	t.Cleanup(func() {
		writeFile(t, filepath.Join(e.dir, "release"), "", 0o644)
		dead.Wait()
	})
	e.open()
	if got := e.run(run.ID).State; got != bot.RunRunning {
		t.Fatalf("after the crash the run is %s, want running", got)
	}
	return e, run
}

func startedLines(t *testing.T, e *env) []string {
	b, err := os.ReadFile(filepath.Join(e.dir, "started.log"))
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

func TestRecoverMarksInterruptedAndNeverReruns(t *testing.T) {
	e, run := crashMidRun(t)
	n, err := e.runs.Recover(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("Recover = %d, %v; want 1", n, err)
	}
	// The outbox retrying the execution (it was in flight) changes nothing.
	retryExecute(t, e, run)
	e.settle()
	got := e.run(run.ID)
	if got.State != bot.RunInterrupted || got.Steps[0].State != bot.StepInterrupted {
		t.Fatalf("run = %s, step %s; want interrupted", got.State, got.Steps[0].State)
	}
	if s := startedLines(t, e); len(s) != 1 {
		t.Errorf("the step started %d times, want once", len(s))
	}
	if n := len(e.events(bot.KindRunbookInterrupted)); n != 1 {
		t.Errorf("%d interrupted events, want 1", n)
	}
	if len(e.chat.Sent("post", "was interrupted")) != 1 {
		t.Errorf("the channel was not told once")
	}
	if card := e.card(run.ID); !strings.Contains(card.Title, "interrupted") {
		t.Errorf("card = %q", card.Title)
	}
}

func TestExecuteRetryOfRunningRunInterruptsIt(t *testing.T) {
	e, run := crashMidRun(t)
	retryExecute(t, e, run) // before any Recover: the retry finds it running
	e.settle()
	if got := e.run(run.ID).State; got != bot.RunInterrupted {
		t.Fatalf("state = %s, want interrupted", got)
	}
	if s := startedLines(t, e); len(s) != 1 {
		t.Errorf("the step started %d times, want once", len(s))
	}
}

func TestExecuteRetryOfFinishedRunDoesNothing(t *testing.T) {
	e := newEnv(t)
	run := e.request("UREQ", "run echo msg=once")
	e.settle()
	before := len(e.kinds())
	retryExecute(t, e, run)
	e.settle()
	if ex := e.executions(); len(ex) != 1 {
		t.Errorf("executions = %q, want one", ex)
	}
	if after := len(e.kinds()); after != before {
		t.Errorf("the retry added %d events", after-before)
	}
}

// retryExecute queues the run's execution again, as the outbox does with
// an attempt that was in flight when the process died.
func retryExecute(t *testing.T, e *env, run bot.RunbookRun) {
	t.Helper()
	d, err := bot.NewDelivery(fmt.Sprintf("runbook-run:%d", run.ID), runbooks.OpExecute, run.IncidentID, map[string]int64{"run": run.ID})
	if err != nil {
		t.Fatal(err)
	}
	d.Uncertain = true
	if err := e.db.Update(t.Context(), func(tx bot.Tx) error { return tx.Enqueue(d) }); err != nil {
		t.Fatal(err)
	}
}

func TestRunbooksListsMatchingFirst(t *testing.T) {
	e := newEnv(t) // the incident's title mentions a cert: "gated" matches
	reply, err := e.cmd("UREQ", "runbooks")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(reply.Text, "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[1], "★ gated") {
		t.Fatalf("listing:\n%s\nwant gated first and starred", reply.Text)
	}
	if !strings.Contains(reply.Text, "/incident run echo msg=…") {
		t.Errorf("listing lacks the run syntax:\n%s", reply.Text)
	}
}

func TestRunMenuButton(t *testing.T) {
	e := newEnv(t)
	if !slices.Contains(actionIDs(bot.Card(e.inc)), bot.ActionRunMenu) {
		t.Fatalf("the incident card has no %s button", bot.ActionRunMenu)
	}
	reply, err := e.svc.HandleAction(t.Context(), bot.ActionInvocation{Actor: "UREQ", ActionID: bot.ActionRunMenu,
		Value: fmt.Sprint(e.inc.ID)})
	if err != nil || reply.Message == nil || len(reply.Message.Actions) == 0 {
		t.Fatalf("menu: %+v, %v", reply, err)
	}
	first := reply.Message.Actions[0]
	if first.ID != runbooks.ActionRunRunbook || first.Value != fmt.Sprintf("%d:gated", e.inc.ID) {
		t.Fatalf("first button = %+v, want the matching runbook", first)
	}
	click := bot.ActionInvocation{Actor: "UREQ", ActionID: first.ID, Value: first.Value}
	if _, err := e.svc.HandleAction(t.Context(), click); bot.ErrorCode(err) != bot.EINVALID || fieldOf(err) != "msg" {
		t.Errorf("run without its parameter: %v, want EINVALID naming msg", err)
	}
	click.Input = map[string]string{"msg": "menu"}
	if _, err := e.svc.HandleAction(t.Context(), click); err != nil {
		t.Fatalf("run from the menu: %v", err)
	}
	if runs := e.allRuns(); len(runs) != 1 || runs[0].State != bot.RunRequested {
		t.Errorf("runs = %+v", runs)
	}
}

func TestRenderedStepSurvivesStorage(t *testing.T) {
	e := newEnv(t)
	_, steps, err := e.runs.Plan(runbooks.Request{Runbook: "gated", Params: map[string]string{"msg": "a\"b"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range steps {
		raw, err := json.Marshal(rs)
		if err != nil {
			t.Fatal(err)
		}
		var back runbooks.RenderedStep
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, rs) {
			t.Errorf("stored step differs from what was approved:\n%+v\n%+v", back, rs)
		}
	}
}

func TestRequestOnResolvedIncidentIsRefused(t *testing.T) {
	e := newEnv(t)
	if _, err := e.svc.Resolve(t.Context(), "UREQ", e.inc.ID, "fixed"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cmd("UREQ", "run echo msg=x"); bot.ErrorCode(err) != bot.EINVALID {
		t.Errorf("run in a resolved incident: %v, want EINVALID", err)
	}
	if _, err := e.cmd("UREQ", "run nosuch"); err == nil {
		t.Errorf("unknown runbook accepted")
	}
}

func TestShutdownCutsOffRunsAsInterrupted(t *testing.T) {
	e := newEnv(t)
	run := e.request("UREQ", "run blocking")
	if err := e.disp.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the step to start", func() bool { return len(startedLines(t, e)) == 1 })
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // no time left: cut off at once
	if err := e.runs.Shutdown(ctx); err == nil {
		t.Error("Shutdown reported no cut-off")
	}
	got := e.run(run.ID)
	if got.State != bot.RunInterrupted || got.Steps[0].State != bot.StepInterrupted {
		t.Fatalf("run = %s, step %s; want interrupted", got.State, got.Steps[0].State)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "release")); err == nil {
		t.Fatal("the step was released, not cut off")
	}
}

// TestFinishedRunsObserved: each run that reaches a final state is told to
// the service's observer once, with its runbook and state (the
// sitrep_runbook_runs_total counter); a run still waiting is not.
func TestFinishedRunsObserved(t *testing.T) {
	e := newEnv(t)
	ok := e.request("UREQ", "run gated msg=hello")
	if _, err := e.click("UAPPROVER", runbooks.ActionApproveRun, ok); err != nil {
		t.Fatalf("approve: %v", err)
	}
	denied := e.request("UREQ", "run gated msg=no")
	if _, err := e.cmd("UAPPROVER", "deny "+denied.Key()+" not now"); err != nil {
		t.Fatalf("deny: %v", err)
	}
	if _, err := e.cmd("UREQ", "run failing"); err != nil {
		t.Fatalf("run failing: %v", err)
	}
	e.request("UREQ", "run gated msg=waiting")
	e.settle()
	got := e.obs.list()
	slices.Sort(got)
	if want := []string{"failing:failed", "gated:denied", "gated:succeeded"}; !slices.Equal(got, want) {
		t.Errorf("observed finished runs %v, want %v", got, want)
	}
}

// With replicas, a run another live replica executes is never marked
// interrupted: neither by another replica's heartbeat pass nor by a
// repeated execution delivered to it. Once the executing replica dies, its
// heartbeat goes stale and the other replica marks the run interrupted,
// once, and says so in the channel.
func TestReplicaTakesOverARunOnlyWhenItsHeartbeatIsStale(t *testing.T) {
	a := newEnv(t)
	b := newReplica(t, a)
	run := a.request("UREQ", "run blocking")
	if err := a.disp.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the step to start", func() bool { return len(startedLines(t, a)) == 1 })
	if got := b.run(run.ID); got.Runner != "a" || !got.HeartbeatAt.Equal(start) {
		t.Fatalf("running run: runner %q heartbeat %v, want a at %v", got.Runner, got.HeartbeatAt, start)
	}

	// A replica starting meanwhile, and its periodic passes, leave it alone
	// while a renews its heartbeat; so does a repeated execution.
	for range 3 {
		a.clock.Advance(30 * time.Second)
		if n, err := a.runs.Beat(t.Context()); err != nil || n != 0 {
			t.Fatalf("a's heartbeat pass = %d, %v", n, err)
		}
		if n, err := b.runs.Beat(t.Context()); err != nil || n != 0 {
			t.Fatalf("b's pass while a is alive = %d, %v; want none interrupted", n, err)
		}
	}
	retryExecute(t, b, run)
	if err := b.disp.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := b.run(run.ID); got.State != bot.RunRunning || !got.HeartbeatAt.Equal(start.Add(90*time.Second)) {
		t.Fatalf("while a is alive the run is %s, heartbeat %v; want running, renewed at +90s", got.State, got.HeartbeatAt)
	}

	// a dies (its database is gone under it); its step goes on, unrecorded.
	dead := a.runs
	if err := a.db.Close(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		writeFile(t, filepath.Join(a.dir, "release"), "", 0o644)
		dead.Wait()
	})
	b.clock.Advance(runbooks.DefaultHeartbeatTimeout - time.Second)
	if n, err := b.runs.Beat(t.Context()); err != nil || n != 0 {
		t.Fatalf("b's pass within the timeout = %d, %v; want none", n, err)
	}
	b.clock.Advance(2 * time.Second)
	if n, err := b.runs.Beat(t.Context()); err != nil || n != 1 {
		t.Fatalf("b's pass after the timeout = %d, %v; want 1 interrupted", n, err)
	}
	if n, err := b.runs.Beat(t.Context()); err != nil || n != 0 {
		t.Fatalf("b's next pass = %d, %v; want none", n, err)
	}
	b.settle()
	got := b.run(run.ID)
	if got.State != bot.RunInterrupted || got.Steps[0].State != bot.StepInterrupted || !strings.Contains(got.Reason, "(a)") {
		t.Fatalf("run = %s, step %s, reason %q; want interrupted naming replica a", got.State, got.Steps[0].State, got.Reason)
	}
	if n := len(b.chat.Sent("post", "was interrupted")); n != 1 {
		t.Errorf("the channel was told %d times, want once", n)
	}
	if s := startedLines(t, b); len(s) != 1 {
		t.Errorf("the step started %d times, want once", len(s))
	}
}

// Without replicas (SQLite) a run found running that this process does
// not run is a dead process's, whatever its heartbeat: the heartbeat pass
// marks it at once.
func TestSingleProcessHeartbeatPassInterruptsAtOnce(t *testing.T) {
	e, run := crashMidRun(t)
	if n, err := e.runs.Beat(t.Context()); err != nil || n != 1 {
		t.Fatalf("Beat = %d, %v; want 1", n, err)
	}
	if got := e.run(run.ID).State; got != bot.RunInterrupted {
		t.Fatalf("state = %s, want interrupted", got)
	}
}

// A replica that could not renew its heartbeats for longer than the
// timeout (it lost the database) finds at its next pass that another
// replica marked its run interrupted: it kills the step instead of letting
// it go on after the channel was told it stopped.
func TestReplicaStopsARunTakenOverByAnother(t *testing.T) {
	a := newEnv(t)
	b := newReplica(t, a)
	run := a.request("UREQ", "run blocking")
	if err := a.disp.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the step to start", func() bool { return len(startedLines(t, a)) == 1 })
	t.Cleanup(func() { writeFile(t, filepath.Join(a.dir, "release"), "", 0o644) })

	a.clock.Advance(runbooks.DefaultHeartbeatTimeout + time.Second) // a's heartbeats did not get through
	if n, err := b.runs.Beat(t.Context()); err != nil || n != 1 {
		t.Fatalf("b's pass = %d, %v; want the run interrupted", n, err)
	}
	done := make(chan struct{})
	go func() { a.runs.Wait(); close(done) }()
	if n, err := a.runs.Beat(t.Context()); err != nil || n != 0 {
		t.Fatalf("a's pass = %d, %v", n, err)
	}
	waitFor(t, "a to stop the step (block.sh would run 30 s)", func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	})
	got := a.run(run.ID)
	if got.State != bot.RunInterrupted || got.Steps[0].State != bot.StepInterrupted {
		t.Errorf("run = %s, step %s; want interrupted (by b), not overwritten by a", got.State, got.Steps[0].State)
	}
}
