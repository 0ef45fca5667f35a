package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// The statuspage command, update --public and the status page buttons.

func (p *StatusPages) commands() []Command {
	cmds := []Command{{Name: "statuspage", Syntax: "[<public text> | resolve [text]]",
		Help: "publish to the status page: the form, or a preview of <public text> (publish|cancel <n>); resolve it publicly",
		Run:  p.execStatusPage}}
	if core, ok := p.svc.command("update"); ok {
		run := core.Run
		core.Syntax = "[--public] " + core.Syntax
		core.Help += "; --public also publishes it to the status page"
		core.Run = func(ctx context.Context, inv Invocation, inc Incident, args string) (Reply, error) {
			rest, public := cutPublicFlag(args)
			if !public {
				return run(ctx, inv, inc, args)
			}
			req, err := p.svc.parseUpdateArgs(rest)
			if err != nil {
				return Reply{}, err
			}
			reply, err := p.postPublicUpdate(ctx, inv.Actor, inc, req)
			var rep *RepeatedUpdateError
			if errors.As(err, &rep) {
				return rep.Reply, nil
			}
			return reply, err
		}
		cmds = append(cmds, core)
	}
	return cmds
}

// cutPublicFlag removes --public from the flags before an update's text
// ("--next 30m --public text" is "--next 30m text", public).
func cutPublicFlag(args string) (string, bool) {
	var kept []string
	public := false
	for rest := args; ; {
		word, tail := splitWord(rest)
		lw := strings.ToLower(word)
		switch {
		case lw == "--public":
			public = true
		case lw == "--next":
			when, after := splitWord(tail)
			kept, tail = append(kept, word, when), after
		case strings.HasPrefix(lw, "--"):
			kept = append(kept, word)
		default:
			return strings.TrimSpace(strings.Join(append(kept, rest), " ")), public
		}
		rest = tail
	}
}

func (p *StatusPages) execStatusPage(ctx context.Context, inv Invocation, inc Incident, args string) (Reply, error) {
	word, rest := splitWord(args)
	switch strings.ToLower(word) {
	case "":
		_, u, err := p.PublicDraft(ctx, inc.ID)
		if err != nil {
			return Reply{}, err
		}
		return Reply{Text: fmt.Sprintf("Draft for %s (the form opens in Slack):\n\n%s\n\nPublish with /incident statuspage <public text>, which shows a preview first.", p.PageName(), p.Preview(u)), Incident: inc}, nil
	case "resolve":
		inc, u, err := p.Resolve(ctx, inv.Actor, inc.ID, rest)
		if err != nil {
			return Reply{}, err
		}
		return Reply{Text: fmt.Sprintf("Resolving %q on %s; its components go back to operational.", u.Title, p.PageName()), Incident: inc}, nil
	case "publish", "cancel":
		n, err := parseProposal(rest)
		if err != nil {
			return Reply{}, p.svc.UsageError("statuspage", "%s", ErrorMessage(err))
		}
		if strings.EqualFold(word, "cancel") {
			inc, err := p.CancelProposal(ctx, inv.Actor, inc.ID, n)
			return Reply{Text: "Cancelled: nothing was published.", Incident: inc}, err
		}
		inc, err := p.PublishProposal(ctx, inv.Actor, inc.ID, n)
		return Reply{Text: fmt.Sprintf("Publishing to %s; the channel is told when it is done.", p.PageName()), Incident: inc}, err
	}
	return p.Propose(ctx, inv.Actor, inc.ID, PublicRequest{Body: args})
}

// postPublicUpdate posts an update in the channel and publishes the same
// text, stating the same next-update time. It is checked for publishing
// before anything is posted; a repeat (*RepeatedUpdateError, its reply
// saying nothing was published) is neither posted nor published.
func (p *StatusPages) postPublicUpdate(ctx context.Context, actor string, inc Incident, req UpdateRequest) (Reply, error) {
	if strings.TrimSpace(req.Text) == "" {
		return Reply{}, p.svc.UsageError("update", "a public update needs text")
	}
	if _, err := p.prepare(ctx, inc, PublicRequest{Body: req.Text}); err != nil {
		return Reply{}, err // refused before anything is posted
	}
	out, err := p.svc.PostUpdateWith(ctx, actor, inc.ID, req)
	var rep *RepeatedUpdateError
	if errors.As(err, &rep) {
		note := " Nothing was published either: once it is posted, publish it with /incident statuspage <public text>."
		rep.Reply.Text += note
		if rep.Reply.Message != nil {
			rep.Reply.Message.Text += note
		}
		return Reply{}, rep
	}
	if err != nil {
		return Reply{}, err
	}
	reply, err := p.svc.replied(out, nil)
	if err != nil {
		return Reply{}, err
	}
	if _, _, err := p.Publish(ctx, actor, inc.ID, PublicRequest{Body: req.Text, NextBy: out.NextUpdateBy}); err != nil {
		return Reply{}, fmt.Errorf("the update was posted in the channel, but not published: %w", err)
	}
	reply.Text += fmt.Sprintf("; publishing it to %s", p.PageName())
	return reply, nil
}

