package runbooks

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/sitrep-io/sitrep/bot"
)

// maxMenuButtons bounds the runbook buttons on one menu message.
const maxMenuButtons = 10

// Name implements bot.Feature.
func (r *Runs) Name() string { return "runbooks" }

// Register implements bot.Feature: it adds the runbook commands (run,
// runbooks, approve, deny), button actions (approve-run, deny-run,
// run-menu, run-runbook), the hook that cancels pending requests when an
// incident is resolved, and the outbox handlers of runs.
func (r *Runs) Register(reg *bot.Registry) {
	r.svc, r.store = reg.Service(), reg.Service().Store()
	svc := reg
	svc.Command(bot.Command{Name: "run", Syntax: "<runbook> [key=value ...] [--dry-run]",
		Help: "request a runbook run (posts an approval card); --dry-run only shows what would run", Run: r.cmdRun})
	svc.Command(bot.Command{Name: "runbooks", Help: "list the runbooks, those matching the incident first",
		Anywhere: true, Run: r.cmdList})
	svc.Command(bot.Command{Name: "approve", Syntax: "<RUN-n>", Help: "approve a requested runbook run",
		Anywhere: true, Run: func(ctx context.Context, inv bot.Invocation, _ bot.Incident, args string) (bot.Reply, error) {
			return r.cmdDecide(ctx, inv.Actor, args, bot.RunApproved)
		}})
	svc.Command(bot.Command{Name: "deny", Syntax: "<RUN-n> [reason]", Help: "deny a requested runbook run",
		Anywhere: true, Run: func(ctx context.Context, inv bot.Invocation, _ bot.Incident, args string) (bot.Reply, error) {
			return r.cmdDecide(ctx, inv.Actor, args, bot.RunDenied)
		}})
	svc.ActionOn(ActionApproveRun, r.runTarget, func(ctx context.Context, a bot.ActionInvocation) (bot.Reply, error) {
		return r.cmdDecide(ctx, a.Actor, a.Value, bot.RunApproved)
	})
	svc.ActionOn(ActionDenyRun, r.runTarget, func(ctx context.Context, a bot.ActionInvocation) (bot.Reply, error) {
		return r.cmdDecide(ctx, a.Actor, strings.TrimSpace(a.Value+" "+a.Input["reason"]), bot.RunDenied)
	})
	svc.Action(bot.ActionRunMenu, r.actionMenu)
	svc.ActionOn(ActionRunRunbook, runButtonTarget, r.actionRun)
	svc.Hook(r.onResolved) // cancel.go: a resolve cancels pending requests
	r.registerDeliveries(reg)
}

// runTarget is the incident of the run an approve or deny button names
// ("RUN-n" or its id).
func (r *Runs) runTarget(ctx context.Context, a bot.ActionInvocation) (int64, error) {
	word, _, _ := strings.Cut(strings.TrimSpace(a.Value), " ")
	id, err := bot.ParseRunKey(word)
	if err != nil {
		return 0, err
	}
	run, err := r.store.RunbookRun(ctx, id)
	if err != nil {
		return 0, err
	}
	return run.IncidentID, nil
}

// runButtonTarget is the incident of a run button ("<incident id>:<runbook>").
func runButtonTarget(_ context.Context, a bot.ActionInvocation) (int64, error) {
	id, _, err := parseRunButton(a.Value)
	return id, err
}

