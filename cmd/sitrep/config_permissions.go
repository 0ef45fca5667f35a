package main

import (
	"strings"

	"github.com/sitrep-io/sitrep/bot"
)

// permissionsSettings are the permission policy's keys, one per guarded
// change: permissions.<change> in YAML, SITREP_PERMISSIONS_<CHANGE> in the
// environment, each a list of rules (bot.ParsePermissionRules), e.g.
// "SEV1: commander S0SREONCALL". Unset: anyone in the workspace.
func permissionsSettings() []setting {
	help := map[bot.Permission]string{
		bot.PermDeclare:  "who may declare an incident",
		bot.PermResolve:  "who may resolve an incident (command, button, `status resolved`)",
		bot.PermReopen:   "who may re-open a resolved incident",
		bot.PermSeverity: "who may change the severity (the old or the new one selects the rule)",
		bot.PermRoles:    "who may make someone commander or comms lead (`lead`, `comms`, Take command)",
		bot.PermExport:   "who may export the postmortem",
	}
	var out []setting
	for _, perm := range bot.AllPermissions {
		out = append(out, setting{Key: "permissions." + string(perm), Env: "SITREP_PERMISSIONS_" + strings.ToUpper(string(perm)),
			Help: help[perm] + "; rules `[SEV1,…:] who …` separated by `;` (see Permissions); unset: anyone",
			apply: func(c *Config, v string) error {
				rules, err := bot.ParsePermissionRules(perm, v)
				if err != nil {
					return err
				}
				if c.Permissions == nil {
					c.Permissions = bot.Permissions{}
				}
				if len(rules) == 0 {
					delete(c.Permissions, perm)
					return nil
				}
				c.Permissions[perm] = rules
				return nil
			}})
	}
	return out
}
