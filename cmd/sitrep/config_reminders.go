package main

import (
	"fmt"
	"os"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// RemindersConfig sets status-update reminders and the archiving of
// resolved incidents' channels.
type RemindersConfig struct {
	Intervals    map[bot.Severity]time.Duration // 0: no reminders at that severity
	ArchiveAfter time.Duration                  // 0: never archive
	// UpdateTemplate drafts status updates (nil: the shipped one), read
	// from UpdateTemplatePath and checked at start.
	UpdateTemplate     *bot.UpdateTemplate
	UpdateTemplatePath string
}

// Bot is the configuration in the form bot.NewReminders takes.
func (c RemindersConfig) Bot() bot.ReminderConfig {
	cfg := bot.DefaultReminderConfig()
	cfg.Intervals = c.Intervals
	cfg.ArchiveAfter = c.ArchiveAfter
	return cfg
}

func remindersSettings() []setting {
	interval := func(sev bot.Severity, def string) setting {
		n := int(sev)
		return setting{
			Key: fmt.Sprintf("reminders.sev%d", n), Env: fmt.Sprintf("SITREP_REMINDER_SEV%d", n), Default: def,
			Help: fmt.Sprintf("remind the commander of an open %s incident after this long without a status update (e.g. `30m`), or `off`", sev),
			apply: func(c *Config, v string) error {
				if c.Reminders.Intervals == nil {
					c.Reminders.Intervals = map[bot.Severity]time.Duration{}
				}
				d, err := durationOrOff(v)
				c.Reminders.Intervals[sev] = d
				return err
			}}
	}
	return []setting{
		interval(bot.SEV1, "30m"),
		interval(bot.SEV2, "60m"),
		interval(bot.SEV3, "off"),
		interval(bot.SEV4, "off"),
		{Key: "archive_after", Env: "SITREP_ARCHIVE_AFTER", Default: "off",
			Help: "archive a resolved incident's channel, with a closing message, this long after it was resolved (e.g. `24h`), or `off`",
			apply: func(c *Config, v string) error {
				d, err := durationOrOff(v)
				c.Reminders.ArchiveAfter = d
				return err
			}},
		{Key: "updates.template", Env: "SITREP_UPDATE_TEMPLATE",
			Help: "a Go `text/template` file that replaces the shipped status-update draft template (`bot/update_draft.txt.tmpl`)",
			apply: func(c *Config, v string) error {
				c.Reminders.UpdateTemplate, c.Reminders.UpdateTemplatePath = nil, v
				if v == "" {
					return nil
				}
				text, err := os.ReadFile(v)
				if err != nil {
					return fmt.Errorf("read the update template: %w", err)
				}
				t, err := bot.ParseUpdateTemplate(string(text))
				if err != nil {
					return fmt.Errorf("%s: %w", v, err)
				}
				c.Reminders.UpdateTemplate = t
				return nil
			}},
	}
}

// durationOrOff parses a positive duration, or "off" (and "0") as 0.
func durationOrOff(v string) (time.Duration, error) {
	if v == "off" || v == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q: give a duration such as 30m or 2h, or off", v)
	}
	if d < time.Minute {
		return 0, fmt.Errorf("%q is too short: give at least 1m, or off", v)
	}
	return d, nil
}
