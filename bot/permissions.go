package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Permission names a guarded kind of change: the keys of the permission
// policy (YAML permissions.<name>, env SITREP_PERMISSIONS_<NAME>).
type Permission string

const (
	PermDeclare  Permission = "declare"  // declare an incident
	PermResolve  Permission = "resolve"  // resolve one (command, button, status resolved)
	PermReopen   Permission = "reopen"   // move a resolved incident back to an open status
	PermSeverity Permission = "severity" // change the severity
	PermRoles    Permission = "roles"    // make someone commander or comms lead
	PermExport   Permission = "export"   // export the postmortem
)

// AllPermissions lists the guarded changes, in the README's order.
var AllPermissions = []Permission{PermDeclare, PermResolve, PermReopen, PermSeverity, PermRoles, PermExport}

// Who a rule allows besides Slack user and user-group ids.
const (
	AllowCommander = "commander" // the incident's commander
	AllowAnyone    = "anyone"    // no restriction
)

// PermissionRule allows a change to the people it lists, for incidents of
// the severities it lists (none: every severity).
type PermissionRule struct {
	Severities []Severity
	// Allow holds Slack user ids (U…, W…), user-group ids (S…),
	// AllowCommander and AllowAnyone.
	Allow []string
}

// Permissions is the permission policy: per guarded change, its rules. The
// first rule whose severities match the incident decides; when none does
// (and for a change with no rules), anyone in the workspace may.
type Permissions map[Permission][]PermissionRule

// ParsePermissionRules reads one change's rules as configured:
//
//	[<severities>:] <who> [<who> ...] [; ...]
//
// e.g. "SEV1,SEV2: commander S0SREONCALL; anyone", where who is a Slack
// user id, a user-group id, commander or anyone. Errors say what to fix.
func ParsePermissionRules(perm Permission, text string) ([]PermissionRule, error) {
	var rules []PermissionRule
	for part := range strings.SplitSeq(text, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		var rule PermissionRule
		who := part
		if sevs, rest, ok := strings.Cut(part, ":"); ok {
			who = rest
			for _, w := range strings.FieldsFunc(sevs, isListSep) {
				sev, err := ParseSeverity(w)
				if err != nil {
					return nil, fmt.Errorf("%q is not a severity: use SEV1 to SEV4 before the colon", w)
				}
				rule.Severities = append(rule.Severities, sev)
			}
			if len(rule.Severities) == 0 {
				return nil, fmt.Errorf("%q: name the severities before the colon (e.g. SEV1,SEV2: commander)", part)
			}
		}
		for _, w := range strings.FieldsFunc(who, isListSep) {
			switch {
			case w == AllowCommander && perm == PermDeclare:
				return nil, fmt.Errorf("commander cannot declare: there is no incident, so no commander, yet (name users or user groups)")
			case w == AllowCommander, w == AllowAnyone, isUserID(w), IsUserGroupID(w):
				rule.Allow = append(rule.Allow, w)
			default:
				return nil, fmt.Errorf("%q is not a Slack id: give user ids (U…, W…), user-group ids (S…), commander or anyone", w)
			}
		}
		if len(rule.Allow) == 0 {
			return nil, fmt.Errorf("%q allows nobody: name who may (user ids, user-group ids, commander or anyone)", part)
		}
		rules = append(rules, rule)
	}
	return rules, nil
}

func isListSep(r rune) bool { return r == ',' || r == ' ' || r == '\t' }

// isUserID reports whether id looks like a Slack user id (U… or W…).
func isUserID(id string) bool {
	if len(id) < 2 || (id[0] != 'U' && id[0] != 'W') {
		return false
	}
	return !strings.ContainsFunc(id[1:], func(r rune) bool { return (r < 'A' || r > 'Z') && (r < '0' || r > '9') })
}

