package postmortem

import (
	"fmt"
	"strings"

	"github.com/sitrep-io/sitrep/bot"
)

// RunbookAction is one runbook run as the postmortem shows it: what ran,
// who asked, who approved, what came of it.
type RunbookAction struct {
	Name      string   // "RUN-3 pool-scale-up"
	Steps     []string // the steps as the approver saw them
	Requested string
	Approved  string // "none required" when the runbook needs no approval
	Result    string
	Output    string // an excerpt, shown as a code block; "" when none
}

// Runbook event kinds and the pinned-message states, as the runbook and chat
// features record them. They are matched by value so that the postmortem
// reads any recorded timeline, including kinds added later.
const (
	kindRunbookRequested      bot.EventKind = "runbook_requested"
	kindRunbookApproved       bot.EventKind = "runbook_approved"
	kindRunbookDenied         bot.EventKind = "runbook_denied"
	kindRunbookExpired        bot.EventKind = "runbook_expired"
	kindRunbookRefused        bot.EventKind = "runbook_approval_refused"
	kindRunbookStepStarted    bot.EventKind = "runbook_step_started"
	kindRunbookStepFinished   bot.EventKind = "runbook_step_finished"
	kindRunbookSucceeded      bot.EventKind = "runbook_succeeded"
	kindRunbookFailed         bot.EventKind = "runbook_failed"
	kindRunbookInterrupted    bot.EventKind = "runbook_interrupted"
	pinFetching, pinEdited                  = "fetching", "edited"
	pinDeleted, pinUnreadable               = "deleted", "unavailable"
)

// maxOutputLines bounds a runbook's output excerpt.
const maxOutputLines = 12

// runbookActions groups the runbook_* events by their run (Data["run"]).
// Kinds it does not know still count towards the run's story: their text
// becomes the result when no final event came.
func runbookActions(in Input, n namer) []RunbookAction {
	var order []string
	runs := map[string]*RunbookAction{}
	for _, ev := range in.Events {
		if !strings.HasPrefix(string(ev.Kind), "runbook_") {
			continue
		}
		key := fmt.Sprint(ev.Data["run"])
		ra, ok := runs[key]
		if !ok {
			name, _ := ev.Data["runbook"].(string)
			ra = &RunbookAction{Name: strings.TrimSpace(runKey(ev.Data["run"]) + " " + name),
				Requested: "not recorded", Approved: "not recorded", Result: "no result recorded"}
			runs[key] = ra
			order = append(order, key)
		}
		applyRunEvent(ra, ev, n, in)
	}
	out := make([]RunbookAction, 0, len(order))
	for _, k := range order {
		out = append(out, *runs[k])
	}
	return out
}

func runKey(v any) string {
	switch n := v.(type) {
	case float64: // JSON numbers decode as float64
		return fmt.Sprintf("RUN-%d", int64(n))
	case int64:
		return fmt.Sprintf("RUN-%d", n)
	case int:
		return fmt.Sprintf("RUN-%d", n)
	}
	return ""
}

func applyRunEvent(ra *RunbookAction, ev bot.Event, n namer, in Input) {
	at := clock(ev.OccurredAt, in.Location)
	who := n.actor(ev.Actor)
	switch ev.Kind {
	case kindRunbookRequested:
		ra.Requested = fmt.Sprintf("%s, %s", who, at)
		if steps, ok := ev.Data["steps"].([]any); ok {
			for _, s := range steps {
				ra.Steps = append(ra.Steps, fmt.Sprint(s))
			}
		}
		if needs, ok := ev.Data["needs_approval"].(bool); ok && !needs {
			ra.Approved = "none required"
		} else {
			ra.Approved = "pending: no decision recorded"
		}
	case kindRunbookApproved:
		ra.Approved = fmt.Sprintf("%s, %s", who, at)
	case kindRunbookDenied:
		ra.Approved = fmt.Sprintf("denied by %s, %s: %s", who, at, quote(n.text(ev.Text)))
		ra.Result = "did not run"
	case kindRunbookExpired:
		ra.Approved = "not approved before it expired, " + at
		ra.Result = "did not run"
	case kindRunbookStepFinished:
		status, _ := ev.Data["status"].(string)
		ra.Result = fmt.Sprintf("step %v %s, %s", ev.Data["step"], status, at)
		if out, _ := ev.Data["output"].(string); strings.TrimSpace(out) != "" {
			// A fence inside the output would end the code block early.
			out = strings.ReplaceAll(out, "```", "'''")
			ra.Output = excerpt(strings.TrimSpace(ra.Output+"\n"+out), maxOutputLines)
		}
	case kindRunbookSucceeded, kindRunbookFailed, kindRunbookInterrupted:
		ra.Result = fmt.Sprintf("%s, %s: %s", strings.TrimPrefix(string(ev.Kind), "runbook_"), at, quote(n.text(ev.Text)))
	case kindRunbookStepStarted, kindRunbookRefused:
		// Part of the timeline; the summary keeps outcomes.
	default:
		ra.Result = fmt.Sprintf("%s, %s: %s", kindLabel(ev.Kind), at, quote(n.text(ev.Text)))
	}
}

// excerpt keeps the last max lines of s: the end of output is where a
// command says how it went.
func excerpt(s string, max int) string {
	lines := strings.Split(s, "\n")
	if len(lines) <= max {
		return s
	}
	return "…\n" + strings.Join(lines[len(lines)-max:], "\n")
}
