package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Who may see and change what. Two checks, on the server, on every path a
// person reaches the service by (commands, buttons, form submissions):
//
//   - A private incident is visible and changeable only by the members of
//     its channel, as the chat says (ChannelMembers, briefly cached by the
//     adapter). When the chat cannot be asked, the answer is no: the
//     person is told to try again.
//   - The permission policy (Permissions) says who may declare, resolve,
//     re-open, change severity or roles, and export (permissions.go).
//
// A refusal is answered to the actor only and, when it concerns an
// incident, recorded on its timeline, like a refused runbook approval.
// The command-line tools read the store directly and are not checked:
// whoever runs them has the database.

// KindAccessRefused records a refused command, click or form on an
// incident: who, what, and why.
const KindAccessRefused EventKind = "access_refused"

// AccessConfig turns on the checks above.
type AccessConfig struct {
	// Members answers who is in an incident's channel; nil: private
	// incidents are not checked (the console, which has one local user).
	Members ChannelMembers
	// Directory resolves the user groups the policy names.
	Directory Directory
	// Policy is the permission policy; the zero value lets anyone do
	// anything, as before.
	Policy Permissions
}

// EnableAccess turns on private-incident checks and the permission policy.
func (s *Service) EnableAccess(cfg AccessConfig) { s.access = cfg }

// errAccessUnknown marks a refusal because the chat could not be asked:
// nothing was decided about the person, so nothing is recorded.
type errAccessUnknown struct{ err *Error }

func (e errAccessUnknown) Error() string { return e.err.Error() }
func (e errAccessUnknown) Unwrap() error { return e.err }

// isPerson reports whether actor is a chat user (not an alert source, not
// sitrep itself).
func isPerson(actor string) bool {
	return actor != "" && actor != SystemActor && !strings.Contains(actor, ":")
}

// CanSee is the private-incident rule for readers beside the chat (the web
// view): nil when actor may see inc, else why not; nothing is recorded (a
// list must not put a refusal on every private incident it leaves out).
// When the chat cannot be asked, the answer is a refusal: fail closed.
func (s *Service) CanSee(ctx context.Context, actor string, inc Incident) error {
	return s.visible(ctx, actor, inc)
}

// visible reports, without recording anything, whether actor may see inc.
// A private incident whose channel does not exist yet is visible to its
// commander and comms lead only.
func (s *Service) visible(ctx context.Context, actor string, inc Incident) error {
	if !inc.Private || s.access.Members == nil {
		return nil
	}
	refuse := Errorf(EFORBIDDEN, "%s is private: only the members of its channel may see or change it (ask its commander to invite you)", inc.Key())
	if !isPerson(actor) {
		return refuse
	}
	if inc.ChannelID == "" {
		if actor == inc.Commander || actor == inc.CommsLead {
			return nil
		}
		return refuse
	}
	ok, err := s.access.Members.IsChannelMember(ctx, inc.ChannelID, actor)
	if err != nil {
		// The adapter logs the cause; the person is told what to do.
		return errAccessUnknown{Errorf(EFORBIDDEN,
			"could not check with the chat whether you are in the private channel of %s: nothing was done, try again in a minute",
			inc.Key())}
	}
	if !ok {
		return refuse
	}
	return nil
}

// Visible is the private-incident check for features beside the core
// (runbooks): nil when actor may see and change inc, else the refusal,
// recorded on the timeline as an attempt to do what.
func (s *Service) Visible(ctx context.Context, actor string, inc Incident, what string) error {
	err := s.visible(ctx, actor, inc)
	if err != nil {
		s.recordRefusal(ctx, actor, inc, what, err)
	}
	return err
}

// recordRefusal puts a refusal on the incident's timeline, in a
// transaction of its own: the refusal is what happened, nothing else
// changed. A refusal for want of an answer from the chat is not recorded.
// Recording is best effort: the person is refused either way.
func (s *Service) recordRefusal(ctx context.Context, actor string, inc Incident, what string, cause error) {
	if _, unknown := cause.(errAccessUnknown); unknown || inc.ID == 0 {
		return
	}
	_ = s.update(ctx, func(tx Tx) error {
		return appendAll(tx, inc.ID, s.now(), Event{Kind: KindAccessRefused, Actor: actor,
			Text: fmt.Sprintf("refused %s: %s: %s", actorMention(actor), what, ErrorMessage(cause)),
			Data: map[string]any{"attempted": what}})
	})
}

// visibleIncidents keeps the incidents actor may see.
func (s *Service) visibleIncidents(ctx context.Context, actor string, incs []Incident) ([]Incident, error) {
	out := incs[:0:0]
	for _, inc := range incs {
		err := s.visible(ctx, actor, inc)
		if _, unknown := err.(errAccessUnknown); unknown {
			return nil, err
		}
		if err == nil {
			out = append(out, inc)
		}
	}
	return out, nil
}

// ActionTarget names the incident an action applies to, from its value
// (the button's value, the form's private_metadata): checked before the
// action runs.
type ActionTarget func(ctx context.Context, a ActionInvocation) (int64, error)

// IncidentValue is the ActionTarget of actions whose value is the
// incident id (the core's buttons, and Registry.Action's).
func IncidentValue(_ context.Context, a ActionInvocation) (int64, error) { return ActionIncident(a) }

// AuthorizeAction checks that a.Actor may see the incident the action
// names, before anything is done (also before a form the action asks for
// is opened). A refusal is recorded on the incident's timeline.
func (s *Service) AuthorizeAction(ctx context.Context, a ActionInvocation) error {
	ra, ok := s.actions[a.ActionID]
	if !ok {
		return Errorf(EINVALID, "unknown action %q", a.ActionID)
	}
	id, err := ra.target(ctx, a)
	if err != nil {
		return err
	}
	inc, err := s.store.Incident(ctx, id)
	if err != nil {
		return err
	}
	return s.Visible(ctx, a.Actor, inc, "button "+a.ActionID)
}

// MemberOf reports whether actor is one of ids: listed, or in a listed
// user group (Directory.GroupMembers, which caches). The one membership
// check of user and group lists (runbook approvers, the permission policy).
func MemberOf(ctx context.Context, dir Directory, ids []string, actor string) (bool, error) {
	if slices.Contains(ids, actor) {
		return true, nil
	}
	for _, id := range ids {
		if !IsUserGroupID(id) || dir == nil {
			continue
		}
		members, err := dir.GroupMembers(ctx, id)
		if ErrorCode(err) == ENOTFOUND {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("look up the members of user group %s: %w", id, err)
		}
		if slices.Contains(members, actor) {
			return true, nil
		}
	}
	return false, nil
}

// IsUserGroupID reports whether id is a Slack user-group id (S and at
// least two more capitals or digits).
func IsUserGroupID(id string) bool {
	if len(id) < 3 || id[0] != 'S' {
		return false
	}
	for _, r := range id[1:] {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
