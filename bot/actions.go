package bot

import (
	"context"
	"strconv"
	"strings"
)

// ActionInvocation is a button click, already verified and mapped by the
// chat edge to a neutral action id ("acknowledge", "approve") and its value.
type ActionInvocation struct {
	Actor     string
	ChannelID string
	ActionID  string
	Value     string
	// Input carries what a form collected (a modal's fields), by name.
	Input map[string]string
}

// ActionHandler applies one neutral action.
type ActionHandler func(ctx context.Context, a ActionInvocation) (Reply, error)

// registeredAction is an action's handler and how to find the incident it
// applies to (checked before it runs: access.go).
type registeredAction struct {
	run    ActionHandler
	target ActionTarget
}

// registerActionOn adds (or replaces) the handler of an action; target
// finds the incident its value names, checked before h runs (Registry.Action
// and ActionOn).
func (s *Service) registerActionOn(id string, target ActionTarget, h ActionHandler) {
	s.actions[id] = registeredAction{run: h, target: target}
}

// HandleAction applies a button click or a submitted form, after checking
// that the actor may act on the incident it names (AuthorizeAction). The
// same use cases serve the slash command, the button and the vendor
// webhook.
func (s *Service) HandleAction(ctx context.Context, a ActionInvocation) (Reply, error) {
	if err := s.AuthorizeAction(ctx, a); err != nil {
		return Reply{}, err
	}
	return s.actions[a.ActionID].run(ctx, a)
}

// ActionIncident parses the incident id a core button carries as its value.
func ActionIncident(a ActionInvocation) (int64, error) {
	id, err := strconv.ParseInt(a.Value, 10, 64)
	if err != nil || id < 1 {
		return 0, Errorf(EINVALID, "this button does not name an incident")
	}
	return id, nil
}

// IncidentPrefixValue is the ActionTarget of actions whose value starts
// with the incident id, followed by ":" and what the action needs.
func IncidentPrefixValue(_ context.Context, a ActionInvocation) (int64, error) {
	head, _, _ := strings.Cut(a.Value, ":")
	return ActionIncident(ActionInvocation{Value: head})
}

// actionIncident loads the incident a button names.
func (s *Service) actionIncident(ctx context.Context, a ActionInvocation) (Incident, error) {
	id, err := ActionIncident(a)
	if err != nil {
		return Incident{}, err
	}
	return s.Incident(ctx, id)
}

func (s *Service) coreActions() map[string]ActionHandler {
	onIncident := func(f func(ctx context.Context, a ActionInvocation, id int64) (Incident, error)) ActionHandler {
		return func(ctx context.Context, a ActionInvocation) (Reply, error) {
			id, err := ActionIncident(a)
			if err != nil {
				return Reply{}, err
			}
			return s.replied(f(ctx, a, id))
		}
	}
	return map[string]ActionHandler{
		ActionAcknowledge: onIncident(func(ctx context.Context, a ActionInvocation, id int64) (Incident, error) {
			return s.Acknowledge(ctx, a.Actor, id)
		}),
		ActionTakeCommand: onIncident(func(ctx context.Context, a ActionInvocation, id int64) (Incident, error) {
			return s.AssignRole(ctx, a.Actor, id, RoleCommander, a.Actor)
		}),
		ActionResolve: onIncident(func(ctx context.Context, a ActionInvocation, id int64) (Incident, error) {
			return s.Resolve(ctx, a.Actor, id, a.Input["summary"])
		}),
		ActionSetSeverity: onIncident(func(ctx context.Context, a ActionInvocation, id int64) (Incident, error) {
			sev, err := ParseSeverity(a.Input["severity"])
			if err != nil {
				return Incident{}, err
			}
			return s.SetSeverity(ctx, a.Actor, id, sev)
		}),
	}
}