// parseRunButton splits a run button's value, "<incident id>:<runbook>".
func parseRunButton(value string) (int64, string, error) {
	idText, name, ok := strings.Cut(value, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || id < 1 {
		return 0, "", bot.Errorf(bot.EINVALID, "this button does not name an incident and a runbook")
	}
	return id, name, nil
}

func (r *Runs) cmdRun(ctx context.Context, inv bot.Invocation, inc bot.Incident, args string) (bot.Reply, error) {
	name, values, dryRun, err := ParseRunArgs(args)
	if err != nil {
		return bot.Reply{}, err
	}
	req := Request{Actor: inv.Actor, IncidentID: inc.ID, Runbook: name, Params: values}
	if dryRun {
		return r.dryRun(req, inc)
	}
	run, err := r.Request(ctx, req)
	if err != nil {
		return bot.Reply{}, err
	}
	return requestedReply(run, inc), nil
}

// ParseRunArgs splits "<runbook> key=value ... [--dry-run]". Values are
// single words: whatever a word holds, it is one parameter value, checked
// against the parameter's pattern before use. Errors are EINVALID.
func ParseRunArgs(args string) (name string, values map[string]string, dryRun bool, err error) {
	const usage = "Usage: /incident run <runbook> [key=value ...] [--dry-run]"
	words := strings.Fields(args)
	if len(words) == 0 {
		return "", nil, false, bot.Errorf(bot.EINVALID, "name a runbook (/incident runbooks lists them). %s", usage)
	}
	values = map[string]string{}
	for _, w := range words[1:] {
		key, value, ok := strings.Cut(w, "=")
		switch {
		case w == "--dry-run":
			dryRun = true
		case strings.HasPrefix(w, "-"):
			return "", nil, false, bot.Errorf(bot.EINVALID, "unknown option %q: parameters are key=value. %s", w, usage)
		case !ok || key == "":
			return "", nil, false, bot.Errorf(bot.EINVALID, "%q is not key=value. %s", w, usage)
		default:
			if _, dup := values[key]; dup {
				return "", nil, false, bot.FieldErrorf(key, "given twice")
			}
			values[key] = value
		}
	}
	if words[0] == "--dry-run" {
		return "", nil, false, bot.Errorf(bot.EINVALID, "name the runbook first. %s", usage)
	}
	return words[0], values, dryRun, nil
}

func (r *Runs) dryRun(req Request, inc bot.Incident) (bot.Reply, error) {
	rb, steps, err := r.Plan(req)
	if err != nil {
		return bot.Reply{}, err
	}
	lines := []string{fmt.Sprintf("Dry run of %s in %s: nothing was run. These steps would run, exactly as shown:", rb.Name, inc.Key())}
	fields := make([]bot.Field, len(steps))
	for i, rs := range steps {
		lines = append(lines, fmt.Sprintf("%d. %s", i+1, rs.String()))
		fields[i] = bot.Field{Label: fmt.Sprintf("Step %d: %s", i+1, rs.Step), Value: "`" + rs.String() + "`"}
	}
	if rb.NeedsApproval() {
		lines = append(lines, "A real run waits for approval first.")
	}
	text := strings.Join(lines, "\n")
	return bot.Reply{Text: text, Incident: inc,
		Message: &bot.Message{Title: "Dry run: " + rb.Name, Text: text, Fields: fields}}, nil
}

func requestedReply(run bot.RunbookRun, inc bot.Incident) bot.Reply {
	text := fmt.Sprintf("%s requested: %s runs now (no approval needed).", run.Key(), run.Runbook)
	if run.NeedsApproval {
		text = fmt.Sprintf("%s requested: %s waits for approval by %s until %s (/incident approve %s).",
			run.Key(), run.Runbook, approversText(run), clock(run.ExpiresAt), run.Key())
	}
	return bot.Reply{Text: text, Incident: inc}
}

// cmdList lists the runbooks; in an incident, the matching ones first.
func (r *Runs) cmdList(ctx context.Context, inv bot.Invocation, _ bot.Incident, _ string) (bot.Reply, error) {
	inc, err := r.invocationIncident(ctx, inv)
	if err == nil && r.svc.Visible(ctx, inv.Actor, inc, "/incident runbooks") != nil {
		inc = bot.Incident{} // a private incident the actor is not in: the plain list
	}
	msg := r.Menu(inc)
	return bot.Reply{Text: msg.Text, Message: &msg, Incident: inc}, nil
}

// invocationIncident finds the incident a command typed anywhere refers
// to, if any.
func (r *Runs) invocationIncident(ctx context.Context, inv bot.Invocation) (bot.Incident, error) {
	if inv.IncidentID != 0 {
		return r.store.Incident(ctx, inv.IncidentID)
	}
	if inv.ChannelID != "" {
		return r.store.IncidentByChannel(ctx, inv.ChannelID)
	}
	return bot.Incident{}, bot.Errorf(bot.ENOTFOUND, "no incident")
}

// Menu lists the runbooks for an incident (the zero Incident: for none),
// those matching it first, with a button per runbook (the first few) that
// requests it.
func (r *Runs) Menu(inc bot.Incident) bot.Message {
	all, matched := r.cfg.Catalog.Suggest(inc.Title, inc.Labels)
	if len(all) == 0 {
		return bot.Message{Text: "No runbooks are configured (SITREP_RUNBOOKS)."}
	}
	title := "Runbooks"
	if inc.ID != 0 {
		title = fmt.Sprintf("Runbooks for %s (suggested first)", inc.Key())
	}
	lines := []string{title + ":"}
	var fields []bot.Field
	var actions []bot.Action
	for i, rb := range all {
		mark := "  "
		if i < matched {
			mark = "★ "
		}
		gate := "no approval"
		if rb.NeedsApproval() {
			gate = "needs approval"
		}
		lines = append(lines, fmt.Sprintf("%s%s — %s (%s): /incident run %s", mark, rb.Name, rb.Title, gate, Syntax(rb)))
		// The label is bold in Slack's mrkdwn, which takes no space inside
		// the asterisks: "*  gated*" would show the asterisks.
		fields = append(fields, bot.Field{Label: strings.TrimSpace(mark + rb.Name), Value: fmt.Sprintf("%s (%s)\n/incident run %s", rb.Title, gate, Syntax(rb))})
		if inc.ID != 0 && inc.Open() && len(actions) < maxMenuButtons {
			actions = append(actions, bot.Action{ID: ActionRunRunbook, Label: "Run " + rb.Name,
				Value: fmt.Sprintf("%d:%s", inc.ID, rb.Name)})
		}
	}
	text := strings.Join(lines, "\n")
	return bot.Message{Title: title, Text: text, Fields: fields, Actions: actions}
}

// actionMenu answers the incident card's "Run runbook" button.
func (r *Runs) actionMenu(ctx context.Context, a bot.ActionInvocation) (bot.Reply, error) {
	id, err := bot.ActionIncident(a)
	if err != nil {
		return bot.Reply{}, err
	}
	inc, err := r.store.Incident(ctx, id)
	if err != nil {
		return bot.Reply{}, err
	}
	msg := r.Menu(inc)
	return bot.Reply{Text: msg.Text, Message: &msg, Incident: inc}, nil
}

// actionRun requests a runbook from a menu button; a form may supply the
// parameters as Input.
func (r *Runs) actionRun(ctx context.Context, a bot.ActionInvocation) (bot.Reply, error) {
	id, name, err := parseRunButton(a.Value)
	if err != nil {
		return bot.Reply{}, err
	}
	inc, err := r.store.Incident(ctx, id)
	if err != nil {
		return bot.Reply{}, err
	}
	values := map[string]string{}
	for k, v := range a.Input {
		if v != "" {
			values[k] = v
		}
	}
	run, err := r.Request(ctx, Request{Actor: a.Actor, IncidentID: id, Runbook: name, Params: values})
	if err != nil {
		return bot.Reply{}, err
	}
	return requestedReply(run, inc), nil
}

// cmdDecide applies approve/deny typed as "RUN-n [reason]" or clicked.
func (r *Runs) cmdDecide(ctx context.Context, actor, args string, to bot.RunState) (bot.Reply, error) {
	word, reason, _ := strings.Cut(strings.TrimSpace(args), " ")
	if word == "" {
		return bot.Reply{}, bot.Errorf(bot.EINVALID, "name the run: /incident approve RUN-<n> or /incident deny RUN-<n> [reason]")
	}
	id, err := bot.ParseRunKey(word)
	if err != nil {
		return bot.Reply{}, err
	}
	if to == bot.RunDenied {
		run, err := r.Deny(ctx, actor, id, reason)
		if err != nil {
			return bot.Reply{}, err
		}
		return bot.Reply{Text: fmt.Sprintf("Denied %s (%s): nothing runs.", run.Key(), run.Runbook), Public: true}, nil
	}
	run, err := r.Approve(ctx, actor, id)
	if err != nil {
		return bot.Reply{}, err
	}
	return bot.Reply{Text: fmt.Sprintf("Approved %s (%s): it runs now; the card shows its progress.", run.Key(), run.Runbook), Public: true}, nil
}
