package bot

import (
	"context"
	"strconv"
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

// RegisterAction adds (or replaces) the handler of a neutral action id.
func (s *Service) RegisterAction(id string, h ActionHandler) { s.actions[id] = h }

// HandleAction applies a button click. The same use cases serve the slash
// command, the button and the vendor webhook.
func (s *Service) HandleAction(ctx context.Context, a ActionInvocation) (Reply, error) {
	h, ok := s.actions[a.ActionID]
	if !ok {
		return Reply{}, Errorf(EINVALID, "unknown action %q", a.ActionID)
	}
	return h(ctx, a)
}

// ActionIncident parses the incident id a core button carries as its value.
func ActionIncident(a ActionInvocation) (int64, error) {
	id, err := strconv.ParseInt(a.Value, 10, 64)
	if err != nil || id < 1 {
		return 0, Errorf(EINVALID, "this button does not name an incident")
	}
	return id, nil
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
