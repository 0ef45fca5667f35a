package main

import (
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

func TestRemindersConfig(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	t.Run("Defaults", func(t *testing.T) {
		c, err := LoadConfig("", false, env(nil))
		if err != nil {
			t.Fatal(err)
		}
		got := c.Reminders.Bot()
		want := map[bot.Severity]time.Duration{bot.SEV1: 30 * time.Minute, bot.SEV2: time.Hour, bot.SEV3: 0, bot.SEV4: 0}
		for sev, d := range want {
			if got.Intervals[sev] != d {
				t.Errorf("%s interval %s, want %s", sev, got.Intervals[sev], d)
			}
		}
		if got.ArchiveAfter != 0 || got.Snooze != 30*time.Minute {
			t.Errorf("archive after %s, snooze %s; want off and 30m", got.ArchiveAfter, got.Snooze)
		}
	})
	t.Run("FromEnvironment", func(t *testing.T) {
		c, err := LoadConfig("", false, env(map[string]string{
			"SITREP_REMINDER_SEV1": "off", "SITREP_REMINDER_SEV3": "2h", "SITREP_ARCHIVE_AFTER": "24h"}))
		if err != nil {
			t.Fatal(err)
		}
		if iv := c.Reminders.Intervals; iv[bot.SEV1] != 0 || iv[bot.SEV3] != 2*time.Hour || c.Reminders.ArchiveAfter != 24*time.Hour {
			t.Errorf("got %+v", c.Reminders)
		}
	})
	for _, bad := range []string{"soon", "-5m", "10s"} {
		t.Run("ErrInvalid_"+bad, func(t *testing.T) {
			_, err := LoadConfig("", false, env(map[string]string{"SITREP_REMINDER_SEV2": bad}))
			if err == nil || !strings.Contains(err.Error(), "SITREP_REMINDER_SEV2") {
				t.Errorf("SITREP_REMINDER_SEV2=%s: %v, want an error naming the variable", bad, err)
			}
		})
	}
}