// rule returns the rule that decides perm for an incident of these
// severities (a severity change matches on the old and the new), if any.
func (p Permissions) rule(perm Permission, sevs ...Severity) (PermissionRule, bool) {
	for _, r := range p[perm] {
		if len(r.Severities) == 0 || slices.ContainsFunc(sevs, func(s Severity) bool { return slices.Contains(r.Severities, s) }) {
			return r, true
		}
	}
	return PermissionRule{}, false
}

// guarded reports whether the policy restricts perm at all.
func (p Permissions) guarded(perm Permission) bool { return len(p[perm]) > 0 }

// permit checks on the server that actor may make the change perm to inc
// (the zero Incident for a declaration) at these severities. A refusal is
// EFORBIDDEN, saying who may, and is recorded on the incident's timeline.
func (s *Service) permit(ctx context.Context, perm Permission, actor string, inc Incident, sevs ...Severity) error {
	rule, ok := s.access.Policy.rule(perm, sevs...)
	if !ok || slices.Contains(rule.Allow, AllowAnyone) {
		return nil
	}
	if isPerson(actor) {
		if slices.Contains(rule.Allow, AllowCommander) && inc.ID != 0 && actor == inc.Commander {
			return nil
		}
		allowed, err := MemberOf(ctx, s.access.Directory, rule.Allow, actor)
		if err != nil {
			// The directory logs the cause; the person is told what to do.
			return errAccessUnknown{Errorf(EFORBIDDEN, "could not check whether you may %s: nothing was done, try again in a minute",
				permVerb(perm, inc))}
		}
		if allowed {
			return nil
		}
	}
	err := Errorf(EFORBIDDEN, "you may not %s%s: only %s may", permVerb(perm, inc), sevText(rule), allowedText(rule))
	s.recordRefusal(ctx, actor, inc, string(perm), err)
	return err
}

// permitChange is permit for a change of incident id: it reads the
// incident to decide on, and returns it (the change then checks, in its
// transaction, that what was decided on did not change meanwhile).
// When the policy does not guard perm it reads nothing and returns the zero
// Incident.
func (s *Service) permitChange(ctx context.Context, perm Permission, actor string, id int64, sevs func(Incident) []Severity) (Incident, error) {
	if !s.access.Policy.guarded(perm) {
		return Incident{}, nil
	}
	inc, err := s.store.Incident(ctx, id)
	if err != nil {
		return inc, err
	}
	return inc, s.permit(ctx, perm, actor, inc, sevs(inc)...)
}

// decidedOnIfGuarded fails a change whose permission perm was decided on
// an incident that has changed since in what the decision depends on.
func (s *Service) decidedOnIfGuarded(perm Permission, checked, cur Incident) error {
	if perm == "" || !s.access.Policy.guarded(perm) {
		return nil
	}
	if checked.Severity != cur.Severity || checked.Commander != cur.Commander || checked.Status != cur.Status {
		return Errorf(ECONFLICT, "%s changed a moment ago: look at it again and retry", cur.Key())
	}
	return nil
}

func permVerb(perm Permission, inc Incident) string {
	what := map[Permission]string{PermDeclare: "declare", PermResolve: "resolve", PermReopen: "re-open",
		PermSeverity: "change the severity of", PermRoles: "change the roles of", PermExport: "export the postmortem of"}[perm]
	if perm == PermDeclare {
		return what + " an incident"
	}
	return what + " " + inc.Key()
}

func sevText(rule PermissionRule) string {
	if len(rule.Severities) == 0 {
		return ""
	}
	names := make([]string, len(rule.Severities))
	for i, s := range rule.Severities {
		names[i] = s.String()
	}
	return " (" + strings.Join(names, ", ") + ")"
}

// allowedText names who a rule allows, for people.
func allowedText(rule PermissionRule) string {
	names := make([]string, 0, len(rule.Allow))
	for _, id := range rule.Allow {
		switch {
		case id == AllowCommander:
			names = append(names, "the commander")
		case IsUserGroupID(id):
			names = append(names, GroupMention(id))
		default:
			names = append(names, Mention(id))
		}
	}
	return strings.Join(names, ", ")
}
