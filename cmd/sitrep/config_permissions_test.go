package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
)

func TestPermissionsConfig(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	t.Run("DefaultsAllowAnyone", func(t *testing.T) {
		c, err := LoadConfig("", false, env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Permissions) != 0 {
			t.Errorf("default policy %+v, want none (anyone may)", c.Permissions)
		}
	})
	t.Run("YAMLAndEnvironment", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sitrep.yaml")
		yaml := "permissions:\n  resolve: \"SEV1,SEV2: commander S0SREONCALL; anyone\"\n  roles: commander U0LEAD\n"
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(path, true, env(map[string]string{"SITREP_PERMISSIONS_ROLES": "S0SREONCALL"}))
		if err != nil {
			t.Fatal(err)
		}
		resolve := c.Permissions[bot.PermResolve]
		if len(resolve) != 2 || !slices.Equal(resolve[0].Severities, []bot.Severity{bot.SEV1, bot.SEV2}) ||
			!slices.Equal(resolve[0].Allow, []string{"commander", "S0SREONCALL"}) || !slices.Equal(resolve[1].Allow, []string{"anyone"}) {
			t.Errorf("resolve rules %+v", resolve)
		}
		if roles := c.Permissions[bot.PermRoles]; len(roles) != 1 || !slices.Equal(roles[0].Allow, []string{"S0SREONCALL"}) {
			t.Errorf("the environment should win: roles %+v", roles)
		}
	})
	for name, tc := range map[string]struct{ env, value, want string }{
		"NotAnID":          {"SITREP_PERMISSIONS_RESOLVE", "@sre-oncall", "SITREP_PERMISSIONS_RESOLVE (permissions.resolve): \"@sre-oncall\" is not a Slack id"},
		"BadSeverity":      {"SITREP_PERMISSIONS_SEVERITY", "SEV9: commander", "(permissions.severity): \"SEV9\" is not a severity"},
		"Nobody":           {"SITREP_PERMISSIONS_EXPORT", "SEV1:", "(permissions.export): \"SEV1:\" allows nobody"},
		"CommanderDeclare": {"SITREP_PERMISSIONS_DECLARE", "commander", "(permissions.declare): commander cannot declare"},
	} {
		t.Run("ErrInvalid_"+name, func(t *testing.T) {
			_, err := LoadConfig("", false, env(map[string]string{tc.env: tc.value}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