// postUpdateAction is the update form's action with its "also publish"
// box: checked (Input "public" = "true"), the update is published too,
// as with update --public.
func (p *StatusPages) postUpdateAction(core ActionHandler) ActionHandler {
	return func(ctx context.Context, a ActionInvocation) (Reply, error) {
		if a.Input["public"] != "true" {
			return core(ctx, a)
		}
		inc, err := p.svc.actionIncident(ctx, a)
		if err != nil {
			return Reply{}, err
		}
		_, req, err := p.svc.formUpdateRequest(a)
		if err != nil {
			return Reply{}, err
		}
		return p.postPublicUpdate(ctx, a.Actor, inc, req)
	}
}

func parseProposal(s string) (int64, error) {
	var n int64
	if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil || n < 1 {
		return 0, FieldErrorf("preview", "%q is not a preview number", s)
	}
	return n, nil
}

// proposalValue reads a preview button's value, "<incident id>:<event id>".
func proposalValue(v string) (int64, int64, error) {
	a, b, ok := strings.Cut(v, ":")
	inc, err1 := ParseIncidentKey(a)
	n, err2 := parseProposal(b)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, Errorf(EINVALID, "this button does not name a preview")
	}
	return inc, n, nil
}

func (p *StatusPages) publishAction(ctx context.Context, a ActionInvocation) (Reply, error) {
	if a.Input != nil { // the publish form
		id, err := ActionIncident(a)
		if err != nil {
			return Reply{}, err
		}
		req := PublicRequest{Title: a.Input["title"], Body: a.Input["body"], Status: a.Input["status"], ComponentStatus: a.Input["component_status"]}
		if when := strings.TrimSpace(a.Input["next"]); when != "" {
			if req.NextBy, err = ParseNextUpdate(when, p.svc.now(), p.svc.cfg.Location); err != nil {
				return Reply{}, err
			}
		}
		if names, ok := a.Input["components"]; ok {
			req.Components = []string{}
			for n := range strings.SplitSeq(names, ",") {
				if n = strings.TrimSpace(n); n != "" {
					req.Components = append(req.Components, n)
				}
			}
		}
		inc, u, err := p.Publish(ctx, a.Actor, id, req)
		if err != nil {
			return Reply{}, err
		}
		return Reply{Text: fmt.Sprintf("Publishing %q to %s", u.Title, p.PageName()), Incident: inc}, nil
	}
	id, n, err := proposalValue(a.Value)
	if err != nil {
		return Reply{}, err
	}
	inc, err := p.PublishProposal(ctx, a.Actor, id, n)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("Publishing to %s; the channel is told when it is done.", p.PageName()), Incident: inc}, nil
}

func (p *StatusPages) cancelAction(ctx context.Context, a ActionInvocation) (Reply, error) {
	id, n, err := proposalValue(a.Value)
	if err != nil {
		return Reply{}, err
	}
	inc, err := p.CancelProposal(ctx, a.Actor, id, n)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Text: "Cancelled: nothing was published.", Incident: inc}, nil
}

func (p *StatusPages) resolveAction(ctx context.Context, a ActionInvocation) (Reply, error) {
	id, err := ActionIncident(a)
	if err != nil {
		return Reply{}, err
	}
	inc, u, err := p.Resolve(ctx, a.Actor, id, a.Input["text"])
	if err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("Resolving %q on %s", u.Title, p.PageName()), Incident: inc,
		Redraw: &Message{Text: fmt.Sprintf("%s is resolved. %s chose to resolve it publicly: %q is being resolved on %s.", inc.Key(), actorMention(a.Actor), u.Title, p.PageName())}}, nil
}

func (p *StatusPages) keepOpenAction(ctx context.Context, a ActionInvocation) (Reply, error) {
	inc, err := p.svc.actionIncident(ctx, a)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("The public incident stays open on %s. Resolve it later with /incident statuspage resolve [text].", p.PageName()), Incident: inc,
		Redraw: &Message{Text: fmt.Sprintf("%s is resolved. %s chose to keep it open on %s: resolve it later with /incident statuspage resolve [text].", inc.Key(), actorMention(a.Actor), p.PageName())}}, nil
}
